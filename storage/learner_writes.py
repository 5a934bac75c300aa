"""The writes that store a learner's input: the guarded commit, their profile, their erasure.

`write_commit` runs as a `TransactionWork` of the group commit (storage/sqlite.py submits it
with `Database.transact`), so its checks and writes share one savepoint.
"""

from __future__ import annotations

import json

from flows.ports import AnswerRecord, Commit, LearnerProfile, SessionSnapshot, StaleSessionError
from storage.common import Clock, stale_message
from storage.database import Statement, Transaction
from storage.dialect import Sql
from storage.revision import card_statements

_UPSERT_LEARNER = """
INSERT INTO learners (id, display_name, username, first_seen, last_active)
VALUES (?, ?, ?, ?, ?)
ON CONFLICT (id) DO UPDATE SET
    display_name = excluded.display_name,
    username = excluded.username,
    last_active = excluded.last_active
"""
# Telegram usernames are unique at any moment: whoever writes with one now holds it, so anyone
# stored with it before has renamed (and must not be found by it any more).
_RELEASE_USERNAME = Sql(
    sqlite="UPDATE learners SET username = NULL WHERE username = ? COLLATE NOCASE AND id <> ?",
    # The index learners_username is on lower(username) there (0005_security.sql).
    postgresql="UPDATE learners SET username = NULL WHERE lower(username) = lower(?) AND id <> ?",
)
_UPDATE_SESSION = """
UPDATE sessions SET scenario_id = ?, state = ?, version = ?, data = ?, updated_at = ?
WHERE learner_id = ? AND version = ?
"""
_INSERT_SESSION = """
INSERT INTO sessions (scenario_id, state, version, data, updated_at, learner_id)
VALUES (?, ?, ?, ?, ?, ?)
ON CONFLICT (learner_id) DO NOTHING
"""
# A push (by_learner False) neither marks the learner active nor blanks the stored name.
_INSERT_LEARNER_QUIETLY = """
INSERT INTO learners (id, display_name, username, first_seen, last_active)
VALUES (?, ?, ?, ?, ?)
ON CONFLICT (id) DO NOTHING
"""
_INSERT_ANSWER = """
INSERT INTO answers (learner_id, question_id, answer, outcome, score, criteria, topic,
                     scenario_id, step, source, push_id, created_at, review, unrecognised,
                     ask_seq)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
"""
_INSERT_RUN = """
INSERT INTO scenario_runs (learner_id, scenario_id, score, results, finished_at)
VALUES (?, ?, ?, ?, ?)
"""
_SEEN_UPDATE = "SELECT 1 FROM applied_updates WHERE update_key = ?"
_INSERT_UPDATE_KEY = (
    "INSERT INTO applied_updates (update_key, learner_id, applied_at) VALUES (?, ?, ?)"
)
# The inbox's handled mark (storage/inbox.py `handled`), made by the input's own commit.
_MARK_HANDLED = (
    "UPDATE inbox SET handled_at = ?, raw = NULL"
    " WHERE bot_id = ? AND update_id = ? AND handled_at IS NULL"
)
# attempts 1: the transport sends them as soon as this commit is on disk.
_INSERT_OUTBOX = (
    "INSERT INTO outbox (update_key, learner_id, replies, attempts, created_at)"
    " VALUES (?, ?, ?, 1, ?)"
)


def write_commit(transaction: Transaction, commit: Commit, clock: Clock) -> bool:
    """The guarded commit, in the writer's transaction: False if its update was applied
    before; StaleSessionError (and nothing written) if its session version does not follow."""
    learner = commit.learner
    now = clock().isoformat()
    if commit.stored_update is not None:
        # Handled either way: applied now, or applied before (a repeat changes nothing).
        transaction.execute(_MARK_HANDLED, (now, *commit.stored_update))
    if commit.update_key is not None and transaction.fetch(_SEEN_UPDATE, (commit.update_key,)):
        return False
    for sql, parameters in profile_statements(learner, now, by_learner=commit.by_learner):
        transaction.execute(sql, parameters)
    if commit.session is not None:
        _write_session(transaction, commit.session)
    if commit.answers:
        transaction.execute_many(_INSERT_ANSWER, [_answer_row(a) for a in commit.answers])
    if commit.finished_run is not None:
        run = commit.finished_run
        results = json.dumps([result.model_dump(mode="json") for result in run.results])
        transaction.execute(
            _INSERT_RUN,
            (run.learner_id, run.scenario_id, run.score, results, run.finished_at.isoformat()),
        )
    for sql, parameters in card_statements(commit.cards, commit.card_log):
        transaction.execute(sql, parameters)
    if commit.update_key is not None:
        transaction.execute(_INSERT_UPDATE_KEY, (commit.update_key, learner.learner_id, now))
        if commit.replies:
            # The outbox (storage/inbox.py): the replies commit with the input they answer.
            replies = json.dumps([reply.model_dump(mode="json") for reply in commit.replies])
            transaction.execute(
                _INSERT_OUTBOX, (commit.update_key, learner.learner_id, replies, now)
            )
    return True


def _write_session(transaction: Transaction, session: SessionSnapshot) -> None:
    values = (
        session.scenario_id,
        session.state,
        session.version,
        session.model_dump_json(),
        session.updated_at.isoformat(),
        session.learner_id,
    )
    # The version check is the WHERE clause: one statement on the common path.
    if transaction.execute(_UPDATE_SESSION, (*values, session.version - 1)).rowcount == 1:
        return
    if session.version == 1 and transaction.execute(_INSERT_SESSION, values).rowcount == 1:
        return
    rows = transaction.fetch(
        "SELECT version FROM sessions WHERE learner_id = ?", (session.learner_id,)
    )
    stored = int(rows[0]["version"]) if rows else None
    raise StaleSessionError(stale_message(session.learner_id, session.version, stored))


def profile_statements(
    learner: LearnerProfile, now: str, *, by_learner: bool = True
) -> list[Statement]:
    """The writes that store who a learner is: their own input (`by_learner`) records their
    current name and takes their @username from anyone stored with it before; a push only
    makes sure a row exists."""
    row = (learner.learner_id, learner.display_name, learner.username, now, now)
    if not by_learner:
        return [(_INSERT_LEARNER_QUIETLY, row)]
    statements: list[Statement] = []
    if learner.username:
        statements.append((_RELEASE_USERNAME, (learner.username, learner.learner_id)))
    statements.append((_UPSERT_LEARNER, row))
    return statements


def forget_statements(learner_id: int) -> list[Statement]:
    """The deletions that erase a learner. The tables of 0001 cascade from learners; polls,
    memberships and deliveries have no foreign key to learners."""
    return [
        ("DELETE FROM learners WHERE id = ?", (learner_id,)),
        ("DELETE FROM polls WHERE learner_id = ?", (learner_id,)),
        ("DELETE FROM memberships WHERE learner_id = ?", (learner_id,)),
        ("DELETE FROM deliveries WHERE learner_id = ?", (learner_id,)),
        ("DELETE FROM denied_attempts WHERE user_id = ?", (learner_id,)),
        # The inbox holds their raw messages; the outbox, replies not yet sent.
        ("DELETE FROM inbox WHERE user_id = ? OR chat_id = ?", (learner_id, learner_id)),
        ("DELETE FROM outbox WHERE learner_id = ?", (learner_id,)),
    ]


def _answer_row(answer: AnswerRecord) -> tuple[object, ...]:
    return (
        answer.learner_id,
        answer.question_id,
        answer.answer,
        answer.outcome,
        answer.score,
        json.dumps(list(answer.criteria)),
        answer.topic,
        answer.scenario_id,
        answer.step,
        answer.source,
        answer.push_id,
        answer.created_at.isoformat(),
        int(answer.review),
        json.dumps(list(answer.unrecognised)),
        answer.ask_seq,
    )
