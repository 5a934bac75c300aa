"""Reminders at 08:00 for many learners: choosing whom to remind, and counting their due cards.

Database time only, with plain sqlite3 on a file the store migrated: the selection the reminder
job runs each minute (an index range on next_reminder_at), and the due-card count the reminder
then runs per learner (over the index on (learner_id, due_at)), each beside the same query made
to scan the table (SQLite's unary `+` keeps it off the index). Sending is Bot API budget: at 30
messages a second the rate limiter, not the database, sets how long a wave takes.
"""

from __future__ import annotations

import random
import sqlite3
import statistics
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

from bench.seed import NOW, migrated
from storage.revision import stamp

EIGHT = NOW.replace(hour=8, minute=0)
SELECT_DUE = (
    "SELECT learner_id, timezone, remind_at, quiet_days, next_reminder_at FROM learner_settings"
    " WHERE {column} IS NOT NULL AND {column} <= ? AND blocked_at IS NULL"
    " ORDER BY next_reminder_at, learner_id"
)
# What the reminder asks of each learner chosen: how many cards are due today.
DUE_CARDS = "SELECT count(*) FROM revision_cards WHERE {column} = ? AND due_at < ?"


def seed_reminders(path: Path, learners: int, cards: int) -> int:
    """Learners with a reminder (a quarter at 08:00 today, the rest through the day) and
    `cards` cards each, due over the three weeks around today; returns how many are due."""
    rng = random.Random(12)  # noqa: S311  # reproducible test data, not secrets
    day_end = NOW.replace(hour=0, minute=0) + timedelta(days=1)
    with sqlite3.connect(path) as db:
        db.executemany(
            "INSERT INTO learners (id, display_name, first_seen, last_active) VALUES (?, ?, ?, ?)",
            ((i, f"L{i}", stamp(NOW), stamp(NOW)) for i in range(1, learners + 1)),
        )
        due_now = 0
        rows = []
        for i in range(1, learners + 1):
            at = EIGHT if i % 4 == 0 else EIGHT + timedelta(minutes=rng.randrange(1, 15 * 60))
            due_now += at <= EIGHT
            rows.append((i, "08:00", stamp(at)))
        db.executemany(
            "INSERT INTO learner_settings (learner_id, remind_at, next_reminder_at)"
            " VALUES (?, ?, ?)",
            rows,
        )
        db.executemany(
            "INSERT INTO revision_cards (learner_id, card_id, topic, state, due_at)"
            " VALUES (?, ?, 'cra-goods', 2, ?)",
            (
                (i, f"q{n}", stamp(day_end + timedelta(hours=rng.randrange(-240, 240))))
                for i in range(1, learners + 1)
                for n in range(cards)
            ),
        )
        db.execute("ANALYZE")
    return due_now


def _timed(db: sqlite3.Connection, sql: str, parameters: tuple[object, ...]) -> tuple[float, int]:
    start = time.perf_counter()
    rows = db.execute(sql, parameters).fetchall()
    return time.perf_counter() - start, len(rows)


def _plan(db: sqlite3.Connection, sql: str, parameters: tuple[object, ...]) -> str:
    return " / ".join(str(row[-1]) for row in db.execute(f"EXPLAIN QUERY PLAN {sql}", parameters))


async def bench_reminders(folder: Path, learners: int, cards: int) -> dict[str, Any]:
    """Milliseconds to choose the reminders due at 08:00 and to read every one's due cards."""
    path = folder / "reminders.db"
    await migrated(path)
    due_now = seed_reminders(path, learners, cards)
    day_end = stamp(NOW.replace(hour=0, minute=0) + timedelta(days=1))
    with sqlite3.connect(path) as db:
        select = SELECT_DUE.format(column="next_reminder_at")
        scan = SELECT_DUE.format(column="+next_reminder_at")
        chosen = [_timed(db, select, (stamp(EIGHT),)) for _ in range(3)]
        scanned = [_timed(db, scan, (stamp(EIGHT),)) for _ in range(3)]
        assert chosen[0][1] == due_now
        ids = [row[0] for row in db.execute(select, (stamp(EIGHT),))]
        cards_sql = DUE_CARDS.format(column="learner_id")
        start = time.perf_counter()
        due_cards = sum(db.execute(cards_sql, (i, day_end)).fetchone()[0] for i in ids)
        per_learner = time.perf_counter() - start
        sample = ids[:200]
        start = time.perf_counter()
        for i in sample:
            db.execute(DUE_CARDS.format(column="+learner_id"), (i, day_end)).fetchall()
        scan_per_learner = (time.perf_counter() - start) / len(sample)
        # A minute later: the 08:00 wave has been claimed (moved to tomorrow); the job's query
        # each minute should then cost next to nothing.
        db.execute(
            "UPDATE learner_settings SET next_reminder_at = ? WHERE next_reminder_at <= ?",
            (stamp(EIGHT + timedelta(days=1)), stamp(EIGHT)),
        )
        minute = stamp(EIGHT + timedelta(minutes=1))
        quiet = [_timed(db, select, (minute,)) for _ in range(5)]
        quiet_scan = [_timed(db, scan, (minute,)) for _ in range(5)]
        plans = {
            "select": _plan(db, select, (stamp(EIGHT),)),
            "due_cards": _plan(db, cards_sql, (1, day_end)),
        }
    return {
        "learners": learners,
        "cards": learners * cards,
        "due_at_0800": due_now,
        "due_cards_of_those": due_cards,
        "select_ms": statistics.median(t for t, _ in chosen) * 1000,
        "select_scan_ms": statistics.median(t for t, _ in scanned) * 1000,
        "next_minute_due": quiet[0][1],
        "next_minute_select_ms": statistics.median(t for t, _ in quiet) * 1000,
        "next_minute_select_scan_ms": statistics.median(t for t, _ in quiet_scan) * 1000,
        "due_cards_all_ms": per_learner * 1000,
        "due_cards_per_learner_us": per_learner / max(len(ids), 1) * 1e6,
        "due_cards_scan_per_learner_us": scan_per_learner * 1e6,
        "plans": plans,
    }
