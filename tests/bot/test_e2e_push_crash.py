"""The real bot (`coach run`) is killed with SIGKILL in the middle of a quiz push, over real
HTTP against the Bot API emulator; started again, it finishes the push and sends the question
again only to the learner whose send was in flight (no loss rather than no duplicate)."""

import asyncio
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import IO

import pytest

from knowledge.loader import KnowledgeBase
from knowledge.models import ChoiceQuestion
from tests.bot.coach_process import assert_clean_run, run_coach, start_coach
from tests.bot.emulator import TOKEN, BotApiEmulator, Call

TUTOR = 4100  # an admin from ADMIN_IDS: admins may do all a tutor does
LEARNERS = (4201, 4202, 4203)
STARTUP_SECONDS = 20.0
REPLY_SECONDS = 5.0


@pytest.fixture
def bot_log(tmp_path: Path) -> Iterator[IO[bytes]]:
    with (tmp_path / "bot.log").open("wb") as log:
        yield log


def first_poll_quiz(kb: KnowledgeBase) -> str:
    for quiz in kb.quizzes.values():
        first = kb.question(quiz.questions[0])
        if isinstance(first, ChoiceQuestion) and first.fits_quiz_poll():
            return quiz.id
    raise AssertionError("no shipped quiz opens with a poll")


def answered_polls(emu: BotApiEmulator) -> list[int]:
    return [c.chat_id or 0 for c in emu.sent("sendPoll") if c.status == 200]


def deliveries(database: Path) -> dict[int, str]:
    with sqlite3.connect(database) as db:
        rows = db.execute("SELECT learner_id, status FROM deliveries WHERE push_id = 1")
        return {int(learner): str(status) for learner, status in rows}


async def test_a_push_killed_halfway_finishes_after_a_restart_and_leaves_nobody_out(
    tmp_path: Path, bot_log: IO[bytes], kb: KnowledgeBase
) -> None:
    database = tmp_path / "e2e.db"
    environment = {"ADMIN_IDS": str(TUTOR)}
    async with BotApiEmulator(token=TOKEN) as emu:
        process = await start_coach(emu, tmp_path, bot_log, environment)
        try:
            await emu.wait_until_polling(STARTUP_SECONDS)
            emu.user_sends_text(TUTOR, "/cohort new Night Class")
            created = await emu.wait_for_message(TUTOR, "start=join_", REPLY_SECONDS)
            code = created.text.split("start=join_")[1].split()[0]
            for learner in LEARNERS:
                emu.user_sends_text(learner, f"/join {code}")
                await emu.wait_for_message(learner, "You've joined", REPLY_SECONDS)

            # Telegram sits on the first quiz poll; the bot is killed while it waits.
            emu.delay_next("sendPoll", 60.0)
            emu.user_sends_text(TUTOR, f"/push {first_poll_quiz(kb)} {code}")
            await emu.wait_for(lambda _: len(answered_polls(emu)) == 2, REPLY_SECONDS)
            for _ in range(500):  # until the bot has recorded those two as sent
                if list(deliveries(database).values()).count("sent") == 2:
                    break
                await asyncio.sleep(0.01)
            process.kill()  # SIGKILL: no shutdown, no flush, nothing after this line runs
            await process.wait()
        finally:
            if process.returncode is None:
                process.kill()
                await process.wait()
        assert sorted(deliveries(database).values()) == ["sending", "sent", "sent"]

        async def finished_push() -> Call:
            return await emu.wait_for_message(
                TUTOR, "Push #1 sent: delivered to 3 of 3", STARTUP_SECONDS
            )

        told, finished = await run_coach(
            emu, tmp_path, bot_log, finished_push, conversation_seconds=40, extra_env=environment
        )
        [held] = [c.chat_id or 0 for c in emu.sent("sendPoll") if c.status == 200][2:]
        again = await emu.wait_for_message(held, "(sent again in case you missed it)", 1)
    # Leaving the emulator ends the held request: Telegram did deliver that poll after all, so
    # the learner it was for has two copies (answers to either count once).
    polls = answered_polls(emu)
    assert sorted(polls) == sorted([*LEARNERS, held]), "everyone got it; one of them twice"
    assert again.chat_id == held
    assert sorted(deliveries(database).values()) == ["sent", "sent", "sent"]
    assert "/push report 1" in told.text
    assert_clean_run(emu, finished)
