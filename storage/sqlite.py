"""The SQLite ProgressStore: the engine's port over a `Database` (storage/database.py).

A learner's commit is one guarded write (`Database.transact`): the repeat check on its update
key, the session's version check and every insert run in one savepoint of the group commit, so
one fsync covers many learners' inputs and a commit is applied entirely or not at all.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from types import TracebackType
from typing import Any, Self

from flows.ports import (
    AnswerRecord,
    Commit,
    LearnerProfile,
    ScenarioRun,
    SessionSnapshot,
    StaleSessionError,
)
from storage.common import Clock, check_commit, export_document, stale_message, utc_now
from storage.database import (
    Database,
    DatabaseUnavailableError,
    Migration,
    Reader,
    Row,
    SchemaVersionError,
    Statement,
    StoreClosedError,
    Transaction,
)
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
    "profile_statements",
    "split_statements",
]

_UPSERT_LEARNER = """
INSERT INTO learners (id, display_name, username, first_seen, last_active)
VALUES (?, ?, ?, ?, ?)
ON CONFLICT (id) DO UPDATE SET
    display_name = excluded.display_name,
    username = excluded.username,
    last_active = excluded.last_active
"""
# Telegram usernames are unique at any moment: whoever writes with one now holds it, so anyone
# stored with it before has renamed (and must not be found by it any more).
_RELEASE_USERNAME = """
UPDATE learners SET username = NULL WHERE username = ? COLLATE NOCASE AND id <> ?
"""
_UPDATE_SESSION = """
UPDATE sessions SET scenario_id = ?, state = ?, version = ?, data = ?, updated_at = ?
WHERE learner_id = ? AND version = ?
"""
_INSERT_SESSION = """
INSERT INTO sessions (scenario_id, state, version, data, updated_at, learner_id)
VALUES (?, ?, ?, ?, ?, ?)
ON CONFLICT (learner_id) DO NOTHING
"""
# A push (by_learner False) neither marks the learner active nor blanks the stored name.
_INSERT_LEARNER_QUIETLY = """
INSERT INTO learners (id, display_name, username, first_seen, last_active)
VALUES (?, ?, ?, ?, ?)
ON CONFLICT (id) DO NOTHING
"""
_INSERT_ANSWER = """
INSERT INTO answers (learner_id, question_id, answer, outcome, score, criteria, topic,
                     scenario_id, step, source, push_id, created_at, review, unrecognised,
                     ask_seq)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
"""
_INSERT_RUN = """
INSERT INTO scenario_runs (learner_id, scenario_id, score, results, finished_at)
VALUES (?, ?, ?, ?, ?)
"""
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
_SEEN_UPDATE = "SELECT 1 FROM applied_updates WHERE update_key = ?"
_INSERT_UPDATE_KEY = (
    "INSERT INTO applied_updates (update_key, learner_id, applied_at) VALUES (?, ?, ?)"
)
# attempts 1: the transport sends them as soon as this commit is on disk.
_INSERT_OUTBOX = (
    "INSERT INTO outbox (update_key, learner_id, replies, attempts, created_at)"
    " VALUES (?, ?, ?, 1, ?)"
)
_REMEMBER_POLL = (
    "INSERT OR REPLACE INTO polls (poll_id, learner_id, question_id, sent_at) VALUES (?, ?, ?, ?)"
)


class SqliteProgressStore:
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

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.close()

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
            lambda transaction: _write_commit(transaction, commit, clock)
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


def forget_statements(learner_id: int) -> list[Statement]:
    """The deletions that erase a learner. The tables of 0001 cascade from learners; polls,
    memberships and deliveries have no foreign key to learners."""
    return [
        ("DELETE FROM learners WHERE id = ?", (learner_id,)),
        ("DELETE FROM polls WHERE learner_id = ?", (learner_id,)),
        ("DELETE FROM memberships WHERE learner_id = ?", (learner_id,)),
        ("DELETE FROM deliveries WHERE learner_id = ?", (learner_id,)),
        ("DELETE FROM denied_attempts WHERE user_id = ?", (learner_id,)),
        # The inbox holds their raw messages; the outbox, replies not yet sent.
        ("DELETE FROM inbox WHERE user_id = ? OR chat_id = ?", (learner_id, learner_id)),
        ("DELETE FROM outbox WHERE learner_id = ?", (learner_id,)),
    ]


def _write_commit(transaction: Transaction, commit: Commit, clock: Clock) -> bool:
    """The guarded commit, in the writer's transaction: False if its update was applied
    before; StaleSessionError (and nothing written) if its session version does not follow."""
    learner = commit.learner
    if commit.update_key is not None and transaction.fetch(_SEEN_UPDATE, (commit.update_key,)):
        return False
    now = clock().isoformat()
    for sql, parameters in profile_statements(learner, now, by_learner=commit.by_learner):
        transaction.execute(sql, parameters)
    if commit.session is not None:
        _write_session(transaction, commit.session)
    if commit.answers:
        transaction.execute_many(_INSERT_ANSWER, [_answer_row(a) for a in commit.answers])
    if commit.finished_run is not None:
        run = commit.finished_run
        results = json.dumps([result.model_dump(mode="json") for result in run.results])
        transaction.execute(
            _INSERT_RUN,
            (run.learner_id, run.scenario_id, run.score, results, run.finished_at.isoformat()),
        )
    if commit.update_key is not None:
        transaction.execute(_INSERT_UPDATE_KEY, (commit.update_key, learner.learner_id, now))
        if commit.replies:
            # The outbox (storage/inbox.py): the replies commit with the input they answer.
            replies = json.dumps([reply.model_dump(mode="json") for reply in commit.replies])
            transaction.execute(
                _INSERT_OUTBOX, (commit.update_key, learner.learner_id, replies, now)
            )
    return True


def _write_session(transaction: Transaction, session: SessionSnapshot) -> None:
    values = (
        session.scenario_id,
        session.state,
        session.version,
        session.model_dump_json(),
        session.updated_at.isoformat(),
        session.learner_id,
    )
    # The version check is the WHERE clause: one statement on the common path.
    if transaction.execute(_UPDATE_SESSION, (*values, session.version - 1)).rowcount == 1:
        return
    if session.version == 1 and transaction.execute(_INSERT_SESSION, values).rowcount == 1:
        return
    rows = transaction.fetch(
        "SELECT version FROM sessions WHERE learner_id = ?", (session.learner_id,)
    )
    stored = int(rows[0]["version"]) if rows else None
    raise StaleSessionError(stale_message(session.learner_id, session.version, stored))


def profile_statements(
    learner: LearnerProfile, now: str, *, by_learner: bool = True
) -> list[tuple[str, tuple[object, ...]]]:
    """The writes that store who a learner is: their own input (`by_learner`) records their
    current name and takes their @username from anyone stored with it before; a push only
    makes sure a row exists."""
    row = (learner.learner_id, learner.display_name, learner.username, now, now)
    if not by_learner:
        return [(_INSERT_LEARNER_QUIETLY, row)]
    statements: list[tuple[str, tuple[object, ...]]] = []
    if learner.username:
        statements.append((_RELEASE_USERNAME, (learner.username, learner.learner_id)))
    statements.append((_UPSERT_LEARNER, row))
    return statements


# --- rows to records ----------------------------------------------------------------------------


def _answer_row(answer: AnswerRecord) -> tuple[object, ...]:
    return (
        answer.learner_id,
        answer.question_id,
        answer.answer,
        answer.outcome,
        answer.score,
        json.dumps(list(answer.criteria)),
        answer.topic,
        answer.scenario_id,
        answer.step,
        answer.source,
        answer.push_id,
        answer.created_at.isoformat(),
        int(answer.review),
        json.dumps(list(answer.unrecognised)),
        answer.ask_seq,
    )


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
_HELD: tuple[tuple[str, str], ...] = (
    (
        "polls",
        "SELECT poll_id, question_id, sent_at FROM polls WHERE learner_id = ? ORDER BY rowid",
    ),
    ("update_keys", "SELECT update_key FROM applied_updates WHERE learner_id = ? ORDER BY rowid"),
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
        "SELECT update_key, status, attempts, replies, message_ids, reason, created_at, sent_at"
        " FROM outbox WHERE learner_id = ? ORDER BY created_at, rowid",
    ),
)


async def _dicts(reader: Reader, sql: str, learner_id: int) -> list[dict[str, Any]]:
    return [dict(row) for row in await reader.fetch(sql, (learner_id,))]
