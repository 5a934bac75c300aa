"""Bot API calls per learner action (DESIGN rule 16): counted on the recording fake, per kind.

Every call counts against the bot's ~30 a second, so one action should cost about one call:
the verdict, the feedback and the next question in one message; a pressed question edited
into its verdict with the next question in the same edit; no "typing…" chat action.
"""

from telegram import Update

from bot.telegram.context import CoachApplication
from tests.bot.fakes import RecordingRequest, Updates
from tests.bot.test_telegram import EMPATHY, RECORD, button


async def calls_for(app: CoachApplication, fake: RecordingRequest, update: Update) -> list[str]:
    """The Bot API methods one update cost."""
    fake.clear()
    await app.process_update(update)
    return [call.method for call in fake.calls]


async def test_a_scenario_costs_one_call_per_typed_answer_and_two_per_button(
    app: CoachApplication, fake: RecordingRequest, updates: Updates
) -> None:
    # A command: the welcome and the menu are one message.
    assert await calls_for(app, fake, updates.text("/start")) == ["sendMessage"]
    # A button: the callback answer (it stops the spinner) and one message.
    pressed = updates.press(button(fake, "🎭 Practise a scenario"))
    assert await calls_for(app, fake, pressed) == ["answerCallbackQuery", "sendMessage"]
    # Starting a scenario: its introduction and first step in one message.
    pressed = updates.press(button(fake, "Test: faulty kettle"))
    assert await calls_for(app, fake, pressed) == ["answerCallbackQuery", "sendMessage"]
    assert "📝 Your task" in fake.texts()[0]
    assert "Mrs Patel" in fake.texts()[0]

    # A typed answer: verdict, feedback and the next question in one message.
    assert await calls_for(app, fake, updates.text(EMPATHY)) == ["sendMessage"]
    [text] = fake.texts()
    assert text.startswith("✅ Correct.")
    assert "📝 Your task" in text

    # An option button: the pressed question is edited into its verdict and the next step.
    pressed = updates.press(button(fake, "A"))
    assert await calls_for(app, fake, pressed) == ["answerCallbackQuery", "editMessageText"]
    edited = str(fake.sent("editMessageText")[0].params["text"])
    assert "Your answer: A) When did you buy it? ✅" in edited
    assert edited.count("📝 Your task") == 2  # the question pressed, then the next one

    # A wrong typed answer: the retry, with its hint, is one message.
    assert await calls_for(app, fake, updates.text("no idea")) == ["sendMessage"]
    assert await calls_for(app, fake, updates.text("30 days")) == ["sendMessage"]
    # The last answer: verdict, debrief and the menu in one message.
    assert await calls_for(app, fake, updates.text(RECORD)) == ["sendMessage"]
    assert "🏁 Debrief: Test: faulty kettle" in fake.texts()[0]


async def test_a_quiz_costs_one_call_per_poll_vote(
    app: CoachApplication, fake: RecordingRequest, updates: Updates
) -> None:
    assert await calls_for(app, fake, updates.text("/quiz")) == ["sendMessage"]
    pressed = updates.press(button(fake, "Faulty goods basics"))
    assert await calls_for(app, fake, pressed) == ["answerCallbackQuery", "sendMessage"]
    # A typed answer before a poll: the verdict, then the poll with its header folded in.
    assert await calls_for(app, fake, updates.text("30 days")) == ["sendMessage", "sendPoll"]
    votes = 0
    while (polls := fake.sent("sendPoll")) and votes < 10:
        poll_id = str(5000 + votes)  # the fake numbers polls from 5000
        [correct] = polls[-1].params["correct_option_ids"]
        methods = await calls_for(app, fake, updates.poll_answer(poll_id, correct))
        # The poll shows its own verdict: only the next question (or the summary) is sent.
        assert len(methods) == 1, methods
        votes += 1
    assert votes >= 2


async def test_no_typing_action_is_sent(
    app: CoachApplication, fake: RecordingRequest, updates: Updates
) -> None:
    for text in ("/start", "/help", "/quiz", "/progress"):
        await app.process_update(updates.text(text))
    assert fake.sent("sendChatAction") == []


async def test_looking_back_costs_the_callback_answer_and_one_message_or_edit(
    app: CoachApplication, fake: RecordingRequest, updates: Updates
) -> None:
    await app.process_update(updates.text("/start"))
    await app.process_update(updates.press(button(fake, "🎭 Practise a scenario")))
    await app.process_update(updates.press(button(fake, "Test: faulty kettle")))
    await app.process_update(updates.text(EMPATHY))
    await app.process_update(updates.press(button(fake, "A")))
    # "◀ Back" under the next question: the look-back comes as a message of its own.
    pressed = updates.press(button(fake, "◀ Back"))
    assert await calls_for(app, fake, pressed) == ["answerCallbackQuery", "sendMessage"]
    assert fake.texts()[0].startswith("⏪ Looking back: step 2 of the 2")
    # Further back, and on again: the look-back is edited in place.
    pressed = updates.press(button(fake, "◀ Back"))
    assert await calls_for(app, fake, pressed) == ["answerCallbackQuery", "editMessageText"]
    pressed = updates.press(button(fake, "▶ Continue"))
    assert await calls_for(app, fake, pressed) == ["answerCallbackQuery", "editMessageText"]
