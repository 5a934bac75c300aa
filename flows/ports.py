"""What the engine needs from persistence: records and the `ProgressStore` port.

The engine owns this Protocol; `storage/` implements it (SQLite) and tests use the in-memory
fake. Records are frozen values: adapters never hand out live objects.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal, Protocol

from pydantic import BaseModel, ConfigDict, Field

from flows.io import Reply
from tutoring.revision import CardState, ReviewEntry

Outcome = Literal["correct", "partial", "incorrect", "revealed", "skipped"]


class Record(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class LearnerProfile(Record):
    """Who a learner is, as far as the transport told us."""

    learner_id: int
    display_name: str = ""
    username: str | None = None


class StepResult(Record):
    """How one scenario step went."""

    step: str
    question_id: str | None
    outcome: Outcome
    score: float = Field(ge=0.0, le=1.0)
    attempts: int = Field(ge=0)


class QuizProgress(Record):
    """A quick quiz in progress: the questions still to ask and the one being asked."""

    quiz_id: str
    remaining: tuple[str, ...]
    current: str | None
    correct: int = 0
    asked: int = 0
    push_id: int | None = None
    """Set when a tutor pushed this quiz: its answers are tagged with the push."""
    missed: tuple[str, ...] = ()
    """Questions answered wrong (or partly, or skipped) so far: the summary says what to
    revise."""
    cards: tuple[str, ...] = ()
    """Set for a /revise session: the due cards it asks, in order (quiz_id is then
    `REVISION`, not a quiz of the content)."""

    @property
    def revising(self) -> bool:
        return bool(self.cards)


class SessionSnapshot(Record):
    """A learner's whole conversational state; stored after every input."""

    learner_id: int
    scenario_id: str | None = None
    state: str = "idle"
    attempts: int = 0
    results: tuple[StepResult, ...] = ()
    paused: bool = False
    quiz: QuizProgress | None = None
    facts: tuple[tuple[str, str], ...] = ()
    """The case facts of this attempt (e.g. ("within_30_days", "yes")), which steps branch on."""
    ask_seq: int = 0
    """Counts questions asked; buttons carry it, so a button from an older question is stale."""
    offered: Literal["forget", "reason", "cancel"] | None = None
    """A confirmation the last reply offered (or, "reason", a one-line reason for an appeal
    just sent); the next input of any other kind withdraws it."""
    reason_for: int | None = None
    """With offered "reason": the ask_seq of the appealed answer the reason belongs to."""
    appeals_off: bool = False
    """The learner was told nobody can review their answers: the appeal button is not offered."""
    hinted_at: int | None = None
    """The `ask_seq` of the question the learner last asked a hint for: an answer to that same
    question is graded Hard for revision even when right."""
    listed: tuple[str, ...] = ()
    """The buttons (their data, in order) of the list or menu the last reply ended with: a
    number typed next picks one of them, other text is told what fits and sees the list again."""
    version: int = 0
    updated_at: datetime


class AnswerRecord(Record):
    """One marked answer: the evidence an assessor sees."""

    learner_id: int
    question_id: str
    answer: str
    outcome: Outcome
    score: float = Field(ge=0.0, le=1.0)
    criteria: tuple[str, ...]
    topic: str
    scenario_id: str | None = None
    step: str | None = None
    source: Literal["scenario", "quiz", "push", "revision"] = "scenario"
    push_id: int | None = None
    """The tutor's push this answers (source "push")."""
    created_at: datetime
    review: bool = False
    """The marker did not recognise everything in it: a tutor should check the verdict."""
    unrecognised: tuple[str, ...] = ()
    """What the marker did not recognise, quoted from the answer."""
    ask_seq: int | None = None
    """The session's ask_seq of the question this answers: names the answer in an appeal."""


class ScenarioRun(Record):
    """A finished scenario, for progress reports."""

    learner_id: int
    scenario_id: str
    score: float = Field(ge=0.0, le=1.0)
    results: tuple[StepResult, ...]
    finished_at: datetime


class Commit(Record):
    """Everything one input changed, written in one transaction."""

    learner: LearnerProfile
    session: SessionSnapshot | None = None
    answers: tuple[AnswerRecord, ...] = ()
    finished_run: ScenarioRun | None = None
    update_key: str | None = None
    """The transport's id for the input (e.g. 'tg:8123'); a key seen before is not applied."""
    by_learner: bool = True
    """False for an input the bot started (a tutor's push): it does not make the learner
    'last active', nor overwrite the name the learner's own messages stored."""
    replies: tuple[Reply, ...] = ()
    """What the input answers, for a store with an outbox: kept (under `update_key`) in the
    same transaction, so a crash after the commit cannot lose them."""
    cards: tuple[CardState, ...] = ()
    """Spaced-revision cards the answers graded (as scheduled now), stored with them."""
    card_log: tuple[ReviewEntry, ...] = ()
    """The cards' review-log entries, appended with them."""
    stored_update: tuple[int, int] | None = None
    """For a store with an inbox: the transport's stored copy of the input ((bot id, update
    id)), marked handled in the same transaction, also when the key was seen before (a
    transaction of its own less per input)."""


class StaleSessionError(Exception):
    """The stored session changed since it was read (its version moved on)."""


class ProgressStore(Protocol):
    """Durable learner state and evidence."""

    async def load_session(self, learner_id: int) -> SessionSnapshot | None:
        """The learner's stored session, or None for a new learner."""
        ...

    async def apply(self, commit: Commit) -> bool:
        """Write a commit atomically; False (and nothing written) if its key was seen before.

        The session's version must be exactly one more than the stored one (or 1 for a new
        session); otherwise `StaleSessionError` is raised and nothing is written.
        """
        ...

    async def answers(self, learner_id: int) -> list[AnswerRecord]:
        """The learner's answers, oldest first."""
        ...

    async def finished_runs(self, learner_id: int) -> list[ScenarioRun]:
        """The learner's finished scenarios, oldest first."""
        ...

    async def export_learner(self, learner_id: int) -> dict[str, Any]:
        """Everything stored about a learner, as JSON-ready data (for /mydata)."""
        ...

    async def forget_learner(self, learner_id: int) -> None:
        """Erase the learner's personal data, session, answers and runs."""
        ...


AppealResult = Literal["sent", "already", "no_reviewer", "unknown"]


class Appeals(Protocol):
    """Where a learner's "I think this is right" goes (tutoring implements it): the engine
    only records the press and the reason, and reports what happened."""

    async def appeal(self, learner_id: int, ask_seq: int) -> AppealResult:
        """Send the answer given at `ask_seq` to the learner's tutors' review queue."""
        ...

    async def add_reason(self, learner_id: int, ask_seq: int, reason: str) -> bool:
        """Attach the learner's one-line reason to their open appeal; False if none is open."""
        ...

    async def export(self, learner_id: int) -> list[dict[str, Any]]:
        """The learner's appeals and the tutors' decisions on their answers (for /mydata)."""
        ...

    async def forget(self, learner_id: int) -> None:
        """Erase the learner's appeals and the decisions on their answers."""
        ...
