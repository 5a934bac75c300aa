"""The rate limiter's rules, with a fake Bot API call: who gets the next slot, what is paced,
and what a 429 does. (Its pace against a strict window: tests/bot/test_e2e_push_pace.py.)"""

from __future__ import annotations

import asyncio
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from telegram.error import RetryAfter

from bot.app import build_application
from bot.settings import Settings
from bot.telegram.pacing import PacedRateLimiter, Spacer, bulk_sends, retry_seconds
from tests.bot.fakes import TOKEN, RecordingRequest

SLOW = 1 / 3600  # one slot an hour: whoever has to wait for a slot is still waiting


class FakeCall:
    """A Bot API call that answers 429 `floods` times, then "ok"; counts its attempts."""

    def __init__(self, floods: int = 0, retry_after: float = 0.0) -> None:
        self.floods = floods
        self.retry_after = retry_after
        self.attempts = 0

    async def __call__(self) -> dict[str, Any]:
        self.attempts += 1
        if self.attempts <= self.floods:
            raise RetryAfter(timedelta(seconds=self.retry_after))
        return {"ok": True}


async def send(
    limiter: PacedRateLimiter, call: FakeCall, chat_id: object = 1, retries: int | None = None
) -> object:
    data = {} if chat_id is None else {"chat_id": chat_id}
    return await limiter.process_request(call, (), {}, "sendMessage", data, retries)


async def test_a_waiting_reply_gets_the_next_slot_before_bulk_sends_queued_earlier() -> None:
    spacer = Spacer(interval=0.001)
    spacer.pause(0.3)  # closed while everyone queues
    order: list[str] = []

    async def wait(name: str, *, bulk: bool) -> None:
        await spacer.slot(bulk=bulk)
        order.append(name)

    tasks = [asyncio.create_task(wait(f"push {n}", bulk=True)) for n in range(3)]
    await asyncio.sleep(0)  # the push sends are queued first
    tasks.append(asyncio.create_task(wait("reply", bulk=False)))
    await asyncio.gather(*tasks)
    assert order == ["reply", "push 0", "push 1", "push 2"]


async def test_a_cancelled_waiter_does_not_hold_up_the_next() -> None:
    spacer = Spacer(interval=0.001)
    spacer.pause(0.3)
    given_up = asyncio.create_task(spacer.slot())
    waiting = asyncio.create_task(spacer.slot())
    await asyncio.sleep(0)
    given_up.cancel()
    await asyncio.wait_for(waiting, 10)
    assert given_up.cancelled()


async def test_sends_wait_for_a_slot_and_calls_without_a_chat_are_not_paced() -> None:
    limiter = PacedRateLimiter(per_second=SLOW)
    first, second, no_chat = FakeCall(), FakeCall(), FakeCall()
    assert await send(limiter, first) == {"ok": True}
    waiting = asyncio.create_task(send(limiter, second, chat_id=2))
    assert await asyncio.wait_for(send(limiter, no_chat, chat_id=None), 10) == {"ok": True}
    assert second.attempts == 0, "the second send waits an hour for its slot"
    waiting.cancel()


async def test_a_group_has_its_own_slower_pace_as_well() -> None:
    limiter = PacedRateLimiter(group_per_minute=SLOW)
    await send(limiter, FakeCall(), chat_id=-100)
    other_group, same_group = FakeCall(), FakeCall()
    await asyncio.wait_for(send(limiter, other_group, chat_id="@channel"), 10)
    waiting = asyncio.create_task(send(limiter, same_group, chat_id="-100"))
    await asyncio.sleep(0.05)
    assert (other_group.attempts, same_group.attempts) == (1, 0)
    waiting.cancel()


async def test_a_429_is_retried_after_retry_after_and_then_succeeds() -> None:
    limiter = PacedRateLimiter(max_retries=2)
    flooded = FakeCall(floods=2)
    assert await send(limiter, flooded) == {"ok": True}
    assert flooded.attempts == 3


async def test_beyond_its_retries_a_429_is_raised_and_every_send_waits_retry_after() -> None:
    limiter = PacedRateLimiter(max_retries=0)
    with pytest.raises(RetryAfter):
        await send(limiter, FakeCall(floods=1, retry_after=3600))
    assert not limiter.overall.idle(), "no slot is free before the hour has passed"


async def test_retries_can_be_set_per_call() -> None:
    limiter = PacedRateLimiter(max_retries=3)
    flooded = FakeCall(floods=1)
    with pytest.raises(RetryAfter):
        await send(limiter, flooded, chat_id=None, retries=0)  # PTB's rate_limit_args
    assert flooded.attempts == 1
    flooded_again = FakeCall(floods=1)
    assert await send(limiter, flooded_again, chat_id=None) == {"ok": True}
    assert flooded_again.attempts == 2


async def test_sends_inside_bulk_sends_wait_behind_the_others() -> None:
    limiter = PacedRateLimiter(per_second=1000)
    limiter.overall.pause(0.3)
    order: list[str] = []

    async def sending(name: str) -> None:
        await send(limiter, FakeCall())
        order.append(name)

    with bulk_sends():
        push = asyncio.create_task(sending("push"))  # the task starts in this context
    await asyncio.sleep(0)
    reply = asyncio.create_task(sending("reply"))
    await asyncio.gather(push, reply)
    assert order == ["reply", "push"]


def test_retry_after_reads_seconds_or_a_timedelta() -> None:
    assert retry_seconds(RetryAfter(timedelta(seconds=2))) == 2.0


@pytest.mark.parametrize(("pacing", "paced"), [(None, True), ("false", False)])
def test_send_pacing_is_on_by_default_and_off_only_when_set_false(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, pacing: str | None, paced: bool
) -> None:
    """SEND_PACING=false is for `make bench` against an emulator with no limit."""
    if pacing is None:
        monkeypatch.delenv("SEND_PACING", raising=False)
    else:
        monkeypatch.setenv("SEND_PACING", pacing)
    settings = Settings(
        telegram_bot_token=TOKEN,  # type: ignore[arg-type]
        database_url=f"sqlite:///{tmp_path / 'bot.db'}",
        _env_file=None,
    )
    app = build_application(settings, request=RecordingRequest())
    assert isinstance(app.bot.rate_limiter, PacedRateLimiter) is paced
