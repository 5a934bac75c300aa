"""Tutor reports on a big cohort: `/progress COHORT` and `/criteria COHORT`, their queries and
rendering as the bot's report desk makes them (sending the pages is Bot API budget, counted
elsewhere)."""

from __future__ import annotations

import sqlite3
import statistics
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from bench.seed import seed_answers
from bot.app import build_application
from storage.sqlite import SqliteProgressStore, load_migrations
from storage.staff import SqliteStaffStore
from tests.bot.fakes import RecordingRequest, settings_for

TUTOR = 900


async def bench_reports(folder: Path, learners: int, per_learner: int) -> dict[str, Any]:
    """Milliseconds for each report (median of three), and one plain pass over every answer."""
    path = folder / "reports.db"
    # The answers go in before the counts migration (0005) and are counted as it is applied,
    # as on an upgrade: much faster than a trigger per row.
    before_counts = [m for m in load_migrations() if m.version < 5]
    start = time.perf_counter()
    async with SqliteProgressStore.open(path, migrations=before_counts) as store:
        cohort = await SqliteStaffStore(store.database).create_cohort(TUTOR, "Bench")
    seed_answers(path, range(1, learners + 1), per_learner, cohort.id)
    async with SqliteProgressStore.open(path):
        pass
    seeded = time.perf_counter() - start

    def one_pass() -> None:
        with sqlite3.connect(path) as db:
            db.execute("SELECT count(*), sum(outcome = 'correct') FROM answers").fetchall()

    app = build_application(
        settings_for(path, admin_ids=(TUTOR,)), request=RecordingRequest(), rate_limited=False
    )
    timings: dict[str, float] = {}
    async with app:
        await app.post_init(app)  # type: ignore[misc]  # set at build
        desk = app.bot_data.reports
        assert desk is not None
        reports: dict[str, Callable[[], Awaitable[object]]] = {
            "progress": lambda: desk.progress(TUTOR, "Bench"),
            "criteria": lambda: desk.criteria(TUTOR, "Bench"),
        }
        for name, report in reports.items():
            rounds = []
            for _ in range(3):
                start = time.perf_counter()
                await report()
                rounds.append(time.perf_counter() - start)
            timings[name] = statistics.median(rounds) * 1000
        pages = len(await desk.criteria(TUTOR, "Bench"))
        await app.post_shutdown(app)  # type: ignore[misc]
    scans = []
    for _ in range(3):
        start = time.perf_counter()
        one_pass()
        scans.append(time.perf_counter() - start)
    return {
        "learners": learners,
        "answers": learners * per_learner,
        "seed_s": round(seeded, 1),
        "progress_query_ms": timings["progress"],
        "criteria_query_ms": timings["criteria"],
        "criteria_pages": pages,
        "one_pass_ms": statistics.median(scans) * 1000,
    }
