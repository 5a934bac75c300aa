"""Daily reminders (opt-in): when the next one is due, and whether a late one still goes.

A learner picks a local time ("18:00") and quiet weekdays; the next reminder is stored as a UTC
instant, so finding whom to remind is one index range whatever the time zones. At most one a
day: a reminder is claimed (moved to its next day) before it is sent. One due while the bot was
down is dropped, not sent late in a burst.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

REMINDER_TIMES = ("08:00", "12:30", "18:00", "20:00")
"""The times offered as buttons; any other is typed (/settings reminder 07:15)."""
DAY_NAMES = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
DROP_AFTER = timedelta(minutes=30)
"""A reminder found this long after its time (the bot was down) is dropped, not sent."""
_TIME = re.compile(r"^(\d{1,2})(?:[:.h]?(\d{2}))?$")


def parse_time(text: str) -> str | None:
    """A time of day as people type it ('8', '8:30', '0830', '18.00', '7h15') as 'HH:MM'."""
    match = _TIME.match(text.strip().lower())
    if match is None:
        return None
    hours, minutes = int(match[1]), int(match[2] or 0)
    if hours > 23 or minutes > 59:
        return None
    return f"{hours:02d}:{minutes:02d}"


def parse_days(words: Sequence[str]) -> tuple[int, ...] | None:
    """Weekdays named by their first three letters ('sat sun', 'Saturday'); 'none' for none.
    None if a word is not a day, or every day would be quiet."""
    if [w.lower() for w in words] in (["none"], ["no"], []):
        return ()
    days: set[int] = set()
    for word in words:
        key = word.strip(" ,").lower()[:3]
        if key not in DAY_NAMES:
            return None
        days.add(DAY_NAMES.index(key))
    return tuple(sorted(days)) if len(days) < len(DAY_NAMES) else None


def day_list(days: Sequence[int]) -> str:
    """Quiet days as a learner reads them ('Sat, Sun'), or 'none'."""
    return ", ".join(DAY_NAMES[d].capitalize() for d in days) if days else "none"


def next_reminder(
    after: datetime, at: str, zone: ZoneInfo, quiet_days: Sequence[int] = ()
) -> datetime | None:
    """The first local `at` strictly after `after` on a day that is not quiet, in UTC."""
    hours, minutes = (int(part) for part in at.split(":"))
    local_day: date = after.astimezone(zone).date()
    for offset in range(8):
        day = local_day + timedelta(days=offset)
        if day.weekday() in quiet_days:
            continue
        moment = datetime.combine(day, time(hours, minutes), tzinfo=zone).astimezone(UTC)
        if moment > after:
            return moment
    return None


def too_late(due_at: datetime, now: datetime) -> bool:
    """Whether a reminder found at `now` missed its time by too much to be sent."""
    return now - due_at > DROP_AFTER
