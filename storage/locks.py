"""Lock keys shared by every worker on one database, and the in-process locks SQLite uses.

Several webhook workers on one PostgreSQL serialise work by advisory locks (a bigint key each);
one process on SQLite needs only an asyncio lock per key. A lock has a readable name;
PostgreSQL's advisory key is the first 8 bytes (signed) of the BLAKE2b hash of
`{schema}/{name}` (advisory locks are database-wide; the schema keeps two installations in
one database apart), so the names below are what README "Several workers" lists:

- `chat:{bot_id}:{chat_id}`: one learner's (one chat's) updates, handled one at a time.
- `leader:{bot_id}`: the one worker that sends scheduled pushes and reminders.
- `polling:{bot_id}`: the one process allowed to long-poll.

Two names that hash alike would only serialise each other's work, never break it.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
from collections.abc import AsyncIterator


def lock_key(name: str) -> int:
    """The signed 64-bit advisory lock key of a lock name."""
    digest = hashlib.blake2b(name.encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big", signed=True)


def chat_lock(bot_id: int, chat_id: int) -> str:
    return f"chat:{bot_id}:{chat_id}"


def leader_lock(bot_id: int) -> str:
    return f"leader:{bot_id}"


def polling_lock(bot_id: int) -> str:
    return f"polling:{bot_id}"


class KeyedLocks:
    """An asyncio lock per key, made on demand and dropped when nobody holds or awaits it."""

    def __init__(self) -> None:
        self._locks: dict[str, asyncio.Lock] = {}
        self._users: dict[str, int] = {}

    @contextlib.asynccontextmanager
    async def hold(self, key: str) -> AsyncIterator[None]:
        lock = self._locks.setdefault(key, asyncio.Lock())
        self._users[key] = self._users.get(key, 0) + 1
        try:
            async with lock:
                yield
        finally:
            self._users[key] -= 1
            if not self._users[key]:
                del self._users[key]
                del self._locks[key]

    def __len__(self) -> int:
        return len(self._locks)
