"""Reading a typed reply to a choice or order question: which options did the learner mean?

Learners type "b", "option b", "I think B", "b)", "its b", the option's words ("when he bought
it"), several letters for multiple choice ("a c e", "a, c and e"), and orders as numbers with
any separators ("2 1 4 3", "2-1-4-3", "2143") or as the items' words. Numbers count as the
learner sees them: "2" is the second option shown (B). A reply that names an option that does
not exist ("e" of A-D) or matches none is not an answer: the reading says why, so the chat can
ask again without using a try.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from rapidfuzz import fuzz, process

from knowledge.models import ChoiceQuestion, OrderQuestion
from knowledge.text import NEGATORS, tokenize

OPTION_LETTERS = "abcdefghij"
# How close a typed phrase must be to an option's words (rapidfuzz, 0-100).
WHOLE_OPTION_CUTOFF = 90
PIECE_CUTOFF = 80
PART_OF_OPTION_CUTOFF = 90
# A phrase that is part of an option must name one option clearly, not two about equally.
PART_MARGIN = 8
MIN_PART_CHARACTERS = 8


@dataclass(frozen=True, slots=True)
class ChoiceReading:
    """The options a reply picks (indexes as shown), or why it picks none."""

    picked: tuple[int, ...] = ()
    problem: str | None = None


def option_label(index: int, question: ChoiceQuestion | OrderQuestion) -> str:
    """How an option is named to the learner: a letter for choices, a number for orders."""
    return str(index + 1) if isinstance(question, OrderQuestion) else OPTION_LETTERS[index].upper()


def valid_labels(count: int, order: bool) -> str:
    """'A-D' or '1-4' as the learner reads it (with an en dash)."""
    if order:
        return f"1–{count}"
    return f"A–{OPTION_LETTERS[count - 1].upper()}"


# Words around the label that say nothing: "I think it's B", "option b", "my answer is c".
_LEAD_RE = re.compile(
    r"^(?:i'?d\s+(?:say|go\s+(?:for|with)|pick|choose)\s+|(?:i\s+)?(?:think|reckon|guess|believe|would\s+say|'d\s+say|d\s+say|say|choose|"
    r"pick|picked|chose|go\s+(?:for|with))\s+|(?:it|that)\s*(?:'?s|\s+is|\s+would\s+be|\s+be)\s+|"
    r"its\s+|(?:the|my)\s+answer\s+(?:is|would\s+be)\s+|answer\s*:?\s+|options?\s+|letter\s+|"
    r"number\s+|no\.?\s+|(?:probably|maybe|definitely|def|prob|defo|surely|deffo)\s+|"
    r"(?:ok(?:ay)?|um+|er+|erm|hmm+|so|well|right)[,\s]+|i\s+|is\s+)+",
    re.IGNORECASE,
)
_TRAIL_RE = re.compile(
    r"(?:\s+(?:i\s+think|i\s+reckon|probably|maybe|please|thanks|thx|surely)|[\s.!?]+)+$",
    re.IGNORECASE,
)
_LABEL_RE = re.compile(r"^[(\[]?([a-j]|10|[1-9])[)\].:]?$", re.IGNORECASE)
_SPLIT_RE = re.compile(r"\s*(?:,|;|/|\n|->|→|>|\+|&|\band\b|\bthen\b|\bor\b)\s*", re.IGNORECASE)
_STEP_SPLIT_RE = re.compile(r"\s*(?:,|;|\n|->|→|>|\bthen\b|\bnext\b|\bafter that\b)\s*", re.I)
_LABEL_RUN_RE = re.compile(r"^(?:[(\[]?(?:[a-j]|10|[1-9])[)\].]?(?:\s*[-–,\s]\s*|$))+$", re.I)


_RUN_OF_LETTERS = re.compile(r"[a-jA-J]{2,10}")
# "all of them", "all of the above", "every one": every option of a multiple-choice question.
_ALL_RE = re.compile(
    r"(?:all|all (?:of )?(?:them|the above|these|those|of it)|every ?one|everything|the lot)",
    re.IGNORECASE,
)


def read_choice(question: ChoiceQuestion | OrderQuestion, reply: str) -> ChoiceReading:
    """Which of the shown options (or order items) a typed reply names."""
    order = isinstance(question, OrderQuestion)
    shown = (
        [question.items[i] for i in presented_order(question)]
        if isinstance(question, OrderQuestion)
        else list(question.options_texts())
    )
    several = order or (isinstance(question, ChoiceQuestion) and question.type == "multiple")
    text = _TRAIL_RE.sub("", _LEAD_RE.sub("", reply.strip())).strip()
    if not text:
        return _no_match(len(shown), order)
    if several and not order and _ALL_RE.fullmatch(text):
        return ChoiceReading(tuple(range(len(shown))))
    whole = process.extractOne(
        text.lower(),
        [s.lower() for s in shown],
        scorer=fuzz.token_sort_ratio,
        score_cutoff=WHOLE_OPTION_CUTOFF,
    )
    if whole is not None and not _other_figure(text, shown[whole[2]]):
        return ChoiceReading((whole[2],))
    labels = _labels(text, order)
    if labels is None and several and not order and _RUN_OF_LETTERS.fullmatch(text):
        run = text.lower()
        if len(set(run)) == len(run) and all(ord(c) - ord("a") < len(shown) for c in run):
            labels = list(run)  # "ace": options A, C and E typed together
    if labels is None and not order:
        labels = _label_beside_words(text) or _article_label(text, shown)
    if labels is not None:
        return _from_labels(labels, len(shown), order, several)
    if not several:
        polar = _by_polarity(text, shown)
        if polar is not None:
            return ChoiceReading((polar,))
    if order:
        # "open the app and tap 'forgotten password', then …": "and" may join the words of one
        # item, so a reading by the stronger separators that names every item wins.
        by_steps = _read_pieces(_STEP_SPLIT_RE.split(text), shown, order, several)
        if by_steps.problem is None and len(by_steps.picked) == len(shown):
            return by_steps
    return _read_pieces(_SPLIT_RE.split(text) if several else [text], shown, order, several)


def _read_pieces(
    pieces: Sequence[str], shown: Sequence[str], order: bool, several: bool
) -> ChoiceReading:
    """The options named by each piece of a reply, in the order the pieces come."""
    picked: list[int] = []
    unplaced: list[int] = []  # where a piece with words of its own named no item
    for raw_piece in pieces:
        piece = raw_piece.strip().strip(".").strip()
        if not piece:
            continue
        label = _LABEL_RE.match(piece)
        index = _label_index(label.group(1), order) if label else _named_by_words(piece, shown)
        if index is None or not 0 <= index < len(shown):
            if label:
                return _out_of_range(label.group(1), len(shown), order)
            if several:
                if _distinct_words(piece):
                    unplaced.append(len(picked))
                continue  # a linking phrase between items ("if that fails"), not an item
            return _no_match(len(shown), order)
        if index not in picked:
            picked.append(index)
    if order and len(unplaced) == 1 and len(picked) == len(shown) - 1:
        # Every other item is named: the one piece left can only be the item left ("put in
        # her email" beside two items that mention an email).
        (left,) = set(range(len(shown))) - set(picked)
        picked.insert(unplaced[0], left)
    if not picked:
        return _no_match(len(shown), order)
    if not several and len(picked) > 1:
        return ChoiceReading(
            problem=f"Please pick one option ({valid_labels(len(shown), False)})."
        )
    return ChoiceReading(tuple(picked))


def presented_order(question: OrderQuestion) -> tuple[int, ...]:
    """The order items are shown in: a fixed shuffle derived from the question id."""
    count = len(question.items)
    # Stepping through the items by a step coprime with the count visits each exactly once.
    # Starting at 1 means the first item is never shown first, so the order is never the answer.
    step = next(s for s in (2, 3, 5, 7) if count % s != 0)
    return tuple((i * step + 1) % count for i in range(count))


def _labels(text: str, order: bool) -> list[str] | None:
    """The labels of a reply made only of labels: "b", "a c e", "2-1-4-3", "(b)", "2143"."""
    if order and text.isdigit() and 3 <= len(text) <= 9 and len(set(text)) == len(text):
        return list(text)  # "2143": one digit per item
    text = re.sub(r"\s*(?:\band\b|&|\+|\bthen\b|\bor\b)\s*", " ", text, flags=re.IGNORECASE)
    if not _LABEL_RUN_RE.match(text.strip()):
        return None
    return re.findall(r"10|[1-9]|[a-j]", text, re.IGNORECASE)


# "A, because she passed", "B - back on his card", "C) price reduction", "I'd close it, D",
# "…keep trying updates (b)": one letter with an explanation beside it. A leading "a" or "i"
# is a word ("a refund…"), so those two count only when punctuation or "because" follows.
_LEADING_LABEL_RE = re.compile(
    r"^(?:([a-j])\s*(?:[,):.\-–—]|\s(?:because|as|since|cos|coz|bc|so|they|theyre|it|its|he|she)\b)"
    r"|([b-hj])\s)",
    re.IGNORECASE,
)
_TRAILING_LABEL_RE = re.compile(
    r"(?:[,;:\-–—]\s*|\b(?:so|option|its|it's|it is|answer|=)\s+|\(|\s)\(?([a-j])\)?\W*$",
    re.IGNORECASE,
)


def _label_beside_words(text: str) -> list[str] | None:
    leading = _LEADING_LABEL_RE.match(text)
    if leading:
        return [leading.group(1) or leading.group(2)]
    trailing = _TRAILING_LABEL_RE.search(text)
    if trailing and trailing.group(1).lower() not in {"a", "i"}:
        return [trailing.group(1)]
    if trailing and re.search(r"(?:[,;:\-–—(]|\bso|\boption)\s*\(?a\)?\W*$", text, re.I):
        return ["a"]
    return None


def _from_labels(labels: Sequence[str], count: int, order: bool, several: bool) -> ChoiceReading:
    picked: list[int] = []
    for label in labels:
        index = _label_index(label, order)
        if index is None or not 0 <= index < count:
            return _out_of_range(label, count, order)
        if index not in picked:
            picked.append(index)
    if not several and len(picked) > 1:
        return ChoiceReading(problem=f"Please pick one option ({valid_labels(count, order)}).")
    return ChoiceReading(tuple(picked))


def _label_index(label: str, order: bool) -> int | None:
    """0-based index of a label: letters for options, numbers as shown (1 is the first)."""
    if label.isdigit():
        return int(label) - 1
    if order:
        return None  # order items are numbered, not lettered
    return OPTION_LETTERS.index(label.lower())


def _named_by_words(piece: str, shown: Sequence[str]) -> int | None:
    """`_by_words`, except that a reply that negates ("not the cost price one") names no
    option that does not negate too ("Nothing: …", "Don't disclose it")."""
    index = _by_words(piece, shown)
    if index is None:
        return None
    if _other_figure(piece, shown[index]) or _skips_first_step(piece, shown[index]):
        return None
    if not NEGATORS.intersection(tokenize(_REASON_RE.split(piece)[0]).stems):
        return index
    return index if NEGATORS.intersection(tokenize(shown[index]).stems) else None


# "…so gary doesn't have to repeat it": a negation in the reason given is not the choice's.
_REASON_RE = re.compile(r"\b(?:so(?: that)?|because|cos|coz|as|since)\b", re.IGNORECASE)
_ONLY_WORDS = frozenset({"just", "onli", "only", "straight", "simpli", "simply"})


def _skips_first_step(reply: str, option: str) -> bool:
    """Whether the reply does only the second step of a two-step option ("Just put him through"
    against "Brief the manager first, then put him through"): that is another way to act, not
    this option."""
    first, then, _ = option.lower().partition(" then ")
    if not then:
        return False
    stems = tokenize(reply).stems
    return bool(_ONLY_WORDS.intersection(stems)) and not _distinct_words(reply) & _distinct_words(
        first
    )


def _figures(text: str) -> tuple[set[str], set[tuple[str, str]]]:
    """The numbers a text says (number words read as digits), and each with its unit: the word
    after it ("20 million", "30 day") or a "£" before it."""
    stems = tokenize(text).stems
    numbers = {s for s in stems if s[:1].isdigit()}
    units = {
        (s, stems[i + 1])
        for i, s in enumerate(stems[:-1])
        if s[:1].isdigit() and not stems[i + 1][:1].isdigit()
    } | {(s, "£") for i, s in enumerate(stems) if s[:1].isdigit() and i and stems[i - 1] == "£"}
    return numbers, units


def _other_figure(reply: str, option: str) -> bool:
    """Whether the reply gives another figure for something the option counts ("£20 million or
    4%" against "£17.5 million or 4%"); "20 days is inside the 30" names the option's 30 too."""
    reply_numbers, reply_units = _figures(reply)
    if not reply_numbers:
        return False
    option_numbers, option_units = _figures(option)
    return any(
        number not in option_numbers and unit == their_unit and theirs not in reply_numbers
        for number, unit in reply_units
        for theirs, their_unit in option_units
    )


def _by_words(piece: str, shown: Sequence[str]) -> int | None:
    """The option a phrase names: close to its whole text, or clearly a part of it."""
    lowered = [s.lower() for s in shown]
    best = process.extractOne(piece.lower(), lowered, scorer=fuzz.ratio, score_cutoff=PIECE_CUTOFF)
    if best is not None:
        return int(best[2])
    if len(piece) < MIN_PART_CHARACTERS:
        return _by_distinct_words(piece, shown)
    scores = [fuzz.partial_ratio(piece.lower(), option) for option in lowered]
    ranked = sorted(range(len(scores)), key=lambda i: scores[i], reverse=True)
    top = ranked[0]
    runner_up = scores[ranked[1]] if len(ranked) > 1 else 0.0
    if scores[top] >= PART_OF_OPTION_CUTOFF and scores[top] - runner_up >= PART_MARGIN:
        return top
    shared = _by_shared_words(piece, shown)
    return shared if shared is not None else _by_distinct_words(piece, shown)


# Words that say nothing about which option is meant.
_STOP = frozenset(
    {"the", "a", "an", "and", "or", "to", "of", "in", "on", "it", "is", "be", "that", "this",
     "i", "you", "he", "she", "they", "we", "him", "her", "them", "his", "their", "our", "my",
     "for", "with", "at", "by", "from", "as", "so", "if", "then", "just", "would", "will",
     "can", "do", "did", "not", "no", "what", "when", "get", "go", "ask", "say", "tell", "d",
     "s", "ll", "think", "option", "one", "are", "was", "has", "have", "been", "its"}
)  # fmt: skip
MIN_SHARED_WORDS = 2
SHARED_SHARE = 0.4
SHARED_MARGIN = 0.15


def _content_words(text: str) -> set[str]:
    return {stem for stem in tokenize(text).stems if stem not in _STOP and not stem.isdigit()}


def _by_shared_words(piece: str, shown: Sequence[str]) -> int | None:
    """The option whose words (stemmed) the reply shares most, when clearly ahead: "I'd check
    the date he bought it on the receipt" names "When he bought it, from the receipt…"."""
    words = _content_words(piece)
    if not words:
        return None
    shares = []
    for option in shown:
        common = words & _content_words(option)
        shares.append((len(common) / len(words), len(common)))
    ranked = sorted(range(len(shown)), key=lambda i: shares[i], reverse=True)
    best = shares[ranked[0]]
    second = shares[ranked[1]][0] if len(ranked) > 1 else 0.0
    if (
        best[1] >= MIN_SHARED_WORDS
        and best[0] >= SHARED_SHARE
        and best[0] - second >= SHARED_MARGIN
    ):
        return ranked[0]
    return None


# Words no option can be told apart by, besides the stop words: symbols the tokenizer keeps.
_SYMBOLS = frozenset({"£", "$", "€", "%", "&"})
DISTINCT_MIN = 1.0
"""Weight a reply must share with one option: one word found in no other option, or more."""


_LINKING = frozenset({"and", "of", "the", "to"})
# Replies that defer rather than choose: "whatever the manager says", "dunno, the refund one?".
_HEDGES = frozenset({"whatever", "dunno", "idk", "unsure", "depends", "either"})
_ONE_RE = re.compile(r"\bones?\b", re.IGNORECASE)


def _distinct_words(text: str) -> set[str]:
    """Stems that can tell options apart: not stop words or symbols, and not "one" (which
    the tokenizer reads as 1): "the manufacturer one" is about the manufacturer."""
    tokens = tokenize(_ONE_RE.sub(" ", text))
    return {stem for stem in tokens.stems if stem not in _STOP and stem not in _SYMBOLS}


def _option_words(option: str) -> set[str]:
    """An option's content words (numbers included: "£3.95", "five years") and the initials of
    its runs of words ("subject access request" is also "sar", "Digital Markets, Competition
    and Consumers Act" also "dmcc" and "dmcca")."""
    words = _distinct_words(option)
    plain = [w for w in tokenize(option).words if w.isalpha() and w not in _LINKING]
    # Three letters or more: two-letter initials ("hi", "us") are everyday words.
    for size in range(3, 6):
        for start in range(len(plain) - size + 1):
            words.add("".join(w[0] for w in plain[start : start + size]))
    return words


def _by_distinct_words(piece: str, shown: Sequence[str]) -> int | None:
    """The option a reply names by words that tell it apart: "lock it" (only one option says
    lock), "£3.95", "warm one?", "a SAR and an erasure request". Each shared word weighs one
    over the number of options that have it; the best option must weigh at least one word
    of its own and twice the next."""
    tokens = tokenize(piece)
    words = _distinct_words(piece)
    if not words or _HEDGES.intersection(tokens.words):
        return None
    options = [_option_words(option) for option in shown]
    weights = []
    for option in options:
        weights.append(sum(1 / sum(word in other for other in options) for word in words & option))
    ranked = sorted(range(len(shown)), key=lambda i: weights[i], reverse=True)
    best = weights[ranked[0]]
    second = weights[ranked[1]] if len(ranked) > 1 else 0.0
    if best < DISTINCT_MIN or second * 2 > best:
        return None
    return ranked[0]


_YES = frozenset({"yes", "yeah", "yep", "yup", "ye", "yea", "aye"})
_NO = frozenset({"no", "nope", "nah", "na"})


def _polarity(text: str) -> str | None:
    stems = tokenize(text).stems
    first = stems[0] if stems else ""
    return "yes" if first in _YES else "no" if first in _NO else None


def _by_polarity(text: str, shown: Sequence[str]) -> int | None:
    """A reply that begins "yes" or "no" names the one option that begins so: "no, we can't
    charge them" is "No: the cost of an adjustment can't be passed on"."""
    said = _polarity(text)
    if said is None:
        return None
    matching = [i for i, option in enumerate(shown) if _polarity(option) == said]
    return matching[0] if len(matching) == 1 else None


def _article_label(text: str, shown: Sequence[str]) -> list[str] | None:
    """ "A nothing", "a both": the letter A (or I) followed by words, read as the option only
    when those words name that option; otherwise "a" is the article ("a refund")."""
    match = re.match(r"^([ai])\s+(\S.*)$", text, re.IGNORECASE)
    if match is None:
        return None
    index = OPTION_LETTERS.index(match.group(1).lower())
    if index >= len(shown):
        return None
    rest = match.group(2)
    named = _by_words(rest, shown)
    if named is None:
        # "a at cost": the words are a phrase of one option only, and it is option A.
        phrase = re.compile(rf"\b{re.escape(rest.lower().strip())}\b")
        holding = [i for i, option in enumerate(shown) if phrase.search(option.lower())]
        named = holding[0] if len(holding) == 1 else None
    return [match.group(1)] if named == index else None


def _out_of_range(label: str, count: int, order: bool) -> ChoiceReading:
    name = label.upper() if label.isalpha() else label
    kind = "item" if order else "option"
    return ChoiceReading(problem=f"There is no {kind} {name}; reply {valid_labels(count, order)}.")


def _no_match(count: int, order: bool) -> ChoiceReading:
    if order:
        return ChoiceReading(
            problem="I couldn't read an order from that: reply with the numbers"
            f" {valid_labels(count, True)} in your order, e.g. “2 1 3 4”."
        )
    return ChoiceReading(
        problem=f"I couldn't match that to an option: reply {valid_labels(count, False)}"
        " (or the option's words)."
    )
