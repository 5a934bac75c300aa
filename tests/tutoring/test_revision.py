"""Spaced revision's domain: the FSRS grade of an answer, schedules, due days, re-grading."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from storage.revision_memory import MemoryRevisionStore
from tutoring.revision import (
    CardState,
    LearnerSettings,
    Review,
    Revision,
    day_end,
    grade_for,
    known_zone,
    mix_topics,
    new_card,
    review,
    zone_named,
)
from tutoring.streaks import streak

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)  # a Monday
LONDON = ZoneInfo("Europe/London")


@pytest.mark.parametrize(
    ("outcome", "attempts", "hinted", "grade"),
    [
        ("correct", 1, False, "good"),
        ("correct", 2, False, "hard"),
        ("correct", 3, False, "hard"),
        ("correct", 1, True, "hard"),
        ("partial", 1, False, "again"),
        ("incorrect", 1, False, "again"),
        ("revealed", 3, False, "again"),
        ("skipped", 0, False, "again"),
    ],
    ids=[
        "first-try-good",
        "after-a-retry-hard",
        "after-two-retries-hard",
        "after-a-hint-hard",
        "partial-again",
        "wrong-again",
        "revealed-again",
        "skipped-again",
    ],
)
def test_an_answer_becomes_an_fsrs_grade(
    outcome: str, attempts: int, hinted: bool, grade: str
) -> None:
    assert grade_for(outcome, attempts, hinted) == grade


@pytest.mark.parametrize(
    ("grades", "days"),
    [
        (["good"], [2]),
        (["good", "good", "good"], [2, 11, 46]),
        (["hard", "hard"], [1, 3]),
        (["again", "again"], [1, 1]),
        (["good", "again", "good"], [2, 1, 2]),
    ],
    ids=["good-once", "good-thrice", "hard-twice", "again-twice", "lapse-and-recover"],
)
def test_fsrs_spaces_reviews_by_how_they_went(grades: list[str], days: list[int]) -> None:
    card = new_card(1, "cra-reject-window", "cra-goods", T0)
    now = T0
    gaps = []
    for grade in grades:
        card = review(card, grade, now)  # type: ignore[arg-type]
        gaps.append((card.due_at - now).days)
        now = card.due_at
    assert gaps == days
    assert card.reviews == len(grades)


def test_a_lapse_is_counted_only_after_a_first_review() -> None:
    card = review(new_card(1, "q", "t", T0), "again", T0)
    assert card.lapses == 0
    assert review(card, "again", card.due_at).lapses == 1


@pytest.mark.parametrize(
    ("zone", "now", "end"),
    [
        ("Europe/London", T0, datetime(2026, 3, 3, 0, 0, tzinfo=UTC)),
        ("Asia/Kolkata", T0, datetime(2026, 3, 2, 18, 30, tzinfo=UTC)),
        (
            "America/New_York",
            datetime(2026, 3, 2, 3, 0, tzinfo=UTC),
            datetime(2026, 3, 2, 5, 0, tzinfo=UTC),
        ),
    ],
    ids=["london", "kolkata-ahead", "new-york-still-yesterday"],
)
def test_a_day_ends_at_the_learners_midnight(zone: str, now: datetime, end: datetime) -> None:
    assert day_end(now, ZoneInfo(zone)) == end


def test_a_session_mixes_topics_most_overdue_first() -> None:
    def card(card_id: str, topic: str, hours: int) -> CardState:
        return new_card(1, card_id, topic, T0 + timedelta(hours=hours))

    cards = [card("a1", "a", 0), card("a2", "a", 1), card("a3", "a", 2), card("b1", "b", 3)]
    cards += [card(f"c{n}", "c", 4 + n) for n in range(10)]
    picked = [c.card_id for c in mix_topics(cards)]
    assert picked[:6] == ["a1", "b1", "c0", "a2", "c1", "a3"]
    assert len(picked) == 10


def test_zone_names_are_read_in_any_case_and_unknown_ones_fall_back() -> None:
    assert known_zone("europe/paris") == "Europe/Paris"
    assert known_zone("Mars/Olympus") is None
    assert zone_named("Mars/Olympus", LONDON) == LONDON
    assert zone_named(None, LONDON) == LONDON
    assert zone_named("Asia/Tokyo", LONDON) == ZoneInfo("Asia/Tokyo")


class Clock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> datetime:
        return self.now


async def test_due_follows_the_learners_day_and_regrade_replays_the_history() -> None:
    clock = Clock()
    store = MemoryRevisionStore()
    revision = Revision(store, LONDON, clock=clock)
    reviews = [
        Review(learner_id=1, card_id=c, topic=t, grade="good", source="quiz", at=T0)
        for c, t in [("q1", "a"), ("q2", "b")]
    ]
    await revision.record(reviews)
    assert await revision.due_count(1) == 0
    assert await revision.next_due(1) == T0 + timedelta(days=2)

    # Two days later, at 00:30 London time, both are due for the whole of that day.
    clock.now = datetime(2026, 3, 4, 0, 30, tzinfo=UTC)
    assert [c.card_id for c in await revision.due(1)] == ["q1", "q2"]
    assert await revision.due_count(2) == 0  # per learner

    # A tutor says the first answer to q1 was wrong after all: it is due tomorrow instead.
    regraded = await revision.regrade(1, "q1", "incorrect")
    assert regraded is not None
    assert regraded.due_at == T0 + timedelta(days=1)
    log = await store.reviews(1, "q1")
    assert [(e.grade, e.source) for e in log] == [("again", "tutor")]
    assert await revision.regrade(1, "nothing", "correct") is None


@pytest.mark.parametrize(
    ("active", "today", "days"),
    [
        ([], date(2026, 3, 9), 0),
        ([date(2026, 3, 9)], date(2026, 3, 9), 1),
        ([date(2026, 3, 7), date(2026, 3, 8)], date(2026, 3, 9), 2),
        ([date(2026, 3, 6), date(2026, 3, 7), date(2026, 3, 9)], date(2026, 3, 9), 3),
        ([date(2026, 3, 5), date(2026, 3, 6)], date(2026, 3, 9), 0),
        (
            [date(2026, 3, d) for d in (1, 3, 4, 5, 7, 8, 9)],
            date(2026, 3, 9),
            6,  # 9, 8, 7, (6 frozen) 5, 4, 3; and 2 is a second miss that week
        ),
        (
            [date(2026, 2, 28), *[date(2026, 3, d) for d in (2, 3, 4, 5, 6, 7, 8, 10)]],
            date(2026, 3, 10),
            9,
        ),
    ],
    ids=[
        "nothing",
        "today",
        "up-to-yesterday-still-stands",
        "one-missed-day-is-frozen",
        "two-missed-days-end-it",
        "a-second-miss-within-a-week-ends-it",
        "a-freeze-a-week-apart-works-twice",
    ],
)
def test_streak_counts_active_days_with_one_freeze_a_week(
    active: list[date], today: date, days: int
) -> None:
    assert streak(active, today) == days


async def test_a_cohorts_statuses_read_at_once_match_each_learners_own() -> None:
    clock = Clock()
    store = MemoryRevisionStore()
    revision = Revision(store, LONDON, clock=clock)
    zones = {1: None, 2: "Asia/Tokyo", 3: "America/Los_Angeles", 4: "Asia/Kathmandu"}
    for learner_id, zone in zones.items():
        await store.save_settings(LearnerSettings(learner_id=learner_id, timezone=zone))
    # Reviews either side of midnight in several zones, over a week with one day missed.
    for learner_id in zones:
        for day, hour, grade in [
            (0, 23, "good"),
            (1, 1, "again"),
            (2, 15, "hard"),
            (4, 6, "good"),
        ]:
            at = T0.replace(hour=hour) + timedelta(days=day)
            source = "revision" if day == 2 else "quiz"
            card_id = f"q{day}-{learner_id}"
            await revision.record(
                [
                    Review(
                        learner_id=learner_id,
                        card_id=card_id,
                        topic="t",
                        grade=grade,  # type: ignore[arg-type]
                        source=source,  # type: ignore[arg-type]
                        at=at,
                    )
                ]
            )
    for now in (T0 + timedelta(days=4, hours=12), T0 + timedelta(days=5, hours=23)):
        clock.now = now
        statuses = await revision.statuses([*zones, 9])
        assert statuses == {
            learner_id: await revision.status(learner_id) for learner_id in [*zones, 9]
        }
    assert "streak: 0 days" not in statuses[2]
    assert (
        statuses[9]
        == "🔁 Revision: 0 of 0 cards due today · last revision: never · streak: 0 days"
    )
