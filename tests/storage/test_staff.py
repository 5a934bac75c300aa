"""Roles, cohorts and members (one contract over every StaffStore), and finding the cohort a
tutor means by join code or name."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from flows.ports import ProgressStore
from storage import MemoryProgressStore
from storage.memory_staff import MemoryStaffStore
from storage.staff import SqliteStaffStore, find_cohort
from tests.storage.builders import TickClock, commit, profile
from tests.storage.conftest import SQL_DATABASES, sql_progress
from tutoring.ports import Cohort, CohortNameTakenError, StaffStore

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


# --- the StaffStore contract: the in-memory fake and SQLite behave the same (rule 9) ------------

ADMIN, TUTOR, OTHER_TUTOR = 900, 50, 51


@dataclass
class Staffed:
    progress: ProgressStore
    staff: StaffStore


@pytest.fixture(params=["memory", *SQL_DATABASES])
async def world(
    request: pytest.FixtureRequest, tmp_path: Path, clock: TickClock
) -> AsyncIterator[Staffed]:
    if request.param == "memory":
        progress = MemoryProgressStore(clock=clock)
        yield Staffed(progress, MemoryStaffStore(progress, admin_ids=(ADMIN,), clock=clock))
        return
    async with sql_progress(request.param, tmp_path / "coach.db", clock) as store:
        yield Staffed(store, SqliteStaffStore(store.database, admin_ids=(ADMIN,), clock=clock))


class TestStaffStore:
    async def test_roles_come_from_settings_then_grants(self, world: Staffed) -> None:
        staff = world.staff
        assert await staff.role_of(ADMIN) == "admin"
        assert await staff.role_of(TUTOR) == "learner"
        await staff.grant(TUTOR, "tutor", by=ADMIN)
        await staff.grant(7, "admin", by=ADMIN)
        await staff.grant(ADMIN, "tutor", by=ADMIN)  # settings' admins stay admins
        assert await staff.role_of(TUTOR) == "tutor"
        assert await staff.role_of(7) == "admin"
        assert await staff.role_of(ADMIN) == "admin"
        assert await staff.staff() == [(ADMIN, "admin"), (7, "admin"), (TUTOR, "tutor")]
        await staff.revoke(TUTOR)
        assert await staff.role_of(TUTOR) == "learner"
        assert await staff.staff() == [(ADMIN, "admin"), (7, "admin")]

    async def test_cohorts_have_unique_codes_and_names_per_owner(self, world: Staffed) -> None:
        staff = world.staff
        tuesday = await staff.create_cohort(TUTOR, "Tuesday")
        await staff.create_cohort(TUTOR, "Monday")
        theirs = await staff.create_cohort(OTHER_TUTOR, "Tuesday")  # another owner may
        with pytest.raises(CohortNameTakenError):
            await staff.create_cohort(TUTOR, "Tuesday")
        assert tuesday.join_code != theirs.join_code
        assert len(tuesday.join_code) == 8
        assert [c.name for c in await staff.cohorts(TUTOR)] == ["Monday", "Tuesday"]
        everyone = await staff.cohorts()  # an admin's view: by name, then oldest first
        assert [c.name for c in everyone] == ["Monday", "Tuesday", "Tuesday"]
        assert everyone[1:] == [tuesday, theirs]
        assert await staff.cohort_by_id(tuesday.id) == tuesday
        assert await staff.cohort_by_code(f" {tuesday.join_code.lower()} ") == tuesday
        assert await staff.cohort_by_id(999) is None
        assert await staff.cohort_by_code("NOSUCHCD") is None

    async def test_who_sees_which_cohorts(self, world: Staffed) -> None:
        staff = world.staff
        mine = await staff.create_cohort(TUTOR, "Mine")
        theirs = await staff.create_cohort(OTHER_TUTOR, "Theirs")
        await staff.grant(TUTOR, "tutor", by=ADMIN)
        assert await staff.visible_cohorts(TUTOR) == [mine]
        assert await staff.visible_cohorts(ADMIN) == [mine, theirs]
        assert await staff.visible_cohorts(OTHER_TUTOR) == []  # no longer a tutor

    async def test_a_rotated_code_replaces_the_old_one(self, world: Staffed) -> None:
        staff = world.staff
        cohort = await staff.create_cohort(TUTOR, "Tuesday")
        code = await staff.rotate_code(cohort)
        assert code != cohort.join_code
        assert await staff.cohort_by_code(cohort.join_code) is None
        rotated = await staff.cohort_by_code(code)
        assert rotated is not None
        assert (rotated.id, rotated.name) == (cohort.id, cohort.name)

    async def test_members_join_once_with_their_names(self, world: Staffed) -> None:
        staff = world.staff
        cohort = await staff.create_cohort(TUTOR, "Tuesday")
        assert await staff.join(cohort, profile(1)) is True
        assert await staff.join(cohort, profile(1)) is False
        assert await staff.join(cohort, 2) is True  # a bare id: no name stored
        members = await staff.members(cohort)
        assert [(m.learner_id, m.display_name, m.username) for m in members] == [
            (1, "Learner 1", "l1"),
            (2, "", None),
        ]
        assert members[0].joined_at < members[1].joined_at
        assert await staff.remove_member(cohort, 1) is True
        assert await staff.remove_member(cohort, 1) is False
        assert [m.learner_id for m in await staff.members(cohort)] == [2]

    async def test_users_are_found_by_their_current_username(self, world: Staffed) -> None:
        staff = world.staff
        await world.progress.apply(commit(1, 1))
        [found] = await staff.users_named("@L1")
        assert (found.user_id, found.display_name) == (1, "Learner 1")
        # Someone else writes with that name now: they hold it.
        renamed = commit(2, 1).model_copy(
            update={"learner": profile(2).model_copy(update={"username": "l1"})}
        )
        await world.progress.apply(renamed)
        assert [user.user_id for user in await staff.users_named("l1")] == [2]
        assert await staff.users_named("nobody") == []

    async def test_refused_attempts_are_counted_per_user_and_command(self, world: Staffed) -> None:
        staff = world.staff
        assert await staff.log_denied(5, "/grant") == 1
        assert await staff.log_denied(5, "/grant") == 2
        assert await staff.log_denied(5, "/cohort") == 1
        assert await staff.log_denied(6, "/grant") == 1
        attempts = await staff.denied_attempts()
        assert [(user, command, count) for user, command, _, count in attempts] == [
            (5, "/grant", 2),
            (5, "/cohort", 1),
            (6, "/grant", 1),
        ]

    async def test_forgetting_a_learner_drops_memberships_and_refusals(
        self, world: Staffed
    ) -> None:
        staff = world.staff
        cohort = await staff.create_cohort(TUTOR, "Tuesday")
        await world.progress.apply(commit(1, 1))
        await staff.join(cohort, 1)
        await staff.join(cohort, 2)
        await staff.log_denied(1, "/grant")
        await world.progress.forget_learner(1)
        assert [m.learner_id for m in await staff.members(cohort)] == [2]
        assert await staff.denied_attempts() == []
