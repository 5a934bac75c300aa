"""Marking: `mark(question, answer) -> Verdict`, a pure function.

Verdict rules (the header of the core questions file): "correct" when every required part is
there and nothing said is wrong; "partial" when some required parts are there and nothing said
is wrong; otherwise "incorrect". A wrong legal fact (a forbidden claim, a duration the rubric
does not allow, steps out of order) always makes the answer incorrect.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from itertools import pairwise

from knowledge.choices import ChoiceReading, presented_order, read_choice
from knowledge.models import (
    AnyQuestion,
    CaseContext,
    ChoiceQuestion,
    Concept,
    LawMention,
    NumericQuestion,
    OrderQuestion,
    Rubric,
    SharedClaim,
    TextQuestion,
    Verdict,
    figure_unit,
)
from knowledge.patterns import Match, find, find_all, is_negated
from knowledge.text import (
    NEGATORS,
    NO_BREAK,
    SENTENCE_BREAK,
    Tokens,
    durations,
    tokenize,
    tokenize_cached,
)

# Long answers are marked on their start: nobody writes a 3,000-character answer to one question,
# and the cap keeps marking time bounded for pasted walls of text.
MARKED_CHARACTERS = 3000
# Score of an answer that only says something worth credit but nothing the rubric requires.
PARTIAL_CREDIT = 0.25

Answer = str | int | Sequence[int]


def mark(question: AnyQuestion, answer: Answer, case: CaseContext | None = None) -> Verdict:
    """Mark one answer to one question; in a scenario step, `case` is the case it is about."""
    if isinstance(question, TextQuestion):
        return _mark_text(question, _as_text(answer), case)
    if isinstance(question, ChoiceQuestion | OrderQuestion):
        reading = _read(question, answer)
        if reading.problem is not None:
            return _verdict(
                question, "incorrect", 0.0, missing=["a choice of option"], notes=[reading.problem]
            )
        if isinstance(question, ChoiceQuestion):
            verdict = _mark_choice(question, reading.picked)
            if isinstance(answer, str) and verdict.outcome != "incorrect":
                return _beside_the_choice(question, answer, reading.picked, verdict, case)
            return verdict
        shown = presented_order(question)
        return _mark_order(question, [shown[i] for i in reading.picked])
    return _mark_numeric(question, _as_text(answer))


def _read(question: ChoiceQuestion | OrderQuestion, answer: Answer) -> ChoiceReading:
    """Indexes (from buttons) are taken as they are; typed text is read like the chat does."""
    if isinstance(answer, str):
        return read_choice(question, answer)
    count = len(question.options if isinstance(question, ChoiceQuestion) else question.items)
    indexes = [answer] if isinstance(answer, int) else list(answer)
    if not indexes or any(not 0 <= i < count for i in indexes):
        return ChoiceReading(problem="That option doesn't exist.")
    return ChoiceReading(tuple(dict.fromkeys(indexes)))


# ---------------------------------------------------------------- free text


@dataclass(frozen=True, slots=True)
class _Hits:
    positions: dict[str, tuple[int, ...]]
    """Where each concept's matches start."""
    covered: frozenset[int] = frozenset()
    """Every token inside some concept's match ("aggressive or threatening" covers all three)."""
    spans: tuple[tuple[int, int, frozenset[int]], ...] = ()
    """(start, end, positions its gaps skipped) of every concept match."""

    def has(self, concept_id: str) -> bool:
        return bool(self.positions.get(concept_id))


def _find_concepts(
    concepts: Sequence[Concept], tokens: Tokens, case: CaseContext | None = None
) -> _Hits:
    positions: dict[str, tuple[int, ...]] = {}
    covered: set[int] = set()
    spans: set[tuple[int, int, frozenset[int]]] = set()
    for concept in concepts:
        starts: set[int] = set()
        if case is not None:
            for name in concept.case_values:
                for start, end in _case_value_at(case.values.get(name, ""), tokens):
                    starts.add(start)
                    covered.update(range(start, end))
                    spans.add((start, end, frozenset()))
        for pattern in concept.patterns:
            for match in find_all(pattern, tokens):
                if not match.negated:
                    starts.add(match.start)
                    covered.update(range(match.start, max(match.end, match.start + 1)))
                    spans.add((match.start, match.end, frozenset(match.gaps)))
        positions[concept.id] = tuple(sorted(starts))
    return _Hits(positions, frozenset(covered), tuple(sorted(spans)))


def _case_value_at(value: str, tokens: Tokens) -> list[tuple[int, int]]:
    """Where a case value ("Gary Mitchell", "CMP-9021", "American-style fridge freezer") is
    said: the whole value, or a distinctive word of it (a surname, the reference's number)."""
    wanted = tokenize_cached(value).stems
    if not wanted:
        return []
    size = len(wanted)
    found = [
        (i, i + size)
        for i in range(len(tokens) - size + 1)
        if tokens.stems[i : i + size] == wanted
    ]
    if not found and size > 1:
        distinctive = [w for w in wanted if len(w) >= 4 or w.isdigit()]
        found = [(i, i + 1) for i, stem in enumerate(tokens.stems) if stem in distinctive[-1:]]
    return found


def _in_order(order: Sequence[str], hits: _Hits) -> bool:
    """True when the concepts present can be read in the given order."""
    previous = -1
    for concept_id in order:
        positions = hits.positions.get(concept_id, ())
        if not positions:
            continue
        later = [p for p in positions if p > previous]
        if not later:
            return False
        previous = later[0]
    return True


# Whole answers that say "I don't know"; as pattern words these are ordinary words.
# A whole payment card number written into a record or said to a customer, in whatever answer:
# 16 digits in fours (Visa, Mastercard, Discover) or 15 as Amex prints them. Phone numbers and
# references are not grouped like this; "card ending 1234" is the safe way.
_FULL_CARD_NUMBER = re.compile(
    r"(?<![\d-])(?:[2-6]\d{3}([ -]?)\d{4}\1\d{4}\1\d{4}|3[47]\d{2}([ -]?)\d{6}\2\d{5})(?![\d-])"
)
_FULL_CARD_NUMBER_NOTE = (
    "Never write down or say a full card number: confirm or record the last four digits at"
    " most (PCI DSS; UK GDPR Art. 5(1)(f) and Art. 32, security of personal data)."
)
_NON_ANSWERS = frozenset({"pass", "skip", "next", "?", "??", "???", "-", "n/a", "na"})


# Problems that mean "the rubric does not know this", not "this is known to be wrong": the
# verdict stands as the marker's best guess but is flagged for a tutor to review.
UNRECOGNISED = frozenset({"added-condition", "unrecognised-item", "unfamiliar-claim"})


def _mark_text(question: TextQuestion, answer: str, case: CaseContext | None) -> Verdict:
    rubric = question.rubric
    if answer.strip().lower() in _NON_ANSWERS:
        answer = "unsure"
    tokens = tokenize(answer[:MARKED_CHARACTERS])
    hits = _find_concepts(rubric.all_concepts(), tokens, case)
    found, missing, score = _credit(rubric, hits)
    wrong = _wrong_facts(question, tokens, hits, case)
    if _FULL_CARD_NUMBER.search(answer):
        wrong.append(Problem("full-card-number", _FULL_CARD_NUMBER_NOTE))
    short_groups = [g for g in rubric.groups if sum(hits.has(c.id) for c in g.concepts) < g.need]
    # "Name the three…" questions are lists too, whether their items are a group or required.
    some = 0.0 < score < 1.0
    list_like = bool(short_groups) or ((bool(rubric.order) or len(rubric.required) >= 3) and some)
    # A reply to a customer or a CRM note is prose, not a list: its other clauses are not items.
    list_like = list_like and (case is None or _asks_for_list(question))
    if list_like and score > 0.0 and not wrong:
        stray = _unrecognised_items(tokens, hits)
        if stray:
            quoted = ", ".join(f"“{item}”" for item in stray[:3])
            wrong.append(
                Problem(
                    "unrecognised-item",
                    f"{quoted}: not one of the answers this question is after.",
                    tuple(stray),
                )
            )
    if not wrong and score >= 1.0:
        claims = _unfamiliar_claims(question, tokens, hits)
        if claims:
            quoted = ", ".join(f"“{claim}”" for claim in claims[:2])
            wrong.append(
                Problem(
                    "unfamiliar-claim",
                    f"I don't recognise {quoted}: a tutor will check whether it is right.",
                    tuple(claims),
                )
            )
            return _verdict(
                question,
                "partial",
                round(max(score - 0.5, 0.5), 3),
                found=found,
                missing=missing,
                misconceptions=["unfamiliar-claim"],
                notes=[wrong[0].note],
                review=True,
                unrecognised=claims,
            )
    if wrong:
        unknown_only = all(problem.kind in UNRECOGNISED for problem in wrong)
        return _verdict(
            question,
            "incorrect",
            0.0,
            found=found,
            missing=missing,
            misconceptions=[problem.kind for problem in wrong],
            notes=[problem.note for problem in wrong],
            review=unknown_only,
            unrecognised=[text for problem in wrong for text in problem.quoted],
        )
    if score >= 1.0:
        return _verdict(question, "correct", 1.0, found=found, missing=missing)
    if score > 0.0:
        return _verdict(question, "partial", round(score, 3), found=found, missing=missing)
    return _verdict(question, "incorrect", 0.0, found=found, missing=missing)


@dataclass(frozen=True, slots=True)
class Problem:
    """Something wrong with an answer: its kind (a claim id or a check), feedback, and the
    words of the answer it is about when the marker did not recognise them."""

    kind: str
    note: str
    quoted: tuple[str, ...] = ()


def _credit(rubric: Rubric, hits: _Hits) -> tuple[list[str], list[str], float]:
    """What was found, what is missing, and the share of required parts present."""
    found: list[str] = []
    missing: list[str] = []
    parts: list[float] = []
    for concept in rubric.required:
        present = hits.has(concept.id)
        (found if present else missing).append(concept.label)
        parts.append(1.0 if present else 0.0)
    for group in rubric.groups:
        named = [c.label for c in group.concepts if hits.has(c.id)]
        found.extend(named)
        parts.append(min(len(named), group.need) / group.need)
        if len(named) < group.need:
            short = group.need - len(named)
            missing.append(f"{group.label} ({short} more)" if named else group.label)
    score = sum(parts) / len(parts)
    credited = [c.label for c in rubric.optional if c.partial_credit and hits.has(c.id)]
    if score == 0.0 and credited:
        found.extend(credited)
        score = PARTIAL_CREDIT
    return found, missing, score


def _wrong_facts(
    question: TextQuestion, tokens: Tokens, hits: _Hits, case: CaseContext | None
) -> list[Problem]:
    """Every wrong fact the answer states, and every condition it adds that the rubric
    does not know."""
    rubric = question.rubric
    wrong: list[Problem] = []
    for claim in rubric.forbidden:
        if any(hits.has(name) for name in claim.unless):
            continue
        if any(
            _states(m, tokens) and not _preceded_by(tokens, m.start, claim.not_after)
            for p in claim.patterns
            for m in find_all(p, tokens)
        ):
            wrong.append(Problem(claim.id, claim.feedback))
    # A bank question's prompt may set the case too ("bought in your shop 12 days ago"). A
    # rubric's own item of the same name speaks for it (its feedback fits the question), but
    # the shared patterns still count.
    own = {problem.kind for problem in wrong}
    shared = _shared_claims_said(
        question.shared_claims, tokens, hits, case or _case_in(question.prompt)
    )
    wrong.extend(problem for problem in shared if problem.kind not in own)
    wrong.extend(Problem("wrong-law", note) for note in _law_problems(rubric.law_mentions, tokens))
    if _wrong_sections(question, tokens):
        wrong.append(
            Problem("wrong-section", f"Check the section: this rule is in {question.basis}.")
        )
    stray_numbers = _unexpected_numbers(question, tokens, hits, case)
    if stray_numbers:
        shown = ", ".join(str(n) for n in stray_numbers)
        wrong.append(
            Problem(
                "unexpected-figure", f"Check the figure(s) {shown}: that isn't what the law says."
            )
        )
    if rubric.figures is not None and _wrong_figure(question, tokens, case):
        wrong.append(Problem("wrong-figure", rubric.figures.feedback))
    if rubric.order and not _in_order(rubric.order, hits):
        wrong.append(Problem("wrong-order", rubric.order_feedback))
    condition = _added_condition(question, tokens, hits)
    if condition:
        wrong.append(
            Problem(
                "added-condition",
                f"“{condition}”: I don't know this condition or exception in the rule.",
                (condition,),
            )
        )
    return wrong


_DENIED = frozenset({"appli", "matter", "relev", "count", "affect", "first", "yet"})
DENIAL_REACH = 8
# "…30 days so it's not late yet": a conjunction starts a clause the denial cannot reach past.
_NEW_CLAUSE = frozenset({"so", "but", "becaus", "therefor", "sinc", "although", "though"})
# "has passed", "is over", "had expired" (stems): what the clause named no longer holds.
_STILL_VERBS = frozenset({"has", "have", "had", "is", "was", "s", "are", "were", "now"})
_GONE = frozenset({"pass", "expir", "laps", "gone", "finish"})
_PEOPLE = frozenset({"you", "she", "he", "they", "we", "i", "customer", "caller"})


_AGO_RE = re.compile(
    r"\b(\d+|a|one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve)\s+"
    r"(day|week|month|year)s?\s+(?:ago|later|after)\b",
    re.IGNORECASE,
)
_WORD_NUMBERS = {
    "a": 1, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7,
    "eight": 8, "nine": 9, "ten": 10, "eleven": 11, "twelve": 12,
}  # fmt: skip
_UNIT_DAYS = {"day": 1, "week": 7, "month": 30, "year": 365}


@lru_cache(maxsize=1024)
def _case_in(prompt: str) -> CaseContext | None:
    """The case a bank question's prompt sets: how long ago the goods were bought or arrived
    ("…stopped working after a week", "three weeks later") and where ("in your shop",
    "online"); None when it sets neither."""
    match = _AGO_RE.search(prompt)
    days = None
    if match:
        count = match.group(1).lower()
        number = int(count) if count.isdigit() else _WORD_NUMBERS[count]
        days = number * _UNIT_DAYS[match.group(2).lower()]
    lowered = prompt.lower()
    channel = (
        "online"
        if "online" in lowered or "website" in lowered
        else "in store"
        if re.search(r"\bin (?:your|the|our) (?:shop|store)|\bin-store\b", lowered)
        else ""
    )
    if days is None and not channel:
        return None
    return CaseContext(texts=(prompt,), channel=channel, days_since=days)


def _shared_claims_said(
    claims: Sequence[SharedClaim], tokens: Tokens, hits: _Hits, case: CaseContext | None
) -> list[Problem]:
    """The shared wrong claims (claims.yaml) the answer states."""
    said: list[Problem] = []
    for shared in claims:
        if not shared.fits(case) or any(hits.has(name) for name in shared.unless):
            continue
        if not any(
            _states(m, tokens)
            and not _preceded_by(tokens, m.start, shared.not_after)
            and not _inside_one_concept(hits, m.start, m.end)
            for p in shared.patterns
            for m in find_all(p, tokens)
        ):
            continue
        # An exception named at all ("not a straight refund") shows the answer knows it.
        if not any(find(p, tokens) is not None for p in shared.unless_said):
            said.append(Problem(shared.id, shared.feedback))
    return said


def _denied_after(tokens: Tokens, end: int) -> bool:
    """Whether the clause goes on to deny what it named: "the 14 days under the CCR don't
    apply", "the cooling-off period doesn't matter here"."""
    stems = tokens.stems
    for i in range(end, min(len(tokens), end + DENIAL_REACH)):
        if (i > end and tokens.breaks[i] != NO_BREAK) or stems[i] in _NEW_CLAUSE:
            return False
        if stems[i] == "irrelev":
            return True
        if stems[i] == "not" and any(s in _DENIED for s in stems[i + 1 : i + 3]):
            return True
        # "the 30-day right to reject has passed", "…is over", "…no longer applies"; "once
        # you've passed security" is a person passing a check, not a period gone.
        if (
            stems[i] in _STILL_VERBS
            and i + 1 < len(tokens)
            and stems[i + 1] in _GONE
            and stems[i - 1] not in _PEOPLE
        ):
            return True
        if stems[i] == "no" and i + 1 < len(tokens) and stems[i + 1] == "longer":
            return True
    return False


def _states(match: Match, tokens: Tokens) -> bool:
    """A match the answer asserts: not negated before it nor denied after it, and not a
    comparison ("less than 6 months" is not "less a fee")."""
    comparison = (
        tokens.stems[match.start] in {"less", "more"}
        and match.start + 1 < len(tokens)
        and tokens.stems[match.start + 1] == "than"
    )
    return (
        not match.negated
        and not comparison
        and not _denied_after(tokens, match.end)
        and not _taken_back(tokens, match)
        and not _requested(tokens, match.start)
    )


# "Asked us to read out the full card number", "cust requested refund", "he wants his money
# back": what the customer asked for, recorded, not what we said or did.
_ASKED_FORMS = frozenset(
    {"asked", "asks", "requested", "requests", "wanted", "wants", "demanded", "demands",
     "insisted", "insists", "expected", "expects", "citing", "cited"}
)  # fmt: skip
_OUR_VOICE = frozenset({"i", "we", "us", "you"})
_CLAUSE_STARTS = frozenset({"so", "but", "and", "then", "becaus", "which", "when"})
REQUEST_REACH = 6


def _starts_a_clause(tokens: Tokens, i: int) -> bool:
    """'so', 'but', 'because' start a new clause; 'and' only before a new subject ("and I
    gave her a voucher"), not inside the list she asked for ("emails stopped and data
    deleted")."""
    stem = tokens.stems[i]
    if stem == "and":
        return tokens.stems[i + 1 : i + 2] in (("i",), ("we",), ("he",), ("she",), ("they",))
    return stem in _CLAUSE_STARTS


def _requested(tokens: Tokens, start: int) -> bool:
    """Whether the words at `start` are the object of the customer's request."""
    for i in range(start - 1, max(-1, start - 1 - REQUEST_REACH), -1):
        if tokens.breaks[i + 1] != NO_BREAK or _starts_a_clause(tokens, i):
            return False
        if tokens.words[i] in _ASKED_FORMS:
            # "I asked him to bring it" is our own asking; "Asked us to…" in a note is his.
            return i == 0 or tokens.breaks[i] != NO_BREAK or tokens.stems[i - 1] not in _OUR_VOICE
    return False


# "I thought we could take something off, but no": a belief told in order to correct it.
_BELIEF_WORDS = frozenset({"thought", "assum", "believ", "reckon"})
_CORRECTIONS = frozenset({"no", "not", "nope", "actual", "wrong", "turn", "apparent"})


def _taken_back(tokens: Tokens, match: Match) -> bool:
    """Whether the sentence tells the claim as what the learner once thought ("I thought…",
    "I assumed…") and then takes it back ("…, but no", "…but actually")."""
    start = match.start
    while start > 0 and tokens.breaks[start] < SENTENCE_BREAK:
        start -= 1
    stems = tokens.stems
    believed = any(
        stems[i] == "i" and stems[i + 1] in _BELIEF_WORDS for i in range(start, match.start)
    )
    if not believed:
        return False
    end = match.end
    while end < len(tokens) and tokens.breaks[end] < SENTENCE_BREAK:
        if stems[end] == "but" and _CORRECTIONS.intersection(stems[end + 1 : end + 3]):
            return True
        end += 1
    return False


def _inside_one_concept(hits: _Hits, start: int, end: int) -> bool:
    """Whether a shared claim's words all lie inside one match of the rubric's own concepts:
    then the rubric knows this phrase, and it is right for this question."""
    # Words a concept's gap skipped are not its words: "we can choose whether to repair"
    # matches "we can .. repair" as a next action, but "choose whether" is not the rubric's.
    return any(
        s <= start and end <= e and not gaps.intersection(range(start, end))
        for s, e, gaps in hits.spans
    )


# Words that restrict a rule ("only if", "unless", "except"). A condition the rubric knows
# (say "unless the customer agrees") is fine; any other is a condition the law doesn't have.
_CONDITION_CUES: tuple[tuple[str, ...], ...] = (
    ("only", "if"),
    ("only", "when"),
    ("only", "once"),
    ("only", "for"),
    ("only", "appl"),
    ("only", "within"),
    ("only", "after"),
    ("only", "before"),
    ("only", "on"),
    ("only", "where"),
    ("but", "only"),
    ("unless",),
    ("except",),
    ("provided",),
    ("as", "long", "as"),
    ("so", "long", "as"),
    ("on", "condition"),
    ("only", "cover"),
    ("must", "claim", "within"),
    ("must", "be", "within"),
    ("has", "to", "be", "within"),
    ("have", "to", "be", "within"),
)


_CUE_STARTS = frozenset(
    {"only", "but", "unless", "except", "provided", "as", "so", "on", "must", "has", "have"}
)
# What a word must start with for any cue to begin at it: one C-level test per word instead of
# trying every cue at every word.
_CUE_PREFIXES = tuple(sorted({cue[0] for cue in _CONDITION_CUES}))


def _added_condition(question: TextQuestion, tokens: Tokens, hits: _Hits) -> str | None:
    """The first restricting clause in which no concept of the rubric is found, if any."""
    words = tokens.words
    if not _CUE_STARTS.intersection(words):
        return None
    # A concept's match may reach into the clause ("keep it as long as needed").
    found = hits.covered
    for start in range(len(tokens)):
        if not words[start].startswith(_CUE_PREFIXES):
            continue
        for cue in _CONDITION_CUES:
            end = _cue_end(words, start, cue)
            if end is None:
                continue
            # "not only if", "none needed unless" negate the restriction; a leading "No" that
            # answers the question does not ("No deduction unless …" adds a condition).
            if is_negated(tokens, start, ()) and not _answers_no(tokens, start):
                continue
            clause_end = end
            while clause_end < len(tokens) and tokens.breaks[clause_end] == NO_BREAK:
                clause_end += 1
            if clause_end == end:
                continue
            if (
                not any(start <= p < clause_end for p in found)
                and not _law_own_condition(question, tokens, range(end, clause_end))
                # "…unless the fault was pointed out before they bought it": a true fact.
                and not _true_fact_positions(question, tokens).intersection(
                    range(start, clause_end)
                )
            ):
                return " ".join(tokens.words[start:clause_end])
    return None


# Words that carry no meaning of their own in a condition ("unless we can prove otherwise").
_CONDITION_FILLER = frozenset(
    {"we", "they", "you", "he", "she", "it", "the", "a", "an", "can", "could", "is", "are",
     "be", "been", "have", "has", "had", "that", "this", "their", "our", "your", "of", "to",
     "s", "was", "were", "do", "doe", "not", "if", "then", "so", "still", "there", "will",
     "would", "what", "when", "by", "for", "in", "on", "at", "them", "him", "her", "made"}
)  # fmt: skip


def _law_own_condition(question: TextQuestion, tokens: Tokens, clause: range) -> bool:
    """A condition whose every word the question's entries use ("unless we can prove
    otherwise", "if it's complex or they've made several requests") is the law's own."""
    words = {tokens.stems[i] for i in clause} - _CONDITION_FILLER
    words = {w for w in words if not w.isdigit()}
    return len(words) >= 2 and words <= question.taught_words


def _answers_no(tokens: Tokens, start: int) -> bool:
    """Whether the only negator before `start` is the answer's opening "No"."""
    if not tokens.words or tokens.stems[0] not in {"no", "nope"}:
        return False
    return not any(tokens.stems[i] in NEGATORS for i in range(1, start))


# Words that make a clause a claim about the law or money (stems): a clause with one of them in
# which no concept of the rubric is found is something the marker cannot place.
_CLAIM_WORDS = frozenset({"fee", "charg", "deduct", "half"})
# "free of charge", "at our cost", "at the trader's expense": the trader pays, which is right.
_TRADER_PAYS = frozenset({"free", "no", "our", "trader", "shop", "seller", "retail", "compani"})
MAX_CLAIM_WORDS = 16
_CONTRASTS = frozenset({"but", "howev", "although", "though"})


def _unfamiliar_claims(question: TextQuestion, tokens: Tokens, hits: _Hits) -> list[str]:
    """Clauses that state something about the law, a fee, a party or a period, in which no
    concept of the rubric (nor any wrong claim) was found."""
    if not _CLAIM_WORDS.intersection(tokens.stems):
        return []
    claims: list[tuple[range, str]] = []
    start = 0
    for i in range(len(tokens) + 1):
        # A clause ends at punctuation, or before "but" ("…, but you pay half the cost").
        joined = i < len(tokens) and (i == start or tokens.breaks[i] == NO_BREAK)
        if joined and (i == start or tokens.stems[i] not in _CONTRASTS):
            continue
        clause = range(start, i)
        start = i
        if not clause or any(p in hits.covered for p in clause):
            continue
        marked = [
            p
            for p in clause
            if tokens.stems[p] in _CLAIM_WORDS
            and not is_negated(tokens, p, ())
            and not _TRADER_PAYS.intersection(tokens.stems[max(0, p - 3) : p])
        ]
        if marked and not _taught(question, tokens, clause, marked):
            words = tokens.words[clause.start : clause.stop][:MAX_CLAIM_WORDS]
            claims.append((clause, " ".join(words)))
    if not claims:
        return []
    # A clause that states a true fact of the law (facts.yaml) is a true extra, not unknown.
    true = _true_fact_positions(question, tokens)
    return [words for clause, words in claims if not true.intersection(clause)]


def _taught(question: TextQuestion, tokens: Tokens, clause: range, marked: list[int]) -> bool:
    """Whether a clause says what the question's entries teach: most of its word pairs, and
    every claim word, stand in them ("free of charge", "including the delivery charge")."""
    taught = question.taught_pairs
    pairs = [(i, (tokens.stems[i], tokens.stems[i + 1])) for i in clause[:-1]]
    known = {i for i, pair in pairs if pair in taught}
    covered = known | {i + 1 for i in known}
    return bool(pairs) and len(known) >= len(pairs) / 2 and all(p in covered for p in marked)


MAX_STRAY_ITEM_WORDS = 12
_ITEM_BREAKS = frozenset({"and", "or", "plus", "also", "then"})
_FILLER = frozenset(
    {"etc", "eg", "e", "g", "ie", "the", "a", "an", "so", "like", "such", "as", "it", "that", "to"}
    # Linking words between steps ("…, and if not then a price reduction").
    | {"otherwise", "if", "not", "then", "failing", "fails", "that"}
    # Spoken fillers and summing up ("um", "so basically", "that's it", "that's the main one").
    | {"um", "umm", "uh", "er", "erm", "basically", "right", "well", "yeah", "ok", "okay"}
    | {"is", "this", "those", "these", "all", "main", "1", "2", "3", "one", "two", "three"}
    | {"you", "know", "really", "just", "only", "them", "they", "are"}
)


_LIST_PROMPT_RE = re.compile(
    r"\b(name|list|give|state|identify|which|what are|steps|stages|ways|two|three|four)\b",
    re.IGNORECASE,
)


def _asks_for_list(question: TextQuestion) -> bool:
    """Whether the prompt asks for several things ("Name the three…", "Give two…")."""
    return bool(_LIST_PROMPT_RE.search(re.sub(r"\{\w+\}", "", question.prompt)))


def _sentence_of(tokens: Tokens, position: int) -> int:
    """The position where the sentence holding `position` starts."""
    while position > 0 and tokens.breaks[position] != SENTENCE_BREAK:
        position -= 1
    return position


_CONDITION_WORDS = frozenset({"if", "unless", "until"})


def _conditional_positions(tokens: Tokens) -> set[int]:
    """Positions inside a condition: from 'if', 'unless', 'otherwise'… to the clause's end."""
    inside: set[int] = set()
    for i, stem in enumerate(tokens.stems):
        if stem not in _CONDITION_WORDS:
            continue
        j = i
        while j < len(tokens) and (j == i or tokens.breaks[j] == NO_BREAK):
            if j > i and tokens.stems[j] == "then":  # "if nobody complains then…" ends it
                break
            inside.add(j)
            j += 1
    return inside


def _unrecognised_items(tokens: Tokens, hits: _Hits) -> list[str]:
    """In a list-like answer, the items in which no concept was found."""
    items: list[tuple[int, int]] = []
    start = 0
    for i in range(len(tokens) + 1):
        boundary = i == len(tokens) or (i > start and tokens.breaks[i] != NO_BREAK)
        boundary = boundary or (i < len(tokens) and tokens.stems[i] in _ITEM_BREAKS)
        if boundary:
            if i > start:
                items.append((start, i))
            start = i + 1 if i < len(tokens) and tokens.stems[i] in _ITEM_BREAKS else i
    if len(items) < 2:
        return []
    found = hits.covered
    # Only sentences that list something the rubric knows are lists; another sentence is
    # comment ("Fit for purpose. That's the main one, it has to work.").
    listing = {_sentence_of(tokens, p) for p in found}
    conditional = _conditional_positions(tokens)
    stray: list[str] = []
    for first, last in items:
        words = [tokens.words[i] for i in range(first, last)]
        if all(w in _FILLER for w in words) or "unsure" in words:
            continue
        # "…if that fails or takes too long": what goes on a condition begun before is not an
        # item of its own ("…or if they want more money" still is).
        if first in conditional and tokens.stems[first] not in _CONDITION_WORDS:
            continue
        if _sentence_of(tokens, first) not in listing:
            continue
        # A long clause is more likely a reason said in other words than a wrong list item.
        if len(words) <= MAX_STRAY_ITEM_WORDS and not any(first <= p < last for p in found):
            stray.append(" ".join(words))
    return stray


_ORDINAL_ENDINGS = frozenset({"st", "nd", "rd", "th"})
# "card ending 1234", "order 55812", "ref 4471": identifiers, not figures of the law (stems).
# "call back in 2 days", "technician tomorrow between 8 and 12": our own arrangements, not
# figures of the law (stems).
_SCHEDULING = frozenset(
    {"follow", "call", "ring", "back", "chase", "contact", "between", "visit", "book", "slot",
     "technician", "engin", "appoint", "review", "remind", "phone", "email", "updat", "text",
     "date", "here", "arriv", "usual", "typic"}
)  # fmt: skip
_CLOCK_WORDS = frozenset({"am", "pm", "o", "oclock", ":"})
_IDENTIFIER_WORDS = frozenset(
    {"end", "last", "ref", "refer", "order", "number", "no", "account", "ticket", "case", "invoic"}
)


def _unexpected_numbers(
    question: TextQuestion, tokens: Tokens, hits: _Hits, case: CaseContext | None
) -> list[int]:
    """Numbers stated in a legal answer that the question's own texts never use.

    Adversarial answers change a figure ("three attempts", "up to 50%", "over £50"); harmless
    ones rarely add a new number. Only questions that rest on a law are checked, and list
    numbering, ordinals, years (checked with the law) and citations are skipped.
    """
    mentions = question.rubric.law_mentions
    if not any(not m.fits and m.law.replaced_by is None for m in mentions):
        return []  # a best-practice question: any law may be named as an example
    # Durations are checked by `figures` where a rubric gives them; elsewhere they are numbers too.
    in_durations = (
        {d.position for d in durations(tokens)} if question.rubric.figures is not None else set()
    )
    found = {p for positions in hits.positions.values() for p in positions}
    timed = {d.position: d for d in durations(tokens)}
    worked_out = (
        {value for value, _ in _worked_out(set(case.duration_keys), case)} if case else set()
    )
    stray: list[int] = []
    for i, word in enumerate(tokens.stems):
        if (
            not word.isdigit()
            or i in in_durations
            or is_negated(tokens, i, ())
            or (case is not None and _elapsed(tokens, i))
            or _story_time(tokens, i)
        ):
            continue
        value = int(word)
        following = tokens.stems[i + 1] if i + 1 < len(tokens) else ""
        # A reply to a customer is full of our own numbers (dates, references, prices, slots):
        # there only a period or a share stated in a legal clause is a figure of the law.
        if case is not None and (
            (i not in timed and following not in {"%", "percent"})
            or not _legal_clause(tokens, i)
            or value in worked_out
        ):
            continue
        following = tokens.stems[i + 1] if i + 1 < len(tokens) else ""
        # "1. acknowledge", "1) name", "1 satisfactory quality": numbering, not a figure.
        numbering = i + 1 < len(tokens) and (
            tokens.breaks[i + 1] != NO_BREAK or (i + 1 in found and value <= 12)
        )
        if (
            value in question.known_numbers
            or _store_policy(tokens, i)
            or (case is not None and value in case.numbers)
            or (case is not None and _taught_here(case, tokens, i, value))
            or (value == 100 and following in {"%", "percent", "per"})
            or following in _ORDINAL_ENDINGS
            # "two of them I remember", "3 of the 7 principles": a count of what is listed.
            or (following == "of" and value <= 3)
            or numbering
            or 1900 <= value <= 2100
            or _cited(tokens, i)
            or (i > 0 and tokens.stems[i - 1] in _IDENTIFIER_WORDS)
            or _SCHEDULING.intersection(tokens.stems[max(0, i - 3) : i])
            or following in _CLOCK_WORDS
        ):
            continue
        stray.append(i)
    if not stray:
        return []
    true = _true_fact_positions(question, tokens)
    return [int(tokens.stems[i]) for i in stray if i not in true]


# Stems that make a clause a statement about the law (its periods and shares).
_LEGAL_WORDS = frozenset(
    {"law", "legal", "right", "entitl", "refund", "reject", "cancel", "claim", "period",
     "deadlin", "limit", "act", "regul", "section", "deduct", "guarante", "warranti", "allow",
     "repair", "replac", "respond", "repli", "delet", "eras"}
)  # fmt: skip


def _taught_here(case: CaseContext, tokens: Tokens, position: int, value: int) -> bool:
    """Whether another step of the case teaches this figure about the same thing: its clause
    shares a word with a model-answer clause that uses it ("6-year limitation")."""
    taught = case.taught.get((value, figure_unit(tokens.stems, position)), frozenset())
    return bool(taught.intersection(_clause_stems(tokens, position)))


def _elapsed(tokens: Tokens, position: int) -> bool:
    """'over a week ago', 'two weeks later': time that has passed in the case, not a period
    the law sets."""
    return bool(_ELAPSED.intersection(tokens.stems[position + 1 : position + 4]))


_ELAPSED = frozenset({"ago", "later", "since"})
_THRESHOLDS = frozenset(
    {"over", "under", "more", "less", "than", "within", "least", "up", "after"}
)


def _story_time(tokens: Tokens, position: int) -> bool:
    """'a telly he'd had four years', 'brought it back five months in,', 'a year old': how
    long something had been owned in a story the learner tells, not a period the law sets."""
    stems = tokens.stems
    before = stems[max(0, position - 3) : position]
    if "had" in before and not _THRESHOLDS.intersection(before):
        # "had" then at most "it/them" and "for" before the figure
        after_had = before[before.index("had") + 1 :]
        if all(word in {"it", "them", "for"} for word in after_had):
            return True
    if position + 2 >= len(stems) or (before and before[-1] in _THRESHOLDS):
        return False
    if stems[position + 2] == "old":
        return True
    ends_clause = position + 3 >= len(stems) or tokens.breaks[position + 3] != NO_BREAK
    return stems[position + 2] == "in" and ends_clause


def _store_policy(tokens: Tokens, position: int) -> bool:
    """'our 28 days', 'a 28-day returns policy', 'our returns team gives 28 days', 'as a
    goodwill gesture … 60 days': the shop's own offer, not a figure of the law."""
    before = tokens.stems[max(0, position - 5) : position]
    after = tokens.stems[position + 1 : position + 4]
    near = (*before, *after)
    if "polici" in near or "goodwil" in near:
        return True
    if "our" in before[-2:]:
        return True
    return any(word == "our" and nxt in _OWN_OFFER for word, nxt in pairwise(before))


_OWN_OFFER = frozenset({"return", "refund", "exchang", "own", "store", "shop"})


def _legal_clause(tokens: Tokens, position: int) -> bool:
    """Whether the clause holding `position` speaks of the law (a right, a period, a refund)."""
    return bool(_LEGAL_WORDS.intersection(_clause_stems(tokens, position)))


def _clause_stems(tokens: Tokens, position: int) -> tuple[str, ...]:
    """The stems of the clause (between punctuation breaks) that holds `position`."""
    start = position
    while start > 0 and tokens.breaks[start] == NO_BREAK:
        start -= 1
    end = position + 1
    while end < len(tokens) and tokens.breaks[end] == NO_BREAK:
        end += 1
    return tokens.stems[start:end]


_OLD_LAW_CUES = frozenset(
    {"replaced", "replaces", "replacing", "old", "older", "former", "formerly", "previous",
     "previously", "repealed", "superseded", "abolished", "used", "outdated"}
)  # fmt: skip


def _said_to_be_old(tokens: Tokens, start: int) -> bool:
    """'The DMCC Act replaced the CPUTR': naming an old law to say it is old is right."""
    sentence_start = start
    while sentence_start > 0 and tokens.breaks[sentence_start] < SENTENCE_BREAK:
        sentence_start -= 1
    sentence_end = start + 1
    while sentence_end < len(tokens) and tokens.breaks[sentence_end] < SENTENCE_BREAK:
        sentence_end += 1
    words = tokens.words[sentence_start:sentence_end]
    return any(w in _OLD_LAW_CUES for w in words) or "no longer" in " ".join(words)


def _law_problems(mentions: Sequence[LawMention], tokens: Tokens) -> list[str]:
    """Feedback for each law named that is superseded, misdated or not the one that applies."""
    notes: list[str] = []
    named = {
        mention.law.id: [
            m for p in mention.law.mentions for m in find_all(p, tokens) if _states(m, tokens)
        ]
        for mention in mentions
    }
    # Naming the law that applies and another current one as well ("…and it's misleading under
    # the DMCC Act too") adds a true statement; naming only the other one is the wrong law.
    fitting_named = any(m.fits and named[m.law.id] for m in mentions)
    for mention in mentions:
        law = mention.law
        hits = named[law.id]
        if not mention.fits and law.replaced_by is None:
            # "…the guarantee doesn't cut his rights under the Consumer Rights Act": the law the
            # customer's rights come from, named beside the rule, not as the rule's source.
            hits = [m for m in hits if not _rights_under(tokens, m.start)]
        if not hits:
            continue
        if not mention.fits and law.replaced_by is None and fitting_named:
            # "CPA 1987 or CRA 2015" is a guess between laws, not a true extra statement.
            if not _offered_as_alternative(tokens, hits, named, mentions):
                continue
            notes.append(f"Choose the law that applies: not the {law.name}.")
            continue
        if law.replaced_by is not None:
            if not any(_said_to_be_old(tokens, m.start) for m in hits):
                notes.append(f"The {law.name} was replaced by {law.replaced_by}.")
        elif not mention.fits:
            notes.append(f"The {law.name} is not the law that applies here.")
        elif law.year is not None and any(
            m.end < len(tokens)
            and tokens.stems[m.end].isdigit()
            and len(tokens.stems[m.end]) == 4
            and int(tokens.stems[m.end]) != law.year
            for m in hits
        ):
            notes.append(f"Check the year: it is the {law.name}.")
    return notes


def _rights_under(tokens: Tokens, start: int) -> bool:
    """Whether a law is named as where rights come from: "(statutory) rights under the …"."""
    before = tokens.stems[max(0, start - 3) : start]
    return any(
        word == "right" and nxt in {"under", "by", "from", "in"} for word, nxt in pairwise(before)
    )


def _offered_as_alternative(
    tokens: Tokens,
    other: Sequence[Match],
    named: Mapping[str, Sequence[Match]],
    mentions: Sequence[LawMention],
) -> bool:
    """Whether a law is named as an 'or' alternative to the law that applies, in one clause."""
    fitting = [m for mention in mentions if mention.fits for m in named[mention.law.id]]
    for a in other:
        for b in fitting:
            first, second = (a, b) if a.start < b.start else (b, a)
            between = range(first.end, second.start)
            if (
                between
                and all(tokens.breaks[i] < SENTENCE_BREAK for i in between)
                and "or" in {tokens.stems[i] for i in between}
                and len(between) <= 3
            ):
                return True
    return False


def _preceded_by(tokens: Tokens, start: int, words: Sequence[str]) -> bool:
    if not words:
        return False
    before = range(max(0, start - 3), start)
    return any(
        tokens.words[i].startswith(w) or tokens.stems[i] == w for i in before for w in words
    )


def _wrong_figure(question: TextQuestion, tokens: Tokens, case: CaseContext | None) -> bool:
    assert question.rubric.figures is not None
    allowed = set(question.rubric.figures.allowed_keys())
    # Figures the prompt or the case gives ("bought 12 days ago") may be repeated back.
    allowed.update(d.key for d in durations(tokenize_cached(question.prompt)))
    if case is not None:
        allowed.update(case.duration_keys)
        allowed.update(_worked_out(allowed, case))
    stated = durations(tokens)
    plain = [
        d
        for d in stated
        if not is_negated(tokens, d.position, ()) and not _denied_after(tokens, d.position + 2)
    ]
    in_durations = {d.position for d in stated}
    bare_numbers = [
        i
        for i, word in enumerate(tokens.stems)
        if word.isdigit() and i not in in_durations and not is_negated(tokens, i, ())
    ]
    # "not 14 days, it's 30" corrects itself; a lone "not within 12 months" still claims 12.
    considered = plain if plain or bare_numbers else stated
    unknown = [
        d
        for d in considered
        if d.key not in allowed
        and not _store_policy(tokens, d.position)
        and not _story_time(tokens, d.position)
    ]
    if not unknown:
        return False
    true = _true_fact_positions(question, tokens)
    return any(d.position not in true for d in unknown)


def _true_fact_positions(question: TextQuestion, tokens: Tokens) -> frozenset[int]:
    """Positions of the answer inside a true statement of the law (facts.yaml): a figure there
    is a true extra, not a wrong figure. Looked for only when a figure check would fail."""
    return frozenset(
        position
        for fact in question.true_facts
        for pattern in fact.patterns
        for match in find_all(pattern, tokens)
        if not match.negated
        for position in range(match.start, match.end)
    )


def _worked_out(
    allowed: set[tuple[int, str]] | frozenset[tuple[int, str]], case: CaseContext
) -> set[tuple[int, str]]:
    """Durations worked out from the case: "14 days from delivery 6 days ago: 8 days left",
    "due 14 days after we got it back 23 days ago: 9 days late"."""
    return {
        (abs(a - b), unit)
        for a, unit in allowed
        for b, case_unit in case.duration_keys
        if unit == case_unit and a != b
    }


# ---------------------------------------------------------------- choices and order


def _as_text(answer: Answer) -> str:
    if isinstance(answer, str):
        return answer
    if isinstance(answer, int):
        return str(answer)
    return ", ".join(str(a) for a in answer)


def _beside_the_choice(
    question: ChoiceQuestion,
    answer: str,
    picked: Sequence[int],
    verdict: Verdict,
    case: CaseContext | None,
) -> Verdict:
    """A right choice typed with something wrong beside it earns part credit: a known wrong
    claim ("B, as long as he has the receipt") or a condition the option doesn't have ("D, but
    only after we've tried repairing the replacement as well", flagged for a tutor)."""
    tokens = tokenize(answer[:MARKED_CHARACTERS])
    context = case or _case_in(question.prompt)
    chosen = " ".join(question.options[i].text for i in picked)
    said = _shared_claims_said(question.shared_claims, tokens, _Hits({}), context)
    # A claim the chosen option's own words make is the option, not something added.
    own = {
        p.kind
        for p in _shared_claims_said(question.shared_claims, tokenize(chosen), _Hits({}), context)
    }
    added = [problem for problem in said if problem.kind not in own]
    if not said:
        condition = _condition_beside(tokens, tokenize(chosen))
        if condition is not None:
            note = f"“{condition}”: I don't know this condition in the rule."
            added = [Problem("added-condition", note, (condition,))]
    if not added:
        return verdict
    unknown = [text for problem in added for text in problem.quoted]
    return _verdict(
        question,
        "partial",
        round(verdict.score / 2, 3),
        found=[f"the right choice (“{chosen}”), but not what you added"],
        missing=verdict.missing,
        misconceptions=[problem.kind for problem in added],
        notes=[problem.note for problem in added],
        review=bool(unknown),
        unrecognised=unknown,
    )


def _cue_end(words: Sequence[str], start: int, cue: tuple[str, ...]) -> int | None:
    """Where a condition cue ("only", "if") that starts at `start` ends, or None if the words
    there are not the cue (each word only has to start like the cue's part: "only" ~ "onli")."""
    end = start + len(cue)
    if end > len(words) or not all(
        word.startswith(part) for word, part in zip(words[start:end], cue, strict=True)
    ):
        return None
    return end


_CHOICE_CONDITION_CUES = (*_CONDITION_CUES, ("once",), ("but", "it", "can"), ("up", "to"))


def _condition_beside(tokens: Tokens, option: Tokens) -> str | None:
    """A restricting clause typed beside a choice ("…, as long as he has the receipt") that the
    chosen option's own words don't have."""
    words = tokens.words
    for start in range(len(tokens)):
        for cue in _CHOICE_CONDITION_CUES:
            end = _cue_end(words, start, cue)
            if end is None or any(
                _cue_end(option.words, i, cue) is not None for i in range(len(option))
            ):
                continue
            clause_end = end
            while clause_end < len(tokens) and tokens.breaks[clause_end] == NO_BREAK:
                clause_end += 1
            # The option's own condition said in other words ("it's only for online sales").
            said = set(tokens.stems[end:clause_end]) - _CONDITION_FILLER
            if clause_end > end and len(said - set(option.stems)) > len(said) / 2:
                return " ".join(words[start:clause_end])
    return None


def _mark_choice(question: ChoiceQuestion, picked: Sequence[int]) -> Verdict:
    chosen = set(picked)
    right = question.correct_indexes
    labels = [question.options[i].text for i in sorted(chosen)]
    wrong = sorted(chosen - right)
    if wrong:
        notes = [f"“{question.options[i].text}”: {question.options[i].explanation}" for i in wrong]
        found = [question.options[i].text for i in sorted(chosen & right)]
        missing = [question.options[i].text for i in sorted(right - chosen)]
        return _verdict(
            question,
            "incorrect",
            0.0,
            found=found,
            missing=missing,
            misconceptions=["wrong-option"],
            notes=notes,
        )
    if chosen == right:
        return _verdict(question, "correct", 1.0, found=labels)
    missing = [question.options[i].text for i in sorted(right - chosen)]
    score = round(len(chosen) / len(right), 3)
    return _verdict(question, "partial", score, found=labels, missing=missing)


def _mark_order(question: OrderQuestion, picked: Sequence[int]) -> Verdict:
    items = question.items
    found = [items[i] for i in picked]
    missing = [item for i, item in enumerate(items) if i not in picked]
    if not picked:
        return _verdict(question, "incorrect", 0.0, missing=list(items))
    ranks = [question.rank(i) for i in picked]
    if ranks != sorted(ranks):
        return _verdict(
            question,
            "incorrect",
            0.0,
            found=found,
            missing=missing,
            misconceptions=["wrong-order"],
            notes=["The steps are in the wrong order."],
        )
    if not missing:
        return _verdict(question, "correct", 1.0, found=found)
    return _verdict(
        question, "partial", round(len(picked) / len(items), 3), found=found, missing=missing
    )


# Numbers that cite the law ("s.75", "reg. 31", "Part 1") or name an Act's year are not answers.
_CITATION_WORDS = frozenset(
    {"s", "ss", "section", "reg", "regs", "regul", "art", "arts", "articl", "part", "sch",
     "schedul", "para", "paragraph", "act"}
)  # fmt: skip


# "it's 9 days" reads as "it s 9": that "s" is a contraction, not a section ("s.75").
_BEFORE_CONTRACTED_S = frozenset(
    {"it", "that", "there", "he", "she", "what", "who", "let", "here"}
)


# Words that cite a numbered provision (stems); "Part 1" and "Act 1987" are not sections.
_SECTION_WORDS = frozenset({"s", "ss", "section", "reg", "regs", "regul", "art", "arts", "articl"})


_S_CITES_AFTER = frozenset(
    {"", "act", "cra", "ccr", "gdpr", "regul", "under", "in", "per", "see", "by", "of", "and"}
)


def _wrong_sections(question: TextQuestion | NumericQuestion, tokens: Tokens) -> list[int]:
    """Sections the answer cites that are not the ones the rule is in ("Section 75 of the
    Consumer Rights Act says goods must be…"); none for a question without sections, or when
    the answer names a law the question doesn't rest on (its sections are that law's)."""
    if not question.cited_sections:
        return []
    mentions = (
        question.rubric.law_mentions
        if isinstance(question, TextQuestion)
        else question.law_mentions
    )
    others = [m for m in mentions if not m.fits]
    if any(find_all(p, tokens) for m in others for p in m.law.mentions):
        return []
    wrong: list[int] = []
    for i, word in enumerate(tokens.stems):
        if not word.isdigit() or not _cited(tokens, i):
            continue
        if tokens.stems[i - 1] not in _SECTION_WORDS or 1900 <= int(word) <= 2100:
            continue
        # "England's 6" is a possessive: a bare "s" cites only after a law, a year or "under".
        before = tokens.stems[i - 2] if i >= 2 else ""
        if tokens.stems[i - 1] == "s" and not (before in _S_CITES_AFTER or before.isdigit()):
            continue
        if int(word) not in question.cited_sections:
            wrong.append(int(word))
    return wrong


def _cited(tokens: Tokens, position: int) -> bool:
    """Whether the number at `position` cites the law (s.75, reg. 31, Art. 12, and the end of
    a range: the 11 of "ss.9-11")."""
    if (
        position >= 2
        and tokens.stems[position - 1].isdigit()
        and tokens.breaks[position] < SENTENCE_BREAK  # "ss.9-11", "ss 9 to 11"; not "s.23; 6"
    ):
        return _cited(tokens, position - 1)
    if position == 0 or tokens.stems[position - 1] not in _CITATION_WORDS:
        return False
    contracted = (
        tokens.stems[position - 1] == "s"
        and position > 1
        and tokens.stems[position - 2] in _BEFORE_CONTRACTED_S
    )
    return not contracted


def _figures(tokens: Tokens) -> list[tuple[int, int, str | None]]:
    """(position, value, unit or None) of every number stated, in order, skipping negated
    ones, citations ("s.75") and years."""
    keys = {d.position: d.key for d in durations(tokens)}
    found: list[tuple[int, int, str | None]] = []
    for i, word in enumerate(tokens.stems):
        if not word.isdigit() or is_negated(tokens, i, ()):
            continue
        cited = _cited(tokens, i)
        year = 1900 <= int(word) <= 2100 and i not in keys
        if not cited and not year:
            value, unit = keys.get(i, (int(word), None))
            found.append((i, value, unit))
    return found


def _hedged(tokens: Tokens, figures: Sequence[tuple[int, int, str | None]], value: int) -> bool:
    """A rival figure in the answer's first clause ("14 days or 30 days")."""
    return bool(figures) and any(
        (other, other_unit) != (value, figures[0][2]) and _same_clause(tokens, figures[0][0], at)
        for at, other, other_unit in figures[1:]
    )


_CONCLUSION_WORDS = frozenset({"so", "therefor", "henc", "answer", "=", "thus"})


def _concludes(tokens: Tokens, position: int) -> bool:
    """Whether the figure at `position` opens its clause after 'so', 'therefore', 'answer'."""
    start = max(0, position - 2)
    opens_clause = any(tokens.breaks[i] != NO_BREAK for i in range(start, position + 1))
    return opens_clause and bool(_CONCLUSION_WORDS.intersection(tokens.stems[start:position]))


def _same_clause(tokens: Tokens, first: int, second: int) -> bool:
    return all(tokens.breaks[i] == NO_BREAK for i in range(first + 1, second + 1))


def _with_true_extras(
    question: NumericQuestion,
    tokens: Tokens,
    figures: Sequence[tuple[int, int, str | None]],
    is_answer: Callable[[tuple[int, int, str | None]], bool],
) -> tuple[bool, bool] | None:
    """(right, not hedged) when the answer's figure is there and every other figure is one the
    model answer gives too ("over £100 and up to £30,000"; "3 years from knowing, 10 overall"):
    a true extra, not a rival. Figures offered as alternatives ("3 or 10 years") stay a hedge."""
    # "8, so 9" is working towards an answer, not an extra (see the settled hedges above).
    if not any(is_answer(f) for f in figures) or any(_concludes(tokens, f[0]) for f in figures):
        return None
    model = tokenize_cached(question.model_answer)
    known = {int(w) for w in model.stems if w.isdigit()} | {d.key[0] for d in durations(model)}
    if not all(is_answer(f) or f[1] in known for f in figures):
        return None
    alternatives = any("or" in tokens.stems[a[0] + 1 : b[0]] for a, b in pairwise(figures))
    return None if alternatives else (True, False)


def _mark_numeric(question: NumericQuestion, answer: str) -> Verdict:
    expected_tokens = tokenize_cached(question.answer)
    expected = durations(expected_tokens)
    value, unit = expected[0].key if expected else (int(expected_tokens.stems[0]), None)
    # A bare number counts in the answer's own unit: "10" answers "10 years".
    as_written = expected[0].value if expected else value
    tokens = tokenize(answer[:MARKED_CHARACTERS])
    figures = _figures(tokens)
    # The answer is the first figure stated; later clauses may explain ("12 months: the
    # period ends 12 months after the normal 14 days"), but a rival figure in the same
    # clause ("14 days or 30 days") is hedging.
    wrong = _hedged(tokens, figures, value)
    # "9 or 10 are promoters, so 9": a hedge the answer settles by picking one of its figures.
    settled = [
        f
        for n, f in enumerate(figures)
        if n and _concludes(tokens, f[0]) and any(f[1:] == e[1:] for e in figures[:n])
    ]
    if wrong and settled:
        figures = [f for f in figures if f[0] >= settled[-1][0]]
        wrong = _hedged(tokens, figures, value)

    def is_answer(figure: tuple[int, int, str | None]) -> bool:
        return (figure[1] == value and figure[2] == unit) or (
            figure[1] == as_written and figure[2] is None
        )

    right = bool(figures) and is_answer(figures[0])
    if not right or wrong:
        right, wrong = _with_true_extras(question, tokens, figures, is_answer) or (right, wrong)
    if right and not wrong:
        # The figure is right; what else the answer says about the law must be right too.
        problems = _shared_claims_said(question.shared_claims, tokens, _Hits({}), None)
        problems += [Problem("wrong-law", n) for n in _law_problems(question.law_mentions, tokens)]
        if _wrong_sections(question, tokens):
            problems.append(
                Problem("wrong-section", f"Check the section: this rule is in {question.basis}.")
            )
        if not problems:
            return _verdict(question, "correct", 1.0, found=[question.answer])
        return _verdict(
            question,
            "incorrect",
            0.0,
            found=[question.answer],
            misconceptions=[p.kind for p in problems],
            notes=[p.note for p in problems],
        )
    return _verdict(
        question,
        "incorrect",
        0.0,
        missing=[question.answer],
        misconceptions=["wrong-figure"],
        notes=[question.wrong_feedback],
    )


# ---------------------------------------------------------------- feedback


def _verdict(
    question: AnyQuestion,
    outcome: str,
    score: float,
    *,
    found: Sequence[str] = (),
    missing: Sequence[str] = (),
    misconceptions: Sequence[str] = (),
    notes: Sequence[str] = (),
    review: bool = False,
    unrecognised: Sequence[str] = (),
) -> Verdict:
    feedback = _feedback(question, outcome, found, missing, notes)
    if review:
        feedback += " I've flagged this answer for your tutor to check."
    return Verdict(
        question_id=question.id,
        outcome=outcome,  # type: ignore[arg-type]  # one of the three literals above
        score=score,
        found=tuple(found),
        missing=tuple(missing),
        misconceptions=tuple(misconceptions),
        feedback=feedback,
        refs=(question.basis, *question.entries),
        review=review,
        unrecognised=tuple(unrecognised),
    )


def _feedback(
    question: AnyQuestion,
    outcome: str,
    found: Sequence[str],
    missing: Sequence[str],
    notes: Sequence[str],
) -> str:
    basis = question.basis
    if outcome == "correct":
        extra = f" {question.explanation}" if isinstance(question, ChoiceQuestion) else ""
        return f"Correct.{extra} ({basis})"
    if outcome == "partial":
        have = "; ".join(found)
        need = f" Still missing: {'; '.join(missing)}." if missing else ""
        said = f" {' '.join(notes)}" if notes else ""
        return f"Partly right. You got: {have}.{need}{said} ({basis})"
    if notes:
        return f"Not quite. {' '.join(notes)} ({basis})"
    return f"Not quite: the answer needs {'; '.join(missing)}. ({basis})"
