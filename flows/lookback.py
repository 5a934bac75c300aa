"""Looking back in a scenario run: a step answered earlier, with what the learner answered and
how it was marked, read from the session and the answer log. Nothing here writes anything.

The path a run took is the session's `results` (one per step closed, in order), not the
scenario's order of steps: with branches, the step before "record" is "refund" in one run and
"repair" in another. Each result counts the answers given at its step (`attempts`: every try,
and a skip after wrong tries counts those tries), so the run's answers are the last
`sum(attempts)` scenario answers to this scenario in the log, and they divide among the
results in order. A step visited twice in a run keeps its two visits apart that way too.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from flows.loader import ScenarioContent
from flows.ports import AnswerRecord, StepResult
from knowledge.choices import read_choice
from knowledge.marking import Answer, mark
from knowledge.models import AnyQuestion, ChoiceQuestion


@dataclass(frozen=True)
class AnsweredStep:
    """One step closed earlier in the run, as the learner met it."""

    number: int
    """Its place in the run (1 for the first step answered)."""
    result: StepResult
    answers: tuple[AnswerRecord, ...]
    """The run's answers at this step, oldest first (none for a step skipped at once)."""
    feedback: str | None
    """The marker's feedback on the last answer, or None (see `feedback_for`)."""


def run_answers(
    results: Sequence[StepResult], answers: Sequence[AnswerRecord], scenario_id: str
) -> list[tuple[AnswerRecord, ...]] | None:
    """The answers given at each closed step of the run, in the order of `results`; None when
    the log does not match the run (answers erased, or stored by an older version)."""
    given = [a for a in answers if a.source == "scenario" and a.scenario_id == scenario_id]
    wanted = sum(result.attempts for result in results)
    if wanted > len(given):
        return None
    run = given[len(given) - wanted :]
    per_step: list[tuple[AnswerRecord, ...]] = []
    start = 0
    for result in results:
        mine = tuple(run[start : start + result.attempts])
        start += result.attempts
        if any(answer.step != result.step for answer in mine):
            return None
        per_step.append(mine)
    return per_step


def feedback_for(
    content: ScenarioContent, step: str, facts: Mapping[str, str], answer: AnswerRecord
) -> str | None:
    """The marker's feedback on a stored answer, to show it again: marking is a pure function,
    so the same answer to the same question gets the same words. None when the marker today
    would not give the stored outcome (the content changed, or a tutor's decision stands):
    the stored mark is what counts, and words that disagree with it would mislead."""
    question = content.question_for(step)
    verdict = mark(question, _as_given(question, answer.answer), content.case_context(step, facts))
    return verdict.feedback if verdict.outcome == answer.outcome else None


def _as_given(question: AnyQuestion, stored: str) -> Answer:
    """A single choice is marked by the option's index (the log keeps the option's text, or
    what was typed, which read the same way when it was marked)."""
    if isinstance(question, ChoiceQuestion) and question.type == "single":
        reading = read_choice(question, stored)
        if reading.problem is None and len(reading.picked) == 1:
            return reading.picked[0]
    return stored


def answered_step(
    content: ScenarioContent,
    results: Sequence[StepResult],
    answers: Sequence[AnswerRecord],
    facts: Mapping[str, str],
    back: int,
) -> AnsweredStep | None:
    """The step answered `back` steps before the current one (1: the last answered), or None
    when there is no such step in the run or it is no longer in the scenario."""
    if not 1 <= back <= len(results):
        return None
    index = len(results) - back
    result = results[index]
    if result.step not in content.questions:
        return None
    per_step = run_answers(results, answers, content.scenario.id)
    given = per_step[index] if per_step is not None else ()
    feedback = feedback_for(content, result.step, facts, given[-1]) if given else None
    return AnsweredStep(index + 1, result, given, feedback)
