"""The pure parts of pushes: reading a send time, and naming why a delivery failed."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest
from telegram.error import BadRequest, Forbidden, TimedOut

from bot.telegram.delivery import failure_reason
from tutoring.pushing import parse_when

LONDON = ZoneInfo("Europe/London")
# Monday 30 November 2026, 10:00 GMT.
NOW = datetime(2026, 11, 30, 10, 0, tzinfo=UTC)


def london(year: int, month: int, day: int, hour: int, minute: int) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=LONDON)


@pytest.mark.parametrize(
    ("words", "expected"),
    [
        ([], (NOW, 0)),
        (["Tuesday", "Group"], (NOW, 0)),
        (["Class", "now"], (NOW, 1)),
        (["Class", "18:30"], (london(2026, 11, 30, 18, 30), 1)),
        (["Class", "9.15"], (london(2026, 12, 1, 9, 15), 1)),  # 09:15 has passed today
        (["Class", "tomorrow"], (london(2026, 12, 1, 9, 0), 1)),
        (["Class", "Tomorrow", "14:00"], (london(2026, 12, 1, 14, 0), 2)),
        (["Class", "2026-12-24", "08:00"], (london(2026, 12, 24, 8, 0), 2)),
        # Summer time: 09:00 in London on 1 June is 08:00 UTC.
        (["Class", "2027-06-01", "09:00"], (datetime(2027, 6, 1, 8, 0, tzinfo=UTC), 2)),
        # 01:30 on 28 March 2027 does not exist in London (clocks go forward): an hour later.
        (["Class", "2027-03-28", "01:30"], (datetime(2027, 3, 28, 1, 30, tzinfo=UTC), 2)),
    ],
    ids=[
        "nothing",
        "no-time",
        "now",
        "later-today",
        "passed-today",
        "tomorrow",
        "tomorrow-at",
        "date",
        "summer",
        "skipped-hour",
    ],
)
def test_send_times_are_read_in_the_centres_zone(
    words: list[str], expected: tuple[datetime, int]
) -> None:
    parsed = parse_when(words, NOW, LONDON)
    assert not isinstance(parsed, str), parsed
    assert parsed == expected
    assert parsed[0].utcoffset() is not None


@pytest.mark.parametrize(
    ("words", "problem"),
    [
        (["Class", "2026-11-29", "09:00"], "has already passed"),
        (["Class", "2026-13-01", "09:00"], "is not a date"),
        (["Class", "2026-12-01"], "Add the time after the date"),
        (["Class", "2028-01-01", "09:00"], "more than a year ahead"),
    ],
    ids=["past", "not-a-date", "date-only", "far"],
)
def test_impossible_send_times_are_explained(words: list[str], problem: str) -> None:
    parsed = parse_when(words, NOW, LONDON)
    assert isinstance(parsed, str)
    assert problem in parsed


def test_a_time_that_is_not_a_time_belongs_to_the_cohort_name() -> None:
    assert parse_when(["Class", "25:00"], NOW, LONDON) == (NOW, 0)


@pytest.mark.parametrize(
    ("error", "reason"),
    [
        (Forbidden("Forbidden: bot was blocked by the user"), "has blocked the bot"),
        (
            Forbidden("Forbidden: user is deactivated"),
            "can't be messaged (Forbidden: user is deactivated)",
        ),
        (BadRequest("Chat not found"), "Telegram refused: Chat not found"),
        (TimedOut(), "Telegram refused: Timed out"),
    ],
    ids=["blocked", "deactivated", "no-chat", "timeout"],
)
def test_failure_reasons_read_well(error: Exception, reason: str) -> None:
    assert isinstance(error, Forbidden | BadRequest | TimedOut)
    assert failure_reason(error) == reason
