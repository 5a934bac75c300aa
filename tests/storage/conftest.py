"""Storage fixtures: the clock, and the SQL store over either database."""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import pytest

from storage.common import Clock
from storage.database import Database
from storage.postgres_database import PostgresDatabase
from storage.sqlite import SqliteProgressStore
from storage.sqlite_database import SqliteDatabase
from tests.postgres import fresh_schema
from tests.storage.builders import TickClock

SQL_DATABASES = ("sqlite", "postgresql")
"""The databases every SQL store's contract suite runs on, beside the memory fake."""


@pytest.fixture
def clock() -> TickClock:
    return TickClock()


@asynccontextmanager
async def sql_progress(kind: str, path: Path, clock: Clock) -> AsyncIterator[SqliteProgressStore]:
    """The progress store over a new SQLite file at `path`, or over PostgreSQL in a schema of
    its own; the other SQL stores are built on its `database`."""
    if kind == "sqlite":
        async with SqliteProgressStore.open(path, clock=clock) as store:
            yield store
        return
    async with fresh_schema() as url:
        database = await PostgresDatabase.open(url)
        store = SqliteProgressStore(database, clock=clock, closes_database=True)
        try:
            yield store
        finally:
            await store.close()


@asynccontextmanager
async def two_workers(kind: str, path: Path) -> AsyncIterator[tuple[Database, Database, str]]:
    """Two databases on one store, and (PostgreSQL) the URL an admin connection uses."""
    if kind == "sqlite":
        async with SqliteDatabase.open(path) as first, SqliteDatabase.open(path) as second:
            yield first, second, ""
        return
    async with (
        fresh_schema() as url,
        await PostgresDatabase.open(url) as one,
        await PostgresDatabase.open(url) as other,
    ):
        yield one, other, url
