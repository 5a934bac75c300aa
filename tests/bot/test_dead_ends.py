"""Rough edges of the chat in Telegram, each as the chat that found it."""

from __future__ import annotations

from pathlib import Path

from tests.bot.fakes import RecordingRequest
from tests.bot.people import People, running_app
from tests.bot.test_telegram import keyboard_of

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
