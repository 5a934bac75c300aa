"""Spaced revision: every question a learner answers becomes a card scheduled by FSRS.

A card is named by the askable id of its question (`cra-reject-window`, or
`SCENARIO/STEP` for a scenario step). How an answer went becomes an FSRS grade: right at the
first try is Good, right after a retry or a hint is Hard, anything else (partial, wrong,
revealed, skipped) is Again. Cards are due by the learner's calendar day: a card due at any
time today (in their time zone) is due now, so a morning reminder and an evening revision see
the same cards.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from datetime import UTC, datetime, time, timedelta
from functools import cache
from typing import Any, Literal, Protocol
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from fsrs import Card as FsrsCard
from fsrs import Rating, Scheduler, State
from pydantic import BaseModel, ConfigDict, Field

from tutoring.streaks import streak

Grade = Literal["again", "hard", "good"]
ReviewSource = Literal["scenario", "quiz", "push", "revision", "tutor"]
RATINGS: dict[Grade, Rating] = {"again": Rating.Again, "hard": Rating.Hard, "good": Rating.Good}
SESSION_SIZE = 10
"""Cards asked in one /revise session at most."""

# No learning steps: a chat session is not a flashcard deck drilled in minutes, so the first
# review already schedules days ahead. No fuzzing: schedules are reproducible (and testable).
SCHEDULER = Scheduler(learning_steps=(), relearning_steps=(), enable_fuzzing=False)


class Record(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class CardState(Record):
    """One learner's card: the FSRS memory state of one question."""

    learner_id: int
    card_id: str
    topic: str
    state: int = Field(ge=1, le=3)
    """FSRS state: 1 learning, 2 review, 3 relearning."""
    stability: float | None = None
    difficulty: float | None = None
    due_at: datetime
    last_review_at: datetime | None = None
    reviews: int = Field(ge=0, default=0)
    lapses: int = Field(ge=0, default=0)


class ReviewEntry(Record):
    """One review of a card, as logged (the card's history can be replayed from these)."""

    learner_id: int
    card_id: str
    grade: Grade
    source: ReviewSource
    reviewed_at: datetime
    due_after: datetime
    """When the card fell due after this review."""


class Review(Record):
    """An answer to grade: what the engine hands over after its commit."""

    learner_id: int
    card_id: str
    topic: str
    grade: Grade
    source: ReviewSource
    at: datetime


class LearnerSettings(Record):
    """A learner's own settings; `timezone` None means the centre's."""

    learner_id: int
    timezone: str | None = None
    remind_at: str | None = Field(default=None, pattern=r"^([01]\d|2[0-3]):[0-5]\d$")
    """Local "HH:MM" of the daily reminder; None: reminders off (the default)."""
    quiet_days: tuple[int, ...] = ()
    """Weekdays (0 Monday … 6 Sunday) without a reminder."""
    next_reminder_at: datetime | None = None
    """When the next reminder is due (UTC); set whenever the reminder settings change."""
    blocked_at: datetime | None = None
    """When Telegram said the learner blocked the bot: no reminder goes to them again."""


# How far ahead `RevisionStore.facts` lists due times: past the end of anyone's day.
DUE_SOON = timedelta(days=2)


class RevisionFacts(Record):
    """One learner's revision as stored, for a tutor's cohort view; the service works out
    their day (due today, streak) in their time zone."""

    learner_id: int
    timezone: str | None = None
    cards: int = 0
    overdue: int = 0
    """Cards due before the moment asked about."""
    due_soon: tuple[datetime, ...] = ()
    """When the cards falling due in the `DUE_SOON` after that moment fall due."""
    last_revision: datetime | None = None
    """The learner's latest answer in a /revise session."""
    review_days: tuple[tuple[datetime, datetime], ...] = ()
    """The first and last review of each UTC day with any: within one UTC day the local date
    only moves forward, at most once, so these two give every local day with a review."""


class RevisionStore(Protocol):
    """Durable cards, review logs and learner settings (SQLite and an in-memory fake)."""

    async def cards(self, learner_id: int, card_ids: Sequence[str] = ()) -> list[CardState]:
        """The learner's cards (only those named, if any are), by card id."""
        ...

    async def due_cards(self, learner_id: int, before: datetime) -> list[CardState]:
        """The learner's cards due before `before`, earliest first."""
        ...

    async def due_count(self, learner_id: int, before: datetime) -> int:
        """How many of the learner's cards are due before `before` (a reminder's question)."""
        ...

    async def reviews(self, learner_id: int, card_id: str | None = None) -> list[ReviewEntry]:
        """The learner's review log (of one card, if named), oldest first."""
        ...

    async def save(
        self, cards: Sequence[CardState], reviews: Sequence[ReviewEntry], replace: bool = False
    ) -> None:
        """Store cards and append log entries in one transaction; `replace` first drops the
        named cards' logs (a re-grade replays a card's whole history)."""
        ...

    async def settings(self, learner_id: int) -> LearnerSettings:
        """The learner's settings (defaults if none are stored)."""
        ...

    async def save_settings(self, settings: LearnerSettings) -> None:
        """Store a learner's settings (the learner must exist)."""
        ...

    async def due_reminders(self, now: datetime, limit: int) -> list[LearnerSettings]:
        """Settings of up to `limit` learners whose reminder is due by `now` (not blocked),
        earliest first."""
        ...

    async def claim_reminder(
        self, learner_id: int, expected: datetime, following: datetime | None
    ) -> bool:
        """Move a learner's next reminder from `expected` to `following`, only if it still is
        `expected` (so two workers, or a restart, never send the same reminder twice)."""
        ...

    async def block_reminders(self, learner_id: int, at: datetime) -> None:
        """The learner blocked the bot: stop their reminders for good."""
        ...

    async def facts(self, learner_ids: Sequence[int], now: datetime) -> list[RevisionFacts]:
        """Revision facts of these learners at `now`, in the order given (zeros for one with
        nothing stored): one query for a whole cohort."""
        ...

    async def export(self, learner_id: int) -> dict[str, Any]:
        """Cards, log and settings of one learner, JSON-ready (for /mydata)."""
        ...

    async def forget(self, learner_id: int) -> None:
        """Erase the learner's cards, log and settings."""
        ...


def grade_for(outcome: str, attempts: int = 1, hinted: bool = False) -> Grade:
    """The FSRS grade of an answer: Good at the first try, Hard after a retry or a hint,
    Again for anything not fully right."""
    if outcome != "correct":
        return "again"
    return "good" if attempts <= 1 and not hinted else "hard"


def _utc(moment: datetime) -> datetime:
    return moment.astimezone(UTC)


def _to_fsrs(card: CardState) -> FsrsCard:
    return FsrsCard(
        card_id=1,  # FSRS only echoes it; ours is the string id
        state=State(card.state),
        step=None,
        stability=card.stability,
        difficulty=card.difficulty,
        due=_utc(card.due_at),
        last_review=_utc(card.last_review_at) if card.last_review_at else None,
    )


def new_card(learner_id: int, card_id: str, topic: str, now: datetime) -> CardState:
    """A card never reviewed; due at once."""
    return CardState(
        learner_id=learner_id, card_id=card_id, topic=topic, state=State.Learning, due_at=now
    )


def review(card: CardState, grade: Grade, at: datetime) -> CardState:
    """The card after one review (pure: FSRS with fixed parameters, no fuzz)."""
    scheduled, _ = SCHEDULER.review_card(_to_fsrs(card), RATINGS[grade], _utc(at))
    assert scheduled.due is not None
    return card.model_copy(
        update={
            "state": int(scheduled.state),
            "stability": scheduled.stability,
            "difficulty": scheduled.difficulty,
            "due_at": _utc(scheduled.due),
            "last_review_at": _utc(at),
            "reviews": card.reviews + 1,
            "lapses": card.lapses + int(grade == "again" and card.reviews > 0),
        }
    )


def day_end(now: datetime, zone: ZoneInfo) -> datetime:
    """The end of the learner's calendar day (their midnight), in UTC."""
    local = now.astimezone(zone)
    tomorrow = datetime.combine(local.date() + timedelta(days=1), time(), tzinfo=zone)
    return tomorrow.astimezone(UTC)


def mix_topics(cards: Sequence[CardState], limit: int = SESSION_SIZE) -> list[CardState]:
    """Up to `limit` cards, taken in turn from each topic (most overdue topic first), so one
    session revisits several areas instead of drilling one."""
    queues: dict[str, list[CardState]] = {}
    for card in sorted(cards, key=lambda c: (c.due_at, c.card_id)):
        queues.setdefault(card.topic, []).append(card)
    picked: list[CardState] = []
    while queues and len(picked) < limit:
        for topic in list(queues):
            picked.append(queues[topic].pop(0))
            if not queues[topic]:
                del queues[topic]
            if len(picked) == limit:
                break
    return picked


def zone_named(name: str | None, default: ZoneInfo) -> ZoneInfo:
    """The zone called `name`, or `default` for None or a name this machine doesn't know."""
    if not name:
        return default
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return default


class Revision:
    """The revision service: grades answers into cards, finds due cards, re-grades."""

    def __init__(
        self,
        store: RevisionStore,
        default_zone: ZoneInfo,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.store = store
        self.default_zone = default_zone
        self.clock = clock

    async def zone(self, learner_id: int) -> ZoneInfo:
        """The learner's time zone (the centre's unless they chose one)."""
        settings = await self.store.settings(learner_id)
        return zone_named(settings.timezone, self.default_zone)

    async def record(self, reviews: Iterable[Review]) -> list[CardState]:
        """Grade answers into their cards (creating new ones) and store cards and log together;
        returns the cards as scheduled now."""
        changed, entries = await self.grade(reviews)
        if changed:
            await self.store.save(changed, entries)
        return changed

    async def grade(self, reviews: Iterable[Review]) -> tuple[list[CardState], list[ReviewEntry]]:
        """Grade answers into their cards (creating new ones) without storing anything: the
        cards as scheduled now and their log entries, for a commit to store (`record` stores
        them itself)."""
        batch = list(reviews)
        if not batch:
            return [], []
        learner_id = batch[0].learner_id
        assert all(r.learner_id == learner_id for r in batch), "one learner per call"
        known = {
            c.card_id: c
            for c in await self.store.cards(learner_id, sorted({r.card_id for r in batch}))
        }
        entries: list[ReviewEntry] = []
        for item in batch:
            card = known.get(item.card_id) or new_card(
                learner_id, item.card_id, item.topic, item.at
            )
            card = review(card, item.grade, item.at)
            known[item.card_id] = card
            entries.append(
                ReviewEntry(
                    learner_id=learner_id,
                    card_id=item.card_id,
                    grade=item.grade,
                    source=item.source,
                    reviewed_at=_utc(item.at),
                    due_after=card.due_at,
                )
            )
        changed = [known[card_id] for card_id in dict.fromkeys(r.card_id for r in batch)]
        return changed, entries

    async def due(self, learner_id: int, limit: int = SESSION_SIZE) -> list[CardState]:
        """Cards to revise now (due by the end of the learner's day), mixed across topics."""
        end = day_end(self.clock(), await self.zone(learner_id))
        return mix_topics(await self.store.due_cards(learner_id, end), limit)

    async def due_count(self, learner_id: int) -> int:
        """How many cards are due by the end of the learner's day."""
        end = day_end(self.clock(), await self.zone(learner_id))
        return await self.store.due_count(learner_id, end)

    async def next_due(self, learner_id: int) -> datetime | None:
        """When the learner's next card falls due after today, if any."""
        end = day_end(self.clock(), await self.zone(learner_id))
        later = [c.due_at for c in await self.store.cards(learner_id) if c.due_at >= end]
        return min(later, default=None)

    async def last_revision(self, learner_id: int) -> datetime | None:
        """When the learner last answered in a /revise session."""
        logs = await self.store.reviews(learner_id)
        return max((e.reviewed_at for e in logs if e.source == "revision"), default=None)

    async def streak(self, learner_id: int) -> int:
        """Days in a row with at least one graded answer, in the learner's time zone."""
        zone = await self.zone(learner_id)
        days = [
            e.reviewed_at.astimezone(zone).date() for e in await self.store.reviews(learner_id)
        ]
        return streak(days, self.clock().astimezone(zone).date())

    async def status(self, learner_id: int) -> str:
        """One line for a tutor: cards due today, the last revision session, the streak."""
        cards = await self.store.cards(learner_id)
        due = await self.due_count(learner_id)
        last = await self.last_revision(learner_id)
        zone = await self.zone(learner_id)
        days = await self.streak(learner_id)
        return status_line(due, len(cards), last, days, zone)

    async def statuses(self, learner_ids: Sequence[int]) -> dict[int, str]:
        """`status` of each learner of a cohort, read in one query."""
        now = self.clock()
        lines: dict[int, str] = {}
        for facts in await self.store.facts(learner_ids, now):
            zone = zone_named(facts.timezone, self.default_zone)
            end = day_end(now, zone)
            due = facts.overdue + sum(1 for at in facts.due_soon if at < end)
            days = {at.astimezone(zone).date() for span in facts.review_days for at in span}
            days_in_row = streak(days, now.astimezone(zone).date())
            lines[facts.learner_id] = status_line(
                due, facts.cards, facts.last_revision, days_in_row, zone
            )
        return lines

    async def regrade(
        self, learner_id: int, card_id: str, outcome: str, attempts: int = 1
    ) -> CardState | None:
        """Re-grade a card's latest review from an outside verdict (a tutor's decision): its
        history is replayed with that review's grade replaced. None if there is no such card."""
        cards = await self.store.cards(learner_id, [card_id])
        history = await self.store.reviews(learner_id, card_id)
        if not cards or not history:
            return None
        grade = grade_for(outcome, attempts)
        card = new_card(learner_id, card_id, cards[0].topic, history[0].reviewed_at)
        entries: list[ReviewEntry] = []
        for index, entry in enumerate(history):
            last = index == len(history) - 1
            item = entry.model_copy(update={"grade": grade, "source": "tutor"}) if last else entry
            card = review(card, item.grade, item.reviewed_at)
            entries.append(item.model_copy(update={"due_after": card.due_at}))
        await self.store.save([card], entries, replace=True)
        return card

    async def regrade_answer(
        self,
        learner_id: int,
        candidates: Sequence[str],
        answered_at: datetime,
        outcome: str,
    ) -> CardState | None:
        """Re-grade the card an answer was graded into, from a tutor's verdict on it. The answer
        names its question; the card is that question's, or a scenario step's that asks it
        (several scenarios may): the one whose latest review is closest to the answer."""
        latest: list[tuple[float, str]] = []
        for card_id in dict.fromkeys(candidates):
            history = await self.store.reviews(learner_id, card_id)
            if history:
                gap = abs((history[-1].reviewed_at - answered_at).total_seconds())
                latest.append((gap, card_id))
        if not latest:
            return None
        return await self.regrade(learner_id, min(latest)[1], outcome)


@cache
def _zones_by_lower_name() -> dict[str, str]:
    return {name.lower(): name for name in available_timezones()}


def status_line(
    due: int, cards: int, last_revision: datetime | None, days: int, zone: ZoneInfo
) -> str:
    """A learner's revision in one line for their tutor."""
    when = last_revision.astimezone(zone).strftime("%d %b %Y") if last_revision else "never"
    return (
        f"🔁 Revision: {due} of {cards} cards due today · last revision: {when}"
        f" · streak: {days} {'day' if days == 1 else 'days'}"
    )


def known_zone(name: str) -> str | None:
    """The IANA zone a learner means (any case: 'europe/paris' is Europe/Paris), or None."""
    return _zones_by_lower_name().get(name.strip().lower())
