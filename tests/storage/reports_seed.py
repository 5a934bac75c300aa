"""A small seeded database for the progress-report tests, built through the public store API."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

from flows.ports import (
    AnswerRecord,
    Commit,
    LearnerProfile,
    Outcome,
    ProgressStore,
    ScenarioRun,
    SessionSnapshot,
    StepResult,
)
from storage.sqlite import SqliteProgressStore
from storage.staff import Cohort, SqliteStaffStore, StaffStore

NOW = datetime(2025, 3, 10, 12, 0, tzinfo=UTC)
TUTOR = 900

ALICE = 1  # busy: scenarios, a quiz, correct and wrong answers, a practice criterion
BOB = 2  # hostile text in his answers and name
CARA = 3  # used the bot long ago, never answered; in the other cohort
DAN = 4  # joined the cohort by link but never used the bot

SCRIPT = "<script>alert('x')</script> refund & \"exchange\""
FORMULA = '=HYPERLINK("http://evil", "click")'


class SetClock:
    """The store's clock: whatever `now` is set to (it stamps learners' last_active)."""

    def __init__(self) -> None:
        self.now = NOW

    def __call__(self) -> datetime:
        return self.now


@dataclass(frozen=True)
class Seeded:
    store: SqliteProgressStore
    staff: StaffStore
    tuesday: Cohort
    other: Cohort


def answer(
    learner_id: int,
    question_id: str,
    outcome: Outcome,
    criteria: tuple[str, ...],
    created_at: datetime,
    *,
    text: str = "offer a refund",
    topic: str = "goods",
    scenario_id: str | None = "faulty-kettle-refund",
    step: str | None = "check",
    source: str = "scenario",
) -> AnswerRecord:
    return AnswerRecord.model_validate(
        {
            "learner_id": learner_id,
            "question_id": question_id,
            "answer": text,
            "outcome": outcome,
            "score": {"correct": 1.0, "partial": 0.5}.get(outcome, 0.0),
            "criteria": criteria,
            "topic": topic,
            "scenario_id": scenario_id,
            "step": step,
            "source": source,
            "created_at": created_at,
        }
    )


def run(learner_id: int, scenario_id: str, score: float, finished_at: datetime) -> ScenarioRun:
    return ScenarioRun(
        learner_id=learner_id,
        scenario_id=scenario_id,
        score=score,
        results=(
            StepResult(step="check", question_id="q", outcome="correct", score=1.0, attempts=1),
        ),
        finished_at=finished_at,
    )


async def seed(path: Path) -> Seeded:
    """Open a store at `path` and fill it; the caller closes it."""
    clock = SetClock()
    store = await SqliteProgressStore.open(path, clock=clock)
    staff = SqliteStaffStore(store.database, clock=clock)
    tuesday, other = await fill(store, staff, clock)
    return Seeded(store, staff, tuesday, other)


async def fill(store: ProgressStore, staff: StaffStore, clock: SetClock) -> tuple[Cohort, Cohort]:
    """Fill stores built with `clock`; the cohorts Tuesday and Other."""
    day = timedelta(days=1)

    alice = LearnerProfile(learner_id=ALICE, display_name="Alice Able", username="alice")
    clock.now = NOW - timedelta(hours=1)
    await store.apply(
        Commit(
            learner=alice,
            session=SessionSnapshot(learner_id=ALICE, version=1, updated_at=clock.now),
            answers=(
                answer(ALICE, "kettle-check", "incorrect", ("POST:P2",), NOW - 2 * day),
                answer(
                    ALICE,
                    "kettle-remedy",
                    "correct",
                    ("POST:P2", "Y/504/6243:1.2"),
                    NOW - 2 * day + timedelta(minutes=5),
                ),
            ),
            finished_run=run(ALICE, "faulty-kettle-refund", 0.6, NOW - 2 * day),
        )
    )
    await store.apply(
        Commit(
            learner=alice,
            answers=(
                # 00:30 at +01:00 is 23:30 UTC yesterday: not "today" in UTC.
                answer(
                    ALICE,
                    "dp-log",
                    "correct",
                    ("Y/504/6243:1.3", "A/500/7158:2.2"),
                    datetime(2025, 3, 10, 0, 30, tzinfo=timezone(timedelta(hours=1))),
                    text="log the request in the CRM",
                    topic="data-protection",
                    scenario_id="subject-access-erasure",
                    step="record",
                ),
                # 23:30 at -01:00 the day before is 00:30 UTC today.
                answer(
                    ALICE,
                    "quiz-30-days",
                    "correct",
                    ("POST:P2",),
                    datetime(2025, 3, 9, 23, 30, tzinfo=timezone(timedelta(hours=-1))),
                    text="30 days",
                    scenario_id=None,
                    step=None,
                    source="quiz",
                ),
                answer(
                    ALICE,
                    "kettle-remedy",
                    "correct",
                    ("POST:P2", "Y/504/6243:1.2"),
                    NOW - timedelta(hours=1),
                    text="a full refund",
                ),
            ),
            finished_run=run(ALICE, "faulty-kettle-refund", 0.9, NOW - timedelta(hours=1)),
        )
    )
    await store.apply(
        Commit(
            learner=alice,
            finished_run=run(ALICE, "washing-machine-repair", 0.75, NOW - timedelta(minutes=30)),
        )
    )

    clock.now = NOW - 3 * day
    bob = LearnerProfile(learner_id=BOB, display_name="Bob <b>Bold</b>", username="bob")
    await store.apply(
        Commit(
            learner=bob,
            answers=(
                answer(BOB, "kettle-ack", "incorrect", ("POST:P1",), clock.now, text=SCRIPT),
                answer(
                    BOB,
                    "kettle-check",
                    "partial",
                    ("POST:P2",),
                    clock.now + timedelta(minutes=1),
                    text=FORMULA,
                ),
            ),
        )
    )

    clock.now = NOW - 30 * day
    await store.apply(Commit(learner=LearnerProfile(learner_id=CARA, display_name="Cara")))

    clock.now = NOW
    tuesday = await staff.create_cohort(TUTOR, "Tuesday")
    other = await staff.create_cohort(TUTOR, "Other")
    for learner_id in (ALICE, BOB, DAN):
        await staff.join(tuesday, learner_id)
    await staff.join(other, CARA)
    return tuesday, other
