"""What only the SQLite adapter has: migrations, WAL, group commit, draining and URLs."""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
from pathlib import Path
from typing import Any

import pytest

from flows.ports import StaleSessionError
from storage import SchemaVersionError, SqliteProgressStore, StoreClosedError, database_path
from storage.sqlite import Migration, load_migrations, split_statements
from tests.storage.builders import TickClock, answer, commit, snapshot

TABLES = ("learners", "sessions", "answers", "scenario_runs", "applied_updates", "polls")


def query(path: Path, sql: str, *params: object) -> list[tuple[Any, ...]]:
    """Look at the file with a plain sqlite3 connection, as an operator would."""
    with contextlib.closing(sqlite3.connect(path)) as db:
        rows: list[tuple[Any, ...]] = db.execute(sql, params).fetchall()
        db.commit()
        return rows


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "coach.db"


# --- migrations ---------------------------------------------------------------------------------


async def test_migrations_are_applied_once_and_recorded(db_path: Path) -> None:
    async with SqliteProgressStore.open(db_path) as store:
        await store.apply(commit(1, 1, answers=(1,)))
    recorded = query(db_path, "SELECT version, name, applied_at FROM schema_version")
    assert [row[:2] for row in recorded] == [(m.version, m.name) for m in load_migrations()]
    assert [row[:2] for row in recorded][:2] == [(1, "0001_initial"), (2, "0002_polls")]

    store = await SqliteProgressStore.open(db_path)
    try:
        assert await store.load_session(1) == snapshot(1, 1)
        assert await store.answers(1) == [answer(1, 1)]
    finally:
        await store.close()
    assert query(db_path, "SELECT version, name, applied_at FROM schema_version") == recorded


async def test_a_newer_database_is_refused_clearly(db_path: Path) -> None:
    async with SqliteProgressStore.open(db_path):
        pass
    query(db_path, "INSERT INTO schema_version VALUES (99, '0099_future', 'later')")

    with pytest.raises(SchemaVersionError, match=r"schema version 99, newer than this code knows"):
        await SqliteProgressStore.open(db_path)


async def test_a_failing_migration_leaves_the_schema_as_it_was(db_path: Path) -> None:
    async with SqliteProgressStore.open(db_path) as store:
        await store.apply(commit(1, 1))
    shipped = max(m.version for m in load_migrations())
    broken = Migration(
        shipped + 1, "9999_broken", "CREATE TABLE extra (x TEXT);\nNOT SQL AT ALL;\n"
    )

    with pytest.raises(sqlite3.OperationalError):
        await SqliteProgressStore.open(db_path, migrations=(*load_migrations(), broken))

    assert query(db_path, "SELECT MAX(version) FROM schema_version") == [(shipped,)]
    assert query(db_path, "SELECT name FROM sqlite_master WHERE name = 'extra'") == []
    assert query(db_path, "SELECT COUNT(*) FROM sessions") == [(1,)]


async def test_a_later_migration_is_applied_on_reopen(db_path: Path) -> None:
    async with SqliteProgressStore.open(db_path):
        pass
    shipped = max(m.version for m in load_migrations())
    extra = Migration(shipped + 1, "9999_extra", "ALTER TABLE learners ADD COLUMN locale TEXT;")
    async with SqliteProgressStore.open(db_path, migrations=(*load_migrations(), extra)):
        pass
    versions = [row[0] for row in query(db_path, "SELECT version FROM schema_version")]
    assert versions == [*(m.version for m in load_migrations()), shipped + 1]
    assert "locale" in [row[1] for row in query(db_path, "PRAGMA table_info(learners)")]


async def test_report_counts_are_filled_from_answers_already_stored(db_path: Path) -> None:
    counts_version = 7  # 0007_report_counts.sql
    # Every migration but 0007 (today's code writes columns that later ones add); reopening
    # then applies 0007 alone, as a migration merged in after later ones would be.
    before_counts = [m for m in load_migrations() if m.version != counts_version]
    async with SqliteProgressStore.open(db_path, migrations=before_counts) as store:
        await store.apply(commit(1, 1, answers=(1, 2, 3)))
        await store.apply(commit(2, 1, answers=(4,)))
    async with SqliteProgressStore.open(db_path) as store:
        await store.apply(commit(2, 2, answers=(5,)))
    counts = query(db_path, "SELECT * FROM answer_counts ORDER BY learner_id")
    assert counts == [(1, 3, 2), (2, 2, 1)]  # odd-numbered answers are correct
    criteria = query(db_path, "SELECT * FROM criterion_counts ORDER BY learner_id, criterion")
    assert criteria == [
        (1, "criterion 1", 1),
        (1, "criterion 3", 1),
        (1, "names the right", 2),
        (2, "criterion 5", 1),
        (2, "names the right", 1),
    ]


async def test_a_migration_numbered_below_an_applied_one_is_still_applied(
    db_path: Path,
) -> None:
    shipped = load_migrations()
    later = Migration(shipped[-1].version + 2, "later", "CREATE TABLE later (x TEXT);")
    async with SqliteProgressStore.open(db_path, migrations=(*shipped, later)):
        pass
    # The branch that took the lower number lands afterwards: it must not be skipped.
    earlier = Migration(shipped[-1].version + 1, "earlier", "CREATE TABLE earlier (x TEXT);")
    async with SqliteProgressStore.open(db_path, migrations=(*shipped, earlier, later)):
        pass
    assert query(db_path, "SELECT name FROM sqlite_master WHERE name = 'earlier'") == [
        ("earlier",)
    ]


def test_shipped_migrations_are_numbered_from_one() -> None:
    migrations = load_migrations()
    versions = [m.version for m in migrations]
    assert versions[0] == 1
    assert versions == sorted(set(versions))
    assert all(split_statements(m.sql) for m in migrations)


@pytest.mark.parametrize(
    ("script", "statements"),
    [
        (
            "CREATE TABLE a (x);\nCREATE TABLE b (y);",
            ["CREATE TABLE a (x);", "CREATE TABLE b (y);"],
        ),
        ("-- a comment; with a semicolon\nCREATE TABLE a (x);\n-- trailing", None),
        ("INSERT INTO a VALUES ('x;y');", ["INSERT INTO a VALUES ('x;y');"]),
        (
            "CREATE TRIGGER t AFTER INSERT ON a BEGIN DELETE FROM b; DELETE FROM c; END;",
            ["CREATE TRIGGER t AFTER INSERT ON a BEGIN DELETE FROM b; DELETE FROM c; END;"],
        ),
        (";;CREATE TABLE a (x);", ["CREATE TABLE a (x);"]),
    ],
    ids=["two", "comments", "string-literal", "trigger", "empty-statements"],
)
def test_split_statements(script: str, statements: list[str] | None) -> None:
    result = split_statements(script)
    if statements is None:
        assert len(result) == 1
        assert result[0].endswith("CREATE TABLE a (x);")
    else:
        assert result == statements


def test_split_statements_refuses_a_missing_semicolon() -> None:
    with pytest.raises(ValueError, match="incomplete statement"):
        split_statements("CREATE TABLE a (x);\nCREATE TABLE b (y)\n")


# --- connection settings ------------------------------------------------------------------------


async def test_the_file_is_in_wal_mode(db_path: Path) -> None:
    async with SqliteProgressStore.open(db_path):
        pass
    assert query(db_path, "PRAGMA journal_mode") == [("wal",)]


async def test_forget_leaves_no_row_in_any_table(db_path: Path) -> None:
    async with SqliteProgressStore.open(db_path) as store:
        await store.apply(commit(1, 1, key="tg:1", answers=(1, 2), finished=1))
        await store.apply(commit(2, 1, key="tg:2", answers=(3,), finished=2))
        await store.remember_poll("p1", 1, "q1")
        await store.remember_poll("p2", 2, "q2")
        await store.forget_learner(1)
    for table in TABLES:
        column = "id" if table == "learners" else "learner_id"
        assert query(db_path, f"SELECT COUNT(*) FROM {table} WHERE {column} = 1") == [(0,)]
        assert query(db_path, f"SELECT COUNT(*) FROM {table} WHERE {column} = 2") != [(0,)]


async def test_an_in_memory_database_works(clock: TickClock) -> None:
    async with SqliteProgressStore.open(database_path("sqlite:///:memory:"), clock=clock) as store:
        # Reads share the writer's connection here: they must never see an open batch.
        results = await asyncio.gather(
            *(store.apply(commit(i, 1, answers=(i,))) for i in range(1, 51)),
            *(store.export_learner(i) for i in range(1, 51)),
        )
        assert results[:50] == [True] * 50
        assert await store.load_session(50) == snapshot(50, 1)
        assert await store.answers(7) == [answer(7, 7)]


async def test_a_store_is_its_own_async_context_manager(db_path: Path) -> None:
    async with await SqliteProgressStore.open(db_path) as store:
        assert await store.apply(commit(1, 1)) is True
    with pytest.raises(StoreClosedError):
        await store.load_session(1)


# --- group commit -------------------------------------------------------------------------------


async def test_concurrent_applies_share_commits(db_path: Path) -> None:
    async with SqliteProgressStore.open(db_path) as store:
        results = await asyncio.gather(*(store.apply(commit(i, 1)) for i in range(100)))
        assert results == [True] * 100
        assert store.database.commits_written <= 5
    assert query(db_path, "SELECT COUNT(*) FROM sessions") == [(100,)]


async def test_a_batch_is_capped(db_path: Path) -> None:
    async with SqliteProgressStore.open(db_path, max_batch=10) as store:
        await asyncio.gather(*(store.apply(commit(i, 1)) for i in range(100)))
        assert store.database.commits_written >= 10


async def test_sequential_learners_under_load_land_in_few_commits(db_path: Path) -> None:
    async with SqliteProgressStore.open(db_path) as store:

        async def learner(learner_id: int) -> None:
            for version in range(1, 11):
                assert await store.apply(commit(learner_id, version, answers=(version,)))

        await asyncio.gather(*(learner(i) for i in range(100)))
        # Each learner waits for its own commit, so a batch holds about one input per learner.
        assert store.database.commits_written <= 100
    assert query(db_path, "SELECT COUNT(*), MIN(version) FROM sessions") == [(100, 10)]
    assert query(db_path, "SELECT COUNT(*) FROM answers") == [(1000,)]


async def test_a_failing_commit_does_not_sink_its_batch(db_path: Path) -> None:
    async with SqliteProgressStore.open(db_path) as store:
        await store.apply(commit(0, 1))
        written_before = store.database.commits_written
        results = await asyncio.gather(
            *(store.apply(commit(i, 1, answers=(i,))) for i in range(1, 11)),
            store.apply(commit(0, 5, key="tg:stale", answers=(99,))),
            *(store.apply(commit(i, 1, answers=(i,))) for i in range(11, 21)),
            return_exceptions=True,
        )
        # All 21 were queued before the writer woke (asyncio runs ready callbacks in order).
        assert store.database.commits_written == written_before + 1
        assert isinstance(results[10], StaleSessionError)
        assert results[:10] + results[11:] == [True] * 20
        assert await store.answers(0) == []
        assert await store.load_session(0) == snapshot(0, 1)
    assert query(db_path, "SELECT COUNT(*) FROM answers") == [(20,)]
    assert query(db_path, "SELECT COUNT(*) FROM applied_updates") == [(0,)]


async def test_close_drains_queued_commits(db_path: Path) -> None:
    store = await SqliteProgressStore.open(db_path)
    async with asyncio.TaskGroup() as group:
        applies = [group.create_task(store.apply(commit(i, 1))) for i in range(50)]
        await asyncio.sleep(0)  # let every apply reach the queue
        assert store.database.commits_written == 0
        await store.close()
    assert [task.result() for task in applies] == [True] * 50
    assert query(db_path, "SELECT COUNT(*) FROM sessions") == [(50,)]


async def test_the_closed_store_refuses_work(db_path: Path) -> None:
    store = await SqliteProgressStore.open(db_path)
    await store.close()
    await store.close()  # closing twice is harmless
    with pytest.raises(StoreClosedError):
        await store.apply(commit(1, 1))
    with pytest.raises(StoreClosedError):
        await store.answers(1)


async def test_a_cancelled_apply_is_not_written(db_path: Path) -> None:
    async with SqliteProgressStore.open(db_path) as store:
        async with asyncio.TaskGroup() as group:
            doomed = group.create_task(store.apply(commit(1, 1)))
            kept = group.create_task(store.apply(commit(2, 1)))
            await asyncio.sleep(0)  # both are queued, the writer has not run yet
            doomed.cancel()
        assert kept.result() is True
        assert await store.load_session(1) is None
        assert await store.load_session(2) == snapshot(2, 1)


# --- DATABASE_URL -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "path"),
    [
        ("sqlite:///./coach.db", "./coach.db"),
        ("sqlite:///coach.db", "coach.db"),
        ("sqlite:////abs/path.db", "/abs/path.db"),
        ("sqlite:///:memory:", ":memory:"),
        ("SQLITE:///./coach.db", "./coach.db"),
    ],
    ids=["relative", "bare-relative", "absolute", "memory", "upper-case-scheme"],
)
def test_database_path(url: str, path: str) -> None:
    assert database_path(url) == path


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("postgresql://coach:s3cret@db/coach", "not SQLite"),
        ("mysql://db/coach", "not SQLite"),
        ("./coach.db", "must look like sqlite:///"),
        ("sqlite:///", "sqlite:/// followed by a path"),
        ("sqlite://host/coach.db", "sqlite:/// followed by a path"),
        ("sqlite:///coach.db?mode=ro", "sqlite:/// followed by a path"),
    ],
    ids=["postgresql", "mysql", "no-scheme", "no-path", "with-host", "with-query"],
)
def test_database_path_refuses(url: str, message: str) -> None:
    with pytest.raises(ValueError, match=message) as refused:
        database_path(url)
    assert "s3cret" not in str(refused.value)
