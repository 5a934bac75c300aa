"""Scenario files: validated at load, with the file and line of any problem."""

import shutil
from pathlib import Path

import pytest

from flows.loader import load_scenarios
from knowledge.loader import ContentError, KnowledgeBase
from tests.conftest import TEST_SCENARIOS
from tests.flows.scenario_files import edit, line_of


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    shutil.copytree(TEST_SCENARIOS, tmp_path / "scenarios")
    return tmp_path / "scenarios"


def test_shipped_scenarios_load_and_are_sound(kb: KnowledgeBase) -> None:
    scenarios = load_scenarios(kb)
    assert len(scenarios) >= 12
    personas = {c.scenario.persona.type for c in scenarios.values()}
    assert personas == {"angry", "confused", "upset", "knowledgeable", "ict-beginner"}
    for content in scenarios.values():
        kinds = [step.kind for step in content.scenario.steps]
        assert "record" in kinds, content.scenario.id
        assert "reply" in kinds, content.scenario.id


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        ("    next: check\n", "    next: nowhere\n", "goes to unknown step 'nowhere'"),
        ("start: greet", "start: missing", "start step 'missing' is not a step"),
        ("    question: cra-reject-window\n", "    question: no-such-q\n", "unknown question"),
        ("  - id: repair\n", "  - id: repair\n    colour: red\n", "Extra inputs"),
        ("{age}!", "{nonsense}!", "unknown placeholder.*nonsense"),
        ("    kind: record\n", "    kind: resolve\n", "must include a 'record' step"),
    ],
    ids=[
        "dangling-next",
        "bad-start",
        "unknown-question",
        "unknown-key",
        "placeholder",
        "no-record",
    ],
)
def test_bad_scenarios_fail_with_file_and_line(
    kb: KnowledgeBase, folder: Path, old: str, new: str, message: str
) -> None:
    path = edit(folder, old, new)
    with pytest.raises(ContentError, match=message) as caught:
        load_scenarios(kb, folder)
    assert caught.value.path == path
    assert caught.value.line is not None


def test_unreachable_step_is_refused(kb: KnowledgeBase, folder: Path) -> None:
    edit(folder, "      - {goto: repair}\n", "      - {goto: refund}\n")
    with pytest.raises(ContentError, match="never reached from 'greet': repair"):
        load_scenarios(kb, folder)


def test_inline_question_error_points_into_the_step(kb: KnowledgeBase, folder: Path) -> None:
    path = edit(folder, '["patel"]', '["(patel"]')
    with pytest.raises(ContentError, match="missing") as caught:
        load_scenarios(kb, folder)
    assert caught.value.line == line_of(
        path, '          - {id: name, label: "customer name", patterns: ["(patel"]}'
    )
