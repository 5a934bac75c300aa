"""Spaced revision in Telegram: a restart on the same database keeps the cards, the menu offers
them when due, and each answer in a /revise session costs one Bot API call."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta

from bot.app import build_application
from bot.settings import Settings
from bot.telegram.context import CoachApplication
from tests.bot.fakes import RecordingRequest, Updates
from tests.bot.test_calls_per_action import calls_for
from tests.bot.test_telegram import EMPATHY, RECORD, button
from tests.conftest import TEST_SCENARIOS

RIGHT = {
    "This kettle broke": EMPATHY,
    "What do you need to know?": "A",
    "So what are my rights?": "30 days, the short-term right to reject",
    "Log the interaction": RECORD,
}


class Clock:
    def __init__(self) -> None:
        self.now = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now


@asynccontextmanager
async def running(
    settings: Settings, fake: RecordingRequest, clock: Clock
) -> AsyncIterator[CoachApplication]:
    """The bot, started and stopped as run_polling would (a restart is a second one)."""
    application = build_application(
        settings, request=fake, scenario_dir=TEST_SCENARIOS, clock=clock
    )
    async with application:
        await application.post_init(application)  # type: ignore[misc]  # set at build
        await application.start()
        try:
            yield application
        finally:
            await application.stop()
            await application.post_shutdown(application)  # type: ignore[misc]
    assert fake.unexpected == []


def right_answer(text: str) -> str:
    return next(answer for line, answer in RIGHT.items() if line in text)


async def test_revision_after_a_restart_costs_one_call_per_answer(settings: Settings) -> None:
    clock = Clock()
    fake = RecordingRequest()
    async with running(settings, fake, clock) as app:
        updates = Updates(app.bot)
        await app.process_update(updates.text("/scenarios"))
        await app.process_update(updates.press(button(fake, "Test: faulty kettle")))
        for text in (EMPATHY, "A", RIGHT["So what are my rights?"], RECORD):
            await app.process_update(updates.text(text))
        assert "🏁 Debrief" in fake.texts()[-1]
        commands = fake.sent("setMyCommands")[0].params["commands"]
        assert isinstance(commands, list)
        assert {"revise", "settings"} <= {c["command"] for c in commands}

    clock.now += timedelta(days=2)
    fake = RecordingRequest()
    async with running(settings, fake, clock) as app:
        updates = Updates(app.bot, first_update_id=100)  # Telegram's ids go on after a restart
        assert await calls_for(app, fake, updates.text("/menu")) == ["sendMessage"]
        pressed = updates.press(button(fake, "🔁 Revise (4 due)"))
        assert await calls_for(app, fake, pressed) == ["answerCallbackQuery", "sendMessage"]
        asked = fake.texts()[-1]
        assert "🔁 Card 1 of 4" in asked
        per_answer = []
        for _ in range(4):
            per_answer.append(await calls_for(app, fake, updates.text(right_answer(asked))))
            asked = fake.texts()[-1]
        # Verdict and next card in one message; the last: verdict, summary and menu in one.
        assert per_answer == [["sendMessage"]] * 4
        assert "🏁 Revision done: 4 of 4 remembered." in asked
        assert "🔁 Revise" not in json.dumps(fake.sent()[-1].params.get("reply_markup"))
