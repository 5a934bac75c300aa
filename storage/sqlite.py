"""The SQLite ProgressStore: the engine's port over a `Database` (storage/database.py).

A learner's commit is one guarded write (`Database.transact` of storage/learner_writes.py's
`write_commit`): the repeat check on its update key, the session's version check and every
insert run in one savepoint of the group commit, so one fsync covers many learners' inputs and
a commit is applied entirely or not at all.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

from flows.ports import (
    AnswerRecord,
    Commit,
    LearnerProfile,
    ScenarioRun,
    SessionSnapshot,
)
from storage.common import Clock, ClosesOnExit, check_commit, export_document, utc_now
from storage.database import (
    Database,
    DatabaseUnavailableError,
    Migration,
    Query,
    Reader,
    Row,
    SchemaVersionError,
    StoreClosedError,
    Transaction,
)
from storage.dialect import Sql
from storage.learner_writes import forget_statements, write_commit
from storage.schema import load_migrations, split_statements
from storage.sqlite_database import MAX_BATCH, Opening, SqliteDatabase, database_path

__all__ = [
    "ANSWER_COLUMNS",
    "DatabaseUnavailableError",
    "Migration",
    "SchemaVersionError",
    "SqliteProgressStore",
    "StoreClosedError",
    "answer_record",
    "database_path",
    "load_migrations",
    "split_statements",
]

ANSWER_COLUMNS = (
    "learner_id, question_id, answer, outcome, score, criteria, topic, scenario_id, step,"
    " source, push_id, created_at, review, unrecognised, ask_seq"
)
"""The answers table's columns of an `AnswerRecord`, as `answer_record` reads them."""
_SELECT_ANSWERS = f"SELECT {ANSWER_COLUMNS} FROM answers WHERE learner_id = ? ORDER BY id"  # noqa: S608
_SELECT_RUNS = """
SELECT learner_id, scenario_id, score, results, finished_at
FROM scenario_runs WHERE learner_id = ? ORDER BY id
"""
_SELECT_SESSION = "SELECT data FROM sessions WHERE learner_id = ?"
_SELECT_LEARNER = (
    "SELECT id, display_name, username, first_seen, last_active FROM learners WHERE id = ?"
)
_REMEMBER_POLL = (
    "INSERT INTO polls (poll_id, learner_id, question_id, sent_at) VALUES (?, ?, ?, ?)"
    " ON CONFLICT (poll_id) DO UPDATE SET learner_id = excluded.learner_id,"
    " question_id = excluded.question_id, sent_at = excluded.sent_at"
)


class SqliteProgressStore(ClosesOnExit):
    """ProgressStore over a `Database`: `SqliteProgressStore(database)` shares the
    application's database; `await SqliteProgressStore.open(path)` opens one of its own (and
    closes it on close())."""

    def __init__(
        self, database: Database, *, clock: Clock = utc_now, closes_database: bool = False
    ) -> None:
        """`closes_database`: close() closes the database too (the store opened it)."""
        self.database = database
        """The database it writes to; the bot's other stores are built on the same one."""
        self._clock = clock
        self._closes_database = closes_database

    @classmethod
    def open(
        cls,
        path: Path | str,
        *,
        clock: Clock = utc_now,
        max_batch: int = MAX_BATCH,
        migrations: Sequence[Migration] | None = None,
    ) -> Opening[SqliteProgressStore]:
        """Open a SQLite file (creating and migrating it if needed) for this store alone;
        `await` it or use it with `async with`."""
        opening = SqliteDatabase.open(path, max_batch=max_batch, migrations=migrations)
        return Opening(cls._own(opening, clock))

    @classmethod
    async def _own(cls, opening: Opening[SqliteDatabase], clock: Clock) -> SqliteProgressStore:
        return cls(await opening, clock=clock, closes_database=True)

    async def close(self) -> None:
        """Close the database if this store opened it (its queued commits are written first)."""
        if self._closes_database:
            await self.database.close()

    # --- the port -------------------------------------------------------------------------------

    async def load_session(self, learner_id: int) -> SessionSnapshot | None:
        """The learner's stored session, or None for a new learner."""
        return _session(await self.database.fetch(_SELECT_SESSION, (learner_id,)))

    async def apply(self, commit: Commit) -> bool:
        """Write a commit atomically; returns once the transaction holding it is committed."""
        check_commit(commit)
        clock = self._clock
        applied: bool = await self.database.transact(
            lambda transaction: write_commit(transaction, commit, clock)
        )
        return applied

    async def answers(self, learner_id: int) -> list[AnswerRecord]:
        """The learner's answers in the order they were committed."""
        return [
            answer_record(row) for row in await self.database.fetch(_SELECT_ANSWERS, (learner_id,))
        ]

    async def finished_runs(self, learner_id: int) -> list[ScenarioRun]:
        """The learner's finished scenarios in the order they were committed."""
        return [_run(row) for row in await self.database.fetch(_SELECT_RUNS, (learner_id,))]

    async def export_learner(self, learner_id: int) -> dict[str, Any]:
        """Everything stored about a learner, as JSON-ready data, from one consistent snapshot."""
        async with self.database.snapshot() as reader:
            rows = await reader.fetch(_SELECT_LEARNER, (learner_id,))
            session = _session(await reader.fetch(_SELECT_SESSION, (learner_id,)))
            answers = [
                answer_record(row) for row in await reader.fetch(_SELECT_ANSWERS, (learner_id,))
            ]
            runs = [_run(row) for row in await reader.fetch(_SELECT_RUNS, (learner_id,))]
            held = {name: await _dicts(reader, sql, learner_id) for name, sql in _HELD}
        others: dict[str, Any] = {
            "polls": held["polls"],
            "update_keys": [str(row["update_key"]) for row in held["update_keys"]],
            "cohorts": held["cohorts"],
            "push_deliveries": held["push_deliveries"],
            "refused_commands": held["refused_commands"],
            "role": held["role"][0] if held["role"] else None,
            "inbox": held["inbox"],
            "outbox": held["outbox"],
        }
        if not rows:
            return export_document(**others)
        learner = rows[0]
        profile = LearnerProfile(
            learner_id=learner["id"],
            display_name=learner["display_name"],
            username=learner["username"],
        )
        return export_document(
            profile=profile,
            first_seen=datetime.fromisoformat(learner["first_seen"]),
            last_active=datetime.fromisoformat(learner["last_active"]),
            session=session,
            answers=answers,
            runs=runs,
            **others,
        )

    async def forget_learner(self, learner_id: int) -> None:
        """Erase the learner, their session, answers, runs, update keys, polls, cohort
        memberships, push deliveries and refused commands; zeroed on disk, WAL emptied."""
        # Through the writer, so the DELETE is ordered with the learner's queued commits.
        await self.database.erase(*forget_statements(learner_id))

    # --- quiz polls (the bot's PollRegistry) ----------------------------------------------------

    async def remember_poll(self, poll_id: str, learner_id: int, question_id: str) -> None:
        """Record who was sent a quiz poll, so its answer can be routed back to them."""
        clock = self._clock

        def remember(transaction: Transaction) -> None:
            # The clock is read in the writer, where the commit's own clock reading is taken.
            sent_at = clock().isoformat()
            transaction.execute(_REMEMBER_POLL, (poll_id, learner_id, question_id, sent_at))

        await self.database.transact(remember)

    async def poll_recipient(self, poll_id: str) -> tuple[int, str] | None:
        """The learner and question a poll was sent for, or None for an unknown poll."""
        rows = await self.database.fetch(
            "SELECT learner_id, question_id FROM polls WHERE poll_id = ?", (poll_id,)
        )
        return (int(rows[0]["learner_id"]), str(rows[0]["question_id"])) if rows else None


# --- rows to records ----------------------------------------------------------------------------


def _session(rows: Sequence[Row]) -> SessionSnapshot | None:
    return SessionSnapshot.model_validate_json(rows[0]["data"]) if rows else None


def answer_record(row: Row) -> AnswerRecord:
    """An answers row (the columns of `ANSWER_COLUMNS`) as the engine's record."""
    return AnswerRecord.model_validate(
        {
            **row,
            "criteria": tuple(json.loads(row["criteria"])),
            "created_at": datetime.fromisoformat(row["created_at"]),
            "review": bool(row["review"]),
            "unrecognised": tuple(json.loads(row["unrecognised"])),
        }
    )


def _run(row: Row) -> ScenarioRun:
    return ScenarioRun.model_validate(
        {
            **row,
            "results": json.loads(row["results"]),
            "finished_at": datetime.fromisoformat(row["finished_at"]),
        }
    )


# Everything else held about a learner, for /mydata: (key, query of one learner's rows).
# PostgreSQL has no rowid: its `seq` column keeps the order rows were written in.
_HELD: tuple[tuple[str, Query], ...] = (
    (
        "polls",
        Sql(
            sqlite="SELECT poll_id, question_id, sent_at FROM polls WHERE learner_id = ?"
            " ORDER BY rowid",
            postgresql="SELECT poll_id, question_id, sent_at FROM polls WHERE learner_id = ?"
            " ORDER BY seq",
        ),
    ),
    (
        "update_keys",
        Sql(
            sqlite="SELECT update_key FROM applied_updates WHERE learner_id = ? ORDER BY rowid",
            postgresql="SELECT update_key FROM applied_updates WHERE learner_id = ? ORDER BY seq",
        ),
    ),
    (
        "cohorts",
        "SELECT c.name AS cohort, m.joined_at FROM memberships m"
        " JOIN cohorts c ON c.id = m.cohort_id WHERE m.learner_id = ? ORDER BY m.joined_at",
    ),
    (
        "push_deliveries",
        "SELECT push_id, status, attempts, message_id, poll_id, reason, updated_at"
        " FROM deliveries WHERE learner_id = ? ORDER BY push_id",
    ),
    (
        "refused_commands",
        "SELECT command, at AS first_at, coalesce(last_at, at) AS last_at, count"
        " FROM denied_attempts WHERE user_id = ? ORDER BY id",
    ),
    ("role", "SELECT role, granted_by, granted_at FROM roles WHERE user_id = ?"),
    (
        "inbox",
        "SELECT update_id, raw, received_at, handled_at FROM inbox WHERE user_id = ?"
        " ORDER BY bot_id, update_id",
    ),
    (
        "outbox",
        Sql(
            sqlite="SELECT update_key, status, attempts, replies, message_ids, reason,"
            " created_at, sent_at FROM outbox WHERE learner_id = ? ORDER BY created_at, rowid",
            postgresql="SELECT update_key, status, attempts, replies, message_ids, reason,"
            " created_at, sent_at FROM outbox WHERE learner_id = ? ORDER BY created_at, seq",
        ),
    ),
)


async def _dicts(reader: Reader, sql: Query, learner_id: int) -> list[dict[str, Any]]:
    return [dict(row) for row in await reader.fetch(sql, (learner_id,))]
