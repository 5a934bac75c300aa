"""A step that reuses a bank question may add `applied` concepts: the rule applied to the case.

The step's question is the bank question with those concepts also required (and the step's own
model answer and examples); it keeps the bank id and everything the loader attached to it.
"""

import json
import shutil
from pathlib import Path

import pytest

from bot.cli import main
from flows.loader import ScenarioContent, load_scenarios
from flows.questions import find_askable, own_questions
from knowledge.checks import StepQuestion, check_content
from knowledge.loader import ContentError, KnowledgeBase
from knowledge.marking import mark
from knowledge.models import TextQuestion
from tests.conftest import TEST_SCENARIOS
from tests.flows.scenario_files import edit, line_of

APPLIED = """    question: cra-reject-window
    applied:
      - id: inside-window
        label: "applied to her: at 12 days she is inside the 30 days"
        patterns:
          - "(12|twelve) days"
          - "(within|inside|in) .. (30 days|time|it|the period)"
    model_answer: "30 days to reject it (CRA 2015 s.22(3)); at 12 days she is well inside them."
    examples:
      - {answer: "30 days, and at 12 days she's well inside them.", verdict: correct}
      - {answer: "30 days.", verdict: partial}
      - {answer: "14 days, so she is out of time.", verdict: incorrect}
"""
REFUND_STEP = "    question: cra-reject-window\n"


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    shutil.copytree(TEST_SCENARIOS, tmp_path / "scenarios")
    return tmp_path / "scenarios"


@pytest.fixture
def applied(kb: KnowledgeBase, folder: Path) -> Path:
    edit(folder, REFUND_STEP, APPLIED)
    return folder


def test_the_step_asks_the_bank_question_with_its_applied_concepts(
    kb: KnowledgeBase, applied: Path
) -> None:
    scenarios = load_scenarios(kb, applied)
    bank = kb.question("cra-reject-window")
    step = find_askable(kb, scenarios, "test-kettle/refund").question
    assert isinstance(bank, TextQuestion)
    assert isinstance(step, TextQuestion)
    assert step.id == bank.id  # progress and stats stay per question
    assert [c.id for c in step.rubric.required] == ["thirty-days", "inside-window"]
    assert [c.id for c in bank.rubric.required] == ["thirty-days"]
    assert step.model_answer.endswith("at 12 days she is well inside them.")
    assert [e.verdict for e in step.examples] == ["correct", "partial", "incorrect"]
    # Everything the loader attached to the bank question comes along.
    assert step.shared_claims
    assert step.shared_claims == bank.shared_claims
    assert step.true_facts
    assert step.true_facts == bank.true_facts
    assert step.rubric.law_mentions == bank.rubric.law_mentions
    assert bank.known_numbers <= step.known_numbers
    assert 12 in step.known_numbers
    assert bank.cited_sections <= step.cited_sections
    assert bank.taught_words <= step.taught_words
    # The bank question itself is unchanged.
    assert kb.question("cra-reject-window") is bank


def test_marking_a_step_with_applied_concepts(kb: KnowledgeBase, applied: Path) -> None:
    scenarios = load_scenarios(kb, applied)
    askable = find_askable(kb, scenarios, "test-kettle/refund")
    bare = mark(askable.question, "30 days.", askable.case)
    assert bare.outcome == "partial"
    assert "applied to her: at 12 days she is inside the 30 days" in bare.missing
    assert "applied to her" in bare.feedback
    applied_answer = "She has 30 days to reject it, and at 12 days she's well within them."
    assert mark(askable.question, applied_answer, askable.case).outcome == "correct"
    wrong = mark(askable.question, "14 days, and at 12 days she's within them.", askable.case)
    assert wrong.outcome == "incorrect"
    # The bank question alone still takes the bare rule.
    bank = kb.question("cra-reject-window")
    assert bank is not None
    assert mark(bank, "30 days.").outcome == "correct"


def test_content_check_marks_the_steps_examples_against_its_case(
    kb: KnowledgeBase, applied: Path
) -> None:
    edit(
        applied,
        '      - {answer: "30 days.", verdict: partial}\n',
        '      - {answer: "30 days.", verdict: correct}\n',
    )
    scenarios = load_scenarios(kb, applied)
    steps = [StepQuestion(a.id, a.question, a.case) for a in own_questions(kb, scenarios)]
    assert "test-kettle/refund" in [s.name for s in steps]
    report = check_content(kb, steps=steps)
    problems = [p for p in report.problems if "test-kettle/refund" in p]
    assert problems == [
        "question 'test-kettle/refund': example '30 days.' marked partial, expected correct"
        " (applied to her: at 12 days she is inside the 30 days)"
    ]


def test_steps_without_applied_are_the_bank_question(
    kb: KnowledgeBase, test_scenarios: dict[str, ScenarioContent]
) -> None:
    shipped = test_scenarios
    assert shipped["test-kettle"].question_for("refund") is kb.question("cra-reject-window")
    assert "test-kettle/refund" not in [a.id for a in own_questions(kb, shipped)]


@pytest.mark.parametrize(
    ("old", "new", "needle", "message"),
    [
        (
            '          - "(12|twelve) days"\n',
            '          - "(12|twelve days"\n',
            '          - "(12|twelve days"',
            "missing",
        ),
        (
            '          - "(12|twelve) days"\n',
            '          - "@no-such-class days"\n',
            '          - "@no-such-class days"',
            "no-such-class",
        ),
        (
            "      - id: inside-window\n",
            "      - id: thirty-days\n",
            "      - id: thirty-days",
            "'thirty-days' clashes with a concept of 'cra-reject-window'",
        ),
    ],
    ids=["bad-pattern", "unknown-lexicon-class", "id-clash"],
)
def test_bad_applied_concepts_fail_at_load_with_file_and_line(  # noqa: PLR0917  # parametrized
    kb: KnowledgeBase, applied: Path, old: str, new: str, needle: str, message: str
) -> None:
    path = edit(applied, old, new)
    with pytest.raises(ContentError, match=message) as caught:
        load_scenarios(kb, applied)
    assert caught.value.path == path
    assert caught.value.line == line_of(path, needle)


def test_applied_on_an_inline_step_is_refused(kb: KnowledgeBase, folder: Path) -> None:
    path = edit(
        folder,
        "    ask:\n      type: single\n",
        "    applied:\n      - {id: x, label: x, patterns: [x]}\n    ask:\n      type: single\n",
    )
    with pytest.raises(ContentError, match="'applied' is only for a step that reuses a bank"):
        load_scenarios(kb, folder)
    with pytest.raises(ContentError) as caught:
        load_scenarios(kb, folder)
    assert caught.value.path == path
    assert caught.value.line is not None


def test_applied_on_a_choice_bank_question_is_refused(kb: KnowledgeBase, applied: Path) -> None:
    path = edit(applied, "    question: cra-reject-window\n", "    question: cra-repair-failed\n")
    with pytest.raises(ContentError, match="needs a free-text bank question") as caught:
        load_scenarios(kb, applied)
    assert caught.value.path == path
    assert caught.value.line == line_of(path, "      - id: inside-window")


def test_a_model_answer_without_applied_is_refused(kb: KnowledgeBase, folder: Path) -> None:
    edit(
        folder,
        REFUND_STEP,
        REFUND_STEP + '    model_answer: "30 days (CRA 2015 s.22(3))."\n',
    )
    with pytest.raises(ContentError, match="'model_answer' needs 'applied'"):
        load_scenarios(kb, folder)


def test_coach_grade_marks_a_step_with_its_applied_concepts(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    source = tmp_path / "answers.jsonl"
    lines = [
        {"question_id": "online-shoes-cancellation/period", "answer": "14 days."},
        {
            "question_id": "online-shoes-cancellation/period",
            "answer": "Yes, 14 days from the day after delivery, and you're six days in.",
        },
        {"question_id": "ccr-cancel-online", "answer": "14 days."},
    ]
    source.write_text("\n".join(json.dumps(line) for line in lines) + "\n", encoding="utf-8")
    assert main(["grade", str(source)]) == 0
    results = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [r["verdict"] for r in results] == ["partial", "correct", "correct"]
    assert [r.get("question_id") for r in results][:1] == ["online-shoes-cancellation/period"]


def test_an_empty_applied_list_is_refused(kb: KnowledgeBase, folder: Path) -> None:
    path = edit(folder, REFUND_STEP, REFUND_STEP + "    applied: []\n")
    with pytest.raises(ContentError, match="at least 1 item") as caught:
        load_scenarios(kb, folder)
    assert caught.value.line == line_of(path, "    applied: []")
