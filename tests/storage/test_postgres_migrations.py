"""The PostgreSQL edition of the migrations builds the same schema as SQLite's, and behaves the
same (the report counts kept by triggers); applying is by set, once, whoever starts first."""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path

import psycopg
import pytest

from storage import SqliteProgressStore
from storage.postgres import load_postgres_migrations, migrate_postgres, pending_migrations
from storage.sqlite import Migration, SchemaVersionError, load_migrations

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


Connection = psycopg.AsyncConnection[tuple[object, ...]]


async def connect(url: str) -> Connection:
    return await psycopg.AsyncConnection.connect(url, autocommit=True)


async def fetch(connection: Connection, query: str) -> list[tuple[object, ...]]:
    cursor = await connection.execute(query.encode())
    return await cursor.fetchall()


async def postgres_columns(connection: Connection) -> set[tuple[str, str]]:
    rows = await fetch(
        connection,
        "SELECT table_name, column_name FROM information_schema.columns"
        " WHERE table_schema = current_schema()",
    )
    return {(str(table), str(column)) for table, column in rows}


async def test_postgres_schema_has_the_sqlite_tables_and_columns(
    postgres_url: str, tmp_path: Path
) -> None:
    async with SqliteProgressStore.open(tmp_path / "coach.db"):
        pass
    connection = await connect(postgres_url)
    try:
        applied = await migrate_postgres(connection)
        assert applied == [m.name for m in load_migrations()]
        assert await postgres_columns(connection) == (
            sqlite_columns(tmp_path / "coach.db") | POSTGRES_ONLY
        )
    finally:
        await connection.close()


TRIGGER_SCRIPT = [
    "INSERT INTO learners (id, display_name, first_seen, last_active)"
    " VALUES (7000000001, 'Sam', 't', 't'), (2, 'Ann', 't', 't')",
    "INSERT INTO answers (learner_id, question_id, answer, outcome, score, criteria, topic,"
    " source, created_at) VALUES"
    " (7000000001, 'q1', 'a', 'correct', 1, '[\"1.1\", \"2.3\"]', 'refunds', 'quiz', 't'),"
    " (7000000001, 'q2', 'b', 'incorrect', 0, '[\"1.1\"]', 'refunds', 'quiz', 't'),"
    " (2, 'q1', 'c', 'correct', 1, '[\"1.1\"]', 'refunds', 'quiz', 't')",
    # A tutor's decision: q2 becomes correct, one of Ann's is overturned.
    "UPDATE answers SET outcome = 'correct' WHERE question_id = 'q2'",
    "UPDATE answers SET outcome = 'partial' WHERE learner_id = 2",
]
COUNTS = (
    "SELECT learner_id, answers, correct FROM answer_counts ORDER BY learner_id",
    "SELECT learner_id, criterion, correct FROM criterion_counts ORDER BY learner_id, criterion",
)


async def test_report_counts_kept_by_triggers_match_sqlite(
    postgres_url: str, tmp_path: Path
) -> None:
    async with SqliteProgressStore.open(tmp_path / "coach.db"):
        pass
    with sqlite3.connect(tmp_path / "coach.db") as db:
        for statement in TRIGGER_SCRIPT:
            db.execute(statement)
        in_sqlite = [[tuple(row) for row in db.execute(query)] for query in COUNTS]
    connection = await connect(postgres_url)
    try:
        await migrate_postgres(connection)
        for statement in TRIGGER_SCRIPT:
            await connection.execute(statement.encode())
        in_postgres = [await fetch(connection, query) for query in COUNTS]
        assert in_postgres == in_sqlite
        assert in_sqlite[0] == [(2, 1, 0), (7000000001, 2, 2)]
        # Erasing a learner cascades to their answers and their counts.
        await connection.execute("DELETE FROM learners WHERE id = 7000000001")
        assert await fetch(connection, COUNTS[0]) == [(2, 1, 0)]
        assert await fetch(connection, COUNTS[1]) == [(2, "1.1", 0)]
    finally:
        await connection.close()


async def test_workers_starting_together_apply_each_migration_once(postgres_url: str) -> None:
    connections = [await connect(postgres_url) for _ in range(3)]
    try:
        results = await asyncio.gather(*(migrate_postgres(c) for c in connections))
        assert sorted(len(applied) for applied in results) == [0, 0, len(load_migrations())]
        assert await pending_migrations(connections[0]) == []
        versions = await fetch(connections[0], "SELECT version FROM schema_version")
        assert len(versions) == len(load_migrations())
    finally:
        for connection in connections:
            await connection.close()


async def test_a_later_merged_lower_migration_still_runs(postgres_url: str) -> None:
    first = Migration(1, "0001_a", "CREATE TABLE a (x INTEGER)")
    third = Migration(3, "0003_c", "CREATE TABLE c (x INTEGER)")
    second = Migration(2, "0002_b", "CREATE TABLE b (x INTEGER); CREATE TABLE b2 (x INTEGER)")
    connection = await connect(postgres_url)
    try:
        assert await migrate_postgres(connection, [first, third]) == ["0001_a", "0003_c"]
        assert await migrate_postgres(connection, [first, second, third]) == ["0002_b"]
    finally:
        await connection.close()


async def test_a_failing_migration_leaves_the_schema_as_it_was(postgres_url: str) -> None:
    good = Migration(1, "0001_a", "CREATE TABLE a (x INTEGER)")
    bad = Migration(2, "0002_b", "CREATE TABLE b (x INTEGER); SELECT no_such_function()")
    connection = await connect(postgres_url)
    try:
        with pytest.raises(psycopg.errors.UndefinedFunction):
            await migrate_postgres(connection, [good, bad])
        assert await fetch(connection, "SELECT to_regclass('a')") == [(None,)]
        assert await pending_migrations(connection, [good, bad]) == [good, bad]
    finally:
        await connection.close()


async def test_a_database_newer_than_the_code_is_refused(postgres_url: str) -> None:
    connection = await connect(postgres_url)
    try:
        await migrate_postgres(connection)
        await connection.execute(
            "INSERT INTO schema_version (version, name, applied_at) VALUES (999, 'future', 't')"
        )
        with pytest.raises(SchemaVersionError, match="newer than this code"):
            await migrate_postgres(connection)
    finally:
        await connection.close()
