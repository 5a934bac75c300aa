"""Dispatch and calls per action: the full bot against a bare PTB bot, on the same updates.

Both bots run on the same counting fake of the Bot API (instant HTTP, no rate limit), so what
is timed is each bot's own work per update: PTB's dispatch for the bare bot; for ours, the
handlers, the engine (marking included), the SQLite commit and rendering as well.
"""

from __future__ import annotations

import asyncio
import cProfile
import tempfile
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from telegram import Update
from telegram.ext import (
    AIORateLimiter,
    Application,
    ApplicationBuilder,
    BaseRateLimiter,
    CallbackQueryHandler,
    ContextTypes,
    MessageHandler,
    PollAnswerHandler,
    filters,
)

from bench.workload import KINDS, CountingRequest, Script, act, acting, coach_app, rebuild
from bot.app import SEND_RETRIES
from bot.telegram.pacing import PacedRateLimiter
from flows.io import Reply
from tests.bot.fakes import TOKEN

AnyApp = Application[Any, Any, Any, Any, Any, Any]


@dataclass
class Run:
    """One replay of the scripts through one bot."""

    updates: int
    seconds: float
    cpu_seconds: float
    """The process's CPU time over the updates (every thread's: SQLite's too), which other
    programs on the machine disturb less than the wall-clock time."""
    fake: CountingRequest
    transactions: int
    """Transactions the coach's database writer committed over the updates (0 for the bare
    bot): one learner after another each write is its own, at once they share them."""
    engine_replies: Counter[str]
    """Per kind of action, the calls the engine's replies would take one by one (ours only)."""

    @property
    def per_s(self) -> float:
        return self.updates / self.seconds


async def _bare_text(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    assert update.effective_chat is not None
    await context.bot.send_message(update.effective_chat.id, "ok")


async def _bare_button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    query = update.callback_query
    assert query is not None
    assert query.message is not None
    await context.bot.answer_callback_query(query.id)
    await context.bot.edit_message_text("ok", query.message.chat.id, query.message.message_id)


async def _bare_vote(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    assert update.poll_answer is not None
    assert update.poll_answer.user is not None
    await context.bot.send_message(update.poll_answer.user.id, "ok")


def bare_app(fake: CountingRequest, *, limited: bool = False) -> AnyApp:
    """The bare PTB bot: "ok" to every text, an answered and edited button, "ok" to a vote;
    our rate limiter when `limited` (else, as ours in the bench, PTB's AIORateLimiter with its
    rates at 0)."""
    limiter: BaseRateLimiter[int] = (
        PacedRateLimiter(max_retries=SEND_RETRIES)
        if limited
        else AIORateLimiter(overall_max_rate=0, group_max_rate=0, max_retries=SEND_RETRIES)
    )
    app: AnyApp = (
        ApplicationBuilder()
        .token(TOKEN)
        .request(fake)
        .get_updates_request(fake)
        .concurrent_updates(True)  # PTB's own switch
        .rate_limiter(limiter)
        .build()
    )
    app.add_handlers(
        [
            MessageHandler(filters.TEXT, _bare_text),
            CallbackQueryHandler(_bare_button),
            PollAnswerHandler(_bare_vote),
        ]
    )
    return app


async def replay(
    scripts: list[Script],
    *,
    bare: bool,
    concurrent: bool,
    database: Path | None = None,
    database_url: str | None = None,
    profiler: cProfile.Profile | None = None,
) -> Run:
    """Replay every learner's script into a fresh bot: one learner after another, or all of
    them at once (each learner's own updates in order). The coach uses `database` (a new
    SQLite file unless given), or `database_url` (PostgreSQL) if given. A `profiler` runs while
    the updates are processed (not during the bot's start, which loads the content)."""
    fake = CountingRequest(record=False)
    with tempfile.TemporaryDirectory() as folder:
        path = database or Path(folder) / "bench.db"
        app: AnyApp = bare_app(fake) if bare else coach_app(path, fake, database_url)
        async with app:
            if not bare:
                await app.post_init(app)  # type: ignore[misc]  # set at build
            await app.start()
            replies = _count_replies(app)
            own = rebuild(scripts, app.bot)

            async def learner(script: Script) -> None:
                for action in script.actions:
                    await act(app, action)

            committed_before = _commits_written(app)
            if profiler is not None:
                profiler.enable()
            start = time.perf_counter()
            cpu_start = time.process_time()
            if concurrent:
                await asyncio.gather(*(learner(script) for script in own))
            else:
                for script in own:
                    await learner(script)
            seconds = time.perf_counter() - start
            cpu_seconds = time.process_time() - cpu_start
            if profiler is not None:
                profiler.disable()
            transactions = _commits_written(app) - committed_before
            await app.stop()
            if not bare:
                await app.post_shutdown(app)  # type: ignore[misc]
    updates = sum(len(script.actions) for script in scripts)
    return Run(updates, seconds, cpu_seconds, fake, transactions, replies)


def _commits_written(app: AnyApp) -> int:
    """The coach's database writer's transactions so far (0 for the bare bot)."""
    coach = getattr(app.bot_data, "coach", None)
    database = getattr(getattr(coach, "store", None), "database", None)
    return int(getattr(database, "commits_written", 0))


def _count_replies(app: AnyApp) -> Counter[str]:
    """Counts the calls the engine's replies would take one by one (a poll with a header is a
    message and a poll), by wrapping the coach of this bench's own application."""
    counted: Counter[str] = Counter()
    coach = getattr(app.bot_data, "coach", None)
    if coach is None:
        return counted
    handle = coach.handle

    async def counting(*args: Any) -> list[Reply]:
        replies: list[Reply] = await handle(*args)
        kind = acting()
        if kind is not None:
            counted[kind] += sum(1 + (r.kind == "poll" and bool(r.text)) for r in replies)
        return replies

    coach.handle = counting
    return counted


def one_by_one(run: Run, kind: str | None) -> int:
    """The calls the actions of `kind` (None: all) would take with a message per reply: the
    baseline for merging them."""
    kinds = KINDS if kind is None else (kind,)
    answers = sum(run.fake.methods[f"{k}: answerCallbackQuery"] for k in kinds)
    return answers + sum(run.engine_replies[k] for k in kinds)


def calls_per_action(run: Run, mix: Counter[str]) -> dict[str, Any]:
    """Bot API calls per learner action: mixed, per kind, and the part the limiter counts."""
    actions = sum(mix.values())
    fake = run.fake
    return {
        "mixed": sum(fake.by_kind.values()) / actions,
        "mixed_budget": sum(fake.budget_by_kind.values()) / actions,
        "by_kind": {kind: fake.by_kind[kind] / mix[kind] for kind in KINDS if mix[kind]},
        "budget_by_kind": {
            kind: fake.budget_by_kind[kind] / mix[kind] for kind in KINDS if mix[kind]
        },
        "one_call_per_reply": one_by_one(run, None) / actions,
        "one_call_per_reply_by_kind": {
            kind: one_by_one(run, kind) / mix[kind] for kind in KINDS if mix[kind]
        },
        "actions": dict(mix),
        "methods": dict(sorted(fake.methods.items())),
    }
