"""A recording fake of the Bot API HTTP layer, and helpers to build incoming updates."""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass, field
from itertools import count
from pathlib import Path
from typing import Any

from telegram import Update
from telegram.ext import ExtBot
from telegram.request import BaseRequest, RequestData

from bot.settings import Settings

BOT_ID = 424242
BOT_USERNAME = "aftercare_test_bot"
TOKEN = f"{BOT_ID}:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw0"
DATE = 1_790_000_000


def settings_for(
    database: Path, admin_ids: tuple[int, ...] = (), content_cache: Path | None = None
) -> Settings:
    """Settings for a bot on the recording fake: the test token, this SQLite file, no .env;
    the content cached in `content_cache` (default: beside the database)."""
    return Settings(
        telegram_bot_token=TOKEN,  # type: ignore[arg-type]
        database_url=f"sqlite:///{database}",
        admin_ids=admin_ids,
        content_cache_dir=content_cache,
        _env_file=None,
    )


@dataclass
class Call:
    method: str
    params: dict[str, Any]


@dataclass
class RecordingRequest(BaseRequest):
    """Records every Bot API call and answers with canned JSON; unknown methods fail."""

    calls: list[Call] = field(default_factory=list)
    unexpected: list[str] = field(default_factory=list)
    fail_methods: dict[str, int] = field(default_factory=dict)
    """method -> how many more calls of it answer with an error."""
    flood_methods: dict[str, int] = field(default_factory=dict)
    """method -> how many more calls of it answer 429 Too Many Requests (retry after 1 s)."""
    refused_methods: dict[str, str] = field(default_factory=dict)
    """method -> the description of a 400 Bad Request every call of it answers with."""
    blocked_chats: set[int] = field(default_factory=set)
    """Chats whose user has blocked the bot: sends to them answer 403 Forbidden."""
    held_chats: set[int] = field(default_factory=set)
    """Chats whose sends never get an answer (until the caller is cancelled): a crash mid-send."""
    held: list[int] = field(default_factory=list)
    """Chats a send is hanging for right now."""
    _message_ids: Any = field(default_factory=lambda: count(1000))
    _poll_ids: Any = field(default_factory=lambda: count(5000))

    async def initialize(self) -> None:
        return None

    async def shutdown(self) -> None:
        return None

    @property
    def read_timeout(self) -> float:
        return 1.0

    async def do_request(  # noqa: PLR0917  # the signature is BaseRequest's
        self,
        url: str,
        method: str,
        request_data: RequestData | None = None,
        read_timeout: Any = None,
        write_timeout: Any = None,
        connect_timeout: Any = None,
        pool_timeout: Any = None,
    ) -> tuple[int, bytes]:
        del method, read_timeout, write_timeout, connect_timeout, pool_timeout
        api_method = url.rsplit("/", 1)[-1]
        params = dict(request_data.parameters) if request_data is not None else {}
        self.calls.append(Call(api_method, params))
        if self.flood_methods.get(api_method, 0) > 0:
            self.flood_methods[api_method] -= 1
            body = {
                "ok": False,
                "error_code": 429,
                "description": "Too Many Requests: retry after 1",
                "parameters": {"retry_after": 1},
            }
            return 429, json.dumps(body).encode()
        chat = params.get("chat_id")
        chat_id = int(chat) if isinstance(chat, int | str) else None
        if api_method.startswith("send") and chat_id is not None:
            if chat_id in self.held_chats:
                self.held.append(chat_id)
                await asyncio.Event().wait()  # only a cancellation ends this
            if chat_id in self.blocked_chats:
                body = {
                    "ok": False,
                    "error_code": 403,
                    "description": "Forbidden: bot was blocked by the user",
                }
                return 403, json.dumps(body).encode()
        if api_method in self.refused_methods:
            body = {
                "ok": False,
                "error_code": 400,
                "description": self.refused_methods[api_method],
            }
            return 400, json.dumps(body).encode()
        if self.fail_methods.get(api_method, 0) > 0:
            self.fail_methods[api_method] -= 1
            body = {"ok": False, "error_code": 500, "description": "Internal Server Error"}
            return 500, json.dumps(body).encode()
        result = self._answer(api_method, params)
        if result is None:
            self.unexpected.append(api_method)
            body = {"ok": False, "error_code": 404, "description": f"unexpected {api_method}"}
            return 404, json.dumps(body).encode()
        return 200, json.dumps({"ok": True, "result": result}).encode()

    def _message(self, params: dict[str, Any], **extra: Any) -> dict[str, Any]:
        chat_id = int(params.get("chat_id", 0))
        return {
            "message_id": next(self._message_ids),
            "date": DATE,
            "chat": {"id": chat_id, "type": "private"},
            "from": {"id": BOT_ID, "is_bot": True, "first_name": "Coach"},
            **extra,
        }

    def _answer(self, api_method: str, params: dict[str, Any]) -> Any:
        if api_method == "getMe":
            return {
                "id": BOT_ID,
                "is_bot": True,
                "first_name": "Coach",
                "username": BOT_USERNAME,
                "can_join_groups": True,
                "can_read_all_group_messages": False,
                "supports_inline_queries": False,
            }
        if api_method in {
            "setMyCommands",
            "answerCallbackQuery",
            "sendChatAction",
            "deleteWebhook",
            "setChatMenuButton",
        }:
            return True
        if api_method == "getUpdates":
            return []
        if api_method == "sendMessage":
            return self._message(params, text=str(params.get("text", "")))
        if api_method in {"editMessageText", "editMessageReplyMarkup"}:
            return self._message(params, text=str(params.get("text", "")))
        if api_method == "sendPoll":
            options = params.get("options", [])
            poll = {
                "id": str(next(self._poll_ids)),
                "question": params.get("question", ""),
                "options": [
                    {
                        "text": o if isinstance(o, str) else o.get("text", ""),
                        "voter_count": 0,
                        "persistent_id": f"opt{i}",
                    }
                    for i, o in enumerate(options)
                ],
                "total_voter_count": 0,
                "is_closed": False,
                "is_anonymous": False,
                "type": "quiz",
                "allows_multiple_answers": False,
                "allows_revoting": False,
                "members_only": False,
                "correct_option_ids": params.get("correct_option_ids"),
            }
            return self._message(params, poll=poll)
        if api_method == "sendPhoto":
            photo = [{"file_id": "ph1", "file_unique_id": "ph1u", "width": 640, "height": 480}]
            return self._message(params, photo=photo)
        if api_method == "sendDocument":
            document = {"file_id": "doc1", "file_unique_id": "doc1u", "file_name": "data.json"}
            return self._message(params, document=document)
        return None

    # ------------------------------------------------------------ reading what was sent

    def sent(self, method: str = "sendMessage") -> list[Call]:
        return [c for c in self.calls if c.method == method]

    def texts(self) -> list[str]:
        return [str(c.params.get("text", "")) for c in self.sent()]

    def clear(self) -> None:
        self.calls.clear()


class Updates:
    """Builds incoming updates for one private chat."""

    def __init__(
        self,
        bot: ExtBot[int],
        user_id: int = 777,
        first_name: str = "Sam",
        first_update_id: int = 1,
    ) -> None:
        self.bot = bot
        self.user = {"id": user_id, "is_bot": False, "first_name": first_name, "username": "sam"}
        self.chat = {"id": user_id, "type": "private", "first_name": first_name}
        # Telegram's update ids are unique per bot: builders for several users must not overlap.
        self._ids = count(first_update_id)

    def _update(self, **payload: Any) -> Update:
        update = Update.de_json({"update_id": next(self._ids), **payload}, self.bot)
        assert update is not None
        return update

    def text(self, text: str, chat: dict[str, Any] | None = None) -> Update:
        message: dict[str, Any] = {
            "message_id": next(self._ids),
            "date": DATE,
            "chat": chat or self.chat,
            "from": self.user,
            "text": text,
        }
        entities: list[dict[str, Any]] = []
        if text.startswith("/"):
            length = len(text.split(maxsplit=1)[0])
            entities.append({"type": "bot_command", "offset": 0, "length": length})
        for word in text.split():
            if word.startswith("@") and len(word) > 1:
                offset = text.index(word)
                entities.append({"type": "mention", "offset": offset, "length": len(word)})
        if entities:
            message["entities"] = entities
        return self._update(message=message)

    def reply_to(self, text: str, replied: dict[str, Any]) -> Update:
        """A command sent as a reply to `replied` (a message dict, e.g. from `forwarded`)."""
        message: dict[str, Any] = {
            "message_id": next(self._ids),
            "date": DATE,
            "chat": self.chat,
            "from": self.user,
            "text": text,
            "reply_to_message": replied,
        }
        if text.startswith("/"):
            length = len(text.split(maxsplit=1)[0])
            message["entities"] = [{"type": "bot_command", "offset": 0, "length": length}]
        return self._update(message=message)

    def forwarded(self, sender: dict[str, Any] | None, hidden_name: str = "") -> dict[str, Any]:
        """A message this user forwarded into the chat: from `sender` (a user dict), or from
        someone whose privacy settings hide them (`sender` None)."""
        origin: dict[str, Any] = (
            {"type": "user", "date": DATE, "sender_user": sender}
            if sender is not None
            else {"type": "hidden_user", "date": DATE, "sender_user_name": hidden_name}
        )
        return {
            "message_id": next(self._ids),
            "date": DATE,
            "chat": self.chat,
            "from": self.user,
            "text": "forwarded words",
            "forward_origin": origin,
        }

    def sticker(self) -> Update:
        sticker = {
            "file_id": "s1",
            "file_unique_id": "s1u",
            "type": "regular",
            "width": 512,
            "height": 512,
            "is_animated": False,
            "is_video": False,
        }
        return self._update(
            message={
                "message_id": next(self._ids),
                "date": DATE,
                "chat": self.chat,
                "from": self.user,
                "sticker": sticker,
            }
        )

    def photo(self) -> Update:
        photo = [{"file_id": "p1", "file_unique_id": "p1u", "width": 90, "height": 90}]
        return self._update(
            message={
                "message_id": next(self._ids),
                "date": DATE,
                "chat": self.chat,
                "from": self.user,
                "photo": photo,
            }
        )

    def edited(self, text: str) -> Update:
        return self._update(
            edited_message={
                "message_id": next(self._ids),
                "date": DATE,
                "edit_date": DATE + 5,
                "chat": self.chat,
                "from": self.user,
                "text": text,
            }
        )

    def press(self, data: str, message_id: int = 1000) -> Update:
        return self._update(
            callback_query={
                "id": str(next(self._ids)),
                "from": self.user,
                "chat_instance": "ci",
                "data": data,
                "message": {
                    "message_id": message_id,
                    "date": DATE,
                    "chat": self.chat,
                    "from": {"id": BOT_ID, "is_bot": True, "first_name": "Coach"},
                    "text": "question",
                },
            }
        )

    def poll_answer(self, poll_id: str, *options: int) -> Update:
        return self._update(
            poll_answer={
                "poll_id": poll_id,
                "user": self.user,
                "option_ids": list(options),
                "option_persistent_ids": [f"opt{o}" for o in options],
            }
        )
