"""The SQLite ProgressStore: aiosqlite in WAL mode, numbered migrations and group commit.

Writes go through one background writer task: `apply()` queues its commit and waits; the writer
takes everything queued, writes it in one transaction (each commit in its own SAVEPOINT) and
resolves the waiting callers only after COMMIT. One fsync then covers many learners' inputs.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import re
import sqlite3
from collections.abc import AsyncIterator, Callable, Coroutine, Generator, Sequence
from dataclasses import dataclass
from datetime import datetime
from importlib import resources
from pathlib import Path
from types import TracebackType
from typing import Any, Concatenate, ParamSpec, Self, TypeVar

import aiosqlite

from flows.ports import (
    AnswerRecord,
    Commit,
    LearnerProfile,
    ScenarioRun,
    SessionSnapshot,
    StaleSessionError,
)
from storage.common import Clock, check_commit, export_document, stale_message, utc_now

_P = ParamSpec("_P")
_T = TypeVar("_T")

log = logging.getLogger(__name__)

GATHER_TURNS = 2
"""Event-loop turns the writer waits for more commits before it writes a batch."""

MEMORY = ":memory:"
MAX_BATCH = 256
BUSY_TIMEOUT_MS = 5_000
_MIGRATION_FILE = re.compile(r"^(\d{4})_[a-z0-9_]+\.sql$")


class SchemaVersionError(RuntimeError):
    """The database was written by a newer version of the code than this one."""


class DatabaseUnavailableError(RuntimeError):
    """The database file cannot be opened or written (a missing folder, no permission, not a
    database); the message names the file and what to do, in one line."""


def unavailable(database: str, error: sqlite3.Error) -> DatabaseUnavailableError:
    where = Path(database).resolve()
    return DatabaseUnavailableError(
        f"cannot use the database {where} ({error}): check that its folder exists and that"
        " this user may write to the folder and the file (SQLite writes -wal and -shm files"
        " beside it), or set DATABASE_URL to another file"
    )


# What SQLite says when the file itself is the problem (not the SQL run on it).
_FILE_PROBLEMS = ("unable to open", "readonly", "disk i/o", "not a database", "disk is full")


def _file_problem(error: sqlite3.Error) -> bool:
    return any(problem in str(error).lower() for problem in _FILE_PROBLEMS)


class StoreClosedError(RuntimeError):
    """The store was used after close(), or its writer stopped."""


def database_path(url: str) -> str:
    """The SQLite file (or ':memory:') named by a DATABASE_URL such as 'sqlite:///./coach.db'."""
    scheme, separator, rest = url.partition("://")
    if not separator:
        raise ValueError("DATABASE_URL must look like sqlite:///./coach.db")
    if scheme.lower() != "sqlite":
        # Name only the scheme: the rest of a server URL may hold a password.
        raise ValueError(
            f"DATABASE_URL uses {scheme!r}, but only SQLite is supported so far: use"
            " sqlite:///./coach.db (relative), sqlite:////abs/coach.db or sqlite:///:memory:"
        )
    if not rest.startswith("/") or len(rest) == 1 or "?" in rest:
        raise ValueError(
            "a SQLite DATABASE_URL is sqlite:/// followed by a path and nothing else"
            " (sqlite:///./coach.db, sqlite:////abs/coach.db or sqlite:///:memory:)"
        )
    return rest[1:]


# --- migrations ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Migration:
    """One numbered schema change, e.g. 0001_initial.sql."""

    version: int
    name: str
    sql: str


def load_migrations() -> tuple[Migration, ...]:
    """The shipped migrations in order; numbers are unique and start at 1. A gap is allowed:
    branches developed in parallel take numbers in advance (0008, 0009 …), and whichever
    lands first must still install."""
    found: list[Migration] = []
    for entry in (resources.files("storage") / "migrations").iterdir():
        if not entry.name.endswith(".sql"):
            continue
        match = _MIGRATION_FILE.match(entry.name)
        if match is None:
            raise ValueError(f"migration {entry.name!r} is not named like 0001_initial.sql")
        sql = entry.read_text(encoding="utf-8")
        found.append(Migration(int(match[1]), entry.name.removesuffix(".sql"), sql))
    found.sort(key=lambda migration: migration.version)
    versions = [migration.version for migration in found]
    if len(set(versions)) != len(versions) or (versions and versions[0] != 1):
        raise ValueError(f"migrations must have unique numbers from 1: found {versions}")
    return tuple(found)


def split_statements(script: str) -> list[str]:
    """Split a migration into statements, so they run inside our transaction.

    `executescript` would COMMIT on its own; `sqlite3.complete_statement` knows about string
    literals, comments and trigger bodies, so a ';' inside them does not end a statement.
    """
    statements: list[str] = []
    pending = ""
    *pieces, tail = script.split(";")
    for piece in pieces:
        pending += piece + ";"
        if sqlite3.complete_statement(pending):
            if pending.strip() != ";":
                statements.append(pending.strip())
            pending = ""
    rest = pending + tail
    if any(line.strip() and not line.strip().startswith("--") for line in rest.splitlines()):
        raise ValueError(f"migration ends with an incomplete statement: {rest.strip()[:80]!r}")
    return statements


async def _migrate(db: aiosqlite.Connection, migrations: Sequence[Migration]) -> None:
    # All pending migrations share one transaction: a failure leaves the schema as it was.
    # IMMEDIATE takes the write lock before the version is read, so two processes opening the
    # same new file cannot both decide to run 0001.
    await db.execute("BEGIN IMMEDIATE")
    try:
        await _apply_pending(db, migrations)
    except BaseException:
        await db.execute("ROLLBACK")
        raise
    await db.execute("COMMIT")


async def _apply_pending(db: aiosqlite.Connection, migrations: Sequence[Migration]) -> None:
    latest = max((migration.version for migration in migrations), default=0)
    await db.execute(
        "CREATE TABLE IF NOT EXISTS schema_version ("
        " version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)"
    )
    rows = list(await db.execute_fetchall("SELECT version FROM schema_version"))
    applied = {int(row[0]) for row in rows}
    current = max(applied, default=0)
    if current > latest:
        raise SchemaVersionError(
            f"the database is at schema version {current}, newer than this code knows"
            f" ({latest}): upgrade Aftercare Coach or point DATABASE_URL at another file"
        )
    for migration in migrations:
        # By set, not by the highest number: a migration numbered below one already applied
        # (its branch landed later) is still applied once.
        if migration.version in applied:
            continue
        for statement in split_statements(migration.sql):
            await db.execute(statement)
        await db.execute(
            "INSERT INTO schema_version (version, name, applied_at) VALUES (?, ?, ?)",
            (migration.version, migration.name, utc_now().isoformat()),
        )
        log.info("applied migration %s", migration.name)


def _probe(database: str) -> None:
    """Open the file (creating it) and close it again; raises what SQLite says if it can't."""
    sqlite3.connect(database).close()


async def _connect(database: str, *, query_only: bool = False) -> aiosqlite.Connection:
    # isolation_level=None: the sqlite3 module must not open transactions behind our back;
    # the writer issues BEGIN / SAVEPOINT / COMMIT itself.
    db = await aiosqlite.connect(database, isolation_level=None)
    try:
        await db.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        await db.execute("PRAGMA foreign_keys = ON")
        await db.execute("PRAGMA journal_mode = WAL")
        # NORMAL is durable across application crashes in WAL mode; only a power cut can lose
        # the last transactions, and it never corrupts the file.
        await db.execute("PRAGMA synchronous = NORMAL")
        # Deleted rows are overwritten with zeros, so /forget leaves no readable copy.
        await db.execute("PRAGMA secure_delete = ON")
        if query_only:
            await db.execute("PRAGMA query_only = ON")
    except BaseException:
        await db.close()
        raise
    return db


# --- the store ----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Forget:
    learner_id: int


@dataclass(frozen=True, slots=True)
class _Poll:
    poll_id: str
    learner_id: int
    question_id: str


@dataclass(frozen=True, slots=True)
class _Statements:
    """Writes from another repository of this package (storage.staff), run in order."""

    statements: tuple[tuple[str, tuple[object, ...]], ...]


_Work = Commit | _Forget | _Poll | _Statements


@dataclass(frozen=True, slots=True)
class Written:
    """What each of a group of statements did: rows changed, and the row id it inserted."""

    rowcounts: tuple[int, ...]
    row_ids: tuple[int | None, ...]


@dataclass(eq=False, slots=True)
class _Job:
    work: _Work
    future: asyncio.Future[bool | Written]
    """A commit's outcome (applied or not); for statements, what each did."""


class _Opening:
    """What `SqliteProgressStore.open()` returns: awaitable, or an async context manager."""

    def __init__(self, opening: Coroutine[Any, Any, SqliteProgressStore]) -> None:
        self._opening = opening
        self._store: SqliteProgressStore | None = None

    def __await__(self) -> Generator[Any, None, SqliteProgressStore]:
        return self._opening.__await__()

    async def __aenter__(self) -> SqliteProgressStore:
        self._store = await self._opening
        return self._store

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        if self._store is not None:
            await self._store.close()


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
                     scenario_id, step, source, push_id, created_at, review, unrecognised)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
"""
_INSERT_RUN = """
INSERT INTO scenario_runs (learner_id, scenario_id, score, results, finished_at)
VALUES (?, ?, ?, ?, ?)
"""
_SELECT_ANSWERS = """
SELECT learner_id, question_id, answer, outcome, score, criteria, topic, scenario_id, step,
       source, push_id, created_at, review, unrecognised
FROM answers WHERE learner_id = ? ORDER BY id
"""
_SELECT_RUNS = """
SELECT learner_id, scenario_id, score, results, finished_at
FROM scenario_runs WHERE learner_id = ? ORDER BY id
"""


class SqliteProgressStore:
    """ProgressStore on SQLite; open with `await SqliteProgressStore.open(path)`."""

    def __init__(
        self,
        writer: aiosqlite.Connection,
        reader: aiosqlite.Connection,
        *,
        name: str,
        clock: Clock,
        max_batch: int,
    ) -> None:
        """Use `open()`: this only wires up connections that are already migrated."""
        self._writer = writer
        # A file gets a second connection for reads: in WAL mode it sees only committed data
        # and runs on its own thread, so reads neither wait for a batch nor see half of one.
        # ":memory:" cannot be shared between connections, so there the writer's connection
        # also reads, and `_read_lock` keeps reads out of an open batch transaction.
        self._reader = reader
        self._shared = reader is writer
        # Reads are serialised anyway (one aiosqlite thread); the lock also stops a read from
        # landing inside export_learner's snapshot transaction and seeing an older state.
        self._read_lock = asyncio.Lock()
        self._clock = clock
        self._max_batch = max_batch
        self._queue: asyncio.Queue[_Job | None] = asyncio.Queue()
        self._closed = False
        self.commits_written = 0
        """Transactions the writer has committed (one per batch); read by tests and bench."""
        # Storage is no PTB application, so there is no app.create_task to use; the handle is
        # kept here and close() stops the task after it has drained the queue.
        self._writer_task = asyncio.create_task(self._write_forever(), name=f"{name}-writer")

    @classmethod
    def open(
        cls,
        path: Path | str,
        *,
        clock: Clock = utc_now,
        max_batch: int = MAX_BATCH,
        migrations: Sequence[Migration] | None = None,
    ) -> _Opening:
        """Open (creating and migrating if needed); `await` it or use it with `async with`."""
        if max_batch < 1:
            raise ValueError(f"max_batch must be at least 1, not {max_batch}")
        return _Opening(cls._open(str(path), clock, max_batch, migrations))

    @classmethod
    async def _open(
        cls,
        database: str,
        clock: Clock,
        max_batch: int,
        migrations: Sequence[Migration] | None,
    ) -> SqliteProgressStore:
        try:
            # Probed first with plain sqlite3: when aiosqlite fails to connect, its thread
            # later reports to an event loop that may be closed by then.
            await asyncio.to_thread(_probe, database)
            writer = await _connect(database)
        except sqlite3.DatabaseError as error:
            raise unavailable(database, error) from error
        reader = writer
        try:
            await _migrate(writer, load_migrations() if migrations is None else migrations)
            if database != MEMORY:
                reader = await _connect(database, query_only=True)
        except sqlite3.DatabaseError as error:
            await writer.close()
            if not _file_problem(error):
                raise  # a bad migration, not a bad file
            raise unavailable(database, error) from error
        except BaseException:
            await writer.close()
            raise
        name = f"sqlite:{Path(database).name}"
        return cls(writer, reader, name=name, clock=clock, max_batch=max_batch)

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
        """Write every commit already queued, then stop the writer and close the connections."""
        if self._closed:
            return
        self._closed = True
        self._queue.put_nowait(None)
        try:
            # wait() rather than await: a writer that was cancelled must not make close() raise.
            await asyncio.wait({self._writer_task})
        finally:
            if not self._shared:
                await self._reader.close()
            await self._writer.close()

    # --- the port -------------------------------------------------------------------------------

    async def load_session(self, learner_id: int) -> SessionSnapshot | None:
        """The learner's stored session, or None for a new learner."""
        async with self._reading() as db:
            return await _fetch_session(db, learner_id)

    async def apply(self, commit: Commit) -> bool:
        """Write a commit atomically; returns once the transaction holding it is committed."""
        check_commit(commit)
        return bool(await self._submit(commit))

    async def answers(self, learner_id: int) -> list[AnswerRecord]:
        """The learner's answers in the order they were committed."""
        async with self._reading() as db:
            return await _fetch_answers(db, learner_id)

    async def finished_runs(self, learner_id: int) -> list[ScenarioRun]:
        """The learner's finished scenarios in the order they were committed."""
        async with self._reading() as db:
            return await _fetch_runs(db, learner_id)

    async def export_learner(self, learner_id: int) -> dict[str, Any]:
        """Everything stored about a learner, as JSON-ready data, from one consistent snapshot."""
        async with self._reading() as db:
            await db.execute("BEGIN")
            try:
                rows = list(
                    await db.execute_fetchall(
                        "SELECT id, display_name, username, first_seen, last_active"
                        " FROM learners WHERE id = ?",
                        (learner_id,),
                    )
                )
                session = await _fetch_session(db, learner_id)
                answers = await _fetch_answers(db, learner_id)
                runs = await _fetch_runs(db, learner_id)
                held = {name: await _fetch_dicts(db, sql, learner_id) for name, sql in _HELD}
            finally:
                await db.execute("COMMIT")
        others: dict[str, Any] = {
            "polls": held["polls"],
            "update_keys": [str(row["update_key"]) for row in held["update_keys"]],
            "cohorts": held["cohorts"],
            "push_deliveries": held["push_deliveries"],
            "refused_commands": held["refused_commands"],
            "role": held["role"][0] if held["role"] else None,
        }
        if not rows:
            return export_document(**others)
        learner_row = rows[0]
        profile = LearnerProfile(
            learner_id=learner_row[0], display_name=learner_row[1], username=learner_row[2]
        )
        first_seen = datetime.fromisoformat(learner_row[3])
        last_active = datetime.fromisoformat(learner_row[4])
        return export_document(
            profile=profile,
            first_seen=first_seen,
            last_active=last_active,
            session=session,
            answers=answers,
            runs=runs,
            **others,
        )

    async def forget_learner(self, learner_id: int) -> None:
        """Erase the learner, their session, answers, runs, update keys, polls, cohort
        memberships, push deliveries and refused commands; zeroed on disk, WAL emptied."""
        # Through the writer, so the DELETE is ordered with the learner's queued commits.
        await self._submit(_Forget(learner_id))

    # --- quiz polls (the bot's PollRegistry) ----------------------------------------------------

    async def remember_poll(self, poll_id: str, learner_id: int, question_id: str) -> None:
        """Record who was sent a quiz poll, so its answer can be routed back to them."""
        await self._submit(_Poll(poll_id, learner_id, question_id))

    async def poll_recipient(self, poll_id: str) -> tuple[int, str] | None:
        """The learner and question a poll was sent for, or None for an unknown poll."""
        async with self._reading() as db:
            rows = list(
                await db.execute_fetchall(
                    "SELECT learner_id, question_id FROM polls WHERE poll_id = ?", (poll_id,)
                )
            )
        return (int(rows[0][0]), str(rows[0][1])) if rows else None

    # --- for other repositories in this package (storage.staff) ------------------------------

    async def _write_statements(self, *statements: tuple[str, tuple[object, ...]]) -> Written:
        """Run writes in one savepoint of the next group commit; return once committed, with
        the rows each statement changed and the row id each inserted."""
        written = await self._submit(_Statements(tuple(statements)))
        assert isinstance(written, Written)
        return written

    async def _fetch(self, sql: str, parameters: tuple[object, ...] = ()) -> list[tuple[Any, ...]]:
        """Rows of a read-only query, from committed data."""
        async with self._reading() as db:
            return [tuple(row) for row in await db.execute_fetchall(sql, parameters)]

    # --- reading --------------------------------------------------------------------------------

    @contextlib.asynccontextmanager
    async def _reading(self) -> AsyncIterator[aiosqlite.Connection]:
        self._check_open()
        async with self._read_lock:
            yield self._reader

    # --- writing --------------------------------------------------------------------------------

    def _check_open(self) -> None:
        if self._closed or self._writer_task.done():
            raise StoreClosedError("the progress store is closed")

    async def _submit(self, work: _Work) -> bool | Written:
        self._check_open()
        future: asyncio.Future[bool | Written] = asyncio.get_running_loop().create_future()
        self._queue.put_nowait(_Job(work, future))
        return await future

    async def _write_forever(self) -> None:
        batch: list[_Job] = []
        try:
            stopping = False
            while not stopping:
                job = await self._queue.get()
                if job is None:
                    return
                batch = [job]
                # Two turns of the event loop let the commits of inputs being handled right now
                # join this transaction (a batch is one thread round trip, so it would
                # otherwise often be written before the next commit arrives).
                for _ in range(GATHER_TURNS):
                    await asyncio.sleep(0)
                while len(batch) < self._max_batch and not self._queue.empty():
                    job = self._queue.get_nowait()
                    if job is None:
                        stopping = True
                        break
                    batch.append(job)
                await self._write_batch(batch)
                batch = []
        finally:
            # Only reached early if the task is cancelled: nobody may wait forever.
            leftovers = batch + [job for job in _drain(self._queue) if job is not None]
            for job in leftovers:
                _settle(job, StoreClosedError("the progress store's writer stopped"))

    async def _write_batch(self, batch: list[_Job]) -> None:
        # A caller that was cancelled while queued has given up: its commit is not written.
        live = [job for job in batch if not job.future.done()]
        if not live:
            return
        works = [job.work for job in live]
        async with self._read_lock if self._shared else contextlib.nullcontext():
            # The whole transaction in one hop to the connection's thread: a dozen statements
            # awaited one by one cost a thread round trip each (most of an answer's CPU).
            outcomes = await _in_thread(self._writer, _write_batch, works, self._clock)
        if isinstance(outcomes, Exception):
            for job in live:
                _settle(job, outcomes)
            return
        self.commits_written += 1
        if any(isinstance(job.work, _Forget) for job in live):
            await self._checkpoint()
        for job, outcome in zip(live, outcomes, strict=True):
            _settle(job, outcome)

    async def _checkpoint(self) -> None:
        """After an erasure: copy the WAL into the file and empty it, so no old copy of the
        learner's pages stays in the WAL (secure_delete has zeroed them in the file)."""
        try:
            # Fetched to the end: a pragma left mid-result blocks the next SAVEPOINT.
            await self._writer.execute_fetchall("PRAGMA wal_checkpoint(TRUNCATE)")
        except sqlite3.Error:
            # The erasure is committed; the next automatic checkpoint catches up.
            log.warning("could not checkpoint the WAL after an erasure", exc_info=True)


async def _in_thread(
    db: aiosqlite.Connection,
    work: Callable[Concatenate[sqlite3.Connection, _P], _T],
    *args: _P.args,
    **kwargs: _P.kwargs,
) -> _T:
    """Run `work(connection, ...)` on the connection's own thread, in one round trip.

    aiosqlite's public methods (execute, executemany, …) each go through `_execute` like this;
    aiosqlite offers no public way to run several statements in one hop (pinned below 1.0).
    """
    result: _T = await db._execute(  # type: ignore[no-untyped-call]  # aiosqlite's own helper
        lambda: work(db._conn, *args, **kwargs)
    )
    return result


def _write_batch(
    db: sqlite3.Connection, works: Sequence[_Work], clock: Clock
) -> list[bool | Written | Exception] | Exception:
    """One transaction for a batch of commits; each in a savepoint of its own, so one that
    fails is rolled back alone and its error returned for its caller only."""
    try:
        # IMMEDIATE: take the write lock now instead of failing to upgrade mid-batch
        # when another process (a report, a backup) has written in between.
        db.execute("BEGIN IMMEDIATE")
        outcomes = [_write_one(db, work, clock) for work in works]
        db.execute("COMMIT")
    except Exception as error:  # noqa: BLE001  # handed to every waiting caller
        with contextlib.suppress(sqlite3.Error):
            db.execute("ROLLBACK")
        return error
    return outcomes


def _write_one(db: sqlite3.Connection, work: _Work, clock: Clock) -> bool | Written | Exception:
    written: bool | Written
    db.execute("SAVEPOINT one_commit")
    try:
        if isinstance(work, _Forget):
            # The tables of 0001 cascade from learners; polls, memberships and deliveries
            # have no foreign key to learners.
            db.execute("DELETE FROM learners WHERE id = ?", (work.learner_id,))
            db.execute("DELETE FROM polls WHERE learner_id = ?", (work.learner_id,))
            db.execute("DELETE FROM memberships WHERE learner_id = ?", (work.learner_id,))
            db.execute("DELETE FROM deliveries WHERE learner_id = ?", (work.learner_id,))
            db.execute("DELETE FROM denied_attempts WHERE user_id = ?", (work.learner_id,))
            written = True
        elif isinstance(work, _Statements):
            rowcounts: list[int] = []
            row_ids: list[int | None] = []
            for sql, parameters in work.statements:
                cursor = db.execute(sql, parameters)
                rowcounts.append(cursor.rowcount)
                row_ids.append(cursor.lastrowid)
            written = Written(tuple(rowcounts), tuple(row_ids))
        elif isinstance(work, _Poll):
            db.execute(
                "INSERT OR REPLACE INTO polls (poll_id, learner_id, question_id, sent_at)"
                " VALUES (?, ?, ?, ?)",
                (work.poll_id, work.learner_id, work.question_id, clock().isoformat()),
            )
            written = True
        else:
            written = _write_commit(db, work, clock)
    # Any failure here belongs to this commit's caller alone: it is rolled back and raised
    # in that caller (not swallowed), and the rest of the batch goes on.
    except Exception as error:  # noqa: BLE001
        db.execute("ROLLBACK TO one_commit")
        db.execute("RELEASE one_commit")
        return error
    db.execute("RELEASE one_commit")
    return written


def _write_commit(db: sqlite3.Connection, commit: Commit, clock: Clock) -> bool:
    learner = commit.learner
    if commit.update_key is not None:
        seen = db.execute(
            "SELECT 1 FROM applied_updates WHERE update_key = ?", (commit.update_key,)
        ).fetchall()
        if seen:
            return False
    now = clock().isoformat()
    for sql, parameters in profile_statements(learner, now, by_learner=commit.by_learner):
        db.execute(sql, parameters)
    if commit.session is not None:
        _write_session(db, commit.session)
    if commit.answers:
        db.executemany(_INSERT_ANSWER, [_answer_row(a) for a in commit.answers])
    if commit.finished_run is not None:
        run = commit.finished_run
        results = json.dumps([result.model_dump(mode="json") for result in run.results])
        db.execute(
            _INSERT_RUN,
            (run.learner_id, run.scenario_id, run.score, results, run.finished_at.isoformat()),
        )
    if commit.update_key is not None:
        db.execute(
            "INSERT INTO applied_updates (update_key, learner_id, applied_at) VALUES (?, ?, ?)",
            (commit.update_key, learner.learner_id, now),
        )
    return True


def _write_session(db: sqlite3.Connection, session: SessionSnapshot) -> None:
    values = (
        session.scenario_id,
        session.state,
        session.version,
        session.model_dump_json(),
        session.updated_at.isoformat(),
        session.learner_id,
    )
    # The version check is the WHERE clause: one statement on the common path.
    if db.execute(_UPDATE_SESSION, (*values, session.version - 1)).rowcount == 1:
        return
    if session.version == 1 and db.execute(_INSERT_SESSION, values).rowcount == 1:
        return
    rows = db.execute(
        "SELECT version FROM sessions WHERE learner_id = ?", (session.learner_id,)
    ).fetchall()
    stored = int(rows[0][0]) if rows else None
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
    )


async def _fetch_session(db: aiosqlite.Connection, learner_id: int) -> SessionSnapshot | None:
    rows = list(
        await db.execute_fetchall("SELECT data FROM sessions WHERE learner_id = ?", (learner_id,))
    )
    return SessionSnapshot.model_validate_json(rows[0][0]) if rows else None


async def _fetch_answers(db: aiosqlite.Connection, learner_id: int) -> list[AnswerRecord]:
    rows = await db.execute_fetchall(_SELECT_ANSWERS, (learner_id,))
    return [
        AnswerRecord.model_validate(
            {
                "learner_id": row[0],
                "question_id": row[1],
                "answer": row[2],
                "outcome": row[3],
                "score": row[4],
                "criteria": tuple(json.loads(row[5])),
                "topic": row[6],
                "scenario_id": row[7],
                "step": row[8],
                "source": row[9],
                "push_id": row[10],
                "created_at": datetime.fromisoformat(row[11]),
                "review": bool(row[12]),
                "unrecognised": tuple(json.loads(row[13])),
            }
        )
        for row in rows
    ]


async def _fetch_runs(db: aiosqlite.Connection, learner_id: int) -> list[ScenarioRun]:
    rows = await db.execute_fetchall(_SELECT_RUNS, (learner_id,))
    return [
        ScenarioRun.model_validate(
            {
                "learner_id": row[0],
                "scenario_id": row[1],
                "score": row[2],
                "results": json.loads(row[3]),
                "finished_at": datetime.fromisoformat(row[4]),
            }
        )
        for row in rows
    ]


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
)


async def _fetch_dicts(
    db: aiosqlite.Connection, sql: str, learner_id: int
) -> list[dict[str, Any]]:
    cursor = await db.execute(sql, (learner_id,))
    names = [column[0] for column in cursor.description]
    rows = await cursor.fetchall()
    await cursor.close()
    return [dict(zip(names, row, strict=True)) for row in rows]


def _drain(queue: asyncio.Queue[_Job | None]) -> list[_Job | None]:
    items: list[_Job | None] = []
    while not queue.empty():
        items.append(queue.get_nowait())
    return items


def _settle(job: _Job, outcome: bool | Written | BaseException) -> None:
    if job.future.done():
        return
    if isinstance(outcome, BaseException):
        job.future.set_exception(outcome)
    else:
        job.future.set_result(outcome)
