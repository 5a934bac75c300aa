"""PostgreSQL's edition of the migrations, and applying them.

Every SQLite migration in storage/migrations/ has a PostgreSQL edition of the same number and
name in storage/migrations/postgresql/ (same tables, columns and meaning; BIGINT ids, identity
columns, plpgsql triggers). Both databases record applied migrations in `schema_version`, by
set, so a migration merged later with a lower number still runs.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from importlib import resources

from storage import schema
from storage.common import utc_now
from storage.database import Migration, Transaction

log = logging.getLogger(__name__)

POSTGRES_SCHEMES = ("postgresql://", "postgres://")
# Any fixed number: every worker of one installation takes the same lock while it migrates.
MIGRATION_LOCK = 0x436F616368  # "Coach"


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
    for migration in schema.load_migrations():
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


def apply_pending(
    transaction: Transaction, migrations: Sequence[Migration]
) -> tuple[Migration, ...]:
    """Apply every pending migration in the caller's transaction (PostgreSQL's DDL is
    transactional, so a failure leaves the schema as it was); the migrations applied.

    An advisory lock held to the end of the transaction makes workers starting together take
    turns: the second finds nothing pending.
    """
    transaction.execute("SELECT pg_advisory_xact_lock(?)", (MIGRATION_LOCK,))
    transaction.execute(schema.CREATE_VERSIONS)
    rows = transaction.fetch("SELECT version FROM schema_version")
    applied = {int(row["version"]) for row in rows}
    schema.status(applied, migrations)  # refuses a database newer than this code
    done: list[Migration] = []
    for migration in migrations:
        if migration.version in applied:
            continue
        # A whole script without parameters: psycopg sends it as one simple query, so the
        # ';' inside plpgsql bodies needs no splitting.
        transaction.execute(migration.sql)
        transaction.execute(
            "INSERT INTO schema_version (version, name, applied_at) VALUES (?, ?, ?)",
            (migration.version, migration.name, utc_now().isoformat()),
        )
        log.info("applied migration %s", migration.name)
        done.append(migration)
    return tuple(done)
