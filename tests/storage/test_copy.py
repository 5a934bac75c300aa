"""`copy_database`: a SQLite database filled through the real stores, copied to PostgreSQL (and
back), compared table by table."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from storage.copy import TRIGGER_KEPT, CopyRefusedError, copy_database, dependency_order, describe
from storage.database import Database
from storage.postgres_database import PostgresDatabase
from storage.pushes import SqlitePushStore
from storage.sqlite import SqliteProgressStore
from storage.sqlite_database import SqliteDatabase
from storage.staff import SqliteStaffStore
from tests.storage.builders import T0, TickClock, commit

LEARNERS = (101, 102, 103)


async def fill(database: Database) -> None:
    """Learners, sessions, answers, runs, applied updates, polls, roles, a cohort and a push:
    written as the bot writes them."""
    store = SqliteProgressStore(database, clock=TickClock())
    for learner_id in LEARNERS:
        await store.apply(commit(learner_id, 1, key=f"u{learner_id}-1", answers=(1, 2, 3)))
        await store.apply(commit(learner_id, 2, key=f"u{learner_id}-2", answers=(4,), finished=1))
    # Polls in an order unlike their keys' order: `seq` must follow the insertion order.
    for poll_id in ("p-c", "p-a", "p-b"):
        await store.remember_poll(poll_id, LEARNERS[0], "q1")
    staff = SqliteStaffStore(database, admin_ids=())
    await staff.grant(900, "tutor", by=0)
    cohort = await staff.create_cohort(900, "Evening group")
    for learner_id in LEARNERS:
        await staff.join(cohort, learner_id)
    pushes = SqlitePushStore(database)
    await pushes.create(900, cohort.id, "core", T0 + timedelta(days=1))


async def rows(database: Database, table: str, order: str) -> list[dict[str, Any]]:
    return [dict(row) for row in await database.fetch(f"SELECT * FROM {table} ORDER BY {order}")]


def without(found: list[dict[str, Any]], column: str) -> list[dict[str, Any]]:
    return [{k: v for k, v in row.items() if k != column} for row in found]


@pytest.fixture
async def source(tmp_path: Path) -> Any:
    async with SqliteDatabase.open(tmp_path / "coach.db") as database:
        await fill(database)
        yield database


async def test_sqlite_is_copied_to_postgresql_exactly(
    source: SqliteDatabase, postgres_url: str
) -> None:
    async with await PostgresDatabase.open(postgres_url) as target:
        report = await copy_database(source, target, batch_rows=2)  # several batches a table

        assert report.ok
        counted = {table.name: table.target_rows for table in report.tables}
        assert counted["answers"] == 12
        assert counted["learners"] == 3
        assert counted["polls"] == 3
        assert "schema_version" not in counted
        for table, order in [
            ("answers", "id"),
            ("scenario_runs", "id"),
            ("learners", "id"),
            ("sessions", "learner_id"),
            ("cohorts", "id"),
            ("memberships", "learner_id"),
            ("pushes", "id"),
            ("answer_counts", "learner_id"),
            ("criterion_counts", "learner_id, criterion"),
        ]:
            assert await rows(target, table, order) == await rows(source, table, order), table
        # `seq` stands in for the rowid: the same rows, in the source's insertion order.
        polls = await rows(target, "polls", "seq")
        assert [row["poll_id"] for row in polls] == ["p-c", "p-a", "p-b"]
        assert without(polls, "seq") == await rows(source, "polls", "rowid")
        applied = await rows(target, "applied_updates", "seq")
        assert without(applied, "seq") == await rows(source, "applied_updates", "rowid")

        # The sequences continue after the copied ids.
        top = max(row["id"] for row in await rows(source, "cohorts", "id"))
        written = await target.write(
            (
                "INSERT INTO cohorts (name, owner_id, join_code, created_at)"
                " VALUES (?, ?, ?, ?) RETURNING id",
                ("Morning group", 900, "NEWCODE1", T0.isoformat()),
            )
        )
        assert written.row_ids == (top + 1,)


async def test_postgresql_is_copied_back_to_sqlite(
    source: SqliteDatabase, postgres_url: str, tmp_path: Path
) -> None:
    async with (
        await PostgresDatabase.open(postgres_url) as middle,
        SqliteDatabase.open(tmp_path / "back.db") as back,
    ):
        assert (await copy_database(source, middle)).ok
        report = await copy_database(middle, back)
        assert report.ok
        for table, order in [("answers", "id"), ("polls", "rowid"), ("answer_counts", "1")]:
            assert await rows(back, table, order) == await rows(source, table, order), table


async def test_a_target_behind_on_migrations_is_refused_naming_it(
    source: SqliteDatabase, postgres_url: str
) -> None:
    async with await PostgresDatabase.open(postgres_url, migrate=False) as target:
        with pytest.raises(CopyRefusedError, match="upgrade the target first"):
            await copy_database(source, target)


async def test_a_target_holding_rows_is_refused_unless_replaced(
    source: SqliteDatabase, tmp_path: Path
) -> None:
    async with SqliteDatabase.open(tmp_path / "target.db") as target:
        await SqliteStaffStore(target, admin_ids=()).grant(7, "admin", by=0)
        with pytest.raises(CopyRefusedError, match=r"already holds rows \(in roles\)"):
            await copy_database(source, target)
        assert await rows(target, "answers", "id") == []  # nothing written

        report = await copy_database(source, target, replace=True)
        assert report.ok
        assert await rows(target, "roles", "user_id") == await rows(source, "roles", "user_id")


async def test_tables_come_after_the_tables_they_refer_to_and_counts_last(
    source: SqliteDatabase,
) -> None:
    tables = await describe(source)
    order = dependency_order(tables)
    assert sorted(order) == sorted(tables)
    for name in order:
        for parent in tables[name].parents:
            assert order.index(parent) < order.index(name), (parent, name)
    assert order[-len(TRIGGER_KEPT) :] == list(TRIGGER_KEPT)
