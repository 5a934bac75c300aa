"""Revision and a reminder over HTTP: the bot, in this process, long-polls the Bot API emulator
on 127.0.0.1; the reminder is fired by the JobQueue job at a fake clock's time."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from bot.app import build_application
from bot.settings import Settings
from bot.telegram.reminding import JOB_NAME
from tests.bot.emulator import TOKEN, BotApiEmulator
from tests.bot.test_revision import RIGHT, Clock
from tests.conftest import TEST_SCENARIOS

LEARNER = 777
WAIT = 10.0


async def test_cards_revision_and_a_reminder_over_http(tmp_path: Path) -> None:
    clock = Clock()  # Monday 2 March 2026, 09:00 UTC
    async with BotApiEmulator() as emu:
        settings = Settings(
            telegram_bot_token=TOKEN,  # type: ignore[arg-type]
            telegram_api_base_url=emu.base_url,
            database_url=f"sqlite:///{tmp_path / 'coach.db'}",
            _env_file=None,
        )
        app = build_application(settings, scenario_dir=TEST_SCENARIOS, clock=clock)
        async with app:
            await app.post_init(app)  # type: ignore[misc]  # set at build
            await app.start()
            assert app.updater is not None
            await app.updater.start_polling(poll_interval=0.0, timeout=1)
            try:
                emu.user_sends_text(LEARNER, "/settings reminder 18:00")
                await emu.wait_for_message(LEARNER, "every day at 18:00", WAIT)
                emu.user_sends_text(LEARNER, "/scenarios")
                await emu.wait_for_message(LEARNER, "Choose a scenario", WAIT)
                emu.user_presses_button(LEARNER, "Test: faulty kettle")
                await emu.wait_for_message(LEARNER, "Your task", WAIT)
                for line in RIGHT.values():
                    emu.user_sends_text(LEARNER, line)
                    await emu.wait_for_message(LEARNER, "", WAIT)
                await emu.wait_for_message(LEARNER, "🏁 Debrief", WAIT, since=0)

                # The JobQueue's reminder job at 18:00: Monday and Tuesday nothing is due;
                # Wednesday, four cards.
                assert app.job_queue is not None
                [job] = app.job_queue.get_jobs_by_name(JOB_NAME)
                for day in (2, 3):
                    clock.now = datetime(2026, 3, day, 18, 0, 3, tzinfo=UTC)
                    await job.run(app)
                clock.now += timedelta(days=1)
                await job.run(app)
                reminder = await emu.wait_for_message(LEARNER, "🔔 4 revision cards", WAIT, 0)
                assert reminder.buttons[0][0] == "🔁 Revise (4 due)"
                emu.user_presses_button(LEARNER, "🔁 Revise (4 due)")
                asked = await emu.wait_for_message(LEARNER, "🔁 Card 1 of 4", WAIT)
                for _ in range(4):
                    answer = next(a for line, a in RIGHT.items() if line in asked.text)
                    emu.user_sends_text(LEARNER, answer)
                    asked = await emu.wait_for_message(LEARNER, "✅", WAIT)
                assert "🏁 Revision done: 4 of 4 remembered." in asked.text
            finally:
                await app.updater.stop()
                await app.stop()
                await app.post_shutdown(app)  # type: ignore[misc]
