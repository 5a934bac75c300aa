"""Typed access to the bot's long-lived services from handlers (PTB's custom ContextTypes)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, Protocol

from telegram.ext import Application, CallbackContext, ExtBot

from bot.content import Content
from bot.settings import Settings
from bot.telegram.health import HealthCheck
from bot.telegram.inbox_port import Inbox
from bot.telegram.leading import HeldLock
from flows.engine import Coach, utc_now
from knowledge.loader import KnowledgeBase
from tutoring.pushing import PushDesk
from tutoring.question_stats import QuestionDesk
from tutoring.reporting import ReportDesk
from tutoring.review import ReviewDesk
from tutoring.staff import StaffDesk


class PollRegistry(Protocol):
    """Where the bot remembers which learner got which quiz poll (poll answers carry no chat)."""

    async def remember_poll(self, poll_id: str, learner_id: int, question_id: str) -> None: ...

    async def poll_recipient(self, poll_id: str) -> tuple[int, str] | None: ...


class ReminderSenderLike(Protocol):
    """What the bot keeps of its reminder sender (defined in bot/telegram/reminding.py, which
    imports this module)."""

    def arm(self) -> None: ...

    def disarm(self) -> None: ...


class LeadershipLike(Protocol):
    """What the bot keeps of its leadership (bot/telegram/leading.py)."""

    @property
    def leading(self) -> bool: ...

    async def stop(self) -> None: ...


@dataclass
class BotServices:
    """Set up in post_init, closed in post_shutdown; PTB creates it empty as bot_data."""

    settings: Settings | None = None
    scenario_dir: Path | None = None
    content: Content | None = None
    """Content loaded before the build (`coach run` validates it first); else post_init's."""
    kb: KnowledgeBase | None = None
    coach: Coach | None = None
    polls: PollRegistry | None = None
    desk: StaffDesk | None = None
    reports: ReportDesk | None = None
    push_desk: PushDesk | None = None
    review_desk: ReviewDesk | None = None
    question_desk: QuestionDesk | None = None
    inbox: Inbox | None = None
    """The durable inbox and outbox (bot/telegram/inbox.py)."""
    reminders: ReminderSenderLike | None = None
    """Daily reminders (bot/telegram/reminding.py), armed in post_init."""
    clock: Callable[[], datetime] = utc_now
    """The time the bot goes by (tests set it to check schedules)."""
    health: HealthCheck | None = None
    leadership: LeadershipLike | None = None
    """Whether this worker sends pushes and reminders (bot/telegram/leading.py)."""
    polling_lock: HeldLock | None = None
    """Held while long polling: one polling process per bot (bot/app.py)."""
    polling: bool = False
    """`coach run` without a webhook: post_init takes the polling lock."""
    """Whether the database answers and is current (GET /healthz on the webhook server)."""


class CoachContext(CallbackContext[ExtBot[int], dict[Any, Any], dict[Any, Any], BotServices]):
    """The callback context every handler receives (one per update, shared by its groups)."""

    handled_by_commit: bool = False
    """The update's learner input was committed with its inbox row marked handled in the
    same transaction (bot/telegram/learner.py): `mark_handled` has nothing left to write."""

    @property
    def coach(self) -> Coach:
        coach = self.bot_data.coach
        assert coach is not None, "the coach is set up in post_init"
        return coach

    @property
    def polls(self) -> PollRegistry:
        polls = self.bot_data.polls
        assert polls is not None, "the poll registry is set up in post_init"
        return polls


CoachApplication = Application[
    ExtBot[int], CoachContext, dict[Any, Any], dict[Any, Any], BotServices, Any
]
