"""Nothing a learner sends is lost: the real bot (`coach run`) is killed with SIGKILL at random
points while 40 learners answer a quiz over real HTTP against the Bot API emulator, ten times,
then run to the end. Every update the emulator delivered is stored once, every stored answer's
reply reaches its learner (twice only when its send was in flight at a kill), and every
learner is at the right question.

Each learner, like a person, does one thing and waits for the bot's answer: /quiz, the quiz's
button, ten poll votes (the last one answered by the summary), /quiz and the button again, two
more votes: 12 answers, 16 updates.
"""

import asyncio
import contextlib
import random
import sqlite3
from dataclasses import dataclass, field
from pathlib import Path

from tests.bot.coach_process import SHUTDOWN_SECONDS, start_coach
from tests.bot.emulator import BotApiEmulator, Call

QUIZ = "mixed-review"
TITLE = "Mixed review"
QUESTIONS = 10
LEARNERS = tuple(range(7001, 7041))
KILLS = 10
UPDATES = len(LEARNERS) * 16
STARTUP_SECONDS = 30.0
WAIT_SECONDS = 120.0
THINK_SECONDS = 0.2
REVOTE_SECONDS = 8.0
"""A vote with no answer for this long (its poll's record was lost in a kill) is given again
on the newest copy of the poll, as a person would tap the question in front of them."""


@dataclass
class Learner:
    chat: int
    updates: list[int] = field(default_factory=list)
    """Update ids of everything this learner sent, in order."""


def to_chat(call: Call, chat: int) -> bool:
    sent = call.method in {"sendMessage", "sendPoll", "editMessageText"}
    return call.status == 200 and sent and call.chat_id == chat


def question(number: int) -> str:
    return f"Question {number} of {QUESTIONS}"


def latest_poll(emu: BotApiEmulator, chat: int) -> str:
    polls = [c for c in emu.calls if c.method == "sendPoll" and to_chat(c, chat)]
    return str(polls[-1].result["poll"]["id"])


async def progress(learners: list[Learner], updates: int) -> None:
    """Until the learners have sent this many updates in all (a bound, not a timing)."""
    for _ in range(int(WAIT_SECONDS / 0.01)):
        if sum(len(learner.updates) for learner in learners) >= updates:
            return
        await asyncio.sleep(0.01)
    raise AssertionError(f"the learners did not reach {updates} updates")


async def polling_again(emu: BotApiEmulator, since: int) -> None:
    """Until the new process polls: a killed one's long poll may still be held open here."""
    await emu.wait_for(lambda c: c.method == "deleteWebhook", STARTUP_SECONDS, since)
    await emu.wait_until_polling(STARTUP_SECONDS)


async def wait_for_reply(emu: BotApiEmulator, learner: Learner, since: int, text: str) -> None:
    await emu.wait_for(lambda c: to_chat(c, learner.chat) and text in c.text, WAIT_SECONDS, since)


async def think() -> None:
    """A moment before each action: the answers spread over all the kills."""
    await asyncio.sleep(random.uniform(0.0, THINK_SECONDS))  # not security


async def vote(emu: BotApiEmulator, learner: Learner, expect: str) -> None:
    await think()
    since = len(emu.calls)
    poll = latest_poll(emu, learner.chat)
    learner.updates.append(emu.user_answers_poll(learner.chat, poll, [0])["update_id"])
    deadline = asyncio.get_running_loop().time() + WAIT_SECONDS
    while True:
        with contextlib.suppress(AssertionError):
            await emu.wait_for(
                lambda c: to_chat(c, learner.chat) and expect in c.text, REVOTE_SECONDS, since
            )
            return
        assert asyncio.get_running_loop().time() < deadline, f"{learner.chat}: no {expect!r}"
        newest = latest_poll(emu, learner.chat)
        if newest != poll:
            poll = newest
            learner.updates.append(emu.user_answers_poll(learner.chat, poll, [0])["update_id"])


async def take_quiz(emu: BotApiEmulator, learner: Learner, votes: int) -> None:
    await think()
    since = len(emu.calls)
    learner.updates.append(emu.user_sends_text(learner.chat, "/quiz")["update_id"])
    await wait_for_reply(emu, learner, since, "Choose a quick quiz")
    await think()
    since = len(emu.calls)
    learner.updates.append(emu.user_presses_button(learner.chat, TITLE)["update_id"])
    await wait_for_reply(emu, learner, since, question(1))
    for number in range(1, votes + 1):
        await vote(emu, learner, question(number + 1) if number < QUESTIONS else "🏁")


async def a_learner(emu: BotApiEmulator, learner: Learner) -> None:
    await asyncio.sleep(random.random())  # spread, not security
    await take_quiz(emu, learner, QUESTIONS)
    await take_quiz(emu, learner, 2)


def questions_sent(emu: BotApiEmulator, chat: int) -> list[tuple[int, str]]:
    """(call index, what) of each question, summary and quiz list the chat was sent."""
    marks = [*(question(n) for n in range(1, QUESTIONS + 1)), "🏁", "Choose a quick quiz"]
    sent = []
    for index, call in enumerate(emu.calls):
        if to_chat(call, chat):
            found = [m for m in marks if m in call.text]
            sent += [(index, found[0])] if found else []
    return sent


def without_repeats(sent: list[tuple[int, str]], kills: list[int]) -> tuple[list[str], int]:
    """The sequence with each copy sent again after a kill dropped, and how many those were;
    a copy sent twice within one run of the bot fails the test."""
    kept: list[str] = []
    again = 0
    last_index = -1
    for index, what in sent:
        if kept and kept[-1] == what:
            between = [k for k in kills if last_index < k <= index]
            assert between, f"{what!r} sent twice without a crash in between"
            again += 1
            continue
        kept.append(what)
        last_index = index
    return kept, again


async def test_kill_9_at_random_points_loses_no_update_and_no_reply(tmp_path: Path) -> None:
    rng = random.Random(15)  # kill times, not security
    database = tmp_path / "e2e.db"
    learners = [Learner(chat) for chat in LEARNERS]
    kills: list[int] = []
    with (tmp_path / "bot.log").open("wb") as bot_log:
        async with BotApiEmulator() as emu:
            work = asyncio.gather(*(a_learner(emu, learner) for learner in learners))
            try:
                for kill in range(KILLS):
                    since = len(emu.calls)
                    process = await start_coach(emu, tmp_path, bot_log)
                    try:
                        await polling_again(emu, since)
                        # Kills spread by progress, not by time (machines differ in speed):
                        # the k-th at a random point of the k-th of eleven equal parts.
                        share = rng.uniform(kill, kill + 1) / (KILLS + 1)
                        await progress(learners, int(share * UPDATES))
                    finally:
                        process.kill()  # SIGKILL: nothing after this line runs in the bot
                        await process.wait()
                    kills.append(len(emu.calls))
                    if work.done():
                        work.result()  # a learner's failure, raised here
                    assert not work.done(), "the learners finished before the last kill"
                process = await start_coach(emu, tmp_path, bot_log)
                try:
                    await asyncio.wait_for(work, WAIT_SECONDS)
                    process.terminate()
                    code = await asyncio.wait_for(process.wait(), SHUTDOWN_SECONDS)
                finally:
                    if process.returncode is None:
                        process.kill()
                        await process.wait()
            finally:
                work.cancel()
                with contextlib.suppress(asyncio.CancelledError, AssertionError):
                    await work
    log = (tmp_path / "bot.log").read_text(errors="replace")
    assert code == 0, log[-3000:]

    with sqlite3.connect(database) as db:
        inbox = db.execute("SELECT update_id, handled_at IS NOT NULL FROM inbox").fetchall()
        answers = db.execute("SELECT learner_id, question_id FROM answers ORDER BY id").fetchall()
        sessions = dict(db.execute("SELECT learner_id, data FROM sessions").fetchall())
        unsent = db.execute("SELECT count(*) FROM outbox WHERE status <> 'sent'").fetchone()
    # Every update the emulator delivered is stored once, and handled.
    sent_updates = sorted(u for learner in learners for u in learner.updates)
    assert sorted(u for u, _ in inbox) == sent_updates
    assert all(handled for _, handled in inbox)
    assert unsent == (0,)
    again_total = 0
    for learner in learners:
        # Each answer stored once: the ten questions, then the first two again.
        mine = [q for who, q in answers if who == learner.chat]
        assert len(mine) == QUESTIONS + 2, (learner.chat, mine)
        assert mine[QUESTIONS:] == mine[:2]
        assert len(set(mine[:QUESTIONS])) == QUESTIONS
        # Each reply reached the learner, in order; a second copy only across a kill.
        expected = [
            "Choose a quick quiz",
            *(question(n) for n in range(1, QUESTIONS + 1)),
            "🏁",
            "Choose a quick quiz",
            question(1),
            question(2),
            question(3),
        ]
        replies, again = without_repeats(questions_sent(emu, learner.chat), kills)
        assert replies == expected, learner.chat
        again_total += again
        # And the learner is at the right step: question 3 of the second round.
        assert '"asked":2' in sessions[learner.chat].replace(" ", "")
    print_figures = f"kills={len(kills)} updates={len(sent_updates)} resent={again_total}"
    assert again_total <= len(kills) * len(LEARNERS), print_figures


async def test_sigterm_under_load_finishes_what_it_took_and_sends_its_replies(
    tmp_path: Path,
) -> None:
    learners = [Learner(chat) for chat in LEARNERS]
    with (tmp_path / "bot.log").open("wb") as bot_log:
        async with BotApiEmulator() as emu:
            work = asyncio.gather(*(a_learner(emu, learner) for learner in learners))
            process = await start_coach(emu, tmp_path, bot_log)
            try:
                await polling_again(emu, 0)
                await emu.wait_for(lambda _: len(emu.sent("sendPoll")) >= len(LEARNERS), 60, 0)
                began = asyncio.get_running_loop().time()
                process.terminate()
                code = await asyncio.wait_for(process.wait(), SHUTDOWN_SECONDS)
                shutdown = asyncio.get_running_loop().time() - began
            finally:
                if process.returncode is None:
                    process.kill()
                    await process.wait()
                work.cancel()
                with contextlib.suppress(asyncio.CancelledError, AssertionError):
                    await work
    log = (tmp_path / "bot.log").read_text(errors="replace")
    assert code == 0, log[-3000:]
    assert shutdown < SHUTDOWN_SECONDS
    with sqlite3.connect(tmp_path / "e2e.db") as db:
        [(stored,)] = db.execute("SELECT count(*) FROM inbox").fetchall()
        [(unhandled,)] = db.execute("SELECT count(*) FROM inbox WHERE handled_at IS NULL")
        [(unsent,)] = db.execute("SELECT count(*) FROM outbox WHERE status = 'pending'")
    assert stored > len(LEARNERS)
    # Everything taken in was handled and its replies sent before the bot exited.
    assert (unhandled, unsent) == (0, 0)
