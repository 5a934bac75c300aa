"""Scenario machines: compiled once, turns attached only while one input is handled."""

import pytest

from flows.loader import ScenarioContent
from flows.machine import ScenarioMachine, Turn, mermaid_diagram


@pytest.fixture
def content(test_scenarios: dict[str, ScenarioContent]) -> ScenarioContent:
    return test_scenarios["test-kettle"]


def turn(
    content: ScenarioContent, answer: str = "", choice: int | None = None, **facts: str
) -> Turn:
    return Turn(scenario=content, facts=dict(facts), answer=answer, choice=choice)


async def test_correct_answer_moves_on_and_detaches(content: ScenarioContent) -> None:
    machine = ScenarioMachine(content)
    t = turn(content, "I'm so sorry, I understand how frustrating that is. Let me sort it out.")
    assert await machine.fire(t, "greet", "answer_given") == "check"
    assert [e.kind for e in t.events] == ["correct", "step"]
    assert t.results[0].outcome == "correct"
    assert t.results[0].score == 1.0
    assert machine.attached == 0


@pytest.mark.parametrize(("within", "expected"), [("yes", "refund"), ("no", "repair")])
async def test_branches_follow_the_case_facts(
    content: ScenarioContent, within: str, expected: str
) -> None:
    machine = ScenarioMachine(content)
    t = turn(content, choice=0, within_30_days=within)
    assert await machine.fire(t, "check", "answer_given") == expected


async def test_wrong_answers_retry_then_reveal_on_the_third(content: ScenarioContent) -> None:
    machine = ScenarioMachine(content)
    state = "refund"
    attempts = 0
    for expected_state in ("refund", "refund", "record"):
        t = turn(content, "14 days")
        t.attempts = attempts
        state = await machine.fire(t, state, "answer_given")
        attempts = t.attempts
        assert state == expected_state
    assert t.results[-1].outcome == "revealed"
    assert t.results[-1].attempts == 3


async def test_partial_answer_stays_on_the_step(content: ScenarioContent) -> None:
    machine = ScenarioMachine(content)
    t = turn(content, "Mrs Patel, kettle")
    assert await machine.fire(t, "record", "answer_given") == "record"
    assert t.verdict is not None
    assert t.verdict.outcome == "partial"
    assert t.attempts == 1


async def test_skip_records_and_moves_on(content: ScenarioContent) -> None:
    machine = ScenarioMachine(content)
    t = turn(content)
    assert await machine.fire(t, "record", "skip_step") == "debrief"
    assert t.results[-1].outcome == "skipped"
    assert [e.kind for e in t.events] == ["skipped", "debrief"]


async def test_many_turns_share_one_machine(content: ScenarioContent) -> None:
    machine = ScenarioMachine(content)
    for _ in range(50):
        await machine.fire(turn(content, "30 days"), "refund", "answer_given")
    assert machine.attached == 0


def test_mermaid_diagram_comes_from_the_same_definition(content: ScenarioContent) -> None:
    diagram = mermaid_diagram(content)
    assert diagram.splitlines()[0] == "---"
    assert "stateDiagram-v2" in diagram
    assert "check --> refund: answer_given [passed & when_within_30_days_is_yes]" in diagram
    assert "record --> debrief" in diagram
