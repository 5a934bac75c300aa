"""Updates of one chat are handled in order; different chats run concurrently."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

from telegram import Update
from telegram.ext import BaseUpdateProcessor


def update_owner(update: object) -> int | None:
    """The chat (or, for poll answers, the user) an update belongs to."""
    if not isinstance(update, Update):
        return None
    if update.poll_answer is not None and update.poll_answer.user is not None:
        # Poll answers carry no chat; in a private chat the chat id is the user id.
        return update.poll_answer.user.id
    if update.effective_chat is not None:
        return update.effective_chat.id
    if update.effective_user is not None:
        return update.effective_user.id
    return None


InOrder = Callable[[int, Update, Awaitable[Any]], Awaitable[None]]
"""Runs one update's handlers for a chat, in order with the other workers (inbox.py)."""


class PerChatUpdateProcessor(BaseUpdateProcessor):
    """Serialises updates per chat so two quick taps never race, without a global lock; with
    an `InOrder` attached, also across the workers sharing the database."""

    def __init__(self, max_concurrent_updates: int = 256) -> None:
        super().__init__(max_concurrent_updates)
        self._locks: dict[int, asyncio.Lock] = {}
        self._waiting: dict[int, int] = {}
        self._in_order: InOrder | None = None

    def attach(self, in_order: InOrder) -> None:
        """From now on each chat's update runs through `in_order` (set once the inbox is)."""
        self._in_order = in_order

    async def do_process_update(self, update: object, coroutine: Awaitable[Any]) -> None:
        """Run the handler coroutine while holding the lock of the update's chat."""
        owner = update_owner(update)
        if owner is None:
            await coroutine
            return
        lock = self._locks.setdefault(owner, asyncio.Lock())
        self._waiting[owner] = self._waiting.get(owner, 0) + 1
        try:
            async with lock:
                if self._in_order is not None and isinstance(update, Update):
                    await self._in_order(owner, update, coroutine)
                else:
                    await coroutine
        finally:
            self._waiting[owner] -= 1
            if not self._waiting[owner]:
                del self._waiting[owner]
                del self._locks[owner]

    async def initialize(self) -> None:
        """Nothing to set up: locks are made on demand."""

    async def shutdown(self) -> None:
        """Nothing to tear down: locks are dropped when their chat goes quiet."""

    @property
    def chats_in_flight(self) -> int:
        return len(self._locks)
