"""Copying every table of one database into another (`coach db copy`), e.g. SQLite to
PostgreSQL when an installation moves to several workers.

The copy runs as one transaction on the target (all of it, or nothing), in dependency order
(a row's foreign keys are copied before it), and reads the source in batches from one
snapshot. Both databases must be at the same migrations, and the target must be empty unless
`replace` is asked for. Afterwards PostgreSQL's identity sequences continue after the highest
copied id, and every table's rows are counted on both sides.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Sequence
from dataclasses import dataclass
from typing import TypeVar

from storage.database import Database, Transaction
from storage.postgres_database import PostgresDatabase

_T = TypeVar("_T")

BATCH_ROWS = 1_000
# Kept by triggers on `answers`: copying answers fills them on the target, so they are
# emptied after every other table is copied and then copied as the source has them.
TRIGGER_KEPT = ("answer_counts", "criterion_counts")
NOT_COPIED = ("schema_version",)  # both sides already agree on it (checked first)
# PostgreSQL-only columns standing in for SQLite's rowid: generated on the target, in the
# source's rowid order.
ROW_ORDER_COLUMN = "seq"


class CopyRefusedError(RuntimeError):
    """The copy would be wrong (different migrations, a target holding rows); nothing was
    written. The message says what to do."""


@dataclass(frozen=True, slots=True)
class Table:
    """One table as the copy sees it: columns, key columns, and the tables it refers to."""

    name: str
    columns: tuple[str, ...]
    key: tuple[str, ...]
    parents: frozenset[str]
    generated: tuple[str, ...] = ()
    """Columns the database fills itself (PostgreSQL's GENERATED ALWAYS `seq`)."""
    identities: tuple[str, ...] = ()
    """Identity columns whose sequence must continue after the copied ids (PostgreSQL)."""


@dataclass(frozen=True, slots=True)
class TableCount:
    name: str
    source_rows: int
    target_rows: int


@dataclass(frozen=True, slots=True)
class CopyReport:
    tables: tuple[TableCount, ...]

    @property
    def ok(self) -> bool:
        return all(table.source_rows == table.target_rows for table in self.tables)


def _quoted(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


# --- what each database holds ----------------------------------------------------------------


async def describe(database: Database) -> dict[str, Table]:
    """Every table of the schema, by name."""
    if isinstance(database, PostgresDatabase):
        return await _describe_postgres(database)
    return await _describe_sqlite(database)


async def _describe_sqlite(database: Database) -> dict[str, Table]:
    names = await database.fetch(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'"
        " ORDER BY name"
    )
    tables: dict[str, Table] = {}
    for row in names:
        name = str(row["name"])
        columns = await database.fetch(
            "SELECT name, pk FROM pragma_table_info(?) ORDER BY cid", (name,)
        )
        keys = sorted((int(c["pk"]), str(c["name"])) for c in columns if int(c["pk"]) > 0)
        parents = await database.fetch(
            'SELECT DISTINCT "table" AS parent FROM pragma_foreign_key_list(?)', (name,)
        )
        tables[name] = Table(
            name=name,
            columns=tuple(str(c["name"]) for c in columns),
            key=tuple(column for _, column in keys),
            parents=frozenset(str(p["parent"]) for p in parents) - {name},
        )
    return tables


_PG_COLUMNS = """
SELECT table_name, column_name, is_identity, identity_generation
FROM information_schema.columns
WHERE table_schema = current_schema()
ORDER BY table_name, ordinal_position
"""
_PG_KEYS = """
SELECT t.relname AS table_name, a.attname AS column_name
FROM pg_index i
JOIN pg_class t ON t.oid = i.indrelid
JOIN pg_namespace n ON n.oid = t.relnamespace
JOIN pg_attribute a ON a.attrelid = t.oid AND a.attnum = ANY (i.indkey)
WHERE i.indisprimary AND n.nspname = current_schema()
ORDER BY t.relname, array_position(i.indkey, a.attnum)
"""
_PG_PARENTS = """
SELECT child.relname AS table_name, parent.relname AS parent
FROM pg_constraint c
JOIN pg_class child ON child.oid = c.conrelid
JOIN pg_class parent ON parent.oid = c.confrelid
JOIN pg_namespace n ON n.oid = child.relnamespace
WHERE c.contype = 'f' AND n.nspname = current_schema()
"""


async def _describe_postgres(database: Database) -> dict[str, Table]:
    columns: dict[str, list[str]] = {}
    generated: dict[str, list[str]] = {}
    identities: dict[str, list[str]] = {}
    for row in await database.fetch(_PG_COLUMNS):
        table, column = str(row["table_name"]), str(row["column_name"])
        columns.setdefault(table, []).append(column)
        if row["is_identity"] == "YES":
            identities.setdefault(table, []).append(column)
            if row["identity_generation"] == "ALWAYS":
                generated.setdefault(table, []).append(column)
    keys: dict[str, list[str]] = {}
    for row in await database.fetch(_PG_KEYS):
        keys.setdefault(str(row["table_name"]), []).append(str(row["column_name"]))
    parents: dict[str, set[str]] = {}
    for row in await database.fetch(_PG_PARENTS):
        parents.setdefault(str(row["table_name"]), set()).add(str(row["parent"]))
    return {
        name: Table(
            name=name,
            columns=tuple(names),
            key=tuple(keys.get(name, ())),
            parents=frozenset(parents.get(name, set()) - {name}),
            generated=tuple(generated.get(name, ())),
            identities=tuple(identities.get(name, ())),
        )
        for name, names in columns.items()
    }


def dependency_order(tables: dict[str, Table]) -> list[str]:
    """Table names with every table after the tables its foreign keys refer to; the
    trigger-kept tables last (see TRIGGER_KEPT)."""
    ordered: list[str] = []
    placed: set[str] = set()
    waiting = sorted(name for name in tables if name not in TRIGGER_KEPT)
    while waiting:
        ready = [name for name in waiting if tables[name].parents <= placed | {name}]
        if not ready:
            raise CopyRefusedError(f"foreign keys form a cycle among {', '.join(waiting)}")
        ordered += ready
        placed.update(ready)
        waiting = [name for name in waiting if name not in placed]
    return ordered + [name for name in TRIGGER_KEPT if name in tables]


# --- checks before anything is written -------------------------------------------------------


async def _check_same_migrations(source: Database, target: Database) -> None:
    source_status = await source.migration_status()
    target_status = await target.migration_status()
    if source_status.applied == target_status.applied:
        return
    behind = (
        "the target" if len(target_status.applied) < len(source_status.applied) else "the source"
    )
    raise CopyRefusedError(
        "the databases are at different migrations (source:"
        f" {_versions(source_status.applied)}; target: {_versions(target_status.applied)}):"
        f" upgrade {behind} first (DATABASE_URL=<its URL> coach db upgrade)"
    )


def _versions(applied: Sequence[int]) -> str:
    return f"{len(applied)} applied, latest {max(applied):04d}" if applied else "none applied"


async def _count(database: Database, table: str) -> int:
    rows = await database.fetch(f"SELECT count(*) AS n FROM {_quoted(table)}")  # noqa: S608
    return int(rows[0]["n"])


# --- the copy ----------------------------------------------------------------------------------


async def copy_database(
    source: Database, target: Database, *, replace: bool = False, batch_rows: int = BATCH_ROWS
) -> CopyReport:
    """Copy every table of `source` into `target`; raises CopyRefusedError (having written
    nothing) if the migrations differ or the target holds rows and `replace` is False."""
    await _check_same_migrations(source, target)
    source_tables = await describe(source)
    target_tables = await describe(target)
    names = [name for name in dependency_order(target_tables) if name not in NOT_COPIED]
    missing = sorted(set(names) ^ (set(source_tables) - set(NOT_COPIED)))
    if missing:
        raise CopyRefusedError(f"the databases' tables differ: {', '.join(missing)}")
    if not replace:
        holding = [name for name in names if await _count(target, name)]
        if holding:
            raise CopyRefusedError(
                f"the target already holds rows (in {', '.join(holding)}): copy into an empty"
                " database, or add --replace to overwrite them"
            )
    plans = [_plan(source_tables[name], target_tables[name]) for name in names]
    loop = asyncio.get_running_loop()
    async with source.snapshot() as reader:

        def copy_all(transaction: Transaction) -> None:
            def read(coroutine: Awaitable[_T]) -> _T:
                # The work runs on the target's writer thread; the source is read on the
                # event loop, which is free while it waits for this transaction.
                return asyncio.run_coroutine_threadsafe(_awaited(coroutine), loop).result()

            for plan in reversed(plans):
                transaction.execute(f"DELETE FROM {_quoted(plan.table)}")  # noqa: S608
            for plan in plans:
                if plan.table in TRIGGER_KEPT:
                    transaction.execute(f"DELETE FROM {_quoted(plan.table)}")  # noqa: S608
                offset = 0
                while True:
                    rows = read(
                        reader.fetch(f"{plan.select} LIMIT ? OFFSET ?", (batch_rows, offset))
                    )
                    if not rows:
                        break
                    transaction.execute_many(
                        plan.insert, [[row[column] for column in plan.columns] for row in rows]
                    )
                    offset += len(rows)
            if isinstance(target, PostgresDatabase):
                for plan in plans:
                    for column in target_tables[plan.table].identities:
                        _continue_sequence(transaction, plan.table, column)

        await target.transact(copy_all)
    counts = [
        TableCount(name, await _count(source, name), await _count(target, name)) for name in names
    ]
    return CopyReport(tuple(counts))


async def _awaited(awaitable: Awaitable[_T]) -> _T:
    return await awaitable


@dataclass(frozen=True, slots=True)
class _Plan:
    table: str
    columns: tuple[str, ...]
    select: str
    insert: str


def _plan(source: Table, target: Table) -> _Plan:
    """The SELECT on the source (in a stable order: rowid or `seq` where the target keeps
    one, else the primary key) and the INSERT on the target, over the target's columns."""
    columns = tuple(column for column in target.columns if column not in target.generated)
    absent = [column for column in columns if column not in source.columns]
    if absent:
        raise CopyRefusedError(f"table {source.name} lacks columns {', '.join(absent)}")
    if ROW_ORDER_COLUMN in source.columns and ROW_ORDER_COLUMN not in columns:
        order = [ROW_ORDER_COLUMN]  # PostgreSQL's stand-in for the rowid
    elif ROW_ORDER_COLUMN in target.generated:
        order = ["rowid"]  # SQLite: the order `seq` must follow on the target
    else:
        order = list(source.key or columns)
    listed = ", ".join(_quoted(column) for column in columns)
    ordered = ", ".join(order if order == ["rowid"] else [_quoted(o) for o in order])
    placeholders = ", ".join("?" for _ in columns)
    return _Plan(
        table=target.name,
        columns=columns,
        select=f"SELECT {listed} FROM {_quoted(source.name)} ORDER BY {ordered}",  # noqa: S608
        insert=f"INSERT INTO {_quoted(target.name)} ({listed}) VALUES ({placeholders})",  # noqa: S608
    )


def _continue_sequence(transaction: Transaction, table: str, column: str) -> None:
    """The identity sequence's next value: one past the highest copied id (1 if none)."""
    next_id = f"coalesce(max({_quoted(column)}), 0) + 1"
    transaction.execute(
        f"SELECT setval(pg_get_serial_sequence(?, ?), {next_id}, false)"  # noqa: S608
        f" FROM {_quoted(table)}",
        (_quoted(table), column),
    )
