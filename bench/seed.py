"""Bulk seeding for the bench: many learners, sessions and answers written straight to SQLite
(after the store has migrated the file), far faster than through the engine."""

from __future__ import annotations

import json
import random
import sqlite3
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

from flows.ports import SessionSnapshot
from storage.sqlite import SqliteProgressStore

NOW = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
QUESTIONS = (
    ("cra-short-term-reject", "goods", ("POST:P2", "A/500/7158:1.2")),
    ("complaint-acknowledge", "complaints", ("POST:P1", "Y/504/6243:1.1")),
    ("gdpr-sar-time", "data", ("POST:P3",)),
    ("ccr-cancel-days", "distance", ("POST:P2", "Y/504/6243:2.1")),
)
OUTCOMES = ("correct", "correct", "partial", "incorrect")


async def migrated(path: Path) -> None:
    """Create the schema (the store migrates a new file on open)."""
    async with SqliteProgressStore.open(path):
        pass


# A step of the shipped kettle scenario (a state it lacks would be closed as stale, not played).
PART_WAY = "resolve_refund"


def _insert_learners(db: sqlite3.Connection, learners: range, stamp: str) -> None:
    db.executemany(
        "INSERT INTO learners (id, display_name, username, first_seen, last_active)"
        " VALUES (?, ?, NULL, ?, ?)",
        ((i, f"Learner {i}", stamp, stamp) for i in learners),
    )


def seed_sessions(path: Path, learners: range) -> None:
    """Learners part-way through a scenario, as the engine stores them."""
    stamp = NOW.isoformat()
    with sqlite3.connect(path) as db:
        _insert_learners(db, learners, stamp)
        db.executemany(
            "INSERT INTO sessions (learner_id, scenario_id, state, version, data, updated_at)"
            " VALUES (?, ?, ?, 1, ?, ?)",
            (
                (
                    i,
                    "faulty-kettle-refund",
                    PART_WAY,
                    SessionSnapshot(
                        learner_id=i,
                        scenario_id="faulty-kettle-refund",
                        state=PART_WAY,
                        facts=(("days_ago", "12"), ("within_30_days", "yes")),
                        ask_seq=3,
                        version=1,
                        updated_at=NOW,
                    ).model_dump_json(),
                    stamp,
                )
                for i in learners
            ),
        )


def seed_answers(path: Path, learners: range, per_learner: int, cohort_id: int) -> None:
    """`per_learner` logged answers for each learner, all members of the cohort."""
    rng = random.Random(7)  # noqa: S311  # repeatable data, not secrets
    stamp = NOW.isoformat()
    with sqlite3.connect(path) as db:
        _insert_learners(db, learners, stamp)
        db.executemany(
            "INSERT INTO memberships (cohort_id, learner_id, joined_at) VALUES (?, ?, ?)",
            ((cohort_id, i, stamp) for i in learners),
        )

        criteria = [(q, t, json.dumps(c)) for q, t, c in QUESTIONS]
        stamps = [
            (NOW - timedelta(minutes=per_learner - n)).isoformat() for n in range(per_learner)
        ]

        def rows() -> Iterator[tuple[object, ...]]:
            for learner in learners:
                for n, created in enumerate(stamps):
                    question, topic, codes = criteria[n % len(criteria)]
                    yield (
                        learner, question, "offer a refund", rng.choice(OUTCOMES), 1.0, codes,
                        topic, None, None, "quiz", None, created,
                    )  # fmt: skip

        db.executemany(
            "INSERT INTO answers (learner_id, question_id, answer, outcome, score, criteria,"
            " topic, scenario_id, step, source, push_id, created_at)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            rows(),
        )
