"""Every Bot API send paced evenly under Telegram's limits; learners' replies go before pushes.

Telegram lets a bot send about 30 messages a second, and about 20 a minute in one group, and
answers 429 with `retry_after` beyond (Bot FAQ, "My bot is hitting limits",
https://core.telegram.org/bots/faq#my-bot-is-hitting-limits-how-do-i-avoid-this). PTB's
AIORateLimiter (which PTB's documentation calls a "minimal effort reference implementation" of
`BaseRateLimiter`) keeps aiolimiter leaky buckets that let `overall_max_rate` sends go at once
and then refill at that rate: up to twice the limit in the first second, so a push bursts into
429s, and each 429 halts all sends for retry_after + 0.1 s. Its queue is first come, first
served, so a learner answering during a push waits behind every push send already queued
(about a second). This limiter hands out one send slot every 1/29 s (at most 30 in any second,
with a send's worth of slack for network jitter), gives a waiting reply the next slot before any
bulk send, and after a 429 hands out no slot until retry_after has passed.

Only calls with a `chat_id` are paced, as in AIORateLimiter, whose documentation says "the
overall_limiter is applied only if a chat_id argument is present at all"
(https://docs.python-telegram-bot.org/en/stable/telegram.ext.aioratelimiter.html), and as
Telegram states its limits, in messages: `answerCallbackQuery` and `getUpdates` have no chat
and are not counted against the message budget; `sendChatAction` has one and is counted.
"""

from __future__ import annotations

import asyncio
import contextlib
import heapq
import itertools
import logging
from collections.abc import Callable, Coroutine, Iterator
from contextvars import ContextVar
from datetime import timedelta
from typing import Any

from telegram.error import RetryAfter
from telegram.ext import BaseRateLimiter

log = logging.getLogger(__name__)

MESSAGES_PER_SECOND = 29  # Telegram's ~30, less one send of slack
GROUP_MESSAGES_PER_MINUTE = 19  # Telegram's ~20 in one group, less one
# A timer may fire this much before its time (the event loop's clock resolution); not a wait.
EARLY = 0.001
MAX_GROUPS = 512
# A slot taken up to this late keeps the cadence (Spacer._take): about what a timer on a busy
# event loop is late by (epoll waits in whole milliseconds).
CATCH_UP_S = 0.002

_BULK: ContextVar[bool] = ContextVar("bulk_sends", default=False)


@contextlib.contextmanager
def bulk_sends() -> Iterator[None]:
    """Sends made inside (and in tasks started inside) wait behind learners' replies."""
    token = _BULK.set(True)
    try:
        yield
    finally:
        _BULK.reset(token)


class Spacer:
    """Send slots `interval` seconds apart: replies first, then bulk sends, each in order."""

    def __init__(self, interval: float) -> None:
        self.interval = interval
        self._next_slot = 0.0  # the event loop's time of the next free slot
        self._waiting: list[tuple[bool, int, asyncio.Future[None]]] = []
        self._order = itertools.count()
        self._timer: asyncio.TimerHandle | None = None

    async def slot(self, *, bulk: bool = False) -> None:
        """Wait for a slot to send in."""
        loop = asyncio.get_running_loop()
        if not self._waiting and loop.time() >= self._next_slot:
            self._take(loop.time())
            return
        granted = loop.create_future()
        heapq.heappush(self._waiting, (bulk, next(self._order), granted))
        self._wake(loop)
        await granted  # cancelled: the future is done, and _grant passes it by

    def pause(self, seconds: float) -> None:
        """No slot for `seconds` from now (Telegram's retry_after)."""
        loop = asyncio.get_running_loop()
        self._next_slot = max(self._next_slot, loop.time() + seconds)

    def idle(self) -> bool:
        return not self._waiting and asyncio.get_running_loop().time() >= self._next_slot

    def _take(self, now: float) -> None:
        """The slot is taken; the next is an interval after the slot's time if it was taken
        on time or up to CATCH_UP_S late, else an interval after now less CATCH_UP_S.

        Timers fire about a millisecond late on a busy loop; counting the next slot from the
        late moment would stretch every interval by that and lower the rate by ~3%. Sends
        stay at least an interval less CATCH_UP_S apart, and any 30 intervals span at least
        30 intervals less CATCH_UP_S: at 29 a second, 31 sends take over 1.03 s, so no
        second holds more than 30."""
        self._next_slot = max(self._next_slot, now - CATCH_UP_S) + self.interval

    def _wake(self, loop: asyncio.AbstractEventLoop) -> None:
        if self._timer is None:
            self._timer = loop.call_at(self._next_slot, self._grant, loop)

    def _grant(self, loop: asyncio.AbstractEventLoop) -> None:
        self._timer = None
        now = loop.time()
        if now >= self._next_slot - EARLY:
            while self._waiting:
                *_, granted = heapq.heappop(self._waiting)
                if not granted.done():
                    granted.set_result(None)
                    self._take(now)
                    break
        if self._waiting:
            self._wake(loop)


def retry_seconds(flood: RetryAfter) -> float:
    """Telegram's retry_after in seconds (an int, or a timedelta under PTB_TIMEDELTA)."""
    after: timedelta | int = flood.retry_after
    return after.total_seconds() if isinstance(after, timedelta) else float(after)


class PacedRateLimiter(BaseRateLimiter[int]):
    """PTB's rate limiter for the bot: evenly spaced sends, replies before bulk sends, 429s
    retried `max_retries` times after the pause Telegram asks for (per call: PTB's
    `rate_limit_args`)."""

    def __init__(
        self,
        per_second: float = MESSAGES_PER_SECOND,
        group_per_minute: float = GROUP_MESSAGES_PER_MINUTE,
        *,
        max_retries: int = 0,
    ) -> None:
        self.overall = Spacer(1 / per_second)
        self.group_interval = 60 / group_per_minute
        self.max_retries = max_retries
        self._groups: dict[int | str, Spacer] = {}

    async def initialize(self) -> None:
        """Nothing to set up."""

    async def shutdown(self) -> None:
        """Nothing to release."""

    async def process_request(  # noqa: PLR0917  # the signature is BaseRateLimiter's
        self,
        callback: Callable[..., Coroutine[Any, Any, bool | dict[str, Any] | list[dict[str, Any]]]],
        args: Any,
        kwargs: dict[str, Any],
        endpoint: str,
        data: dict[str, Any],
        rate_limit_args: int | None,
    ) -> bool | dict[str, Any] | list[dict[str, Any]]:
        retries = self.max_retries if rate_limit_args is None else rate_limit_args
        chat_id = data.get("chat_id")
        bulk = _BULK.get()
        attempt = 0
        while True:
            if chat_id is not None:
                group = self._group(chat_id)
                if group is not None:
                    await group.slot(bulk=bulk)
                await self.overall.slot(bulk=bulk)
            try:
                return await callback(*args, **kwargs)
            except RetryAfter as flood:
                seconds = retry_seconds(flood)
                self.overall.pause(seconds)  # for every send, retried or not
                if attempt >= retries:
                    raise
                attempt += 1
                log.info("%s: 429, every send waits %.1f s, then a retry", endpoint, seconds)
                if chat_id is None:  # not paced by a slot: wait here
                    await asyncio.sleep(seconds)

    def _group(self, chat_id: object) -> Spacer | None:
        """The spacer of a group or channel (a negative id or an @username), else None."""
        with contextlib.suppress(ValueError, TypeError):
            chat_id = int(chat_id)  # type: ignore[call-overload]
        if not (isinstance(chat_id, int) and chat_id < 0) and not isinstance(chat_id, str):
            return None
        if len(self._groups) > MAX_GROUPS:
            self._groups = {key: s for key, s in self._groups.items() if not s.idle()}
        return self._groups.setdefault(chat_id, Spacer(self.group_interval))
