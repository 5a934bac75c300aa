"""The in-memory inbox and outbox: the fake for tests, with the SQLite adapter's semantics.

The outbox is filled by the `MemoryProgressStore` it is built on, as SQLite's guarded commit
writes it: a commit with an update key and replies queues them, in the commit itself.
"""

from __future__ import annotations

import asyncio
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from datetime import datetime

from flows.io import Reply
from flows.ports import Commit
from storage.common import Clock, utc_now
from storage.inbox import MAX_ATTEMPTS, RETENTION, OutboxEntry, StoredUpdate
from storage.locks import KeyedLocks, chat_lock
from storage.memory import MemoryProgressStore


@dataclass
class _Received:
    chat_id: int | None
    user_id: int | None
    raw: str | None
    received_at: datetime
    handled_at: datetime | None = None


@dataclass
class _Queued:
    learner_id: int
    replies: list[Reply] | None
    attempts: int
    created_at: datetime
    status: str = "pending"


class MemoryInboxStore:
    """The inbox and outbox in dicts, beside a MemoryProgressStore."""

    def __init__(self, progress: MemoryProgressStore, clock: Clock = utc_now) -> None:
        self._progress = progress
        self._clock = clock
        self._inbox: dict[tuple[int, int], _Received] = {}
        self._outbox: dict[str, _Queued] = {}
        self._chats = KeyedLocks()
        progress.on_commit.append(self._committed)
        progress.on_repeat.append(self._mark_stored)
        progress.on_forget.append(self._forget)

    # --- inbox ----------------------------------------------------------------------------------

    async def receive(
        self, bot_id: int, update_id: int, chat_id: int | None, user_id: int | None, raw: str
    ) -> bool:
        await asyncio.sleep(0)
        now = self._clock()
        if (bot_id, update_id) in self._inbox:
            return False
        self._inbox[(bot_id, update_id)] = _Received(chat_id, user_id, raw, now)
        return True

    async def handled(self, bot_id: int, update_id: int) -> None:
        await asyncio.sleep(0)
        self._mark_handled((bot_id, update_id), self._clock())

    def _mark_handled(self, key: tuple[int, int], now: datetime) -> None:
        received = self._inbox.get(key)
        if received is not None and received.handled_at is None:
            received.handled_at = now
            received.raw = None

    async def unhandled(self, bot_id: int) -> list[StoredUpdate]:
        await asyncio.sleep(0)
        return [
            StoredUpdate(update_id, str(received.raw))
            for (bot, update_id), received in sorted(self._inbox.items())
            if bot == bot_id and received.handled_at is None
        ]

    async def unhandled_in_chat(
        self, bot_id: int, chat_id: int, up_to: int | None = None
    ) -> list[StoredUpdate]:
        await asyncio.sleep(0)
        return [
            StoredUpdate(update_id, str(received.raw))
            for (bot, update_id), received in sorted(self._inbox.items())
            if bot == bot_id
            and received.handled_at is None
            and received.chat_id == chat_id
            and (up_to is None or update_id <= up_to)
        ]

    def serialised(self, bot_id: int, chat_id: int) -> AbstractAsyncContextManager[None]:
        return self._chats.hold(chat_lock(bot_id, chat_id))

    # --- outbox ---------------------------------------------------------------------------------

    async def unsent(self) -> list[OutboxEntry]:
        await asyncio.sleep(0)
        pending = [
            (key, queued) for key, queued in self._outbox.items() if queued.status == "pending"
        ]
        pending.sort(key=lambda item: item[1].created_at)  # stable: then in commit order
        return [
            OutboxEntry(key, queued.learner_id, list(queued.replies or []), queued.attempts)
            for key, queued in pending
        ]

    async def claim(self, update_key: str) -> bool:
        await asyncio.sleep(0)
        queued = self._outbox.get(update_key)
        if queued is None or queued.status != "pending":
            return False
        if queued.attempts >= MAX_ATTEMPTS:
            queued.status, queued.replies = "failed", None
            return False
        queued.attempts += 1
        return True

    async def sent(self, update_key: str, message_ids: list[int]) -> None:
        await asyncio.sleep(0)
        self._clock()  # read as the SQLite adapter reads it, so both clocks stay in step
        queued = self._outbox.get(update_key)
        if queued is not None:
            queued.status, queued.replies = "sent", None

    async def failed(self, update_key: str, reason: str) -> None:
        await asyncio.sleep(0)
        queued = self._outbox.get(update_key)
        if queued is not None and queued.status == "pending":
            queued.status, queued.replies = "failed", None

    async def status(self, update_key: str) -> str | None:
        await asyncio.sleep(0)
        queued = self._outbox.get(update_key)
        return queued.status if queued else None

    # --- retention ------------------------------------------------------------------------------

    async def prune(self, now: datetime | None = None) -> int:
        await asyncio.sleep(0)
        before = (now or self._clock()) - RETENTION
        handled = [
            key
            for key, received in self._inbox.items()
            if received.handled_at is not None and received.received_at < before
        ]
        finished = [
            key
            for key, queued in self._outbox.items()
            if queued.status != "pending" and queued.created_at < before
        ]
        for key in handled:
            del self._inbox[key]
        for update_key in finished:
            del self._outbox[update_key]
        return len(handled) + len(finished) + self._progress.prune_update_keys(before)

    # --- what the progress store tells it -------------------------------------------------------

    def _mark_stored(self, commit: Commit, now: datetime) -> None:
        """The input's commit marks its stored update handled (applied now or before)."""
        if commit.stored_update is not None:
            self._mark_handled(commit.stored_update, now)

    def _committed(self, commit: Commit, now: datetime) -> None:
        self._mark_stored(commit, now)
        if commit.update_key is not None and commit.replies:
            self._outbox[commit.update_key] = _Queued(
                commit.learner.learner_id, list(commit.replies), attempts=1, created_at=now
            )

    def _forget(self, learner_id: int) -> None:
        self._inbox = {
            key: received
            for key, received in self._inbox.items()
            if learner_id not in (received.user_id, received.chat_id)
        }
        self._outbox = {
            key: queued for key, queued in self._outbox.items() if queued.learner_id != learner_id
        }
