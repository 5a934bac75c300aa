"""Opening the `Database` a DATABASE_URL names, and refusing to serve an outdated schema.

`sqlite:///…` opens a `SqliteDatabase`, `postgresql://…` a `PostgresDatabase`. Pending
migrations are applied on opening only when the caller allows it (AUTO_MIGRATE): with
several workers on one PostgreSQL database, upgrading is one deliberate step
(`coach db upgrade`), not a race between workers starting with different code.
"""

from __future__ import annotations

import logging

from storage.database import Database, MigrationStatus
from storage.postgres import is_postgres_url
from storage.postgres_database import PostgresDatabase
from storage.sqlite_database import SqliteDatabase, database_path

log = logging.getLogger(__name__)

UPGRADE_COMMAND = "coach db upgrade"


class PendingMigrationsError(RuntimeError):
    """The database lacks migrations this code needs, and migrating on start is off."""


async def open_database(url: str, *, migrate: bool = False) -> Database:
    """The database `url` names, opened (pending migrations applied only if `migrate`)."""
    if is_postgres_url(url):
        return await PostgresDatabase.open(url, migrate=migrate)
    return await SqliteDatabase.open(sqlite_path(url), migrate=migrate)


def sqlite_path(url: str) -> str:
    """The SQLite file a `sqlite:///` URL names; a ValueError (naming the scheme only: the
    rest of a URL may hold a password) for any URL neither SQLite's nor PostgreSQL's."""
    scheme, separator, _ = url.partition("://")
    if separator and scheme.lower() != "sqlite":
        raise ValueError(
            f"DATABASE_URL uses {scheme!r}: use sqlite:///./coach.db (relative),"
            " sqlite:////abs/coach.db, sqlite:///:memory: or postgresql://user@host/database"
        )
    return database_path(url)


def pending_message(status: MigrationStatus) -> str:
    names = ", ".join(migration.name for migration in status.pending)
    count = len(status.pending)
    return (
        f"the database has {count} pending migration{'s' if count > 1 else ''} ({names}):"
        f" run `{UPGRADE_COMMAND}` first (or set AUTO_MIGRATE=true to migrate on start)"
    )


async def open_current(url: str, *, auto_migrate: bool) -> Database:
    """The database with every migration applied: applied now if `auto_migrate`, else
    refused with `PendingMigrationsError` saying what to run."""
    database = await open_database(url, migrate=False)
    try:
        status = await database.migration_status()
        if status.pending and auto_migrate:
            for migration in await database.upgrade():
                log.info("applied migration %s (AUTO_MIGRATE)", migration.name)
    except BaseException:
        await database.close()
        raise
    if status.pending and not auto_migrate:
        await database.close()
        raise PendingMigrationsError(pending_message(status))
    return database
