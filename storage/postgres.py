"""PostgreSQL: connecting by DATABASE_URL and the PostgreSQL edition of the migrations.

Every SQLite migration in storage/migrations/ has a PostgreSQL edition of the same number and
name in storage/migrations/postgresql/ (same tables, columns and meaning; BIGINT ids, identity
columns, plpgsql triggers). Both databases record applied migrations in `schema_version`, by
set, so a migration merged later with a lower number still runs.

The query layer is psycopg 3 with hand-written SQL (see README, "Choosing a database"):
SQLAlchemy Core cost 2.5-5 times the driver's CPU per learner action.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from importlib import resources

import psycopg

from storage.common import utc_now
from storage.sqlite import Migration, SchemaVersionError, load_migrations

log = logging.getLogger(__name__)

POSTGRES_SCHEMES = ("postgresql://", "postgres://")
# Any fixed number: every worker of one installation takes the same lock while it migrates.
_MIGRATION_LOCK = 0x436F616368  # "Coach"


def is_postgres_url(url: str) -> bool:
    return url.startswith(POSTGRES_SCHEMES)


def load_postgres_migrations() -> tuple[Migration, ...]:
    """The PostgreSQL editions, checked against the SQLite migrations: one each, same names."""
    folder = resources.files("storage") / "migrations" / "postgresql"
    found = {
        entry.name.removesuffix(".sql"): entry.read_text(encoding="utf-8")
        for entry in folder.iterdir()
        if entry.name.endswith(".sql")
    }
    editions: list[Migration] = []
    for migration in load_migrations():
        sql = found.pop(migration.name, None)
        if sql is None:
            raise ValueError(
                f"migration {migration.name} has no PostgreSQL edition"
                f" (storage/migrations/postgresql/{migration.name}.sql)"
            )
        editions.append(Migration(migration.version, migration.name, sql))
    if found:
        raise ValueError(f"PostgreSQL migrations without an SQLite migration: {sorted(found)}")
    return tuple(editions)


async def applied_versions(connection: psycopg.AsyncConnection[tuple[object, ...]]) -> set[int]:
    """Versions recorded in `schema_version` (none on a new database)."""
    cursor = await connection.execute("SELECT to_regclass('schema_version') IS NOT NULL")
    exists = await cursor.fetchone()
    if exists is None or not exists[0]:
        return set()
    cursor = await connection.execute("SELECT version FROM schema_version")
    return {int(str(row[0])) for row in await cursor.fetchall()}


async def pending_migrations(
    connection: psycopg.AsyncConnection[tuple[object, ...]],
    migrations: Sequence[Migration] | None = None,
) -> list[Migration]:
    """Migrations not applied yet; raises SchemaVersionError if the database is newer."""
    migrations = load_postgres_migrations() if migrations is None else migrations
    applied = await applied_versions(connection)
    latest = max((migration.version for migration in migrations), default=0)
    current = max(applied, default=0)
    if current > latest:
        raise SchemaVersionError(
            f"the database is at schema version {current}, newer than this code knows"
            f" ({latest}): upgrade Aftercare Coach or point DATABASE_URL at another database"
        )
    return [migration for migration in migrations if migration.version not in applied]


async def migrate_postgres(
    connection: psycopg.AsyncConnection[tuple[object, ...]],
    migrations: Sequence[Migration] | None = None,
) -> list[str]:
    """Apply pending migrations in one transaction (PostgreSQL's DDL is transactional, so a
    failure leaves the schema as it was); returns the names applied.

    An advisory lock held to the end of the transaction makes workers starting together take
    turns: the second finds nothing pending.
    """
    applied_names: list[str] = []
    async with connection.transaction():
        await connection.execute("SELECT pg_advisory_xact_lock(%s)", (_MIGRATION_LOCK,))
        await connection.execute(
            "CREATE TABLE IF NOT EXISTS schema_version ("
            " version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)"
        )
        for migration in await pending_migrations(connection, migrations):
            # Without parameters psycopg sends the script as one simple query: several
            # statements, and plpgsql bodies whose ';' must not split them.
            await connection.execute(migration.sql.encode())
            await connection.execute(
                "INSERT INTO schema_version (version, name, applied_at) VALUES (%s, %s, %s)",
                (migration.version, migration.name, utc_now().isoformat()),
            )
            log.info("applied migration %s", migration.name)
            applied_names.append(migration.name)
    return applied_names
