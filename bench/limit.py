"""Through Telegram's limit: the real bot, with its rate limiter (bot/telegram/pacing.py),
against a fake Bot API that answers 429 (retry after 1 s) to any counted call above 30 in the
last second."""

from __future__ import annotations

import asyncio
import json
import statistics
import tempfile
import time
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench.dispatch import AnyApp, bare_app
from bench.workload import CountingRequest, Script, act, rebuild
from bot.app import build_application
from tests.bot.fakes import settings_for

PER_SECOND = 30


@dataclass
class LimitedRequest(CountingRequest):
    """The counting fake, refusing calls with a chat_id beyond 30 in any one second."""

    sent_at: deque[float] = field(default_factory=deque)
    refused: int = 0

    async def do_request(  # noqa: PLR0917  # the signature is BaseRequest's
        self,
        url: str,
        method: str,
        request_data: Any = None,
        read_timeout: Any = None,
        write_timeout: Any = None,
        connect_timeout: Any = None,
        pool_timeout: Any = None,
    ) -> tuple[int, bytes]:
        if request_data is not None and "chat_id" in request_data.parameters:
            now = time.monotonic()
            while self.sent_at and now - self.sent_at[0] >= 1.0:
                self.sent_at.popleft()
            if len(self.sent_at) >= PER_SECOND:
                self.refused += 1
                body = {
                    "ok": False,
                    "error_code": 429,
                    "description": "Too Many Requests: retry after 1",
                    "parameters": {"retry_after": 1},
                }
                return 429, json.dumps(body).encode()
            self.sent_at.append(now)
        return await super().do_request(url, method, request_data)


@dataclass
class Limited:
    actions: int
    seconds: float
    latencies: list[float]
    refused: int

    @property
    def per_s(self) -> float:
        return self.actions / self.seconds

    @property
    def p99_ms(self) -> float:
        return statistics.quantiles(self.latencies, n=100)[98] * 1000


async def through_limit(scripts: list[Script], rate: float | None, *, bare: bool) -> Limited:
    """Replay the scripts at once through the rate limiter: as fast as it lets them (rate
    None), or with actions arriving at `rate` a second; each action's latency is kept."""
    fake = LimitedRequest(record=False)
    with tempfile.TemporaryDirectory() as folder:
        app: AnyApp = (
            bare_app(fake, limited=True)
            if bare
            else build_application(settings_for(Path(folder) / "limit.db"), request=fake)
        )
        async with app:
            if not bare:
                await app.post_init(app)  # type: ignore[misc]  # set at build
            await app.start()
            own = rebuild(scripts, app.bot)
            tickets: asyncio.Queue[None] = asyncio.Queue()
            latencies: list[float] = []
            total = sum(len(s.actions) for s in own)

            async def ticker() -> None:
                for _ in range(total):
                    tickets.put_nowait(None)
                    if rate is not None:
                        await asyncio.sleep(1 / rate)

            async def learner(script: Script) -> None:
                for action in script.actions:
                    await tickets.get()
                    start = time.perf_counter()
                    await act(app, action)
                    latencies.append(time.perf_counter() - start)

            start = time.perf_counter()
            await asyncio.gather(ticker(), *(learner(s) for s in own))
            seconds = time.perf_counter() - start
            await app.stop()
            if not bare:
                await app.post_shutdown(app)  # type: ignore[misc]
    return Limited(total, seconds, latencies, fake.refused)
