"""The durable inbox and outbox, in the same SQLite file as everything else.

Inbox: every update is stored (raw JSON) before Telegram is told it was received, and marked
handled after its handlers ran; what a crash left unhandled is handled at the next start. Its
key, (bot id, update id), is also the repeat check: Telegram redelivers an update it was not
told about, and may number updates from 1 again (a new bot on an old file has another id; the
same bot after a week without updates is past the retention period).

Outbox: the replies of a committed input are written in the commit's own transaction (the
guarded commit, storage/learner_writes.py), sent after it and marked sent with the
message ids Telegram returned; what a crash left unsent is sent at the next start, at most
`MAX_ATTEMPTS` times.
"""

from __future__ import annotations

import json
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from datetime import datetime, timedelta

from pydantic import TypeAdapter

from flows.io import Reply
from storage.common import Clock, utc_now
from storage.database import Database
from storage.dialect import Sql
from storage.locks import chat_lock

RETENTION = timedelta(days=3)
"""Handled updates, sent replies and the repeat keys are kept this long. Telegram keeps an
unconfirmed update for 24 hours, and starts numbering again only after a week without any."""
MAX_ATTEMPTS = 2
"""A reply is sent once, and at most once more after a crash (a reply that crashes the bot
while being sent must not do so at every start)."""

_REPLIES = TypeAdapter(list[Reply])
_LAST_UPDATE_ID = 2**63 - 1


@dataclass(frozen=True, slots=True)
class StoredUpdate:
    update_id: int
    raw: str


@dataclass(frozen=True, slots=True)
class OutboxEntry:
    """The replies of one committed input, not yet confirmed by Telegram."""

    update_key: str
    learner_id: int
    replies: list[Reply]
    attempts: int


# PostgreSQL has no rowid: its `seq` column keeps the order replies were committed in.
_UNSENT = Sql(
    sqlite="SELECT update_key, learner_id, replies, attempts FROM outbox"
    " WHERE status = 'pending' ORDER BY created_at, rowid",
    postgresql="SELECT update_key, learner_id, replies, attempts FROM outbox"
    " WHERE status = 'pending' ORDER BY created_at, seq",
)


class SqliteInboxStore:
    """The inbox and the outbox, written through the database's group commit."""

    def __init__(self, database: Database, clock: Clock = utc_now) -> None:
        self._database = database
        self._clock = clock

    # --- inbox ----------------------------------------------------------------------------------

    async def receive(
        self, bot_id: int, update_id: int, chat_id: int | None, user_id: int | None, raw: str
    ) -> bool:
        """Store an update before it is acknowledged; False if it was stored before (a repeat)."""
        written = await self._database.write(
            (
                "INSERT INTO inbox (bot_id, update_id, chat_id, user_id, raw, received_at)"
                " VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (bot_id, update_id) DO NOTHING",
                (bot_id, update_id, chat_id, user_id, raw, self._clock().isoformat()),
            )
        )
        return written.rowcounts[0] == 1

    async def handled(self, bot_id: int, update_id: int) -> None:
        """The update's handlers have run: its raw text is dropped, its key kept."""
        await self._database.write(
            (
                "UPDATE inbox SET handled_at = ?, raw = NULL"
                " WHERE bot_id = ? AND update_id = ? AND handled_at IS NULL",
                (self._clock().isoformat(), bot_id, update_id),
            )
        )

    async def unhandled(self, bot_id: int) -> list[StoredUpdate]:
        """Updates stored but not handled (a crash), oldest first."""
        rows = await self._database.fetch(
            "SELECT update_id, raw FROM inbox WHERE bot_id = ? AND handled_at IS NULL"
            " ORDER BY update_id",
            (bot_id,),
        )
        return [StoredUpdate(int(row["update_id"]), str(row["raw"])) for row in rows]

    async def unhandled_in_chat(
        self, bot_id: int, chat_id: int, up_to: int | None = None
    ) -> list[StoredUpdate]:
        """The chat's updates stored but not handled, up to update id `up_to`, oldest first:
        under the chat's lock, what must be handled before (and including) that update."""
        rows = await self._database.fetch(
            "SELECT update_id, raw FROM inbox WHERE bot_id = ? AND handled_at IS NULL"
            " AND chat_id = ? AND update_id <= ? ORDER BY update_id",
            (bot_id, chat_id, _LAST_UPDATE_ID if up_to is None else up_to),
        )
        return [StoredUpdate(int(row["update_id"]), str(row["raw"])) for row in rows]

    def serialised(self, bot_id: int, chat_id: int) -> AbstractAsyncContextManager[None]:
        """Hold the chat's lock: its updates (and its replies' sending) one at a time, in
        whichever worker on this database they arrive."""
        return self._database.serialised(chat_lock(bot_id, chat_id))

    # --- outbox ---------------------------------------------------------------------------------

    async def unsent(self) -> list[OutboxEntry]:
        """Replies committed but not confirmed sent, oldest first."""
        rows = await self._database.fetch(_UNSENT)
        return [
            OutboxEntry(
                update_key=str(row["update_key"]),
                learner_id=int(row["learner_id"]),
                replies=_REPLIES.validate_json(row["replies"]),
                attempts=int(row["attempts"]),
            )
            for row in rows
        ]

    async def claim(self, update_key: str) -> bool:
        """Count a send attempt, durably, before sending; False once the attempts are used up
        (the entry is then recorded as failed)."""
        written = await self._database.write(
            (
                "UPDATE outbox SET status = 'failed', replies = NULL,"
                " reason = 'not confirmed after ' || attempts || ' attempts'"
                " WHERE update_key = ? AND status = 'pending' AND attempts >= ?",
                (update_key, MAX_ATTEMPTS),
            ),
            (
                "UPDATE outbox SET attempts = attempts + 1"
                " WHERE update_key = ? AND status = 'pending'",
                (update_key,),
            ),
        )
        return written.rowcounts[1] == 1

    async def sent(self, update_key: str, message_ids: list[int]) -> None:
        """Telegram confirmed the replies: never sent again; their text is dropped."""
        await self._database.write(
            (
                "UPDATE outbox SET status = 'sent', replies = NULL, message_ids = ?, sent_at = ?"
                " WHERE update_key = ?",
                (json.dumps(message_ids), self._clock().isoformat(), update_key),
            )
        )

    async def failed(self, update_key: str, reason: str) -> None:
        """Telegram refused the replies: not tried again (the learner was told to /resume)."""
        await self._database.write(
            (
                "UPDATE outbox SET status = 'failed', replies = NULL, reason = ?"
                " WHERE update_key = ? AND status = 'pending'",
                (reason[:200], update_key),
            )
        )

    async def status(self, update_key: str) -> str | None:
        rows = await self._database.fetch(
            "SELECT status FROM outbox WHERE update_key = ?", (update_key,)
        )
        return str(rows[0]["status"]) if rows else None

    # --- retention ------------------------------------------------------------------------------

    async def prune(self, now: datetime | None = None) -> int:
        """Drop handled updates, finished replies and repeat keys older than the retention
        period; how many rows went."""
        before = ((now or self._clock()) - RETENTION).isoformat()
        written = await self._database.write(
            ("DELETE FROM inbox WHERE handled_at IS NOT NULL AND received_at < ?", (before,)),
            ("DELETE FROM outbox WHERE status <> 'pending' AND created_at < ?", (before,)),
            ("DELETE FROM applied_updates WHERE applied_at < ?", (before,)),
        )
        return sum(written.rowcounts)
