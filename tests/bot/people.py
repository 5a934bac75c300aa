"""Several Telegram users talking to one application through the recording fake."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from pathlib import Path

from bot.app import build_application
from bot.telegram.context import CoachApplication
from tests.bot.fakes import RecordingRequest, Updates, settings_for
from tests.conftest import TEST_SCENARIOS


@asynccontextmanager
async def running_app(
    db_path: Path,
    fake: RecordingRequest,
    admin_ids: Sequence[int],
    scenario_dir: Path | None = TEST_SCENARIOS,
) -> AsyncIterator[CoachApplication]:
    """The bot on the test scenarios (None: the shipped ones), started as `coach run` starts
    it, over the fake."""
    settings = settings_for(db_path, admin_ids=tuple(admin_ids))
    application = build_application(settings, request=fake, scenario_dir=scenario_dir)
    async with application:
        await application.post_init(application)  # type: ignore[misc]
        await application.start()
        try:
            yield application
        finally:  # a failed assertion inside must still stop the bot, or the test hangs
            await application.stop()
            await application.post_shutdown(application)  # type: ignore[misc]


class People:
    """One Updates builder per user (ids 1-9), all talking to the same application."""

    def __init__(self, app: CoachApplication, fake: RecordingRequest) -> None:
        self.app = app
        self.fake = fake
        self.users = {uid: self.person(uid) for uid in range(1, 10)}

    def person(self, uid: int) -> Updates:
        updates = Updates(
            self.app.bot, user_id=uid, first_name=f"U{uid}", first_update_id=uid * 1_000_000
        )
        updates.user["username"] = f"u{uid}"  # Telegram usernames are unique
        return updates

    async def say(self, user_id: int, text: str) -> str:
        """Send a message; the texts of the messages the bot sent in reply."""
        before = len(self.fake.sent())
        await self.app.process_update(self.users[user_id].text(text))
        sent = self.fake.sent()[before:]
        return "\n".join(str(c.params.get("text", "")) for c in sent)

    async def press(self, user_id: int, data: str) -> str:
        """Press a button; the text its message was edited to, or the messages sent."""
        edits = len(self.fake.sent("editMessageText"))
        before = len(self.fake.sent())
        await self.app.process_update(self.users[user_id].press(data))
        edited = self.fake.sent("editMessageText")[edits:]
        sent = edited or self.fake.sent()[before:]
        return "\n".join(str(c.params.get("text", "")) for c in sent)


def button_data(fake: RecordingRequest, label: str) -> str:
    """The callback data of the newest button whose label starts with `label`."""
    for call in reversed(fake.calls):
        markup = call.params.get("reply_markup")
        if isinstance(markup, dict):
            for row in markup["inline_keyboard"]:
                for item in row:
                    if item["text"].startswith(label):
                        return str(item["callback_data"])
    raise AssertionError(label)


@asynccontextmanager
async def started(
    app: CoachApplication, fake: RecordingRequest
) -> AsyncIterator[CoachApplication]:
    """`app` started and stopped as `coach run` does (minus polling or the webhook server),
    then no call the fake did not expect."""
    async with app:
        await app.post_init(app)  # type: ignore[misc]
        await app.start()
        try:
            yield app
        finally:
            await app.stop()
            await app.post_shutdown(app)  # type: ignore[misc]
    assert fake.unexpected == [], fake.unexpected
