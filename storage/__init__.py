"""Persistence: adapters of the engine's `ProgressStore` port (flows/ports.py)."""

from storage.memory import MemoryProgressStore
from storage.sqlite import (
    SchemaVersionError,
    SqliteProgressStore,
    StoreClosedError,
    database_path,
)

__all__ = [
    "MemoryProgressStore",
    "SchemaVersionError",
    "SqliteProgressStore",
    "StoreClosedError",
    "database_path",
]
