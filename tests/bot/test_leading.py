"""The leader role (bot/telegram/leading.py) moves to another worker when its holder's
database connection dies. Over PostgreSQL (skipped without a server)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path

from bot.telegram.leading import Leadership
from storage.database import Database
from storage.locks import leader_lock
from storage.postgres_database import PostgresDatabase
from tests.postgres import kill_lock_holder
from tests.storage.conftest import two_workers

BOT = 424242


async def until(condition: Callable[[], bool], what: str) -> None:
    """Wait for a condition the leadership tasks bring about (a bound, not a time)."""
    for _ in range(1000):
        if condition():
            return
        await asyncio.sleep(0.01)
    raise AssertionError(f"never: {what}")


async def test_the_leader_role_moves_when_its_holder_dies(tmp_path: Path) -> None:
    events: list[str] = []

    def leadership(database: Database, name: str) -> Leadership:
        async def gain() -> None:
            events.append(f"{name} leads")

        async def loss() -> None:
            events.append(f"{name} lost")

        return Leadership(
            lambda: database.try_lock(leader_lock(BOT)),
            on_gain=gain,
            on_loss=loss,
            retry_seconds=0.02,
        )

    async with two_workers("postgresql", tmp_path / "coach.db") as (first, second, url):
        one, two = leadership(first, "one"), leadership(second, "two")
        await one.start()
        await two.start()
        assert (one.leading, two.leading) == (True, False)
        assert isinstance(first, PostgresDatabase)
        await kill_lock_holder(url, await first.lock_key(leader_lock(BOT)))
        await until(lambda: two.leading and not one.leading, "the lead moved to two")
        await one.stop()
        await two.stop()
    assert events in (
        ["one leads", "one lost", "two leads"],
        ["one leads", "two leads", "one lost"],
    )
    assert (one.terms, two.terms) == (1, 1)
