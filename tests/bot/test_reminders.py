"""Daily reminders in Telegram, fired by the JobQueue at a fake clock's time (no sleeping)."""

from __future__ import annotations

from datetime import UTC, datetime

from bot.settings import Settings
from bot.telegram.context import CoachApplication
from bot.telegram.reminding import JOB_NAME, ReminderSender
from tests.bot.fakes import RecordingRequest, Updates
from tests.bot.test_revision import RIGHT, Clock, running
from tests.bot.test_telegram import RECORD, button, keyboard_of

EMPATHY = RIGHT["This kettle broke"]


async def fire(app: CoachApplication) -> None:
    """Run the reminder job now, as the JobQueue does each minute."""
    assert app.job_queue is not None
    [job] = app.job_queue.get_jobs_by_name(JOB_NAME)
    await job.run(app)


async def choose_reminder(
    app: CoachApplication, fake: RecordingRequest, updates: Updates, label: str
) -> tuple[str, str]:
    """/settings, then the reminder button `label`: the settings shown, and as saved."""
    await app.process_update(updates.text("/settings"))
    shown = fake.texts()[-1]
    await app.process_update(updates.press(button(fake, label)))
    return shown, str(fake.calls[-1].params["text"])


async def finish_kettle(app: CoachApplication, fake: RecordingRequest, updates: Updates) -> None:
    await app.process_update(updates.text("/scenarios"))
    await app.process_update(updates.press(button(fake, "Test: faulty kettle")))
    for text in (EMPATHY, "A", RIGHT["So what are my rights?"], RECORD):
        await app.process_update(updates.text(text))


async def test_a_daily_reminder_only_when_due_once_a_day_dropped_when_late(
    settings: Settings,
) -> None:
    clock = Clock()  # Monday 2 March 2026, 09:00 UTC (London is on GMT)
    fake = RecordingRequest()
    async with running(settings, fake, clock) as app:
        updates = Updates(app.bot)
        shown, saved = await choose_reminder(app, fake, updates, "18:00")
        assert "🔔 Reminder: off." in shown
        assert "🔔 Reminder: every day at 18:00" in saved
        await finish_kettle(app, fake, updates)  # four cards, due Wednesday

        # Monday and Tuesday 18:00: nothing due, nothing paused, so no message at all.
        fake.clear()
        for day in (2, 3):
            clock.now = datetime(2026, 3, day, 18, 0, 5, tzinfo=UTC)
            await fire(app)
        assert fake.calls == []

        # Wednesday 18:00: one reminder with the button that starts the revision.
        clock.now = datetime(2026, 3, 4, 18, 0, 5, tzinfo=UTC)
        await fire(app)
        assert [c.method for c in fake.calls] == ["sendMessage"]
        assert "🔔 4 revision cards are due today" in fake.texts()[-1]
        assert keyboard_of(fake.calls[-1].params)[0][0]["text"] == "🔁 Revise (4 due)"
        # The next minute, or a second run: not again today.
        fake.clear()
        clock.now = datetime(2026, 3, 4, 18, 1, 5, tzinfo=UTC)
        await fire(app)
        assert fake.calls == []

    # The bot is down on Thursday from 17:00 to 20:00: Thursday's reminder is dropped.
    clock.now = datetime(2026, 3, 5, 20, 0, tzinfo=UTC)
    fake = RecordingRequest()
    async with running(settings, fake, clock) as app:
        sender = app.bot_data.reminders
        assert isinstance(sender, ReminderSender)
        fates = await sender.send_due()
        assert fates == {"dropped": 1}
        assert fake.sent() == []
        # Friday 18:00 it goes again.
        clock.now = datetime(2026, 3, 6, 18, 0, 1, tzinfo=UTC)
        assert await sender.send_due() == {"sent": 1}


async def test_a_learner_who_blocked_the_bot_is_recorded_and_not_reminded_again(
    settings: Settings,
) -> None:
    clock = Clock()
    fake = RecordingRequest()
    async with running(settings, fake, clock) as app:
        updates = Updates(app.bot)
        await app.process_update(updates.text("/settings reminder 8"))
        assert "every day at 08:00" in fake.texts()[-1]
        await app.process_update(updates.text("/settings quiet sat sun"))
        assert "Quiet days: Sat, Sun." in fake.texts()[-1]
        await app.process_update(updates.text("/scenarios"))
        await app.process_update(updates.press(button(fake, "Test: faulty kettle")))
        await app.process_update(updates.text("/menu"))  # a paused scenario is worth a nudge
        fake.blocked_chats.add(777)
        clock.now = datetime(2026, 3, 3, 8, 0, tzinfo=UTC)
        sender = app.bot_data.reminders
        assert isinstance(sender, ReminderSender)
        assert await sender.send_due() == {"blocked": 1}
        fake.clear()
        clock.now = datetime(2026, 3, 4, 8, 0, tzinfo=UTC)
        assert await sender.send_due() == {}
        assert fake.calls == []


async def test_quiet_days_and_bad_settings(settings: Settings) -> None:
    clock = Clock()  # a Monday
    fake = RecordingRequest()
    async with running(settings, fake, clock) as app:
        updates = Updates(app.bot)
        await app.process_update(updates.text("/settings reminder 25:00"))
        assert "is not a time of day" in fake.texts()[-1]
        await app.process_update(updates.text("/settings quiet funday"))
        assert "Nothing was changed" in fake.texts()[-1]
        await app.process_update(updates.text("/settings reminder 20:00"))
        await app.process_update(updates.text("/settings quiet mon tue"))
        await app.process_update(updates.text("/scenarios"))
        await app.process_update(updates.press(button(fake, "Test: faulty kettle")))
        await app.process_update(updates.text("/menu"))
        sender = app.bot_data.reminders
        assert isinstance(sender, ReminderSender)
        clock.now = datetime(2026, 3, 2, 20, 0, tzinfo=UTC)  # Monday: quiet
        assert await sender.send_due() == {}
        clock.now = datetime(2026, 3, 4, 20, 0, tzinfo=UTC)  # Wednesday
        fates = await sender.send_due()
        assert fates == {"sent": 1}
        assert "You left the scenario “Test: faulty kettle” unfinished" in fake.texts()[-1]
        await app.process_update(updates.press(button(fake, "🔕 No reminder")))
        assert "🔔 Reminder: off." in str(fake.calls[-1].params["text"])
        clock.now = datetime(2026, 3, 5, 20, 0, tzinfo=UTC)
        assert await sender.send_due() == {}


async def test_a_new_reminder_time_after_todays_reminder_starts_tomorrow(
    settings: Settings,
) -> None:
    clock = Clock()  # Monday 2 March 2026, 09:00 UTC (London is on GMT)
    fake = RecordingRequest()
    async with running(settings, fake, clock) as app:
        updates = Updates(app.bot)
        await choose_reminder(app, fake, updates, "08:00")
        await finish_kettle(app, fake, updates)  # four cards, due Wednesday
        for day in (3, 4):  # Tuesday: nothing due, so nothing sent; Wednesday: the reminder
            clock.now = datetime(2026, 3, day, 8, 0, 5, tzinfo=UTC)
            await fire(app)
        assert "🔔 4 revision cards are due today" in fake.texts()[-1]

        # Later that morning the learner moves the reminder to the evening: not again today.
        clock.now = datetime(2026, 3, 4, 10, 0, tzinfo=UTC)
        await app.process_update(updates.text("/settings reminder 18:00"))
        fake.clear()
        clock.now = datetime(2026, 3, 4, 18, 0, 5, tzinfo=UTC)
        await fire(app)
        assert fake.calls == []
        clock.now = datetime(2026, 3, 5, 18, 0, 5, tzinfo=UTC)
        await fire(app)
        assert [c.method for c in fake.calls] == ["sendMessage"]

        # Before a day's reminder has gone, a new time still counts today.
        clock.now = datetime(2026, 3, 6, 9, 0, tzinfo=UTC)
        await app.process_update(updates.text("/settings reminder 12:30"))
        fake.clear()
        clock.now = datetime(2026, 3, 6, 12, 30, 5, tzinfo=UTC)
        await fire(app)
        assert [c.method for c in fake.calls] == ["sendMessage"]
