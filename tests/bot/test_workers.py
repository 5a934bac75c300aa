"""Several workers on one PostgreSQL: two applications (as two `coach run` webhook workers
would build them) share one schema. One learner's updates, split between them, are handled
one at a time, in update order, each once; the same update delivered to both is handled once;
one of them leads (sends pushes and reminders). The PostgreSQL tests are skipped without a
server, as the others are (tests/postgres.py). Long polling allows one process (SQLite here)."""

from __future__ import annotations

import asyncio
import contextlib
import random
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from telegram import Update
from telegram.ext import TypeHandler

from bot.app import PollingTakenError, build_application
from bot.settings import Settings
from bot.telegram.context import CoachApplication, CoachContext
from storage.locks import polling_lock
from storage.postgres_database import PostgresDatabase
from storage.sqlite_database import SqliteDatabase
from tests.bot.fakes import BOT_ID, TOKEN, RecordingRequest, Updates, settings_for
from tests.bot.people import started
from tests.conftest import TEST_SCENARIOS

LEARNER = 777
UPDATES = 40


@contextlib.asynccontextmanager
async def worker(
    url: str, content_cache: Path, fake: RecordingRequest, handled: list[int]
) -> AsyncIterator[CoachApplication]:
    """One worker as `coach run` starts it (minus its webhook server) on this database;
    every update it handles is appended to `handled`, before its handlers run."""
    settings = Settings(
        telegram_bot_token=TOKEN,  # type: ignore[arg-type]
        database_url=url,
        content_cache_dir=content_cache,
        _env_file=None,
    )
    app = build_application(settings, request=fake, scenario_dir=TEST_SCENARIOS)

    async def record(update: Update, context: CoachContext) -> None:
        handled.append(update.update_id)

    app.add_handler(TypeHandler(Update, record), group=-1)
    async with started(app, fake) as running_app:
        yield running_app


@contextlib.asynccontextmanager
async def two_workers(
    url: str, content_cache: Path
) -> AsyncIterator[tuple[CoachApplication, CoachApplication, list[int], list[RecordingRequest]]]:
    async with await PostgresDatabase.open(url):
        pass  # migrated once, as `coach db upgrade` does before workers start
    handled: list[int] = []
    fakes = [RecordingRequest(), RecordingRequest()]
    async with (
        worker(url, content_cache, fakes[0], handled) as first,
        worker(url, content_cache, fakes[1], handled) as second,
    ):
        yield first, second, handled, fakes


async def settled(apps: tuple[CoachApplication, ...]) -> None:
    """Until both queues are empty and the inbox holds nothing unhandled (a bound, not a time)."""
    for _ in range(1000):
        inbox = apps[0].bot_data.inbox
        assert inbox is not None
        if all(app.update_queue.empty() for app in apps) and not await inbox.unhandled(
            apps[0].bot.id
        ):
            return
        await asyncio.sleep(0.01)
    raise AssertionError("updates left unhandled")


async def test_one_learners_updates_split_between_workers_are_handled_in_order_once(
    postgres_url: str, content_cache: Path
) -> None:
    async with two_workers(postgres_url, content_cache) as (first, second, handled, fakes):
        updates = Updates(first.bot, user_id=LEARNER)
        batch = [updates.text("/help") for _ in range(UPDATES)]
        split = random.Random(13)
        for update in batch:
            # Stored in update order (each put returns once stored, as a webhook's 200 does),
            # handled by whichever worker got it, both working at once.
            await split.choice((first, second)).update_queue.put(update)
        await settled((first, second))
        leaders = [app.bot_data.leadership for app in (first, second)]
        assert [leader is not None and leader.leading for leader in leaders] == [True, False]
    ids = [update.update_id for update in batch]
    assert handled == ids
    assert sum(len(fake.sent()) for fake in fakes) == UPDATES


async def test_an_update_delivered_to_two_workers_is_handled_once(
    postgres_url: str, content_cache: Path
) -> None:
    async with two_workers(postgres_url, content_cache) as (first, second, handled, fakes):
        updates = Updates(first.bot, user_id=LEARNER)
        batch = [updates.text("/help") for _ in range(10)]
        for update in batch:
            await asyncio.gather(first.update_queue.put(update), second.update_queue.put(update))
        await settled((first, second))
    assert handled == [update.update_id for update in batch]
    assert sum(len(fake.sent()) for fake in fakes) == len(batch)


async def test_a_second_polling_process_stops_with_one_line(
    tmp_path: Path, content_cache: Path
) -> None:
    database = tmp_path / "coach.db"
    async with SqliteDatabase.open(database) as other_process:
        held = await other_process.try_lock(polling_lock(BOT_ID))
        assert held is not None
        app = build_application(
            settings_for(database, content_cache=content_cache),
            request=RecordingRequest(),
            scenario_dir=TEST_SCENARIOS,
        )
        app.bot_data.polling = True
        async with app:
            with pytest.raises(PollingTakenError, match="polling allows one process"):
                await app.post_init(app)  # type: ignore[misc]
        await held.release()
    # Once the other process is gone, this one polls.
    app = build_application(
        settings_for(database, content_cache=content_cache),
        request=RecordingRequest(),
        scenario_dir=TEST_SCENARIOS,
    )
    app.bot_data.polling = True
    async with app:
        await app.post_init(app)  # type: ignore[misc]
        assert app.bot_data.polling_lock is not None
        await app.post_shutdown(app)  # type: ignore[misc]
