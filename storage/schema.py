"""The schema's numbered migrations (storage/migrations/NNNN_name.sql) and applying them to
SQLite: by set, all pending ones in one transaction, recorded in `schema_version`.

`apply_pending` runs as a `TransactionWork` of the group commit, whose transaction starts with
BEGIN IMMEDIATE: the write lock is taken before the applied versions are read, so two processes
opening the same new file cannot both decide to run 0001."""

from __future__ import annotations

import logging
import re
import sqlite3
from collections.abc import Sequence
from importlib import resources

from storage.common import utc_now
from storage.database import Migration, MigrationStatus, SchemaVersionError, Transaction

log = logging.getLogger(__name__)

_MIGRATION_FILE = re.compile(r"^(\d{4})_[a-z0-9_]+\.sql$")
CREATE_VERSIONS = (
    "CREATE TABLE IF NOT EXISTS schema_version ("
    " version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)"
)


def load_migrations() -> tuple[Migration, ...]:
    """The shipped migrations in order; numbers are unique and start at 1. Gaps are allowed:
    features developed side by side each take a number, and one may land before another."""
    found: list[Migration] = []
    for entry in (resources.files("storage") / "migrations").iterdir():
        if not entry.name.endswith(".sql"):
            continue
        match = _MIGRATION_FILE.match(entry.name)
        if match is None:
            raise ValueError(f"migration {entry.name!r} is not named like 0001_initial.sql")
        sql = entry.read_text(encoding="utf-8")
        found.append(Migration(int(match[1]), entry.name.removesuffix(".sql"), sql))
    found.sort(key=lambda migration: migration.version)
    versions = [migration.version for migration in found]
    if len(set(versions)) != len(versions) or (versions and versions[0] != 1):
        raise ValueError(f"migrations must have unique numbers from 1: found {versions}")
    return tuple(found)


def split_statements(script: str) -> list[str]:
    """Split a migration into statements, so they run inside our transaction.

    `executescript` would COMMIT on its own; `sqlite3.complete_statement` knows about string
    literals, comments and trigger bodies, so a ';' inside them does not end a statement.
    """
    statements: list[str] = []
    pending = ""
    *pieces, tail = script.split(";")
    for piece in pieces:
        pending += piece + ";"
        if sqlite3.complete_statement(pending):
            if pending.strip() != ";":
                statements.append(pending.strip())
            pending = ""
    rest = pending + tail
    if any(line.strip() and not line.strip().startswith("--") for line in rest.splitlines()):
        raise ValueError(f"migration ends with an incomplete statement: {rest.strip()[:80]!r}")
    return statements


def status(applied: set[int], migrations: Sequence[Migration]) -> MigrationStatus:
    """What is applied and what is pending; refuses a database newer than these migrations."""
    _refuse_newer(applied, migrations)
    pending = tuple(migration for migration in migrations if migration.version not in applied)
    return MigrationStatus(applied=tuple(sorted(applied)), pending=pending)


def apply_pending(
    transaction: Transaction, migrations: Sequence[Migration]
) -> tuple[Migration, ...]:
    """Apply every pending migration in the caller's transaction (so a failure leaves the
    schema as it was); the migrations applied, in order."""
    transaction.execute(CREATE_VERSIONS)
    rows = transaction.fetch("SELECT version FROM schema_version")
    applied = {int(row["version"]) for row in rows}
    _refuse_newer(applied, migrations)
    done: list[Migration] = []
    for migration in migrations:
        # By set, not by the highest number: a migration numbered below one already applied
        # (merged later from a branch developed in parallel) still runs.
        if migration.version in applied:
            continue
        for statement in split_statements(migration.sql):
            transaction.execute(statement)
        transaction.execute(
            "INSERT INTO schema_version (version, name, applied_at) VALUES (?, ?, ?)",
            (migration.version, migration.name, utc_now().isoformat()),
        )
        log.info("applied migration %s", migration.name)
        done.append(migration)
    return tuple(done)


def _refuse_newer(applied: set[int], migrations: Sequence[Migration]) -> None:
    latest = max((migration.version for migration in migrations), default=0)
    current = max(applied, default=0)
    if current > latest:
        raise SchemaVersionError(
            f"the database is at schema version {current}, newer than this code knows"
            f" ({latest}): upgrade Aftercare Coach or point DATABASE_URL at another file"
        )
