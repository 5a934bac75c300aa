"""Read-only queries behind the tutor and admin progress reports.

Every query returns frozen values. Sets of learners go in as one JSON array parameter read with
`json_each`, so the SQL text is always a literal of this module whatever the number of learners.
Timestamps are ISO 8601 text written with their own UTC offset; comparisons between instants go
through `julianday()`, which understands the offsets (a plain text comparison would not).
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from typing import Any

from storage.sqlite import SqliteProgressStore

ACTIVE_DAYS = 7

# The people a summary is about: everyone (?1 NULL, ?2 NULL), one learner (?2), or the members
# of a cohort (?1). A member may have joined before their first answer, so has no learners row.
_SUMMARIES = """
WITH people (id, display_name, username, last_active) AS (
    SELECT l.id, l.display_name, l.username, l.last_active
    FROM learners l
    WHERE ?1 IS NULL AND (?2 IS NULL OR l.id = ?2)
    UNION ALL
    SELECT m.learner_id, coalesce(l.display_name, ''), l.username, l.last_active
    FROM memberships m LEFT JOIN learners l ON l.id = m.learner_id
    WHERE m.cohort_id = ?1
)
SELECT
    p.id, p.display_name, p.username, p.last_active,
    (SELECT count(DISTINCT r.scenario_id) FROM scenario_runs r WHERE r.learner_id = p.id),
    coalesce((SELECT n.answers FROM answer_counts n WHERE n.learner_id = p.id), 0),
    coalesce((SELECT n.correct FROM answer_counts n WHERE n.learner_id = p.id), 0),
    (SELECT json_group_array(c.criterion) FROM criterion_counts c WHERE c.learner_id = p.id)
FROM people p
"""
# Correct answers per learner and criterion, kept by triggers (migration 0005).
_CRITERION_COUNTS = """
SELECT learner_id, criterion, correct FROM criterion_counts
WHERE learner_id IN (SELECT value FROM json_each(?))
"""
_RUNS = """
SELECT scenario_id, score, finished_at FROM scenario_runs WHERE learner_id = ? ORDER BY id
"""
_ANSWER_COLUMNS = """
a.learner_id, a.question_id, a.answer, a.outcome, a.score, a.criteria, a.topic, a.scenario_id,
a.step, a.source, a.created_at, a.push_id
"""
_LEARNER_ANSWERS = f"""
SELECT {_ANSWER_COLUMNS} FROM answers a WHERE a.learner_id = ? ORDER BY a.id DESC
"""  # noqa: S608  # only literals of this module are interpolated
_ANSWERS_OF = f"""
SELECT {_ANSWER_COLUMNS} FROM answers a
WHERE a.learner_id IN (SELECT value FROM json_each(?))
ORDER BY a.learner_id, a.id
"""  # noqa: S608  # only literals of this module are interpolated
_EVIDENCE = """
SELECT a.learner_id, c.value, a.source, a.scenario_id, a.step, a.question_id, a.answer,
       a.outcome, a.score, a.created_at, a.push_id
FROM answers a, json_each(a.criteria) c
WHERE a.learner_id IN (SELECT value FROM json_each(?))
ORDER BY a.learner_id, a.id, c.key
"""
_TOPICS = """
SELECT topic, count(*), sum(outcome = 'correct')
FROM answers
WHERE ?1 IS NULL OR learner_id IN (SELECT value FROM json_each(?1))
GROUP BY topic
ORDER BY topic
"""
# The text range (a day wider than the instants on each side) lets the index on created_at
# narrow the scan; julianday() then compares the instants exactly, whatever their offsets.
_COUNTS = """
SELECT
    (SELECT count(*) FROM learners),
    (SELECT count(*) FROM learners WHERE julianday(last_active) >= julianday(?1)),
    (SELECT count(*) FROM answers
     WHERE created_at >= ?4 AND created_at < ?5
       AND julianday(created_at) >= julianday(?2) AND julianday(created_at) < julianday(?3)),
    (SELECT count(*) FROM answers),
    (SELECT count(*) FROM scenario_runs),
    (SELECT count(*) FROM pushes WHERE status IN ('scheduled', 'sending'))
"""


@dataclass(frozen=True, slots=True)
class LearnerSummary:
    """One learner's progress at a glance (a row of /progress)."""

    learner_id: int
    display_name: str
    username: str | None
    last_active: datetime | None
    """None for a cohort member who has not used the bot since joining."""
    scenarios_completed: int
    """Distinct scenarios finished at least once."""
    answers: int
    correct: int
    criteria_met: frozenset[str]
    """Criteria with at least one correct answer (practice criteria included, as stored)."""

    @property
    def accuracy(self) -> float | None:
        """Share of answers marked correct; None before the first answer."""
        return self.correct / self.answers if self.answers else None


@dataclass(frozen=True, slots=True)
class RunRow:
    """One finished scenario run."""

    scenario_id: str
    score: float
    finished_at: datetime


@dataclass(frozen=True, slots=True)
class AnswerRow:
    """One marked answer, as reports and exports show it."""

    learner_id: int
    question_id: str
    answer: str
    outcome: str
    score: float
    criteria: tuple[str, ...]
    topic: str
    scenario_id: str | None
    step: str | None
    source: str
    """'scenario', 'quiz' or 'push'."""
    created_at: datetime
    push_id: int | None = None
    """The tutor's push it answered (source 'push')."""


@dataclass(frozen=True, slots=True)
class LearnerDetail:
    """Everything /progress shows about one learner."""

    learner: LearnerSummary
    runs: tuple[RunRow, ...]
    """Finished runs, oldest first."""
    answers: tuple[AnswerRow, ...]
    """Every answer, newest first."""


@dataclass(frozen=True, slots=True)
class EvidenceRow:
    """One answer as evidence for one criterion it was tagged with."""

    learner_id: int
    criterion: str
    source: str
    scenario_id: str | None
    step: str | None
    question_id: str
    answer: str
    outcome: str
    score: float
    created_at: datetime
    push_id: int | None = None


@dataclass(frozen=True, slots=True)
class TopicStat:
    """Answers and correct answers on one topic."""

    topic: str
    answers: int
    correct: int

    @property
    def accuracy(self) -> float:
        return self.correct / self.answers if self.answers else 0.0


@dataclass(frozen=True, slots=True)
class Counts:
    """The numbers behind /stats."""

    learners: int
    active_7_days: int
    answers_today: int
    """Answers given since midnight UTC of `now`."""
    answers_total: int
    runs_total: int
    pushes_pending: int
    """Quiz pushes scheduled or being sent."""


class ReportStore:
    """Progress queries over the progress store's SQLite file; it never writes."""

    def __init__(self, store: SqliteProgressStore) -> None:
        self._store = store

    async def learner_summaries(self, cohort_id: int | None = None) -> list[LearnerSummary]:
        """A summary per learner, by name: a cohort's members, or everyone (cohort_id None)."""
        rows = await self._store._fetch(_SUMMARIES, (cohort_id, None))
        summaries = [_summary(row) for row in rows]
        summaries.sort(key=lambda s: (s.display_name.casefold(), s.learner_id))
        return summaries

    async def learner_summary(self, learner_id: int) -> LearnerSummary | None:
        """One learner's summary, or None if they never used the bot."""
        rows = await self._store._fetch(_SUMMARIES, (None, learner_id))
        return _summary(rows[0]) if rows else None

    async def learner_detail(self, learner_id: int) -> LearnerDetail | None:
        """The learner's summary, finished runs and answers (newest first); None if unknown."""
        learner = await self.learner_summary(learner_id)
        if learner is None:
            return None
        runs = await self._store._fetch(_RUNS, (learner_id,))
        answers = await self._store._fetch(_LEARNER_ANSWERS, (learner_id,))
        return LearnerDetail(
            learner=learner,
            runs=tuple(RunRow(str(r[0]), float(r[1]), datetime.fromisoformat(r[2])) for r in runs),
            answers=tuple(_answer(row) for row in answers),
        )

    async def answers_of(self, learner_ids: Iterable[int]) -> list[AnswerRow]:
        """Every answer of these learners, by learner and then oldest first (for CSV export)."""
        rows = await self._store._fetch(_ANSWERS_OF, (_id_array(learner_ids),))
        return [_answer(row) for row in rows]

    async def evidence(self, learner_ids: Iterable[int]) -> list[EvidenceRow]:
        """One row per answer and criterion it evidences, by learner and then oldest first."""
        rows = await self._store._fetch(_EVIDENCE, (_id_array(learner_ids),))
        return [
            EvidenceRow(
                learner_id=int(r[0]),
                criterion=str(r[1]),
                source=str(r[2]),
                scenario_id=r[3],
                step=r[4],
                question_id=str(r[5]),
                answer=str(r[6]),
                outcome=str(r[7]),
                score=float(r[8]),
                created_at=datetime.fromisoformat(r[9]),
                push_id=None if r[10] is None else int(r[10]),
            )
            for r in rows
        ]

    async def criterion_counts(self, learner_ids: Iterable[int]) -> dict[int, dict[str, int]]:
        """Correct answers per criterion for each of these learners (only criteria with one)."""
        counts: dict[int, dict[str, int]] = {}
        for learner_id, criterion, correct in await self._store._fetch(
            _CRITERION_COUNTS, (_id_array(learner_ids),)
        ):
            counts.setdefault(int(learner_id), {})[str(criterion)] = int(correct)
        return counts

    async def topic_accuracy(self, learner_ids: Iterable[int] | None = None) -> list[TopicStat]:
        """Answers and correct answers per topic: of these learners, or of everyone (None)."""
        ids = None if learner_ids is None else _id_array(learner_ids)
        rows = await self._store._fetch(_TOPICS, (ids,))
        return [TopicStat(str(r[0]), int(r[1]), int(r[2])) for r in rows]

    async def counts(self, now: datetime) -> Counts:
        """Learners, learners active in the 7 days before `now`, answers since midnight UTC."""
        if now.tzinfo is None:
            raise ValueError("now must be timezone-aware (UTC)")
        now = now.astimezone(UTC)
        week_ago = now - timedelta(days=ACTIVE_DAYS)
        midnight = datetime.combine(now.date(), time(), tzinfo=UTC)
        tomorrow = midnight + timedelta(days=1)
        day = timedelta(days=1)
        parameters: tuple[object, ...] = (
            week_ago.isoformat(),
            midnight.isoformat(),
            tomorrow.isoformat(),
            (midnight - day).isoformat(),
            (tomorrow + day).isoformat(),
        )
        [row] = await self._store._fetch(_COUNTS, parameters)
        return Counts(*(int(value) for value in row))


def _id_array(learner_ids: Iterable[int]) -> str:
    return json.dumps(sorted({int(i) for i in learner_ids}))


def _summary(row: tuple[Any, ...]) -> LearnerSummary:
    criteria = json.loads(row[7]) if row[7] else []
    return LearnerSummary(
        learner_id=int(row[0]),
        display_name=str(row[1]),
        username=row[2],
        last_active=datetime.fromisoformat(row[3]) if row[3] else None,
        scenarios_completed=int(row[4]),
        answers=int(row[5]),
        correct=int(row[6]),
        criteria_met=frozenset(str(c) for c in criteria if c is not None),
    )


def _answer(row: tuple[Any, ...]) -> AnswerRow:
    return AnswerRow(
        learner_id=int(row[0]),
        question_id=str(row[1]),
        answer=str(row[2]),
        outcome=str(row[3]),
        score=float(row[4]),
        criteria=tuple(str(c) for c in json.loads(row[5])),
        topic=str(row[6]),
        scenario_id=row[7],
        step=row[8],
        source=str(row[9]),
        created_at=datetime.fromisoformat(row[10]),
        push_id=None if row[11] is None else int(row[11]),
    )
