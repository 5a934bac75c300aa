"""The in-memory ReportStore: the fake for tests, with the SQLite adapter's exact semantics.

It reads the learners, answers and runs of a `MemoryProgressStore`, the cohorts of a
`MemoryStaffStore` and the pushes of a `MemoryPushStore`; SQLite reads the same tables.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from datetime import UTC, datetime, time, timedelta

from flows.ports import AnswerRecord, LearnerProfile
from storage.memory import MemoryProgressStore
from storage.memory_pushes import MemoryPushStore
from storage.memory_staff import MemoryStaffStore
from storage.reports import ACTIVE_DAYS
from tutoring.ports import (
    Counts,
    EvidenceRow,
    LearnerDetail,
    LearnerSummary,
    RunRow,
    TopicStat,
)


class MemoryReportStore:
    """ReportStore over the memory fakes of the stores whose tables the reports read."""

    def __init__(
        self,
        progress: MemoryProgressStore,
        staff: MemoryStaffStore,
        pushes: MemoryPushStore | None = None,
    ) -> None:
        self._progress = progress
        self._staff = staff
        self._pushes = pushes

    async def learner_summaries(self, cohort_id: int | None = None) -> list[LearnerSummary]:
        await asyncio.sleep(0)
        if cohort_id is None:
            ids = [profile.learner_id for profile, _ in self._progress.all_learners()]
        else:
            ids = sorted(self._staff.member_ids(cohort_id))
        summaries = [self._summary(learner_id) for learner_id in ids]
        summaries.sort(key=lambda s: (s.display_name.casefold(), s.learner_id))
        return summaries

    async def learner_summary(self, learner_id: int) -> LearnerSummary | None:
        await asyncio.sleep(0)
        if self._progress.profile_of(learner_id) is None:
            return None
        return self._summary(learner_id)

    async def learner_detail(self, learner_id: int) -> LearnerDetail | None:
        learner = await self.learner_summary(learner_id)
        if learner is None:
            return None
        runs = await self._progress.finished_runs(learner_id)
        answers = await self._progress.answers(learner_id)
        return LearnerDetail(
            learner=learner,
            runs=tuple(RunRow(run.scenario_id, run.score, run.finished_at) for run in runs),
            answers=tuple(reversed(answers)),
        )

    async def answers_of(self, learner_ids: Iterable[int]) -> list[AnswerRecord]:
        await asyncio.sleep(0)
        return self._answers_of(learner_ids)

    async def evidence(self, learner_ids: Iterable[int]) -> list[EvidenceRow]:
        await asyncio.sleep(0)
        return [
            EvidenceRow(
                learner_id=a.learner_id,
                criterion=criterion,
                source=a.source,
                scenario_id=a.scenario_id,
                step=a.step,
                question_id=a.question_id,
                answer=a.answer,
                outcome=a.outcome,
                score=a.score,
                created_at=a.created_at,
                push_id=a.push_id,
            )
            for a in self._answers_of(learner_ids)
            for criterion in a.criteria
        ]

    async def criterion_counts(self, learner_ids: Iterable[int]) -> dict[int, dict[str, int]]:
        await asyncio.sleep(0)
        counts: dict[int, dict[str, int]] = {}
        for a in self._answers_of(learner_ids):
            if a.outcome == "correct":
                for criterion in a.criteria:
                    mine = counts.setdefault(a.learner_id, {})
                    mine[criterion] = mine.get(criterion, 0) + 1
        return counts

    async def topic_accuracy(self, learner_ids: Iterable[int] | None = None) -> list[TopicStat]:
        await asyncio.sleep(0)
        answers = (
            self._progress.answers_in_order()
            if learner_ids is None
            else self._answers_of(learner_ids)
        )
        totals: dict[str, list[int]] = {}
        for a in answers:
            total = totals.setdefault(a.topic, [0, 0])
            total[0] += 1
            total[1] += a.outcome == "correct"
        return [TopicStat(topic, n, correct) for topic, (n, correct) in sorted(totals.items())]

    async def counts(self, now: datetime) -> Counts:
        if now.tzinfo is None:
            raise ValueError("now must be timezone-aware (UTC)")
        now = now.astimezone(UTC)
        week_ago = now - timedelta(days=ACTIVE_DAYS)
        midnight = datetime.combine(now.date(), time(), tzinfo=UTC)
        tomorrow = midnight + timedelta(days=1)
        learners = self._progress.all_learners()
        answers = self._progress.answers_in_order()
        runs = [await self._progress.finished_runs(p.learner_id) for p, _ in learners]
        pending = len(await self._pushes.unfinished()) if self._pushes is not None else 0
        return Counts(
            learners=len(learners),
            active_7_days=sum(last_active >= week_ago for _, last_active in learners),
            answers_today=sum(midnight <= a.created_at < tomorrow for a in answers),
            answers_total=len(answers),
            runs_total=sum(len(each) for each in runs),
            pushes_pending=pending,
        )

    # --- helpers --------------------------------------------------------------------------------

    def _answers_of(self, learner_ids: Iterable[int]) -> list[AnswerRecord]:
        wanted = set(learner_ids)
        answers = [a for a in self._progress.answers_in_order() if a.learner_id in wanted]
        return sorted(answers, key=lambda a: a.learner_id)  # stable: oldest first within

    def _summary(self, learner_id: int) -> LearnerSummary:
        stored = self._progress.profile_of(learner_id)
        profile, last_active = stored if stored else (LearnerProfile(learner_id=learner_id), None)
        answers = [a for a in self._progress.answers_in_order() if a.learner_id == learner_id]
        correct = [a for a in answers if a.outcome == "correct"]
        return LearnerSummary(
            learner_id=learner_id,
            display_name=profile.display_name if stored else "",
            username=profile.username if stored else None,
            last_active=last_active,
            scenarios_completed=len(self._progress.scenarios_finished(learner_id)),
            answers=len(answers),
            correct=len(correct),
            criteria_met=frozenset(c for a in correct for c in a.criteria),
        )
