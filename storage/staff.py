"""Roles and cohorts, stored in the same SQLite file and written by the same group commit."""

from __future__ import annotations

import secrets
from collections.abc import Callable, Collection
from datetime import datetime, timedelta
from typing import Literal

from flows.ports import LearnerProfile
from storage.common import utc_now
from storage.database import Database
from storage.dialect import UNIQUE_VIOLATIONS, Sql
from storage.learner_writes import profile_statements
from tutoring.cohorts import RANK, find_cohort
from tutoring.ports import (
    Cohort,
    CohortNameTakenError,
    Member,
    NamedUser,
    Role,
    StaffStore,
)

# The records, the port and the cohort helpers are tutoring's; re-exported for older callers.
__all__ = [
    "CODE_ALPHABET",
    "CODE_LENGTH",
    "DENIED_WINDOW",
    "RANK",
    "Cohort",
    "CohortNameTakenError",
    "Member",
    "NamedUser",
    "Role",
    "SqliteStaffStore",
    "StaffStore",
    "find_cohort",
    "new_join_code",
]


# Easy to read aloud and type: no 0/O, 1/I/L.
CODE_ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"
CODE_LENGTH = 8
# Refused attempts of one user at one command within this long share one counted row.
DENIED_WINDOW = timedelta(hours=1)


def new_join_code() -> str:
    return "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))


# Telegram compares usernames without case; so does each database, on its own index.
_USERS_NAMED = Sql(
    sqlite="SELECT id, display_name, last_active FROM learners"
    " WHERE username = ? COLLATE NOCASE ORDER BY id",
    postgresql="SELECT id, display_name, last_active FROM learners"
    " WHERE lower(username) = lower(?) ORDER BY id",
)


class SqliteStaffStore:
    """Who is a tutor or admin, and the cohorts tutors run."""

    def __init__(
        self,
        database: Database,
        admin_ids: Collection[int] = (),
        clock: Callable[[], datetime] = utc_now,
    ) -> None:
        self._database = database
        self._admin_ids = frozenset(admin_ids)
        self._clock = clock

    # --- roles ----------------------------------------------------------------------------------

    async def role_of(self, user_id: int) -> Role:
        """Admins from settings first; then a granted role; everyone else is a learner."""
        if user_id in self._admin_ids:
            return "admin"
        rows = await self._database.fetch("SELECT role FROM roles WHERE user_id = ?", (user_id,))
        if not rows:
            return "learner"
        return "admin" if rows[0]["role"] == "admin" else "tutor"

    async def grant(self, user_id: int, role: Literal["tutor", "admin"], by: int) -> None:
        await self._database.write(
            (
                "INSERT INTO roles (user_id, role, granted_by, granted_at) VALUES (?, ?, ?, ?)"
                " ON CONFLICT (user_id) DO UPDATE SET role = excluded.role,"
                " granted_by = excluded.granted_by, granted_at = excluded.granted_at",
                (user_id, role, by, self._clock().isoformat()),
            )
        )

    async def revoke(self, user_id: int) -> None:
        await self._database.write(("DELETE FROM roles WHERE user_id = ?", (user_id,)))

    async def staff(self) -> list[tuple[int, Role]]:
        """Every tutor and admin: settings' admins and granted roles."""
        rows = await self._database.fetch("SELECT user_id, role FROM roles ORDER BY user_id")
        granted = [
            (int(r["user_id"]), r["role"])
            for r in rows
            if int(r["user_id"]) not in self._admin_ids
        ]
        return [(a, "admin") for a in sorted(self._admin_ids)] + granted

    async def users_named(self, username: str) -> list[NamedUser]:
        """Everyone stored with this @username (one, unless the stored data predates the
        release of a renamed user's name), with when each was last seen."""
        rows = await self._database.fetch(_USERS_NAMED, (username.lstrip("@"),))
        return [
            NamedUser(
                int(r["id"]), str(r["display_name"]), datetime.fromisoformat(r["last_active"])
            )
            for r in rows
        ]

    async def log_denied(self, user_id: int, command: str) -> int:
        """Count a refused attempt on one row per user, command and hour (a flood of forged
        presses is a count, not a row each); how many this row holds now."""
        now = self._clock()
        since = (now - DENIED_WINDOW).isoformat()
        recent = (user_id, command[:100], since)
        await self._database.write(
            (
                "UPDATE denied_attempts SET count = count + 1, last_at = ? WHERE id = ("
                " SELECT max(id) FROM denied_attempts WHERE user_id = ? AND command = ?"
                " AND at >= ?)",
                (now.isoformat(), *recent),
            ),
            (
                "INSERT INTO denied_attempts (user_id, command, at, count, last_at)"
                " SELECT ?, ?, ?, 1, ? WHERE NOT EXISTS (SELECT 1 FROM denied_attempts"
                " WHERE user_id = ? AND command = ? AND at >= ?)",
                (user_id, command[:100], now.isoformat(), now.isoformat(), *recent),
            ),
        )
        rows = await self._database.fetch(
            "SELECT count FROM denied_attempts WHERE user_id = ? AND command = ? AND at >= ?"
            " ORDER BY id DESC LIMIT 1",
            recent,
        )
        return int(rows[0]["count"]) if rows else 1

    async def denied_attempts(self) -> list[tuple[int, str, str, int]]:
        """Refused attempts: user, command, when the hour's first came, and how many."""
        rows = await self._database.fetch(
            "SELECT user_id, command, at, count FROM denied_attempts ORDER BY id"
        )
        return [
            (int(r["user_id"]), str(r["command"]), str(r["at"]), int(r["count"])) for r in rows
        ]

    # --- cohorts --------------------------------------------------------------------------------

    async def create_cohort(self, owner_id: int, name: str) -> Cohort:
        if await self._fetch_cohorts("owner_id = ? AND name = ?", (owner_id, name)):
            raise CohortNameTakenError(name)
        for _ in range(5):  # a clash of random codes is rare; try again if it happens
            code = new_join_code()
            try:
                await self._database.write(
                    (
                        "INSERT INTO cohorts (name, owner_id, join_code, created_at)"
                        " VALUES (?, ?, ?, ?)",
                        (name, owner_id, code, self._clock().isoformat()),
                    )
                )
            except UNIQUE_VIOLATIONS:
                continue
            [cohort] = await self._fetch_cohorts("join_code = ?", (code,))
            return cohort
        raise RuntimeError("could not find a free join code")

    async def cohorts(self, owner_id: int | None = None) -> list[Cohort]:
        """A tutor's cohorts, or every cohort (owner_id None, for admins)."""
        if owner_id is None:
            return await self._fetch_cohorts("1 = 1", ())
        return await self._fetch_cohorts("owner_id = ?", (owner_id,))

    async def visible_cohorts(self, user_id: int) -> list[Cohort]:
        """The cohorts a user may manage: an admin's are all, a tutor's their own."""
        role = await self.role_of(user_id)
        if role == "admin":
            return await self.cohorts()
        return await self.cohorts(user_id) if role == "tutor" else []

    async def cohort_by_id(self, cohort_id: int) -> Cohort | None:
        found = await self._fetch_cohorts("id = ?", (cohort_id,))
        return found[0] if found else None

    async def cohort_by_code(self, code: str) -> Cohort | None:
        found = await self._fetch_cohorts("join_code = ?", (code.strip().upper(),))
        return found[0] if found else None

    async def rotate_code(self, cohort: Cohort) -> str:
        code = new_join_code()
        await self._database.write(
            ("UPDATE cohorts SET join_code = ? WHERE id = ?", (code, cohort.id))
        )
        return code

    async def join(self, cohort: Cohort, learner: LearnerProfile | int) -> bool:
        """Add a learner (their profile is recorded as any input of theirs records it, so
        reports name them; a bare id adds only the membership); False if already a member."""
        now = self._clock().isoformat()
        if isinstance(learner, LearnerProfile):
            await self._database.write(*profile_statements(learner, now))
        learner_id = learner if isinstance(learner, int) else learner.learner_id
        if learner_id in {m.learner_id for m in await self.members(cohort)}:
            return False
        await self._database.write(
            (
                "INSERT INTO memberships (cohort_id, learner_id, joined_at)"
                " VALUES (?, ?, ?) ON CONFLICT DO NOTHING",
                (cohort.id, learner_id, now),
            )
        )
        return True

    async def remove_member(self, cohort: Cohort, learner_id: int) -> bool:
        if learner_id not in {m.learner_id for m in await self.members(cohort)}:
            return False
        await self._database.write(
            (
                "DELETE FROM memberships WHERE cohort_id = ? AND learner_id = ?",
                (cohort.id, learner_id),
            )
        )
        return True

    async def members(self, cohort: Cohort) -> list[Member]:
        rows = await self._database.fetch(
            "SELECT m.learner_id, coalesce(l.display_name, '') AS display_name, l.username,"
            " m.joined_at"
            " FROM memberships m LEFT JOIN learners l ON l.id = m.learner_id"
            " WHERE m.cohort_id = ? ORDER BY m.joined_at, m.learner_id",
            (cohort.id,),
        )
        return [
            Member(
                int(r["learner_id"]), str(r["display_name"]), r["username"], str(r["joined_at"])
            )
            for r in rows
        ]

    async def _fetch_cohorts(self, where: str, parameters: tuple[object, ...]) -> list[Cohort]:
        # `where` is always a literal of this module; values go in as parameters.
        columns = "id, name, owner_id, join_code, created_at"
        sql = f"SELECT {columns} FROM cohorts WHERE {where} ORDER BY name, id"  # noqa: S608
        rows = await self._database.fetch(sql, parameters)
        return [
            Cohort(
                id=int(r["id"]),
                name=str(r["name"]),
                owner_id=int(r["owner_id"]),
                join_code=str(r["join_code"]),
                created_at=str(r["created_at"]),
            )
            for r in rows
        ]
