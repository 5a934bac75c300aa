"""Daily reminders: a JobQueue job each minute sends the reminders whose time has come.

Each is claimed first (its next time moved to the next day, committed), then sent: a crash or
a second worker never sends one twice, and a restart never sends the same day's again. One
found more than `DROP_AFTER` late (the bot was down) is dropped, not sent in a burst. A learner
who blocked the bot is recorded and never reminded again. Sends go through the bot's rate
limiter (about 30 a second overall) with at most `PARALLEL_CHATS` chats in flight.
"""

from __future__ import annotations

import asyncio
import logging
from collections import Counter
from collections.abc import Callable
from datetime import datetime
from typing import Literal
from zoneinfo import ZoneInfo

from telegram.error import Forbidden, TelegramError

from bot.telegram.context import CoachApplication, CoachContext
from bot.telegram.delivery import PARALLEL_CHATS
from bot.telegram.pacing import bulk_sends
from bot.telegram.render import send_replies
from tutoring.reminders import next_reminder, too_late
from tutoring.revision import LearnerSettings, RevisionStore, zone_named

log = logging.getLogger(__name__)

JOB_NAME = "reminders"
TICK_SECONDS = 60
BATCH = 1000
"""Reminders read per query; the loop goes on until none is due."""
Fate = Literal["sent", "dropped", "nothing", "blocked", "failed", "taken"]


class ReminderSender:
    """Finds the reminders due, claims and sends them; armed on the JobQueue at start."""

    def __init__(
        self,
        application: CoachApplication,
        store: RevisionStore,
        *,
        zone: ZoneInfo,
        clock: Callable[[], datetime],
        parallel_chats: int = PARALLEL_CHATS,
    ) -> None:
        self.application = application
        self.store = store
        self.zone = zone
        self.clock = clock
        self.parallel_chats = parallel_chats

    def arm(self) -> None:
        """Check for due reminders every minute while the bot runs."""
        job_queue = self.application.job_queue
        assert job_queue is not None, "python-telegram-bot[job-queue] is a dependency"
        job_queue.run_repeating(self._tick, interval=TICK_SECONDS, first=1, name=JOB_NAME)

    def disarm(self) -> None:
        """Stop checking (leadership lost: another worker sends reminders now)."""
        job_queue = self.application.job_queue
        assert job_queue is not None
        for job in job_queue.get_jobs_by_name(JOB_NAME):
            job.schedule_removal()

    async def _tick(self, context: CoachContext) -> None:
        del context
        fates = await self.send_due()
        if fates:
            log.info("reminders: %s", dict(fates))

    async def send_due(self) -> Counter[Fate]:
        """Send every reminder due now; returns how each went."""
        now = self.clock()
        gate = asyncio.Semaphore(self.parallel_chats)
        fates: Counter[Fate] = Counter()

        async def one(settings: LearnerSettings) -> Fate:
            # A wave of reminders goes after learners' replies, as a push's sends do.
            async with gate:
                with bulk_sends():
                    return await self._one(settings, now)

        while due := await self.store.due_reminders(now, BATCH):
            fates.update(await asyncio.gather(*(one(s) for s in due)))
            if all(f == "taken" for f in fates):
                break  # another worker is sending these
        return fates

    async def _one(self, settings: LearnerSettings, now: datetime) -> Fate:
        assert settings.next_reminder_at is not None
        following = None
        if settings.remind_at is not None:
            zone = zone_named(settings.timezone, self.zone)
            following = next_reminder(now, settings.remind_at, zone, settings.quiet_days)
        learner_id = settings.learner_id
        if not await self.store.claim_reminder(learner_id, settings.next_reminder_at, following):
            return "taken"
        if too_late(settings.next_reminder_at, now):
            return "dropped"
        services = self.application.bot_data
        assert services.coach is not None
        assert services.polls is not None
        reply = await services.coach.reminder(learner_id)
        if reply is None:
            return "nothing"  # nothing due, nothing paused: no message at all
        try:
            await send_replies(
                self.application.bot, learner_id, learner_id, [reply], polls=services.polls
            )
        except Forbidden as error:
            log.info("reminder to %s refused (%s): reminders stopped", learner_id, error)
            await self.store.block_reminders(learner_id, now)
            return "blocked"
        except TelegramError as error:
            log.info("reminder to %s not sent: %s", learner_id, error)
            return "failed"
        return "sent"
