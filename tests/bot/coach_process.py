"""Run the real `coach run` as a subprocess against the Bot API emulator, and stop it."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import IO, TypeVar

from tests.bot.emulator import TOKEN, BotApiEmulator

COACH = Path(sys.executable).parent / "coach"
SHUTDOWN_SECONDS = 15.0
T = TypeVar("T")


@dataclass(frozen=True)
class Finished:
    """How the process ended after SIGTERM."""

    exit_code: int | None
    shutdown_seconds: float
    log: str


async def run_coach(
    emu: BotApiEmulator,
    tmp_path: Path,
    bot_log: IO[bytes],
    conversation: Callable[[], Awaitable[T]],
    *,
    conversation_seconds: float,
    extra_env: dict[str, str] | None = None,
) -> tuple[T, Finished]:
    """Start `coach run`, hold the conversation, send SIGTERM; always kill in the end."""
    process = await start_coach(emu, tmp_path, bot_log, extra_env)
    try:
        result = await asyncio.wait_for(conversation(), timeout=conversation_seconds)
        began = time.monotonic()
        process.send_signal(signal.SIGTERM)
        code = await asyncio.wait_for(process.wait(), timeout=SHUTDOWN_SECONDS)
        shutdown = time.monotonic() - began
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
    log = (tmp_path / "bot.log").read_text(errors="replace")
    return result, Finished(code, shutdown, log)


async def start_coach(
    emu: BotApiEmulator,
    tmp_path: Path,
    bot_log: IO[bytes],
    extra_env: dict[str, str] | None = None,
) -> asyncio.subprocess.Process:
    """`coach run` on the emulator and tmp_path/e2e.db; the caller stops (or kills) it."""
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("WEBHOOK_")},
        "TELEGRAM_BOT_TOKEN": TOKEN,
        "TELEGRAM_API_BASE_URL": emu.base_url,
        "DATABASE_URL": f"sqlite:///{tmp_path / 'e2e.db'}",
        "LOG_LEVEL": "INFO",
        **(extra_env or {}),
    }
    # cwd=tmp_path: a developer's .env must not leak into the test.
    return await asyncio.create_subprocess_exec(
        str(COACH), "run", env=env, cwd=tmp_path, stdout=bot_log, stderr=bot_log
    )


def assert_clean_run(emu: BotApiEmulator, finished: Finished) -> None:
    """Exit 0 in time, no unknown or refused Bot API calls, no traceback."""
    log = finished.log
    assert finished.exit_code == 0, f"coach run exited with {finished.exit_code}:\n{log}"
    assert finished.shutdown_seconds < SHUTDOWN_SECONDS
    assert emu.unknown == [], f"the bot called methods Telegram does not have: {emu.unknown}"
    refused = [f"{c.method} {c.status}" for c in emu.calls if c.status != 200]
    assert refused == [], f"the emulator refused {refused}:\n{log}"
    assert "Traceback" not in log, log
