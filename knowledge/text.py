"""Turn learner writing into comparable tokens.

Answers and rubric patterns go through the same pipeline, so "thirty days", "30-day",
"a month" and "4 weeks" compare as numbers with units, "apologize" equals "apologise",
and "refunded" equals "refund". Everything here is pure and deterministic.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import lru_cache

import snowballstemmer
from text_to_num import alpha2digit

# A break before a token: none, a weak clause break (comma, colon, dash), or a sentence end.
NO_BREAK = 0
CLAUSE_BREAK = 1
SENTENCE_BREAK = 2
# Words of this many letters or more also match a misspelling of them (see knowledge.patterns).
TYPO_LETTERS = 5

# Words that negate what follows them within the same clause (NegEx-style cues).
NEGATORS = frozenset(
    {"not", "no", "never", "nor", "without", "neither", "none", "nothing", "nobody", "instead"}
)
# Words that end a negation's scope: "not a refund but a repair" negates only "a refund".
SCOPE_ENDS = frozenset(
    {"but", "however", "although", "though", "except", "unless", "until", "and", "then", "so"}
)

_STEMMER = snowballstemmer.stemmer("english")

# American (and a few common learner) spellings mapped to the British form this project writes.
_SPELLINGS: dict[str, str] = {
    "color": "colour",
    "behavior": "behaviour",
    "honor": "honour",
    "favor": "favour",
    "favorite": "favourite",
    "neighbor": "neighbour",
    "labor": "labour",
    "center": "centre",
    "theater": "theatre",
    "defense": "defence",
    "offense": "offence",
    "license": "licence",
    "practise": "practice",
    "practised": "practiced",
    "practising": "practicing",
    "catalog": "catalogue",
    "dialog": "dialogue",
    "canceled": "cancelled",
    "canceling": "cancelling",
    "cancelation": "cancellation",
    "fulfill": "fulfil",
    "fulfillment": "fulfilment",
    "enrollment": "enrolment",
    "judgment": "judgement",
    "aging": "ageing",
    "jewelry": "jewellery",
    "tire": "tyre",
    "check-up": "checkup",
    "followup": "follow up",
    "e-mail": "email",
    "ok": "okay",
    "pls": "please",
    "plz": "please",
    "thx": "thanks",
    "u": "you",
    "ur": "your",
    "r": "are",
    "b4": "before",
    "w/o": "without",
    "w/": "with",
    "govt": "government",
    "info": "information",
    "refnd": "refund",
    "fit 4": "fit for",
    "addy": "address",
    "cust": "customer",
    "custs": "customers",
    "id&v": "identity verification",
    "idv": "identity verification",
    "referance": "reference",
    "refrence": "reference",
    "whats": "what is",
    "thats": "that is",
    "opne": "open",
    "email address": "email",
    "e mail address": "email",
    "email addresses": "emails",
    "opn": "open",
    "wat": "what",
    "wot": "what",
    "wen": "when",
    "hw": "how",
    "hapen": "happen",
    "hapens": "happens",
    "hapend": "happened",
    "hearin": "hearing",
    "listenin": "listening",
    "buisness": "business",
    "bussiness": "business",
    "busness": "business",
    "recieve": "receive",
    "recieved": "received",
    "acknowlege": "acknowledge",
    "acknowledgement": "acknowledgment",
    "asumption": "assumption",
    "asumptions": "assumptions",
    "garantee": "guarantee",
    "gaurantee": "guarantee",
    "warrenty": "warranty",
    "reciept": "receipt",
    # CRM shorthand for follow-up: "f/u 21/12", "f-up Wed", "F/up: ring cust".
    "f/u none": "no follow up",
    "f/u: none": "no follow up",
    "f/u - none": "no follow up",
    "f/u n/a": "no follow up",
    "f/u: n/a": "no follow up",
    "no f/u": "no follow up",
    "f/u": "follow up",
    "pwd": "password",
    "pw": "password",
    "f/up": "follow up",
    "f-up": "follow up",
    "f/upp": "follow up",
    "fup": "follow up",
}
# What fails in "if the repair doesn't work": the remedy, named or not.
_REMEDY_SUBJECT = (
    r"(?:that|it|this|they|the repair|the replacement|the new one|the replacement one|that one"
    r"|the repair or (?:the )?replacement|the replacement or (?:the )?repair|the fix|either)"
)
_ALSO = r"(?:also |too |ever |still )?"
# Phrases whose "no"/"not" is not a negation of what follows ("no later than 14 days" states
# 14 days), plus ways of saying "I don't know" that must not read as a "no" answer.
_PHRASES: tuple[tuple[re.Pattern[str], str], ...] = tuple(
    (re.compile(rf"\b{pattern}\b"), replacement)
    for pattern, replacement in (
        (r"(?:no|not) (?:later|more|longer) than", "within"),
        # "card no. 4929…", "ref no 4471": a number, not a "no".
        (
            r"(card|acc|account|ref|order|phone|tel|policy) no\.?(?! (?:longer|more|one|need))",
            r"\1 number",
        ),
        (r"at the (?:latest|most)", ""),
        (r"ts? ?(?:&|and|n) ?cs?", "terms"),
        (r"if not,?", "otherwise"),
        (r"(?:way |far |totally |completely |wildly )?out of proportion", "disproportionate"),
        # "if that doesn't work, money back": the "not" is the failed repair's, not the refund's.
        (
            rf"if ({_REMEDY_SUBJECT} )?"
            r"(?:does not|doesn t|doesnt|do not|don t|dont|did not|didn t|didnt"
            r"|can not|cannot|can t|cant)"
            r" (?:work|fix it|sort it|help|be fixed|be repaired|put (?:things|it|this) right"
            r"|sort (?:it|things) out|solve it)",
            r"if \1fails",
        ),
        (
            rf"if ({_REMEDY_SUBJECT} )?"
            r"(?:is not|isn t|isnt|was not|wasn t|wasnt|are not|aren t)"
            r" (?:put right|fixed|sorted|repaired|resolved|sorted out)",
            r"if \1fails",
        ),
        # "if the new one went wrong", "if it breaks again": the remedy failing.
        (
            rf"if ({_REMEDY_SUBJECT} )?{_ALSO}(?:went|goes|go|has gone|have gone) wrong"
            rf"|if ({_REMEDY_SUBJECT} )?{_ALSO}(?:breaks|broke|has broken) (?:again|down)",
            r"if \1\2fails",
        ),
        (r"(?:i am |i m |im )?(?:not sure|unsure|no idea|no clue|not a clue|clueless)", "unsure"),
        (r"idk|dunno|dno", "unsure"),
        # "I can't remember the other two": an admitted gap, not a wrong list item.
        (
            r"(?:i )?(?:can not|cannot|can t|cant|could not|couldn t|couldnt) "
            r"(?:think of|remember|recall)[^,.;:!?]*",
            "unsure",
        ),
        (r"(?:i )?(?:do not|don t|dont) know", "unsure"),
    )
)
# Common misspellings of number words and time units, and words glued together.
_NUMBER_TYPOS = {
    "thrity": "thirty",
    "thirthy": "thirty",
    "therty": "thirty",
    "fourty": "forty",
    "fourten": "fourteen",
    "fourtheen": "fourteen",
    "forteen": "fourteen",
    "fortnite": "fortnight",
    "fortnigth": "fortnight",
    "sevnty": "seventy",
    "seventytwo": "seventy two",
    "twleve": "twelve",
    "yeras": "years",
    "yaers": "years",
    "yeares": "years",
    "yrs": "years",
    "monhts": "months",
    "mounths": "months",
    "monts": "months",
    "dyas": "days",
    "hous": "hours",
    "horus": "hours",
}
_NUMBER_TYPO_RE = re.compile(r"\b(" + "|".join(_NUMBER_TYPOS) + r")\b")
_GLUED_UNIT_RE = re.compile(
    r"\b(one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|fourteen|thirty"
    r"|seventy|\d+)(days?|weeks?|months?|years?|hours?|hrs)\b"
)
# "nineteen eighty seven" is a year (1987), which alpha2digit would read as three numbers.
_TENS = {"ten": 1, "twenty": 2, "thirty": 3, "forty": 4, "fifty": 5, "sixty": 6, "seventy": 7,
         "eighty": 8, "ninety": 9}  # fmt: skip
_UNITS = {"one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7,
          "eight": 8, "nine": 9}  # fmt: skip
_SPOKEN_YEAR_RE = re.compile(
    r"\b(nineteen|twenty) (" + "|".join(_TENS) + r")(?:[ -](" + "|".join(_UNITS) + r"))?\b"
)


def _spoken_year(match: re.Match[str]) -> str:
    century = 19 if match.group(1) == "nineteen" else 20
    unit = _UNITS[match.group(3)] if match.group(3) else 0
    return str(century * 100 + _TENS[match.group(2)] * 10 + unit)


_SHORT_YEAR_RE = re.compile(
    r"\b(act|cra|cpa|ccr|ccrs|dpa|gdpr|sga|sgsa|eqa|dmcc|cputr|dda|regs?) ?'(\d\d)\b"
)


def _full_year(two_digits: str) -> str:
    return ("20" if int(two_digits) <= 40 else "19") + two_digits


# "£17.5m", "£1bn", "500k", "£30k": sums written short. A bare "4k" is a screen, not a sum.
_EXAMPLE_RE = re.compile(r"\b(?:(e)\.\s?g\b\.?|(e)g\.|i\.\s?e\b\.?|ie\.)")
_MONEY_SHORT_RE = re.compile(r"(£)?(?<![\w.])(\d+(?:\.\d+)?) ?(k|m|mn|bn)\b")


def _money_in_full(match: re.Match[str]) -> str:
    pound, number, suffix = match.group(1) or "", match.group(2), match.group(3)
    if suffix == "k":
        thousands = float(number) * 1000
        if (not pound and thousands < 10_000) or not thousands.is_integer():
            return match.group(0)
        return f"{pound}{int(thousands)}"
    if not pound:
        return match.group(0)  # "5m" may be metres or minutes
    return f"{pound}{number} {'billion' if suffix == 'bn' else 'million'}"


_RANGE_UNIT_RE = re.compile(r"\b(\d+) (or|to|and) (\d+) (days?|weeks?|months?|years?|hours?)\b")
_SPELLING_RE = re.compile(
    r"(?<![\w-])("
    + "|".join(re.escape(k) for k in sorted(_SPELLINGS, key=len, reverse=True))
    + r")(?![\w-])"
)
# -ize/-yze endings become -ise/-yse (organize -> organise, analyze -> analyse).
_IZE_RE = re.compile(r"\b(\w{3,}?)(i|y)z(e|es|ed|ing|ation|ations|er|ers)\b")

_AFTER_I_WILL = (
    "get", "sort", "make", "call", "check", "ring", "send", "look", "pass", "put", "ask",
    "arrange", "do", "be", "have", "email", "give", "speak", "transfer", "book", "update",
    "contact", "find", "try", "refund", "process", "note", "log", "text", "follow", "chase",
    "keep", "let", "see", "talk", "take", "tell", "help", "just", "definitely", "also",
    "personally", "go", "bring", "pop", "raise", "escalate", "request", "organise", "order",
    "swap", "replace", "repair", "fix", "issue", "confirm", "explain", "write", "record", "add",
    "phone", "message", "need", "start", "stay", "deal", "make", "happily", "gladly",
)  # fmt: skip
_CONTRACTIONS = (
    (re.compile(r"\bwon'?t\b"), "will not"),
    (re.compile(r"\bcan'?t\b"), "can not"),
    (re.compile(r"\bcannot\b"), "can not"),
    (re.compile(r"\bshan'?t\b"), "shall not"),
    (re.compile(r"\bain'?t\b"), "is not"),
    (re.compile(r"\b(\w+)n't\b"), r"\1 not"),
    (
        re.compile(r"\b(do|does|did|is|are|was|were|has|have|had|should|would|could|must)nt\b"),
        r"\1 not",
    ),
    (re.compile(r"'ve\b"), " have"),
    (re.compile(r"'ll\b"), " will"),
    (re.compile(r"'re\b"), " are"),
    (re.compile(r"'m\b"), " am"),
    (re.compile(r"\b(it|that|what|there|here|who|where|how|he|she)'s\b"), r"\1 is"),
    (re.compile(r"'(s|d)\b"), r" \1"),
    # Chat shorthand without the apostrophe: "im sorry", "ive logged it", "ill sort it".
    (re.compile(r"\bim\b"), "i am"),
    (re.compile(r"\bive\b"), "i have"),
    (re.compile(r"\b(you|they|we)ll\b"), r"\1 will"),
    (re.compile(r"\b(you|they)re\b"), r"\1 are"),
    (re.compile(r"\b(you|they|we)ve\b"), r"\1 have"),
    (re.compile(r"\b(that|what|there)s\b"), r"\1 is"),
    # "ill" is "I'll" before a verb ("ill get it sorted"), not "ill" as in unwell.
    (re.compile(rf"\bill (?=(?:{'|'.join(_AFTER_I_WILL)})\b)"), "i will "),
)

_WEEKS_RE = re.compile(r"\b(\d+)\s*(weeks?|wks?)\b")
_FORTNIGHT_RE = re.compile(r"\b(?:(\d+)\s*)?fortnights?\b")
_UNIT_RE = re.compile(
    r"\b(\d+)\s*(hours?|hrs?|h|days?|d|months?|mths?|mnths?|mos?|years?|yrs?|yr)\b"
)
_UNIT_CANON = {
    "h": "hours",
    "hr": "hours",
    "hrs": "hours",
    "hour": "hours",
    "hours": "hours",
    "d": "days",
    "day": "days",
    "days": "days",
    "month": "months",
    "months": "months",
    "mth": "months",
    "mths": "months",
    "mnth": "months",
    "mnths": "months",
    "mo": "months",
    "mos": "months",
    "year": "years",
    "years": "years",
    "yr": "years",
    "yrs": "years",
}
_ONE_UNIT_RE = re.compile(
    r"\b(?:a|an|one|1)\s+(single\s+|calendar\s+|full\s+)?(hour|day|week|month|year)\b"
)
_HALF_YEAR_RE = re.compile(r"\bhalf (?:a|1) years?\b")
_DECADE_RE = re.compile(r"\b(?:(?:a|1)\s+|(\d+)\s*)decades?\b")
_TOKEN_RE = re.compile(r"£|%|[a-z0-9]+|[.!;|\n]+|[,:?()/+&\-\u2013\u2014]+")
# "?" only ends a clause: in "a legal right? no." the answer belongs with its question. A line
# break or "|" ends a field of a CRM note ("Issue: gap can't be fixed | Action: £400 off").
_SENTENCE_PUNCT = frozenset(".!;|\n")

# Units after a number that make it a duration; words allowed between ("3 working days").
DURATION_UNITS = frozenset({"hour", "day", "month", "year"})
DURATION_FILLERS = frozenset(
    {"calendar", "clear", "full", "extra", "further", "more", "addit", "whole"}
)
# "14 working days" is not "14 days": it becomes its own unit, which no rubric allows.
WORKING_FILLERS = frozenset({"work", "busi"})


@dataclass(frozen=True, slots=True)
class Tokens:
    """Normalised words of a text, their stems, and the punctuation break before each word."""

    words: tuple[str, ...]
    stems: tuple[str, ...]
    breaks: tuple[int, ...]
    # Where each pattern word matches, worked out once and shared by every pattern of a marking.
    matches: dict[object, frozenset[int]] = field(default_factory=dict, compare=False)
    _by_first: dict[str, list[int]] | None = field(default=None, compare=False)
    _by_stem: dict[str, list[int]] | None = field(default=None, compare=False)
    _plain_stems: frozenset[str] | None = field(default=None, compare=False)
    _typo_shapes: frozenset[tuple[str, int]] | None = field(default=None, compare=False)

    def typo_shapes(self) -> frozenset[tuple[str, int]]:
        """(first letter, length) of each alphabetic stem of `TYPO_LETTERS` or more letters:
        the only stems a misspelt pattern word can match."""
        shapes = self._typo_shapes
        if shapes is None:
            shapes = frozenset(
                (s[0], len(s)) for s in self.stems if len(s) >= TYPO_LETTERS and s.isalpha()
            )
            object.__setattr__(self, "_typo_shapes", shapes)
        return shapes

    def plain_stems(self) -> frozenset[str]:
        """The stems a pattern's plain word matches by being that stem: those whose word starts
        with the same letter (a word matches only tokens that start like it)."""
        found = self._plain_stems
        if found is None:
            found = frozenset(
                s for s, w in zip(self.stems, self.words, strict=True) if s[:1] == w[:1]
            )
            object.__setattr__(self, "_plain_stems", found)
        return found

    def stem_positions(self) -> dict[str, list[int]]:
        """Positions of each stem."""
        if self._by_stem is None:
            index: dict[str, list[int]] = {}
            for position, stem in enumerate(self.stems):
                index.setdefault(stem, []).append(position)
            object.__setattr__(self, "_by_stem", index)
        assert self._by_stem is not None
        return self._by_stem

    def starting_with(self, letter: str) -> list[int]:
        """Positions of the words that start with this letter (candidates for a typo match)."""
        if self._by_first is None:
            index: dict[str, list[int]] = {}
            for position, word in enumerate(self.words):
                index.setdefault(word[:1], []).append(position)
            object.__setattr__(self, "_by_first", index)
        assert self._by_first is not None
        return self._by_first.get(letter, [])

    def __len__(self) -> int:
        return len(self.stems)


def _canonical_text(text: str) -> str:
    text = text.lower()
    text = text.replace("\u2019", "'").replace("\u2018", "'").replace("`", "'")
    text = text.replace("\u201c", '"').replace("\u201d", '"')
    text = _SPELLING_RE.sub(lambda m: _SPELLINGS[m.group(1)], text)
    text = re.sub(r"(?<=\d),(?=\d{3}\b)", "", text)  # 30,000 is one number
    text = _MONEY_SHORT_RE.sub(_money_in_full, text)  # "£17.5m", "500k", "£30k"
    # "e.g." and "i.e." introduce an example; their full stops do not end a sentence.
    text = _EXAMPLE_RE.sub(lambda m: " eg " if m.group(1) or m.group(2) else " ie ", text)
    # "CPA '87", "the CRA '15": a law's year written short.
    text = _SHORT_YEAR_RE.sub(lambda m: f"{m.group(1)} {_full_year(m.group(2))}", text)
    text = _NUMBER_TYPO_RE.sub(lambda m: _NUMBER_TYPOS[m.group(1)], text)
    text = _GLUED_UNIT_RE.sub(lambda m: f"{m.group(1)} {m.group(2)}", text)
    text = _IZE_RE.sub(lambda m: f"{m.group(1)}{m.group(2)}s{m.group(3)}", text)
    for pattern, replacement in _CONTRACTIONS:
        text = pattern.sub(replacement, text)
    for pattern, replacement in _PHRASES:
        text = pattern.sub(replacement, text)
    # Hyphenated numbers and units ("thirty-day", "six-month") read as separate words.
    text = re.sub(r"(?<=[a-z0-9])-(?=[a-z0-9])", " ", text)
    text = _SPOKEN_YEAR_RE.sub(_spoken_year, text)
    text = alpha2digit(text, "en", threshold=0)
    text = re.sub(r"(?<=\d)(?=[a-z])", " ", text)
    text = re.sub(r"\b(ss?|regs?|arts?|sch)(?=\d)", r"\1 ", text)  # "s75" cites s.75
    text = _RANGE_UNIT_RE.sub(
        lambda m: f"{m.group(1)} {m.group(4)} {m.group(2)} {m.group(3)} {m.group(4)}", text
    )
    text = _HALF_YEAR_RE.sub("6 months", text)
    text = _DECADE_RE.sub(lambda m: f"{int(m.group(1) or 1) * 10} years", text)
    text = _ONE_UNIT_RE.sub(lambda m: f"1 {m.group(2)}", text)
    text = _FORTNIGHT_RE.sub(lambda m: f"{int(m.group(1) or 1) * 14} days", text)
    text = _WEEKS_RE.sub(lambda m: f"{int(m.group(1)) * 7} days", text)
    return _UNIT_RE.sub(lambda m: f"{m.group(1)} {_UNIT_CANON[m.group(2)]}", text)


@lru_cache(maxsize=8192)
def stem(word: str) -> str:
    """Stem one lower-case word; numbers and symbols are kept as they are."""
    if not word.isalpha():
        return word
    return str(_STEMMER.stemWord(word))


def tokenize(text: str) -> Tokens:
    """Normalise a text and split it into stemmed words with their punctuation breaks."""
    # A new Tokens each time (it gathers one marking's lookups), over words worked out once
    # per recent short text: the options of a choice question are read again on every answer.
    if len(text) <= CACHED_CHARACTERS:
        return Tokens(*_split_cached(text))
    return Tokens(*_split(text))


# Texts this short are remembered (a thousand of them: at most a few megabytes).
CACHED_CHARACTERS = 300
Split = tuple[tuple[str, ...], tuple[str, ...], tuple[int, ...]]


@lru_cache(maxsize=1024)
def _split_cached(text: str) -> Split:
    return _split(text)


def forget_recent_texts() -> None:
    """Empty tokenize's memory of recent texts (the bench times answers as if each were new,
    as a learner's are)."""
    _split_cached.cache_clear()


def _split(text: str) -> Split:
    words: list[str] = []
    stems: list[str] = []
    breaks: list[int] = []
    pending = NO_BREAK
    for piece in _TOKEN_RE.findall(_canonical_text(text)):
        if piece[0] in _SENTENCE_PUNCT:
            pending = SENTENCE_BREAK
        elif not piece[0].isalnum() and piece not in {"£", "%"}:
            pending = max(pending, CLAUSE_BREAK)
        else:
            words.append(piece)
            stems.append(stem(piece))
            breaks.append(pending)
            pending = NO_BREAK
    return tuple(words), tuple(stems), tuple(breaks)


@lru_cache(maxsize=4096)
def tokenize_cached(text: str) -> Tokens:
    """`tokenize` for texts that recur (rubric patterns, prompts)."""
    return tokenize(text)


@dataclass(frozen=True, slots=True)
class Duration:
    """A number with a time unit found in a text, e.g. (30, "day")."""

    value: int
    unit: str
    position: int

    @property
    def key(self) -> tuple[int, str]:
        """(value, unit) to compare: years count as months, so "a year" is "12 months" and
        "72 months" is "6 years"."""
        if self.unit == "year":
            return (self.value * 12, "month")
        return (self.value, self.unit)


def durations(tokens: Tokens) -> list[Duration]:
    """Every "number unit" pair in the tokens, allowing one filler ("2 further months")."""
    found: list[Duration] = []
    stems = tokens.stems
    for i, word in enumerate(stems):
        if not word.isdigit():
            continue
        for j in (i + 1, i + 2):
            if j >= len(stems) or tokens.breaks[j] != NO_BREAK:
                break
            if stems[j] in DURATION_UNITS:
                working = j == i + 2 and stems[i + 1] in WORKING_FILLERS
                unit = f"working {stems[j]}" if working else stems[j]
                found.append(Duration(int(word), unit, i))
                break
            if stems[j] not in DURATION_FILLERS | WORKING_FILLERS:
                break
    return found
