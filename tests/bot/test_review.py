"""Tutors in the loop, as a chat: a learner's appeal, the tutor's review, the learner told."""

from __future__ import annotations

import sqlite3
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from bot.telegram.context import CoachApplication
from flows.actions import Appeal
from tests.bot.fakes import BOT_ID, DATE, RecordingRequest
from tests.bot.people import People, button_data, running_app
from tutoring.actions import Decide
from tutoring.staff import REFUSALS_ANSWERED

ADMIN = 1
TUTOR = 2
OTHER_TUTOR = 3
LEARNER = 4
LONER = 5
KETTLE = "Faulty kettle brought back to the shop"
EMPATHY = (
    "I'm so sorry Mr Foster, I can see how frustrating that is. Let me sort this out for you."
)
FLAGGED = (
    "So sorry about this Mr Foster. You're within 30 days so you're entitled to a full"
    " refund. I'll put it back on your debit card now, and you get half off your next kettle."
)


@pytest.fixture
async def people(tmp_path: Path, fake: RecordingRequest) -> AsyncIterator[People]:
    async with running_app(tmp_path / "review.db", fake, (ADMIN,), scenario_dir=None) as app:
        crowd = People(app, fake)
        for uid in range(1, 10):
            await crowd.say(uid, "/help")
        assert "now a tutor" in await crowd.say(ADMIN, f"/grant tutor {TUTOR}")
        assert "now a tutor" in await crowd.say(ADMIN, f"/grant tutor {OTHER_TUTOR}")
        created = await crowd.say(TUTOR, "/cohort new Tuesday")
        code = created.split("start=join_")[1].split()[0]
        assert "You've joined Tuesday" in await crowd.say(LEARNER, f"/join {code}")
        await crowd.say(OTHER_TUTOR, "/cohort new Evening")
        yield crowd


def appeal_buttons(fake: RecordingRequest, since: int = 0) -> list[str]:
    found = []
    for call in fake.calls[since:]:
        markup = call.params.get("reply_markup")
        if isinstance(markup, dict):
            found += [
                b["callback_data"]
                for row in markup["inline_keyboard"]
                for b in row
                if b["text"].startswith("🙋")
            ]
    return found


def bot_message(text: str) -> dict[str, Any]:
    return {
        "message_id": 99,
        "date": DATE,
        "chat": {"id": TUTOR, "type": "private"},
        "from": {"id": BOT_ID, "is_bot": True, "first_name": "Coach"},
        "text": text,
    }


def rows(app: CoachApplication, sql: str) -> list[tuple[Any, ...]]:
    settings = app.bot_data.settings
    assert settings is not None
    with sqlite3.connect(settings.database_url.removeprefix("sqlite:///")) as db:
        return list(db.execute(sql))


async def start_kettle(people: People, uid: int) -> None:
    await people.say(uid, "/scenarios")
    await people.press(uid, button_data(people.fake, KETTLE))


async def test_appeal_review_and_the_learner_told(people: People) -> None:
    fake, app = people.fake, people.app
    await start_kettle(people, LEARNER)
    before = len(fake.calls)
    told = await people.say(LEARNER, "ok")
    assert "Try again" in told
    # The verdict, its hint and the button come in one message: no Bot API call of its own.
    assert [c.method for c in fake.calls[before:]] == ["sendMessage"]
    [appeal] = appeal_buttons(fake, before)

    assert "Sent to your tutor's review queue" in await people.press(LEARNER, appeal)
    assert "your tutor will see your reason" in await people.say(LEARNER, "I did say sorry")
    assert "already sent this answer" in await people.press(LEARNER, appeal)

    progress = await people.say(TUTOR, "/progress")
    assert "Review queue: 1 open – /review" in progress
    item = await people.say(TUTOR, "/review")
    assert "🙋 Appealed by the learner · U4 (id 4)" in item
    assert "“ok”" in item
    assert "🤖 Marked: ❌ Incorrect (0%)" in item
    assert "Learner's reason: “I did say sorry”" in item
    assert "Model answer:" in item
    assert "nothing waiting" in await people.say(OTHER_TUTOR, "/review")

    correct = button_data(fake, "✅ Correct")
    before = len(fake.calls)
    decided = await people.press(TUTOR, correct)
    assert "Your decision: ✅ Correct (marked ❌ Incorrect) – saved." in decided
    # A decision costs one edit of the item (the acknowledgement is not rate-limited).
    assert [c.method for c in fake.calls[before:]] == ["answerCallbackQuery", "editMessageText"]
    # A second reviewer (an admin may review anyone) is told the first decision stands.
    incorrect = correct.removesuffix("|c") + "|i"
    assert "Another tutor got there first" in await people.press(ADMIN, incorrect)
    # The verdict that counts is the tutor's now.
    answers = await app.bot_data.coach.store.answers(LEARNER)  # type: ignore[union-attr]
    assert [(a.outcome, a.score) for a in answers] == [("correct", 1.0)]

    before = len(fake.calls)
    await app.process_update(
        people.users[TUTOR].reply_to("Good – you apologised first.", bot_message(decided))
    )
    sent = fake.calls[before:]
    assert [(c.method, c.params["chat_id"]) for c in sent] == [
        ("sendMessage", TUTOR),
        ("sendMessage", LEARNER),
    ]
    assert "nothing waiting" in sent[0].params["text"]
    notice = sent[1].params["text"]
    assert "Your tutor has reviewed your answer." in notice
    assert "Verdict: ✅ Correct (it was marked ❌ Incorrect)" in notice
    assert "Tutor's comment: “Good – you apologised first.”" in notice
    assert "📖 " in notice  # the knowledge entry
    assert "already finished" in await people.press(
        TUTOR, correct.replace("rd|", "rn|", 1).rsplit("|", 1)[0]
    )
    assert "Review queue: empty" in await people.say(TUTOR, "/progress")

    # The history of the verdict shows in /learner (and in /evidence's verdict column).
    detail = await people.say(TUTOR, f"/learner {LEARNER}")
    assert "↳ marked incorrect automatically, corrected to correct by tutor 2 on" in detail
    assert ": Good – you apologised first." in detail

    # The override shows in the question statistics, and in /export as a CSV.
    listing = await people.say(TUTOR, "/questions all")
    assert "worst first" in listing
    assert "overridden 1↑ 0↓" in listing
    question_id = listing.split("• ", 1)[1].split(" – ")[0]
    detail = await people.say(TUTOR, f"/questions {question_id}")
    assert "Tutors overrode the marker: 1 up, 0 down" in detail
    assert "Facility (right on the first try): 100%" in detail  # the tutor's verdict counts
    assert "only for tutors" in await people.say(LEARNER, "/questions")
    assert "No cohort “Evening”" in await people.say(TUTOR, "/questions Evening")
    assert "no answers yet" in await people.say(OTHER_TUTOR, "/questions all goods")
    before = len(fake.sent("sendDocument"))
    await people.say(TUTOR, "/export Tuesday")
    assert len(fake.sent("sendDocument")) == before + 3  # answers, progress, questions

    # /mydata carries the appeal and the decision; /forget erases them.
    await people.say(LEARNER, "/mydata")
    assert fake.sent("sendDocument")
    assert rows(app, "SELECT count(*) FROM review_items") == [(1,)]
    await people.say(LEARNER, "/forget")
    await people.press(LEARNER, button_data(fake, "Yes, erase it"))
    assert rows(app, "SELECT count(*) FROM review_items") == [(0,)]


async def test_flagged_answers_reach_the_queue_without_an_appeal(people: People) -> None:
    await start_kettle(people, LEARNER)
    await people.say(LEARNER, EMPATHY)
    await people.say(LEARNER, "B")
    await people.say(LEARNER, "30 days, the short-term right to reject")
    await people.say(LEARNER, "Back to his debit card, and no fee can be charged")
    before = len(people.fake.calls)
    assert "flagged this answer for your tutor" in await people.say(LEARNER, FLAGGED)
    assert appeal_buttons(people.fake, before) == []  # already on its way to the tutor

    item = await people.say(TUTOR, "/review Tuesday")
    assert "🚩 Flagged by the marker" in item
    assert "Not recognised:" in item
    assert "half off your next kettle" in item
    # Skip goes round to the same (only) item; No comment finishes a decided one.
    assert "🚩 Flagged" in await people.press(TUTOR, button_data(people.fake, "⏭ Skip"))
    await people.press(TUTOR, button_data(people.fake, "🟡 Partial"))
    before = len(people.fake.calls)
    assert "nothing waiting" in await people.press(TUTOR, button_data(people.fake, "No comment"))
    finishing = people.fake.calls[before:]
    assert [c.method for c in finishing] == [
        "answerCallbackQuery",
        "editMessageText",  # the tutor's message becomes the next item
        "sendMessage",  # the learner's notice
    ]
    notice = [c for c in finishing if c.params.get("chat_id") == LEARNER]
    assert "Verdict: 🟡 Partial – as marked" in notice[0].params["text"]


async def test_nobody_to_review_is_said_once_at_the_button(people: People) -> None:
    await start_kettle(people, LONER)
    before = len(people.fake.calls)
    await people.say(LONER, "ok")
    [appeal] = appeal_buttons(people.fake, before)
    assert "nobody to review your answers" in await people.press(LONER, appeal)
    before = len(people.fake.calls)
    await people.say(LONER, "fine")
    assert appeal_buttons(people.fake, before) == []  # not offered again


async def test_only_the_learners_own_tutors_or_an_admin_may_decide(people: People) -> None:
    await start_kettle(people, LEARNER)
    await people.say(LEARNER, "ok")
    appeal = button_data(people.fake, "🙋")
    await people.press(LEARNER, appeal)
    ask = int(appeal.split("|")[1])
    forged = Decide(learner=LEARNER, ask=ask, cohort=0, verdict="c").pack()
    assert "only for tutors" in await people.press(LEARNER, forged)
    assert "not in your cohorts" in await people.press(OTHER_TUTOR, forged)
    assert "only for tutors" in await people.say(LEARNER, "/review")
    assert "No cohort “Tuesday”" in await people.say(OTHER_TUTOR, "/review Tuesday")
    assert "no longer valid" in await people.press(TUTOR, "rd|4|x|0|c")
    assert "Your decision: ✅ Correct" in await people.press(ADMIN, forged)
    stored = rows(people.app, "SELECT decision, decided_by FROM review_items")
    assert stored == [("correct", ADMIN)]


def test_appeal_payload_is_small() -> None:
    assert len(Appeal(ask=2**40).pack()) < 20
    big = Decide(learner=2**62, ask=2**40, cohort=2**40, verdict="c").pack()
    assert len(big.encode()) <= 64


async def test_a_learner_hammering_the_review_desk_is_counted_and_soon_not_answered(
    people: People,
) -> None:
    forged = Decide(learner=LEARNER, ask=0, cohort=0, verdict="c").pack()
    before = len(people.fake.calls)
    for _ in range(30):
        await people.press(LEARNER, forged)
    sent = [
        c for c in people.fake.calls[before:] if c.method in {"sendMessage", "editMessageText"}
    ]
    assert len(sent) == REFUSALS_ANSWERED  # then silence: each answer costs shared budget
    desk = people.app.bot_data.desk
    assert desk is not None
    [(user, what, _, count)] = await desk.staff.denied_attempts()
    assert (user, what, count) == (LEARNER, "a review button", 30)
    # /review and /questions are refused the same way, counted separately.
    assert "only for tutors" in await people.say(LEARNER, "/questions")


async def test_the_desk_shows_the_bank_question_a_step_applies_to_its_case(
    tmp_path: Path, fake: RecordingRequest
) -> None:
    # shoes/period applies ccr-cancel-online to its case under the same id: a tutor reviewing
    # an answer to the bank question must see the bank question, not the step's version.
    async with running_app(tmp_path / "desk.db", fake, (ADMIN,), scenario_dir=None) as app:
        services = app.bot_data
        assert services.kb is not None
        assert services.review_desk is not None
        shown = services.review_desk.questions["ccr-cancel-online"]
        assert shown is services.kb.questions["ccr-cancel-online"]
