"""What the tutors' review queue needs from persistence: its records and the `ReviewStore` port.

`tutoring` owns this Protocol; `storage/reviews.py` implements it over SQLite and
`storage/memory_reviews.py` in memory; one contract suite runs over both.
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal, Protocol

from pydantic import BaseModel, ConfigDict

from flows.ports import Outcome

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
