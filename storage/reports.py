"""Read-only queries behind the tutor and admin progress reports.

Every query returns frozen values. Sets of learners go in as one JSON array parameter read with
`json_each`, so the SQL text is always a literal of this module whatever the number of learners.
Timestamps are ISO 8601 text written with their own UTC offset; comparisons between instants go
through `julianday()`, which understands the offsets (a plain text comparison would not).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from datetime import UTC, datetime, time, timedelta

from flows.ports import AnswerRecord
from storage.database import Database, Row
from storage.dialect import Sql
from storage.sqlite import ANSWER_COLUMNS, answer_record
from tutoring.ports import (
    AnswerRow,
    Counts,
    EvidenceRow,
    LearnerDetail,
    LearnerSummary,
    ReportStore,
    RunRow,
    TopicStat,
)

# The records and the port are tutoring's (tutoring/ports.py); re-exported for the bot.
__all__ = [
    "ACTIVE_DAYS",
    "AnswerRow",
    "Counts",
    "EvidenceRow",
    "LearnerDetail",
    "LearnerSummary",
    "ReportStore",
    "RunRow",
    "SqliteReportStore",
    "TopicStat",
]


ACTIVE_DAYS = 7

# The people a summary is about: everyone (?1 NULL, ?2 NULL), one learner (?2), or the members
# of a cohort (?1). A member may have joined before their first answer, so has no learners row.
_SUMMARIES_OF = """
WITH people (id, display_name, username, last_active) AS (
    SELECT l.id, l.display_name, l.username, l.last_active
    FROM learners l
    WHERE {cohort} IS NULL AND ({learner} IS NULL OR l.id = {learner})
    UNION ALL
    SELECT m.learner_id, coalesce(l.display_name, ''), l.username, l.last_active
    FROM memberships m LEFT JOIN learners l ON l.id = m.learner_id
    WHERE m.cohort_id = {cohort}
)
SELECT
    p.id AS learner_id, p.display_name, p.username, p.last_active,
    (SELECT count(DISTINCT r.scenario_id) FROM scenario_runs r WHERE r.learner_id = p.id)
        AS scenarios_completed,
    coalesce((SELECT n.answers FROM answer_counts n WHERE n.learner_id = p.id), 0) AS answers,
    coalesce((SELECT n.correct FROM answer_counts n WHERE n.learner_id = p.id), 0) AS correct,
    (SELECT {criteria} FROM criterion_counts c WHERE c.learner_id = p.id)
        AS criteria_met
FROM people p
"""
# PostgreSQL must be told the type of a parameter that may be NULL, and json_agg is NULL over
# no rows where SQLite's json_group_array is "[]".
_SUMMARIES = Sql(
    sqlite=_SUMMARIES_OF.format(
        cohort="?1", learner="?2", criteria="json_group_array(c.criterion)"
    ),
    postgresql=_SUMMARIES_OF.format(
        cohort="?1::bigint",
        learner="?2::bigint",
        criteria="coalesce(json_agg(c.criterion), '[]')::text",
    ),
)
# Correct answers per learner and criterion, kept by triggers (migration 0005).
_CRITERION_COUNTS = Sql(
    sqlite="SELECT learner_id, criterion, correct FROM criterion_counts"
    " WHERE learner_id IN (SELECT value FROM json_each(?))",
    postgresql="SELECT learner_id, criterion, correct FROM criterion_counts"
    " WHERE learner_id IN (SELECT jsonb_array_elements_text(?::jsonb)::bigint)",
)
_RUNS = """
SELECT scenario_id, score, finished_at FROM scenario_runs WHERE learner_id = ? ORDER BY id
"""
_ANSWER_COLUMNS = ", ".join(f"a.{column.strip()}" for column in ANSWER_COLUMNS.split(","))
_LEARNER_ANSWERS = f"""
SELECT {_ANSWER_COLUMNS} FROM answers a WHERE a.learner_id = ? ORDER BY a.id DESC
"""  # noqa: S608  # only literals of this module are interpolated
_ANSWERS_OF = Sql(
    sqlite=f"SELECT {_ANSWER_COLUMNS} FROM answers a"  # noqa: S608  # literals of this module
    " WHERE a.learner_id IN (SELECT value FROM json_each(?)) ORDER BY a.learner_id, a.id",
    postgresql=f"SELECT {_ANSWER_COLUMNS} FROM answers a"  # noqa: S608
    " WHERE a.learner_id IN (SELECT jsonb_array_elements_text(?::jsonb)::bigint)"
    " ORDER BY a.learner_id, a.id",
)
_EVIDENCE = Sql(
    sqlite="""
SELECT a.learner_id, c.value AS criterion, a.source, a.scenario_id, a.step, a.question_id,
       a.answer, a.outcome, a.score, a.created_at, a.push_id
FROM answers a, json_each(a.criteria) c
WHERE a.learner_id IN (SELECT value FROM json_each(?))
ORDER BY a.learner_id, a.id, c.key
""",
    postgresql="""
SELECT a.learner_id, c.value AS criterion, a.source, a.scenario_id, a.step, a.question_id,
       a.answer, a.outcome, a.score, a.created_at, a.push_id
FROM answers a, jsonb_array_elements_text(a.criteria::jsonb) WITH ORDINALITY AS c (value, key)
WHERE a.learner_id IN (SELECT jsonb_array_elements_text(?::jsonb)::bigint)
ORDER BY a.learner_id, a.id, c.key
""",
)
_TOPICS = Sql(
    sqlite="""
SELECT topic, count(*) AS answers, sum(outcome = 'correct') AS correct
FROM answers
WHERE ?1 IS NULL OR learner_id IN (SELECT value FROM json_each(?1))
GROUP BY topic
ORDER BY topic
""",
    postgresql="""
SELECT topic, count(*) AS answers, count(*) FILTER (WHERE outcome = 'correct') AS correct
FROM answers
WHERE ?1::text IS NULL OR learner_id IN (SELECT jsonb_array_elements_text(?1::jsonb)::bigint)
GROUP BY topic
ORDER BY topic
""",
)


# The text range (a day wider than the instants on each side) lets the index on created_at
# narrow the scan; julianday() then compares the instants exactly, whatever their offsets.
def _counts(instant: Callable[[str], str]) -> str:
    """The counts query, comparing instants as `instant` reads them."""
    return f"""
SELECT
    (SELECT count(*) FROM learners) AS learners,
    (SELECT count(*) FROM learners WHERE {instant("last_active")} >= {instant("?1")})
        AS active_7_days,
    (SELECT count(*) FROM answers
     WHERE created_at >= ?4 AND created_at < ?5
       AND {instant("created_at")} >= {instant("?2")}
       AND {instant("created_at")} < {instant("?3")})
        AS answers_today,
    (SELECT count(*) FROM answers) AS answers_total,
    (SELECT count(*) FROM scenario_runs) AS runs_total,
    (SELECT count(*) FROM pushes WHERE status IN ('scheduled', 'sending')) AS pushes_pending
"""  # noqa: S608  # only literals of this module are interpolated


# PostgreSQL reads the offsets itself when the text is cast to timestamptz.
_COUNTS = Sql(
    sqlite=_counts(lambda text: f"julianday({text})"),
    postgresql=_counts(lambda text: f"({text})::timestamptz"),
)

_COUNT_FIELDS = (
    "learners",
    "active_7_days",
    "answers_today",
    "answers_total",
    "runs_total",
    "pushes_pending",
)


class SqliteReportStore:
    """Progress queries over the application's database; it never writes."""

    def __init__(self, database: Database) -> None:
        self._database = database

    async def learner_summaries(self, cohort_id: int | None = None) -> list[LearnerSummary]:
        """A summary per learner, by name: a cohort's members, or everyone (cohort_id None)."""
        rows = await self._database.fetch(_SUMMARIES, (cohort_id, None))
        summaries = [_summary(row) for row in rows]
        summaries.sort(key=lambda s: (s.display_name.casefold(), s.learner_id))
        return summaries

    async def learner_summary(self, learner_id: int) -> LearnerSummary | None:
        """One learner's summary, or None if they never used the bot."""
        rows = await self._database.fetch(_SUMMARIES, (None, learner_id))
        return _summary(rows[0]) if rows else None

    async def learner_detail(self, learner_id: int) -> LearnerDetail | None:
        """The learner's summary, finished runs and answers (newest first); None if unknown."""
        learner = await self.learner_summary(learner_id)
        if learner is None:
            return None
        runs = await self._database.fetch(_RUNS, (learner_id,))
        answers = await self._database.fetch(_LEARNER_ANSWERS, (learner_id,))
        return LearnerDetail(
            learner=learner,
            runs=tuple(_run(row) for row in runs),
            answers=tuple(answer_record(row) for row in answers),
        )

    async def answers_of(self, learner_ids: Iterable[int]) -> list[AnswerRecord]:
        """Every answer of these learners, by learner and then oldest first (for CSV export)."""
        rows = await self._database.fetch(_ANSWERS_OF, (_id_array(learner_ids),))
        return [answer_record(row) for row in rows]

    async def evidence(self, learner_ids: Iterable[int]) -> list[EvidenceRow]:
        """One row per answer and criterion it evidences, by learner and then oldest first."""
        rows = await self._database.fetch(_EVIDENCE, (_id_array(learner_ids),))
        return [
            EvidenceRow(
                learner_id=int(r["learner_id"]),
                criterion=str(r["criterion"]),
                source=str(r["source"]),
                scenario_id=r["scenario_id"],
                step=r["step"],
                question_id=str(r["question_id"]),
                answer=str(r["answer"]),
                outcome=str(r["outcome"]),
                score=float(r["score"]),
                created_at=datetime.fromisoformat(r["created_at"]),
                push_id=None if r["push_id"] is None else int(r["push_id"]),
            )
            for r in rows
        ]

    async def criterion_counts(self, learner_ids: Iterable[int]) -> dict[int, dict[str, int]]:
        """Correct answers per criterion for each of these learners (only criteria with one)."""
        counts: dict[int, dict[str, int]] = {}
        for row in await self._database.fetch(_CRITERION_COUNTS, (_id_array(learner_ids),)):
            counts.setdefault(int(row["learner_id"]), {})[str(row["criterion"])] = int(
                row["correct"]
            )
        return counts

    async def topic_accuracy(self, learner_ids: Iterable[int] | None = None) -> list[TopicStat]:
        """Answers and correct answers per topic: of these learners, or of everyone (None)."""
        ids = None if learner_ids is None else _id_array(learner_ids)
        rows = await self._database.fetch(_TOPICS, (ids,))
        return [
            TopicStat(topic=str(r["topic"]), answers=int(r["answers"]), correct=int(r["correct"]))
            for r in rows
        ]

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
        [row] = await self._database.fetch(_COUNTS, parameters)
        return Counts(**{field: int(row[field]) for field in _COUNT_FIELDS})


def _id_array(learner_ids: Iterable[int]) -> str:
    return json.dumps(sorted({int(i) for i in learner_ids}))


def _summary(row: Row) -> LearnerSummary:
    criteria = json.loads(row["criteria_met"]) if row["criteria_met"] else []
    return LearnerSummary(
        learner_id=int(row["learner_id"]),
        display_name=str(row["display_name"]),
        username=row["username"],
        last_active=datetime.fromisoformat(row["last_active"]) if row["last_active"] else None,
        scenarios_completed=int(row["scenarios_completed"]),
        answers=int(row["answers"]),
        correct=int(row["correct"]),
        criteria_met=frozenset(str(c) for c in criteria if c is not None),
    )


def _run(row: Row) -> RunRow:
    return RunRow(
        scenario_id=str(row["scenario_id"]),
        score=float(row["score"]),
        finished_at=datetime.fromisoformat(row["finished_at"]),
    )
