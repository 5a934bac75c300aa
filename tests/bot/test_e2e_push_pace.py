"""A push over real HTTP against the Bot API emulator enforcing Telegram's 30 messages in any
second (a strict sliding window, 429 + retry_after beyond): the bot's pace draws no 429, every
learner gets exactly one copy, and a learner writing meanwhile is answered ahead of the push."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from bot.app import build_application
from bot.settings import Settings
from bot.telegram.context import CoachApplication
from bot.telegram.delivery import PARALLEL_CHATS, PushDelivery
from storage.sqlite import SqliteProgressStore
from storage.staff import SqliteStaffStore
from tests.bot.emulator import TOKEN, BotApiEmulator

TUTOR = 4100
LEARNERS = tuple(range(91_001, 91_121))
WRITER = 92_001  # not in the cohort: writes to the bot while the push goes out
QUIZ = "mixed-review"  # its first question is a native quiz poll: one message a learner
SECONDS = 60.0


@pytest.fixture
async def emu() -> AsyncIterator[BotApiEmulator]:
    async with BotApiEmulator(token=TOKEN) as emulator:
        emulator.rate_limit_per_second = 30
        yield emulator


@pytest.fixture
async def bot(emu: BotApiEmulator, tmp_path: Path) -> AsyncIterator[CoachApplication]:
    settings = Settings(
        telegram_bot_token=TOKEN,  # type: ignore[arg-type]
        telegram_api_base_url=emu.base_url,
        database_url=f"sqlite:///{tmp_path / 'pace.db'}",
        _env_file=None,
    )
    app = build_application(settings)
    async with app:
        await app.post_init(app)  # type: ignore[misc]  # set at build
        await app.start()
        assert app.updater is not None
        await app.updater.start_polling(poll_interval=0, timeout=1)
        yield app
        await app.updater.stop()
        await app.stop()
        await app.post_shutdown(app)  # type: ignore[misc]


async def start_push(app: CoachApplication, emu: BotApiEmulator) -> asyncio.Task[None]:
    """The tutor's cohort of 120 learners, and the push to them, sending."""
    desk = app.bot_data.push_desk
    assert desk is not None
    delivery = desk.scheduler
    assert isinstance(delivery, PushDelivery)
    assert app.bot_data.coach is not None
    store = app.bot_data.coach.store
    assert isinstance(store, SqliteProgressStore)
    staff = SqliteStaffStore(store.database)
    await staff.grant(TUTOR, "tutor", by=0)
    cohort = await staff.create_cohort(TUTOR, "Pace")
    emu.user_has_started(TUTOR)
    for learner in LEARNERS:
        await staff.join(cohort, learner)
        emu.user_has_started(learner)
    push = await delivery.pushes.create(TUTOR, cohort.id, QUIZ, datetime.now(UTC))
    return asyncio.create_task(delivery.send(push.id))


def quiz_copies(emu: BotApiEmulator) -> Counter[int]:
    return Counter(c.chat_id or 0 for c in emu.sent("sendPoll") if c.status == 200)


async def test_a_push_paced_under_a_strict_window_draws_no_429_and_one_copy_each(
    bot: CoachApplication, emu: BotApiEmulator
) -> None:
    sending = await start_push(bot, emu)
    await asyncio.wait_for(sending, SECONDS)
    assert [c for c in emu.calls if c.status == 429] == []
    assert quiz_copies(emu) == dict.fromkeys(LEARNERS, 1)
    await emu.wait_for_message(TUTOR, f"delivered to {len(LEARNERS)} of {len(LEARNERS)}.", 5)


async def test_a_learner_writing_during_a_push_is_answered_before_the_queued_push_sends(
    bot: CoachApplication, emu: BotApiEmulator
) -> None:
    sending = await start_push(bot, emu)
    await emu.wait_for(lambda _: len(quiz_copies(emu)) >= PARALLEL_CHATS, SECONDS)
    asked = len(emu.calls)
    emu.user_sends_text(WRITER, "/help")
    answer = await emu.wait_for(lambda c: c.chat_id == WRITER and c.status == 200, SECONDS, asked)
    await asyncio.wait_for(sending, SECONDS)
    answered = emu.calls.index(answer)
    overtaken = [c for c in emu.calls[asked:answered] if c.method == "sendPoll"]
    # First come, first served, the answer would wait behind the ~30 push sends queued when
    # it was asked; ahead of them it waits only for the polls sent while it is worked out.
    assert len(overtaken) < PARALLEL_CHATS // 2
    assert [c for c in emu.calls if c.status == 429] == []
    assert quiz_copies(emu) == dict.fromkeys(LEARNERS, 1)
