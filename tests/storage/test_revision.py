"""One contract for the revision stores: the in-memory fake and SQLite behave the same."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest

from flows.ports import StaleSessionError
from storage import MemoryProgressStore, SqliteProgressStore
from storage.revision import SqliteRevisionStore
from storage.revision_memory import MemoryRevisionStore
from tests.storage.builders import TickClock, commit
from tests.storage.conftest import SQL_DATABASES, sql_progress
from tutoring.revision import (
    DUE_SOON,
    CardState,
    LearnerSettings,
    ReviewEntry,
    RevisionFacts,
    RevisionStore,
    new_card,
    review,
)

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
NO_SETTINGS: dict[str, object] = {
    "timezone": None,
    "remind_at": None,
    "quiet_days": [],
    "next_reminder_at": None,
    "blocked_at": None,
}


@dataclass
class Stores:
    progress: MemoryProgressStore | SqliteProgressStore
    revision: RevisionStore


@pytest.fixture(params=["memory", *SQL_DATABASES])
async def stores(
    request: pytest.FixtureRequest, tmp_path: Path, clock: TickClock
) -> AsyncIterator[Stores]:
    if request.param == "memory":
        progress = MemoryProgressStore(clock=clock)
        yield Stores(progress, MemoryRevisionStore(learners={1, 2}, progress=progress))
        return
    async with sql_progress(request.param, tmp_path / "coach.db", clock) as sqlite_store:
        yield Stores(sqlite_store, SqliteRevisionStore(sqlite_store.database))


async def learners(stores: Stores) -> None:
    """Learners 1 and 2 exist (SQLite's cards and settings belong to a stored learner)."""
    await stores.progress.apply(commit(1, 1))
    await stores.progress.apply(commit(2, 1))


def card(learner_id: int, card_id: str, grade: str = "good", at: datetime = T0) -> CardState:
    return review(new_card(learner_id, card_id, "cra-goods", at), grade, at)  # type: ignore[arg-type]


def entry(state: CardState, grade: str = "good", source: str = "quiz") -> ReviewEntry:
    assert state.last_review_at is not None
    return ReviewEntry.model_validate(
        {
            "learner_id": state.learner_id,
            "card_id": state.card_id,
            "grade": grade,
            "source": source,
            "reviewed_at": state.last_review_at,
            "due_after": state.due_at,
        }
    )


class TestRevisionStore:
    async def test_nothing_stored_for_a_new_learner(self, stores: Stores) -> None:
        store = stores.revision
        assert await store.cards(1) == []
        assert await store.due_cards(1, T0 + timedelta(days=999)) == []
        assert await store.reviews(1) == []
        assert await store.settings(1) == LearnerSettings(learner_id=1)
        assert await store.export(1) == {
            "revision_cards": [],
            "revision_log": [],
            "settings": NO_SETTINGS,
        }

    async def test_cards_and_log_round_trip(self, stores: Stores) -> None:
        await learners(stores)
        store = stores.revision
        first = card(1, "q1")
        # A non-UTC time comes back as the same instant.
        later = card(
            1, "s/step", "hard", datetime(2026, 3, 2, 11, 0, tzinfo=timezone(timedelta(hours=2)))
        )
        await store.save([first, later], [entry(first), entry(later, "hard", "scenario")])
        assert await store.cards(1) == [first, later]
        assert await store.cards(1, ["q1"]) == [first]
        assert await store.cards(2) == []
        log = await store.reviews(1)
        assert [(e.card_id, e.grade, e.source) for e in log] == [
            ("q1", "good", "quiz"),
            ("s/step", "hard", "scenario"),
        ]
        assert await store.reviews(1, "s/step") == [log[1]]

    async def test_a_commit_stores_the_cards_its_answers_graded_or_nothing(
        self, stores: Stores
    ) -> None:
        first, second = card(1, "q1"), card(1, "q2", "again")
        graded = commit(1, 1, key="tg:1", answers=(1,)).model_copy(
            update={"cards": (first, second), "card_log": (entry(first), entry(second, "again"))}
        )
        assert await stores.progress.apply(graded) is True
        assert await stores.revision.cards(1) == [first, second]
        assert [(e.card_id, e.grade) for e in await stores.revision.reviews(1)] == [
            ("q1", "good"),
            ("q2", "again"),
        ]
        # A repeat of the input grades nothing twice; a stale one stores none of its cards.
        assert await stores.progress.apply(graded) is False
        stale = commit(1, 5, answers=(2,)).model_copy(
            update={"cards": (card(1, "q3"),), "card_log": (entry(card(1, "q3")),)}
        )
        with pytest.raises(StaleSessionError):
            await stores.progress.apply(stale)
        assert await stores.revision.cards(1) == [first, second]
        assert len(await stores.revision.reviews(1)) == 2

    async def test_due_cards_are_those_before_the_time_earliest_first(
        self, stores: Stores
    ) -> None:
        await learners(stores)
        store = stores.revision
        soon, later = card(1, "z-soon", "again"), card(1, "a-later", "good")
        other = card(2, "q", "again")
        await store.save([soon, later, other], [])
        assert await store.due_cards(1, soon.due_at) == []
        due = await store.due_cards(1, soon.due_at + timedelta(microseconds=1))
        assert due == [soon]
        assert await store.due_cards(1, later.due_at + timedelta(days=1)) == [soon, later]
        assert await store.due_count(1, later.due_at + timedelta(days=1)) == 2
        assert await store.due_count(1, soon.due_at) == 0

    async def test_saving_again_updates_and_replace_drops_the_old_log(
        self, stores: Stores
    ) -> None:
        await learners(stores)
        store = stores.revision
        first = card(1, "q1")
        await store.save([first], [entry(first)])
        second = review(first, "good", first.due_at)
        await store.save([second], [entry(second)])
        assert await store.cards(1) == [second]
        assert len(await store.reviews(1)) == 2
        regraded = review(new_card(1, "q1", "cra-goods", T0), "again", T0)
        await store.save([regraded], [entry(regraded, "again", "tutor")], replace=True)
        assert [(e.grade, e.source) for e in await store.reviews(1)] == [("again", "tutor")]

    async def test_settings_round_trip(self, stores: Stores) -> None:
        await learners(stores)
        store = stores.revision
        await store.save_settings(LearnerSettings(learner_id=1, timezone="Asia/Tokyo"))
        assert (await store.settings(1)).timezone == "Asia/Tokyo"
        await store.save_settings(LearnerSettings(learner_id=1, timezone=None))
        assert (await store.settings(1)).timezone is None
        assert (await store.settings(2)).timezone is None

    async def test_reminders_due_are_claimed_once_and_stop_when_blocked(
        self, stores: Stores
    ) -> None:
        await learners(stores)
        store = stores.revision
        first, second = T0, T0 + timedelta(minutes=1)
        for learner_id, at in ((1, second), (2, first)):
            await store.save_settings(
                LearnerSettings(
                    learner_id=learner_id,
                    remind_at="09:00",
                    quiet_days=(5, 6),
                    next_reminder_at=at,
                )
            )
        assert (await store.settings(1)).quiet_days == (5, 6)
        assert await store.due_reminders(T0 - timedelta(seconds=1), 10) == []
        due = await store.due_reminders(second, 10)
        assert [s.learner_id for s in due] == [2, 1]
        assert [s.learner_id for s in await store.due_reminders(second, 1)] == [2]
        tomorrow = first + timedelta(days=1)
        assert await store.claim_reminder(2, first, tomorrow) is True
        assert await store.claim_reminder(2, first, tomorrow) is False  # taken already
        assert (await store.settings(2)).next_reminder_at == tomorrow
        await store.block_reminders(1, second)
        blocked = await store.settings(1)
        assert blocked.blocked_at == second
        assert blocked.next_reminder_at is None
        assert await store.due_reminders(tomorrow, 10) == [await store.settings(2)]

    async def test_facts_of_a_cohort_come_in_the_order_asked(self, stores: Stores) -> None:
        await learners(stores)
        store = stores.revision
        late = datetime(2026, 3, 2, 23, 30, tzinfo=UTC)
        early, next_day = T0.replace(hour=0, minute=30), T0 + timedelta(days=1)
        overdue = card(1, "a", "again", early)  # due soon after T0
        later = card(1, "b", "good", late)  # due days later
        revised = card(1, "c", "good", next_day)
        await store.save(
            [overdue, later, revised],
            [entry(overdue), entry(later, source="scenario"), entry(revised, source="revision")],
        )
        await store.save_settings(LearnerSettings(learner_id=2, timezone="Asia/Tokyo"))
        now = overdue.due_at + timedelta(seconds=1)
        facts = await store.facts([2, 1, 3], now)
        assert [f.learner_id for f in facts] == [2, 1, 3]
        assert facts[0] == RevisionFacts(learner_id=2, timezone="Asia/Tokyo")
        assert facts[2] == RevisionFacts(learner_id=3)  # nobody: zeros
        mine = facts[1]
        assert (mine.timezone, mine.cards, mine.overdue) == (None, 3, 1)
        assert revised.due_at > now + DUE_SOON  # too far ahead to list
        assert mine.due_soon == (later.due_at,)
        assert mine.last_revision == next_day
        # One (first, last) pair per UTC day with a review.
        assert mine.review_days == ((early, late), (next_day, next_day))

    async def test_forget_erases_only_that_learner(self, stores: Stores) -> None:
        await learners(stores)
        store = stores.revision
        mine, theirs = card(1, "q"), card(2, "q")
        await store.save([mine, theirs], [entry(mine), entry(theirs)])
        await store.save_settings(LearnerSettings(learner_id=1, timezone="Asia/Tokyo"))
        exported = await store.export(1)
        assert [c["card_id"] for c in exported["revision_cards"]] == ["q"]
        assert exported["settings"] == {**NO_SETTINGS, "timezone": "Asia/Tokyo"}
        await store.forget(1)
        assert await store.export(1) == {
            "revision_cards": [],
            "revision_log": [],
            "settings": NO_SETTINGS,
        }
        assert await store.cards(2) == [theirs]


async def test_erasing_the_learner_cascades_to_cards_log_and_settings(tmp_path: Path) -> None:
    async with SqliteProgressStore.open(tmp_path / "coach.db") as progress:
        store = SqliteRevisionStore(progress.database)
        await progress.apply(commit(1, 1))
        mine = card(1, "q")
        await store.save([mine], [entry(mine)])
        await store.save_settings(LearnerSettings(learner_id=1, timezone="Asia/Tokyo"))
        await progress.forget_learner(1)
        assert await store.cards(1) == []
        assert await store.reviews(1) == []
        assert (await store.settings(1)).timezone is None


async def test_settings_of_an_unknown_learner_are_not_stored(tmp_path: Path) -> None:
    async with SqliteProgressStore.open(tmp_path / "coach.db") as progress:
        store = SqliteRevisionStore(progress.database)
        await store.save_settings(LearnerSettings(learner_id=9, timezone="Asia/Tokyo"))
        assert (await store.settings(9)).timezone is None


async def test_a_memory_store_with_no_revision_store_refuses_cards() -> None:
    graded = commit(1, 1).model_copy(update={"cards": (card(1, "q1"),)})
    with pytest.raises(ValueError, match="MemoryRevisionStore"):
        await MemoryProgressStore().apply(graded)
