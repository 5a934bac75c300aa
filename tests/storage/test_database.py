"""The `Database` every store is built on: reads by name, group-committed writes, guarded
transactions and migrations. One fixture per implementation (a "postgresql" branch later)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from storage.database import Database, Migration, StoreClosedError, Transaction
from storage.schema import load_migrations
from storage.sqlite_database import SqliteDatabase

EXTRA = Migration(99, "0099_notes", "CREATE TABLE notes (id INTEGER PRIMARY KEY, text TEXT);")


@pytest.fixture(params=["sqlite"])
async def database(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Database]:
    migrations = (*load_migrations(), EXTRA)
    async with SqliteDatabase.open(tmp_path / "coach.db", migrations=migrations) as opened:
        yield opened


async def test_write_returns_what_each_statement_did_and_rows_map_by_name(
    database: Database,
) -> None:
    written = await database.write(
        ("INSERT INTO notes (text) VALUES (?)", ("first",)),
        ("INSERT INTO notes (text) VALUES (?)", ("second",)),
        ("UPDATE notes SET text = upper(text)", ()),
    )
    assert written.rowcounts == (1, 1, 2)
    assert written.row_ids[:2] == (1, 2)
    rows = await database.fetch("SELECT id, text AS shout FROM notes ORDER BY id")
    assert [(row["id"], row["shout"]) for row in rows] == [(1, "FIRST"), (2, "SECOND")]
    assert dict(rows[0]) == {"id": 1, "shout": "FIRST"}


async def test_a_failing_statement_writes_none_of_its_group(database: Database) -> None:
    with pytest.raises(Exception, match="no such table"):
        await database.write(
            ("INSERT INTO notes (text) VALUES (?)", ("kept?",)),
            ("INSERT INTO missing (text) VALUES (?)", ("no",)),
        )
    assert await database.fetch("SELECT * FROM notes") == []


async def test_a_transaction_reads_and_writes_in_one_savepoint(database: Database) -> None:
    def add_unless_present(transaction: Transaction) -> bool:
        if transaction.fetch("SELECT 1 FROM notes WHERE text = ?", ("once",)):
            return False
        transaction.execute("INSERT INTO notes (text) VALUES (?)", ("once",))
        return True

    # Queued together, so they share one group commit: the second sees the first's insert.
    outcomes = await asyncio.gather(*(database.transact(add_unless_present) for _ in range(3)))
    assert sorted(outcomes) == [False, False, True]
    assert len(await database.fetch("SELECT * FROM notes")) == 1


async def test_a_failing_transaction_is_rolled_back_alone(database: Database) -> None:
    def fails(transaction: Transaction) -> None:
        transaction.execute("INSERT INTO notes (text) VALUES (?)", ("lost",))
        raise ValueError("refused")

    kept = database.write(("INSERT INTO notes (text) VALUES (?)", ("kept",)))
    results = await asyncio.gather(database.transact(fails), kept, return_exceptions=True)
    assert isinstance(results[0], ValueError)
    rows = await database.fetch("SELECT text FROM notes")
    assert [row["text"] for row in rows] == ["kept"]


async def test_a_snapshot_reads_several_queries(database: Database) -> None:
    await database.write(("INSERT INTO notes (text) VALUES (?)", ("a",)))
    async with database.snapshot() as reader:
        first = await reader.fetch("SELECT count(*) AS n FROM notes")
        second = await reader.fetch("SELECT text FROM notes")
    assert first[0]["n"] == 1
    assert second[0]["text"] == "a"


async def test_erase_deletes(database: Database) -> None:
    await database.write(("INSERT INTO notes (text) VALUES (?)", ("secret",)))
    written = await database.erase(("DELETE FROM notes WHERE text = ?", ("secret",)))
    assert written.rowcounts == (1,)
    assert await database.fetch("SELECT * FROM notes") == []


async def test_migrations_are_listed_and_applied_by_upgrade(tmp_path: Path) -> None:
    path = tmp_path / "coach.db"
    async with SqliteDatabase.open(path) as opened:
        status = await opened.migration_status()
        assert status.applied == tuple(m.version for m in load_migrations())
        assert status.pending == ()
    async with SqliteDatabase.open(
        path, migrations=(*load_migrations(), EXTRA), migrate=False
    ) as later:
        assert (await later.migration_status()).pending == (EXTRA,)
        assert await later.upgrade() == (EXTRA,)
        assert (await later.migration_status()).pending == ()
        assert await later.upgrade() == ()
        await later.write(("INSERT INTO notes (text) VALUES (?)", ("works",)))


async def test_a_closed_database_refuses_work(tmp_path: Path) -> None:
    opened = await SqliteDatabase.open(tmp_path / "coach.db")
    await opened.close()
    with pytest.raises(StoreClosedError):
        await opened.fetch("SELECT 1")
    with pytest.raises(StoreClosedError):
        await opened.write(("SELECT 1", ()))
