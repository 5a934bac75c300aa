"""The real bot as a subprocess (`coach run`) against the Bot API emulator: one learner's chat.

Scenario content changes often, so the learner picks the first scenario in the list and plays
it generically: a stock answer to text steps, "A" on lettered keyboards, /skip after a retry.
"""

import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import IO

import pytest

from tests.bot.coach_process import assert_clean_run, run_coach
from tests.bot.emulator import TOKEN, BotApiEmulator, Call

LEARNER = 31337
ANSWER = (
    "I'm so sorry, I understand how frustrating that is. Let me take your details and sort "
    "this out for you today: a refund, repair or replacement under the Consumer Rights Act."
)
VERDICT_MARKS = ("✅", "❌", "🟡", "Hint", "📖", "⏭")
STARTUP_SECONDS = 20.0
REPLY_SECONDS = 5.0
MAX_TURNS = 12


def to_learner(call: Call) -> bool:
    """A message to the learner: sent, or a pressed question edited (with what follows it)."""
    sent_or_edited = call.method in {"sendMessage", "editMessageText"}
    return call.status == 200 and call.chat_id == LEARNER and sent_or_edited


def step_or_end(call: Call) -> bool:
    """A customer's line (the next step) or the debrief: the bot has finished its turn."""
    return to_learner(call) and ("🗣" in call.text or "🏁" in call.text)


def turn_over(call: Call) -> bool:
    """The next step, the debrief, or a retry prompt ("… (2 tries left)")."""
    return step_or_end(call) or (to_learner(call) and " left)" in call.text)


def verdict(call: Call) -> bool:
    return to_learner(call) and any(mark in call.text for mark in VERDICT_MARKS)


@pytest.fixture
def bot_log(tmp_path: Path) -> Iterator[IO[bytes]]:
    with (tmp_path / "bot.log").open("wb") as log:
        yield log


async def test_a_learner_practises_a_scenario_with_the_real_bot(
    tmp_path: Path, bot_log: IO[bytes]
) -> None:
    database = tmp_path / "e2e.db"
    async with BotApiEmulator(token=TOKEN) as emu:
        given, finished = await run_coach(
            emu, tmp_path, bot_log, lambda: play(emu), conversation_seconds=40
        )
    assert_clean_run(emu, finished)
    with sqlite3.connect(database) as db:
        (answers,) = db.execute("SELECT count(*) FROM answers").fetchone()
    assert answers >= given, f"{given} answers given, {answers} on disk"


async def play(emu: BotApiEmulator) -> int:
    """/start, pick the first scenario, answer until both a text and a lettered step are done."""
    await emu.wait_until_polling(STARTUP_SECONDS)
    emu.user_sends_text(LEARNER, "/start")
    menu = await emu.wait_for(lambda c: to_learner(c) and bool(c.buttons), REPLY_SECONDS)
    assert "🎭 Practise a scenario" in [label for label, _ in menu.buttons]

    emu.user_presses_button(LEARNER, "🎭 Practise a scenario")
    listing = await emu.wait_for_message(LEARNER, "Choose a scenario", REPLY_SECONDS)
    assert listing.buttons, "no scenario to practise: flows/scenarios/ is empty"
    first_title, first_data = listing.buttons[0]
    emu.user_presses(LEARNER, first_data, listing.result["message_id"])
    intro = await emu.wait_for_message(LEARNER, f"🎭 {first_title}", REPLY_SECONDS)
    step = await emu.wait_for(step_or_end, REPLY_SECONDS)
    assert intro is step, "the intro and the first step are one message (one Bot API call)"

    typed = pressed = 0
    for _ in range(MAX_TURNS):
        if "🏁" in step.text or (typed and pressed):
            break
        letter_a = [data for label, data in step.buttons if label == "A"]
        if letter_a:
            emu.user_presses(LEARNER, letter_a[0], step.result["message_id"])
            echo = await emu.wait_for(lambda c: c.method == "editMessageText", REPLY_SECONDS)
            assert "Your answer: A)" in echo.text
            pressed += 1
        else:
            emu.user_sends_text(LEARNER, ANSWER)
            typed += 1
        await emu.wait_for(verdict, REPLY_SECONDS)
        step = await emu.wait_for(turn_over, REPLY_SECONDS)
        if not step_or_end(step):  # a retry: move on rather than guess again
            emu.user_sends_text(LEARNER, "/skip")
            step = await emu.wait_for(step_or_end, REPLY_SECONDS)
    assert typed, "the scenario asked no free-text question"
    return typed + pressed
