"""The `Database` on PostgreSQL (psycopg 3): the same group commit as SQLite, and a pool of
connections for reads.

The writer is one synchronous connection on a thread of its own, so a whole batch of commits
(each in a savepoint) is one hop to that thread, as on SQLite; reads go through an async pool,
so many learners' session reads run at once. Stores pass SQLite's SQL; `storage/dialect.py`
turns its parameters into PostgreSQL's.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import AbstractAsyncContextManager
from typing import Any, TypeVar

import psycopg
import psycopg_pool
from psycopg.rows import DictRow, dict_row
from psycopg_pool import AsyncConnectionPool

from storage import postgres
from storage.database import (
    DatabaseUnavailableError,
    Executed,
    Migration,
    MigrationStatus,
    Query,
    Reader,
    Row,
    TransactionWork,
)
from storage.dialect import Dialect, postgres_text
from storage.group_commit import GroupCommitted, GroupCommitWriter
from storage.locks import lock_key
from storage.schema import status

_T = TypeVar("_T")

log = logging.getLogger(__name__)

MAX_BATCH = 256
READ_POOL_SIZE = 4
LOCK_POOL_SIZE = 8
"""Connections holding chat locks: as many chats are handled at once by one worker."""
CONNECT_TIMEOUT_S = 10

SyncConnection = psycopg.Connection[DictRow]
AsyncConnection = psycopg.AsyncConnection[DictRow]


def _query(sql: Query, parameters: Sequence[object]) -> tuple[bytes, Sequence[object] | None]:
    """The statement as the raw cursor runs it. Without parameters, none are passed: psycopg
    then sends the text as one simple query, which may hold several statements."""
    return postgres_text(sql).encode(), (tuple(parameters) if parameters else None)


class PostgresTransaction:
    """The `Transaction` a work function is given: the writer's connection, on its thread."""

    def __init__(self, connection: SyncConnection) -> None:
        self._connection = connection

    def execute(self, sql: Query, parameters: Sequence[object] = ()) -> Executed:
        cursor = self._connection.execute(*_query(sql, parameters))
        # PostgreSQL has no "last row id": an INSERT … RETURNING id says which row it made.
        row_id: int | None = None
        if cursor.description is not None:
            row = cursor.fetchone()
            if row is not None:
                value = next(iter(row.values()), None)
                row_id = value if isinstance(value, int) else None
        return Executed(cursor.rowcount, row_id)

    def execute_many(self, sql: Query, rows: Iterable[Sequence[object]]) -> None:
        with self._connection.cursor() as cursor:
            cursor.executemany(postgres_text(sql).encode(), [tuple(row) for row in rows])

    def fetch(self, sql: Query, parameters: Sequence[object] = ()) -> list[Row]:
        rows: list[Row] = list(self._connection.execute(*_query(sql, parameters)).fetchall())
        return rows


class PostgresBatchRunner:
    """Runs a batch on the writer's connection, on the writer's own thread, in one hop."""

    def __init__(self, connection: SyncConnection, thread: ThreadPoolExecutor) -> None:
        self._connection = connection
        self._thread = thread

    async def run(self, works: Sequence[TransactionWork[Any]]) -> list[object] | Exception:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._thread, _write_batch, self._connection, works)

    async def after_erasure(self) -> None:
        """Nothing to do at once: PostgreSQL's deleted rows are reclaimed by autovacuum."""


def _write_batch(
    db: SyncConnection, works: Sequence[TransactionWork[Any]]
) -> list[object] | Exception:
    transaction = PostgresTransaction(db)
    try:
        db.execute(b"BEGIN")
        if len(works) == 1:
            # Alone in its batch, a work needs no savepoint (two round trips fewer): if it
            # fails, the whole transaction is rolled back for it.
            outcome = _write_alone(db, transaction, works[0])
            if isinstance(outcome, Exception):
                return [outcome]
            outcomes = [outcome]
        else:
            outcomes = [_write_one(db, transaction, work) for work in works]
        db.execute(b"COMMIT")
    except Exception as error:  # noqa: BLE001  # handed to every waiting caller
        with contextlib.suppress(psycopg.Error):
            db.execute(b"ROLLBACK")
        return error
    return outcomes


def _write_alone(
    db: SyncConnection, transaction: PostgresTransaction, work: TransactionWork[Any]
) -> object:
    """The only work of a transaction: rolled back with the transaction if it fails."""
    try:
        return work(transaction)
    # As in _write_one: the failure is this work's caller's alone, raised in that caller.
    except Exception as error:  # noqa: BLE001
        with contextlib.suppress(psycopg.Error):
            db.execute(b"ROLLBACK")
        return error


def _write_one(
    db: SyncConnection, transaction: PostgresTransaction, work: TransactionWork[Any]
) -> object:
    db.execute(b"SAVEPOINT one_commit")
    try:
        outcome = work(transaction)
    # Any failure here belongs to this work's caller alone: it is rolled back and raised
    # in that caller, and the rest of the batch goes on.
    except Exception as error:  # noqa: BLE001
        db.execute(b"ROLLBACK TO one_commit")
        db.execute(b"RELEASE one_commit")
        return error
    db.execute(b"RELEASE one_commit")
    return outcome


class _PoolReader:
    def __init__(self, connection: AsyncConnection) -> None:
        self._connection = connection

    async def fetch(self, sql: Query, parameters: Sequence[object] = ()) -> list[Row]:
        cursor = await self._connection.execute(*_query(sql, parameters))
        rows: list[Row] = list(await cursor.fetchall())
        return rows


def _unavailable(url: str, error: Exception) -> DatabaseUnavailableError:
    # The host and database only: the rest of the URL may hold a password.
    where = url.rsplit("@", maxsplit=1)[-1].split("?", maxsplit=1)[0]
    reason = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
    return DatabaseUnavailableError(
        f"cannot use the PostgreSQL database {where} ({reason}): check that the server is"
        " running and that DATABASE_URL names it, with a user allowed to connect"
    )


class PostgresDatabase(GroupCommitted):
    """A PostgreSQL database; open with `await PostgresDatabase.open(url)`."""

    dialect: Dialect = "postgresql"

    def __init__(
        self,
        writer: SyncConnection,
        thread: ThreadPoolExecutor,
        pool: AsyncConnectionPool[AsyncConnection],
        *,
        max_batch: int,
        migrations: Sequence[Migration],
        url: str = "",
        lock_pool: AsyncConnectionPool[psycopg.AsyncConnection[Any]] | None = None,
    ) -> None:
        """Use `open()`: this only wires up connections that are already open."""
        self._url = url
        self._lock_pool = lock_pool
        self._schema: str | None = None
        self._lasting: set[PostgresLock] = set()
        self._connection = writer
        self._thread = thread
        self._pool = pool
        self._migrations = tuple(migrations)
        self._closed = False
        self._writer = GroupCommitWriter(
            PostgresBatchRunner(writer, thread),
            name="postgresql",
            max_batch=max_batch,
            read_lock=None,
        )

    @classmethod
    async def open(
        cls,
        url: str,
        *,
        max_batch: int = MAX_BATCH,
        migrations: Sequence[Migration] | None = None,
        migrate: bool = True,
    ) -> PostgresDatabase:
        """Connect (applying pending migrations unless `migrate` is False)."""
        if max_batch < 1:
            raise ValueError(f"max_batch must be at least 1, not {max_batch}")
        chosen = postgres.load_postgres_migrations() if migrations is None else tuple(migrations)
        thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="postgres-writer")
        loop = asyncio.get_running_loop()
        try:
            writer = await loop.run_in_executor(thread, _connect_writer, url)
        except psycopg.OperationalError as error:
            thread.shutdown(wait=False)
            raise _unavailable(url, error) from error
        pool: AsyncConnectionPool[AsyncConnection] = AsyncConnectionPool(
            url,
            min_size=1,
            max_size=READ_POOL_SIZE,
            open=False,
            kwargs={
                "autocommit": True,
                "row_factory": dict_row,
                "cursor_factory": psycopg.AsyncRawCursor,
            },
            connection_class=psycopg.AsyncConnection[DictRow],
            name="postgres-readers",
        )
        # Chat locks wait on connections of their own, so a worker's reads never queue
        # behind chats that wait for another worker.
        lock_pool: AsyncConnectionPool[psycopg.AsyncConnection[Any]] = AsyncConnectionPool(
            url,
            min_size=1,
            max_size=LOCK_POOL_SIZE,
            open=False,
            kwargs={"autocommit": True},
            name="postgres-locks",
        )
        opened = cls(
            writer,
            thread,
            pool,
            max_batch=max_batch,
            migrations=chosen,
            url=url,
            lock_pool=lock_pool,
        )
        try:
            await pool.open(wait=True, timeout=CONNECT_TIMEOUT_S)
            await lock_pool.open(wait=True, timeout=CONNECT_TIMEOUT_S)
            if migrate:
                await opened.upgrade()
            else:
                await opened.migration_status()  # refuses a database newer than this code
        except psycopg_pool.PoolTimeout as error:
            await opened.close()
            raise _unavailable(url, error) from error
        except BaseException:
            await opened.close()
            raise
        return opened

    async def _close_connections(self) -> None:
        for held in list(self._lasting):
            await held.release()  # its lock goes with its connection
        await self._pool.close()
        if self._lock_pool is not None:
            await self._lock_pool.close()
        loop = asyncio.get_running_loop()
        await loop.run_in_executor(self._thread, self._connection.close)
        self._thread.shutdown(wait=True)

    # --- reading --------------------------------------------------------------------------------

    async def fetch(self, sql: Query, parameters: Sequence[object] = ()) -> list[Row]:
        """Rows of a read-only query, from committed data."""
        self._check_open()
        async with self._pool.connection() as connection:
            return await _PoolReader(connection).fetch(sql, parameters)

    def snapshot(self) -> AbstractAsyncContextManager[Reader]:
        """Several reads in one repeatable-read transaction: they see one committed state."""
        return self._snapshot()

    @contextlib.asynccontextmanager
    async def _snapshot(self) -> AsyncIterator[Reader]:
        self._check_open()
        async with self._pool.connection() as connection, connection.transaction():
            await connection.execute(b"SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY")
            yield _PoolReader(connection)

    # --- locks ----------------------------------------------------------------------------------

    def serialised(self, name: str) -> AbstractAsyncContextManager[None]:
        """A transaction-level advisory lock on a connection of the lock pool: every worker
        on this database that asks for the same name waits for it; it is released when the
        block ends, or when the connection or the worker dies."""
        return self._serialised(name)

    async def lock_key(self, name: str) -> int:
        """The advisory lock key of lock `name` in this schema: advisory locks are shared by
        the whole database, and two installations may share one in schemas of their own."""
        if self._schema is None:
            rows = await self.fetch("SELECT current_schema() AS schema")
            self._schema = str(rows[0]["schema"])
        return lock_key(f"{self._schema}/{name}")

    @contextlib.asynccontextmanager
    async def _serialised(self, name: str) -> AsyncIterator[None]:
        self._check_open()
        assert self._lock_pool is not None, "opened without a lock pool"
        key = await self.lock_key(name)
        async with self._lock_pool.connection() as connection, connection.transaction():
            await connection.execute("SELECT pg_advisory_xact_lock(%s)", (key,))
            yield

    async def try_lock(self, name: str) -> PostgresLock | None:
        """A session-level advisory lock on a connection of its own (see `Database`)."""
        self._check_open()
        key = await self.lock_key(name)
        try:
            connection = await psycopg.AsyncConnection.connect(
                self._url, autocommit=True, connect_timeout=CONNECT_TIMEOUT_S
            )
        except psycopg.OperationalError as error:
            raise _unavailable(self._url, error) from error
        cursor = await connection.execute("SELECT pg_try_advisory_lock(%s)", (key,))
        row = await cursor.fetchone()
        if row is None or not row[0]:
            await connection.close()
            return None
        return PostgresLock(connection, key, self._lasting)

    # --- writing --------------------------------------------------------------------------------

    # --- migrations -----------------------------------------------------------------------------

    async def migration_status(self) -> MigrationStatus:
        rows = await self.fetch("SELECT to_regclass('schema_version') IS NOT NULL AS present")
        applied: set[int] = set()
        if rows and rows[0]["present"]:
            applied = {
                int(row["version"])
                for row in await self.fetch("SELECT version FROM schema_version")
            }
        return status(applied, self._migrations)

    async def upgrade(self) -> tuple[Migration, ...]:
        migrations = self._migrations
        applied: tuple[Migration, ...] = await self.transact(
            lambda transaction: postgres.apply_pending(transaction, migrations)
        )
        return applied


class PostgresLock:
    """A session-level advisory lock, and the connection that holds it."""

    def __init__(
        self, connection: psycopg.AsyncConnection[Any], key: int, held: set[PostgresLock]
    ) -> None:
        self._connection = connection
        self._key = key
        self._held = held
        held.add(self)

    async def alive(self) -> bool:
        if self._connection.closed:
            return False
        try:
            await self._connection.execute("SELECT 1")
        except psycopg.Error:
            return False
        return True

    async def release(self) -> None:
        # Closing the session releases its advisory locks.
        self._held.discard(self)
        await self._connection.close()


def _connect_writer(url: str) -> SyncConnection:
    # autocommit: psycopg must not open transactions behind our back; the writer issues
    # BEGIN / SAVEPOINT / COMMIT itself (as on SQLite).
    return psycopg.Connection[DictRow].connect(
        url,
        autocommit=True,
        row_factory=dict_row,
        cursor_factory=psycopg.RawCursor,
        connect_timeout=CONNECT_TIMEOUT_S,
    )
