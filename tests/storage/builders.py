"""Record builders and a ticking clock shared by the storage tests."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

from flows.ports import (
    AnswerRecord,
    Commit,
    LearnerProfile,
    QuizProgress,
    ScenarioRun,
    SessionSnapshot,
    StepResult,
)

T0 = datetime(2025, 3, 1, 9, 0, tzinfo=UTC)


class TickClock:
    """Each reading is one second after the last, so first_seen and last_active differ."""

    def __init__(self) -> None:
        self.ticks = 0

    def __call__(self) -> datetime:
        self.ticks += 1
        return T0 + timedelta(seconds=self.ticks - 1)


def profile(learner_id: int) -> LearnerProfile:
    return LearnerProfile(
        learner_id=learner_id, display_name=f"Learner {learner_id}", username=f"l{learner_id}"
    )


def snapshot(learner_id: int, version: int, state: str = "greeting") -> SessionSnapshot:
    # A non-UTC offset and every optional part filled: the round trip must keep them all.
    return SessionSnapshot(
        learner_id=learner_id,
        scenario_id="refund-basic",
        state=state,
        attempts=version % 3,
        results=(
            StepResult(
                step="ask_reason",
                question_id="q-refund-30",
                outcome="partial",
                score=0.5,
                attempts=2,
            ),
        ),
        quiz=QuizProgress(quiz_id="core", remaining=("q2", "q3"), current="q1", asked=1),
        facts=(("within_30_days", "yes"),),
        version=version,
        updated_at=datetime(2025, 3, 1, 10, version % 60, tzinfo=timezone(timedelta(hours=1))),
    )


def answer(learner_id: int, n: int) -> AnswerRecord:
    return AnswerRecord(
        learner_id=learner_id,
        question_id=f"q{n}",
        answer=f"answer number {n}; with 'quotes' and ünïcode",
        outcome="correct" if n % 2 else "incorrect",
        score=1.0 if n % 2 else 0.25,
        criteria=("names the right", f"criterion {n}"),
        topic="refunds",
        scenario_id="refund-basic",
        step=f"step{n}",
        source="scenario",
        created_at=T0 + timedelta(minutes=n),
    )


def run(learner_id: int, n: int) -> ScenarioRun:
    return ScenarioRun(
        learner_id=learner_id,
        scenario_id=f"scenario-{n}",
        score=0.75,
        results=(
            StepResult(step="open", question_id=None, outcome="correct", score=1.0, attempts=1),
            StepResult(step="close", question_id="q9", outcome="skipped", score=0.0, attempts=0),
        ),
        finished_at=T0 + timedelta(hours=n),
    )


def commit(
    learner_id: int,
    version: int | None,
    *,
    key: str | None = None,
    answers: tuple[int, ...] = (),
    finished: int | None = None,
) -> Commit:
    """A commit for one learner; `version=None` carries no session."""
    return Commit(
        learner=profile(learner_id),
        session=snapshot(learner_id, version) if version is not None else None,
        answers=tuple(answer(learner_id, n) for n in answers),
        finished_run=run(learner_id, finished) if finished is not None else None,
        update_key=key,
    )
