"""A PostgreSQL server for the tests: TEST_DATABASE_URL, or the local one on 127.0.0.1:5432.

Each test gets a schema of its own on that server (its URL sets `search_path` through the
`options` parameter), dropped afterwards. Without a server the PostgreSQL tests are
skipped and say why; under CI (`.ci/run` sets REQUIRE_POSTGRES) a missing server fails them,
so a green CI means they ran.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import psycopg
import pytest

DEFAULT_URL = "postgresql://127.0.0.1:5432/test"
CONNECT_TIMEOUT_S = 3


def server_url() -> str:
    return os.environ.get("TEST_DATABASE_URL", DEFAULT_URL)


async def _reachable(url: str) -> str | None:
    """None if the server answers, else why not."""
    try:
        connection = await psycopg.AsyncConnection.connect(url, connect_timeout=CONNECT_TIMEOUT_S)
    except (TimeoutError, OSError, psycopg.Error) as error:
        return f"{type(error).__name__}: {error}"
    await connection.close()
    return None


async def require_server() -> str:
    """The server's URL, or skip (fail under CI) with the reason it cannot be reached."""
    url = server_url()
    problem = await _reachable(url)
    if problem is not None:
        reason = f"PostgreSQL at {url} is unreachable ({problem}); set TEST_DATABASE_URL"
        if os.environ.get("REQUIRE_POSTGRES") or os.environ.get("CI"):
            pytest.fail(f"CI requires PostgreSQL: {reason}")
        pytest.skip(reason)
    return url


def _with_schema(url: str, schema: str) -> str:
    separator = "&" if "?" in url else "?"
    return f"{url}{separator}options=-csearch_path%3D{schema}"


@asynccontextmanager
async def fresh_schema() -> AsyncIterator[str]:
    """A URL whose connections work in a new, empty schema; the schema is dropped after."""
    url = await require_server()
    schema = f"test_{secrets.token_hex(6)}"
    admin = await psycopg.AsyncConnection.connect(url, autocommit=True)
    try:
        await admin.execute(f"CREATE SCHEMA {schema}".encode())
        try:
            yield _with_schema(url, schema)
        finally:
            await admin.execute(f"DROP SCHEMA {schema} CASCADE".encode())
    finally:
        await admin.close()


async def kill_lock_holder(url: str, key: int) -> None:
    """End the PostgreSQL session holding advisory lock `key`, as a worker's death (or a broken
    connection) does. A bigint advisory key is shown as its high and low 32 bits."""
    key &= 2**64 - 1
    async with await psycopg.AsyncConnection.connect(url, autocommit=True) as admin:
        cursor = await admin.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_locks WHERE locktype = 'advisory'"
            " AND granted AND objsubid = 1 AND classid = %s AND objid = %s",
            (key >> 32, key & (2**32 - 1)),
        )
        assert len(await cursor.fetchall()) == 1
