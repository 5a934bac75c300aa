"""Shipped content loads; malformed content fails at load with the file and line."""

import shutil
from pathlib import Path

import pytest

from knowledge.loader import CONTENT_DIR, ContentError, load_knowledge_base
from knowledge.models import ChoiceQuestion


def test_every_shipped_content_file_loads() -> None:
    kb = load_knowledge_base()
    assert len(kb.entries) >= 45
    assert len(kb.criteria) == 22
    assert all(q.entries for q in kb.questions.values())
    for entry in kb.entries.values():
        if entry.law != "Best practice":
            assert entry.section, entry.id


def test_single_choice_questions_fit_telegram_quiz_polls() -> None:
    kb = load_knowledge_base()
    for question in kb.questions.values():
        if isinstance(question, ChoiceQuestion):
            assert len(question.explanation) <= 200, question.id
            assert all(len(o.text) <= 100 for o in question.options), question.id


@pytest.fixture
def content(tmp_path: Path) -> Path:
    target = tmp_path / "content"
    shutil.copytree(CONTENT_DIR, target)
    return target


def append(path: Path, text: str) -> int:
    """Append YAML text; return the 1-based line where it starts."""
    existing = path.read_text(encoding="utf-8")
    path.write_text(existing.rstrip("\n") + "\n\n" + text, encoding="utf-8")
    return existing.rstrip("\n").count("\n") + 3


ENTRY = """- id: extra-entry
  title: "An extra entry"
  law: "Consumer Rights Act 2015"
  section: "s.22"
  topic: goods
  summary: "A summary that is long enough to pass."
  key_points: ["One point."]
  source: "https://www.legislation.gov.uk/ukpga/2015/15/section/22"
  criteria: ["POST:P2"]
"""


def test_yaml_syntax_error_names_file_and_line(content: Path) -> None:
    path = content / "entries" / "cra-goods.yaml"
    line = append(path, "- id: broken\n  title: [unclosed\n")
    with pytest.raises(ContentError) as caught:
        load_knowledge_base(content)
    assert caught.value.path == path
    assert caught.value.line is not None
    assert caught.value.line >= line
    assert "YAML syntax error" in str(caught.value)


def test_schema_error_names_file_line_and_field(content: Path) -> None:
    path = content / "entries" / "cra-goods.yaml"
    line = append(path, ENTRY.replace('  section: "s.22"\n', "  section: null\n"))
    with pytest.raises(ContentError) as caught:
        load_knowledge_base(content)
    assert caught.value.line == line
    assert "must cite its section" in caught.value.message


def test_unknown_key_is_refused(content: Path) -> None:
    path = content / "entries" / "cra-goods.yaml"
    line = append(path, ENTRY + "  colour: blue\n")
    with pytest.raises(ContentError) as caught:
        load_knowledge_base(content)
    assert caught.value.line == line + 9
    assert "colour" in caught.value.message


def test_bad_criterion_code_is_refused(content: Path) -> None:
    path = content / "entries" / "cra-goods.yaml"
    append(path, ENTRY.replace('["POST:P2"]', '["POST:P9"]'))
    with pytest.raises(ContentError, match="unknown criterion 'POST:P9'"):
        load_knowledge_base(content)


def test_duplicate_entry_id_is_refused(content: Path) -> None:
    path = content / "entries" / "cra-goods.yaml"
    append(path, ENTRY.replace("extra-entry", "cra-short-term-reject"))
    with pytest.raises(ContentError, match="duplicate entry id 'cra-short-term-reject'"):
        load_knowledge_base(content)


QUESTION = """- id: extra-question
  type: text
  prompt: "How long is the right to reject?"
  topic: goods
  entries: [cra-short-term-reject]
  criteria: ["POST:P2"]
  basis: "Consumer Rights Act 2015 s.22"
  model_answer: "30 days."
  hint: "Count."
  rubric:
    required:
      - id: thirty
        label: "30 days"
        patterns: ["30 days"]
"""


def test_dangling_entry_reference_is_refused(content: Path) -> None:
    path = content / "questions" / "core.yaml"
    line = append(path, QUESTION.replace("[cra-short-term-reject]", "[no-such-entry]"))
    with pytest.raises(ContentError) as caught:
        load_knowledge_base(content)
    assert caught.value.line == line
    assert "unknown entry 'no-such-entry'" in caught.value.message


def test_bad_pattern_is_refused_with_its_line(content: Path) -> None:
    path = content / "questions" / "core.yaml"
    line = append(path, QUESTION.replace('["30 days"]', '["(30 days"]'))
    with pytest.raises(ContentError) as caught:
        load_knowledge_base(content)
    assert caught.value.line == line + 13
    assert "missing ')'" in caught.value.message


def test_question_without_type_is_refused(content: Path) -> None:
    path = content / "questions" / "core.yaml"
    append(path, QUESTION.replace("  type: text\n", ""))
    with pytest.raises(ContentError, match="has no 'type'"):
        load_knowledge_base(content)


def test_single_choice_needs_one_correct_option(content: Path) -> None:
    path = content / "questions" / "core.yaml"
    choice = """- id: extra-choice
  type: single
  prompt: "Pick one."
  topic: goods
  entries: [cra-short-term-reject]
  criteria: ["POST:P2"]
  basis: "Consumer Rights Act 2015 s.22"
  model_answer: "30 days."
  hint: "Count."
  explanation: "CRA 2015 s.22."
  options:
    - {text: "14 days", explanation: "Online cooling-off."}
    - {text: "30 days"}
"""
    append(path, choice)
    with pytest.raises(ContentError, match="exactly one correct option"):
        load_knowledge_base(content)


def test_not_a_list_is_refused(content: Path) -> None:
    (content / "entries" / "cra-goods.yaml").write_text("id: lonely\n", encoding="utf-8")
    with pytest.raises(ContentError, match="expected a list"):
        load_knowledge_base(content)


def test_a_duplicate_key_fails_at_load_with_file_and_line(content: Path) -> None:
    path = content / "entries" / "cra-goods.yaml"
    line = append(path, ENTRY + '  summary: "A second summary that would silently win."\n')
    with pytest.raises(ContentError) as caught:
        load_knowledge_base(content)
    assert caught.value.path == path
    assert caught.value.line == line + 9
    assert "duplicate key 'summary'" in caught.value.message
