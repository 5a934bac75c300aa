"""One contract, every adapter: the in-memory fake and SQLite must behave the same (rule 9)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Protocol

import pytest

from flows.ports import Commit, LearnerProfile, ProgressStore, StaleSessionError
from storage import MemoryProgressStore
from tests.storage.builders import T0, TickClock, answer, commit, profile, run, snapshot
from tests.storage.conftest import SQL_DATABASES, sql_progress


class Store(ProgressStore, Protocol):
    """The engine's port plus the bot's poll registry (bot/telegram/context.py), which both
    adapters also provide; spelled out here because storage tests do not import the bot."""

    async def remember_poll(self, poll_id: str, learner_id: int, question_id: str) -> None: ...

    async def poll_recipient(self, poll_id: str) -> tuple[int, str] | None: ...


@pytest.fixture(params=["memory", *SQL_DATABASES])
async def store(
    request: pytest.FixtureRequest, tmp_path: Path, clock: TickClock
) -> AsyncIterator[Store]:
    if request.param == "memory":
        yield MemoryProgressStore(clock=clock)
        return
    async with sql_progress(request.param, tmp_path / "coach.db", clock) as sqlite_store:
        yield sqlite_store


EMPTY_EXPORT: dict[str, object] = {
    "learner": None,
    "session": None,
    "answers": [],
    "runs": [],
    "polls": [],
    "update_keys": [],
    "cohorts": [],
    "push_deliveries": [],
    "refused_commands": [],
    "role": None,
    "inbox": [],
    "outbox": [],
}


class TestProgressStore:
    async def test_new_learner_has_nothing(self, store: Store) -> None:
        assert await store.load_session(1) is None
        assert await store.answers(1) == []
        assert await store.finished_runs(1) == []
        assert await store.export_learner(1) == EMPTY_EXPORT

    async def test_apply_then_load_round_trips(self, store: Store) -> None:
        assert await store.apply(commit(1, 1)) is True
        loaded = await store.load_session(1)
        assert loaded == snapshot(1, 1)
        assert loaded is not None
        # Byte-identical JSON: the timezone offset and every nested value survive.
        assert loaded.model_dump_json() == snapshot(1, 1).model_dump_json()

    async def test_each_apply_replaces_the_session(self, store: Store) -> None:
        for version in (1, 2, 3):
            assert await store.apply(commit(1, version)) is True
        assert await store.load_session(1) == snapshot(1, 3)

    async def test_commit_without_session_keeps_the_stored_one(self, store: Store) -> None:
        await store.apply(commit(1, 1))
        assert await store.apply(commit(1, None, answers=(1,))) is True
        assert await store.load_session(1) == snapshot(1, 1)
        assert await store.answers(1) == [answer(1, 1)]

    @pytest.mark.parametrize(
        ("stored", "offered"),
        [(None, 0), (None, 2), (1, 1), (1, 3), (2, 1)],
        ids=["new-at-0", "new-at-2", "same-version", "skips-one", "goes-back"],
    )
    async def test_version_must_advance_by_exactly_one(
        self, store: Store, stored: int | None, offered: int
    ) -> None:
        for version in range(1, (stored or 0) + 1):
            await store.apply(commit(1, version))
        before = await store.export_learner(1)

        with pytest.raises(StaleSessionError, match=f"version {offered}"):
            await store.apply(commit(1, offered, key="tg:1", answers=(1,), finished=1))

        assert await store.export_learner(1) == before
        # Nothing was written, not even the update key: the corrected retry goes through.
        assert await store.apply(commit(1, (stored or 0) + 1, key="tg:1")) is True

    async def test_two_writers_of_one_version_race_and_one_loses(self, store: Store) -> None:
        results = await asyncio.gather(
            store.apply(commit(1, 1, answers=(1,))),
            store.apply(commit(1, 1, answers=(2,))),
            return_exceptions=True,
        )
        assert results[0] is True
        assert isinstance(results[1], StaleSessionError)
        assert await store.answers(1) == [answer(1, 1)]

    async def test_repeated_update_key_is_acknowledged_not_applied(self, store: Store) -> None:
        first = commit(1, 1, key="tg:100", answers=(1,), finished=1)
        assert await store.apply(first) is True
        before = await store.export_learner(1)

        # A redelivered update: the very same commit, whose version is now stale.
        assert await store.apply(first) is False
        # The key wins over anything else the commit carries.
        assert await store.apply(commit(1, 2, key="tg:100", answers=(2,))) is False
        assert await store.apply(commit(2, 1, key="tg:100")) is False

        assert await store.export_learner(1) == before
        assert await store.load_session(2) is None

    async def test_same_key_applied_concurrently_lands_once(self, store: Store) -> None:
        results = await asyncio.gather(
            *(store.apply(commit(1, None, key="tg:7", answers=(1,))) for _ in range(5))
        )
        assert sorted(results) == [False, False, False, False, True]
        assert await store.answers(1) == [answer(1, 1)]

    async def test_a_flagged_answer_keeps_its_flag_and_what_was_not_recognised(
        self, store: Store
    ) -> None:
        flagged = answer(1, 2).model_copy(
            update={"review": True, "unrecognised": ("only if it's boxed", "half off")}
        )
        await store.apply(Commit(learner=profile(1), answers=(answer(1, 1), flagged)))
        assert await store.answers(1) == [answer(1, 1), flagged]
        exported = (await store.export_learner(1))["answers"]
        assert [a["review"] for a in exported] == [False, True]
        assert exported[1]["unrecognised"] == ["only if it's boxed", "half off"]
        await store.forget_learner(1)
        assert await store.answers(1) == []

    async def test_answers_and_runs_come_back_oldest_first(self, store: Store) -> None:
        await store.apply(commit(1, 1, answers=(1, 2)))
        await store.apply(commit(1, 2, answers=(3,), finished=1))
        await store.apply(commit(2, 1, answers=(9,), finished=9))
        await store.apply(commit(1, 3, answers=(4, 5), finished=2))

        assert await store.answers(1) == [answer(1, n) for n in (1, 2, 3, 4, 5)]
        assert await store.finished_runs(1) == [run(1, 1), run(1, 2)]
        assert await store.answers(2) == [answer(2, 9)]

    async def test_export_contains_everything(self, store: Store) -> None:
        await store.apply(commit(1, 1, key="tg:1", answers=(1,)))
        await store.apply(commit(1, 2, key="tg:2", answers=(2,), finished=1))
        await store.apply(commit(2, 1, answers=(7,)))

        exported = await store.export_learner(1)

        assert exported == {
            "learner": {
                "learner_id": 1,
                "display_name": "Learner 1",
                "username": "l1",
                "first_seen": T0.isoformat(),
                "last_active": (T0.replace(second=1)).isoformat(),
            },
            "session": snapshot(1, 2).model_dump(mode="json"),
            "answers": [
                answer(1, 1).model_dump(mode="json"),
                answer(1, 2).model_dump(mode="json"),
            ],
            "runs": [run(1, 1).model_dump(mode="json")],
            "polls": [],
            "update_keys": ["tg:1", "tg:2"],
            "cohorts": [],
            "push_deliveries": [],
            "refused_commands": [],
            "role": None,
            "inbox": [],
            "outbox": [],
        }
        assert json.loads(json.dumps(exported)) == exported

    async def test_a_push_neither_marks_the_learner_active_nor_renames_them(
        self, store: Store
    ) -> None:
        await store.apply(commit(1, 1))
        pushed_answer = answer(1, 3).model_copy(update={"source": "push", "push_id": 12})
        pushed = Commit(
            learner=LearnerProfile(learner_id=1),
            session=snapshot(1, 2),
            answers=(pushed_answer,),
            by_learner=False,
        )
        assert await store.apply(pushed) is True

        exported = await store.export_learner(1)
        assert exported["learner"]["display_name"] == "Learner 1"
        assert exported["learner"]["last_active"] == T0.isoformat()
        assert await store.answers(1) == [pushed_answer]
        assert await store.load_session(1) == snapshot(1, 2)

    async def test_profile_changes_are_kept(self, store: Store) -> None:
        await store.apply(commit(1, 1))
        renamed = commit(1, 2).model_copy(
            update={"learner": profile(1).model_copy(update={"display_name": "Renamed"})}
        )
        await store.apply(renamed)
        exported = await store.export_learner(1)
        assert exported["learner"]["display_name"] == "Renamed"

    async def test_forget_removes_everything_and_the_learner_can_return(
        self, store: Store
    ) -> None:
        await store.apply(commit(1, 1, key="tg:1", answers=(1,), finished=1))
        await store.apply(commit(1, 2, key="tg:2", answers=(2,)))
        await store.apply(commit(2, 1, key="tg:3", answers=(3,)))
        other_before = await store.export_learner(2)

        await store.forget_learner(1)

        assert await store.load_session(1) is None
        assert await store.answers(1) == []
        assert await store.finished_runs(1) == []
        assert await store.export_learner(1) == EMPTY_EXPORT
        assert await store.export_learner(2) == other_before
        # A fresh start: version 1 again, and the forgotten update keys are gone too.
        assert await store.apply(commit(1, 1, key="tg:1")) is True
        assert await store.load_session(1) == snapshot(1, 1)
        assert await store.answers(1) == []

    async def test_forgetting_an_unknown_learner_is_harmless(self, store: Store) -> None:
        await store.forget_learner(404)
        assert await store.export_learner(404) == EMPTY_EXPORT

    async def test_a_commit_mixing_learners_is_refused(self, store: Store) -> None:
        mixed = commit(1, 1).model_copy(update={"answers": (answer(2, 1),)})
        with pytest.raises(ValueError, match="learners \\[2\\]"):
            await store.apply(mixed)
        assert await store.export_learner(1) == EMPTY_EXPORT

    async def test_many_concurrent_learners_land_exactly_once(self, store: Store) -> None:
        learners = range(1, 201)

        async def learner_session(learner_id: int) -> list[bool]:
            # One learner's inputs are handled one at a time (rule 8); learners run in parallel.
            return [
                await store.apply(commit(learner_id, v, key=f"tg:{learner_id}:{v}", answers=(v,)))
                for v in (1, 2, 3)
            ]

        outcomes = await asyncio.gather(*(learner_session(i) for i in learners))
        assert outcomes == [[True, True, True]] * 200

        # The whole wave redelivered at once: every commit is recognised, none re-applied.
        replays = await asyncio.gather(
            *(
                store.apply(commit(i, v, key=f"tg:{i}:{v}", answers=(v,)))
                for i in learners
                for v in (1, 2, 3)
            )
        )
        assert not any(replays)

        for learner_id in learners:
            assert await store.load_session(learner_id) == snapshot(learner_id, 3)
            assert await store.answers(learner_id) == [answer(learner_id, v) for v in (1, 2, 3)]

    async def test_polls_route_answers_back_to_their_learner(self, store: Store) -> None:
        assert await store.poll_recipient("p1") is None
        await store.remember_poll("p1", 1, "q1")
        await store.remember_poll("p2", 2, "q2")
        assert await store.poll_recipient("p1") == (1, "q1")
        assert await store.poll_recipient("p2") == (2, "q2")

    async def test_forget_removes_the_learners_polls(self, store: Store) -> None:
        await store.apply(commit(1, 1))
        await store.remember_poll("p1", 1, "q1")
        await store.remember_poll("p2", 2, "q2")
        await store.forget_learner(1)
        assert await store.poll_recipient("p1") is None
        assert await store.poll_recipient("p2") == (2, "q2")

    async def test_export_lists_the_learners_polls_and_update_keys(self, store: Store) -> None:
        await store.apply(commit(1, 1, key="tg:1"))
        await store.remember_poll("p1", 1, "q1")
        await store.remember_poll("p2", 2, "q2")
        exported = await store.export_learner(1)
        [poll] = exported["polls"]
        assert (poll["poll_id"], poll["question_id"]) == ("p1", "q1")
        assert poll["sent_at"].startswith(str(T0.year))
        assert exported["update_keys"] == ["tg:1"]
        await store.forget_learner(1)
        assert await store.export_learner(1) == EMPTY_EXPORT
