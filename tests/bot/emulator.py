"""A Bot API emulator: a small aiohttp server speaking Telegram's JSON to a real bot (PTB's
`Bot(token, base_url=emu.base_url)` or `coach run` with TELEGRAM_API_BASE_URL=emu.base_url).

Tests inject what users do and wait for what the bot sends. Telegram's limits answer 400 as in
production (text 1-4,096 characters after entity parsing, HTML tags, callback data 1-64 bytes,
quiz-poll sizes); switches give flood control (429 + retry_after), faults and slow answers.
"""

from __future__ import annotations

import asyncio
import contextlib
import html
import json
import re
import time
from collections import defaultdict, deque
from collections.abc import Callable
from dataclasses import dataclass
from http import HTTPStatus
from itertools import count
from typing import Any, Self, TypeVar

from aiohttp import web

JSON = dict[str, Any]
T = TypeVar("T")
DATE = 1_790_000_000
TOKEN = "424242:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw0"
# PTB JSON-encodes every form value that is not a string; these fields are text whatever they hold.
STRING_FIELDS = frozenset({"text", "caption", "question", "explanation", "callback_query_id"})
HTML_TAG = re.compile(
    r"</?(b|strong|i|em|u|ins|s|strike|del|span|tg-spoiler|a|tg-emoji|code|pre|blockquote)"
    r"(\s[^>]*)?>"
)
STRAY_LT = re.compile("<(?!" + HTML_TAG.pattern[1:] + ")")
ANSWER_TRUE = frozenset({"setmycommands", "sendchataction", "close", "logout"})
SENDS = ("send", "edit")
FLAGS_OFF = ("is_closed", "allows_multiple_answers", "allows_revoting", "members_only")


@dataclass(eq=False)
class ApiError(Exception):
    """An error answer: HTTP status, Telegram's description and optional `parameters`."""

    status: int
    description: str
    parameters: JSON | None = None


def bad_request(why: str) -> ApiError:
    return ApiError(400, f"Bad Request: {why}")


def visible_text(text: str, parse_mode: object = None) -> str:
    """What the user sees: HTML tags removed and entities unescaped; 400 on a stray '<'."""
    if str(parse_mode).upper() != "HTML":
        return text
    stray = STRAY_LT.search(text)
    if stray is not None:
        offset = len(text[: stray.start()].encode())
        raise bad_request(f"can't parse entities: Unsupported start tag at byte offset {offset}")
    return html.unescape(HTML_TAG.sub("", text))


@dataclass
class Call:
    """One request the bot made: the method, its parsed parameters and what it got back."""

    method: str
    params: JSON
    status: int = 200
    result: Any = None
    at: float = 0.0
    """When it was answered (time.monotonic())."""

    @property
    def chat_id(self) -> int | None:
        chat_id = self.params.get("chat_id")
        return chat_id if isinstance(chat_id, int) else None

    @property
    def text(self) -> str:
        """The text, caption or poll question as the user sees it."""
        p = self.params
        raw = str(p.get("text") or p.get("caption") or p.get("question") or "")
        with contextlib.suppress(ApiError):
            return visible_text(raw, p.get("parse_mode"))
        return raw

    @property
    def buttons(self) -> list[tuple[str, str]]:
        """(label, callback data) of every inline-keyboard button, row by row."""
        markup = self.params.get("reply_markup")
        rows = markup.get("inline_keyboard", []) if isinstance(markup, dict) else []
        return [(b.get("text", ""), b.get("callback_data", "")) for row in rows for b in row]


def _decode(key: str, value: str) -> Any:
    if key in STRING_FIELDS:
        return value
    try:
        return json.loads(value)
    except ValueError:
        return value  # a plain string such as parse_mode=HTML


async def _read_params(request: web.Request) -> JSON:
    """Query string, then a JSON, form-urlencoded or multipart body (files as dicts)."""
    params: JSON = {key: _decode(key, value) for key, value in request.query.items()}
    if request.can_read_body and request.content_type == "application/json":
        body = await request.json()
        params.update(body if isinstance(body, dict) else {})
    elif request.can_read_body:
        for key, value in (await request.post()).items():
            if isinstance(value, web.FileField):
                content = value.file.read()
                params[key] = {"filename": value.filename, "content": content}
            else:
                params[key] = _decode(key, str(value))
    return params


class BotApiEmulator:
    """`async with BotApiEmulator() as emu:` serves the Bot API at `emu.base_url` + token."""

    def __init__(self, token: str = TOKEN, username: str = "emulated_coach_bot") -> None:
        self.token = token
        bot_id = int(token.split(":", 1)[0])
        self.me: JSON = {"id": bot_id, "is_bot": True, "first_name": "Coach", "username": username}
        self.me |= {"can_join_groups": True, "can_read_all_group_messages": False}
        self.base_url = ""
        self.calls: list[Call] = []
        """Every answered request, in the order the answers went out."""
        self.unknown: list[str] = []
        self.rate_limit_per_second: float | None = None
        """Above this many sends (send*/edit*, not chat actions) a second, answer 429."""
        self.retry_after = 1
        self.blocked: set[int] = set()
        """Chats whose user blocked the bot: sends answer 403."""
        self.confirmed_offset = 0
        """The highest getUpdates `offset` seen: every update below it is confirmed."""
        self.polls: dict[str, int] = {}
        """poll id -> the chat it was sent to"""
        self.webhook: JSON | None = None
        """The parameters of the last setWebhook (url, secret_token, ...); deleteWebhook clears."""
        self._faults: dict[str, deque[int]] = defaultdict(deque)
        self._delays: dict[str, deque[float]] = defaultdict(deque)
        self._updates: list[JSON] = []
        self._update_ids = count(1)
        self._ids = count(1)
        self._messages: dict[tuple[int, int], JSON] = {}
        self._chats: set[int] = set()
        self._queries: set[str] = set()
        self._sends: deque[float] = deque()
        self._mark = 0
        self._polling = 0
        self._changed = asyncio.Event()
        self._closed = False
        self._runner: web.AppRunner | None = None

    async def __aenter__(self) -> Self:
        app = web.Application(client_max_size=50 * 1024 * 1024)
        app.router.add_route("*", "/bot{token}/{method}", self._handle)
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=1.0)
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", 0).start()
        host, port = self._runner.addresses[0][:2]
        self.base_url = f"http://{host}:{port}/bot"
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        self._closed = True  # pending long polls and delays answer at once
        self._notify()
        if self._runner is not None:
            await self._runner.cleanup()

    # ------------------------------------------------------------------ switches

    def fail_next(self, method: str, status: int = 500, times: int = 1) -> None:
        """The next `times` calls of `method` answer with HTTP `status`."""
        self._faults[method].extend([status] * times)

    def delay_next(self, method: str, seconds: float, times: int = 1) -> None:
        """The next `times` calls of `method` answer only after `seconds` (client timeouts)."""
        self._delays[method].extend([seconds] * times)

    # ------------------------------------------------------------------ what users do

    def user(self, user_id: int) -> JSON:
        return {"id": user_id, "is_bot": False, "first_name": f"Learner{user_id}"}

    def inject(self, **payload: Any) -> JSON:
        """Queue a raw update (e.g. `message={...}`) for getUpdates; returns it."""
        update = {"update_id": next(self._update_ids), **payload}
        self._updates.append(update)
        self._mark = len(self.calls)
        self._notify()
        return update

    def user_has_started(self, user_id: int) -> None:
        """The user opened the chat with the bot before: the bot may write to them."""
        self._chats.add(user_id)

    def user_sends_text(self, user_id: int, text: str) -> JSON:
        """A private-chat message from `user_id` (a /command gets its bot_command entity)."""
        self._chats.add(user_id)
        message: JSON = {
            "message_id": next(self._ids),
            "date": DATE,
            "chat": {"id": user_id, "type": "private", "first_name": f"Learner{user_id}"},
            "from": self.user(user_id),
            "text": text,
        }
        if text.startswith("/"):
            length = len(text.split(maxsplit=1)[0])
            message["entities"] = [{"type": "bot_command", "offset": 0, "length": length}]
        return self.inject(message=message)

    def user_presses(self, user_id: int, callback_data: str, message_id: int) -> JSON:
        query_id = str(next(self._ids))
        self._queries.add(query_id)
        chat = {"id": user_id, "type": "private"}
        inaccessible = {"message_id": message_id, "date": 0, "chat": chat}  # date 0 says so
        message = self._messages.get((user_id, message_id)) or inaccessible
        query = {"id": query_id, "from": self.user(user_id), "chat_instance": str(user_id)}
        return self.inject(callback_query={**query, "data": callback_data, "message": message})

    def user_presses_button(self, user_id: int, label: str) -> JSON:
        """Press the newest button in the chat whose label starts with `label`."""
        for (chat_id, message_id), message in sorted(self._messages.items(), reverse=True):
            rows = message.get("reply_markup", {}).get("inline_keyboard", [])
            for button in (b for row in rows for b in row):
                if chat_id == user_id and button["text"].startswith(label):
                    return self.user_presses(user_id, button["callback_data"], message_id)
        raise AssertionError(f"no button {label!r} in chat {user_id}")

    def user_answers_poll(self, user_id: int, poll_id: str, option_ids: list[int]) -> JSON:
        answer = {"poll_id": poll_id, "user": self.user(user_id), "option_ids": option_ids}
        persistent_ids = [str(i) for i in option_ids]  # as _api_sendpoll numbers them
        return self.inject(poll_answer=answer | {"option_persistent_ids": persistent_ids})

    # ------------------------------------------------------------------ what the bot did

    def sent(self, method: str) -> list[Call]:
        return [call for call in self.calls if call.method == method]

    async def wait_until_polling(self, seconds: float = 10.0) -> None:
        """Until a getUpdates long poll is waiting here: the bot has (re)started."""
        await self._until(lambda: self._polling > 0 or None, seconds, "no getUpdates")

    async def wait_for(
        self,
        predicate: Callable[[Call], bool],
        timeout: float = 5.0,  # noqa: ASYNC109  # a plain number reads best in chat-like tests
        since: int | None = None,
    ) -> Call:
        """The first call matching `predicate` since the last user action (or index `since`)."""
        start = self._mark if since is None else since
        return await self._until(
            lambda: next((c for c in self.calls[start:] if predicate(c)), None),
            timeout,
            "no match",
        )

    async def wait_for_message(
        self,
        chat_id: int,
        contains: str = "",
        timeout: float = 5.0,  # noqa: ASYNC109  # as in wait_for
        since: int | None = None,
    ) -> Call:
        """A message sent or edited into `chat_id` whose visible text contains `contains`."""

        def matches(c: Call) -> bool:
            edit_or_send = c.method in {"sendMessage", "editMessageText"}
            return c.status == 200 and edit_or_send and c.chat_id == chat_id and contains in c.text

        return await self.wait_for(matches, timeout, since)

    # ------------------------------------------------------------------ plumbing

    async def _handle(self, request: web.Request) -> web.Response:
        call = Call(request.match_info["method"], await _read_params(request))
        try:
            call.result = await self._dispatch(request.match_info["token"], call)
            body: JSON = {"ok": True, "result": call.result}
        except ApiError as error:
            call.status = error.status
            body = {"ok": False, "error_code": error.status, "description": error.description}
            if error.parameters:
                body["parameters"] = error.parameters
        call.at = time.monotonic()
        self.calls.append(call)
        self._notify()
        return web.json_response(body, status=call.status)

    async def _dispatch(self, token: str, call: Call) -> Any:
        method, params = call.method, call.params
        if token != self.token:
            raise ApiError(401, "Unauthorized")
        if self._delays[method]:
            await self._sleep(self._delays[method].popleft())
        if self._faults[method]:
            status = self._faults[method].popleft()
            raise ApiError(status, HTTPStatus(status).phrase)
        handler = getattr(self, f"_api_{method.lower()}", None)
        if handler is None and method.lower() not in ANSWER_TRUE:
            self.unknown.append(method)
            raise ApiError(404, "Not Found: method not found")
        if method.startswith(SENDS):
            if params.get("chat_id") in self.blocked:
                raise ApiError(403, "Forbidden: bot was blocked by the user")
            if params.get("chat_id") not in self._chats:
                raise ApiError(403, "Forbidden: bot can't initiate conversation with a user")
            if method != "sendChatAction":
                self._check_rate()
        return True if handler is None else await handler(params)

    def _check_rate(self) -> None:
        now = time.monotonic()
        while self._sends and now - self._sends[0] >= 1.0:
            self._sends.popleft()
        limit = self.rate_limit_per_second
        if limit is not None and len(self._sends) >= limit:
            description = f"Too Many Requests: retry after {self.retry_after}"
            raise ApiError(429, description, {"retry_after": self.retry_after})
        self._sends.append(now)

    def _notify(self) -> None:
        changed, self._changed = self._changed, asyncio.Event()
        changed.set()

    async def _wait_for_change(self, seconds: float) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._changed.wait(), max(seconds, 0))

    async def _until(self, found: Callable[[], T | None], seconds: float, failure: str) -> T:
        deadline = time.monotonic() + seconds
        while (result := found()) is None:
            if time.monotonic() >= deadline:
                calls = "\n".join(f"  {c.method} {c.status} {c.text[:70]!r}" for c in self.calls)
                raise AssertionError(f"{failure} within {seconds} s; calls so far:\n{calls}")
            await self._wait_for_change(deadline - time.monotonic())
        return result

    async def _sleep(self, seconds: float) -> None:
        deadline = time.monotonic() + seconds
        while not self._closed and time.monotonic() < deadline:
            await self._wait_for_change(deadline - time.monotonic())

    # ------------------------------------------------------------------ Bot API methods

    def _message(self, params: JSON, **content: Any) -> JSON:
        chat_id = int(params["chat_id"])
        chat = {"id": chat_id, "type": "private" if chat_id > 0 else "supergroup"}
        me = {"id": self.me["id"], "is_bot": True, "first_name": self.me["first_name"]}
        message_id = next(self._ids)
        message = {"message_id": message_id, "date": DATE, "chat": chat, "from": me}
        message.update(content, **self._markup(params))
        self._messages[chat_id, message_id] = message
        return message

    @staticmethod
    def _markup(params: JSON) -> JSON:
        markup = params.get("reply_markup")
        if not isinstance(markup, dict):
            return {}
        for button in (b for row in markup.get("inline_keyboard", []) for b in row):
            data = button.get("callback_data")
            if data is not None and not 1 <= len(str(data).encode()) <= 64:
                raise bad_request("BUTTON_DATA_INVALID")
        return {"reply_markup": markup}

    @staticmethod
    def _text(params: JSON, key: str = "text", limit: int = 4096) -> str:
        text = visible_text(str(params.get(key) or ""), params.get("parse_mode"))
        if key != "caption" and not text.strip():
            raise bad_request(f"message {key} is empty")
        if len(text) > limit:
            raise bad_request(f"message {key} is too long")
        return text

    async def _api_getme(self, params: JSON) -> JSON:
        return self.me

    async def _api_setwebhook(self, params: JSON) -> bool:
        """Records the webhook; updates are then the test's to POST (nothing is delivered)."""
        if not str(params.get("url") or "").startswith("https://"):
            raise bad_request("bad webhook: An HTTPS URL must be provided for webhook")
        self.webhook = params
        return True

    async def _api_deletewebhook(self, params: JSON) -> bool:
        self.webhook = None
        return True

    async def _api_getwebhookinfo(self, params: JSON) -> JSON:
        hook = self.webhook or {}
        info: JSON = {"url": hook.get("url", ""), "has_custom_certificate": False}
        info |= {"pending_update_count": 0, "max_connections": hook.get("max_connections", 40)}
        if "allowed_updates" in hook:
            info["allowed_updates"] = hook["allowed_updates"]
        return info

    async def _api_getupdates(self, params: JSON) -> list[JSON]:
        """Long polling: confirm below `offset`, then wait up to `timeout` s for updates."""
        if self.webhook is not None:  # as Telegram: polling and a webhook exclude each other
            conflict = "Conflict: can't use getUpdates method while webhook is active"
            raise ApiError(409, f"{conflict}; use deleteWebhook to delete the webhook first")
        offset = int(params.get("offset") or 0)
        if offset > 0:
            self._updates = [u for u in self._updates if u["update_id"] >= offset]
            self.confirmed_offset = max(self.confirmed_offset, offset)
        deadline = time.monotonic() + float(params.get("timeout") or 0)
        self._polling += 1
        self._notify()
        try:
            while not self._updates and not self._closed and time.monotonic() < deadline:
                await self._wait_for_change(deadline - time.monotonic())
        finally:
            self._polling -= 1
        return self._updates[: int(params.get("limit") or 100)]

    async def _api_sendmessage(self, params: JSON) -> JSON:
        return self._message(params, text=self._text(params))

    async def _api_editmessagetext(self, params: JSON) -> JSON:
        return self._edit(params, {"text": self._text(params)})

    async def _api_editmessagereplymarkup(self, params: JSON) -> JSON:
        return self._edit(params, {})

    def _edit(self, params: JSON, content: JSON) -> JSON:
        """Edits replace the keyboard too: no reply_markup removes it, as in Telegram."""
        key = (int(params.get("chat_id") or 0), int(params.get("message_id") or 0))
        message = self._messages.get(key)
        if message is None:
            raise bad_request("message to edit not found")
        new = {**message, **content, **self._markup(params)}
        if "reply_markup" not in params:
            new.pop("reply_markup", None)
        if new == message:
            raise bad_request("message is not modified")
        message.clear()
        message.update(new, edit_date=DATE + 1)
        return message

    async def _api_answercallbackquery(self, params: JSON) -> bool:
        """Each query is answered once; Telegram refuses a second answer."""
        try:
            self._queries.remove(str(params.get("callback_query_id")))
        except KeyError:
            raise bad_request("query is too old and response timeout expired") from None
        return True

    async def _api_sendpoll(self, params: JSON) -> JSON:
        """A quiz poll must fit Telegram's sizes, or the whole send fails with 400."""
        question = self._text(params, "question", limit=300)
        options = [o if isinstance(o, str) else o.get("text", "") for o in params["options"]]
        explanation = str(params.get("explanation") or "")
        correct = params.get("correct_option_ids") or [params.get("correct_option_id")]
        if not 2 <= len(options) <= 10 or any(not 1 <= len(o) <= 100 for o in options):
            raise bad_request("a poll needs 2-10 options of 1-100 characters")
        if len(explanation) > 200 or explanation.count("\n") > 2:
            raise bad_request("explanation can be 0-200 characters with at most 2 line feeds")
        if params.get("type") == "quiz" and not {*correct} <= {*range(len(options))}:
            raise bad_request("wrong correct option ID specified")  # Bot API 9.6: a list
        poll_id = str(5_000_000 + next(self._ids))
        self.polls[poll_id] = int(params["chat_id"])
        poll: JSON = {
            "id": poll_id,
            "question": question,
            "options": [  # Bot API 9.6: options carry persistent ids
                {"text": o, "voter_count": 0, "persistent_id": str(i)}
                for i, o in enumerate(options)
            ],
            "total_voter_count": 0,
            "is_anonymous": params.get("is_anonymous", True),
            "type": params.get("type", "regular"),
        }
        poll |= dict.fromkeys(FLAGS_OFF, False)
        if params.get("type") == "quiz":
            poll |= {"correct_option_ids": correct, "explanation": explanation}
        return self._message(params, poll=poll)

    async def _api_senddocument(self, params: JSON) -> JSON:
        return self._send_file(params, "document")

    async def _api_sendphoto(self, params: JSON) -> JSON:
        return self._send_file(params, "photo")

    def _send_file(self, params: JSON, key: str) -> JSON:
        upload = params.get(key)
        if upload is None:
            raise bad_request(f"there is no {key} in the request")
        file: JSON = {"file_id": f"{key}-{next(self._ids)}", "file_unique_id": f"u{key}"}
        if isinstance(upload, dict):  # an upload, not a file_id
            file |= {"file_size": len(upload["content"]), "file_name": upload["filename"]}
        content = [file | {"width": 800, "height": 600}] if key == "photo" else file
        caption = self._text(params, "caption", limit=1024)
        return self._message(params, **{key: content}, **({"caption": caption} if caption else {}))
