"""Security findings around learners' data and pushes (issue 15): /mydata holds everything,
/forget leaves nothing readable on disk, and a revoked tutor's push does not go out."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from knowledge.loader import KnowledgeBase
from storage.sqlite import SqliteProgressStore
from tests.bot.fakes import RecordingRequest
from tests.bot.people import button_data
from tests.bot.test_pushes import (
    ADMIN,
    NOW,
    TUTOR,
    Clock,
    a_class,
    poll_quiz,
    polls_to,
    running,
    status_is,
    texts_to,
)

LEARNER = 4
NAME = "Zebedee"
HANDLE = "zebedee_quixote"
ANSWER = "I'm so sorry about the xylophonic kettle, let me sort this out for you."


def read_database_files(folder: Path) -> bytes:
    """The database file, its WAL and shared-memory index, as one byte string."""
    return b"".join(p.read_bytes() for p in folder.iterdir() if p.name.startswith("coach.db"))


# --- row 4: /mydata incomplete, /forget leaves data ----------------------------------------------


async def test_mydata_holds_every_table_and_forget_leaves_no_trace_on_disk(
    tmp_path: Path, kb: KnowledgeBase
) -> None:
    database = tmp_path / "coach.db"
    quiz = poll_quiz(kb)
    async with running(database, RecordingRequest(), Clock(NOW)) as bot:
        people = bot.people
        people.users[LEARNER].user.update({"first_name": NAME, "username": HANDLE})
        await a_class(bot)
        await people.say(LEARNER, "/stats")  # refused: a learner is no admin
        await people.say(LEARNER, "/scenarios")
        await people.press(LEARNER, "s|test-kettle")
        await people.say(LEARNER, "vuvuzela")  # marked incorrect: the learner appeals
        await people.press(LEARNER, button_data(bot.fake, "🙋"))
        await people.say(LEARNER, "quokkas know I was right")
        await people.say(TUTOR, "/review")
        await people.press(TUTOR, button_data(bot.fake, "✅ Correct"))
        await people.press(TUTOR, button_data(bot.fake, "No comment"))
        await people.say(LEARNER, ANSWER)
        await people.say(LEARNER, "/settings timezone Pacific/Chatham")
        await people.say(LEARNER, "/settings reminder 07:45")
        await people.say(TUTOR, f"/push {quiz.id} Class")
        await status_is(bot, 1, "sent")

        coach = bot.app.bot_data.coach
        assert coach is not None
        exported = await coach.store.export_learner(LEARNER)
        assert exported["learner"]["display_name"] == NAME
        assert [c["cohort"] for c in exported["cohorts"]] == ["Class"]
        assert [(d["push_id"], d["status"]) for d in exported["push_deliveries"]] == [(1, "sent")]
        assert len(exported["polls"]) == 1
        assert exported["update_keys"]
        assert [(r["command"], r["count"]) for r in exported["refused_commands"]] == [
            ("/stats", 1)
        ]
        assert ANSWER in [a["answer"] for a in exported["answers"]]
        assert coach.appeals is not None
        [review] = await coach.appeals.export(LEARNER)
        assert (review["reason"], review["decision"]) == ("quokkas know I was right", "correct")
        assert coach.revision is not None
        revision = await coach.revision.store.export(LEARNER)
        assert [c["card_id"] for c in revision["revision_cards"]] == ["test-kettle/greet"]
        assert revision["settings"]["timezone"] == "Pacific/Chatham"

        await people.say(LEARNER, "/forget")
        await people.press(LEARNER, button_data(bot.fake, "Yes, erase it"))
        assert "erased" in texts_to(bot.fake, LEARNER)[-1]
        assert await coach.store.export_learner(LEARNER) == (await coach.store.export_learner(999))
        store = coach.store
        assert isinstance(store, SqliteProgressStore)
        on_disk = read_database_files(tmp_path)
        assert await coach.appeals.export(LEARNER) == []
        assert await coach.revision.store.export(LEARNER) == (
            await coach.revision.store.export(999)
        )
        for trace in (
            NAME,
            HANDLE,
            "xylophonic",
            "vuvuzela",
            "quokkas",
            f'"learner_id": {LEARNER}',
            "Pacific/Chatham",
        ):
            assert trace.encode() not in on_disk, trace


# --- row 6: a revoked tutor's scheduled push still went out -------------------------------------


async def test_a_push_of_a_tutor_revoked_since_is_cancelled_and_the_admins_told(
    tmp_path: Path, kb: KnowledgeBase
) -> None:
    quiz = poll_quiz(kb)
    clock = Clock(NOW)
    async with running(tmp_path / "coach.db", RecordingRequest(), clock) as bot:
        people, fake = bot.people, bot.fake
        await a_class(bot)
        assert "scheduled" in await people.say(TUTOR, f"/push {quiz.id} Class 18:30")
        assert "learner again" in await people.say(ADMIN, f"/revoke {TUTOR}")
        fake.clear()

        clock.now = NOW + timedelta(hours=9)
        await bot.delivery.send(1)
        await status_is(bot, 1, "cancelled")
        assert fake.sent("sendPoll") == []
        assert texts_to(fake, TUTOR) == []
        [told] = texts_to(fake, ADMIN)
        assert "Push #1" in told
        assert "no longer a tutor" in told
        push = await bot.pushes.get(1)
        assert push is not None
        assert push.note is not None
        assert "no longer a tutor" in push.note


# --- section 2: re-send only to those not reached; a /join records the learner's name ----------


async def test_a_resend_can_go_only_to_those_the_push_did_not_reach(
    tmp_path: Path, kb: KnowledgeBase
) -> None:
    quiz = poll_quiz(kb)
    fake = RecordingRequest()
    async with running(tmp_path / "coach.db", fake, Clock(NOW)) as bot:
        await a_class(bot)
        fake.blocked_chats.add(6)
        await bot.people.say(TUTOR, f"/push {quiz.id} Class")
        await status_is(bot, 1, "sent")
        fake.blocked_chats.clear()  # learner 6 unblocks the bot; 4 and 5 haven't answered yet

        await bot.people.say(TUTOR, "/push report 1")
        assert button_data(fake, "🔁 Re-send to 3 who haven't answered")
        resent = await bot.people.press(TUTOR, button_data(fake, "🔁 Only the 1 not reached"))
        assert "Re-sending push #1 to 1 learner(s) it didn't reach" in resent
        await status_is(bot, 1, "sent")
        sends = {learner: polls_to(fake, learner) for learner in (4, 5, 6)}
        assert sends == {4: 1, 5: 1, 6: 1}  # 6's first try was refused before the poll

        again = await bot.people.say(TUTOR, "/push resend 1 failed")
        assert "nobody to re-send to" in again
        assert "Re-sending push #1 to 3" in await bot.people.say(TUTOR, "/push resend 1")


async def test_joining_with_the_join_command_records_the_learners_name(
    tmp_path: Path,
) -> None:
    async with running(tmp_path / "coach.db", RecordingRequest(), Clock(NOW)) as bot:
        people = bot.people
        assert "now a tutor" in await people.say(ADMIN, f"/grant tutor {TUTOR}")
        created = await people.say(TUTOR, "/cohort new Evening")
        code = created.split("start=join_")[1].split()[0]
        people.users[7].user.update({"first_name": "Priya", "username": "priya_k"})
        assert "You've joined Evening" in await people.say(7, f"/join {code}")
        members = await people.say(TUTOR, "/cohort members Evening")
        assert "Priya @priya_k – id 7" in members
