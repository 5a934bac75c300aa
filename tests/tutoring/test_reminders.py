"""Reminder times: parsing what people type, the next reminder, and when a late one is dropped."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from tutoring.reminders import day_list, next_reminder, parse_days, parse_time, too_late

LONDON = ZoneInfo("Europe/London")


@pytest.mark.parametrize(
    ("typed", "time"),
    [
        ("8", "08:00"),
        ("8:30", "08:30"),
        ("0830", "08:30"),
        ("18.00", "18:00"),
        ("7h15", "07:15"),
        ("24:00", None),
        ("12:60", None),
        ("noon", None),
        ("", None),
    ],
    ids=["hour", "colon", "four-digits", "dot", "h", "24h", "60min", "word", "empty"],
)
def test_times_as_people_type_them(typed: str, time: str | None) -> None:
    assert parse_time(typed) == time


def test_quiet_days() -> None:
    assert parse_days(["sat", "Sunday"]) == (5, 6)
    assert parse_days(["none"]) == ()
    assert parse_days(["funday"]) is None
    assert parse_days(["mon", "tue", "wed", "thu", "fri", "sat", "sun"]) is None
    assert day_list((5, 6)) == "Sat, Sun"
    assert day_list(()) == "none"


def test_the_next_reminder_is_the_next_open_day_at_local_time() -> None:
    friday_noon = datetime(2026, 3, 6, 12, 0, tzinfo=UTC)
    assert next_reminder(friday_noon, "18:00", LONDON) == datetime(2026, 3, 6, 18, 0, tzinfo=UTC)
    # Weekends quiet: Monday.
    friday_evening = datetime(2026, 3, 6, 19, 0, tzinfo=UTC)
    assert next_reminder(friday_evening, "18:00", LONDON, (5, 6)) == datetime(
        2026, 3, 9, 18, 0, tzinfo=UTC
    )
    # Exactly at the time: the next day (at most one a day).
    at = datetime(2026, 3, 6, 18, 0, tzinfo=UTC)
    assert next_reminder(at, "18:00", LONDON) == at + timedelta(days=1)
    # After the clocks go forward (29 March 2026) 18:00 in London is 17:00 UTC.
    saturday = datetime(2026, 3, 28, 19, 0, tzinfo=UTC)
    assert next_reminder(saturday, "18:00", LONDON) == datetime(2026, 3, 29, 17, 0, tzinfo=UTC)
    # In Kolkata 08:00 is 02:30 UTC.
    kolkata = next_reminder(friday_noon, "08:00", ZoneInfo("Asia/Kolkata"))
    assert kolkata == datetime(2026, 3, 7, 2, 30, tzinfo=UTC)


def test_a_reminder_more_than_half_an_hour_late_is_dropped() -> None:
    due = datetime(2026, 3, 6, 18, 0, tzinfo=UTC)
    assert not too_late(due, due + timedelta(minutes=29))
    assert too_late(due, due + timedelta(minutes=31))
