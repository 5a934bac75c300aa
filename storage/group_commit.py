"""Group commit: one writer task commits many callers' writes in one transaction.

`submit()` queues a `TransactionWork` and waits; the writer takes everything queued, runs it in
one transaction (each work in its own SAVEPOINT) on the connection's thread, and resolves the
waiting callers only after COMMIT. One fsync then covers many learners' inputs. The database
itself is a `BatchRunner`: SQLite's is here, PostgreSQL's in storage/postgres_database.py.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import sqlite3
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable, Sequence
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from typing import Any, Concatenate, ParamSpec, Protocol, TypeVar

import aiosqlite

from storage.common import ClosesOnExit
from storage.database import (
    Executed,
    Query,
    Row,
    Statement,
    StoreClosedError,
    Transaction,
    TransactionWork,
    Written,
)
from storage.dialect import sqlite_text

_P = ParamSpec("_P")
_T = TypeVar("_T")

log = logging.getLogger(__name__)

GATHER_TURNS = 2
"""Event-loop turns the writer waits for more commits before it writes a batch."""


class SqliteTransaction:
    """The `Transaction` a work function is given: the writer's connection, on its thread."""

    def __init__(self, connection: sqlite3.Connection) -> None:
        self._connection = connection

    def execute(self, sql: Query, parameters: Sequence[object] = ()) -> Executed:
        cursor = self._connection.execute(sqlite_text(sql), parameters)
        if cursor.description is not None:
            # INSERT … RETURNING (the form PostgreSQL needs for the new id): SQLite counts
            # the rows only once they are fetched.
            cursor.fetchall()
        return Executed(cursor.rowcount, cursor.lastrowid)

    def execute_many(self, sql: Query, rows: Iterable[Sequence[object]]) -> None:
        self._connection.executemany(sqlite_text(sql), rows)

    def fetch(self, sql: Query, parameters: Sequence[object] = ()) -> list[Row]:
        rows: list[Row] = self._connection.execute(sqlite_text(sql), parameters).fetchall()
        return rows


class BatchRunner(Protocol):
    """Runs a batch of works in one transaction, each in a savepoint of its own."""

    async def run(self, works: Sequence[TransactionWork[Any]]) -> list[object] | Exception:
        """Each work's outcome (its result, or the exception it raised and was rolled back
        for); or the one exception that stopped the whole transaction."""
        ...

    async def after_erasure(self) -> None:
        """Called after a committed batch that erased personal data."""
        ...


class SqliteBatchRunner:
    """Batches on a SQLite connection, run on aiosqlite's thread in one hop."""

    def __init__(self, connection: aiosqlite.Connection) -> None:
        self._connection = connection

    async def run(self, works: Sequence[TransactionWork[Any]]) -> list[object] | Exception:
        # The whole transaction in one hop to the connection's thread: a dozen statements
        # awaited one by one cost a thread round trip each (most of an answer's CPU).
        return await _in_thread(self._connection, _write_batch, works)

    async def after_erasure(self) -> None:
        """Copy the WAL into the file and empty it, so no old copy of the learner's pages
        stays in the WAL (secure_delete has zeroed them in the file)."""
        try:
            # Fetched to the end: a pragma left mid-result blocks the next SAVEPOINT.
            await self._connection.execute_fetchall("PRAGMA wal_checkpoint(TRUNCATE)")
        except sqlite3.Error:
            # The erasure is committed; the next automatic checkpoint catches up.
            log.warning("could not checkpoint the WAL after an erasure", exc_info=True)


@dataclass(eq=False, slots=True)
class _Job:
    work: TransactionWork[Any]
    erases: bool
    """Personal data is deleted: empty the WAL after the commit."""
    future: asyncio.Future[Any]


class GroupCommitWriter:
    """The one writer of a database; `stop()` drains what is queued, then stops."""

    def __init__(
        self,
        runner: BatchRunner,
        *,
        name: str,
        max_batch: int,
        read_lock: AbstractAsyncContextManager[object] | None,
    ) -> None:
        self._runner = runner
        self._max_batch = max_batch
        # When reads share the writer's connection (":memory:"), the batch transaction holds
        # their lock, so no read lands inside an open batch.
        self._read_lock = read_lock
        self._queue: asyncio.Queue[_Job | None] = asyncio.Queue()
        self._stopping = False
        self.commits_written = 0
        self.works_written = 0
        # Storage is no PTB application, so there is no app.create_task to use; the handle is
        # kept here and stop() waits for the task after it has drained the queue.
        self._task = asyncio.create_task(self._write_forever(), name=f"{name}-writer")

    @property
    def running(self) -> bool:
        return not self._stopping and not self._task.done()

    async def submit(self, work: TransactionWork[_T], *, erases: bool = False) -> _T:
        if not self.running:
            raise StoreClosedError("the database is closed")
        future: asyncio.Future[_T] = asyncio.get_running_loop().create_future()
        self._queue.put_nowait(_Job(work, erases, future))
        return await future

    async def stop(self) -> None:
        """Write every job already queued, then end the writer task."""
        if self._stopping:
            return
        self._stopping = True
        self._queue.put_nowait(None)
        # wait() rather than await: a writer that was cancelled must not make stop() raise.
        await asyncio.wait({self._task})

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
                _settle(job, StoreClosedError("the database's writer stopped"))

    async def _write_batch(self, batch: list[_Job]) -> None:
        # A caller that was cancelled while queued has given up: its work is not written.
        live = [job for job in batch if not job.future.done()]
        if not live:
            return
        works = [job.work for job in live]
        async with self._read_lock or contextlib.nullcontext():
            outcomes = await self._runner.run(works)
        if isinstance(outcomes, Exception):
            for job in live:
                _settle(job, outcomes)
            return
        self.commits_written += 1
        self.works_written += len(live)
        if any(job.erases for job in live):
            await self._runner.after_erasure()
        for job, outcome in zip(live, outcomes, strict=True):
            _settle(job, outcome)


class GroupCommitted(ClosesOnExit, ABC):
    """What both databases share: writes go through the one group-commit writer; closing
    (also as an async context manager) is each database's own."""

    _writer: GroupCommitWriter
    _closed: bool

    async def close(self) -> None:
        """Write everything already queued, then stop the writer and close the connections."""
        if self._closed:
            return
        self._closed = True
        try:
            await self._writer.stop()
        finally:
            await self._close_connections()

    @abstractmethod
    async def _close_connections(self) -> None:
        """Close the database's own connections (the writer has stopped)."""

    @property
    def commits_written(self) -> int:
        """Transactions the writer has committed (one per batch); read by tests and bench."""
        return self._writer.commits_written

    @property
    def works_written(self) -> int:
        """Callers' writes committed, however many shared a transaction; read by tests."""
        return self._writer.works_written

    def _check_open(self) -> None:
        if self._closed or not self._writer.running:
            raise StoreClosedError("the database is closed")

    async def write(self, *statements: Statement) -> Written:
        """Run statements in order, in one savepoint of the next group commit; returns once
        committed, with the rows each changed and the row id each inserted."""
        self._check_open()
        return await self._writer.submit(
            lambda transaction: run_statements(transaction, statements)
        )

    async def transact(self, work: TransactionWork[_T]) -> _T:
        """Run `work` in one savepoint of the next group commit; its result, once committed."""
        self._check_open()
        return await self._writer.submit(work)

    async def erase(self, *statements: Statement) -> Written:
        """`write` for erasures: afterwards no copy of the deleted rows is left behind."""
        self._check_open()
        return await self._writer.submit(
            lambda transaction: run_statements(transaction, statements), erases=True
        )


def run_statements(transaction: Transaction, statements: Sequence[Statement]) -> Written:
    """Each statement in order; what each did."""
    executed = [transaction.execute(sql, parameters) for sql, parameters in statements]
    return Written(tuple(one.rowcount for one in executed), tuple(one.row_id for one in executed))


async def write_alone(connection: aiosqlite.Connection, work: TransactionWork[_T]) -> _T:
    """Run `work` in a transaction of its own, when no writer runs on the connection yet
    (migrations at opening); raises what it raised, with nothing written."""
    outcomes = await _in_thread(connection, _write_batch, [work])
    if isinstance(outcomes, Exception):
        raise outcomes
    [outcome] = outcomes
    if isinstance(outcome, Exception):
        raise outcome
    result: _T = outcome  # type: ignore[assignment]  # what `work` returned
    return result


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
    db: sqlite3.Connection, works: Sequence[TransactionWork[Any]]
) -> list[object] | Exception:
    """One transaction for a batch of works; each in a savepoint of its own, so one that
    fails is rolled back alone and its error returned for its caller only."""
    transaction = SqliteTransaction(db)
    try:
        # IMMEDIATE: take the write lock now instead of failing to upgrade mid-batch
        # when another process (a report, a backup) has written in between.
        db.execute("BEGIN IMMEDIATE")
        if len(works) == 1:
            # Alone in its batch (the common case when learners come one at a time), a work
            # needs no savepoint: if it fails, the whole transaction is rolled back for it.
            outcome = _write_alone(db, transaction, works[0])
            if isinstance(outcome, Exception):
                return [outcome]
            outcomes = [outcome]
        else:
            outcomes = [_write_one(db, transaction, work) for work in works]
        db.execute("COMMIT")
    except Exception as error:  # noqa: BLE001  # handed to every waiting caller
        with contextlib.suppress(sqlite3.Error):
            db.execute("ROLLBACK")
        return error
    return outcomes


def _write_alone(
    db: sqlite3.Connection, transaction: SqliteTransaction, work: TransactionWork[Any]
) -> object:
    """The only work of a transaction: rolled back with the transaction if it fails."""
    try:
        return work(transaction)
    # As in _write_one: the failure is this work's caller's alone, raised in that caller.
    except Exception as error:  # noqa: BLE001
        # Some failures (a full disk) have ended the transaction already.
        with contextlib.suppress(sqlite3.Error):
            db.execute("ROLLBACK")
        return error


def _write_one(
    db: sqlite3.Connection, transaction: SqliteTransaction, work: TransactionWork[Any]
) -> object:
    db.execute("SAVEPOINT one_commit")
    try:
        outcome = work(transaction)
    # Any failure here belongs to this work's caller alone: it is rolled back and raised
    # in that caller (not swallowed), and the rest of the batch goes on.
    except Exception as error:  # noqa: BLE001
        db.execute("ROLLBACK TO one_commit")
        db.execute("RELEASE one_commit")
        return error
    db.execute("RELEASE one_commit")
    return outcome


def _drain(queue: asyncio.Queue[_Job | None]) -> list[_Job | None]:
    items: list[_Job | None] = []
    while not queue.empty():
        items.append(queue.get_nowait())
    return items


def _settle(job: _Job, outcome: object) -> None:
    if job.future.done():
        return
    if isinstance(outcome, BaseException):
        job.future.set_exception(outcome)
    else:
        job.future.set_result(outcome)
