"""Streaks: days in a row with at least one answer (a revision card or a scenario step).

One missed day a week is forgiven (a "freeze"), so a single busy day does not wipe out weeks
of habit; two missed days in a row, or a second miss within seven days, end the streak. Today
counts once the learner has answered; until then the streak still stands from yesterday.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, timedelta

FREEZE_EVERY_DAYS = 7


def streak(active_days: Iterable[date], today: date) -> int:
    """How many active days the learner's current streak holds."""
    active = set(active_days)
    day = today if today in active else today - timedelta(days=1)
    count = 0
    last_freeze: date | None = None
    one = timedelta(days=1)
    while True:
        if day in active:
            count += 1
        elif day - one in active and (
            last_freeze is None or (last_freeze - day).days >= FREEZE_EVERY_DAYS
        ):
            last_freeze = day
        else:
            return count
        day -= one
