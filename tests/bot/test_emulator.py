"""The Bot API emulator itself, driven through PTB's own `telegram.Bot` and raw HTTP."""

import asyncio
import datetime as dtm
from collections.abc import AsyncIterator

import aiohttp
import pytest
from telegram import Bot, InlineKeyboardButton, InlineKeyboardMarkup, InputFile
from telegram.constants import ParseMode
from telegram.error import (
    BadRequest,
    Conflict,
    EndPointNotFound,
    Forbidden,
    InvalidToken,
    NetworkError,
    RetryAfter,
    TimedOut,
)

from tests.bot.emulator import TOKEN, BotApiEmulator

USER = 777


@pytest.fixture
async def emu() -> AsyncIterator[BotApiEmulator]:
    async with BotApiEmulator() as emulator:
        yield emulator


@pytest.fixture
async def bot(emu: BotApiEmulator) -> AsyncIterator[Bot]:
    emu.user_sends_text(USER, "/start")  # the bot may only write to users who wrote first
    async with Bot(TOKEN, base_url=emu.base_url) as telegram_bot:
        yield telegram_bot


async def test_get_me_describes_the_bot(emu: BotApiEmulator, bot: Bot) -> None:
    assert bot.username == "emulated_coach_bot"
    assert bot.bot.is_bot is True
    assert bot.bot.can_join_groups is True
    assert [call.status for call in emu.sent("getMe")] == [200]


async def test_send_message_round_trip_with_html_and_a_keyboard(
    emu: BotApiEmulator, bot: Bot
) -> None:
    keyboard = InlineKeyboardMarkup([[InlineKeyboardButton("Go", callback_data="go|1")]])
    message = await bot.send_message(
        USER, "<b>Hi</b> &amp; welcome", parse_mode=ParseMode.HTML, reply_markup=keyboard
    )
    assert message.text == "Hi & welcome"  # Telegram returns the text after entity parsing
    call = await emu.wait_for_message(USER, contains="& welcome")
    assert call.params["text"] == "<b>Hi</b> &amp; welcome"
    assert call.chat_id == USER
    assert call.buttons == [("Go", "go|1")]

    emu.user_presses_button(USER, "Go")
    (update,) = await bot.get_updates(offset=2, timeout=1)
    query = update.callback_query
    assert query is not None
    assert query.data == "go|1"
    assert query.message is not None
    assert query.message.message_id == message.message_id
    assert await query.answer() is True
    with pytest.raises(BadRequest, match=r"(?i)query is too old"):
        await query.answer()  # a query is answered once

    edited = await bot.edit_message_text("Done", chat_id=USER, message_id=message.message_id)
    assert not isinstance(edited, bool)
    assert edited.text == "Done"
    assert edited.reply_markup is None  # an edit without a keyboard removes it
    with pytest.raises(BadRequest, match=r"(?i)not modified"):
        await bot.edit_message_text("Done", chat_id=USER, message_id=message.message_id)


async def test_get_updates_long_polls_until_an_update_arrives(
    emu: BotApiEmulator, bot: Bot
) -> None:
    (start,) = await bot.get_updates(timeout=0)
    offset = start.update_id + 1
    loop = asyncio.get_running_loop()
    async with asyncio.TaskGroup() as group:
        polling = group.create_task(bot.get_updates(offset=offset, timeout=5))
        await asyncio.sleep(0.3)
        assert not polling.done(), "getUpdates must wait while there is nothing to deliver"
        injected_at = loop.time()
        emu.user_sends_text(USER, "hello")
    assert loop.time() - injected_at < 1.0
    (update,) = polling.result()
    assert update.message is not None
    assert update.message.text == "hello"
    assert emu.confirmed_offset == offset

    again = await bot.get_updates(offset=offset, timeout=0)
    assert [u.update_id for u in again] == [update.update_id]  # not confirmed yet: redelivered
    assert await bot.get_updates(offset=update.update_id + 1, timeout=0) == ()


async def test_get_updates_returns_empty_after_its_timeout(bot: Bot) -> None:
    (start,) = await bot.get_updates(timeout=0)
    loop = asyncio.get_running_loop()
    began = loop.time()
    assert await bot.get_updates(offset=start.update_id + 1, timeout=1) == ()
    assert 0.9 <= loop.time() - began < 3


async def test_sends_over_the_rate_limit_get_429_with_retry_after(
    emu: BotApiEmulator, bot: Bot, monkeypatch: pytest.MonkeyPatch
) -> None:
    # PTB 22 warns when `retry_after` is read as an int; opt in to timedelta as it advises.
    monkeypatch.setenv("PTB_TIMEDELTA", "true")
    emu.rate_limit_per_second = 2
    await bot.send_message(USER, "one")
    await bot.send_message(USER, "two")
    with pytest.raises(RetryAfter) as caught:
        await bot.send_message(USER, "three")
    assert caught.value.retry_after == dtm.timedelta(seconds=1)
    assert [c.status for c in emu.sent("sendMessage")] == [200, 200, 429]
    await bot.send_chat_action(USER, "typing")  # chat actions are not counted


async def test_a_500_fault_then_recovery(emu: BotApiEmulator, bot: Bot) -> None:
    emu.fail_next("sendMessage", status=500)
    with pytest.raises(NetworkError, match="Internal Server Error"):
        await bot.send_message(USER, "lost")
    message = await bot.send_message(USER, "delivered")
    assert message.text == "delivered"
    assert [c.status for c in emu.sent("sendMessage")] == [500, 200]


async def test_a_slow_answer_times_the_client_out(emu: BotApiEmulator, bot: Bot) -> None:
    emu.delay_next("sendMessage", 2.0)
    with pytest.raises(TimedOut):
        await bot.send_message(USER, "slow", read_timeout=0.2)


async def test_an_unknown_method_is_a_recorded_404(emu: BotApiEmulator, bot: Bot) -> None:
    with pytest.raises(EndPointNotFound):
        await bot.do_api_request("frobnicate", api_kwargs={"x": 1})
    assert emu.unknown == ["frobnicate"]
    async with (
        aiohttp.ClientSession() as session,
        session.post(f"{emu.base_url}{TOKEN}/frobnicate", json={"x": 1}) as response,
    ):
        assert response.status == 404
        assert await response.json() == {
            "ok": False,
            "error_code": 404,
            "description": "Not Found: method not found",
        }


async def test_raw_json_and_query_string_requests(emu: BotApiEmulator) -> None:
    emu.user_sends_text(USER, "hi")
    async with aiohttp.ClientSession() as session:
        async with session.get(f"{emu.base_url}{TOKEN}/getMe") as response:
            assert (await response.json())["result"]["username"] == "emulated_coach_bot"
        body = {"chat_id": USER, "text": "json body"}
        async with session.post(f"{emu.base_url}{TOKEN}/sendMessage", json=body) as response:
            assert (await response.json())["result"]["text"] == "json body"
        async with session.get(f"{emu.base_url}wrong:token/getMe") as response:
            assert response.status == 401


async def test_a_wrong_token_is_refused(emu: BotApiEmulator) -> None:
    with pytest.raises(InvalidToken):
        async with Bot("1234567:" + "B" * 35, base_url=emu.base_url):
            pass


@pytest.mark.parametrize(
    ("send", "error"),
    [
        ({"text": "x" * 4097}, "message text is too long"),
        ({"text": "  "}, "message text is empty"),
        ({"text": "a < b", "parse_mode": ParseMode.HTML}, "can't parse entities"),
        (
            {
                "text": "pick",
                "reply_markup": InlineKeyboardMarkup(
                    [[InlineKeyboardButton("A", callback_data="x" * 65)]]
                ),
            },
            "BUTTON_DATA_INVALID",
        ),
    ],
    ids=["too-long", "empty", "stray-lt", "callback-data-over-64-bytes"],
)
async def test_telegram_limits_answer_400(bot: Bot, send: dict[str, object], error: str) -> None:
    with pytest.raises(BadRequest, match=f"(?i){error}"):  # PTB capitalises the description
        await bot.send_message(USER, **send)  # type: ignore[arg-type]


async def test_writing_first_or_to_a_blocked_user_is_forbidden(
    emu: BotApiEmulator, bot: Bot
) -> None:
    with pytest.raises(Forbidden, match="can't initiate"):
        await bot.send_message(999, "hello stranger")
    emu.blocked.add(USER)
    with pytest.raises(Forbidden, match="blocked"):
        await bot.send_message(USER, "hello again")


async def test_quiz_poll_and_its_answer(emu: BotApiEmulator, bot: Bot) -> None:
    message = await bot.send_poll(
        USER,
        "How long to reject faulty goods?",
        ["30 days", "14 days"],
        type="quiz",
        correct_option_ids=[0],
        explanation="CRA s.22",
        is_anonymous=False,
    )
    assert message.poll is not None
    assert emu.polls == {message.poll.id: USER}
    assert message.poll.correct_option_ids == (0,)
    with pytest.raises(BadRequest, match="2-10 options"):
        await bot.send_poll(USER, "Too few?", ["only one"])

    emu.user_answers_poll(USER, message.poll.id, [0])
    updates = await bot.get_updates(timeout=1)
    answer = updates[-1].poll_answer
    assert answer is not None
    assert answer.poll_id == message.poll.id
    assert answer.option_ids == (0,)


async def test_documents_and_photos_are_multipart_uploads(emu: BotApiEmulator, bot: Bot) -> None:
    message = await bot.send_document(
        USER, InputFile(b'{"answers": []}', filename="mydata.json"), caption="Your data"
    )
    assert message.document is not None
    assert message.document.file_name == "mydata.json"
    upload = emu.sent("sendDocument")[0].params["document"]
    assert upload == {"filename": "mydata.json", "content": b'{"answers": []}'}
    assert emu.sent("sendDocument")[0].text == "Your data"
    photo = await bot.send_photo(USER, InputFile(b"\x89PNG", filename="chart.png"))
    assert photo.photo[0].width == 800


async def test_a_webhook_is_recorded_and_excludes_polling(emu: BotApiEmulator, bot: Bot) -> None:
    assert (await bot.get_webhook_info()).url == ""
    with pytest.raises(BadRequest, match="https url must be provided"):
        await bot.set_webhook("http://plain.example.test/hook")
    assert await bot.set_webhook("https://x.example.test/hook", secret_token="s3cret") is True
    assert emu.webhook is not None
    assert emu.webhook["url"] == "https://x.example.test/hook"
    assert emu.webhook["secret_token"] == "s3cret"
    assert (await bot.get_webhook_info()).url == "https://x.example.test/hook"
    with pytest.raises(Conflict, match="webhook is active"):
        await bot.get_updates(timeout=0)

    assert await bot.delete_webhook() is True
    assert emu.webhook is None
    assert len(await bot.get_updates(timeout=0)) == 1  # the fixture's /start
