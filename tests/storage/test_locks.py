"""The locks several workers share through one database (storage/locks.py): a lasting lock
has one holder until released or until its holder's connection dies; and two senders
claiming one push's deliveries never claim the same one.

Two `Database` objects on one database stand for two workers: one SQLite file, or one
PostgreSQL schema (skipped without a server, as the other PostgreSQL tests are)."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from storage.locks import leader_lock, polling_lock
from storage.postgres_database import PostgresDatabase
from storage.pushes import SqlitePushStore
from storage.staff import SqliteStaffStore
from tests.postgres import kill_lock_holder
from tests.storage.builders import T0
from tests.storage.conftest import two_workers

BOT = 424242
TUTOR = 50
LEARNERS = 300


@pytest.mark.parametrize("kind", ["sqlite", "postgresql"])
async def test_a_lasting_lock_has_one_holder_until_released(kind: str, tmp_path: Path) -> None:
    async with two_workers(kind, tmp_path / "coach.db") as (first, second, _):
        held = await first.try_lock(polling_lock(BOT))
        assert held is not None
        assert await second.try_lock(polling_lock(BOT)) is None
        assert await first.try_lock(polling_lock(BOT)) is None  # not twice in one worker
        other = await second.try_lock(leader_lock(BOT))  # another name is another lock
        assert other is not None
        assert await held.alive()
        await held.release()
        again = await second.try_lock(polling_lock(BOT))
        assert again is not None
        await again.release()
        await other.release()


async def test_a_lasting_lock_goes_with_its_holders_connection(tmp_path: Path) -> None:
    async with two_workers("postgresql", tmp_path / "coach.db") as (first, second, url):
        held = await first.try_lock(leader_lock(BOT))
        assert held is not None
        assert isinstance(first, PostgresDatabase)
        await kill_lock_holder(url, await first.lock_key(leader_lock(BOT)))
        assert not await held.alive()
        taken = await second.try_lock(leader_lock(BOT))
        assert taken is not None
        await taken.release()


@pytest.mark.parametrize("kind", ["sqlite", "postgresql"])
async def test_two_senders_on_one_push_claim_every_delivery_once(
    kind: str, tmp_path: Path
) -> None:
    async with two_workers(kind, tmp_path / "coach.db") as (first, second, _):
        cohort = await SqliteStaffStore(first).create_cohort(TUTOR, "Tuesday")
        stores = SqlitePushStore(first), SqlitePushStore(second)
        push = await stores[0].create(TUTOR, cohort.id, "data-protection", T0)
        assert await stores[0].begin(push.id, list(range(1, LEARNERS + 1)), late=False)

        async def sender(store: SqlitePushStore) -> list[int]:
            claimed = []
            for learner_id in await store.pending(push.id):
                if await store.claim(push.id, learner_id):
                    claimed.append(learner_id)
                    await store.mark_sent(push.id, learner_id, message_id=1, poll_id=None)
            return claimed

        mine, theirs = await asyncio.gather(sender(stores[0]), sender(stores[1]))
    assert not set(mine) & set(theirs)
    assert sorted(mine + theirs) == list(range(1, LEARNERS + 1))
