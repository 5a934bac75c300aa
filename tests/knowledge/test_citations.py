"""The checked citation format: parsed, refused when malformed, listed with where it is used."""

import re
import shutil
from pathlib import Path

import pytest
import yaml

from knowledge.citations import CitationError, check, check_section, citations, find_law, usages
from knowledge.loader import CONTENT_DIR, ContentError, load_knowledge_base


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("CRA 2015 s.22(3)", ["CRA 2015 s.22(3)"]),
        ("Consumer Contracts Regulations 2013 reg. 28(3)(a)", ["CCR 2013 reg. 28(3)(a)"]),
        ("UK GDPR Art. 12A(1)", ["UK GDPR Art. 12A(1)"]),
        ("(CRA 2015 s.20(16); CCR 2013 reg. 34)", ["CRA 2015 s.20(16)", "CCR 2013 reg. 34"]),
        ("CCR 2013 reg. 34(1)-(2), (7)-(8)", ["CCR 2013 reg. 34(1)-(2), (7)-(8)"]),
        ("UK GDPR Arts. 12(5), 12A, 15", ["UK GDPR Arts. 12(5), 12A, 15"]),
        ("CRA 2015 ss.20-22, 30 days", ["CRA 2015 ss.20-22"]),
        (
            "DMCC Act 2024 Part 4 Ch. 1, Sch. 20",
            ["DMCC Act 2024 Part 4", "DMCC Act 2024 Ch. 1", "DMCC Act 2024 Sch. 20"],
        ),
        ("the DUAA 2025 added Art. 12A", ["UK GDPR Art. 12A"]),
    ],
    ids=[
        "section",
        "regulation",
        "article",
        "two-laws",
        "subsection-list",
        "article-list",
        "duration-ends-list",
        "part-chapter-schedule",
        "article-after-act",
    ],
)
def test_citations_are_parsed_with_their_law(text: str, expected: list[str]) -> None:
    default = find_law("UK GDPR")
    assert [str(c) for c in check(text, default, need_law=True)] == expected


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("CRA 2015 s 22", "write it as s.22"),
        ("CRA 2015 s. 22(3)", "write it as s.22(3)"),
        ("CCR 2013 reg.34", "write it as reg. 34"),
        ("UK GDPR Art 12", "write it as Art. 12"),
        ("DMCC Act 2024 Sch.20", "write it as Sch. 20"),
        ("CRA 2015 s.22(3", "subsections"),
        ("CRA 2015 s.20-22", "write ss.20-22"),
        ("CRA 2015 ss.22", "write s.22"),
        ("CRA 2015 ss.24-20", "backwards"),
        ("CCR 2013 reg. 29-30", "write regs. 29-30"),
        ("UK GDPR s.15", "cite it by 'Art.'"),
        ("CRA 2015 reg. 22", "cite it by 's.'"),
        ("CCR 2013 s.34", "cite it by 'reg.'"),
        ("within 14 days (s.20(15))", "names no law"),
    ],
    ids=[
        "no-dot",
        "space-after-s",
        "no-space-reg",
        "art-no-dot",
        "sch-no-space",
        "unbalanced",
        "singular-range",
        "plural-one",
        "backwards",
        "singular-regulations",
        "gdpr-section",
        "act-regulation",
        "regulations-section",
        "no-law",
    ],
)
def test_malformed_citations_are_refused(text: str, message: str) -> None:
    with pytest.raises(CitationError, match=re.escape(message)):
        check(text, need_law=True)


@pytest.mark.parametrize(
    "text",
    [
        "the customer's 30 days",
        "it's 14 days",
        "section 75 of the Consumer Credit Act 1974",
        "part 2 of the form",
        "£30 and 4 p.m.",
    ],
    ids=["possessive", "contraction", "written-out", "prose-part", "money"],
)
def test_prose_is_not_a_citation(text: str) -> None:
    assert check(text, need_law=True) == []


def test_an_entry_section_holds_citations_only() -> None:
    assert check_section("Part 4 Ch. 1, ss.225-230, Sch. 20", "DMCC Act 2024")
    assert check_section("Arts. 12, 12A, 15", "UK General Data Protection Regulation")
    with pytest.raises(CitationError, match="citations only"):
        check_section("Part 4 Ch. 1 (ss.225-230, Sch. 20)", "DMCC Act 2024")
    with pytest.raises(CitationError, match=re.escape("cite it by 'Art.'")):
        check_section("s.15", "UK General Data Protection Regulation")


def test_usages_name_file_line_and_field() -> None:
    root = yaml.compose('- law: "Consumer Rights Act 2015"\n  key_points:\n    - "x (s.22(3))"\n')
    found = list(usages(root, "entries.yaml"))
    assert [(u.citation, u.path, u.line, u.field) for u in found] == [
        ("CRA 2015 s.22(3)", "entries.yaml", 3, "key_points")
    ]


def test_citation_list_keeps_default_law() -> None:
    [citation] = citations("(s.24(3))", find_law("Consumer Rights Act 2015"))
    assert str(citation) == "CRA 2015 s.24(3)"


def test_a_malformed_citation_stops_loading_with_file_and_line(tmp_path: Path) -> None:
    content = tmp_path / "content"
    shutil.copytree(CONTENT_DIR, content)
    path = content / "misconceptions.yaml"
    text = path.read_text(encoding="utf-8")
    wrong = text.replace("(CRA 2015 s.23(2)(b), s.55(2)(b))", "(CRA 2015 s 23(2)(b))")
    path.write_text(wrong, encoding="utf-8")
    with pytest.raises(ContentError) as caught:
        load_knowledge_base(content)
    assert caught.value.path == path
    assert caught.value.line == wrong[: wrong.index("s 23(2)(b)")].count("\n") + 1
    assert "write it as s.23(2)(b)" in caught.value.message
