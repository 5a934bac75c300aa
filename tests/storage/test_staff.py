"""Finding the cohort a tutor means, by join code or name."""

from storage.staff import Cohort, find_cohort

MINE = Cohort(1, "Tuesday Group", 50, "K7M2Q9XA", "2026-11-01")
THEIRS = Cohort(2, "tuesday group", 51, "P3R4S5TU", "2026-11-02")
CODE_AS_NAME = Cohort(3, "P3R4S5TU", 52, "ZZZZ2222", "2026-11-03")


def test_a_cohort_is_found_by_code_or_by_name_in_any_case() -> None:
    assert find_cohort([MINE], "k7m2q9xa ") == MINE
    assert find_cohort([MINE], "TUESDAY group") == MINE
    assert find_cohort([MINE], "Wednesday") is None


def test_a_code_wins_over_a_name_and_an_ambiguous_name_finds_nothing() -> None:
    assert find_cohort([THEIRS, CODE_AS_NAME], "P3R4S5TU") == THEIRS
    assert find_cohort([MINE, THEIRS], "Tuesday Group") is None  # an admin sees both
