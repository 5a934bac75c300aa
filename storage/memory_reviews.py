"""The in-memory ReviewStore: the fake for tests, with the SQLite adapter's exact semantics.

It reads answers from a `MemoryProgressStore`; cohorts and roles are seeded with `grant` and
`add_cohort` (the SQLite adapter reads them from the tables /grant and /cohort write).
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from datetime import datetime

from flows.ports import AnswerRecord
from storage.memory import MemoryProgressStore
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


@dataclass
class _Row:
    """What review_items holds for one answer."""

    machine_outcome: str
    machine_score: float
    appealed_at: datetime | None = None
    reason: str = ""
    decision: Decision | None = None
    decided_by: int | None = None
    decided_at: datetime | None = None
    comment: str | None = None
    notified_at: datetime | None = None


@dataclass
class _Cohort:
    ref: CohortRef
    owner_id: int
    members: set[int] = field(default_factory=set)


class MemoryReviewStore:
    """ReviewStore over a MemoryProgressStore's answers."""

    def __init__(self, progress: MemoryProgressStore) -> None:
        self._progress = progress
        self._rows: dict[tuple[int, int], _Row] = {}
        self._roles: dict[int, Role] = {}
        self._cohorts: dict[int, _Cohort] = {}

    # --- seeding (the SQLite adapter reads these from /grant and /cohort's tables) -------------

    def grant(self, user_id: int, role: Role) -> None:
        self._roles[user_id] = role

    def add_cohort(self, owner_id: int, name: str, members: set[int]) -> CohortRef:
        ref = CohortRef(
            id=len(self._cohorts) + 1, name=name, join_code=f"CODE{len(self._cohorts)}"
        )
        self._cohorts[ref.id] = _Cohort(ref, owner_id, set(members))
        return ref

    # --- the port -------------------------------------------------------------------------------

    async def role_of(self, user_id: int) -> Role:
        await asyncio.sleep(0)
        return self._roles.get(user_id, "learner")

    async def cohorts_for(self, user_id: int) -> list[CohortRef]:
        role = await self.role_of(user_id)
        cohorts = [
            c.ref
            for c in self._cohorts.values()
            if role == "admin" or (role == "tutor" and c.owner_id == user_id)
        ]
        return sorted(cohorts, key=lambda c: (c.name, c.id))

    async def members(self, cohort_id: int) -> frozenset[int]:
        await asyncio.sleep(0)
        cohort = self._cohorts.get(cohort_id)
        return frozenset(cohort.members) if cohort else frozenset()

    async def has_reviewer(self, learner_id: int) -> bool:
        await asyncio.sleep(0)
        return any(
            learner_id in c.members and self._roles.get(c.owner_id, "learner") != "learner"
            for c in self._cohorts.values()
        )

    def _answer(self, learner_id: int, ask_seq: int) -> AnswerRecord | None:
        found = [
            a
            for a in self._progress.all_answers()
            if a.learner_id == learner_id and a.ask_seq == ask_seq
        ]
        return found[-1] if found else None

    async def appeal(self, learner_id: int, ask_seq: int, at: datetime) -> AppealWrite:
        await asyncio.sleep(0)
        answer = self._answer(learner_id, ask_seq)
        if answer is None:
            return "unknown"
        if (learner_id, ask_seq) in self._rows:
            return "already"
        self._rows[learner_id, ask_seq] = _Row(answer.outcome, answer.score, appealed_at=at)
        return "sent"

    async def add_reason(self, learner_id: int, ask_seq: int, reason: str) -> bool:
        await asyncio.sleep(0)
        row = self._rows.get((learner_id, ask_seq))
        if row is None or row.appealed_at is None or row.decided_at is not None:
            return False
        row.reason = reason
        return True

    def _as_item(self, answer: AnswerRecord) -> ReviewItem:
        assert answer.ask_seq is not None
        row = self._rows.get((answer.learner_id, answer.ask_seq))
        machine = (answer.outcome, answer.score) if row is None else None
        return ReviewItem.model_validate(
            {
                "learner_id": answer.learner_id,
                "learner_name": self._progress.learner_name(answer.learner_id),
                "ask_seq": answer.ask_seq,
                "question_id": answer.question_id,
                "answer": answer.answer,
                "topic": answer.topic,
                "source": answer.source,
                "created_at": answer.created_at,
                "machine_outcome": machine[0] if machine else row.machine_outcome,  # type: ignore[union-attr]
                "machine_score": machine[1] if machine else row.machine_score,  # type: ignore[union-attr]
                "flagged": answer.review,
                "unrecognised": answer.unrecognised,
                **(
                    {}
                    if row is None
                    else {
                        "appealed_at": row.appealed_at,
                        "reason": row.reason,
                        "decision": row.decision,
                        "decided_by": row.decided_by,
                        "decided_at": row.decided_at,
                        "comment": row.comment,
                        "notified_at": row.notified_at,
                    }
                ),
            }
        )

    def _items(self) -> list[ReviewItem]:
        items = [self._as_item(a) for a in self._progress.all_answers() if a.ask_seq is not None]
        return sorted(items, key=lambda i: (i.created_at, i.learner_id, i.ask_seq))

    async def open_items(
        self, learner_ids: frozenset[int] | None, after: ReviewKey | None = None, limit: int = 1
    ) -> list[ReviewItem]:
        await asyncio.sleep(0)
        found = [
            item
            for item in self._items()
            if item.decided_at is None
            and (item.flagged or item.appealed_at is not None)
            and (learner_ids is None or item.learner_id in learner_ids)
            and (
                after is None
                or (item.created_at, item.learner_id, item.ask_seq)
                > (after.created_at, after.learner_id, after.ask_seq)
            )
        ]
        return found[:limit]

    async def open_count(self, learner_ids: frozenset[int] | None) -> int:
        return len(await self.open_items(learner_ids, limit=10**9))

    async def item(self, learner_id: int, ask_seq: int) -> ReviewItem | None:
        await asyncio.sleep(0)
        answer = self._answer(learner_id, ask_seq)
        return None if answer is None else self._as_item(answer)

    async def decide(
        self, learner_id: int, ask_seq: int, decision: Decision, by: int, at: datetime
    ) -> bool:
        await asyncio.sleep(0)
        answer = self._answer(learner_id, ask_seq)
        if answer is None:
            return False
        row = self._rows.setdefault((learner_id, ask_seq), _Row(answer.outcome, answer.score))
        if row.decided_at is not None:
            return False
        row.decision, row.decided_by, row.decided_at = decision, by, at
        self._progress.set_verdict(learner_id, ask_seq, decision, DECISION_SCORES[decision])
        return True

    async def finish(
        self, learner_id: int, ask_seq: int, by: int, comment: str | None, at: datetime
    ) -> bool:
        await asyncio.sleep(0)
        row = self._rows.get((learner_id, ask_seq))
        if row is None or row.decided_by != by or row.notified_at is not None:
            return False
        row.comment, row.notified_at = comment, at
        return True

    async def items_of(self, learner_id: int) -> list[ReviewItem]:
        await asyncio.sleep(0)
        return [
            item
            for item in self._items()
            if item.learner_id == learner_id and (item.learner_id, item.ask_seq) in self._rows
        ]

    async def decided_since(self, since: datetime | None) -> list[ReviewItem]:
        await asyncio.sleep(0)
        decided = [
            item
            for item in self._items()
            if item.decided_at is not None and (since is None or item.decided_at >= since)
        ]
        return sorted(decided, key=lambda i: (i.decided_at, i.learner_id, i.ask_seq))

    async def forget(self, learner_id: int) -> None:
        await asyncio.sleep(0)
        self._rows = {key: row for key, row in self._rows.items() if key[0] != learner_id}

    async def answer_stats(self, learner_ids: frozenset[int] | None) -> list[AnswerStat]:
        await asyncio.sleep(0)
        stats = []
        for answer in self._progress.all_answers():
            if learner_ids is not None and answer.learner_id not in learner_ids:
                continue
            row = self._rows.get((answer.learner_id, answer.ask_seq or -1))
            stats.append(
                AnswerStat.model_validate(
                    {
                        "learner_id": answer.learner_id,
                        "question_id": answer.question_id,
                        "topic": answer.topic,
                        "answer": answer.answer,
                        "outcome": answer.outcome,
                        "machine_outcome": row.machine_outcome if row else answer.outcome,
                        "decision": row.decision if row else None,
                        "flagged": answer.review,
                        "created_at": answer.created_at,
                    }
                )
            )
        return sorted(stats, key=lambda s: s.created_at)
