"""The health verdict GET /healthz serves (the route itself: tests/bot/test_e2e_webhook.py)."""

from pathlib import Path

from bot.app import database_health
from storage.sqlite_database import SqliteDatabase


async def test_a_current_database_is_healthy(tmp_path: Path) -> None:
    async with SqliteDatabase.open(tmp_path / "coach.db") as database:
        assert await database_health(database) == (
            True,
            {"database": "ok", "migrations": "current"},
        )


async def test_pending_migrations_are_named(tmp_path: Path) -> None:
    async with SqliteDatabase.open(tmp_path / "coach.db", migrate=False) as database:
        healthy, body = await database_health(database)
    assert not healthy
    assert body["database"] == "ok"
    assert body["migrations"].startswith("pending: 0001_initial, 0002_polls")


async def test_a_schema_upgraded_by_newer_code_is_unhealthy(tmp_path: Path) -> None:
    async with SqliteDatabase.open(tmp_path / "coach.db") as database:
        # Another worker, running newer code, applied a migration this code does not know.
        await database.write(
            (
                "INSERT INTO schema_version (version, name, applied_at) VALUES (?, ?, ?)",
                (9999, "9999_later", "2026-12-06T12:00:00+00:00"),
            )
        )
        assert await database_health(database) == (
            False,
            {"database": "ok", "migrations": "newer than this code"},
        )


async def test_a_closed_database_is_unavailable(tmp_path: Path) -> None:
    database = await SqliteDatabase.open(tmp_path / "coach.db")
    await database.close()
    assert await database_health(database) == (
        False,
        {"database": "unavailable (StoreClosedError)", "migrations": "unknown"},
    )
