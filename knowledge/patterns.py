"""A small phrase-pattern language for rubrics, matched against normalised tokens.

Syntax (written in the question files):
- words separated by spaces must appear in that order, next to each other: ``same card``;
- ``(a|b c)`` is a choice between alternatives, each a sequence of words;
- ``...`` skips up to five words within one sentence: ``trader ... prove``;
- ``..`` skips up to three words within one clause (no comma between): ``not .. charge``;
- ``word?`` or ``(group)?`` is optional;
- ``=word`` matches the word exactly (no stemming, no typo tolerance);
- ``word*`` matches any word that starts with it: ``investigat*``, ``minimis*``;
- ``^`` at the very start anchors the pattern to the beginning of the answer;
- ``@name`` stands for a lexicon class (a list of phrases in ``lexicon.yaml``).

Words are normalised like answers (spelling, numbers, stemming). A word of five or more
letters also matches a typo of it (one edit, two from eight letters) that starts with the
same letter, so "recieve" matches "receive" but "inaccurate" never matches "accurate".
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache

from rapidfuzz.distance import OSA

from knowledge.text import (
    NEGATORS,
    NO_BREAK,
    SCOPE_ENDS,
    SENTENCE_BREAK,
    TYPO_LETTERS,
    Tokens,
    tokenize_cached,
)

GAP_WORDS = 5
SHORT_WORD = TYPO_LETTERS  # shorter words match exactly, longer ones also by a one-letter typo
SHORT_GAP_WORDS = 3
TYPO_EDITS = 2  # the most edits a typo may have (words of eight letters or more)
NEGATION_WINDOW = 4
PROHIBITION_WINDOW = 8
_CORRECTION_WORDS = frozenset({"it", "is", "s", "are", "actual", "actually", "rather", "instead"})
_ALLOWED = frozenset(
    {"allow", "allowed", "permit", "permitted", "abl", "able", "entitl", "entitled"}
)


class PatternError(ValueError):
    """A rubric pattern that cannot be parsed; the message says what is wrong."""


@dataclass(frozen=True, slots=True, eq=False)  # identity hashing: words are cache keys
class Word:
    stem: str
    exact: bool = False
    prefix: bool = False

    def __reduce__(self) -> tuple[type[Word], tuple[str, bool, bool]]:
        # Pickled as a call (the content cache holds tens of thousands of words): it loads
        # several times faster than a slotted dataclass's generic state.
        return (Word, (self.stem, self.exact, self.prefix))

    def matches(self, token: str, word: str) -> bool:
        """Whether this pattern word matches a token (its stem and its normalised word)."""
        if self.prefix:
            if word.startswith(self.stem):
                return True
            # A typo inside a long prefix ("acountability" for accountab*) still counts.
            size = len(self.stem)
            if size < 6 or not word or word[0] != self.stem[0]:
                return False
            return any(
                OSA.distance(word[:cut], self.stem, score_cutoff=1) <= 1
                for cut in (size - 1, size, size + 1)
                if cut <= len(word)
            )
        if self.exact:
            return word == self.stem
        if token == self.stem:
            return True
        if self.exact or not token.isalpha() or not self.stem.isalpha():
            return False
        shortest = min(len(token), len(self.stem))
        if shortest < 5 or token[0] != self.stem[0]:
            return False
        allowed = TYPO_EDITS if shortest >= 8 else 1
        return OSA.distance(token, self.stem, score_cutoff=allowed) <= allowed


_WORDS: dict[tuple[str, bool, bool], Word] = {}


def _word(stem: str, *, exact: bool = False, prefix: bool = False) -> Word:
    """The one Word for this stem and kind: answers cache where each word matches by the Word,
    so patterns that share a word share its lookup."""
    key = (stem, exact, prefix)
    word = _WORDS.get(key)
    if word is None:
        word = _WORDS[key] = Word(stem, exact, prefix)
    return word


@dataclass(frozen=True, slots=True)
class Gap:
    most: int = GAP_WORDS
    within_clause: bool = False

    def __reduce__(self) -> tuple[type[Gap], tuple[int, bool]]:
        return (Gap, (self.most, self.within_clause))  # as Word's


@dataclass(frozen=True, slots=True)
class Choice:
    alternatives: tuple[tuple[Element, ...], ...]
    optional: bool = False

    def __reduce__(self) -> tuple[type[Choice], tuple[tuple[tuple[Element, ...], ...], bool]]:
        return (Choice, (self.alternatives, self.optional))  # as Word's


Element = Word | Gap | Choice


@dataclass(frozen=True, slots=True)
class Pattern:
    """A compiled pattern; `source` is the text it was written as."""

    source: str
    elements: tuple[Element, ...]
    anchored: bool
    starters: tuple[Word, ...] | None
    """Words a match can begin with (None: it may begin anywhere), to skip hopeless starts."""
    short_starters: frozenset[str] = frozenset()
    """The starters' stems shorter than five letters: they match only themselves."""
    long_starters: tuple[tuple[str, tuple[Word, ...]], ...] = ()
    """The other starters (typo-tolerant, prefixes, exact words) by their first letter: a word
    can only match a token with the same first letter."""
    required: tuple[
        tuple[frozenset[str], frozenset[tuple[str, int]], tuple[Word, ...], tuple[Word, ...]], ...
    ] = ()
    """Words every match contains: from each group, at least one word. An answer in which a
    group's words all match nowhere cannot match, which is checked before any matching (most
    patterns tried on an answer fail here)."""

    def __reduce__(self) -> tuple[type[Pattern], tuple[object, ...]]:
        fields = (self.source, self.elements, self.anchored, self.starters)
        starts = (self.short_starters, self.long_starters)
        return (Pattern, (*fields, *starts, self.required))  # as Word's


def _starters(elements: tuple[Element, ...]) -> tuple[Word, ...] | None:
    if not elements:
        return None
    first = elements[0]
    if isinstance(first, Word):
        return (first,)
    if isinstance(first, Gap) or first.optional:
        return None
    found: list[Word] = []
    for alternative in first.alternatives:
        words = _starters(alternative)
        if words is None:
            return None
        found.extend(words)
    return tuple(dict.fromkeys(found))


def _size(group: tuple[Word, ...]) -> int:
    return len(group)


def _required(elements: tuple[Element, ...]) -> list[tuple[Word, ...]]:
    """Groups of words a match of the elements must contain (one word from each group): every
    word that is not optional, and for a choice that is not, one group of each alternative."""
    groups: list[tuple[Word, ...]] = []
    for element in elements:
        if isinstance(element, Word):
            groups.append((element,))
        elif isinstance(element, Choice) and not element.optional:
            union: list[Word] = []
            for alternative in element.alternatives:
                inner = _required(alternative)
                if not inner:
                    break  # this alternative may match without any word
                fewest: tuple[Word, ...] = min(inner, key=_size)
                union.extend(fewest)
            else:
                groups.append(tuple(dict.fromkeys(union)))
    return groups


Requirement = tuple[frozenset[str], frozenset[tuple[str, int]], tuple[Word, ...], tuple[Word, ...]]
"""A group of words one of which a match contains: the stems of its plain words (a token with
that stem matches one); the shapes (first letter, length) a typo of its plain words of five or
more letters can have, and those words; and its prefixes and exact words."""


def _typo_shapes(word: Word) -> set[tuple[str, int]]:
    """The (first letter, length) of every stem a typo of the word can be: same first letter,
    five or more letters, at most two edits from eight letters (else one), and an edit changes
    the length by at most one."""
    size = len(word.stem)
    spread = TYPO_EDITS if size >= 8 else 1
    sizes = range(max(size - spread, SHORT_WORD), size + spread + 1)
    return {(word.stem[0], length) for length in sizes}


def _requirement(group: tuple[Word, ...]) -> Requirement:
    plain = [w for w in group if not w.prefix and not w.exact]
    typos = tuple(w for w in plain if len(w.stem) >= SHORT_WORD)
    shapes = frozenset(shape for w in typos for shape in _typo_shapes(w))
    others = tuple(w for w in group if w.prefix or w.exact)
    return frozenset(w.stem for w in plain), shapes, typos, others


def _requirements(elements: tuple[Element, ...]) -> tuple[Requirement, ...]:
    """The required groups, those decided by a set lookup alone first."""
    found = [_requirement(group) for group in _required(elements)]
    return tuple(sorted(found, key=lambda r: len(r[2]) + len(r[3])))


def _may_match(pattern: Pattern, tokens: Tokens) -> bool:
    """False when some required group of the pattern matches nowhere in the tokens."""
    present = tokens.plain_stems()
    for plain, shapes, typos, others in pattern.required:
        if not plain.isdisjoint(present):
            continue
        # Typos are looked for only if the answer has a word of a shape one could have.
        if typos and not shapes.isdisjoint(tokens.typo_shapes()) and _any_found(typos, tokens):
            continue
        if not others or not _any_found(others, tokens):
            return False
    return True


def _any_found(words: tuple[Word, ...], tokens: Tokens) -> bool:
    matches = tokens.matches
    for word in words:
        found = matches.get(word)
        if found is None:
            found = _positions(word, tokens)
        if found:
            return True
    return False


def _positions(word: Word, tokens: Tokens) -> frozenset[int]:
    """Every position where the word matches; only same-letter words can match by typo."""
    # The parser makes one Word per distinct word (see `_word`), so the shared claims and the
    # rubric, which repeat many words, look each up once per answer.
    cached = tokens.matches.get(word)
    if cached is None:
        if not word.prefix and not word.exact and len(word.stem) < SHORT_WORD:
            # A short word matches only its own stem: look it up instead of trying each word.
            stems = tokens.stem_positions().get(word.stem, ())
            cached = frozenset(p for p in stems if tokens.words[p][:1] == word.stem[:1])
        else:
            candidates = tokens.starting_with(word.stem[:1]) if word.stem else []
            cached = frozenset(
                p for p in candidates if word.matches(tokens.stems[p], tokens.words[p])
            )
        tokens.matches[word] = cached
    return cached


def _word_at(word: Word, tokens: Tokens, position: int) -> bool:
    return position in _positions(word, tokens)


@dataclass(frozen=True, slots=True)
class Match:
    """Where a pattern matched (token positions, end exclusive) and whether it is negated."""

    start: int
    end: int
    negated: bool
    gaps: tuple[int, ...] = ()
    """Positions a gap (``..``, ``...``) skipped: inside the match, but not its words."""


_LEXEME_RE = re.compile(r"\s*(\.\.\.|\.\.|[()|?^]|@[a-z0-9_-]+|=?[^\s()|?]+)")


def _lex(source: str) -> list[str]:
    pieces: list[str] = []
    position = 0
    stripped = source.rstrip()
    while position < len(stripped):
        found = _LEXEME_RE.match(stripped, position)
        if found is None:  # pragma: no cover - the expression matches any non-space
            raise PatternError(f"cannot read {stripped[position:]!r}")
        pieces.append(found.group(1))
        position = found.end()
    return pieces


class _Parser:
    def __init__(self, source: str, lexicon: Mapping[str, Sequence[str]]) -> None:
        self.source = source
        self.lexicon = lexicon
        self.pieces = _lex(source)
        self.index = 0

    def parse(self) -> Pattern:
        anchored = bool(self.pieces) and self.pieces[0] == "^"
        if anchored:
            self.index = 1
        choice = self._alternatives(closing=None)
        elements = choice.alternatives[0] if len(choice.alternatives) == 1 else (choice,)
        if not any(isinstance(e, Word | Choice) for e in elements):
            raise PatternError(f"pattern {self.source!r} has no words")
        starters = _starters(elements)
        short = [
            w for w in starters or () if not w.prefix and not w.exact and len(w.stem) < SHORT_WORD
        ]
        by_letter: dict[str, list[Word]] = {}
        for word in starters or ():
            if word not in short:
                by_letter.setdefault(word.stem[:1], []).append(word)
        return Pattern(
            self.source,
            elements,
            anchored,
            starters,
            frozenset(w.stem for w in short),
            tuple((letter, tuple(words)) for letter, words in by_letter.items()),
            _requirements(elements),
        )

    def _alternatives(self, closing: str | None) -> Choice:
        alternatives: list[tuple[Element, ...]] = []
        current: list[Element] = []
        while self.index < len(self.pieces):
            piece = self.pieces[self.index]
            self.index += 1
            if piece == closing:
                break
            if piece == ")":
                raise PatternError(f"unbalanced ')' in pattern {self.source!r}")
            if piece == "|":
                alternatives.append(self._finish(current))
                current = []
            elif piece == "(":
                current.append(self._alternatives(closing=")"))
            elif piece == "?":
                if self.pieces[self.index - 2] != ")":
                    # "complaints?" reads like a regex plural but makes the word optional here
                    # (so "more complaints?" matches a bare "more"): say it with a group.
                    raise PatternError(
                        f"'?' must follow a group in pattern {self.source!r}: write (word)? for"
                        " an optional word, or (complaint|complaints) for a plural"
                    )
                current.append(self._make_optional(current))
            elif piece == "^":
                raise PatternError(f"'^' may only start pattern {self.source!r}")
            elif piece == "...":
                current.append(Gap())
            elif piece == "..":
                current.append(Gap(SHORT_GAP_WORDS, within_clause=True))
            elif piece.startswith("@"):
                current.append(self._lexicon_class(piece[1:]))
            else:
                current.extend(self._words(piece))
        else:
            if closing is not None:
                raise PatternError(f"missing ')' in pattern {self.source!r}")
        alternatives.append(self._finish(current))
        return Choice(tuple(alternatives))

    def _make_optional(self, current: list[Element]) -> Element:
        if not current or isinstance(current[-1], Gap):
            raise PatternError(f"'?' must follow a word or group in pattern {self.source!r}")
        last = current.pop()
        if isinstance(last, Choice):
            return Choice(last.alternatives, optional=True)
        return Choice(((last,),), optional=True)

    def _finish(self, current: list[Element]) -> tuple[Element, ...]:
        if not current:
            raise PatternError(f"empty alternative in pattern {self.source!r}")
        return tuple(current)

    def _lexicon_class(self, name: str) -> Choice:
        phrases = self.lexicon.get(name)
        if phrases is None:
            raise PatternError(f"unknown lexicon class @{name} in pattern {self.source!r}")
        alternatives = tuple(tuple(_word(s) for s in tokenize_cached(p).stems) for p in phrases)
        return Choice(tuple(a for a in alternatives if a))

    def _words(self, piece: str) -> list[Element]:
        if piece.startswith("="):
            return [_word(piece[1:].lower(), exact=True)]
        if piece.endswith("*"):
            start = piece[:-1].lower()
            if len(start) < 3 or not start.isalnum():
                raise PatternError(f"prefix {piece!r} in pattern {self.source!r} is too short")
            return [_word(start, prefix=True)]
        # A written word may become several tokens ("2 weeks" -> "14 day", "can't" -> "can not").
        stems = tokenize_cached(piece).stems
        if not stems:
            raise PatternError(f"{piece!r} in pattern {self.source!r} has no letters or digits")
        return [_word(s) for s in stems]


@lru_cache(maxsize=16384)
def _compile(source: str, lexicon_items: tuple[tuple[str, tuple[str, ...]], ...]) -> Pattern:
    return _Parser(source, dict(lexicon_items)).parse()


def compile_pattern(source: str, lexicon: Mapping[str, Sequence[str]] | None = None) -> Pattern:
    """Parse a pattern, expanding ``@class`` names from the lexicon."""
    lexicon_items = tuple(sorted((k, tuple(v)) for k, v in (lexicon or {}).items()))
    return _compile(source.strip().lower(), lexicon_items)


def _match_at(
    elements: tuple[Element, ...], index: int, tokens: Tokens, position: int, gaps: tuple[int, ...]
) -> Iterator[tuple[int, tuple[int, ...]]]:
    """Yield (end position, token positions skipped by gaps) for each way the rest matches."""
    if index == len(elements):
        yield position, gaps
        return
    element = elements[index]
    if isinstance(element, Word):
        if position < len(tokens) and _word_at(element, tokens, position):
            yield from _match_at(elements, index + 1, tokens, position + 1, gaps)
    elif isinstance(element, Gap):
        # A gap never reaches into the next sentence (a short gap: the next clause).
        limit = NO_BREAK if element.within_clause else SENTENCE_BREAK - 1
        skipped = gaps
        at = position
        while at >= len(tokens) or tokens.breaks[at] <= limit:
            yield from _match_at(elements, index + 1, tokens, at, skipped)
            if at - position >= element.most or at >= len(tokens):
                break
            skipped = (*skipped, at)
            at += 1
    else:
        for alternative in element.alternatives:
            for end, alt_gaps in _match_at(alternative, 0, tokens, position, gaps):
                yield from _match_at(elements, index + 1, tokens, end, alt_gaps)
        if element.optional:
            yield from _match_at(elements, index + 1, tokens, position, gaps)


def is_negated(tokens: Tokens, start: int, gap_positions: tuple[int, ...]) -> bool:
    """Whether a negation cue governs the words starting at `start` (or sits in a gap)."""
    if any(tokens.stems[p] in NEGATORS for p in gap_positions if p < len(tokens)):
        return True
    if start < len(tokens) and tokens.stems[start] in NEGATORS:
        # The match states a negation itself ("cannot charge a fee"); an earlier "no" is the
        # answer to the question ("No, you cannot…"), not a double negative.
        return False
    position = start
    corrects_a_number = start < len(tokens) and tokens.stems[start].isdigit()
    for step in range(PROHIBITION_WINDOW):
        if tokens.breaks[position] != NO_BREAK or position == 0:
            return False
        position -= 1
        word = tokens.stems[position]
        if word in SCOPE_ENDS:
            return False
        # "not 14 its 30 days": the "not" belongs to the first number, the second corrects it
        # ("not 1 year or 2" negates both).
        if corrects_a_number and word.isdigit():
            between = tokens.stems[position + 1 : start]
            if any(w in _CORRECTION_WORDS for w in between):
                return False
        if word in NEGATORS and _closed_idiom(tokens, position, start):
            return False
        if word in NEGATORS and (
            step < NEGATION_WINDOW
            or _prohibits(tokens, position)
            or _instruction_not_to(tokens, position, start)
        ):
            return True
        if word == "against" and _against_the_rules(tokens, position):
            return True
    return False


# "don't worry, I'll get the £200 sorted", "no problem, we'll refund it": the negation is
# the reassurance itself and ends with it.
_REASSURANCES = frozenset({"worri", "panic", "problem", "rush", "fret", "bother"})


def _closed_idiom(tokens: Tokens, negator: int, start: int) -> bool:
    """Whether the negator only says a reassurance ("don't worry", "not a problem") that ends
    before `start`."""
    after = [i for i in range(negator + 1, min(negator + 3, start)) if tokens.stems[i] != "a"]
    return bool(after) and tokens.stems[after[0]] in _REASSURANCES


_RULE_WORDS = frozenset({"rule", "polici", "law", "regul", "gdpr", "procedur", "protocol"})


def _against_the_rules(tokens: Tokens, position: int) -> bool:
    """'it's against our security rules to read out…', 'against the law to…': a prohibition."""
    following = tokens.stems[position + 1 : position + 6]
    return bool(_RULE_WORDS.intersection(following[:4])) and "to" in following


def _instruction_not_to(tokens: Tokens, position: int, start: int) -> bool:
    """ "Don't make him use the phone or bring someone": a clause that opens with "don't"
    forbids each thing it lists with "or", however far down the list."""
    opens_clause = position < 2 or tokens.breaks[position - 1] != NO_BREAK
    return (
        tokens.stems[position] == "not"
        and position > 0
        and tokens.stems[position - 1] == "do"
        and opens_clause
        and "or" in tokens.stems[position + 1 : start]
    )


def _prohibits(tokens: Tokens, position: int) -> bool:
    """A prohibition ("never", "not allowed to", "must not") reaches further than a plain
    "no": "we're not allowed to take any admin or restocking fee off"."""
    word = tokens.stems[position]
    if word == "never":
        return True
    following = tokens.stems[position + 1] if position + 1 < len(tokens) else ""
    before = tokens.stems[position - 1] if position > 0 else ""
    return word == "not" and (
        following in _ALLOWED or before in {"can", "must", "may", "should", "could", "will"}
    )


def _starts(pattern: Pattern, tokens: Tokens) -> list[int]:
    positions = range(min(1, len(tokens))) if pattern.anchored else range(len(tokens))
    if pattern.starters is None:
        return list(positions)
    # A short word matches only itself (no typo tolerance under five letters): one set lookup
    # instead of a scan per word; the shared claims try hundreds of such words per answer.
    stems = tokens.stem_positions()
    found: set[int] = set()
    for stem in pattern.short_starters & stems.keys():
        found.update(stems[stem])
    for letter, words in pattern.long_starters:
        if tokens.starting_with(letter):
            for word in words:
                found.update(_positions(word, tokens))
    if not found:
        return []
    return sorted(p for p in found if p in positions)


def find(pattern: Pattern, tokens: Tokens) -> Match | None:
    """The first match of the pattern, preferring one that is not negated."""
    if pattern.required and not _may_match(pattern, tokens):
        return None
    first_negated: Match | None = None
    starts = _starts(pattern, tokens)
    for start in starts:
        for end, gap_positions in _match_at(pattern.elements, 0, tokens, start, ()):
            if end == start:
                continue
            if not is_negated(tokens, start, gap_positions):
                return Match(start, end, negated=False)
            if first_negated is None:
                first_negated = Match(start, end, negated=True)
    return first_negated


def find_all(pattern: Pattern, tokens: Tokens) -> list[Match]:
    """Every start position where the pattern matches (one match per start)."""
    if pattern.required and not _may_match(pattern, tokens):
        return []
    found: list[Match] = []
    starts = _starts(pattern, tokens)
    for start in starts:
        best: Match | None = None
        for end, gap_positions in _match_at(pattern.elements, 0, tokens, start, ()):
            if end == start:
                continue
            negated = is_negated(tokens, start, gap_positions)
            best = Match(start, end, negated, gap_positions)
            if not negated:
                break
        if best is not None:
            found.append(best)
    return found
