"""The in-memory StaffStore: the fake for tests, with the SQLite adapter's exact semantics.

Learners' names come from the `MemoryProgressStore` it is built on (SQLite reads the learners
table); an erasure there drops the learner's memberships and refused attempts here too.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Collection
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from flows.ports import LearnerProfile
from storage.common import utc_now
from storage.memory import MemoryProgressStore
from storage.staff import DENIED_WINDOW, new_join_code
from tutoring.ports import Cohort, CohortNameTakenError, Member, NamedUser, Role


@dataclass
class _Denied:
    user_id: int
    command: str
    at: datetime
    count: int


class MemoryStaffStore:
    """StaffStore in dicts, over a MemoryProgressStore's learners."""

    def __init__(
        self,
        progress: MemoryProgressStore,
        admin_ids: Collection[int] = (),
        clock: Callable[[], datetime] = utc_now,
    ) -> None:
        self._progress = progress
        self._admin_ids = frozenset(admin_ids)
        self._clock = clock
        self._roles: dict[int, Literal["tutor", "admin"]] = {}
        self._denied: list[_Denied] = []
        self._cohorts: dict[int, Cohort] = {}
        self._members: dict[int, dict[int, str]] = {}
        """cohort id -> learner id -> when they joined."""
        progress.on_forget.append(self._forget)

    # --- roles ----------------------------------------------------------------------------------

    async def role_of(self, user_id: int) -> Role:
        await asyncio.sleep(0)
        if user_id in self._admin_ids:
            return "admin"
        return self._roles.get(user_id, "learner")

    async def grant(self, user_id: int, role: Literal["tutor", "admin"], by: int) -> None:
        await asyncio.sleep(0)
        self._clock()  # read as the SQLite adapter reads it, so both clocks stay in step
        self._roles[user_id] = role

    async def revoke(self, user_id: int) -> None:
        await asyncio.sleep(0)
        self._roles.pop(user_id, None)

    async def staff(self) -> list[tuple[int, Role]]:
        await asyncio.sleep(0)
        granted: list[tuple[int, Role]] = [
            (user, role)
            for user, role in sorted(self._roles.items())
            if user not in self._admin_ids
        ]
        return [(admin, "admin") for admin in sorted(self._admin_ids)] + granted

    async def users_named(self, username: str) -> list[NamedUser]:
        await asyncio.sleep(0)
        return [
            NamedUser(profile.learner_id, profile.display_name, last_active)
            for profile, last_active in self._progress.learners_named(username.lstrip("@"))
        ]

    async def log_denied(self, user_id: int, command: str) -> int:
        await asyncio.sleep(0)
        now = self._clock()
        since = now - DENIED_WINDOW
        recent = [
            row
            for row in self._denied
            if row.user_id == user_id and row.command == command[:100] and row.at >= since
        ]
        if recent:
            recent[-1].count += 1
            return recent[-1].count
        self._denied.append(_Denied(user_id, command[:100], now, 1))
        return 1

    async def denied_attempts(self) -> list[tuple[int, str, str, int]]:
        await asyncio.sleep(0)
        return [(row.user_id, row.command, row.at.isoformat(), row.count) for row in self._denied]

    # --- cohorts --------------------------------------------------------------------------------

    async def create_cohort(self, owner_id: int, name: str) -> Cohort:
        await asyncio.sleep(0)
        if any(c.owner_id == owner_id and c.name == name for c in self._cohorts.values()):
            raise CohortNameTakenError(name)
        codes = {cohort.join_code for cohort in self._cohorts.values()}
        code = new_join_code()
        while code in codes:
            code = new_join_code()
        cohort_id = max(self._cohorts, default=0) + 1
        cohort = Cohort(cohort_id, name, owner_id, code, self._clock().isoformat())
        self._cohorts[cohort_id] = cohort
        self._members[cohort_id] = {}
        return cohort

    async def cohorts(self, owner_id: int | None = None) -> list[Cohort]:
        await asyncio.sleep(0)
        found = [c for c in self._cohorts.values() if owner_id is None or c.owner_id == owner_id]
        return sorted(found, key=lambda cohort: (cohort.name, cohort.id))

    async def visible_cohorts(self, user_id: int) -> list[Cohort]:
        role = await self.role_of(user_id)
        if role == "admin":
            return await self.cohorts()
        return await self.cohorts(user_id) if role == "tutor" else []

    async def cohort_by_id(self, cohort_id: int) -> Cohort | None:
        await asyncio.sleep(0)
        return self._cohorts.get(cohort_id)

    async def cohort_by_code(self, code: str) -> Cohort | None:
        await asyncio.sleep(0)
        wanted = code.strip().upper()
        return next((c for c in self._cohorts.values() if c.join_code == wanted), None)

    async def rotate_code(self, cohort: Cohort) -> str:
        await asyncio.sleep(0)
        code = new_join_code()
        stored = self._cohorts.get(cohort.id)
        if stored is not None:
            self._cohorts[cohort.id] = Cohort(
                stored.id, stored.name, stored.owner_id, code, stored.created_at
            )
        return code

    async def join(self, cohort: Cohort, learner: LearnerProfile | int) -> bool:
        await asyncio.sleep(0)
        now = self._clock()
        if isinstance(learner, LearnerProfile):
            self._progress.record_profile(learner, now)
        learner_id = learner if isinstance(learner, int) else learner.learner_id
        members = self._members.setdefault(cohort.id, {})
        if learner_id in members:
            return False
        members[learner_id] = now.isoformat()
        return True

    async def remove_member(self, cohort: Cohort, learner_id: int) -> bool:
        await asyncio.sleep(0)
        members = self._members.get(cohort.id, {})
        return members.pop(learner_id, None) is not None

    async def members(self, cohort: Cohort) -> list[Member]:
        await asyncio.sleep(0)
        found: list[Member] = []
        for learner_id, joined_at in self._members.get(cohort.id, {}).items():
            stored = self._progress.profile_of(learner_id)
            name, username = (stored[0].display_name, stored[0].username) if stored else ("", None)
            found.append(Member(learner_id, name, username, joined_at))
        return sorted(found, key=lambda member: (member.joined_at, member.learner_id))

    # --- what the pushes fake reads, and erasure ------------------------------------------------

    def member_ids(self, cohort_id: int) -> set[int]:
        return set(self._members.get(cohort_id, {}))

    def _forget(self, learner_id: int) -> None:
        for members in self._members.values():
            members.pop(learner_id, None)
        self._denied = [row for row in self._denied if row.user_id != learner_id]
