"""The real bot as a subprocess (`coach run`) in webhook mode against the Bot API emulator.

Telegram's side of a webhook is played by the test: the emulator records setWebhook, and the
test POSTs updates to the bot's own webhook server, with the right secret token and a wrong one,
and asks its GET /healthz (current, then with a migration gone).
"""

import asyncio
import socket
import sqlite3
import time
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

import aiohttp
import pytest

from tests.bot.coach_process import assert_clean_run, run_coach
from tests.bot.emulator import TOKEN, BotApiEmulator, Call

LEARNER = 424_242
WEBHOOK_URL = "https://coach.example.test/telegram/hook"
SECRET = "a-long-secret_123"
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
STARTUP_SECONDS = 20.0
REPLY_SECONDS = 5.0
QUIET_SECONDS = 1.0
CONVERSATION_SECONDS = 30.0  # with the shutdown, the test ends within 45 s whatever happens


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@pytest.fixture
def bot_log(tmp_path: Path) -> Iterator[IO[bytes]]:
    with (tmp_path / "bot.log").open("wb") as log:
        yield log


async def test_the_real_bot_serves_a_webhook_and_refuses_a_wrong_secret(
    tmp_path: Path, bot_log: IO[bytes]
) -> None:
    port = free_port()
    hook = f"http://127.0.0.1:{port}/telegram/hook"
    webhook_env = {
        "WEBHOOK_URL": WEBHOOK_URL,
        "WEBHOOK_SECRET": SECRET,
        "WEBHOOK_LISTEN": "127.0.0.1",
        "WEBHOOK_PORT": str(port),
    }
    async with BotApiEmulator(token=TOKEN) as emu:
        _, finished = await run_coach(
            emu,
            tmp_path,
            bot_log,
            lambda: converse_then_ask_health(emu, hook, tmp_path / "e2e.db"),
            conversation_seconds=CONVERSATION_SECONDS,
            extra_env=webhook_env,
        )
    assert emu.sent("getUpdates") == [], "the bot polled although it serves a webhook"
    assert_clean_run(emu, finished)


async def converse(emu: BotApiEmulator, hook: str) -> None:
    """setWebhook as configured; /start with the secret is answered, without it refused."""
    await emu.wait_for(lambda c: c.method == "setWebhook" and c.status == 200, STARTUP_SECONDS)
    assert emu.webhook is not None
    assert emu.webhook["url"] == WEBHOOK_URL
    assert emu.webhook["secret_token"] == SECRET

    async with aiohttp.ClientSession() as session:
        # user_sends_text builds the Update JSON (and lets the bot write to the learner); in
        # webhook mode nobody polls, so the test delivers it as Telegram would.
        update = emu.user_sends_text(LEARNER, "/start")
        assert await post(session, hook, update, SECRET) == 200
        welcome = await emu.wait_for_message(LEARNER, "Welcome to Aftercare Coach", REPLY_SECONDS)
        assert welcome.method == "sendMessage"
        menu = await emu.wait_for(lambda c: bot_wrote(c) and bool(c.buttons), REPLY_SECONDS)
        assert "🎭 Practise a scenario" in [label for label, _ in menu.buttons]  # /start's end

        update = emu.user_sends_text(LEARNER, "/start")
        assert await post(session, hook, update, "not-the-secret") == 403
        await asyncio.sleep(QUIET_SECONDS)
        sent = [c for c in emu.calls[emu.calls.index(menu) + 1 :] if bot_wrote(c)]
        assert sent == [], f"the bot answered a forged update: {[c.text for c in sent]}"


async def converse_then_ask_health(emu: BotApiEmulator, hook: str, database: Path) -> None:
    await converse(emu, hook)
    health = hook.replace("/telegram/hook", "/healthz")
    async with aiohttp.ClientSession() as session:
        async with session.get(health) as reply:
            assert reply.status == 200
            assert reply.headers["Content-Type"] == "application/json"
            assert await reply.json() == {"database": "ok", "migrations": "current"}
        # As if the schema lost a migration behind the bot's back: the check says which.
        with sqlite3.connect(database) as db:
            db.execute("DELETE FROM schema_version WHERE version = 10")
        async with session.get(health) as reply:
            assert reply.status == 503
            assert await reply.json() == {
                "database": "ok",
                "migrations": "pending: 0010_review_queue",
            }


def bot_wrote(call: Call) -> bool:
    return call.method.startswith(("send", "edit")) and call.chat_id == LEARNER


async def post(session: aiohttp.ClientSession, hook: str, update: Any, secret: str) -> int:
    """The HTTP status of Telegram's POST; setWebhook precedes the server's listen, so retry."""
    deadline = time.monotonic() + REPLY_SECONDS
    while True:
        try:
            async with session.post(hook, json=update, headers={SECRET_HEADER: secret}) as reply:
                return reply.status
        except aiohttp.ClientConnectorError:
            if time.monotonic() > deadline:
                raise
            await asyncio.sleep(0.05)
