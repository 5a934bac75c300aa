"""Legal citations in content: one checked format, parsed, validated and listed.

The format follows legislation.gov.uk's own abbreviations, with the law named first:

    CRA 2015 s.22(3)          ss.20-22          ss.20, 22         s.20(15)-(17)
    CCR 2013 reg. 28(3)(a)    regs. 29-30       reg. 34(1)-(2), (7)-(8)
    UK GDPR Art. 12A(1)       Arts. 12(5), 15   DMCC Act 2024 Part 4 Ch. 1, Sch. 20 para. 13

"s." and "ss." take no space; "reg.", "regs.", "Art.", "Arts.", "Sch.", "para.", "Ch." and
"Part" take one. Acts have sections, regulations have regulations and the UK GDPR has
articles, so "UK GDPR s.15" or "CRA 2015 reg. 22" is refused. One number takes the singular
("s.22", also for a range of its subsections "s.20(15)-(17)"), several the plural ("ss.20-22").
A citation with no law named before it in the same text belongs to the text's default law (an
entry's `law`, a question's `basis`); without one it is refused.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Literal

Kind = Literal["act", "regulations", "articles"]

# Canonical short name, kind, and the names and abbreviations content uses (longest first).
_LAWS: tuple[tuple[str, Kind, tuple[str, ...]], ...] = (
    (
        "CCR 2013",
        "regulations",
        (
            r"Consumer Contracts \(Information, Cancellation and Additional Charges\) "
            r"Regulations 2013",
            r"Consumer Contracts Regulations(?: 2013)?",
            r"CCR 2013",
            r"CCRs?",
        ),
    ),
    ("CRA 2015", "act", (r"Consumer Rights Act(?: 2015)?", r"CRA 2015", r"CRA")),
    (
        "UK GDPR",
        "articles",
        (r"UK General Data Protection Regulation", r"UK GDPR", r"GDPR"),
    ),
    ("DPA 2018", "act", (r"Data Protection Act 2018", r"DPA 2018")),
    ("DPA 1998", "act", (r"Data Protection Act 1998", r"DPA 1998")),
    ("DUAA 2025", "act", (r"Data \(Use and Access\) Act 2025", r"DUAA 2025", r"DUAA")),
    (
        "DMCC Act 2024",
        "act",
        (
            r"Digital Markets, Competition and Consumers Act 2024",
            r"DMCC Act 2024",
            r"DMCCA 2024",
            r"DMCC Act",
            r"DMCCA",
        ),
    ),
    ("Equality Act 2010", "act", (r"Equality Act(?: 2010)?", r"EqA 2010")),
    ("CPA 1987", "act", (r"Consumer Protection Act 1987", r"CPA 1987")),
    ("CCA 1974", "act", (r"Consumer Credit Act 1974", r"CCA 1974")),
    (
        "Prescription and Limitation (Scotland) Act 1973",
        "act",
        (r"Prescription and Limitation \(Scotland\) Act 1973",),
    ),
    ("Limitation Act 1980", "act", (r"Limitation Act 1980",)),
    ("Compensation Act 2006", "act", (r"Compensation Act 2006",)),
    (
        "CPUTR 2008",
        "regulations",
        (r"Consumer Protection from Unfair Trading Regulations 2008", r"CPUTR 2008", r"CPRs"),
    ),
    ("GPSR 2005", "regulations", (r"General Product Safety Regulations 2005", r"GPSR 2005")),
    (
        "PECR 2003",
        "regulations",
        (
            r"Privacy and Electronic Communications \(EC Directive\) Regulations 2003",
            r"Privacy and Electronic Communications Regulations(?: 2003)?",
            r"PECR 2003",
            r"PECR",
        ),
    ),
)
_LAW_BY_PATTERN = [
    (re.compile(rf"(?<![\w-]){pattern}(?![\w-])"), name, kind)
    for name, kind, patterns in _LAWS
    for pattern in patterns
]
# Any other "... Act 1974" or "... Regulations 2015": its name as written, its kind from the word.
_OTHER_LAW_RE = re.compile(
    r"((?:\b[A-Z][\w(),'&-]*\s+|\([A-Z][\w ]*\)\s+)+?)(Act|Regulations)\s+(\d{4})\b"
)

_NUM = r"\d+[A-Z]{0,2}"
_SUB = r"\((?:\d+[A-Z]{0,2}|[a-z]{1,4})\)"
_END = rf"(?:{_NUM}(?:{_SUB})*|(?:{_SUB})+)"
_ITEM = rf"{_END}(?:-{_END})?"
# A list goes on after ", " or " and " with a number or a subsection, but "s.22, 30 days" ends.
_MORE = rf"(?:(?:, | and ){_ITEM}(?![\w£%/-]|\s(?:days?|weeks?|months?|years?|hours?|%)\b))*"
_MARKERS = r"ss?\.|regs?\. |Arts?\. |Sch\. |paras?\. |Ch\. |Part "
CITATION_RE = re.compile(rf"(?<![\w'’.])({_MARKERS})({_NUM}(?:{_SUB})*(?:-{_END})?{_MORE})")
# Anything that looks like a citation marker before a number, in any spacing or case.
_LOOSE_RE = re.compile(
    r"(?<![\w'’.£-])(ss?|regs?|arts?|sch|paras?|ch|part|sec|sect)(\.?)(\s?)(?=\d)",
    re.IGNORECASE,
)
_CANONICAL_MARKER = {
    "s": "s.",
    "ss": "ss.",
    "reg": "reg. ",
    "regs": "regs. ",
    "art": "Art. ",
    "arts": "Arts. ",
    "sch": "Sch. ",
    "para": "para. ",
    "paras": "paras. ",
    "ch": "Ch. ",
    "part": "Part ",
    "sec": "s.",
    "sect": "s.",
}
_UNIT_KIND: dict[str, Kind] = {
    "s.": "act",
    "ss.": "act",
    "reg.": "regulations",
    "regs.": "regulations",
    "Art.": "articles",
    "Arts.": "articles",
}
_KIND_UNIT: dict[Kind, str] = {
    "act": "'s.' (sections)",
    "regulations": "'reg.' (regulations)",
    "articles": "'Art.' (articles)",
}
_PLURAL = {"s.": "ss.", "reg.": "regs.", "Art.": "Arts.", "para.": "paras."}
_SINGULAR = {plural: singular for singular, plural in _PLURAL.items()}


class CitationError(ValueError):
    """A malformed citation; the message says what is wrong and how to write it."""


@dataclass(frozen=True, slots=True)
class Law:
    name: str
    kind: Kind


@dataclass(frozen=True, slots=True)
class Citation:
    """One citation as written ("ss.20-22") and the law it belongs to (None if unknown)."""

    law: Law | None
    unit: str
    numbers: str
    start: int
    end: int

    @property
    def text(self) -> str:
        """As written in the checked format: 's.22(3)', 'reg. 34', 'Arts. 12A, 15'."""
        return _written(self.unit, self.numbers)

    def __str__(self) -> str:
        return f"{self.law.name} {self.text}" if self.law else self.text


def _written(unit: str, numbers: str) -> str:
    """'s.' and 'ss.' take no space before the number; every other unit takes one."""
    return f"{unit}{'' if unit in {'s.', 'ss.'} else ' '}{numbers}"


def find_law(text: str) -> Law | None:
    """The first law named in a text, e.g. a question's basis."""
    laws = list(_laws_in(text))
    return laws[0][1] if laws else None


def _laws_in(text: str) -> Iterator[tuple[int, Law]]:
    """(position, law) for every law named in the text, in order."""
    found: dict[int, tuple[int, Law]] = {}
    for pattern, name, kind in _LAW_BY_PATTERN:
        for match in pattern.finditer(text):
            if not any(s <= match.start() < e for s, (e, _) in found.items()):
                found[match.start()] = (match.end(), Law(name, kind))
    for match in _OTHER_LAW_RE.finditer(text):
        start = match.start(1)
        if not any(s <= start < e or start <= s < match.end() for s, (e, _) in found.items()):
            other: Kind = "act" if match.group(2) == "Act" else "regulations"
            found[start] = (match.end(), Law(" ".join(match.group(0).split()), other))
    for start in sorted(found):
        yield found[start][0], found[start][1]


def citations(text: str, default: Law | None = None) -> list[Citation]:
    """Every well-formed citation in a text, each with the law named last before it."""
    laws = list(_laws_in(text))
    result = []
    for match in CITATION_RE.finditer(text):
        before = [law for end, law in laws if end <= match.start()]
        law = before[-1] if before else default
        unit = match.group(1).strip()
        kind = _UNIT_KIND.get(unit)
        # "the DUAA 2025 added Art. 12A": an article after an Act's name is the default law's.
        if law is not None and default is not None and law.kind != kind == default.kind:
            law = default
        result.append(Citation(law, unit, match.group(2), match.start(), match.end()))
    return result


def check(text: str, default: Law | None = None, *, need_law: bool = False) -> list[Citation]:
    """The citations in a text; raise `CitationError` on the first malformed one.

    With `need_law`, a citation must belong to a law (named in the text or the default).
    """
    found = citations(text, default)
    starts = {c.start for c in found}
    for loose in _LOOSE_RE.finditer(text):
        if loose.start() in starts:
            continue
        marker = _CANONICAL_MARKER[loose.group(1).lower()]
        number = re.match(r"\w+(?:\(\w+\))*", text[loose.end() :])
        written = text[loose.start() : loose.end()] + (number.group(0) if number else "")
        if loose.group(1).lower() in {"part", "ch"} and not loose.group(2):
            continue  # "part 2", "ch 4" in prose
        right = marker + (number.group(0) if number else "N")
        raise CitationError(
            f"malformed citation {written!r}: write it as {right}"
            " (e.g. 's.22(3)', 'reg. 34', 'Art. 12A', 'Sch. 20')"
        )
    for citation in found:
        _check_one(text, citation, need_law=need_law)
    return found


def _check_one(text: str, citation: Citation, *, need_law: bool) -> None:
    after = text[citation.end : citation.end + 1]
    if after in {"(", "–"} or (after == "-" and text[citation.end + 1 : citation.end + 2]):
        raise CitationError(
            f"malformed citation {text[citation.start : citation.end + 12]!r}: subsections are"
            " '(3)(a)', ranges use '-' ('s.22(6)-(8)', 'ss.20-22')"
        )
    numbers = _section_numbers(citation.numbers)
    for low, high in _ranges(citation.numbers):
        if low > high:
            raise CitationError(f"citation {citation.text!r}: the range runs backwards")
    plural = citation.unit in _SINGULAR
    if citation.unit in _PLURAL and len(numbers) > 1:
        raise CitationError(
            f"citation {citation.text!r} names more than one: write"
            f" {_written(_PLURAL[citation.unit], citation.numbers)}"
        )
    if plural and len(numbers) == 1:
        raise CitationError(
            f"citation {citation.text!r} names only one: write"
            f" {_written(_SINGULAR[citation.unit], citation.numbers)}"
        )
    kind = _UNIT_KIND.get(citation.unit)
    law = citation.law
    if law is None:
        if need_law and kind is not None:
            raise CitationError(
                f"citation {citation.text!r} names no law: put the law before it"
                " (e.g. 'CRA 2015 s.22', 'UK GDPR Art. 15')"
            )
        return
    if kind is not None and kind != law.kind:
        raise CitationError(
            f"citation {citation.text!r} does not fit the {law.name}: cite it by"
            f" {_KIND_UNIT[law.kind]}"
        )


def _ranges(numbers: str) -> Iterator[tuple[int, int]]:
    for low, high in re.findall(r"(?<![(\w])(\d+)[A-Z]{0,2}(?:\([^)]*\))*-(\d+)", numbers):
        yield int(low), int(high)
    for low, high in re.findall(r"\((\d+)\)-\((\d+)\)", numbers):
        yield int(low), int(high)


def _section_numbers(numbers: str) -> set[str]:
    """The distinct section-level numbers: '20(15)-(17)' is one, '20-22' and '20, 22' two."""
    bare = re.sub(r"\([^)]*\)", "", numbers)
    return set(re.findall(r"\d+[A-Z]{0,2}", bare))


def check_section(section: str, law_name: str) -> str:
    """Validate an entry's `section` field: only citations, separated by ', ' or '; '."""
    law = find_law(law_name)
    found = check(section, law)
    rest = section
    for citation in reversed(found):
        rest = rest[: citation.start] + rest[citation.end :]
    if rest.replace(", ", "").replace("; ", "").strip():
        raise CitationError(
            f"section {section!r} must be citations only, e.g. 's.22(3)', 'ss.20, 22',"
            " 'reg. 34(9)-(12)', 'Arts. 12A, 15', 'Part 4 Ch. 1, Sch. 20'"
        )
    return section


# Fields of learner-facing prose, example answers and patterns: not citations of the content.
_NOT_CITED = frozenset(
    {"id", "patterns", "prompt", "customer", "task", "answer", "hint", "label", "mentions"}
    | {"title", "tags", "text", "items", "facts", "description", "problem", "name", "examples"}
    | {"questions", "entries", "criteria", "source", "unless", "not_after", "common", "laws"}
)


@dataclass(frozen=True, slots=True)
class Usage:
    """Where a citation is used: file, line and the field it is in."""

    citation: str
    path: str
    line: int
    field: str


def usages(data: object, path: str, default: Law | None = None) -> Iterator[Usage]:
    """Every citation in a parsed YAML node tree (`yaml.compose`), with file and line.

    A mapping with a `law` or `basis` field sets the default law for everything inside it.
    """
    yield from _walk(data, path, default, "")


def _walk(node: object, path: str, default: Law | None, field: str) -> Iterator[Usage]:
    # Duck-typed over PyYAML's node classes, so this module imports nothing but the stdlib.
    value = getattr(node, "value", None)
    kind = type(node).__name__
    if kind == "MappingNode" and isinstance(value, list):
        for key, child in value:
            if key.value in {"law", "basis"} and isinstance(child.value, str):
                default = find_law(child.value) or default
        for key, child in value:
            if key.value not in _NOT_CITED:
                yield from _walk(child, path, default, str(key.value))
    elif kind == "SequenceNode" and isinstance(value, list):
        for child in value:
            yield from _walk(child, path, default, field)
    elif kind == "ScalarNode" and isinstance(value, str):
        line = node.start_mark.line + 1  # type: ignore[attr-defined]
        for citation in citations(value, default):
            name = str(citation) if citation.law else f"(no law) {citation.text}"
            yield Usage(name, path, line, field)


def citation_key(citation: str) -> tuple[str, int, str]:
    """Sort key: by law, then by the first number ('s.9' before 's.10'), then as written."""
    match = re.search(r"(?:ss?\.|regs?\. |Arts?\. |Sch\. |paras?\. |Ch\. |Part )(\d+)", citation)
    law = citation[: match.start()] if match else citation
    return (law, int(match.group(1)) if match else 0, citation)
