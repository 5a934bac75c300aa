"""Persistence: a `Database` (storage/database.py) and the stores built on it, adapters of the
ports that flows/ and tutoring/ own."""

from storage.database import (
    Database,
    DatabaseUnavailableError,
    SchemaVersionError,
    StoreClosedError,
)
from storage.memory import MemoryProgressStore
from storage.sqlite import SqliteProgressStore
from storage.sqlite_database import SqliteDatabase, database_path

__all__ = [
    "Database",
    "DatabaseUnavailableError",
    "MemoryProgressStore",
    "SchemaVersionError",
    "SqliteDatabase",
    "SqliteProgressStore",
    "StoreClosedError",
    "database_path",
]
