"""The leader: the one worker on a database that sends scheduled pushes and reminders.

Several webhook workers share the learners' updates (bot/telegram/inbox.py keeps each chat in
order), but bulk sends must come from one of them: the bot-wide pace (bot/telegram/pacing.py)
is counted per process, and one sender re-arms what a crash interrupted. The leader is whoever
holds the database's lasting lock `leader:{bot_id}` (storage/locks.py): on PostgreSQL a
session-level advisory lock on a connection of its own, so when the holder dies its connection
closes and the lock is free; the others try again every `RETRY_SECONDS` and one takes over.
On SQLite the single process takes it at start and keeps it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from typing import Protocol

log = logging.getLogger(__name__)

RETRY_SECONDS = 5.0
"""How often a follower tries to take the lead, and the leader checks it still holds it."""


class HeldLock(Protocol):
    """A lock held until released or until its connection dies (the database's `HeldLock`)."""

    async def alive(self) -> bool: ...

    async def release(self) -> None: ...


TryLock = Callable[[], Awaitable[HeldLock | None]]
Hook = Callable[[], Awaitable[None]]


class Leadership:
    """Takes the leader lock when it can and runs `on_gain`; runs `on_loss` if the lock is lost
    (its connection broke). `start` tries once at once, then a task keeps trying."""

    def __init__(
        self,
        try_lock: TryLock,
        *,
        on_gain: Hook,
        on_loss: Hook,
        retry_seconds: float = RETRY_SECONDS,
    ) -> None:
        self._try_lock = try_lock
        self._on_gain = on_gain
        self._on_loss = on_loss
        self._retry_seconds = retry_seconds
        self._held: HeldLock | None = None
        self._task: asyncio.Task[None] | None = None
        self.terms = 0
        """How many times this worker took the lead (tests and logs)."""

    @property
    def leading(self) -> bool:
        return self._held is not None

    async def start(self) -> None:
        """Try once now (so a single worker leads before it serves anything), then keep
        trying, or checking, every `retry_seconds`."""
        await self._step()
        self._task = asyncio.create_task(self._keep(), name="leadership")

    async def _keep(self) -> None:
        while True:
            await asyncio.sleep(self._retry_seconds)
            try:
                await self._step()
            except Exception:  # a database blip: try again at the next round
                log.exception("leadership: could not check the leader lock")

    async def _step(self) -> None:
        if self._held is not None:
            if await self._held.alive():
                return
            self._held = None
            log.warning("leadership lost (the database connection holding it broke)")
            await self._on_loss()
            return
        held = await self._try_lock()
        if held is None:
            return
        self._held = held
        self.terms += 1
        log.info("leadership taken: this worker sends scheduled pushes and reminders")
        await self._on_gain()

    async def stop(self) -> None:
        """Stop trying, and let go of the lead (another worker takes it within seconds)."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        if self._held is not None:
            held, self._held = self._held, None
            await held.release()
