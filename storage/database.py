"""The `Database` port every store is built on: reads, group-committed writes and migrations.

A store owns its SQL and passes it in as data (`Statement`s, or a `TransactionWork` function
that runs statements); the database owns the connections, the one writer that commits many
callers' writes in one transaction, and the schema's migrations. `storage/sqlite_database.py`
implements it over SQLite; a PostgreSQL implementation is meant to sit beside it with the same
methods (its SQL dialect is the stores' concern, not the database's).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from typing import Any, NamedTuple, Protocol, TypeVar

from storage.dialect import Dialect, Sql

T = TypeVar("T")

Query = str | Sql
"""SQL text: one text both databases run, or a `Sql` with a text for each."""
Statement = tuple[Query, Sequence[object]]
"""One SQL statement and its parameters, as a store passes it to `Database.write`."""


class Row(Protocol):
    """A result row, read by column name (`row["learner_id"]`), never by position.

    sqlite3.Row, asyncpg's Record and a plain dict all are one; `dict(row)` copies it."""

    def __getitem__(self, column: str, /) -> Any: ...

    def keys(self) -> Iterable[str]: ...


class Executed(NamedTuple):
    """What one statement did: rows changed, and the row id it inserted (if it inserted).

    A tuple, not a dataclass: one is built per statement on the writer's hot path."""

    rowcount: int
    row_id: int | None


@dataclass(frozen=True, slots=True)
class Written:
    """What each of a group of statements did: rows changed, and the row id it inserted."""

    rowcounts: tuple[int, ...]
    row_ids: tuple[int | None, ...]


class Transaction(Protocol):
    """The writer's open transaction, as a `TransactionWork` function sees it.

    The methods are synchronous: the work runs on the writer's own thread, inside the group
    commit, so a dozen statements cost one hop to that thread rather than one each. (A
    PostgreSQL implementation can keep this shape with a synchronous driver on its writer's
    thread.)"""

    def execute(self, sql: Query, parameters: Sequence[object] = ()) -> Executed: ...

    def execute_many(self, sql: Query, rows: Iterable[Sequence[object]]) -> None: ...

    def fetch(self, sql: Query, parameters: Sequence[object] = ()) -> list[Row]: ...


TransactionWork = Callable[[Transaction], T]
"""A guarded write: reads and writes in one savepoint of the group commit. Whatever it raises
rolls back its own writes only and is raised in its caller; the rest of the batch commits."""


class Reader(Protocol):
    """Reads from one consistent snapshot (see `Database.snapshot`)."""

    async def fetch(self, sql: Query, parameters: Sequence[object] = ()) -> list[Row]: ...


@dataclass(frozen=True, slots=True)
class Migration:
    """One numbered schema change, e.g. 0001_initial.sql."""

    version: int
    name: str
    sql: str


@dataclass(frozen=True, slots=True)
class MigrationStatus:
    """The schema versions a database has applied, and the shipped ones it has not."""

    applied: tuple[int, ...]
    pending: tuple[Migration, ...]


class HeldLock(Protocol):
    """A lock held until released or until its holder's connection (or process) ends."""

    async def alive(self) -> bool:
        """Still held: False once the connection holding it was lost (the lock went with it)."""
        ...

    async def release(self) -> None: ...


class Database(Protocol):
    """Connections, the group-commit writer and the schema; what every store is given."""

    @property
    def dialect(self) -> Dialect:
        """Which SQL it speaks, for the few statements a store builds per dialect."""
        ...

    @property
    def commits_written(self) -> int:
        """Transactions the writer has committed (one per batch); read by tests and bench."""
        ...

    @property
    def works_written(self) -> int:
        """Callers' writes committed, however many shared a transaction; read by tests."""
        ...

    async def fetch(self, sql: Query, parameters: Sequence[object] = ()) -> list[Row]:
        """Rows of a read-only query, from committed data."""
        ...

    def snapshot(self) -> AbstractAsyncContextManager[Reader]:
        """Several reads that see one committed state (nothing committed in between)."""
        ...

    async def write(self, *statements: Statement) -> Written:
        """Run statements in order, in one savepoint of the next group commit; returns once
        committed, with what each did. If one fails, none of them is written."""
        ...

    async def transact(self, work: TransactionWork[T]) -> T:
        """Run `work` in one savepoint of the next group commit and return its result once
        committed: for writes that depend on what they read (a version check, a repeat key)."""
        ...

    async def erase(self, *statements: Statement) -> Written:
        """Like `write`, for deletions of personal data: afterwards no copy of the deleted rows
        is left in the database's files (SQLite: its write-ahead log is emptied)."""
        ...

    def serialised(self, name: str) -> AbstractAsyncContextManager[None]:
        """Hold the lock called `name` (see storage/locks.py) for the block, waiting for it:
        every process on this database that asks for the same name runs its block alone.
        (PostgreSQL: a transaction-level advisory lock; SQLite, one process: an asyncio lock.)"""
        ...

    async def try_lock(self, name: str) -> HeldLock | None:
        """Take the lock called `name` if no other holder has it, until released; None if
        another holds it. (PostgreSQL: a session-level advisory lock on a connection of its
        own, so it goes when that connection or process dies; SQLite: a lock file beside the
        database, an in-process lock for ':memory:'.)"""
        ...

    async def migration_status(self) -> MigrationStatus:
        """Which migrations are applied and which are pending."""
        ...

    async def upgrade(self) -> tuple[Migration, ...]:
        """Apply the pending migrations in one transaction; the ones applied."""
        ...

    async def close(self) -> None:
        """Write everything already queued, then stop the writer and close the connections."""
        ...


class SchemaVersionError(RuntimeError):
    """The database was written by a newer version of the code than this one."""


class DatabaseUnavailableError(RuntimeError):
    """The database cannot be opened or written (a missing folder, no permission, not a
    database); the message names it and what to do, in one line."""


class StoreClosedError(RuntimeError):
    """The database was used after close(), or its writer stopped."""
