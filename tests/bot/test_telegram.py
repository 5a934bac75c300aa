"""The Telegram bot through Application.process_update, with a recording fake of the Bot API."""

import json

import pytest

import bot.app
from bot.settings import Settings
from bot.telegram.context import CoachApplication
from bot.telegram.render import split_text
from tests.bot.fakes import BOT_USERNAME, RecordingRequest, Updates

EMPATHY = "I'm so sorry, I understand how frustrating that is. Let me sort this out for you."
RECORD = "Mrs Patel, ref RET-1042, kettle not heating, refund agreed, follow up by phone Friday"


def keyboard_of(params: dict[str, object]) -> list[list[dict[str, str]]]:
    markup = params.get("reply_markup")
    if markup is None:
        return []
    data = json.loads(markup) if isinstance(markup, str) else markup
    assert isinstance(data, dict)
    return data["inline_keyboard"]  # type: ignore[no-any-return]


def button(fake: RecordingRequest, label: str) -> str:
    """The callback data of the latest button sent with this label (or starting with it)."""
    for call in reversed(fake.calls):
        for row in keyboard_of(call.params):
            for item in row:
                if item["text"].startswith(label):
                    return item["callback_data"]
    raise AssertionError(f"no button {label!r} was sent")


async def test_start_registers_commands_and_shows_the_menu(
    app: CoachApplication, fake: RecordingRequest, updates: Updates
) -> None:
    assert fake.sent("setMyCommands")
    await app.process_update(updates.text("/start"))
    texts = fake.texts()
    assert "Welcome to Aftercare Coach" in texts[0]
    labels = [b["text"] for row in keyboard_of(fake.sent()[-1].params) for b in row]
    assert "🎭 Practise a scenario" in labels
    assert fake.sent()[0].params["parse_mode"] == "HTML"


async def test_a_whole_scenario_with_buttons_and_free_text(
    app: CoachApplication, fake: RecordingRequest, updates: Updates
) -> None:
    await app.process_update(updates.text("/start"))
    await app.process_update(updates.press(button(fake, "🎭 Practise a scenario")))
    assert fake.sent("answerCallbackQuery")
    await app.process_update(updates.press(button(fake, "Test: faulty kettle")))
    assert "Mrs Patel" in fake.texts()[-1]

    await app.process_update(updates.text(EMPATHY))
    assert "✅ Correct." in "\n".join(fake.texts())
    await app.process_update(updates.press(button(fake, "A")))
    edits = fake.sent("editMessageText")
    assert edits
    assert "Your answer: A) When did you buy it? ✅" in str(edits[0].params["text"])
    # The options can't be pressed twice: the next (typed) step keeps only its ◀ Back.
    assert [b["text"] for row in keyboard_of(edits[0].params) for b in row] == ["◀ Back"]

    await app.process_update(updates.text("30 days"))
    await app.process_update(updates.text(RECORD))
    assert "🏁 Debrief: Test: faulty kettle" in "\n".join(fake.texts())


async def test_html_is_escaped(
    app: CoachApplication, fake: RecordingRequest, updates: Updates
) -> None:
    await app.process_update(updates.text("/law <b>xyzzy</b> & co"))
    text = fake.texts()[-1]
    assert "&lt;b&gt;xyzzy&lt;/b&gt; &amp; co" in text
    assert "<b>" not in text


async def test_law_progress_mydata_and_forget(
    app: CoachApplication, fake: RecordingRequest, updates: Updates
) -> None:
    await app.process_update(updates.text("/law refund card fee"))
    assert "Source: https://" in fake.texts()[-1]
    await app.process_update(updates.text("/progress"))
    assert "No progress yet" in fake.texts()[-1]
    await app.process_update(updates.text("/mydata"))
    documents = fake.sent("sendDocument")
    assert len(documents) == 1
    await app.process_update(updates.text("/forget"))
    await app.process_update(updates.press(button(fake, "Yes, erase it")))
    assert "erased" in fake.texts()[-1]


@pytest.mark.parametrize(
    ("make", "reply"),
    [
        (lambda u: u.sticker(), "I can only read text"),
        (lambda u: u.photo(), "I can only read text"),
        (lambda u: u.edited("30 days"), "send your corrected answer as a new message"),
        (lambda u: u.text("/frobnicate"), "I don't know /frobnicate"),
        (lambda u: u.press("forged|data|x"), "no longer valid"),
        (lambda u: u.text("x" * 5000), "very long"),
    ],
    ids=["sticker", "photo", "edited", "unknown-command", "forged-button", "huge-message"],
)
async def test_bad_input_gets_a_friendly_reply(
    app: CoachApplication, fake: RecordingRequest, updates: Updates, make: object, reply: str
) -> None:
    await app.process_update(make(updates))  # type: ignore[operator]
    assert reply in fake.texts()[-1]


async def test_group_messages_are_ignored_unless_addressed(
    app: CoachApplication, fake: RecordingRequest, updates: Updates
) -> None:
    group = {"id": -100123, "type": "supergroup", "title": "Cohort chat"}
    await app.process_update(updates.text("hello everyone", chat=group))
    await app.process_update(updates.text("/start@some_other_bot", chat=group))
    assert fake.sent() == []
    await app.process_update(updates.text(f"hey @{BOT_USERNAME} help", chat=group))
    assert "private chat" in fake.texts()[-1]


async def test_commands_keep_working_when_set_my_commands_fails(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(bot.app, "STARTUP_RETRY_DELAY", 0.0)
    fake = RecordingRequest(fail_methods={"setMyCommands": 10})
    application = bot.app.build_application(settings, request=fake)
    async with application:
        assert await bot.app.register_commands(application) is False
        assert len(fake.sent("setMyCommands")) == bot.app.STARTUP_RETRIES


def test_long_texts_are_split_at_line_breaks() -> None:
    text = "\n".join(f"line {i} " + "x" * 90 for i in range(100))
    chunks = split_text(text, limit=4096)
    assert len(chunks) == 3
    assert all(len(c) <= 4096 for c in chunks)
    assert "\n".join(chunks) == text
    assert split_text("y" * 5000, limit=4096) == ["y" * 4096, "y" * 904]


async def test_quiz_poll_answer_is_routed_by_poll_id_and_marked(
    app: CoachApplication, fake: RecordingRequest, updates: Updates
) -> None:
    await app.process_update(updates.text("/quiz"))
    await app.process_update(updates.press(button(fake, "Faulty goods basics")))
    assert "Question 1 of 8" in "\n".join(fake.texts())
    await app.process_update(updates.text("30 days"))  # the first question is typed
    polls = fake.sent("sendPoll")
    assert len(polls) == 1
    poll = polls[0].params
    assert poll["type"] == "quiz"
    assert poll["is_anonymous"] is False
    assert len(str(poll["explanation"])) <= 200
    poll_id = "5000"  # the fake numbers polls from 5000
    [correct] = poll["correct_option_ids"]
    assert app.bot_data.polls is not None
    recipient = await app.bot_data.polls.poll_recipient(poll_id)
    assert recipient is not None
    poll_question = recipient[1]

    fake.clear()
    await app.process_update(updates.poll_answer(poll_id, correct))
    # The poll itself shows the verdict; the next poll carries its header: one call.
    [next_poll] = fake.calls
    assert next_poll.method == "sendPoll"
    assert str(next_poll.params["question"]).startswith("⚡ Question 3 of 8\n")
    coach = app.bot_data.coach
    assert coach is not None
    answers = await coach.store.answers(777)
    assert [a.outcome for a in answers if a.question_id == poll_question] == ["correct"]

    fake.clear()
    await app.process_update(updates.poll_answer(poll_id, correct))  # an old poll again
    assert "already closed" in fake.texts()[0]
    fake.clear()
    await app.process_update(updates.poll_answer("999999", 0))  # never sent: ignored
    assert fake.calls == []


async def test_a_reply_telegram_refuses_points_the_learner_to_resume(
    app: CoachApplication, fake: RecordingRequest, updates: Updates
) -> None:
    fake.fail_methods["sendMessage"] = 1
    await app.process_update(updates.text("/help"))
    assert "Your answer is saved: send /resume" in fake.texts()[-1]


async def test_429_is_retried_after_retry_after(
    app: CoachApplication, fake: RecordingRequest, updates: Updates
) -> None:
    fake.flood_methods["sendMessage"] = 1
    await app.process_update(updates.text("/help"))
    sends = fake.sent()
    assert len(sends) == 2  # refused once with 429, then delivered
    assert "How it works" in str(sends[-1].params["text"])
