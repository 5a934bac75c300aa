"""Marking: `mark(question, answer) -> Verdict`, a pure function.

Verdict rules (the header of the core questions file): "correct" when every required part is
there and nothing said is wrong; "partial" when some required parts are there and nothing said
is wrong; otherwise "incorrect". A wrong legal fact (a forbidden claim, a duration the rubric
does not allow, steps out of order) always makes the answer incorrect.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from rapidfuzz import fuzz, process

from knowledge.models import (
    AnyQuestion,
    ChoiceQuestion,
    Concept,
    LawMention,
    NumericQuestion,
    OrderQuestion,
    Rubric,
    TextQuestion,
    Verdict,
)
from knowledge.patterns import find_all, is_negated
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
OPTION_LETTERS = "abcdefghij"
OPTION_MATCH_CUTOFF = 80
# Score of an answer that only says something worth credit but nothing the rubric requires.
PARTIAL_CREDIT = 0.25

Answer = str | int | Sequence[int]


def mark(question: AnyQuestion, answer: Answer) -> Verdict:
    """Mark one answer to one question."""
    if isinstance(question, TextQuestion):
        return _mark_text(question, _as_text(answer))
    if isinstance(question, ChoiceQuestion):
        return _mark_choice(question, _as_indexes(answer, question.options_texts()))
    if isinstance(question, OrderQuestion):
        shown = [question.items[i] for i in presented_order(question)]
        picked = _as_indexes(answer, shown)
        return _mark_order(question, [presented_order(question)[i] for i in picked])
    return _mark_numeric(question, _as_text(answer))


def presented_order(question: OrderQuestion) -> tuple[int, ...]:
    """The order items are shown in: a fixed shuffle derived from the question id."""
    count = len(question.items)
    # Stepping through the items by a step coprime with the count visits each exactly once.
    # Starting at 1 means the first item is never shown first, so the order is never the answer.
    step = next(s for s in (2, 3, 5, 7) if count % s != 0)
    return tuple((i * step + 1) % count for i in range(count))


# ---------------------------------------------------------------- free text


@dataclass(frozen=True, slots=True)
class _Hits:
    positions: dict[str, tuple[int, ...]]
    """Where each concept's matches start."""
    covered: frozenset[int] = frozenset()
    """Every token inside some concept's match ("aggressive or threatening" covers all three)."""

    def has(self, concept_id: str) -> bool:
        return bool(self.positions.get(concept_id))


def _find_concepts(concepts: Sequence[Concept], tokens: Tokens) -> _Hits:
    positions: dict[str, tuple[int, ...]] = {}
    covered: set[int] = set()
    for concept in concepts:
        starts: set[int] = set()
        for pattern in concept.patterns:
            for match in find_all(pattern, tokens):
                if not match.negated:
                    starts.add(match.start)
                    covered.update(range(match.start, max(match.end, match.start + 1)))
        positions[concept.id] = tuple(sorted(starts))
    return _Hits(positions, frozenset(covered))


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
_NON_ANSWERS = frozenset({"pass", "skip", "next", "?", "??", "???", "-", "n/a", "na"})


def _mark_text(question: TextQuestion, answer: str) -> Verdict:
    rubric = question.rubric
    if answer.strip().lower() in _NON_ANSWERS:
        answer = "unsure"
    tokens = tokenize(answer[:MARKED_CHARACTERS])
    hits = _find_concepts(rubric.all_concepts(), tokens)
    found, missing, score = _credit(rubric, hits)
    wrong = _wrong_facts(question, tokens, hits)
    short_groups = [g for g in rubric.groups if sum(hits.has(c.id) for c in g.concepts) < g.need]
    # "Name the three…" questions are lists too, whether their items are a group or required.
    some = 0.0 < score < 1.0
    list_like = bool(short_groups) or ((bool(rubric.order) or len(rubric.required) >= 3) and some)
    if list_like and score > 0.0 and not wrong:
        stray = _unrecognised_items(tokens, hits)
        if stray:
            quoted = ", ".join(f"“{item}”" for item in stray[:3])
            wrong.append(
                ("unrecognised-item", f"{quoted}: not one of the answers this question is after.")
            )
    if wrong:
        return _verdict(
            question,
            "incorrect",
            0.0,
            found=found,
            missing=missing,
            misconceptions=[name for name, _ in wrong],
            notes=[note for _, note in wrong],
        )
    if score >= 1.0:
        return _verdict(question, "correct", 1.0, found=found, missing=missing)
    if score > 0.0:
        return _verdict(question, "partial", round(score, 3), found=found, missing=missing)
    return _verdict(question, "incorrect", 0.0, found=found, missing=missing)


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


def _wrong_facts(question: TextQuestion, tokens: Tokens, hits: _Hits) -> list[tuple[str, str]]:
    """(misconception, feedback) for every wrong fact the answer states."""
    rubric = question.rubric
    wrong: list[tuple[str, str]] = []
    for claim in rubric.forbidden:
        if any(hits.has(name) for name in claim.unless):
            continue
        if any(
            not m.negated and not _preceded_by(tokens, m.start, claim.not_after)
            for p in claim.patterns
            for m in find_all(p, tokens)
        ):
            wrong.append((claim.id, claim.feedback))
    wrong.extend(("wrong-law", note) for note in _law_problems(rubric.law_mentions, tokens))
    if _wrong_sections(question, tokens):
        wrong.append(("wrong-section", f"Check the section: this rule is in {question.basis}."))
    stray_numbers = _unexpected_numbers(question, tokens, hits)
    if stray_numbers:
        shown = ", ".join(str(n) for n in stray_numbers)
        wrong.append(
            ("unexpected-figure", f"Check the figure(s) {shown}: that isn't what the law says.")
        )
    if rubric.figures is not None and _wrong_figure(question, tokens):
        wrong.append(("wrong-figure", rubric.figures.feedback))
    if rubric.order and not _in_order(rubric.order, hits):
        wrong.append(("wrong-order", rubric.order_feedback))
    condition = _added_condition(question, tokens, hits)
    if condition:
        wrong.append(
            ("added-condition", f"“{condition}”: the rule has no such condition or exception.")
        )
    return wrong


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
)


_CUE_STARTS = frozenset({"only", "but", "unless", "except", "provided", "as", "so", "on"})


def _added_condition(question: TextQuestion, tokens: Tokens, hits: _Hits) -> str | None:
    """The first restricting clause in which no concept of the rubric is found, if any."""
    words = tokens.words
    if not _CUE_STARTS.intersection(words):
        return None
    # A concept's match may reach into the clause ("keep it as long as needed").
    found = hits.covered
    for start in range(len(tokens)):
        for cue in _CONDITION_CUES:
            end = start + len(cue)
            if end > len(tokens) or not all(
                word.startswith(part) for word, part in zip(words[start:end], cue, strict=True)
            ):
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
            if not any(start <= p < clause_end for p in found):
                return " ".join(tokens.words[start:clause_end])
    del question
    return None


def _answers_no(tokens: Tokens, start: int) -> bool:
    """Whether the only negator before `start` is the answer's opening "No"."""
    if not tokens.words or tokens.stems[0] not in {"no", "nope"}:
        return False
    return not any(tokens.stems[i] in NEGATORS for i in range(1, start))


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


def _sentence_of(tokens: Tokens, position: int) -> int:
    """The position where the sentence holding `position` starts."""
    while position > 0 and tokens.breaks[position] != SENTENCE_BREAK:
        position -= 1
    return position


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
    stray: list[str] = []
    for first, last in items:
        words = [tokens.words[i] for i in range(first, last)]
        if all(w in _FILLER for w in words) or "unsure" in words:
            continue
        if _sentence_of(tokens, first) not in listing:
            continue
        # A long clause is more likely a reason said in other words than a wrong list item.
        if len(words) <= MAX_STRAY_ITEM_WORDS and not any(first <= p < last for p in found):
            stray.append(" ".join(words))
    return stray


_ORDINAL_ENDINGS = frozenset({"st", "nd", "rd", "th"})
# "card ending 1234", "order 55812", "ref 4471": identifiers, not figures of the law (stems).
_IDENTIFIER_WORDS = frozenset(
    {"end", "last", "ref", "refer", "order", "number", "no", "account", "ticket", "case", "invoic"}
)


def _unexpected_numbers(question: TextQuestion, tokens: Tokens, hits: _Hits) -> list[int]:
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
    stray: list[int] = []
    for i, word in enumerate(tokens.stems):
        if not word.isdigit() or i in in_durations or is_negated(tokens, i, ()):
            continue
        value = int(word)
        following = tokens.stems[i + 1] if i + 1 < len(tokens) else ""
        # "1. acknowledge", "1) name", "1 satisfactory quality": numbering, not a figure.
        numbering = i + 1 < len(tokens) and (
            tokens.breaks[i + 1] != NO_BREAK or (i + 1 in found and value <= 12)
        )
        if (
            value in question.known_numbers
            or (value == 100 and following in {"%", "percent", "per"})
            or following in _ORDINAL_ENDINGS
            or numbering
            or 1900 <= value <= 2100
            or _cited(tokens, i)
            or (i > 0 and tokens.stems[i - 1] in _IDENTIFIER_WORDS)
        ):
            continue
        stray.append(value)
    return stray


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
    for mention in mentions:
        law = mention.law
        hits = [m for p in law.mentions for m in find_all(p, tokens) if not m.negated]
        if not hits:
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


def _preceded_by(tokens: Tokens, start: int, words: Sequence[str]) -> bool:
    if not words:
        return False
    before = range(max(0, start - 3), start)
    return any(
        tokens.words[i].startswith(w) or tokens.stems[i] == w for i in before for w in words
    )


def _wrong_figure(question: TextQuestion, tokens: Tokens) -> bool:
    assert question.rubric.figures is not None
    allowed = set(question.rubric.figures.allowed_keys())
    # Figures the prompt itself gives ("bought 12 days ago") may be repeated back.
    allowed.update(d.key for d in durations(tokenize_cached(question.prompt)))
    stated = durations(tokens)
    plain = [d for d in stated if not is_negated(tokens, d.position, ())]
    in_durations = {d.position for d in stated}
    bare_numbers = [
        i
        for i, word in enumerate(tokens.stems)
        if word.isdigit() and i not in in_durations and not is_negated(tokens, i, ())
    ]
    # "not 14 days, it's 30" corrects itself; a lone "not within 12 months" still claims 12.
    considered = plain if plain or bare_numbers else stated
    return any(d.key not in allowed for d in considered)


# ---------------------------------------------------------------- choices and order


def _as_text(answer: Answer) -> str:
    if isinstance(answer, str):
        return answer
    if isinstance(answer, int):
        return str(answer)
    return ", ".join(str(a) for a in answer)


_SPLIT_RE = re.compile(r"\s*(?:,|;|/|\n|->|→|>|\band\b|\bthen\b)\s*")
_LABEL_RE = re.compile(r"^\(?([a-j]|10|[1-9])[).:]?$", re.IGNORECASE)


def _as_indexes(answer: Answer, shown: Sequence[str]) -> list[int]:
    """Read the options picked: indexes, letters ('B'), numbers ('2') or option texts."""
    if isinstance(answer, int):
        return [answer] if 0 <= answer < len(shown) else []
    if not isinstance(answer, str):
        return [i for i in answer if 0 <= i < len(shown)]
    picked: list[int] = []
    whole = process.extractOne(
        answer.strip(), list(shown), scorer=fuzz.token_sort_ratio, score_cutoff=90
    )
    if whole is not None:
        return [whole[2]]
    for raw_piece in _SPLIT_RE.split(answer.strip()):
        piece = raw_piece.strip().strip(".")
        if not piece:
            continue
        label = _LABEL_RE.match(piece)
        if label:
            raw = label.group(1).lower()
            index = OPTION_LETTERS.index(raw) if raw.isalpha() else int(raw) - 1
        else:
            # Plain ratio: a few shared words ("no clue" / "at no cost") must not pick an option.
            best = process.extractOne(
                piece.lower(),
                [option.lower() for option in shown],
                scorer=fuzz.ratio,
                score_cutoff=OPTION_MATCH_CUTOFF,
            )
            index = best[2] if best is not None else -1
        if 0 <= index < len(shown) and index not in picked:
            picked.append(index)
    return picked


def _mark_choice(question: ChoiceQuestion, picked: Sequence[int]) -> Verdict:
    chosen = set(picked)
    right = question.correct_indexes
    labels = [question.options[i].text for i in sorted(chosen)]
    wrong = sorted(chosen - right)
    if not chosen:
        return _verdict(
            question,
            "incorrect",
            0.0,
            missing=["a choice of option"],
            notes=["No option was chosen."],
        )
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
    if list(picked) != sorted(picked):
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


def _wrong_sections(question: TextQuestion, tokens: Tokens) -> list[int]:
    """Sections the answer cites that are not the ones the rule is in ("Section 75 of the
    Consumer Rights Act says goods must be…"); none for a question without sections, or when
    the answer names a law the question doesn't rest on (its sections are that law's)."""
    if not question.cited_sections:
        return []
    others = [m for m in question.rubric.law_mentions if not m.fits]
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
    """Whether the number at `position` cites the law (s.75, reg. 31, Art. 12)."""
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
    units = {d.position: d.unit for d in durations(tokens)}
    found: list[tuple[int, int, str | None]] = []
    for i, word in enumerate(tokens.stems):
        if not word.isdigit() or is_negated(tokens, i, ()):
            continue
        value = int(word)
        cited = _cited(tokens, i)
        year = 1900 <= value <= 2100 and i not in units
        if not cited and not year:
            found.append((i, value, units.get(i)))
    return found


def _same_clause(tokens: Tokens, first: int, second: int) -> bool:
    return all(tokens.breaks[i] == NO_BREAK for i in range(first + 1, second + 1))


def _mark_numeric(question: NumericQuestion, answer: str) -> Verdict:
    expected_tokens = tokenize_cached(question.answer)
    expected = durations(expected_tokens)
    value, unit = expected[0].key if expected else (int(expected_tokens.stems[0]), None)
    tokens = tokenize(answer[:MARKED_CHARACTERS])
    figures = _figures(tokens)
    # The answer is the first figure stated; later clauses may explain ("12 months: the
    # period ends 12 months after the normal 14 days"), but a rival figure in the same
    # clause ("14 days or 30 days") is hedging.
    right = bool(figures) and figures[0][1] == value and figures[0][2] in {unit, None}
    wrong = bool(figures) and any(
        (other, other_unit) != (value, figures[0][2]) and _same_clause(tokens, figures[0][0], at)
        for at, other, other_unit in figures[1:]
    )
    if right and not wrong:
        return _verdict(question, "correct", 1.0, found=[question.answer])
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
) -> Verdict:
    return Verdict(
        question_id=question.id,
        outcome=outcome,  # type: ignore[arg-type]  # one of the three literals above
        score=score,
        found=tuple(found),
        missing=tuple(missing),
        misconceptions=tuple(misconceptions),
        feedback=_feedback(question, outcome, found, missing, notes),
        refs=(question.basis, *question.entries),
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
        need = "; ".join(missing)
        return f"Partly right: you have {have}. Still missing: {need}. ({basis})"
    if notes:
        return f"Not quite. {' '.join(notes)} ({basis})"
    return f"Not quite: the answer needs {'; '.join(missing)}. ({basis})"
