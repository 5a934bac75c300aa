"""Sending tutors' pushes: timed by PTB's JobQueue, re-armed at start, at most once per learner.

For each learner: claim the delivery (committed), start the quiz through the coach (committed),
send it, then record `sent` with the message and poll ids, or `failed` with the reason. A crash
between the claim and the record leaves `sending`, which the next start sends again with a note
("sent again in case you missed it"): nobody is left without the quiz, and only a send in flight
at the crash can arrive twice. The copy asks the question the learner is on, so an answer to
either copy counts once.

A push that reaches a learner still in another push's quiz replaces it for them (one question
waits at a time); the earlier push's tutor is told how many learners that was.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from telegram.error import Forbidden, TelegramError

from bot.telegram.context import CoachApplication, CoachContext
from bot.telegram.pacing import bulk_sends
from bot.telegram.render import send_replies
from flows.io import Input
from flows.ports import LearnerProfile
from tutoring.ports import Push, PushStore, StaffStore
from tutoring.pushing import LATE_AFTER

log = logging.getLogger(__name__)

# Telegram asks for about one message per second in one chat; the rate limiter keeps the
# overall rate (29 a second, evenly spaced, a push's sends behind learners' replies). With a
# second between a chat's messages, 30 chats side by side are what it takes to use that overall
# rate (`make bench` shows a push reaching it).
CHAT_GAP_SECONDS = 1.0
PARALLEL_CHATS = 30
QUIZ_GONE = "the quiz is no longer in the content"
COHORT_GONE = "the cohort no longer exists"


JOB_PREFIX = "push:"


def job_name(push_id: int) -> str:
    return f"{JOB_PREFIX}{push_id}"


def failure_reason(error: TelegramError) -> str:
    """What the tutor reads in the report for a delivery Telegram refused."""
    if isinstance(error, Forbidden):
        if "blocked" in error.message.lower():
            return "has blocked the bot"
        return f"can't be messaged ({error.message})"
    return f"Telegram refused: {error.message}"


class PushDelivery:
    """The bot's PushScheduler: arms pushes on the JobQueue and sends them when they fire."""

    def __init__(
        self,
        application: CoachApplication,
        pushes: PushStore,
        staff: StaffStore,
        *,
        zone: ZoneInfo,
        clock: Callable[[], datetime],
        chat_gap: float = CHAT_GAP_SECONDS,
        parallel_chats: int = PARALLEL_CHATS,
    ) -> None:
        self.application = application
        self.pushes = pushes
        self.staff = staff
        self.zone = zone
        self.clock = clock
        self.chat_gap = chat_gap
        self.parallel_chats = parallel_chats
        self._running: dict[int, asyncio.Task[Any] | None] = {}
        self._again: set[int] = set()
        self.leading: Callable[[], bool] = lambda: True
        """Whether this worker sends pushes (bot/telegram/leading.py); a follower arms none,
        the leader's `sweep` finds what it scheduled within seconds."""

    # --- the timer ------------------------------------------------------------------------------

    def arm(self, push: Push) -> None:
        """Send the push at its time (now, if that has passed or it is being sent)."""
        if not self.leading():
            return
        job_queue = self.application.job_queue
        assert job_queue is not None, "python-telegram-bot[job-queue] is a dependency"
        self.disarm(push.id)
        delay = 0.0
        if push.status == "scheduled":
            delay = max(0.0, (push.send_at - self.clock()).total_seconds())
        job_queue.run_once(
            self._fire,
            when=delay,
            data=push.id,
            name=job_name(push.id),
            # A push is never dropped for being late (APScheduler's default drops a job that
            # runs more than a second after its time, e.g. while the bot is starting).
            job_kwargs={"misfire_grace_time": None},
        )

    def disarm(self, push_id: int) -> None:
        job_queue = self.application.job_queue
        assert job_queue is not None
        for job in job_queue.get_jobs_by_name(job_name(push_id)):
            job.schedule_removal()

    async def rearm(self) -> int:
        """At start: arm every push not yet sent. Deliveries a crash left unconfirmed are
        sent again (with a note); the rest of that push is sent now."""
        unfinished = await self.pushes.unfinished()
        for push in unfinished:
            if push.status == "sending":
                stuck = await self.pushes.unconfirmed_again(push.id)
                log.warning(
                    "push %s was interrupted; %d unconfirmed delivery(ies) sent again",
                    push.id,
                    stuck,
                )
            self.arm(push)
        return len(unfinished)

    async def sweep(self) -> int:
        """The leader, every few seconds: arm the unfinished pushes it has neither armed nor
        is sending (scheduled, cancelled or re-sent through another worker). How many."""
        job_queue = self.application.job_queue
        assert job_queue is not None
        armed = 0
        for push in await self.pushes.unfinished():
            if push.id in self._running or job_queue.get_jobs_by_name(job_name(push.id)):
                continue
            self.arm(push)
            armed += 1
        return armed

    def disarm_all(self) -> None:
        """Leadership lost: arm nothing more here (a send under way finishes; its deliveries
        are claimed one by one, so the new leader never sends one of them again)."""
        job_queue = self.application.job_queue
        assert job_queue is not None
        for job in job_queue.jobs():
            if job.name is not None and job.name.startswith(JOB_PREFIX):
                job.schedule_removal()

    def sending_task(self, push_id: int) -> asyncio.Task[Any] | None:
        """The task sending this push right now, if any (tests stop it to play a crash)."""
        return self._running.get(push_id)

    async def _fire(self, context: CoachContext) -> None:
        job = context.job
        assert job is not None
        assert isinstance(job.data, int)
        await self.send(job.data)

    # --- sending --------------------------------------------------------------------------------

    async def send(self, push_id: int) -> None:
        """Send a push to every learner it has not reached yet, then tell its tutor."""
        if push_id in self._running:
            # A re-send armed while this push's run is finishing (telling its tutor): that
            # run sends it next, as it reads the pending deliveries only while sending.
            self._again.add(push_id)
            return
        self._running[push_id] = asyncio.current_task()
        try:
            # Learners' replies go before the push's sends (bot/telegram/pacing.py).
            with bulk_sends():
                await self._send(push_id)
                while push_id in self._again:
                    self._again.discard(push_id)
                    await self._send(push_id)
        finally:
            del self._running[push_id]
            self._again.discard(push_id)

    async def _send(self, push_id: int) -> None:
        push = await self.pushes.get(push_id)
        if push is None or push.status not in {"scheduled", "sending"}:
            return
        if not await self._still_allowed(push):
            return
        if push.status == "scheduled" and not await self._begin(push):
            return
        superseded = await self._send_pending(push)
        await self.pushes.finish(push.id)
        await self._tell_tutor(push.id)
        await self._tell_superseded(push, superseded)

    async def _still_allowed(self, push: Push) -> bool:
        """The tutor's right to push is checked again when the push goes out: a push of a
        tutor revoked (or no longer running the cohort) since is cancelled, and the admins
        told; the ex-tutor is told nothing."""
        role = await self.staff.role_of(push.tutor_id)
        cohort = await self.staff.cohort_by_id(push.cohort_id)
        if role == "admin" or cohort is None:  # a cohort gone is reported by _begin
            return True
        if role == "tutor" and cohort.owner_id == push.tutor_id:
            return True
        why = (
            f"{push.tutor_id} is no longer a tutor"
            if role == "learner"
            else f"{push.tutor_id} no longer runs {cohort.name}"
        )
        note = f"cancelled when due: {why}"
        if await self.pushes.withdraw(push.id, note):
            log.warning("push %s not sent: %s", push.id, why)
            await self._tell_admins(f"⚠️ Push #{push.id} to {cohort.name} was not sent: {why}.")
        return False

    async def _tell_admins(self, text: str) -> None:
        for user_id, role in await self.staff.staff():
            if role == "admin":
                with contextlib.suppress(TelegramError):
                    await self.application.bot.send_message(user_id, text)

    async def _begin(self, push: Push) -> bool:
        """Snapshot the cohort's members as the push's recipients; False if it can't go."""
        coach = self.application.bot_data.coach
        assert coach is not None
        cohort = await self.staff.cohort_by_id(push.cohort_id)
        problem = None
        if push.quiz_id not in coach.kb.quizzes:
            problem = QUIZ_GONE
        elif cohort is None:
            problem = COHORT_GONE
        if problem is not None or cohort is None:
            await self.pushes.fail(push.id, problem or COHORT_GONE)
            await self._tell_tutor(push.id)
            return False
        members = [m.learner_id for m in await self.staff.members(cohort)]
        late = self.clock() - push.send_at > LATE_AFTER
        return await self.pushes.begin(push.id, members, late=late)

    async def _send_pending(self, push: Push) -> dict[int, int]:
        """Send to every pending learner; returns, per earlier push whose quiz this one
        replaced for some learners, how many."""
        gate = asyncio.Semaphore(self.parallel_chats)
        superseded: dict[int, int] = {}

        async def one(learner_id: int) -> None:
            async with gate:
                earlier = await self._deliver(push, learner_id)
                if earlier is not None:
                    superseded[earlier] = superseded.get(earlier, 0) + 1

        # Re-read until none is left: a re-send may have reopened deliveries meanwhile.
        while pending := await self.pushes.pending(push.id):
            outcomes = await asyncio.gather(*(one(i) for i in pending), return_exceptions=True)
            for learner_id, outcome in zip(pending, outcomes, strict=True):
                if isinstance(outcome, BaseException):
                    # A bug, not Telegram: logged in full; the tutor sees the delivery failed.
                    log.error("push %s to %s failed", push.id, learner_id, exc_info=outcome)
                    await self.pushes.mark_failed(push.id, learner_id, "an error on our side")
        return superseded

    async def _deliver(self, push: Push, learner_id: int) -> int | None:
        """Send the push to one learner; the earlier push whose quiz it replaced, if any."""
        if not await self.pushes.claim(push.id, learner_id):
            return None  # another run has it
        services = self.application.bot_data
        assert services.coach is not None
        assert services.polls is not None
        session = await services.coach.store.load_session(learner_id)
        waiting = session.quiz if session is not None else None
        earlier = None
        if waiting is not None and waiting.current is not None:
            earlier = waiting.push_id if waiting.push_id != push.id else None
        profile = LearnerProfile(learner_id=learner_id)
        replies = await services.coach.handle(profile, Input.pushed(push.quiz_id, push.id))
        if not replies:
            await self.pushes.mark_failed(push.id, learner_id, QUIZ_GONE)
            return None
        try:
            messages = await send_replies(
                self.application.bot,
                learner_id,
                learner_id,
                replies,
                polls=services.polls,
                gap=self.chat_gap,
            )
        except TelegramError as error:
            log.info("push %s to %s: %s", push.id, learner_id, error)
            await self.pushes.mark_failed(push.id, learner_id, failure_reason(error))
            await services.coach.handle(profile, Input.push_undelivered(push.id))
            return None
        poll_id = next((m.poll.id for m in messages if m.poll is not None), None)
        last_id = messages[-1].message_id if messages else None
        await self.pushes.mark_sent(push.id, learner_id, last_id, poll_id)
        return earlier

    async def _tell_superseded(self, push: Push, superseded: dict[int, int]) -> None:
        """Tell the tutor of each earlier push that this one replaced it for some learners
        (e.g. two pushes due while the bot was down, sent together at start)."""
        for earlier_id, learners in sorted(superseded.items()):
            earlier = await self.pushes.get(earlier_id)
            if earlier is None:
                continue
            text = (
                f"⚠️ Push #{earlier_id}: {learners} learner(s) had not finished it when push"
                f" #{push.id} arrived, which replaced it for them. Their answers so far are"
                f" saved; /push resend {earlier_id} sends it again."
            )
            with contextlib.suppress(TelegramError):
                await self.application.bot.send_message(earlier.tutor_id, text)

    async def _tell_tutor(self, push_id: int) -> None:
        """A one-line outcome for the tutor; never fatal (they may have blocked the bot)."""
        push = await self.pushes.get(push_id)
        if push is None:
            return
        if push.status == "failed":
            text = f"⚠️ Push #{push.id} could not be sent: {push.note}."
        else:
            deliveries = await self.pushes.deliveries(push.id)
            sent = sum(1 for d in deliveries if d.status == "sent")
            failed = len(deliveries) - sent
            late = " (late: the bot was offline at the time it was due)" if push.late else ""
            text = (
                f"📣 Push #{push.id} sent{late}: delivered to {sent} of {len(deliveries)}"
                + (f", {failed} failed" if failed else "")
                + f". /push report {push.id} shows who has answered."
            )
        with contextlib.suppress(TelegramError):
            await self.application.bot.send_message(push.tutor_id, text)
