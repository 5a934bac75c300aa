"""One contract for the review queue: the in-memory fake and SQLite behave the same (rule 9)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import pytest

from flows.ports import Commit, ProgressStore
from storage import MemoryProgressStore
from storage.memory_reviews import MemoryReviewStore
from storage.reviews import SqliteReviewStore
from storage.staff import SqliteStaffStore
from tests.storage.builders import T0, TickClock, answer, profile
from tests.storage.conftest import SQL_DATABASES, sql_progress
from tutoring.ports import CohortRef, ReviewStore, Role

TUTOR = 100
OTHER_TUTOR = 101
ADMIN = 102
LATER = T0 + timedelta(days=1)


@dataclass
class World:
    progress: ProgressStore
    reviews: ReviewStore
    grant: Callable[[int, Role], Awaitable[None]]
    cohort: Callable[[int, str, set[int]], Awaitable[CohortRef]]


@pytest.fixture(params=["memory", *SQL_DATABASES])
async def world(
    request: pytest.FixtureRequest, tmp_path: Path, clock: TickClock
) -> AsyncIterator[World]:
    if request.param == "memory":
        progress = MemoryProgressStore(clock=clock)
        fake = MemoryReviewStore(progress)

        async def grant_memory(user_id: int, role: Role) -> None:
            fake.grant(user_id, role)

        async def cohort_memory(owner: int, name: str, members: set[int]) -> CohortRef:
            return fake.add_cohort(owner, name, members)

        fake.grant(ADMIN, "admin")
        yield World(progress, fake, grant_memory, cohort_memory)
        return
    async with sql_progress(request.param, tmp_path / "coach.db", clock) as sqlite_store:
        staff = SqliteStaffStore(sqlite_store.database, admin_ids=(ADMIN,))

        async def grant_sqlite(user_id: int, role: Role) -> None:
            assert role != "learner"
            await staff.grant(user_id, role, by=ADMIN)

        async def cohort_sqlite(owner: int, name: str, members: set[int]) -> CohortRef:
            cohort = await staff.create_cohort(owner, name)
            for learner in sorted(members):
                await staff.join(cohort, learner)
            return CohortRef(id=cohort.id, name=cohort.name, join_code=cohort.join_code)

        yield World(
            sqlite_store,
            SqliteReviewStore(sqlite_store.database, (ADMIN,)),
            grant_sqlite,
            cohort_sqlite,
        )


async def answered(world: World, learner_id: int, *numbers: int, flagged: bool = False) -> None:
    """Learner answers questions `numbers` (odd ones correct), asked with ask_seq = number."""
    records = tuple(
        answer(learner_id, n).model_copy(
            update={"ask_seq": n, "review": flagged, "unrecognised": ("a phrase",) * flagged}
        )
        for n in numbers
    )
    await world.progress.apply(Commit(learner=profile(learner_id), answers=records))


async def test_an_appeal_goes_once_and_only_for_a_real_answer(world: World) -> None:
    await answered(world, 1, 2)
    reviews = world.reviews
    assert await reviews.appeal(1, 9, T0) == "unknown"
    assert await reviews.appeal(2, 2, T0) == "unknown"
    assert await reviews.appeal(1, 2, T0) == "sent"
    assert await reviews.appeal(1, 2, T0) == "already"
    assert await reviews.add_reason(1, 2, "I named the right section") is True
    assert await reviews.add_reason(1, 9, "no such appeal") is False
    [item] = await reviews.open_items(None)
    assert (item.learner_id, item.ask_seq, item.question_id) == (1, 2, "q2")
    assert item.learner_name == "Learner 1"
    assert (item.machine_outcome, item.reason, item.appealed_at) == (
        "incorrect",
        "I named the right section",
        T0,
    )
    assert await reviews.items_of(1) == [item]


async def test_flagged_answers_queue_on_their_own_oldest_first(world: World) -> None:
    await answered(world, 1, 4)
    await answered(world, 2, 3, flagged=True)
    await answered(world, 3, 2)
    reviews = world.reviews
    assert await reviews.appeal(1, 4, T0) == "sent"
    queue = await reviews.open_items(None, limit=10)
    assert [(i.learner_id, i.ask_seq) for i in queue] == [(2, 3), (1, 4)]
    assert queue[0].flagged
    assert queue[0].unrecognised == ("a phrase",)
    assert await reviews.open_count(None) == 2
    assert await reviews.open_count(frozenset({1, 3})) == 1
    assert [i.learner_id for i in await reviews.open_items(frozenset({1}))] == [1]
    skipped = await reviews.open_items(None, after=queue[0].key)
    assert [(i.learner_id, i.ask_seq) for i in skipped] == [(1, 4)]
    assert await reviews.open_items(None, after=queue[1].key) == []
    assert await reviews.items_of(2) == []  # flagged, but nobody appealed or decided yet


async def test_the_first_decision_stands_and_becomes_the_verdict(world: World) -> None:
    await answered(world, 1, 2, 3)
    reviews = world.reviews
    await reviews.appeal(1, 2, T0)
    assert await reviews.decide(1, 2, "correct", TUTOR, LATER) is True
    assert await reviews.decide(1, 2, "incorrect", OTHER_TUTOR, LATER) is False
    outcomes = [(a.outcome, a.score) for a in await world.progress.answers(1)]
    assert outcomes == [("correct", 1.0), ("correct", 1.0)]
    item = await reviews.item(1, 2)
    assert item is not None
    assert (item.machine_outcome, item.decision, item.decided_by) == (
        "incorrect",
        "correct",
        TUTOR,
    )
    assert await reviews.open_count(None) == 0
    # Only the deciding tutor finishes it (comment and learner told), once.
    assert await reviews.finish(1, 2, OTHER_TUTOR, "no", LATER) is False
    assert await reviews.finish(1, 2, TUTOR, "Good: s.22 is right", LATER) is True
    assert await reviews.finish(1, 2, TUTOR, None, LATER) is False
    # A correct answer nobody appealed can be decided too (e.g. from a flag).
    assert await reviews.decide(1, 3, "partial", TUTOR, LATER) is True
    decided = await reviews.decided_since(None)
    assert [(i.ask_seq, i.decision, i.comment) for i in decided] == [
        (2, "correct", "Good: s.22 is right"),
        (3, "partial", None),
    ]
    assert await reviews.decided_since(LATER + timedelta(seconds=1)) == []
    assert await reviews.decide(1, 99, "correct", TUTOR, LATER) is False
    assert await reviews.item(1, 99) is None


async def test_reviewers_and_cohorts(world: World) -> None:
    reviews = world.reviews
    await world.grant(TUTOR, "tutor")
    assert await reviews.has_reviewer(1) is False
    mine = await world.cohort(TUTOR, "Tuesday", {1, 2})
    await world.cohort(OTHER_TUTOR, "Evening", {3})  # run by someone who is not a tutor
    assert await reviews.has_reviewer(1) is True
    assert await reviews.has_reviewer(3) is False
    assert await reviews.role_of(TUTOR) == "tutor"
    assert await reviews.role_of(ADMIN) == "admin"
    assert await reviews.role_of(1) == "learner"
    assert [c.name for c in await reviews.cohorts_for(TUTOR)] == ["Tuesday"]
    assert [c.name for c in await reviews.cohorts_for(ADMIN)] == ["Evening", "Tuesday"]
    assert await reviews.cohorts_for(1) == []
    assert await reviews.members(mine.id) == frozenset({1, 2})


async def test_forget_erases_appeals_and_decisions(world: World) -> None:
    await answered(world, 1, 2, 4)
    await answered(world, 2, 2)
    reviews = world.reviews
    await reviews.appeal(1, 2, T0)
    await reviews.decide(1, 4, "correct", TUTOR, LATER)
    await reviews.appeal(2, 2, T0)
    await world.progress.forget_learner(1)
    await reviews.forget(1)
    assert await reviews.items_of(1) == []
    assert [i.learner_id for i in await reviews.open_items(None, limit=5)] == [2]
    assert await reviews.decided_since(None) == []


async def test_answer_stats_carry_both_verdicts(world: World) -> None:
    await answered(world, 1, 2, 3)
    await answered(world, 2, 4, flagged=True)
    await world.reviews.decide(1, 2, "correct", TUTOR, LATER)
    stats = await world.reviews.answer_stats(None)
    assert [
        (s.learner_id, s.question_id, s.outcome, s.machine_outcome, s.decision) for s in stats
    ] == [
        (1, "q2", "correct", "incorrect", "correct"),
        (1, "q3", "correct", "correct", None),
        (2, "q4", "incorrect", "incorrect", None),
    ]
    assert [s.flagged for s in stats] == [False, False, True]
    assert [s.learner_id for s in await world.reviews.answer_stats(frozenset({2}))] == [2]
