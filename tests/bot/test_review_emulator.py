"""Appeal → review → learner told, over HTTP: the bot polls the Bot API emulator on 127.0.0.1."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from bot.app import build_application
from bot.settings import Settings
from tests.bot.emulator import TOKEN, BotApiEmulator
from tests.conftest import TEST_SCENARIOS

ADMIN = 11
LEARNER = 31337
SECONDS = 10.0


async def test_an_appeal_reviewed_over_http(tmp_path: Path) -> None:
    database = tmp_path / "review.db"
    async with BotApiEmulator(token=TOKEN) as emu:
        settings = Settings(
            telegram_bot_token=TOKEN,  # type: ignore[arg-type]
            telegram_api_base_url=emu.base_url,
            database_url=f"sqlite:///{database}",
            admin_ids=(ADMIN,),
            _env_file=None,
        )
        app = build_application(settings, scenario_dir=TEST_SCENARIOS)
        async with app:
            await app.post_init(app)  # type: ignore[misc]
            await app.start()
            assert app.updater is not None
            await app.updater.start_polling(poll_interval=0, timeout=1)
            try:
                await converse(emu)
            finally:
                await app.updater.stop()
                await app.stop()
                await app.post_shutdown(app)  # type: ignore[misc]
    with sqlite3.connect(database) as db:
        stored = db.execute(
            "SELECT r.machine_outcome, r.decision, r.decided_by, a.outcome FROM review_items r"
            " JOIN answers a ON a.id = r.answer_id"
        ).fetchall()
    assert stored == [("incorrect", "correct", ADMIN, "correct")]


async def converse(emu: BotApiEmulator) -> None:
    await emu.wait_until_polling(SECONDS)
    emu.user_sends_text(ADMIN, "/cohort new Evening")
    created = await emu.wait_for_message(ADMIN, "start=join_", SECONDS)
    code = created.text.split("start=join_")[1].split()[0]
    emu.user_sends_text(LEARNER, f"/join {code}")
    await emu.wait_for_message(LEARNER, "You've joined Evening", SECONDS)

    emu.user_sends_text(LEARNER, "/scenarios")
    await emu.wait_for_message(LEARNER, "Choose a scenario", SECONDS)
    emu.user_presses_button(LEARNER, "Test: faulty kettle")
    await emu.wait_for_message(LEARNER, "Mrs Patel", SECONDS)
    emu.user_sends_text(LEARNER, "ok")
    verdict = await emu.wait_for_message(LEARNER, "Try again", SECONDS)
    assert "🙋 I think this is right" in [label for label, _ in verdict.buttons]
    emu.user_presses_button(LEARNER, "🙋")
    await emu.wait_for_message(LEARNER, "Sent to your tutor's review queue", SECONDS)

    emu.user_sends_text(ADMIN, "/review")
    item = await emu.wait_for_message(ADMIN, "🙋 Appealed by the learner", SECONDS)
    assert "“ok”" in item.text
    emu.user_presses_button(ADMIN, "✅ Correct")
    await emu.wait_for_message(ADMIN, "Your decision: ✅ Correct", SECONDS)
    emu.user_presses_button(ADMIN, "No comment")
    await emu.wait_for_message(ADMIN, "nothing waiting", SECONDS)
    notice = await emu.wait_for_message(LEARNER, "Your tutor has reviewed your answer", SECONDS)
    assert "Verdict: ✅ Correct (it was marked ❌ Incorrect)" in notice.text
