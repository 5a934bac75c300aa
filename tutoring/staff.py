"""Tutor and admin commands: roles and cohorts. Every call checks the caller's role."""

from __future__ import annotations

import logging
import math
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

from flows.engine import utc_now
from flows.ports import LearnerProfile
from tutoring.cohorts import RANK, find_cohort
from tutoring.ids import parse_id
from tutoring.ports import Cohort, CohortNameTakenError, Role, StaffStore

log = logging.getLogger(__name__)

NOT_ALLOWED = "Sorry, that command is only for {role}s."
# A user refused more often than this in an hour (forged presses in a loop) gets no answer:
# each would cost a Bot API call from the budget every learner shares.
REFUSALS_ANSWERED = 10
COHORT_HELP = (
    "Cohort commands:\n"
    "/cohort new NAME – create a cohort and get its join link\n"
    "/cohort list – your cohorts (admins: all)\n"
    "/cohort members NAME – who has joined\n"
    "/cohort code NAME – a new join code (the old link stops working)\n"
    "/cohort remove NAME LEARNER – take a learner out (id or @username)\n"
    "NAME may also be the cohort's join code."
)
GRANT_HELP = (
    "Use /grant tutor|admin USER or /revoke USER, where USER is a Telegram id, an @username of"
    " someone who has used the bot, or leave it out and reply to their message."
)
NAME_RE = re.compile(r"^[\w .'&()-]{1,40}$")
JOIN_PREFIX = "join_"
USE_ID = (
    "Use their numeric id (they see it in /mydata; tutors in /cohort members), or reply to a"
    " message of theirs forwarded to me."
)


# A username last seen on the bot longer ago than this may belong to someone else by now.
STALE_USERNAME = timedelta(days=30)


@dataclass(frozen=True, slots=True)
class Caller:
    user_id: int
    replied_to: int | None = None
    """Who wrote the message this command replies to (for a forward: its original sender)."""
    reply_problem: str | None = None
    """Why the reply names nobody usable (a forward whose sender is hidden, the bot's own…)."""


async def refusal(staff: StaffStore, user_id: int, needed: Role, what: str) -> str | None:
    """None if the user holds the role; else the refusal to show, which is "" (show nothing)
    once they have been refused this command `REFUSALS_ANSWERED` times in the hour. Attempts
    are counted in the database; the log gets the 1st, 10th, 100th… of each hour."""
    role = await staff.role_of(user_id)
    if RANK[role] >= RANK[needed]:
        return None
    count = await staff.log_denied(user_id, what)
    if count == 1:
        log.warning("user %s (%s) was refused %s", user_id, role, what)
    elif math.log10(count).is_integer():
        log.warning("user %s (%s) was refused %s %d times this hour", user_id, role, what, count)
    return NOT_ALLOWED.format(role=needed) if count <= REFUSALS_ANSWERED else ""


def join_link(bot_username: str, code: str) -> str:
    return f"https://t.me/{bot_username}?start={JOIN_PREFIX}{code}"


class StaffDesk:
    """The logic behind /grant, /revoke, /cohort and /join; returns the text to send."""

    def __init__(
        self,
        staff: StaffStore,
        bot_username: str,
        *,
        bot_id: int = 0,
        clock: Callable[[], datetime] = utc_now,
    ) -> None:
        self.staff = staff
        self.bot_username = bot_username
        self.bot_id = bot_id
        self.clock = clock

    async def _allowed(self, caller: Caller, needed: Role, command: str) -> str | None:
        return await refusal(self.staff, caller.user_id, needed, command)

    async def _target(self, caller: Caller, word: str | None) -> int | str:
        """The user meant (an id, an @username or the reply), or why it can't be told."""
        if word is None:
            if caller.replied_to is None:
                return caller.reply_problem or "I can't tell who you mean. " + GRANT_HELP
            return caller.replied_to
        number = parse_id(word)
        if number is not None:
            return number
        if not word.startswith("@"):
            return "I can't tell who you mean. " + GRANT_HELP
        return await self._named(word)

    async def _named(self, word: str) -> int | str:
        """The one current holder of an @username, or why the name can't be trusted."""
        found = await self.staff.users_named(word)
        if not found:
            return f"Nobody called {word} has used the bot. " + USE_ID
        if len(found) > 1:
            return f"More than one account has been called {word}. " + USE_ID
        user = found[0]
        if self.clock() - user.last_seen > STALE_USERNAME:
            return (
                f"{word} was last seen here on {user.last_seen:%d %b %Y}; usernames change hands,"
                f" so it may be someone else now. " + USE_ID
            )
        return user.user_id

    def _role_target(self, caller: Caller, target: int | str) -> int | str:
        """Roles never go to or come from the bot itself or the admin giving them."""
        if isinstance(target, str):
            return target
        if target == caller.user_id:
            return "You can't change your own role; another admin can."
        if target == self.bot_id:
            return "That is me, the bot: I can't be given a role. " + USE_ID
        return target

    # --- roles ----------------------------------------------------------------------------------

    async def grant(self, caller: Caller, args: list[str]) -> str:
        refusal = await self._allowed(caller, "admin", "/grant")
        if refusal is not None:
            return refusal
        if not args or args[0] not in {"tutor", "admin"} or len(args) > 2:
            return GRANT_HELP
        role: Literal["tutor", "admin"] = "tutor" if args[0] == "tutor" else "admin"
        target = self._role_target(
            caller, await self._target(caller, args[1] if len(args) == 2 else None)
        )
        if isinstance(target, str):
            return target
        await self.staff.grant(target, role, by=caller.user_id)
        return f"Done: {target} is now a {role}. They see the {role} commands in their menu."

    async def revoke(self, caller: Caller, args: list[str]) -> str:
        refusal = await self._allowed(caller, "admin", "/revoke")
        if refusal is not None:
            return refusal
        if len(args) > 1:
            return "I can't tell who you mean. " + GRANT_HELP
        target = self._role_target(caller, await self._target(caller, args[0] if args else None))
        if isinstance(target, str):
            return target
        if await self.staff.role_of(target) == "learner":
            return f"{target} has no tutor or admin role."
        await self.staff.revoke(target)
        if await self.staff.role_of(target) == "admin":
            return f"{target} is an admin through ADMIN_IDS in the settings; change it there."
        return f"Done: {target} is a learner again."

    # --- cohorts --------------------------------------------------------------------------------

    async def cohort(self, caller: Caller, args: list[str]) -> str:
        refusal = await self._allowed(caller, "tutor", "/cohort")
        if refusal is not None:
            return refusal
        if not args:
            return COHORT_HELP
        action, rest = args[0].lower(), args[1:]
        if action == "new" and rest:
            return await self._new(caller, " ".join(rest))
        if action == "list" and not rest:
            return await self._list(caller)
        if action in {"members", "code", "remove"} and rest:
            # The last word of /cohort remove is the learner; the name may have spaces.
            name_words = rest[:-1] if action == "remove" else rest
            if not name_words:
                return COHORT_HELP
            name = " ".join(name_words)
            cohort = await self._visible_cohort(caller, name)
            if cohort is None:
                return f"No cohort “{name}” that you can manage. /cohort list shows yours."
            if action == "members":
                return await self._members(cohort)
            if action == "code":
                code = await self.staff.rotate_code(cohort)
                return f"New join link for {cohort.name}: {join_link(self.bot_username, code)}"
            return await self._remove(caller, cohort, rest[-1])
        return COHORT_HELP

    async def _new(self, caller: Caller, name: str) -> str:
        if not NAME_RE.match(name):
            return "A cohort name is 1-40 letters, digits, spaces or simple punctuation."
        try:
            cohort = await self.staff.create_cohort(caller.user_id, name)
        except CohortNameTakenError:
            return f"You already have a cohort called “{name}”."
        return (
            f"Cohort “{cohort.name}” created. Learners join with this link:\n"
            f"{join_link(self.bot_username, cohort.join_code)}\n"
            f"or by sending /join {cohort.join_code}"
        )

    async def _list(self, caller: Caller) -> str:
        admin = await self.staff.role_of(caller.user_id) == "admin"
        cohorts = await self.staff.visible_cohorts(caller.user_id)
        if not cohorts:
            return "No cohorts yet. Create one with /cohort new NAME."
        lines = ["Cohorts:"]
        for cohort in cohorts:
            count = len(await self.staff.members(cohort))
            owner = f", tutor {cohort.owner_id}" if admin else ""
            lines.append(f"• {cohort.name} – {count} learner(s), code {cohort.join_code}{owner}")
        return "\n".join(lines)

    async def _members(self, cohort: Cohort) -> str:
        members = await self.staff.members(cohort)
        if not members:
            return f"Nobody has joined {cohort.name} yet."
        lines = [f"{cohort.name}: {len(members)} learner(s)"]
        for member in members:
            handle = f" @{member.username}" if member.username else ""
            name = member.display_name or "(no name)"
            lines.append(
                f"• {name}{handle} – id {member.learner_id}, joined {member.joined_at[:10]}"
            )
        return "\n".join(lines)

    async def _remove(self, caller: Caller, cohort: Cohort, who: str) -> str:
        learner = await self._target(caller, who)
        if isinstance(learner, str) and who.startswith("@"):
            return learner
        if isinstance(learner, str) or not await self.staff.remove_member(cohort, learner):
            return f"{who} is not in {cohort.name}."
        return f"Removed {who} from {cohort.name}."

    async def _visible_cohort(self, caller: Caller, name_or_code: str) -> Cohort | None:
        """A cohort the caller may manage: their own, or any for an admin (by name or code)."""
        return find_cohort(await self.staff.visible_cohorts(caller.user_id), name_or_code)

    # --- learners -------------------------------------------------------------------------------

    async def join(self, learner: LearnerProfile, code: str) -> str:
        """A learner joins by code (from /join CODE or the /start join_CODE link)."""
        cohort = await self.staff.cohort_by_code(code) if code else None
        if cohort is None:
            return "That join code doesn't match any cohort. Check it with your tutor."
        if not await self.staff.join(cohort, learner):
            return f"You're already in {cohort.name}."
        return f"🎉 You've joined {cohort.name}. Your tutor can now send you quizzes."
