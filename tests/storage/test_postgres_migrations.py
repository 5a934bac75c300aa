"""The PostgreSQL edition of the migrations builds the same schema as SQLite's, and behaves the
same (the report counts kept by triggers); applying is by set, once, whoever starts first."""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path

import psycopg
import pytest

from storage.database import Migration, Row, SchemaVersionError
from storage.postgres import load_postgres_migrations
from storage.postgres_database import PostgresDatabase
from storage.schema import load_migrations
from storage.sqlite_database import SqliteDatabase

# Stand-ins for SQLite's implicit rowid, where rows are read back in insertion order.
POSTGRES_ONLY = {("applied_updates", "seq"), ("polls", "seq"), ("outbox", "seq")}


def test_every_migration_has_a_postgres_edition_of_the_same_name() -> None:
    editions = load_postgres_migrations()
    assert [(m.version, m.name) for m in editions] == [
        (m.version, m.name) for m in load_migrations()
    ]


def sqlite_columns(path: Path) -> set[tuple[str, str]]:
    with sqlite3.connect(path) as db:
        tables = [
            row[0]
            for row in db.execute(
                "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'"
            )
        ]
        return {
            (table, row[1])
            for table in tables
            for row in db.execute(f"PRAGMA table_info({table})")
        }


async def test_postgres_schema_has_the_sqlite_tables_and_columns(
    postgres_url: str, tmp_path: Path
) -> None:
    async with SqliteDatabase.open(tmp_path / "coach.db"):
        pass
    database = await PostgresDatabase.open(postgres_url, migrate=False)
    try:
        applied = await database.upgrade()
        assert [m.name for m in applied] == [m.name for m in load_migrations()]
        rows = await database.fetch(
            "SELECT table_name, column_name FROM information_schema.columns"
            " WHERE table_schema = current_schema()"
        )
        columns = {(row["table_name"], row["column_name"]) for row in rows}
        assert columns == sqlite_columns(tmp_path / "coach.db") | POSTGRES_ONLY
    finally:
        await database.close()


TRIGGER_SCRIPT = [
    "INSERT INTO learners (id, display_name, first_seen, last_active)"
    " VALUES (7000000001, 'Sam', 't', 't'), (2, 'Ann', 't', 't')",
    "INSERT INTO answers (learner_id, question_id, answer, outcome, score, criteria, topic,"
    " source, created_at) VALUES"
    " (7000000001, 'q1', 'a', 'correct', 1, '[\"1.1\", \"2.3\"]', 'refunds', 'quiz', 't'),"
    " (7000000001, 'q2', 'b', 'incorrect', 0, '[\"1.1\"]', 'refunds', 'quiz', 't'),"
    " (2, 'q1', 'c', 'correct', 1, '[\"1.1\"]', 'refunds', 'quiz', 't')",
    # A tutor's decisions: q2 becomes correct, Ann's answer is overturned.
    "UPDATE answers SET outcome = 'correct' WHERE question_id = 'q2'",
    "UPDATE answers SET outcome = 'partial' WHERE learner_id = 2",
]
COUNTS = (
    "SELECT learner_id, answers, correct FROM answer_counts ORDER BY learner_id",
    "SELECT learner_id, criterion, correct FROM criterion_counts ORDER BY learner_id, criterion",
)


def values(row: Row) -> tuple[object, ...]:
    return tuple(row[column] for column in row.keys())  # noqa: SIM118  # Row has no __iter__


async def test_report_counts_kept_by_triggers_match_sqlite(
    postgres_url: str, tmp_path: Path
) -> None:
    async with SqliteDatabase.open(tmp_path / "coach.db") as sqlite:
        await sqlite.write(*((statement, ()) for statement in TRIGGER_SCRIPT))
        in_sqlite = [[values(row) for row in await sqlite.fetch(q)] for q in COUNTS]
    async with await PostgresDatabase.open(postgres_url) as database:
        await database.write(*((statement, ()) for statement in TRIGGER_SCRIPT))
        in_postgres = [[values(row) for row in await database.fetch(q)] for q in COUNTS]
        assert in_postgres == in_sqlite
        assert in_sqlite[0] == [(2, 1, 0), (7000000001, 2, 2)]
        # Erasing a learner cascades to their answers and their counts.
        await database.erase(("DELETE FROM learners WHERE id = ?", (7000000001,)))
        assert [values(row) for row in await database.fetch(COUNTS[0])] == [(2, 1, 0)]


async def test_workers_starting_together_apply_each_migration_once(postgres_url: str) -> None:
    workers = await asyncio.gather(
        *(PostgresDatabase.open(postgres_url, migrate=False) for _ in range(3))
    )
    try:
        results = await asyncio.gather(*(worker.upgrade() for worker in workers))
        assert sorted(len(applied) for applied in results) == [0, 0, len(load_migrations())]
        assert (await workers[0].migration_status()).pending == ()
        versions = await workers[0].fetch("SELECT version FROM schema_version")
        assert len(versions) == len(load_migrations())
    finally:
        for worker in workers:
            await worker.close()


async def test_a_later_merged_lower_migration_still_runs(postgres_url: str) -> None:
    first = Migration(1, "0001_a", "CREATE TABLE a (x INTEGER)")
    third = Migration(3, "0003_c", "CREATE TABLE c (x INTEGER)")
    second = Migration(2, "0002_b", "CREATE TABLE b (x INTEGER); CREATE TABLE b2 (x INTEGER)")
    async with await PostgresDatabase.open(postgres_url, migrations=[first, third]) as database:
        assert (await database.migration_status()).applied == (1, 3)
    async with await PostgresDatabase.open(
        postgres_url, migrations=[first, second, third], migrate=False
    ) as database:
        assert [m.name for m in await database.upgrade()] == ["0002_b"]


async def test_a_failing_migration_leaves_the_schema_as_it_was(postgres_url: str) -> None:
    good = Migration(1, "0001_a", "CREATE TABLE a (x INTEGER)")
    bad = Migration(2, "0002_b", "CREATE TABLE b (x INTEGER); SELECT no_such_function()")
    async with await PostgresDatabase.open(
        postgres_url, migrations=[good, bad], migrate=False
    ) as database:
        with pytest.raises(psycopg.errors.UndefinedFunction):
            await database.upgrade()
        assert (await database.migration_status()).pending == (good, bad)
        rows = await database.fetch("SELECT to_regclass('a') IS NULL AS missing")
        assert rows[0]["missing"]


async def test_a_database_newer_than_the_code_is_refused(postgres_url: str) -> None:
    async with await PostgresDatabase.open(postgres_url) as database:
        await database.write(
            ("INSERT INTO schema_version (version, name, applied_at) VALUES (999, 'x', 't')", ())
        )
    with pytest.raises(SchemaVersionError, match="newer than this code"):
        await PostgresDatabase.open(postgres_url)
