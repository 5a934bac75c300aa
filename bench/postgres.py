"""A PostgreSQL schema of its own for a bench run (TEST_DATABASE_URL, or 127.0.0.1:5432/test)."""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from contextlib import contextmanager

import psycopg

DEFAULT_URL = "postgresql://127.0.0.1:5432/test"


def server_url() -> str:
    return os.environ.get("TEST_DATABASE_URL", DEFAULT_URL)


def postgres_unavailable() -> str | None:
    """None if the server answers, else why not (the PostgreSQL figures are then skipped)."""
    try:
        psycopg.connect(server_url(), connect_timeout=3).close()
    except psycopg.Error as error:
        return f"{server_url()} unreachable ({type(error).__name__})"
    return None


@contextmanager
def postgres_schema() -> Iterator[str]:
    """A URL whose connections work in a new, empty schema, dropped afterwards."""
    schema = f"bench_{secrets.token_hex(4)}"
    with psycopg.connect(server_url(), autocommit=True) as admin:
        admin.execute(f"CREATE SCHEMA {schema}".encode())
        try:
            separator = "&" if "?" in server_url() else "?"
            yield f"{server_url()}{separator}options=-csearch_path%3D{schema}"
        finally:
            admin.execute(f"DROP SCHEMA {schema} CASCADE".encode())
