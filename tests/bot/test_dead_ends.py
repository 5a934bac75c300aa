"""Rough edges of the chat in Telegram, each as the chat that found it."""

from __future__ import annotations

from pathlib import Path

from bot.telegram.context import CoachApplication
from tests.bot.fakes import RecordingRequest, Updates
from tests.bot.people import People, running_app
from tests.bot.test_telegram import EMPATHY, button, keyboard_of

LEARNER = 5


def labels(fake: RecordingRequest) -> list[str]:
    """The buttons of the latest message sent."""
    return [b["text"] for row in keyboard_of(fake.sent()[-1].params) for b in row]


async def test_an_invalid_pick_in_the_scenario_list_keeps_the_list(
    tmp_path: Path, fake: RecordingRequest
) -> None:
    async with running_app(tmp_path / "coach.db", fake, (), scenario_dir=None) as app:
        people = People(app, fake)
        await people.say(LEARNER, "/scenarios")
        listed = labels(fake)
        assert len(listed) == 13  # the 12 shipped scenarios and ◀ Back
        for typed, said in [
            ("14", "There's no option 14 here – choose 1–13, or tap a button."),
            ("99", "There's no option 99 here – choose 1–13, or tap a button."),
            ("hello", "That isn't one of the options here – choose 1–13, or tap a button."),
        ]:
            before = len(fake.calls)
            text = await people.say(LEARNER, typed)
            assert text.startswith(f"{said}\n\n🎭 Choose a scenario to practise:")
            assert labels(fake) == listed  # the same list, in one message
            assert [c.method for c in fake.calls[before:]] == ["sendMessage"]
        await people.say(LEARNER, "13")  # ◀ Back
        assert labels(fake)[0] == "🎭 Practise a scenario"
        assert "hello" not in await people.say(LEARNER, "hello")
        assert "choose 1–5, or tap a button" in fake.texts()[-1]
        await people.say(LEARNER, "1")
        assert labels(fake) == listed
        text = await people.say(LEARNER, "2")  # the second scenario starts, as its button would
        assert f"🎭 {listed[1]}" in text


async def test_back_at_a_scenario_step_shows_the_step_before_and_changes_nothing(
    app: CoachApplication, fake: RecordingRequest, updates: Updates
) -> None:
    await app.process_update(updates.text("/start"))
    await app.process_update(updates.press(button(fake, "🎭 Practise a scenario")))
    await app.process_update(updates.press(button(fake, "Test: faulty kettle")))
    assert "◀ Back" not in labels(fake)  # the first step
    await app.process_update(updates.text(EMPATHY))
    assert labels(fake) == ["A", "B", "C", "◀ Back"]
    option_a, back = button(fake, "A"), button(fake, "◀ Back")

    await app.process_update(updates.press(back, message_id=1004))
    looked = fake.sent()[-1].params
    assert str(looked["text"]).startswith("⏪ Looking back: step 1 of the 1 you've answered")
    assert f"Your answer: “{EMPATHY}” ✅" in str(looked["text"])
    assert "still counts" in str(looked["text"])
    assert labels(fake) == ["▶ Continue"]

    await app.process_update(updates.press(button(fake, "▶ Continue"), message_id=1005))
    [edit] = fake.sent("editMessageText")
    assert edit.params["message_id"] == 1005
    assert "What do you need to know?" in str(edit.params["text"])
    assert [b["text"] for row in keyboard_of(edit.params) for b in row] == [
        "A",
        "B",
        "C",
        "◀ Back",
    ]

    await app.process_update(updates.press(option_a, message_id=1004))  # answered as before
    assert "When did you buy it? ✅" in str(fake.sent("editMessageText")[-1].params["text"])
    fake.clear()
    await app.process_update(updates.press(back, message_id=1004))  # stale now
    assert fake.texts() == [
        "That button belongs to a question you've moved on from – nothing was changed. Answer"
        " the latest question, or send /resume to see it again."
    ]
    await app.process_update(updates.text("/progress"))
    assert "Answers given: 2" in fake.texts()[-1]
