"""Quiz pushes and deliveries: scheduling, cancelling, at-most-once claims, crash recovery.

One contract over every PushStore (tutoring/ports.py): the in-memory fake and SQLite behave the
same (rule 9)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import pytest

from flows.ports import Commit, ProgressStore
from storage import MemoryProgressStore
from storage.memory_pushes import MemoryPushStore
from storage.memory_staff import MemoryStaffStore
from storage.pushes import UNCONFIRMED, SqlitePushStore
from storage.staff import SqliteStaffStore
from tests.storage.builders import T0, TickClock, answer, profile
from tests.storage.conftest import SQL_DATABASES, sql_progress
from tutoring.ports import Cohort, PushStore, StaffStore, Tally

TUTOR = 50


@dataclass
class World:
    progress: ProgressStore
    pushes: PushStore
    staff: StaffStore


@pytest.fixture(params=["memory", *SQL_DATABASES])
async def world(
    request: pytest.FixtureRequest, tmp_path: Path, clock: TickClock
) -> AsyncIterator[World]:
    if request.param == "memory":
        progress = MemoryProgressStore(clock=clock)
        pushes = MemoryPushStore(progress, clock=clock)
        yield World(progress, pushes, MemoryStaffStore(progress, clock=clock))
        return
    async with sql_progress(request.param, tmp_path / "coach.db", clock) as store:
        database = store.database
        staff = SqliteStaffStore(database, clock=clock)
        yield World(store, SqlitePushStore(database, clock=clock), staff)


@pytest.fixture
def pushes(world: World) -> PushStore:
    return world.pushes


@pytest.fixture
async def cohort(world: World) -> Cohort:
    return await world.staff.create_cohort(TUTOR, "Tuesday")


async def test_a_push_is_created_scheduled_and_read_back(
    pushes: PushStore, cohort: Cohort
) -> None:
    push = await pushes.create(TUTOR, cohort.id, "data-protection", T0 + timedelta(hours=1))
    assert push.status == "scheduled"
    assert push.send_at == T0 + timedelta(hours=1)
    assert (push.tutor_id, push.cohort_id, push.quiz_id) == (TUTOR, cohort.id, "data-protection")
    assert await pushes.get(push.id) == push
    assert await pushes.get(push.id + 1) is None
    assert await pushes.unfinished() == [push]


async def test_naive_times_are_refused(pushes: PushStore, cohort: Cohort) -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        await pushes.create(TUTOR, cohort.id, "q", T0.replace(tzinfo=None))


async def test_only_a_scheduled_push_can_be_cancelled(pushes: PushStore, cohort: Cohort) -> None:
    later = await pushes.create(TUTOR, cohort.id, "data-protection", T0 + timedelta(hours=1))
    started = await pushes.create(TUTOR, cohort.id, "online-returns", T0)
    assert await pushes.begin(started.id, [1, 2], late=False)

    assert await pushes.cancel(later.id) is True
    assert await pushes.cancel(later.id) is False  # already cancelled
    assert await pushes.cancel(started.id) is False
    assert await pushes.begin(later.id, [1], late=False) is False  # its job fires anyway
    assert await pushes.deliveries(later.id) == []
    assert [p.id for p in await pushes.unfinished()] == [started.id]


async def test_begin_creates_one_pending_delivery_per_learner(
    pushes: PushStore, cohort: Cohort
) -> None:
    push = await pushes.create(TUTOR, cohort.id, "data-protection", T0)
    assert await pushes.begin(push.id, [3, 1, 2, 1], late=True)
    assert await pushes.begin(push.id, [4], late=True) is False  # begins once

    started = await pushes.get(push.id)
    assert started is not None
    assert (started.status, started.late) == ("sending", True)
    assert await pushes.pending(push.id) == [1, 2, 3]


async def test_a_claim_is_granted_once(pushes: PushStore, cohort: Cohort) -> None:
    push = await pushes.create(TUTOR, cohort.id, "data-protection", T0)
    await pushes.begin(push.id, [1, 2], late=False)

    assert await pushes.claim(push.id, 1) is True
    assert await pushes.claim(push.id, 1) is False
    await pushes.mark_sent(push.id, 1, message_id=77, poll_id="p9")
    assert await pushes.claim(push.id, 1) is False
    assert await pushes.pending(push.id) == [2]

    [first, second] = await pushes.deliveries(push.id)
    assert (first.status, first.attempts, first.message_id, first.poll_id) == ("sent", 1, 77, "p9")
    assert (second.status, second.attempts) == ("pending", 0)


async def test_an_interrupted_delivery_is_sent_again(pushes: PushStore, cohort: Cohort) -> None:
    push = await pushes.create(TUTOR, cohort.id, "data-protection", T0)
    await pushes.begin(push.id, [1, 2, 3], late=False)
    await pushes.claim(push.id, 1)
    await pushes.mark_sent(push.id, 1, 10, None)
    await pushes.claim(push.id, 2)  # the bot stops here, mid-send

    assert await pushes.unconfirmed_again(push.id) == 1
    assert await pushes.unconfirmed_again(push.id) == 0
    statuses = {d.learner_id: (d.status, d.reason) for d in await pushes.deliveries(push.id)}
    assert statuses == {1: ("sent", None), 2: ("pending", UNCONFIRMED), 3: ("pending", None)}
    assert await pushes.pending(push.id) == [2, 3]
    assert await pushes.claim(push.id, 2) is True
    [_, second, _] = await pushes.deliveries(push.id)
    assert second.attempts == 2


async def test_a_finished_push_reopens_for_chosen_learners(
    pushes: PushStore, cohort: Cohort
) -> None:
    push = await pushes.create(TUTOR, cohort.id, "data-protection", T0)
    await pushes.begin(push.id, [1, 2, 3], late=False)
    for learner in (1, 2):
        await pushes.claim(push.id, learner)
        await pushes.mark_sent(push.id, learner, learner, None)
    await pushes.claim(push.id, 3)
    await pushes.mark_failed(push.id, 3, "Forbidden: bot was blocked by the user")
    assert await pushes.reopen(push.id, [2, 3]) == 0  # still sending: nothing to reopen
    await pushes.finish(push.id)

    assert await pushes.reopen(push.id, [2, 3]) == 2
    reopened = await pushes.get(push.id)
    assert reopened is not None
    assert (reopened.status, reopened.finished_at) == ("sending", None)
    assert await pushes.pending(push.id) == [2, 3]
    assert await pushes.claim(push.id, 2) is True
    [*_, third] = await pushes.deliveries(push.id)
    assert (third.status, third.reason) == ("pending", None)


async def test_a_push_whose_quiz_is_gone_fails_with_a_note(
    pushes: PushStore, cohort: Cohort
) -> None:
    push = await pushes.create(TUTOR, cohort.id, "retired-quiz", T0)
    await pushes.fail(push.id, "the quiz is no longer in the content")
    failed = await pushes.get(push.id)
    assert failed is not None
    assert (failed.status, failed.note) == ("failed", "the quiz is no longer in the content")
    assert await pushes.unfinished() == []


async def test_report_answers_are_each_learners_first_per_question(
    world: World, pushes: PushStore, cohort: Cohort
) -> None:
    push = await pushes.create(TUTOR, cohort.id, "data-protection", T0)

    def pushed(learner: int, n: int, push_id: int | None) -> Commit:
        record = answer(learner, n).model_copy(
            update={"question_id": "dp-q1", "source": "push", "push_id": push_id}
        )
        return Commit(learner=profile(learner), answers=(record,))

    await world.progress.apply(pushed(1, 1, push.id))  # correct
    await world.progress.apply(pushed(1, 2, push.id))  # a second go does not count
    await world.progress.apply(pushed(2, 2, push.id))  # incorrect
    await world.progress.apply(pushed(3, 1, None))  # the same question in a self-chosen quiz
    found = [(a.learner_id, a.question_id, a.outcome) for a in await pushes.answers(push.id)]
    assert found == [(1, "dp-q1", "correct"), (2, "dp-q1", "incorrect")]

    await pushes.begin(push.id, [1, 2, 3], late=False)
    await pushes.claim(push.id, 1)
    await pushes.mark_sent(push.id, 1, 7, None)
    assert await pushes.tallies([push.id, push.id + 1]) == {push.id: Tally(1, 3, 2)}


async def test_recent_lists_scheduled_first_and_only_visible_cohorts(
    world: World, pushes: PushStore, cohort: Cohort
) -> None:
    other = await world.staff.create_cohort(TUTOR + 1, "Other")
    sent = await pushes.create(TUTOR, cohort.id, "data-protection", T0 + timedelta(hours=2))
    await pushes.begin(sent.id, [], late=False)
    await pushes.finish(sent.id)
    scheduled = await pushes.create(TUTOR, cohort.id, "online-returns", T0 + timedelta(hours=1))
    theirs = await pushes.create(TUTOR + 1, other.id, "online-returns", T0)

    assert [p.id for p in await pushes.recent([cohort.id])] == [scheduled.id, sent.id]
    assert [p.id for p in await pushes.recent(None)] == [scheduled.id, theirs.id, sent.id]
    assert await pushes.recent([]) == []
    assert [p.id for p in await pushes.recent(None, limit=1)] == [scheduled.id]


async def test_a_double_tap_finds_the_push_just_made(pushes: PushStore, cohort: Cohort) -> None:
    push = await pushes.create(TUTOR, cohort.id, "data-protection", T0)
    since = push.created_at - timedelta(seconds=30)
    assert await pushes.similar_recent(TUTOR, cohort.id, "data-protection", since) == push
    assert await pushes.similar_recent(TUTOR, cohort.id, "online-returns", since) is None
    await pushes.cancel(push.id)
    assert await pushes.similar_recent(TUTOR, cohort.id, "data-protection", since) is None


async def test_forgetting_a_learner_removes_their_deliveries(
    world: World, pushes: PushStore, cohort: Cohort
) -> None:
    push = await pushes.create(TUTOR, cohort.id, "data-protection", T0)
    await pushes.begin(push.id, [1, 2], late=False)
    await world.progress.forget_learner(1)
    assert [d.learner_id for d in await pushes.deliveries(push.id)] == [2]
