"""The `Database` on SQLite: aiosqlite in WAL mode, a reader connection beside the writer's,
group commit (storage/group_commit.py) and the numbered migrations (storage/schema.py)."""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import os
import sqlite3
from collections.abc import AsyncIterator, Coroutine, Generator, Sequence
from contextlib import AbstractAsyncContextManager
from pathlib import Path
from types import TracebackType
from typing import Any, Generic, Protocol, TypeVar

import aiosqlite

from storage import schema
from storage.database import (
    DatabaseUnavailableError,
    Migration,
    MigrationStatus,
    Query,
    Reader,
    Row,
)
from storage.dialect import Dialect, sqlite_text
from storage.group_commit import GroupCommitted, GroupCommitWriter, SqliteBatchRunner, write_alone
from storage.locks import KeyedLocks

_T = TypeVar("_T")

MEMORY = ":memory:"
MAX_BATCH = 256
BUSY_TIMEOUT_MS = 5_000


def database_path(url: str) -> str:
    """The SQLite file (or ':memory:') named by a DATABASE_URL such as 'sqlite:///./coach.db'."""
    scheme, separator, rest = url.partition("://")
    if not separator:
        raise ValueError("DATABASE_URL must look like sqlite:///./coach.db")
    if scheme.lower() != "sqlite":
        # Name only the scheme: the rest of a server URL may hold a password.
        raise ValueError(
            f"DATABASE_URL uses {scheme!r}, not SQLite: use sqlite:///./coach.db (relative),"
            " sqlite:////abs/coach.db or sqlite:///:memory: (PostgreSQL: postgresql://…)"
        )
    if not rest.startswith("/") or len(rest) == 1 or "?" in rest:
        raise ValueError(
            "a SQLite DATABASE_URL is sqlite:/// followed by a path and nothing else"
            " (sqlite:///./coach.db, sqlite:////abs/coach.db or sqlite:///:memory:)"
        )
    return rest[1:]


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


def _probe(database: str) -> None:
    """Open the file (creating it) and close it again; raises what SQLite says if it can't."""
    sqlite3.connect(database).close()


async def _connect(database: str, *, query_only: bool = False) -> aiosqlite.Connection:
    # isolation_level=None: the sqlite3 module must not open transactions behind our back;
    # the writer issues BEGIN / SAVEPOINT / COMMIT itself.
    db = await aiosqlite.connect(database, isolation_level=None)
    # Rows map by column name (and cost less than tuples: sqlite3.Row is built in C).
    db.row_factory = sqlite3.Row
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


class Closable(Protocol):
    async def close(self) -> None: ...


_Opened = TypeVar("_Opened", bound=Closable)


class Opening(Generic[_Opened]):
    """What `open()` returns: awaitable, or an async context manager that closes it."""

    def __init__(self, opening: Coroutine[Any, Any, _Opened]) -> None:
        self._opening = opening
        self._opened: _Opened | None = None

    def __await__(self) -> Generator[Any, None, _Opened]:
        return self._opening.__await__()

    async def __aenter__(self) -> _Opened:
        self._opened = await self._opening
        return self._opened

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        if self._opened is not None:
            await self._opened.close()


class _SnapshotReader:
    def __init__(self, connection: aiosqlite.Connection) -> None:
        self._connection = connection

    async def fetch(self, sql: Query, parameters: Sequence[object] = ()) -> list[Row]:
        return list(await self._connection.execute_fetchall(sqlite_text(sql), parameters))


class SqliteDatabase(GroupCommitted):
    """A SQLite file (or ':memory:'); open with `await SqliteDatabase.open(path)`."""

    dialect: Dialect = "sqlite"

    def __init__(
        self,
        writer: aiosqlite.Connection,
        reader: aiosqlite.Connection,
        *,
        name: str,
        max_batch: int,
        migrations: Sequence[Migration],
        path: str | None = None,
    ) -> None:
        """Use `open()`: this only wires up connections that are already open."""
        self._path = path
        self._serialising = KeyedLocks()
        self._held_here: set[str] = set()
        # A file gets a second connection for reads: in WAL mode it sees only committed data
        # and runs on its own thread, so reads neither wait for a batch nor see half of one.
        # ":memory:" cannot be shared between connections, so there the writer's connection
        # also reads, and `_read_lock` keeps reads out of an open batch transaction.
        self._connection = writer
        self._reader = reader
        self._shared = reader is writer
        # Reads are serialised anyway (one aiosqlite thread); the lock also stops a read from
        # landing inside a snapshot transaction and seeing an older state.
        self._read_lock = asyncio.Lock()
        self._migrations = tuple(migrations)
        self._closed = False
        self._writer = GroupCommitWriter(
            SqliteBatchRunner(writer),
            name=name,
            max_batch=max_batch,
            read_lock=self._read_lock if self._shared else None,
        )

    @classmethod
    def open(
        cls,
        path: Path | str,
        *,
        max_batch: int = MAX_BATCH,
        migrations: Sequence[Migration] | None = None,
        migrate: bool = True,
    ) -> Opening[SqliteDatabase]:
        """Open (creating it if needed; applying pending migrations unless `migrate` is
        False); `await` it or use it with `async with`."""
        if max_batch < 1:
            raise ValueError(f"max_batch must be at least 1, not {max_batch}")
        chosen = schema.load_migrations() if migrations is None else tuple(migrations)
        return Opening(cls._open(str(path), max_batch, chosen, migrate))

    @classmethod
    async def _open(
        cls, database: str, max_batch: int, migrations: Sequence[Migration], migrate: bool
    ) -> SqliteDatabase:
        try:
            # Probed first with plain sqlite3: when aiosqlite fails to connect, its thread
            # later reports to an event loop that may be closed by then.
            await asyncio.to_thread(_probe, database)
            writer = await _connect(database)
        except sqlite3.DatabaseError as error:
            raise unavailable(database, error) from error
        try:
            if migrate:
                # Before the writer starts, so the migration is no group commit of its own.
                await write_alone(writer, lambda tx: schema.apply_pending(tx, migrations))
        except sqlite3.DatabaseError as error:
            await writer.close()
            if not _file_problem(error):
                raise  # a bad migration, not a bad file
            raise unavailable(database, error) from error
        except BaseException:
            await writer.close()
            raise
        reader = writer
        try:
            if database != MEMORY:
                reader = await _connect(database, query_only=True)
        except sqlite3.DatabaseError as error:
            await writer.close()
            raise unavailable(database, error) from error
        except BaseException:
            await writer.close()
            raise
        name = f"sqlite:{Path(database).name}"
        opened = cls(
            writer,
            reader,
            name=name,
            max_batch=max_batch,
            migrations=migrations,
            path=None if database == MEMORY else database,
        )
        if not migrate:
            try:
                await opened.migration_status()  # refuses a file newer than this code
            except BaseException:
                await opened.close()
                raise
        return opened

    async def _close_connections(self) -> None:
        if not self._shared:
            await self._reader.close()
        await self._connection.close()

    # --- reading --------------------------------------------------------------------------------

    async def fetch(self, sql: Query, parameters: Sequence[object] = ()) -> list[Row]:
        """Rows of a read-only query, from committed data."""
        async with self._reading() as db:
            return list(await db.execute_fetchall(sqlite_text(sql), parameters))

    def snapshot(self) -> AbstractAsyncContextManager[Reader]:
        """Several reads in one read transaction: they see one committed state."""
        return self._snapshot()

    @contextlib.asynccontextmanager
    async def _snapshot(self) -> AsyncIterator[Reader]:
        async with self._reading() as db:
            await db.execute("BEGIN")
            try:
                yield _SnapshotReader(db)
            finally:
                await db.execute("COMMIT")

    @contextlib.asynccontextmanager
    async def _reading(self) -> AsyncIterator[aiosqlite.Connection]:
        self._check_open()
        async with self._read_lock:
            yield self._reader

    # --- locks ----------------------------------------------------------------------------------

    def serialised(self, name: str) -> AbstractAsyncContextManager[None]:
        """One process writes a SQLite file: an asyncio lock per name is enough."""
        return self._serialising.hold(name)

    async def try_lock(self, name: str) -> _FileLock | _ProcessLock | None:
        """A lock file beside the database (`coach.db.polling-….lock`), held by an open file
        description, so it goes with the process; ':memory:' has no other process."""
        if name in self._held_here:
            return None
        if self._path is None:
            held: _FileLock | _ProcessLock = _ProcessLock(name, self._held_here)
        else:
            lock_path = f"{self._path}.{name.replace(':', '-')}.lock"
            descriptor = await asyncio.to_thread(os.open, lock_path, os.O_RDWR | os.O_CREAT, 0o600)
            try:
                fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                os.close(descriptor)
                return None
            held = _FileLock(name, self._held_here, descriptor)
        self._held_here.add(name)
        return held

    # --- writing --------------------------------------------------------------------------------

    # --- migrations -----------------------------------------------------------------------------

    async def migration_status(self) -> MigrationStatus:
        """Which migrations this file has applied, and which are pending."""
        tables = await self.fetch(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name = 'schema_version'"
        )
        applied: set[int] = set()
        if tables:
            rows = await self.fetch("SELECT version FROM schema_version")
            applied = {int(row["version"]) for row in rows}
        return schema.status(applied, self._migrations)

    async def upgrade(self) -> tuple[Migration, ...]:
        """Apply the pending migrations, all in one savepoint of the group commit."""
        migrations = self._migrations
        applied: tuple[Migration, ...] = await self.transact(
            lambda transaction: schema.apply_pending(transaction, migrations)
        )
        return applied


class _ProcessLock:
    """A lock of this process alone (':memory:')."""

    def __init__(self, name: str, held: set[str]) -> None:
        self._name = name
        self._held = held

    async def alive(self) -> bool:
        return self._name in self._held

    async def release(self) -> None:
        self._held.discard(self._name)


class _FileLock(_ProcessLock):
    """flock on a lock file: released when the file is closed, or the process ends."""

    def __init__(self, name: str, held: set[str], descriptor: int) -> None:
        super().__init__(name, held)
        self._descriptor: int | None = descriptor

    async def release(self) -> None:
        await super().release()
        if self._descriptor is not None:
            os.close(self._descriptor)  # closing the file releases the flock
            self._descriptor = None
