"""Quiz pushes through the recording fake: the guided /push, delivery, answers and the report,
restarts, a crash in the middle of a push, 429s and learners who blocked the bot."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot.app import build_application
from bot.telegram.context import CoachApplication
from bot.telegram.delivery import PushDelivery
from flows.render import poll_for
from knowledge.loader import KnowledgeBase
from knowledge.models import ChoiceQuestion, Quiz, TextQuestion
from storage.pushes import Push, PushStore
from tests.bot.fakes import RecordingRequest, settings_for
from tests.bot.people import People, button_data
from tests.conftest import TEST_SCENARIOS

ADMIN = 1
TUTOR = 2
OTHER_TUTOR = 3
LEARNERS = (4, 5, 6)
# Monday 30 November 2026, 10:00 in London (GMT).
NOW = datetime(2026, 11, 30, 10, 0, tzinfo=UTC)


class Clock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


@dataclass
class Bot:
    app: CoachApplication
    fake: RecordingRequest
    people: People
    delivery: PushDelivery
    pushes: PushStore


@contextlib.asynccontextmanager
async def running(db: Path, fake: RecordingRequest, clock: Clock) -> AsyncIterator[Bot]:
    """The bot as `coach run` starts it (minus polling), on this database and clock."""
    settings = settings_for(db, admin_ids=(ADMIN,))
    assert settings.timezone == "Europe/London"  # the times below are London's
    app = build_application(settings, request=fake, scenario_dir=TEST_SCENARIOS, clock=clock)
    async with app:
        await app.post_init(app)  # type: ignore[misc]
        desk = app.bot_data.push_desk
        assert desk is not None
        delivery = desk.scheduler
        assert isinstance(delivery, PushDelivery)
        delivery.chat_gap = 0.0  # pacing is real in the bot; here it would only slow tests
        await app.start()
        try:
            yield Bot(app, fake, People(app, fake), delivery, desk.pushes)
        finally:
            await app.stop()
            await app.post_shutdown(app)  # type: ignore[misc]
    assert fake.unexpected == [], fake.unexpected


async def until(condition: Callable[[], Awaitable[bool]], what: str) -> None:
    """Wait for the bot's own work (a JobQueue job) to reach a state; a bound, not a timing."""
    for _ in range(1000):
        if await condition():
            return
        await asyncio.sleep(0.01)
    raise AssertionError(f"gave up waiting for {what}")


async def status_is(bot: Bot, push_id: int, status: str) -> None:
    async def reached() -> bool:
        push = await bot.pushes.get(push_id)
        return push is not None and push.status == status

    await until(reached, f"push {push_id} to be {status}")


async def tutor_told(bot: Bot, text: str) -> None:
    """Wait for the push's outcome message to the tutor (sent just after the push is done)."""

    async def arrived() -> bool:
        return any(text in message for message in texts_to(bot.fake, TUTOR))

    await until(arrived, f"the tutor to be told {text!r}")


async def a_class(bot: Bot, name: str = "Class") -> str:
    """A tutor, their cohort and three learners in it; the join code."""
    people = bot.people
    assert "now a tutor" in await people.say(ADMIN, f"/grant tutor {TUTOR}")
    assert "now a tutor" in await people.say(ADMIN, f"/grant tutor {OTHER_TUTOR}")
    created = await people.say(TUTOR, f"/cohort new {name}")
    code = created.split("start=join_")[1].split()[0]
    for learner in LEARNERS:
        assert "You've joined" in await people.say(learner, f"/start join_{code}")
    return code


async def up_to_when(bot: Bot, quiz: Quiz) -> None:
    """The tutor's /push with the buttons, up to choosing when."""
    await bot.people.say(TUTOR, "/push")
    await bot.people.press(TUTOR, button_data(bot.fake, quiz.title))
    await bot.people.press(TUTOR, button_data(bot.fake, "Class"))


def poll_quiz(kb: KnowledgeBase) -> Quiz:
    """A shipped quiz that opens with a question sent as a native quiz poll."""
    for quiz in kb.quizzes.values():
        first = kb.question(quiz.questions[0])
        if isinstance(first, ChoiceQuestion) and first.fits_quiz_poll():
            return quiz
    raise AssertionError("no shipped quiz opens with a poll")


def text_quiz(kb: KnowledgeBase) -> Quiz:
    for quiz in kb.quizzes.values():
        if isinstance(kb.question(quiz.questions[0]), TextQuestion):
            return quiz
    raise AssertionError("no shipped quiz opens with a typed question")


def polls_to(fake: RecordingRequest, chat_id: int) -> int:
    return sum(1 for c in fake.sent("sendPoll") if int(c.params["chat_id"]) == chat_id)


def texts_to(fake: RecordingRequest, chat_id: int) -> list[str]:
    return [str(c.params["text"]) for c in fake.sent() if int(c.params["chat_id"]) == chat_id]


async def only_push(bot: Bot) -> Push:
    [push] = await bot.pushes.recent(None)
    return push


async def test_a_tutor_pushes_a_quiz_step_by_step_and_reads_the_report(
    tmp_path: Path, kb: KnowledgeBase
) -> None:
    quiz = poll_quiz(kb)
    first = kb.question(quiz.questions[0])
    assert isinstance(first, ChoiceQuestion)
    right = poll_for(first).correct_option
    async with running(tmp_path / "coach.db", RecordingRequest(), Clock(NOW)) as bot:
        await a_class(bot)
        people, fake = bot.people, bot.fake

        assert "step 1 of 3: which quiz?" in await people.say(TUTOR, "/push")
        step2 = await people.press(TUTOR, button_data(fake, quiz.title))
        assert f"Step 2 of 3: send “{quiz.title}” to which cohort?" in step2
        step3 = await people.press(TUTOR, button_data(fake, "Class (3)"))
        assert "Step 3 of 3" in step3
        assert button_data(fake, "Tue 01 Dec 09:00")  # tomorrow morning, London time
        started = await people.press(TUTOR, button_data(fake, "Now"))
        assert "Push #1: sending" in started
        assert "Class (3 learners)" in started
        await status_is(bot, 1, "sent")

        for learner in LEARNERS:
            assert polls_to(fake, learner) == 1
            assert any("Your tutor has sent you a quiz" in t for t in texts_to(fake, learner))
        await tutor_told(bot, "Push #1 sent: delivered to 3 of 3.")
        deliveries = {d.learner_id: d for d in await bot.pushes.deliveries(1)}
        assert {d.status for d in deliveries.values()} == {"sent"}
        assert all(d.poll_id and d.message_id for d in deliveries.values())

        # Learner 4 answers right, learner 5 wrong, learner 6 not at all.
        wrong = (right + 1) % len(first.options)
        for learner, option in ((4, right), (5, wrong)):
            poll_id = deliveries[learner].poll_id
            assert poll_id is not None
            await bot.app.process_update(people.users[learner].poll_answer(poll_id, option))
        coach = bot.app.bot_data.coach
        assert coach is not None
        [answer] = await coach.store.answers(4)
        assert (answer.source, answer.push_id, answer.outcome) == ("push", 1, "correct")

        reports = bot.app.bot_data.reports
        assert reports is not None
        evidence = (await reports.evidence(TUTOR, "4")).document
        assert evidence is not None
        assert f"Tutor push #1, question {first.id}" in evidence.content.decode()
        [answers_csv, _] = await reports.export(TUTOR, "Class")
        assert answers_csv.document is not None
        assert ",push,1," in answers_csv.document.content.decode()

        report = await people.say(TUTOR, "/push report 1")
        assert f"Push #1: “{quiz.title}” to Class" in report
        assert "Delivered: 3 of 3" in report
        assert "Answered: 2 of 3 (all questions: 0)" in report
        assert "Q1 " in report
        assert "2 answered, 50% correct" in report
        assert "Not answered yet (1):\n• U6 (@u6)" in report

        before = [polls_to(fake, learner) for learner in LEARNERS]
        resent = await people.press(TUTOR, button_data(fake, "🔁 Re-send to 1"))
        assert "Re-sending push #1 to 1 learner(s)" in resent
        await status_is(bot, 1, "sent")
        after = [polls_to(fake, learner) for learner in LEARNERS]
        assert [b - a for a, b in zip(before, after, strict=True)] == [0, 0, 1]
        assert "Re-send to" not in await people.say(OTHER_TUTOR, "/push report 1")
        assert "· sent · delivered 3/3, answered 2" in await people.say(TUTOR, "/pushes")


async def test_a_scheduled_push_survives_restarts_and_a_missed_one_is_sent_late(
    tmp_path: Path, kb: KnowledgeBase
) -> None:
    quiz, db, clock = poll_quiz(kb), tmp_path / "coach.db", Clock(NOW)
    async with running(db, RecordingRequest(), clock) as bot:
        code = await a_class(bot)
        scheduled = await bot.people.say(TUTOR, f"/push {quiz.id} {code} 2026-12-01 09:00")
        assert "Push #1 scheduled" in scheduled
        assert "at Tue 01 Dec 2026 09:00 GMT" in scheduled
        assert "Quiz pushes pending: 1" in await bot.people.say(ADMIN, "/stats")

    clock.now = NOW + timedelta(hours=1)  # restarted before the time: armed again
    async with running(db, RecordingRequest(), clock) as bot:
        job_queue = bot.app.job_queue
        assert job_queue is not None
        [job] = job_queue.get_jobs_by_name("push:1")
        assert job.next_t is not None
        assert job.next_t > datetime.now(UTC) + timedelta(hours=20)
        assert (await only_push(bot)).status == "scheduled"
        assert bot.fake.sent("sendPoll") == []

    clock.now = datetime(2026, 12, 1, 10, 30, tzinfo=UTC)  # down at 09:00: sent at start
    async with running(db, RecordingRequest(), clock) as bot:
        await status_is(bot, 1, "sent")
        assert sorted(int(c.params["chat_id"]) for c in bot.fake.sent("sendPoll")) == [4, 5, 6]
        push = await only_push(bot)
        assert push.late
        await tutor_told(bot, "sent (late: the bot was offline at the time it was due)")
        report = await bot.people.say(TUTOR, "/push report 1")
        assert "late: the bot was offline at the due time" in report
        assert "Quiz pushes pending: 0" in await bot.people.say(ADMIN, "/stats")


async def test_a_push_interrupted_halfway_sends_the_unconfirmed_one_again_with_a_note(
    tmp_path: Path, kb: KnowledgeBase
) -> None:
    quiz, db, clock = poll_quiz(kb), tmp_path / "coach.db", Clock(NOW)
    # Sends to learner 5 hang: the bot "dies" while Telegram has not yet answered for them.
    first_run = RecordingRequest()
    async with running(db, first_run, clock) as bot:
        code = await a_class(bot)
        first_run.held_chats.add(5)
        bot.delivery.parallel_chats = 1  # one learner after another, in id order
        await bot.people.say(TUTOR, f"/push {quiz.id} {code}")

        async def hanging() -> bool:
            return 5 in first_run.held

        await until(hanging, "the send to learner 5")
        task = bot.delivery.sending_task(1)
        assert task is not None
        task.cancel()  # the crash: nothing after this point of the push runs
        with contextlib.suppress(asyncio.CancelledError):
            await task
        assert polls_to(first_run, 4) == 1
        assert polls_to(first_run, 6) == 0
        statuses = {d.learner_id: d.status for d in await bot.pushes.deliveries(1)}
        assert statuses == {4: "sent", 5: "sending", 6: "pending"}

    second_run = RecordingRequest()
    async with running(db, second_run, clock) as bot:
        await status_is(bot, 1, "sent")
        # Nobody is left without the quiz: the unconfirmed send goes again, the rest once.
        assert [polls_to(second_run, learner) for learner in LEARNERS] == [0, 1, 1]
        # The note rides in the quiz's introduction (a message before the poll).
        assert any("(sent again in case you missed it)" in t for t in texts_to(second_run, 5))
        assert not any("sent again" in t for t in texts_to(second_run, 6))
        deliveries = {d.learner_id: d for d in await bot.pushes.deliveries(1)}
        assert {d.status for d in deliveries.values()} == {"sent"}
        report = await bot.people.say(TUTOR, "/push report 1")
        assert "Delivered: 3 of 3" in report


async def test_a_second_push_replacing_an_unfinished_one_is_reported_to_its_tutor(
    tmp_path: Path, kb: KnowledgeBase
) -> None:
    quiz, fake = poll_quiz(kb), RecordingRequest()
    async with running(tmp_path / "coach.db", fake, Clock(NOW)) as bot:
        code = await a_class(bot)
        await bot.people.say(TUTOR, f"/push {quiz.id} {code}")
        await status_is(bot, 1, "sent")
        other = next(q for q in kb.quizzes.values() if q.id != quiz.id)
        await bot.people.say(TUTOR, f"/push {other.id} {code}")
        await status_is(bot, 2, "sent")
        await tutor_told(bot, "Push #1: 3 learner(s) had not finished it when push #2 arrived")
        assert "/push resend 1" in texts_to(fake, TUTOR)[-1]


async def test_a_429_is_retried_after_retry_after(tmp_path: Path, kb: KnowledgeBase) -> None:
    quiz = poll_quiz(kb)
    fake = RecordingRequest()
    async with running(tmp_path / "coach.db", fake, Clock(NOW)) as bot:
        code = await a_class(bot)
        fake.flood_methods["sendPoll"] = 1  # Telegram: "Too Many Requests: retry after 1"
        await bot.people.say(TUTOR, f"/push {quiz.id} {code}")
        await status_is(bot, 1, "sent")
        assert len(fake.sent("sendPoll")) == 4  # three learners, one of them twice
        deliveries = await bot.pushes.deliveries(1)
        assert [d.status for d in deliveries] == ["sent", "sent", "sent"]
        assert len({d.poll_id for d in deliveries}) == 3


async def test_a_learner_who_blocked_the_bot_is_reported_not_retried(
    tmp_path: Path, kb: KnowledgeBase
) -> None:
    quiz = poll_quiz(kb)
    fake = RecordingRequest()
    async with running(tmp_path / "coach.db", fake, Clock(NOW)) as bot:
        code = await a_class(bot)
        fake.blocked_chats.add(6)
        await bot.people.say(TUTOR, f"/push {quiz.id} {code}")
        await status_is(bot, 1, "sent")
        deliveries = {d.learner_id: d for d in await bot.pushes.deliveries(1)}
        assert (deliveries[6].status, deliveries[6].reason) == ("failed", "has blocked the bot")
        assert deliveries[6].attempts == 1
        # When they unblock the bot, nothing waits for an answer to a question they never saw.
        fake.blocked_chats.clear()
        assert "not waiting for an answer" in await bot.people.say(6, "30 days")
        await tutor_told(bot, "delivered to 2 of 3, 1 failed")
        assert "✗ U6 (@u6): has blocked the bot" in await bot.people.say(TUTOR, "/push report 1")


async def test_a_typed_question_is_pushed_as_a_message_and_its_answer_marked(
    tmp_path: Path, kb: KnowledgeBase
) -> None:
    quiz = text_quiz(kb)
    first = kb.question(quiz.questions[0])
    assert first is not None
    fake = RecordingRequest()
    async with running(tmp_path / "coach.db", fake, Clock(NOW)) as bot:
        code = await a_class(bot)
        await bot.people.say(TUTOR, f"/push {quiz.id} {code}")
        await status_is(bot, 1, "sent")
        assert fake.sent("sendPoll") == []
        assert any(first.prompt[:40] in text for text in texts_to(fake, 4))

        reply = await bot.people.say(4, first.model_answer)
        assert "✅" in reply
        coach = bot.app.bot_data.coach
        assert coach is not None
        [answer] = await coach.store.answers(4)
        assert (answer.question_id, answer.source, answer.push_id) == (first.id, "push", 1)
        assert "1 answered, 100% correct" in await bot.people.say(TUTOR, "/push report 1")


async def test_a_scheduled_push_is_listed_and_cancelled(tmp_path: Path, kb: KnowledgeBase) -> None:
    quiz = poll_quiz(kb)
    fake = RecordingRequest()
    async with running(tmp_path / "coach.db", fake, Clock(NOW)) as bot:
        await a_class(bot)
        await up_to_when(bot, quiz)
        scheduled = await bot.people.press(TUTOR, button_data(fake, "In 1 hour"))
        assert "Push #1 scheduled" in scheduled
        assert "at Mon 30 Nov 2026 11:00 GMT" in scheduled
        # A second tap on the same button makes no second push.
        again = await bot.people.press(TUTOR, button_data(fake, "In 1 hour"))
        assert "already made: #1" in again

        listed = await bot.people.say(TUTOR, "/pushes")
        assert f"#1 “{quiz.title}” → Class · Mon 30 Nov 2026 11:00 GMT · scheduled" in listed
        cancel = button_data(fake, "✖ Cancel #1")
        assert "only for tutors" in await bot.people.press(4, cancel)
        assert "No push #1 that you can see" in await bot.people.press(OTHER_TUTOR, cancel)
        assert "cancelled; nothing was sent" in await bot.people.press(TUTOR, cancel)
        assert "only a scheduled push can be cancelled" in await bot.people.press(TUTOR, cancel)
        job_queue = bot.app.job_queue
        assert job_queue is not None
        assert job_queue.get_jobs_by_name("push:1") == ()
        assert "cancelled" in await bot.people.say(TUTOR, "/push report 1")
        assert "cancelled" in await bot.people.say(ADMIN, "/pushes")


async def test_push_buttons_recheck_the_role_and_the_cohort(
    tmp_path: Path, kb: KnowledgeBase
) -> None:
    quiz = poll_quiz(kb)
    fake = RecordingRequest()
    async with running(tmp_path / "coach.db", fake, Clock(NOW)) as bot:
        await a_class(bot)
        await up_to_when(bot, quiz)
        now = button_data(fake, "Now")

        assert "only for tutors" in await bot.people.press(4, now)
        assert "not one of yours" in await bot.people.press(OTHER_TUTOR, now)
        assert "no longer valid" in await bot.people.press(TUTOR, "pw|forged")
        assert "no longer available" in await bot.people.press(TUTOR, "pq|no-such-quiz")
        assert await bot.pushes.recent(None) == []
        assert "only for tutors" in await bot.people.say(4, "/pushes")


@pytest.mark.parametrize(
    ("command", "expected"),
    [
        ("/push no-such-quiz Class", "There's no quiz “no-such-quiz”"),
        ("/push {quiz} Nowhere", "No cohort “Nowhere” that you can push to"),
        ("/push {quiz} Class 2020-01-01 09:00", "has already passed"),
        ("/push {quiz} Class 2026-02-30 09:00", "is not a date"),
        ("/push {quiz} Class 2026-12-01", "Add the time after the date"),
        ("/push {quiz} Class 2031-01-01 09:00", "more than a year ahead"),
        ("/push cancel soon", "Give the push number"),
        ("/push report 1 2", "Give the push number"),
        ("/push report 99", "No push #99 that you can see"),
        ("/push {quiz}", "Push a quiz to a cohort:"),
    ],
    ids=[
        "quiz",
        "cohort",
        "past",
        "bad-date",
        "no-time",
        "far",
        "number",
        "two-numbers",
        "unknown",
        "short",
    ],
)
async def test_push_arguments_are_checked(
    tmp_path: Path, kb: KnowledgeBase, command: str, expected: str
) -> None:
    async with running(tmp_path / "coach.db", RecordingRequest(), Clock(NOW)) as bot:
        await a_class(bot)
        reply = await bot.people.say(TUTOR, command.format(quiz=poll_quiz(kb).id))
        assert expected in reply
        assert await bot.pushes.recent(None) == []


async def test_a_push_whose_quiz_left_the_content_fails_and_the_tutor_is_told(
    tmp_path: Path,
) -> None:
    async with running(tmp_path / "coach.db", RecordingRequest(), Clock(NOW)) as bot:
        await a_class(bot)
        staff = bot.delivery.staff
        [cohort] = await staff.cohorts(TUTOR)
        # Pushed last term; the quiz has since been taken out of the content.
        push = await bot.pushes.create(TUTOR, cohort.id, "retired-quiz", NOW)
        bot.delivery.arm(push)
        await status_is(bot, push.id, "failed")
        await tutor_told(bot, "could not be sent: the quiz is no longer in the content")
        assert bot.fake.sent("sendPoll") == []
        assert await bot.pushes.deliveries(push.id) == []
        listed = await bot.people.say(TUTOR, "/pushes")
        assert "failed: the quiz is no longer in the content" in listed
        assert "failed: the quiz" in await bot.people.say(TUTOR, f"/push report {push.id}")
        assert "is failed; re-send once" in await bot.people.say(TUTOR, f"/push resend {push.id}")


async def test_a_tutor_without_a_cohort_is_told_to_make_one(tmp_path: Path) -> None:
    async with running(tmp_path / "coach.db", RecordingRequest(), Clock(NOW)) as bot:
        await bot.people.say(ADMIN, f"/grant tutor {TUTOR}")
        assert "Create one with /cohort new NAME" in await bot.people.say(TUTOR, "/push")
        assert "No pushes yet" in await bot.people.say(TUTOR, "/pushes")
