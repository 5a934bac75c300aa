"""Roles and cohorts as the staff side reasons about them: who outranks whom, and which cohort a
tutor means by what they typed."""

from __future__ import annotations

from tutoring.ports import Cohort, Role

RANK: dict[Role, int] = {"learner": 0, "tutor": 1, "admin": 2}


def find_cohort(cohorts: list[Cohort], word: str) -> Cohort | None:
    """The cohort a tutor means by a join code or a name (any case); None if none or several."""
    by_code = [c for c in cohorts if c.join_code == word.strip().upper()]
    by_name = [c for c in cohorts if c.name.lower() == word.strip().lower()]
    matches = by_code or by_name
    return matches[0] if len(matches) == 1 else None
