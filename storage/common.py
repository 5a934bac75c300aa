"""What every ProgressStore adapter shares: commit checks, the clock and the export shape."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime
from types import TracebackType
from typing import Any, Self

from flows.ports import AnswerRecord, Commit, LearnerProfile, ScenarioRun, SessionSnapshot

Clock = Callable[[], datetime]


def utc_now() -> datetime:
    """The default clock: aware UTC, so stored timestamps sort as text."""
    return datetime.now(UTC)


def check_commit(commit: Commit) -> None:
    """Refuse a commit whose parts belong to different learners (an engine bug, not a race)."""
    owner = commit.learner.learner_id
    others = [commit.session.learner_id] if commit.session else []
    others += [answer.learner_id for answer in commit.answers]
    if commit.finished_run:
        others.append(commit.finished_run.learner_id)
    others += [card.learner_id for card in commit.cards]
    others += [entry.learner_id for entry in commit.card_log]
    strangers = sorted({learner for learner in others if learner != owner})
    if strangers:
        raise ValueError(f"commit for learner {owner} carries records of learners {strangers}")


def stale_message(learner_id: int, offered: int, stored: int | None) -> str:
    """The StaleSessionError text, identical in every adapter."""
    return (
        f"learner {learner_id}: session version {offered} does not follow the stored version"
        f" {stored or 0} (expected {(stored or 0) + 1})"
    )


def export_document(
    *,
    profile: LearnerProfile | None = None,
    first_seen: datetime | None = None,
    last_active: datetime | None = None,
    session: SessionSnapshot | None = None,
    answers: Sequence[AnswerRecord] = (),
    runs: Sequence[ScenarioRun] = (),
    polls: Sequence[Mapping[str, Any]] = (),
    update_keys: Sequence[str] = (),
    cohorts: Sequence[Mapping[str, Any]] = (),
    push_deliveries: Sequence[Mapping[str, Any]] = (),
    refused_commands: Sequence[Mapping[str, Any]] = (),
    role: Mapping[str, Any] | None = None,
    inbox: Sequence[Mapping[str, Any]] = (),
    outbox: Sequence[Mapping[str, Any]] = (),
) -> dict[str, Any]:
    """The JSON-ready /mydata document; every adapter builds it here so they cannot drift.

    One key per table that holds anything about the learner (the README lists them)."""
    learner: dict[str, Any] | None = None
    if profile is not None and first_seen is not None and last_active is not None:
        learner = {
            **profile.model_dump(mode="json"),
            "first_seen": first_seen.isoformat(),
            "last_active": last_active.isoformat(),
        }
    return {
        "learner": learner,
        "session": session.model_dump(mode="json") if session else None,
        "answers": [answer.model_dump(mode="json") for answer in answers],
        "runs": [run.model_dump(mode="json") for run in runs],
        "polls": [dict(poll) for poll in polls],
        "update_keys": list(update_keys),
        "cohorts": [dict(cohort) for cohort in cohorts],
        "push_deliveries": [dict(delivery) for delivery in push_deliveries],
        "refused_commands": [dict(refused) for refused in refused_commands],
        "role": dict(role) if role is not None else None,
        "inbox": [dict(update) for update in inbox],
        "outbox": [dict(entry) for entry in outbox],
    }


class ClosesOnExit:
    """`async with` closes it: databases and stores that own what they close."""

    async def close(self) -> None:
        raise NotImplementedError

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.close()
