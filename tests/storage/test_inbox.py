"""The durable inbox and outbox: stored once, handled once, replies sent at most once more.

One contract over every implementation of the bot's `Inbox` port (bot/telegram/inbox_port.py):
the in-memory fake and SQLite behave the same (rule 9)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Protocol

import pytest

from bot.telegram.inbox_port import Inbox
from flows.io import Document, Reply
from flows.ports import Commit, ProgressStore, StaleSessionError
from storage import MemoryProgressStore, SqliteProgressStore
from storage.inbox import RETENTION, SqliteInboxStore
from storage.memory_inbox import MemoryInboxStore
from tests.storage.builders import T0, TickClock, profile, snapshot
from tests.storage.conftest import SQL_DATABASES, sql_progress

BOT, OTHER_BOT = 424242, 515151


class PrunableInbox(Inbox, Protocol):
    """The port, and pruning at a given time (for the retention tests)."""

    async def prune(self, now: datetime | None = None) -> int: ...


@dataclass
class World:
    progress: ProgressStore
    inbox: PrunableInbox


@pytest.fixture(params=["memory", *SQL_DATABASES])
async def world(
    request: pytest.FixtureRequest, tmp_path: Path, clock: TickClock
) -> AsyncIterator[World]:
    if request.param == "memory":
        progress = MemoryProgressStore(clock=clock)
        yield World(progress, MemoryInboxStore(progress, clock=clock))
        return
    async with sql_progress(request.param, tmp_path / "coach.db", clock) as store:
        yield World(store, SqliteInboxStore(store.database, clock=clock))


@pytest.fixture
def inbox(world: World) -> PrunableInbox:
    return world.inbox


@pytest.fixture
async def sqlite_store(tmp_path: Path, clock: TickClock) -> AsyncIterator[SqliteProgressStore]:
    async with SqliteProgressStore.open(tmp_path / "coach.db", clock=clock) as store:
        yield store


async def test_an_update_is_stored_once_per_bot_and_handled_once(inbox: PrunableInbox) -> None:
    assert await inbox.receive(BOT, 1, 7, 7, '{"update_id": 1}') is True
    assert await inbox.receive(BOT, 1, 7, 7, '{"update_id": 1}') is False  # a repeat
    # Another bot (a new token on this database) numbers its own updates from 1.
    assert await inbox.receive(OTHER_BOT, 1, 8, 8, '{"update_id": 1}') is True
    assert await inbox.receive(BOT, 2, 7, 7, '{"update_id": 2}') is True
    assert [u.update_id for u in await inbox.unhandled(BOT)] == [1, 2]
    await inbox.handled(BOT, 1)
    assert [(u.update_id, u.raw) for u in await inbox.unhandled(BOT)] == [(2, '{"update_id": 2}')]
    assert await inbox.receive(BOT, 1, 7, 7, '{"update_id": 1}') is False  # still a repeat


async def test_a_chats_unhandled_updates_are_listed_up_to_one_in_order(
    inbox: PrunableInbox,
) -> None:
    for update_id, chat in [(5, 7), (3, 7), (4, 8), (6, 7), (9, 7)]:
        await inbox.receive(BOT, update_id, chat, chat, f'{{"update_id": {update_id}}}')
    await inbox.receive(OTHER_BOT, 2, 7, 7, "{}")
    await inbox.handled(BOT, 5)
    assert [u.update_id for u in await inbox.unhandled_in_chat(BOT, 7, up_to=6)] == [3, 6]
    assert [u.update_id for u in await inbox.unhandled_in_chat(BOT, 7)] == [3, 6, 9]
    assert [u.raw for u in await inbox.unhandled_in_chat(BOT, 8)] == ['{"update_id": 4}']


async def test_a_chats_lock_lets_one_holder_in_at_a_time(inbox: PrunableInbox) -> None:
    inside: list[str] = []

    async def hold(name: str, chat: int) -> None:
        async with inbox.serialised(BOT, chat):
            inside.append(f"{name} in")
            await asyncio.sleep(0.01)
            inside.append(f"{name} out")

    await asyncio.gather(hold("a", 7), hold("b", 7))
    assert inside in (["a in", "a out", "b in", "b out"], ["b in", "b out", "a in", "a out"])
    # Another chat does not wait: chat 7 is held until chat 8's holder got in.
    seven_held, eight_held = asyncio.Event(), asyncio.Event()

    async def hold_seven() -> None:
        async with inbox.serialised(BOT, 7):
            seven_held.set()
            await asyncio.wait_for(eight_held.wait(), timeout=10)

    async def hold_eight() -> None:
        await seven_held.wait()
        async with inbox.serialised(BOT, 8):
            eight_held.set()

    await asyncio.gather(hold_seven(), hold_eight())


async def test_replies_commit_with_their_input_and_go_at_most_once_more(
    world: World, inbox: PrunableInbox
) -> None:
    photo = Document(filename="c.png", content=b"\x89PNG\xff\x00", caption="chart")
    replies = (Reply(text="✅ Correct."), Reply(kind="photo", document=photo))
    commit = Commit(learner=profile(7), session=snapshot(7, 1), update_key="tg:1:5")
    assert await world.progress.apply(commit.model_copy(update={"replies": replies}))
    [entry] = await inbox.unsent()
    assert (entry.update_key, entry.learner_id, entry.attempts) == ("tg:1:5", 7, 1)
    assert tuple(entry.replies) == replies  # binary content survives the JSON round trip
    # After a crash: once more, then given up (a reply must not crash every start).
    assert await inbox.claim("tg:1:5") is True
    assert await inbox.claim("tg:1:5") is False
    assert await inbox.unsent() == []
    assert await inbox.status("tg:1:5") == "failed"


async def test_an_inputs_commit_marks_its_stored_update_handled(
    world: World, inbox: PrunableInbox
) -> None:
    for update_id in (5, 6, 7):
        await inbox.receive(BOT, update_id, 7, 7, f'{{"update_id": {update_id}}}')
    commit = Commit(
        learner=profile(7), session=snapshot(7, 1), update_key="tg:5", stored_update=(BOT, 5)
    )
    assert await world.progress.apply(commit) is True
    assert [u.update_id for u in await inbox.unhandled(BOT)] == [6, 7]
    # A commit refused (stale session) marks nothing: its update is handled again later.
    stale = Commit(
        learner=profile(7), session=snapshot(7, 5), update_key="tg:6", stored_update=(BOT, 6)
    )
    with pytest.raises(StaleSessionError):
        await world.progress.apply(stale)
    assert [u.update_id for u in await inbox.unhandled(BOT)] == [6, 7]
    # A repeat of an applied key changes nothing else, but its update is handled all the same.
    repeat = commit.model_copy(update={"session": snapshot(7, 2), "stored_update": (BOT, 7)})
    assert await world.progress.apply(repeat) is False
    assert [u.update_id for u in await inbox.unhandled(BOT)] == [6]
    assert await inbox.receive(BOT, 5, 7, 7, "{}") is False  # the keys stay


async def test_confirmed_replies_are_never_sent_again(world: World, inbox: PrunableInbox) -> None:
    commit = Commit(
        learner=profile(7), session=snapshot(7, 1), update_key="tg:1:6", replies=(Reply(text="x"),)
    )
    await world.progress.apply(commit)
    await inbox.sent("tg:1:6", [101])
    assert await inbox.unsent() == []
    assert await inbox.claim("tg:1:6") is False
    assert await inbox.status("tg:1:6") == "sent"
    # A repeat of the update applies nothing and queues nothing new.
    again = commit.model_copy(update={"session": snapshot(7, 2)})
    assert await world.progress.apply(again) is False
    assert await inbox.unsent() == []


async def test_old_handled_rows_and_repeat_keys_are_pruned(
    world: World, inbox: PrunableInbox
) -> None:
    await inbox.receive(BOT, 1, 7, 7, "{}")
    await inbox.receive(BOT, 2, 7, 7, "{}")
    await inbox.handled(BOT, 1)
    commit = Commit(
        learner=profile(7), session=snapshot(7, 1), update_key="tg:1:1", replies=(Reply(text="x"),)
    )
    await world.progress.apply(commit)
    await inbox.sent("tg:1:1", [1])
    assert await inbox.prune(T0 + RETENTION - timedelta(minutes=1)) == 0
    # Past retention: the handled update, the sent reply and the repeat key go; not update 2.
    assert await inbox.prune(T0 + RETENTION + timedelta(minutes=1)) == 3
    assert [u.update_id for u in await inbox.unhandled(BOT)] == [2]
    assert await inbox.receive(BOT, 1, 7, 7, "{}") is True  # Telegram may number from 1 again


async def test_mydata_lists_them_and_forget_erases_them(
    sqlite_store: SqliteProgressStore, clock: TickClock
) -> None:
    """SQLite only: the in-memory progress store's export leaves the inbox out."""
    inbox = SqliteInboxStore(sqlite_store.database, clock=clock)
    await inbox.receive(BOT, 9, 7, 7, '{"text": "my answer"}')
    commit = Commit(
        learner=profile(7), session=snapshot(7, 1), update_key="tg:1:9", replies=(Reply(text="r"),)
    )
    await sqlite_store.apply(commit)
    exported = await sqlite_store.export_learner(7)
    assert [u["raw"] for u in exported["inbox"]] == ['{"text": "my answer"}']
    assert [o["status"] for o in exported["outbox"]] == ["pending"]
    await sqlite_store.forget_learner(7)
    exported = await sqlite_store.export_learner(7)
    assert (exported["inbox"], exported["outbox"]) == ([], [])
    assert await inbox.unhandled(BOT) == []


async def test_forget_erases_their_updates_and_replies(world: World, inbox: PrunableInbox) -> None:
    await inbox.receive(BOT, 9, 7, 7, '{"text": "my answer"}')
    await inbox.receive(BOT, 10, 8, 8, '{"text": "theirs"}')
    commit = Commit(
        learner=profile(7), session=snapshot(7, 1), update_key="tg:1:9", replies=(Reply(text="r"),)
    )
    await world.progress.apply(commit)
    await world.progress.forget_learner(7)
    assert [u.update_id for u in await inbox.unhandled(BOT)] == [10]
    assert await inbox.unsent() == []
    assert await inbox.status("tg:1:9") is None
