"""What the tutor side needs from persistence: its records and ports (Protocols).

`tutoring` owns these Protocols: `ReviewStore` (the review queue), `StaffStore` (roles and
cohorts), `PushStore` (quiz pushes and deliveries) and `ReportStore` (progress reports).
storage/ implements each over a `Database` (SQLite today) and in memory, and one contract suite
per port (tests/storage) runs over every implementation.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Literal, Protocol

from pydantic import BaseModel, ConfigDict

from flows.ports import AnswerRecord, LearnerProfile, Outcome

Decision = Literal["correct", "partial", "incorrect"]
Role = Literal["learner", "tutor", "admin"]
AppealWrite = Literal["sent", "already", "unknown"]
DECISION_SCORES: dict[str, float] = {"correct": 1.0, "partial": 0.5, "incorrect": 0.0}


class Record(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class CohortRef(Record):
    id: int
    name: str
    join_code: str


class ReviewKey(Record):
    """Where an item sits in the queue (oldest answer first)."""

    created_at: datetime
    learner_id: int
    ask_seq: int


class ReviewItem(Record):
    """An answer in (or through) the review queue: the machine's verdict and the tutor's."""

    learner_id: int
    learner_name: str
    ask_seq: int
    question_id: str
    answer: str
    topic: str
    source: str
    created_at: datetime
    machine_outcome: Outcome
    machine_score: float
    flagged: bool
    unrecognised: tuple[str, ...] = ()
    appealed_at: datetime | None = None
    reason: str = ""
    decision: Decision | None = None
    decided_by: int | None = None
    decided_at: datetime | None = None
    comment: str | None = None
    notified_at: datetime | None = None

    @property
    def key(self) -> ReviewKey:
        return ReviewKey(
            created_at=self.created_at, learner_id=self.learner_id, ask_seq=self.ask_seq
        )


class AnswerStat(Record):
    """One answer as question statistics see it."""

    learner_id: int
    question_id: str
    topic: str
    answer: str
    outcome: Outcome
    """The verdict that counts (the tutor's, if one decided)."""
    machine_outcome: Outcome
    decision: Decision | None = None
    flagged: bool = False
    created_at: datetime


class ReviewStore(Protocol):
    """Appeals, the queue and tutors' decisions; who may review whom."""

    async def role_of(self, user_id: int) -> Role:
        """Admins (settings or granted), tutors, everyone else a learner."""
        ...

    async def cohorts_for(self, user_id: int) -> list[CohortRef]:
        """The cohorts whose answers the user reviews: a tutor's own, an admin's all."""
        ...

    async def members(self, cohort_id: int) -> frozenset[int]:
        """The learners in a cohort."""
        ...

    async def has_reviewer(self, learner_id: int) -> bool:
        """Whether the learner is in a cohort run by a current tutor or admin."""
        ...

    async def appeal(self, learner_id: int, ask_seq: int, at: datetime) -> AppealWrite:
        """Queue the learner's answer to question `ask_seq`: "already" if it was appealed or
        decided before, "unknown" if there is no such answer."""
        ...

    async def add_reason(self, learner_id: int, ask_seq: int, reason: str) -> bool:
        """Set the reason of an appealed, undecided item; False otherwise."""
        ...

    async def open_items(
        self, learner_ids: frozenset[int] | None, after: ReviewKey | None = None, limit: int = 1
    ) -> list[ReviewItem]:
        """Undecided items (appealed, or flagged by the marker) of these learners (None: all),
        oldest first, after `after` (a skipped item)."""
        ...

    async def open_count(self, learner_ids: frozenset[int] | None) -> int: ...

    async def item(self, learner_id: int, ask_seq: int) -> ReviewItem | None:
        """An answer as a review item (whether or not anyone appealed it)."""
        ...

    async def decide(
        self, learner_id: int, ask_seq: int, decision: Decision, by: int, at: datetime
    ) -> bool:
        """Record a tutor's decision and make it the answer's verdict (progress and evidence
        follow it); False, and nothing changed, if the item was already decided."""
        ...

    async def finish(
        self, learner_id: int, ask_seq: int, by: int, comment: str | None, at: datetime
    ) -> bool:
        """Store the deciding tutor's comment (or none) and mark the learner told; False if
        this tutor did not decide it or it was finished before."""
        ...

    async def items_of(self, learner_id: int) -> list[ReviewItem]:
        """The learner's appealed or decided answers, oldest first (/mydata, /learner)."""
        ...

    async def decided_since(self, since: datetime | None) -> list[ReviewItem]:
        """Every decided item (decided at or after `since`), oldest decision first."""
        ...

    async def forget(self, learner_id: int) -> None:
        """Erase the learner's appeals and the decisions on their answers."""
        ...

    async def answer_stats(self, learner_ids: frozenset[int] | None) -> list[AnswerStat]:
        """Every answer of these learners (None: all), oldest first, for /questions."""
        ...


# --- records of the tutor side's stores (the Protocols below) -----------------------------------

PushStatus = Literal["scheduled", "sending", "sent", "cancelled", "failed"]
DeliveryStatus = Literal["pending", "sending", "sent", "failed"]


@dataclass(frozen=True, slots=True)
class Cohort:
    id: int
    name: str
    owner_id: int
    join_code: str
    created_at: str


@dataclass(frozen=True, slots=True)
class Member:
    learner_id: int
    display_name: str
    username: str | None
    joined_at: str


@dataclass(frozen=True, slots=True)
class NamedUser:
    user_id: int
    display_name: str
    last_seen: datetime


class CohortNameTakenError(ValueError):
    """The owner already has a cohort of that name."""


@dataclass(frozen=True, slots=True)
class Push:
    id: int
    tutor_id: int
    cohort_id: int
    quiz_id: str
    send_at: datetime
    status: PushStatus
    late: bool
    """Sent more than a grace period after its time (the bot was down then)."""
    note: str | None
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None


@dataclass(frozen=True, slots=True)
class Delivery:
    push_id: int
    learner_id: int
    display_name: str
    username: str | None
    status: DeliveryStatus
    attempts: int
    message_id: int | None
    poll_id: str | None
    reason: str | None


@dataclass(frozen=True, slots=True)
class PushAnswer:
    """An answer to a pushed question (the first of each learner per question)."""

    learner_id: int
    question_id: str
    outcome: str


@dataclass(frozen=True, slots=True)
class Tally:
    sent: int
    deliveries: int
    answered: int


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


AnswerRow = AnswerRecord
"""Reports show answers as the engine records them: one answer record everywhere. (The name
stays while tutoring/reports.py still uses it.)"""


@dataclass(frozen=True, slots=True)
class LearnerDetail:
    """Everything /progress shows about one learner."""

    learner: LearnerSummary
    runs: tuple[RunRow, ...]
    """Finished runs, oldest first."""
    answers: tuple[AnswerRecord, ...]
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


# --- staff and cohorts (storage/staff.py; tutoring/staff.py and tutoring/pushing.py use it) ---


class StaffStore(Protocol):
    """Who is a tutor or admin, the cohorts tutors run and who is in them."""

    async def role_of(self, user_id: int) -> Role:
        """Admins from settings first; then a granted role; everyone else is a learner."""
        ...

    async def grant(self, user_id: int, role: Literal["tutor", "admin"], by: int) -> None: ...

    async def revoke(self, user_id: int) -> None: ...

    async def staff(self) -> list[tuple[int, Role]]:
        """Every tutor and admin: settings' admins and granted roles."""
        ...

    async def users_named(self, username: str) -> list[NamedUser]:
        """Everyone stored with this @username, with when each was last seen."""
        ...

    async def log_denied(self, user_id: int, command: str) -> int:
        """Count a refused attempt (one row per user, command and hour); the row's count."""
        ...

    async def denied_attempts(self) -> list[tuple[int, str, str, int]]:
        """Refused attempts: user, command, when the hour's first came, and how many."""
        ...

    async def create_cohort(self, owner_id: int, name: str) -> Cohort:
        """A new cohort with a fresh join code; CohortNameTakenError if the owner has one
        of that name."""
        ...

    async def cohorts(self, owner_id: int | None = None) -> list[Cohort]:
        """A tutor's cohorts, or every cohort (owner_id None, for admins), by name."""
        ...

    async def visible_cohorts(self, user_id: int) -> list[Cohort]:
        """The cohorts a user may manage: an admin's are all, a tutor's their own."""
        ...

    async def cohort_by_id(self, cohort_id: int) -> Cohort | None: ...

    async def cohort_by_code(self, code: str) -> Cohort | None: ...

    async def rotate_code(self, cohort: Cohort) -> str:
        """Give the cohort a new join code (the old one stops working); the new code."""
        ...

    async def join(self, cohort: Cohort, learner: LearnerProfile | int) -> bool:
        """Add a learner (a profile is recorded too); False if already a member."""
        ...

    async def remove_member(self, cohort: Cohort, learner_id: int) -> bool: ...

    async def members(self, cohort: Cohort) -> list[Member]:
        """The members, in the order they joined."""
        ...


# --- quiz pushes and their deliveries (storage/pushes.py; tutoring/pushing.py uses it) -------


class PushStore(Protocol):
    """Pushes, their per-learner deliveries (claimed before sending) and the answers."""

    async def create(
        self, tutor_id: int, cohort_id: int, quiz_id: str, send_at: datetime
    ) -> Push: ...

    async def get(self, push_id: int) -> Push | None: ...

    async def recent(self, cohort_ids: Collection[int] | None, limit: int = 10) -> list[Push]:
        """The newest pushes to these cohorts (None: all), scheduled ones first."""
        ...

    async def similar_recent(
        self, tutor_id: int, cohort_id: int, quiz_id: str, since: datetime
    ) -> Push | None:
        """A push of the same quiz to the same cohort created since then, not cancelled."""
        ...

    async def unfinished(self) -> list[Push]:
        """Pushes still to send or in the middle of sending, oldest time first."""
        ...

    async def cancel(self, push_id: int) -> bool:
        """Cancel a push that has not started; False if it had started (or was cancelled)."""
        ...

    async def withdraw(self, push_id: int, note: str) -> bool:
        """Cancel a push the bot may no longer send (scheduled, or being sent), with why."""
        ...

    async def begin(self, push_id: int, learner_ids: Sequence[int], late: bool) -> bool:
        """Start sending a scheduled push: one pending delivery per learner, atomically.
        False if the push was no longer scheduled."""
        ...

    async def finish(self, push_id: int) -> None: ...

    async def fail(self, push_id: int, note: str) -> None:
        """The whole push cannot be sent (e.g. its quiz left the content)."""
        ...

    async def reopen(self, push_id: int, learner_ids: Collection[int]) -> int:
        """Send a finished push again to these learners; how many deliveries reopened."""
        ...

    async def pending(self, push_id: int) -> list[int]:
        """Learners whose delivery is pending, by id."""
        ...

    async def claim(self, push_id: int, learner_id: int) -> bool:
        """Mark a pending delivery as being sent, durably, before the send; False if it was
        not pending (another run took it)."""
        ...

    async def mark_sent(
        self, push_id: int, learner_id: int, message_id: int | None, poll_id: str | None
    ) -> None: ...

    async def mark_failed(self, push_id: int, learner_id: int, reason: str) -> None: ...

    async def unconfirmed_again(self, push_id: int) -> int:
        """Deliveries left `sending` by a crash go back to pending (with a note); how many."""
        ...

    async def deliveries(self, push_id: int) -> list[Delivery]: ...

    async def tallies(self, push_ids: Collection[int]) -> dict[int, Tally]:
        """Per push: deliveries sent, deliveries in all, and learners who answered."""
        ...

    async def answers(self, push_id: int) -> list[PushAnswer]:
        """Each learner's first answer to each question of the push, in the order given."""
        ...


# --- progress reports (storage/reports.py; tutoring/reporting.py, tutoring/reports.py use it)


class ReportStore(Protocol):
    """Read-only progress queries behind the tutor and admin reports."""

    async def learner_summaries(self, cohort_id: int | None = None) -> list[LearnerSummary]:
        """A summary per learner, by name: a cohort's members, or everyone (cohort_id None)."""
        ...

    async def learner_summary(self, learner_id: int) -> LearnerSummary | None:
        """One learner's summary, or None if they never used the bot."""
        ...

    async def learner_detail(self, learner_id: int) -> LearnerDetail | None:
        """The learner's summary, finished runs and answers (newest first); None if unknown."""
        ...

    async def answers_of(self, learner_ids: Iterable[int]) -> list[AnswerRecord]:
        """Every answer of these learners, by learner and then oldest first."""
        ...

    async def evidence(self, learner_ids: Iterable[int]) -> list[EvidenceRow]:
        """One row per answer and criterion it evidences, by learner and then oldest first."""
        ...

    async def criterion_counts(self, learner_ids: Iterable[int]) -> dict[int, dict[str, int]]:
        """Correct answers per criterion for each of these learners (only criteria with one)."""
        ...

    async def topic_accuracy(self, learner_ids: Iterable[int] | None = None) -> list[TopicStat]:
        """Answers and correct answers per topic: of these learners, or of everyone (None)."""
        ...

    async def counts(self, now: datetime) -> Counts:
        """Learners, learners active in the 7 days before `now`, answers since midnight UTC."""
        ...
