"""A push to 300 learners, the real bot (`coach run`) killed with SIGKILL halfway, started
again: nobody is left without the question. The deliveries in flight at the kill are sent again
with a note, so only those learners (at most the number sent side by side) can have two copies.
"""

import sqlite3
from pathlib import Path

from bot.telegram.delivery import PARALLEL_CHATS
from tests.bot.coach_process import assert_clean_run, run_coach, start_coach
from tests.bot.emulator import BotApiEmulator, Call

TUTOR = 4100  # an admin from ADMIN_IDS: admins may do all a tutor does
LEARNERS = tuple(range(90_001, 90_301))
QUIZ = "mixed-review"  # its first question is a native quiz poll, the push's one call
STARTUP_SECONDS = 30.0
REPLY_SECONDS = 10.0
NOTE = "(sent again in case you missed it)"


def polls_to(emu: BotApiEmulator) -> list[int]:
    return [c.chat_id or 0 for c in emu.sent("sendPoll") if c.status == 200]


def statuses(database: Path) -> dict[int, str]:
    with sqlite3.connect(database) as db:
        rows = db.execute("SELECT learner_id, status FROM deliveries WHERE push_id = 1")
        return {int(learner): str(status) for learner, status in rows}


def seed_members(database: Path) -> None:
    """Three hundred learners in the tutor's cohort (as /join would leave them)."""
    with sqlite3.connect(database, timeout=10) as db:
        [(cohort,)] = db.execute("SELECT id FROM cohorts")
        db.executemany(
            "INSERT INTO learners (id, display_name, first_seen, last_active)"
            " VALUES (?, ?, '2026-12-01T09:00:00+00:00', '2026-12-01T09:00:00+00:00')",
            [(learner, f"Learner {learner}") for learner in LEARNERS],
        )
        db.executemany(
            "INSERT INTO memberships (cohort_id, learner_id, joined_at)"
            " VALUES (?, ?, '2026-12-01T09:00:00+00:00')",
            [(cohort, learner) for learner in LEARNERS],
        )


async def test_a_push_to_300_killed_halfway_leaves_nobody_without_the_question(
    tmp_path: Path,
) -> None:
    database = tmp_path / "e2e.db"
    environment = {"ADMIN_IDS": str(TUTOR)}
    with (tmp_path / "bot.log").open("wb") as bot_log:
        async with BotApiEmulator() as emu:
            for learner in LEARNERS:
                emu.user_has_started(learner)
            process = await start_coach(emu, tmp_path, bot_log, environment)
            try:
                await emu.wait_until_polling(STARTUP_SECONDS)
                emu.user_sends_text(TUTOR, "/cohort new Big Class")
                created = await emu.wait_for_message(TUTOR, "start=join_", REPLY_SECONDS)
                code = created.text.split("start=join_")[1].split()[0]
                seed_members(database)
                emu.user_sends_text(TUTOR, f"/push {QUIZ} {code}")
                await emu.wait_for(lambda _: len(polls_to(emu)) >= len(LEARNERS) // 2, 60)
                process.kill()  # SIGKILL: no shutdown, no flush, nothing after this line runs
                await process.wait()
            finally:
                if process.returncode is None:
                    process.kill()
                    await process.wait()
            at_kill = statuses(database)
            in_flight = {learner for learner, status in at_kill.items() if status == "sending"}
            assert 0 < list(at_kill.values()).count("sent") < len(LEARNERS)

            async def finished_push() -> Call:
                return await emu.wait_for_message(
                    TUTOR, f"Push #1 sent: delivered to {len(LEARNERS)} of", 60
                )

            told, finished = await run_coach(
                emu,
                tmp_path,
                bot_log,
                finished_push,
                conversation_seconds=90,
                extra_env=environment,
            )
            # Leaving the emulator ends any request it still holds.
    polls = polls_to(emu)
    assert set(polls) == set(LEARNERS), "every learner has the question"
    twice = {learner for learner in LEARNERS if polls.count(learner) > 1}
    assert twice <= in_flight, "only a send in flight at the kill arrives twice"
    assert len(twice) <= PARALLEL_CHATS
    noted = {c.chat_id for c in emu.calls if c.status == 200 and NOTE in c.text}
    assert noted == in_flight, "the copies sent again, and only they, carry the note"
    assert set(statuses(database).values()) == {"sent"}
    assert f"delivered to {len(LEARNERS)} of {len(LEARNERS)}." in told.text
    assert_clean_run(emu, finished)
