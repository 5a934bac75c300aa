"""ReportStore: every progress query on a seeded database.

One contract over every ReportStore (tutoring/ports.py): the in-memory fake and SQLite behave the
same (rule 9)."""

from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest

from flows.ports import ProgressStore
from storage import MemoryProgressStore
from storage.memory_reports import MemoryReportStore
from storage.memory_staff import MemoryStaffStore
from storage.reports import Counts, LearnerSummary, ReportStore, SqliteReportStore, TopicStat
from storage.staff import SqliteStaffStore
from tests.storage.conftest import SQL_DATABASES, sql_progress
from tests.storage.reports_seed import (
    ALICE,
    BOB,
    CARA,
    DAN,
    FORMULA,
    NOW,
    SCRIPT,
    SetClock,
    fill,
)
from tutoring.ports import Cohort


@dataclass(frozen=True)
class Seeded:
    progress: ProgressStore
    reports: ReportStore
    tuesday: Cohort
    other: Cohort


@pytest.fixture(params=["memory", *SQL_DATABASES])
async def seeded(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Seeded]:
    if request.param == "memory":
        clock = SetClock()
        progress = MemoryProgressStore(clock=clock)
        staff = MemoryStaffStore(progress, clock=clock)
        tuesday, other = await fill(progress, staff, clock)
        yield Seeded(progress, MemoryReportStore(progress, staff), tuesday, other)
        return
    clock = SetClock()
    async with sql_progress(request.param, tmp_path / "reports.db", clock) as store:
        tuesday, other = await fill(store, SqliteStaffStore(store.database, clock=clock), clock)
        yield Seeded(store, SqliteReportStore(store.database), tuesday, other)


@pytest.fixture
def reports(seeded: Seeded) -> ReportStore:
    return seeded.reports


async def test_summaries_of_everyone_are_sorted_by_name(reports: ReportStore) -> None:
    rows = await reports.learner_summaries()
    assert [row.learner_id for row in rows] == [ALICE, BOB, CARA]
    alice, bob, cara = rows
    assert alice == LearnerSummary(
        learner_id=ALICE,
        display_name="Alice Able",
        username="alice",
        last_active=NOW - timedelta(hours=1),
        scenarios_completed=2,  # the kettle twice and the washing machine once
        answers=5,
        correct=4,
        criteria_met=frozenset({"POST:P2", "Y/504/6243:1.2", "Y/504/6243:1.3", "A/500/7158:2.2"}),
    )
    assert alice.accuracy == pytest.approx(0.8)
    assert (bob.answers, bob.correct, bob.accuracy, bob.criteria_met) == (2, 0, 0.0, frozenset())
    assert bob.display_name == "Bob <b>Bold</b>"
    assert (cara.answers, cara.accuracy, cara.username) == (0, None, None)
    assert cara.last_active == NOW - timedelta(days=30)


async def test_cohort_filter_keeps_members_only(reports: ReportStore, seeded: Seeded) -> None:
    tuesday = await reports.learner_summaries(seeded.tuesday.id)
    # Dan joined by link but never used the bot: listed, with no name and no activity.
    assert [row.learner_id for row in tuesday] == [DAN, ALICE, BOB]
    dan = tuesday[0]
    assert (dan.display_name, dan.username, dan.last_active, dan.answers) == ("", None, None, 0)
    assert dan.accuracy is None
    assert [r.learner_id for r in await reports.learner_summaries(seeded.other.id)] == [CARA]
    assert await reports.learner_summaries(cohort_id=9999) == []


async def test_one_learners_summary(reports: ReportStore) -> None:
    bob = await reports.learner_summary(BOB)
    assert bob is not None
    assert bob.learner_id == BOB
    assert await reports.learner_summary(DAN) is None  # no learners row yet


async def test_learner_detail_has_runs_oldest_first_and_answers_newest_first(
    reports: ReportStore,
) -> None:
    detail = await reports.learner_detail(ALICE)
    assert detail is not None
    assert detail.learner.learner_id == ALICE
    assert [(r.scenario_id, r.score) for r in detail.runs] == [
        ("faulty-kettle-refund", 0.6),
        ("faulty-kettle-refund", 0.9),
        ("washing-machine-repair", 0.75),
    ]
    assert [a.question_id for a in detail.answers] == [
        "kettle-remedy",
        "quiz-30-days",
        "dp-log",
        "kettle-remedy",
        "kettle-check",
    ]
    newest = detail.answers[0]
    assert (newest.answer, newest.outcome, newest.score) == ("a full refund", "correct", 1.0)
    assert newest.criteria == ("POST:P2", "Y/504/6243:1.2")
    assert (newest.scenario_id, newest.step, newest.source) == (
        "faulty-kettle-refund",
        "check",
        "scenario",
    )
    assert newest.created_at == NOW - timedelta(hours=1)
    quiz = detail.answers[1]
    assert (quiz.source, quiz.scenario_id, quiz.step) == ("quiz", None, None)
    # Offsets survive the round trip (the instant is what matters).
    assert quiz.created_at == datetime(2025, 3, 10, 0, 30, tzinfo=UTC)
    assert await reports.learner_detail(4242) is None


async def test_answers_of_a_set_of_learners(reports: ReportStore) -> None:
    answers = await reports.answers_of({BOB, ALICE, 4242})
    assert [a.learner_id for a in answers] == [ALICE] * 5 + [BOB] * 2
    assert [a.answer for a in answers[-2:]] == [SCRIPT, FORMULA]
    assert answers[0].question_id == "kettle-check"  # oldest first within a learner
    assert await reports.answers_of([]) == []
    # The set goes in as one JSON parameter: no limit on host parameters.
    assert len(await reports.answers_of(range(5000))) == 7


async def test_evidence_rows_per_answer_and_criterion(reports: ReportStore) -> None:
    rows = await reports.evidence([ALICE])
    assert [(r.question_id, r.criterion) for r in rows] == [
        ("kettle-check", "POST:P2"),
        ("kettle-remedy", "POST:P2"),
        ("kettle-remedy", "Y/504/6243:1.2"),
        ("dp-log", "Y/504/6243:1.3"),
        ("dp-log", "A/500/7158:2.2"),
        ("quiz-30-days", "POST:P2"),
        ("kettle-remedy", "POST:P2"),
        ("kettle-remedy", "Y/504/6243:1.2"),
    ]
    dp = rows[3]
    assert (dp.learner_id, dp.source, dp.scenario_id, dp.step) == (
        ALICE,
        "scenario",
        "subject-access-erasure",
        "record",
    )
    assert (dp.answer, dp.outcome, dp.score) == ("log the request in the CRM", "correct", 1.0)
    assert {r.learner_id for r in await reports.evidence([ALICE, BOB, CARA])} == {ALICE, BOB}


async def test_topic_accuracy(reports: ReportStore) -> None:
    assert await reports.topic_accuracy() == [
        TopicStat("data-protection", 1, 1),
        TopicStat("goods", 6, 3),
    ]
    [bob] = await reports.topic_accuracy([BOB])
    assert (bob.topic, bob.answers, bob.correct, bob.accuracy) == ("goods", 2, 0, 0.0)
    assert await reports.topic_accuracy([CARA]) == []
    assert TopicStat("goods", 0, 0).accuracy == 0.0


async def test_counts_use_utc_days_and_offsets(reports: ReportStore) -> None:
    # Today (UTC) holds the quiz answer (23:30 at -01:00 yesterday) and the latest kettle answer;
    # the 00:30 at +01:00 answer was 23:30 UTC yesterday.
    assert await reports.counts(NOW) == Counts(
        learners=3,
        active_7_days=2,
        answers_today=2,
        answers_total=7,
        runs_total=3,
        pushes_pending=0,
    )
    later = await reports.counts(NOW + timedelta(days=5))
    assert (later.active_7_days, later.answers_today) == (1, 0)
    # The same instant in another offset gives the same counts.
    assert await reports.counts(
        NOW.astimezone(timezone(timedelta(hours=5)))
    ) == await reports.counts(NOW)


async def test_counts_refuse_a_naive_now(reports: ReportStore) -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        await reports.counts(datetime(2025, 3, 10, 12, 0))  # noqa: DTZ001


async def test_criterion_counts_are_kept_as_answers_come_and_go(
    reports: ReportStore, seeded: Seeded
) -> None:
    counts = await reports.criterion_counts([ALICE, BOB, CARA])
    assert counts == {
        ALICE: {"POST:P2": 3, "Y/504/6243:1.2": 2, "Y/504/6243:1.3": 1, "A/500/7158:2.2": 1}
    }
    await seeded.progress.forget_learner(ALICE)
    assert await reports.criterion_counts([ALICE]) == {}
    assert await reports.learner_summary(ALICE) is None
    bob = await reports.learner_summary(BOB)
    assert bob is not None
    assert (bob.answers, bob.correct) == (2, 0)
