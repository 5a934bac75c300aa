"""Which query layer: CPU per learner action spent in the database layer, hand-written SQL on the
drivers against SQLAlchemy 2 Core, on SQLite and PostgreSQL (issue 13's evidence).

Both run on one thread, synchronously, as the group-commit writer runs its transaction on its
own thread.

One learner action is what the bot runs for a typed answer: the session read, the inbox row,
the commit (repeat check, learner upsert, session update, answer, applied update, outbox; in a
savepoint of a group commit) and the two "handled"/"sent" marks afterwards. Both layers run the
same SQL text with the same parameters, batched as the group-commit writer batches.

`python -m bench.query_layer [--actions N] [--batch B]`; needs PostgreSQL (TEST_DATABASE_URL
or 127.0.0.1:5432/test) for the PostgreSQL rows.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sqlite3
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import psycopg
import sqlalchemy as sa
from psycopg.rows import dict_row

DATA = json.dumps({"state": "s3", "answers": ["x" * 40] * 5, "facts": {"a": "b" * 30}})
NOW = "2026-12-06T10:00:00+00:00"
LEARNERS = 300
SCHEMA = "bench_query_layer"

TABLES = (
    "CREATE TABLE learners (id BIGINT PRIMARY KEY, display_name TEXT NOT NULL, username TEXT,"
    " first_seen TEXT NOT NULL, last_active TEXT NOT NULL)",
    "CREATE TABLE sessions (learner_id BIGINT PRIMARY KEY, state TEXT NOT NULL,"
    " version INTEGER NOT NULL, data TEXT NOT NULL, updated_at TEXT NOT NULL)",
    "CREATE TABLE answers (id {serial}, learner_id BIGINT NOT NULL, question_id TEXT NOT NULL,"
    " answer TEXT NOT NULL, outcome TEXT NOT NULL, score REAL NOT NULL, criteria TEXT NOT NULL,"
    " topic TEXT NOT NULL, created_at TEXT NOT NULL)",
    "CREATE TABLE applied_updates (update_key TEXT PRIMARY KEY, learner_id BIGINT NOT NULL,"
    " applied_at TEXT NOT NULL)",
    "CREATE TABLE outbox (update_key TEXT PRIMARY KEY, learner_id BIGINT, replies TEXT,"
    " created_at TEXT, sent_at TEXT)",
    "CREATE TABLE inbox (update_key TEXT PRIMARY KEY, chat_id BIGINT, raw TEXT, handled_at TEXT)",
)
SEED = (
    "INSERT INTO learners (id, display_name, first_seen, last_active)"
    " VALUES (:learner, 'Sam', :now, :now)",
    "INSERT INTO sessions (learner_id, state, version, data, updated_at)"
    " VALUES (:learner, 's3', 1, :data, :now)",
)
READ = "SELECT data FROM sessions WHERE learner_id = :learner"
RECEIVE = "INSERT INTO inbox (update_key, chat_id, raw) VALUES (:key, :learner, :data)"
COMMIT = (
    "SELECT 1 FROM applied_updates WHERE update_key = :key",
    "UPDATE learners SET username = NULL WHERE username = :username AND id <> :learner",
    "INSERT INTO learners (id, display_name, username, first_seen, last_active)"
    " VALUES (:learner, :name, :username, :now, :now) ON CONFLICT (id) DO UPDATE SET"
    " display_name = excluded.display_name, username = excluded.username,"
    " last_active = excluded.last_active",
    "UPDATE sessions SET state = :state, version = :version, data = :data, updated_at = :now"
    " WHERE learner_id = :learner AND version = :previous",
    "INSERT INTO answers (learner_id, question_id, answer, outcome, score, criteria, topic,"
    " created_at) VALUES (:learner, 'q1', :answer, 'correct', 1.0, '[\"1.1\"]', 'refunds',"
    " :now)",
    "INSERT INTO applied_updates (update_key, learner_id, applied_at)"
    " VALUES (:key, :learner, :now)",
    "INSERT INTO outbox (update_key, learner_id, replies, created_at)"
    " VALUES (:key, :learner, :data, :now)",
)
AFTER = (
    "UPDATE inbox SET handled_at = :now WHERE update_key = :key",
    "UPDATE outbox SET sent_at = :now WHERE update_key = :key",
)

Params = dict[str, object]


def action(i: int) -> Params:
    learner = i % LEARNERS + 1
    return {
        "learner": learner,
        "key": f"u{i}",
        "username": f"user{learner}",
        "name": "Sam",
        "now": NOW,
        "state": "s4",
        "version": i // LEARNERS + 2,
        "previous": i // LEARNERS + 1,
        "data": DATA,
        "answer": "a refund within 14 days",
    }


@dataclass(frozen=True)
class Positional:
    """Named-parameter SQL turned into a driver's positional form once, as a store would."""

    sql: str
    names: tuple[str, ...]

    def values(self, params: Params) -> tuple[object, ...]:
        return tuple(params[name] for name in self.names)


def positional(sql: str, *, dollar: bool) -> Positional:
    names: list[str] = []

    def number(match: re.Match[str]) -> str:
        if match[1] not in names:
            names.append(match[1])
        return f"${names.index(match[1]) + 1}" if dollar else "?"

    if not dollar:
        return Positional(re.sub(r":(\w+)", "?", sql), tuple(re.findall(r":(\w+)", sql)))
    return Positional(re.sub(r":(\w+)", number, sql), tuple(names))


def batches(actions: int, batch: int) -> Iterator[list[Params]]:
    for start in range(0, actions, batch):
        yield [action(i) for i in range(start, min(start + batch, actions))]


def cpu_us(run: Callable[[], None], actions: int) -> float:
    started = time.process_time()
    run()
    return (time.process_time() - started) / actions * 1e6


def sqlite_raw(actions: int, batch: int) -> float:
    db = sqlite3.connect(":memory:", isolation_level=None)
    sql = {
        text: positional(text, dollar=False) for text in (*SEED, READ, RECEIVE, *COMMIT, *AFTER)
    }
    for table in TABLES:
        db.execute(table.format(serial="INTEGER PRIMARY KEY AUTOINCREMENT"))
    for learner in range(1, LEARNERS + 1):
        for text in SEED:
            db.execute(sql[text].sql, sql[text].values({**action(0), "learner": learner}))

    def run() -> None:
        for group in batches(actions, batch):
            for params in group:
                db.execute(sql[READ].sql, sql[READ].values(params)).fetchall()
            db.execute("BEGIN IMMEDIATE")
            for params in group:
                db.execute(sql[RECEIVE].sql, sql[RECEIVE].values(params))
            db.execute("COMMIT")
            db.execute("BEGIN IMMEDIATE")
            for params in group:
                db.execute("SAVEPOINT one_commit")
                for text in COMMIT:
                    db.execute(sql[text].sql, sql[text].values(params)).fetchall()
                db.execute("RELEASE one_commit")
            for params in group:
                for text in AFTER:
                    db.execute(sql[text].sql, sql[text].values(params))
            db.execute("COMMIT")

    return cpu_us(run, actions)


def sqlite_sqlalchemy(actions: int, batch: int) -> float:
    engine = sa.create_engine("sqlite://")
    text = {sql: sa.text(sql) for sql in (*SEED, READ, RECEIVE, *COMMIT, *AFTER)}
    connection = engine.connect()
    with connection.begin():
        for table in TABLES:
            connection.exec_driver_sql(table.format(serial="INTEGER PRIMARY KEY AUTOINCREMENT"))
        for learner in range(1, LEARNERS + 1):
            for sql in SEED:
                connection.execute(text[sql], {**action(0), "learner": learner})

    def run() -> None:
        for group in batches(actions, batch):
            for params in group:
                connection.execute(text[READ], params).fetchall()
            connection.commit()
            with connection.begin():
                for params in group:
                    connection.execute(text[RECEIVE], params)
            with connection.begin():
                for params in group:
                    with connection.begin_nested():
                        for sql in COMMIT:
                            connection.execute(text[sql], params)
                for params in group:
                    for sql in AFTER:
                        connection.execute(text[sql], params)

    try:
        return cpu_us(run, actions)
    finally:
        connection.close()


def server_url() -> str:
    return os.environ.get("TEST_DATABASE_URL", "postgresql://127.0.0.1:5432/test")


def _pyformat(sql: str) -> bytes:
    """Named parameters as psycopg spells them: `:name` to `%(name)s`."""
    return re.sub(r":(\w+)", r"%(\1)s", sql).encode()


def _postgres() -> psycopg.Connection[dict[str, Any]]:
    return psycopg.connect(
        server_url(), autocommit=True, row_factory=dict_row, options=f"-c search_path={SCHEMA}"
    )


def _fresh_schema() -> None:
    with psycopg.connect(server_url(), autocommit=True) as db:
        db.execute(f"DROP SCHEMA IF EXISTS {SCHEMA} CASCADE".encode())
        db.execute(f"CREATE SCHEMA {SCHEMA}".encode())
        db.execute(f"SET search_path = {SCHEMA}".encode())
        for table in TABLES:
            db.execute(table.format(serial="BIGSERIAL PRIMARY KEY").encode())
        for learner in range(1, LEARNERS + 1):
            for sql in SEED:
                db.execute(_pyformat(sql), {**action(0), "learner": learner})


def _drop_schema() -> None:
    with psycopg.connect(server_url(), autocommit=True) as db:
        db.execute(f"DROP SCHEMA {SCHEMA} CASCADE".encode())


def postgres_raw(actions: int, batch: int) -> float:
    """psycopg 3 on the writer's thread, as the group-commit writer would use it."""
    _fresh_schema()
    db = _postgres()
    sql = {text: _pyformat(text) for text in (READ, RECEIVE, *COMMIT, *AFTER)}

    def run() -> None:
        for group in batches(actions, batch):
            for params in group:
                db.execute(sql[READ], params, prepare=True).fetchall()
            with db.transaction():
                for params in group:
                    db.execute(sql[RECEIVE], params, prepare=True)
            with db.transaction():
                for params in group:
                    with db.transaction():  # a savepoint, as each commit has
                        for text in COMMIT:
                            db.execute(sql[text], params, prepare=True)
                for params in group:
                    for text in AFTER:
                        db.execute(sql[text], params, prepare=True)

    try:
        return cpu_us(run, actions)
    finally:
        db.close()
        _drop_schema()


def postgres_sqlalchemy(actions: int, batch: int) -> float:
    _fresh_schema()
    url = server_url().replace("postgresql://", "postgresql+psycopg://", 1)
    engine = sa.create_engine(url, connect_args={"options": f"-c search_path={SCHEMA}"})
    text = {sql: sa.text(sql) for sql in (READ, RECEIVE, *COMMIT, *AFTER)}
    connection = engine.connect()

    def run() -> None:
        for group in batches(actions, batch):
            for params in group:
                connection.execute(text[READ], params).fetchall()
            connection.commit()
            with connection.begin():
                for params in group:
                    connection.execute(text[RECEIVE], params)
            with connection.begin():
                for params in group:
                    with connection.begin_nested():
                        for sql in COMMIT:
                            connection.execute(text[sql], params)
                for params in group:
                    for sql in AFTER:
                        connection.execute(text[sql], params)

    try:
        return cpu_us(run, actions)
    finally:
        connection.close()
        engine.dispose()
        _drop_schema()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--actions", type=int, default=3000)
    parser.add_argument("--batch", type=int, default=10, help="actions per group commit")
    parser.add_argument("--rounds", type=int, default=3, help="best of this many runs")
    args = parser.parse_args()
    runs: dict[str, Callable[[], float]] = {
        "sqlite, sqlite3": lambda: sqlite_raw(args.actions, args.batch),
        "sqlite, SQLAlchemy Core": lambda: sqlite_sqlalchemy(args.actions, args.batch),
        "postgresql, psycopg": lambda: postgres_raw(args.actions, args.batch),
        "postgresql, SQLAlchemy Core": lambda: postgres_sqlalchemy(args.actions, args.batch),
    }
    best = {name: min(run() for _ in range(args.rounds)) for name, run in runs.items()}
    print(
        f"CPU per learner action in the database layer ({args.actions} actions, best of"
        f" {args.rounds}, {args.batch} per group commit)"
    )
    for name, us in best.items():
        print(f"  {name:30s} {us:7.0f} µs")
    for database, raw in (("sqlite", "sqlite3"), ("postgresql", "psycopg")):
        extra = best[f"{database}, SQLAlchemy Core"] - best[f"{database}, {raw}"]
        ratio = best[f"{database}, SQLAlchemy Core"] / best[f"{database}, {raw}"]
        print(f"  {database}: SQLAlchemy Core costs {extra:.0f} µs more per action ({ratio:.1f}x)")


if __name__ == "__main__":
    main()
