"""A tutor's push over real HTTP against Telegram's limit.

The bot talks to the Bot API emulator (tests/bot/emulator.py) on 127.0.0.1 through PTB's own
HTTP client; the emulator answers 429 (retry after 1 s) to any send beyond 30 in the last second,
a strict sliding window, and records every answer with its time. Three runs:

- in process: one push to N learners, timed from the push's start to its last learner's message;
  the same with PTB's default AIORateLimiter for comparison; and a short push while a few
  learners keep writing to the bot, timing each reply (and the same replies with no push);
- resumed: `coach run` pushing to N learners is killed with SIGKILL halfway and started again,
  which finishes the push.

Lost: a learner with no copy of the quiz; duplicates: copies beyond the first.
"""

from __future__ import annotations

import asyncio
import signal
import statistics
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from telegram.ext import AIORateLimiter

from bench.report import Figure, Report
from bot.app import SEND_RETRIES, build_application
from bot.settings import Settings
from bot.telegram.context import CoachApplication
from bot.telegram.delivery import PushDelivery
from flows.render import SENT_AGAIN
from storage.sqlite import SqliteProgressStore
from storage.staff import Cohort, SqliteStaffStore
from tests.bot.coach_process import start_coach
from tests.bot.emulator import TOKEN, BotApiEmulator, Call

PER_SECOND = 30  # the emulator's strict window: Telegram's ~30 messages a second
# Its first question goes out as one native quiz poll, with the push's header folded in: one
# message a learner (a quiz whose header doesn't fit the poll costs two, a second apart).
QUIZ = "mixed-review"
TUTOR = 4_100
FIRST_LEARNER = 800_001
REPLIERS = tuple(range(700_001, 700_005))  # learners writing to the bot during a push
REPLY_PAUSE_S = 2.0  # between one replier's messages: ~2 of the 30 a second, leaving the push most
REPLY_TEXT = "/help"
STARTUP_S = 60.0
SHUTDOWN_S = 20.0


@dataclass
class PushRun:
    """What the emulator saw of one push."""

    learners: int
    seconds: float
    copies: Counter[int]
    """learner -> copies of the quiz (sendPoll answered 200) they received"""
    messages: int
    """sends to the push's learners answered 200 (the quiz and any text with it)"""
    refused: int
    """sends answered 429, the bot's and the learners' replies alike"""
    reply_latencies: list[float] = field(default_factory=list)
    restart_s: float = 0.0
    """resumed run: from the kill to the restarted bot's first send"""
    resent: int = 0
    """resumed run: copies sent again with the note, after the kill"""

    @property
    def msgs_per_s(self) -> float:
        return self.messages / self.seconds

    @property
    def lost(self) -> int:
        return sum(1 for n in range(self.learners) if self.copies[FIRST_LEARNER + n] == 0)

    @property
    def duplicates(self) -> int:
        return sum(count - 1 for count in self.copies.values() if count > 1)

    @property
    def reply_p99_ms(self) -> float:
        return statistics.quantiles(self.reply_latencies, n=100, method="inclusive")[98] * 1000

    def details(self) -> dict[str, float | int]:
        shown: dict[str, float | int] = {
            "learners": self.learners,
            "seconds": round(self.seconds, 2),
            "messages": self.messages,
            "msgs_per_s": round(self.msgs_per_s, 2),
            "lost": self.lost,
            "duplicates": self.duplicates,
            "429s": self.refused,
        }
        if self.reply_latencies:
            shown |= {
                "replies": len(self.reply_latencies),
                "reply_p50_ms": round(statistics.median(self.reply_latencies) * 1000, 1),
                "reply_p99_ms": round(self.reply_p99_ms, 1),
                "reply_max_ms": round(max(self.reply_latencies) * 1000, 1),
            }
        if self.restart_s:
            shown |= {"restart_s": round(self.restart_s, 2), "resent_with_note": self.resent}
        return shown


def learners(count: int) -> range:
    return range(FIRST_LEARNER, FIRST_LEARNER + count)


def is_learner_send(call: Call, count: int) -> bool:
    return call.method.startswith("send") and FIRST_LEARNER <= (call.chat_id or 0) < (
        FIRST_LEARNER + count
    )


def tally(calls: Iterable[Call], count: int) -> tuple[Counter[int], int, int]:
    """Copies of the quiz per learner, messages to learners, 429s."""
    copies: Counter[int] = Counter()
    messages = refused = 0
    for call in calls:
        refused += call.status == 429
        if call.status == 200 and is_learner_send(call, count):
            messages += 1
            if call.method == "sendPoll":
                copies[call.chat_id or 0] += 1
    return copies, messages, refused


async def seed_cohort(store: SqliteProgressStore, count: int) -> Cohort:
    """The tutor, and a cohort of `count` learners (joined as /join would, many at a time)."""
    staff = SqliteStaffStore(store.database)
    await staff.grant(TUTOR, "tutor", by=0)
    cohort = await staff.create_cohort(TUTOR, "Bench push")
    ids = list(learners(count))
    for start in range(0, count, 500):
        await asyncio.gather(*(staff.join(cohort, i) for i in ids[start : start + 500]))
    return cohort


def settings(emu: BotApiEmulator, database: Path) -> Settings:
    return Settings(
        telegram_bot_token=TOKEN,  # type: ignore[arg-type]
        telegram_api_base_url=emu.base_url,
        database_url=f"sqlite:///{database}",
        _env_file=None,
    )


# --- in process ---------------------------------------------------------------------------------


async def push_in_process(
    count: int,
    *,
    rate_limiter: AIORateLimiter | None = None,
    repliers: tuple[int, ...] = (),
    push: bool = True,
) -> PushRun:
    """Push to `count` learners with the bot's own limiter (or `rate_limiter`); `repliers`
    write to the bot meanwhile (with `push=False`, for as long as a push would take)."""
    with tempfile.TemporaryDirectory() as folder:
        async with BotApiEmulator() as emu:
            emu.rate_limit_per_second = PER_SECOND
            app = build_application(
                settings(emu, Path(folder) / "push.db"), rate_limiter=rate_limiter
            )
            async with app:
                await app.post_init(app)  # type: ignore[misc]  # set at build
                await app.start()
                assert app.updater is not None
                await app.updater.start_polling(poll_interval=0, timeout=1)
                try:
                    return await _push(app, emu, count, repliers, push=push)
                finally:
                    await app.updater.stop()
                    await app.stop()
                    await app.post_shutdown(app)  # type: ignore[misc]


async def _push(
    app: CoachApplication,
    emu: BotApiEmulator,
    count: int,
    repliers: tuple[int, ...],
    *,
    push: bool,
) -> PushRun:
    desk = app.bot_data.push_desk
    assert desk is not None
    delivery = desk.scheduler
    assert isinstance(delivery, PushDelivery)
    coach = app.bot_data.coach
    assert coach is not None
    assert isinstance(coach.store, SqliteProgressStore)
    cohort = await seed_cohort(coach.store, count)
    for learner in learners(count):
        emu.user_has_started(learner)
    # One push: a push per learner here once sent the quiz to the cohort hundreds of times
    # over (the sweep took the others), and the bench waited for all of them.
    created = await delivery.pushes.create(TUTOR, cohort.id, QUIZ, datetime.now(UTC))
    since = len(emu.calls)
    start = time.monotonic()
    if push:
        sending = asyncio.create_task(delivery.send(created.id))
    else:  # the replies alone, for as long as the push would take
        sending = asyncio.create_task(asyncio.sleep(count / PER_SECOND))
    latencies = await asyncio.gather(*(_keep_writing(emu, r, sending) for r in repliers))
    await sending
    calls = emu.calls[since:]
    copies, messages, refused = tally(calls, count)
    last = max((c.at for c in calls if is_learner_send(c, count)), default=time.monotonic())
    return PushRun(
        learners=count,
        seconds=last - start,
        copies=copies,
        messages=messages,
        refused=refused,
        reply_latencies=[seconds for one in latencies for seconds in one],
    )


async def _keep_writing(
    emu: BotApiEmulator, learner: int, until: asyncio.Task[None]
) -> list[float]:
    """A learner writing to the bot every couple of seconds until `until` is done: the time
    from each message to the bot's first answer in the chat."""
    latencies = []

    def answered(call: Call) -> bool:
        return call.chat_id == learner and call.status == 200

    await asyncio.sleep(REPLY_PAUSE_S * (learner % len(REPLIERS)) / len(REPLIERS))  # staggered
    while not until.done():
        since = len(emu.calls)
        start = time.monotonic()
        emu.user_sends_text(learner, REPLY_TEXT)
        answer = await emu.wait_for(answered, timeout=60, since=since)
        latencies.append(answer.at - start)
        await asyncio.sleep(REPLY_PAUSE_S)
    return latencies


def default_limiter() -> AIORateLimiter:
    """PTB's AIORateLimiter as documented: 30 a second overall, 20 a minute in a group."""
    return AIORateLimiter(max_retries=SEND_RETRIES)


# --- resumed after SIGKILL ----------------------------------------------------------------------


async def push_resumed(count: int) -> PushRun:
    """`coach run` pushes to `count` learners, is killed with SIGKILL once half have the quiz,
    and is started again; the second run finishes the push."""
    with tempfile.TemporaryDirectory() as folder:
        tmp = Path(folder)
        async with SqliteProgressStore.open(tmp / "e2e.db") as store:
            cohort = await seed_cohort(store, count)
        async with BotApiEmulator() as emu:
            emu.rate_limit_per_second = PER_SECOND

            def delivered(call: Call) -> bool:
                return is_learner_send(call, count)

            for learner in learners(count):
                emu.user_has_started(learner)
            with (tmp / "bot.log").open("wb") as bot_log:
                first = await start_coach(emu, tmp, bot_log)
                try:
                    await emu.wait_until_polling(STARTUP_S)
                    since = len(emu.calls)
                    start = time.monotonic()
                    emu.user_sends_text(TUTOR, f"/push {QUIZ} {cohort.join_code}")
                    await _until_seen(emu, since, delivered, count // 2)
                    first.send_signal(signal.SIGKILL)  # no shutdown, nothing flushed
                    await first.wait()
                    killed_at = time.monotonic()
                    after_kill = len(emu.calls)
                finally:
                    if first.returncode is None:
                        first.kill()
                        await first.wait()
                second = await start_coach(emu, tmp, bot_log)
                try:
                    done = f"Push #1 sent: delivered to {count} of"
                    await asyncio.wait_for(
                        _until_seen(
                            emu, after_kill, lambda c: c.chat_id == TUTOR and done in c.text
                        ),
                        count / 10 + STARTUP_S,
                    )
                    second.send_signal(signal.SIGTERM)
                    await asyncio.wait_for(second.wait(), SHUTDOWN_S)
                finally:
                    if second.returncode is None:
                        second.kill()
                        await second.wait()
    calls = emu.calls[since:]
    copies, messages, refused = tally(calls, count)
    resumed = [c for c in emu.calls[after_kill:] if is_learner_send(c, count)]
    last = max(c.at for c in calls if is_learner_send(c, count))
    return PushRun(
        learners=count,
        seconds=last - start,
        copies=copies,
        messages=messages,
        refused=refused,
        restart_s=resumed[0].at - killed_at if resumed else 0.0,
        resent=sum(1 for c in resumed if c.status == 200 and SENT_AGAIN in c.text),
    )


async def _until_seen(
    emu: BotApiEmulator, since: int, matches: Callable[[Call], bool], enough: int = 1
) -> None:
    """Until `enough` calls since index `since` match (each call looked at once: the
    emulator's wait_for looks at them all again on every call, too slow for 10,000)."""
    seen, found = since, 0
    while found < enough:
        await asyncio.sleep(0.05)
        new = emu.calls[seen:]
        seen += len(new)
        found += sum(1 for c in new if c.status == 200 and matches(c))


# --- the figures --------------------------------------------------------------------------------

SHORT_PUSH = 300  # learners in the comparison pushes (PTB's default limiter, replies meanwhile)


def push_figures(report: Report, count: int) -> None:
    """Figure 5 of issue 14: push rate, lost and duplicated copies, 429s, replies meanwhile,
    and the push resumed after SIGKILL."""
    paced = asyncio.run(push_in_process(count))
    default = asyncio.run(push_in_process(SHORT_PUSH, rate_limiter=default_limiter()))
    during = asyncio.run(push_in_process(SHORT_PUSH, repliers=REPLIERS))
    quiet = asyncio.run(push_in_process(SHORT_PUSH, repliers=REPLIERS, push=False))
    resumed = asyncio.run(push_resumed(count))
    limit = f"Telegram's limit, {PER_SECOND} a second"
    report.add(
        Figure(f"push_msgs_per_s[{count}]", paced.msgs_per_s, "msg/s", PER_SECOND, limit, "≥ 28.5")
    )
    report.add(
        Figure(
            "push_429s",
            paced.refused,
            "",
            default.refused,
            f"PTB's default AIORateLimiter, {SHORT_PUSH} learners",
            "0",
        )
    )
    report.add(Figure("push_lost", paced.lost, "", count, "learners pushed to", "0"))
    report.add(Figure("push_duplicates", paced.duplicates, "", count, "learners pushed to", "0"))
    report.add(
        Figure(
            "push_reply_p99_ms",
            during.reply_p99_ms,
            "ms",
            quiet.reply_p99_ms,
            "the same replies with no push",
        )
    )
    report.add(
        Figure(
            f"push_resumed_msgs_per_s[{count}]",
            resumed.msgs_per_s,
            "msg/s",
            PER_SECOND,
            f"{limit}; SIGKILLed halfway, restart included",
        )
    )
    report.add(Figure("push_resumed_lost", resumed.lost, "", count, "learners pushed to", "0"))
    report.add(
        Figure("push_resumed_duplicates", resumed.duplicates, "", count, "learners pushed to")
    )
    report.details["push_rate"] = {
        "paced": paced.details(),
        "ptb_default_limiter": default.details(),
        "replies_during_push": during.details(),
        "replies_without_push": quiet.details(),
        "resumed_after_sigkill": resumed.details(),
    }
