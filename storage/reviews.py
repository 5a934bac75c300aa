"""The SQLite ReviewStore: appeals, the review queue and tutors' decisions (migration 0010).

Writes go through the database's group commit; a decision and the answer's new verdict
are one savepoint, so progress and criteria counts (kept by triggers) never disagree with it.
"""

from __future__ import annotations

import json
from collections.abc import Collection
from datetime import datetime

from storage.database import Database, Row
from storage.dialect import Dialect
from storage.staff import SqliteStaffStore
from tutoring.ports import (
    DECISION_SCORES,
    AnswerStat,
    AppealWrite,
    CohortRef,
    Decision,
    ReviewItem,
    ReviewKey,
    Role,
)

_ITEM_COLUMNS = """
a.learner_id, coalesce(l.display_name, '') AS learner_name, a.ask_seq, a.question_id, a.answer,
a.topic, a.source, a.created_at, coalesce(r.machine_outcome, a.outcome) AS machine_outcome,
coalesce(r.machine_score, a.score) AS machine_score, a.review AS flagged, a.unrecognised,
r.appealed_at, coalesce(r.reason, '') AS reason, r.decision, r.decided_by, r.decided_at,
r.comment, r.notified_at
"""
_ITEM_FROM = """
FROM answers a
LEFT JOIN review_items r ON r.answer_id = a.id
LEFT JOIN learners l ON l.id = a.learner_id
"""
# Open: flagged by the marker, or appealed, and not decided. Candidates come from the partial
# index on flagged answers and the (small) review_items table, so neither /review nor the
# count in /progress reads every answer of a cohort.
_OPEN = (
    "a.id IN (SELECT id FROM answers WHERE review = 1"
    " UNION SELECT answer_id FROM review_items WHERE decided_at IS NULL)"
    " AND a.ask_seq IS NOT NULL AND r.decided_at IS NULL"
)
# The newest answer to a question: one input marks one answer, so this is the answer itself.
_ANSWER_ID = "SELECT id FROM answers WHERE learner_id = ? AND ask_seq = ? ORDER BY id DESC LIMIT 1"


def _item(row: Row) -> ReviewItem:
    data = dict(row)
    data["flagged"] = bool(data["flagged"])
    data["unrecognised"] = tuple(json.loads(data["unrecognised"]))
    return ReviewItem.model_validate(data)


_LEARNERS_IN = {
    "sqlite": " AND a.learner_id IN (SELECT value FROM json_each(?))",
    "postgresql": " AND a.learner_id IN (SELECT jsonb_array_elements_text(?::jsonb)::bigint)",
}


def _within(
    learner_ids: frozenset[int] | None, dialect: Dialect
) -> tuple[str, tuple[object, ...]]:
    if learner_ids is None:
        return "", ()
    return _LEARNERS_IN[dialect], (json.dumps(sorted(learner_ids)),)


class SqliteReviewStore:
    """ReviewStore over the application's database (its staff and cohorts from StaffStore)."""

    def __init__(self, database: Database, admin_ids: Collection[int] = ()) -> None:
        self._database = database
        self._staff = SqliteStaffStore(database, admin_ids=admin_ids)

    async def role_of(self, user_id: int) -> Role:
        return await self._staff.role_of(user_id)

    async def cohorts_for(self, user_id: int) -> list[CohortRef]:
        return [
            CohortRef(id=c.id, name=c.name, join_code=c.join_code)
            for c in await self._staff.visible_cohorts(user_id)
        ]

    async def members(self, cohort_id: int) -> frozenset[int]:
        rows = await self._database.fetch(
            "SELECT learner_id FROM memberships WHERE cohort_id = ?", (cohort_id,)
        )
        return frozenset(int(row["learner_id"]) for row in rows)

    async def has_reviewer(self, learner_id: int) -> bool:
        rows = await self._database.fetch(
            "SELECT DISTINCT c.owner_id FROM memberships m JOIN cohorts c ON c.id = m.cohort_id"
            " WHERE m.learner_id = ?",
            (learner_id,),
        )
        for row in rows:
            if await self._staff.role_of(int(row["owner_id"])) != "learner":
                return True
        return False

    async def appeal(self, learner_id: int, ask_seq: int, at: datetime) -> AppealWrite:
        written = await self._database.write(
            (
                "INSERT INTO review_items (answer_id, learner_id, ask_seq, machine_outcome,"  # noqa: S608
                " machine_score, appealed_at)"
                " SELECT id, learner_id, ask_seq, outcome, score, ? FROM answers"
                f" WHERE id = ({_ANSWER_ID}) ON CONFLICT DO NOTHING",
                (at.isoformat(), learner_id, ask_seq),
            )
        )
        if written.rowcounts[0] == 1:
            return "sent"
        exists = await self._database.fetch(_ANSWER_ID, (learner_id, ask_seq))
        return "already" if exists else "unknown"

    async def add_reason(self, learner_id: int, ask_seq: int, reason: str) -> bool:
        written = await self._database.write(
            (
                "UPDATE review_items SET reason = ? WHERE learner_id = ? AND ask_seq = ?"
                " AND appealed_at IS NOT NULL AND decided_at IS NULL",
                (reason, learner_id, ask_seq),
            )
        )
        return written.rowcounts[0] == 1

    async def open_items(
        self, learner_ids: frozenset[int] | None, after: ReviewKey | None = None, limit: int = 1
    ) -> list[ReviewItem]:
        where, parameters = _within(learner_ids, self._database.dialect)
        if after is not None:
            where += " AND (a.created_at, a.learner_id, a.ask_seq) > (?, ?, ?)"
            parameters += (after.created_at.isoformat(), after.learner_id, after.ask_seq)
        rows = await self._database.fetch(
            f"SELECT {_ITEM_COLUMNS} {_ITEM_FROM} WHERE {_OPEN}{where}"
            " ORDER BY a.created_at, a.learner_id, a.ask_seq LIMIT ?",
            (*parameters, limit),
        )
        return [_item(row) for row in rows]

    async def open_count(self, learner_ids: frozenset[int] | None) -> int:
        where, parameters = _within(learner_ids, self._database.dialect)
        rows = await self._database.fetch(
            f"SELECT count(*) AS open {_ITEM_FROM} WHERE {_OPEN}{where}",
            parameters,
        )
        return int(rows[0]["open"])

    async def item(self, learner_id: int, ask_seq: int) -> ReviewItem | None:
        rows = await self._database.fetch(
            f"SELECT {_ITEM_COLUMNS} {_ITEM_FROM} WHERE a.id = ({_ANSWER_ID})",
            (learner_id, ask_seq),
        )
        return _item(rows[0]) if rows else None

    async def decide(
        self, learner_id: int, ask_seq: int, decision: Decision, by: int, at: datetime
    ) -> bool:
        stamp = at.isoformat()
        written = await self._database.write(
            (
                "INSERT INTO review_items (answer_id, learner_id, ask_seq, machine_outcome,"  # noqa: S608
                " machine_score, decision, decided_by, decided_at)"
                " SELECT id, learner_id, ask_seq, outcome, score, ?, ?, ? FROM answers"
                f" WHERE id = ({_ANSWER_ID})"
                " ON CONFLICT (answer_id) DO UPDATE SET decision = excluded.decision,"
                " decided_by = excluded.decided_by, decided_at = excluded.decided_at"
                " WHERE review_items.decided_at IS NULL",
                (decision, by, stamp, learner_id, ask_seq),
            ),
            # Only the decision just written (the first) changes the verdict that counts.
            (
                "UPDATE answers SET outcome = ?, score = ? WHERE id = (SELECT answer_id FROM"
                " review_items WHERE learner_id = ? AND ask_seq = ? AND decided_by = ?"
                " AND decided_at = ? AND decision = ?)",
                (decision, DECISION_SCORES[decision], learner_id, ask_seq, by, stamp, decision),
            ),
        )
        return written.rowcounts[0] == 1

    async def finish(
        self, learner_id: int, ask_seq: int, by: int, comment: str | None, at: datetime
    ) -> bool:
        written = await self._database.write(
            (
                "UPDATE review_items SET comment = ?, notified_at = ? WHERE learner_id = ?"
                " AND ask_seq = ? AND decided_by = ? AND notified_at IS NULL",
                (comment, at.isoformat(), learner_id, ask_seq, by),
            )
        )
        return written.rowcounts[0] == 1

    async def items_of(self, learner_id: int) -> list[ReviewItem]:
        rows = await self._database.fetch(
            f"SELECT {_ITEM_COLUMNS} FROM review_items r JOIN answers a ON a.id = r.answer_id"  # noqa: S608
            " LEFT JOIN learners l ON l.id = a.learner_id"
            " WHERE r.learner_id = ? ORDER BY a.created_at, a.ask_seq",
            (learner_id,),
        )
        return [_item(row) for row in rows]

    async def decided_since(self, since: datetime | None) -> list[ReviewItem]:
        rows = await self._database.fetch(
            f"SELECT {_ITEM_COLUMNS} FROM review_items r JOIN answers a ON a.id = r.answer_id"  # noqa: S608
            " LEFT JOIN learners l ON l.id = a.learner_id"
            " WHERE r.decided_at IS NOT NULL AND r.decided_at >= ?"
            " ORDER BY r.decided_at, r.learner_id, r.ask_seq",
            ("" if since is None else since.isoformat(),),
        )
        return [_item(row) for row in rows]

    async def forget(self, learner_id: int) -> None:
        # Usually gone already: review items cascade from the learner's answers.
        await self._database.write(
            ("DELETE FROM review_items WHERE learner_id = ?", (learner_id,))
        )

    async def answer_stats(self, learner_ids: frozenset[int] | None) -> list[AnswerStat]:
        where, parameters = _within(learner_ids, self._database.dialect)
        rows = await self._database.fetch(
            "SELECT a.learner_id, a.question_id, a.topic, a.answer, a.outcome,"  # noqa: S608
            " coalesce(r.machine_outcome, a.outcome) AS machine_outcome, r.decision,"
            " a.review AS flagged, a.created_at"
            f" FROM answers a LEFT JOIN review_items r ON r.answer_id = a.id WHERE 1 = 1{where}"
            " ORDER BY a.created_at, a.id",
            parameters,
        )
        # Rows of our own table, read in bulk (a cohort's whole history): built without
        # validation, which would add a quarter to the ~1.2 s that 100,000 answers take.
        return [
            AnswerStat.model_construct(
                learner_id=int(row["learner_id"]),
                question_id=str(row["question_id"]),
                topic=str(row["topic"]),
                answer=str(row["answer"]),
                outcome=row["outcome"],
                machine_outcome=row["machine_outcome"],
                decision=row["decision"],
                flagged=bool(row["flagged"]),
                created_at=datetime.fromisoformat(row["created_at"]),
            )
            for row in rows
        ]
