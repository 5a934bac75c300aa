"""Engine replies rendered for Telegram: HTML-escaped text split at 4,096 characters,
inline keyboards, native quiz polls, documents, and edits of a pressed question."""

from __future__ import annotations

import asyncio
import html
import logging
from collections.abc import Awaitable, Sequence
from typing import Any, cast

from telegram import (
    CallbackQuery,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    InputFile,
    LinkPreviewOptions,
    Message,
)
from telegram import Poll as TelegramPoll
from telegram.constants import MessageLimit, ParseMode, PollLimit
from telegram.error import BadRequest, TelegramError
from telegram.ext import ExtBot

from bot.telegram.context import PollRegistry
from flows.io import Poll, Reply

log = logging.getLogger(__name__)

# Texts of the Telegram transport itself (the engine's own texts are in flows/render.py).
NOT_TEXT = Reply(
    text="I can only read text. Type your answer, or send /menu to see what you can do."
)
EDITED = Reply(
    text="I only mark new messages – please send your corrected answer as a new message."
)
PRIVATE_ONLY = "Let's talk in a private chat: open me and press Start, so your answers stay yours."
# Sent when replies could not be delivered after the input was committed.
NOT_DELIVERED = (
    "Sorry – Telegram didn't take all of my reply. Your answer is saved: send /resume to see"
    " where you are."
)
APOLOGY = "Sorry – something went wrong on our side. Please try again in a moment."

MESSAGE_LIMIT = int(MessageLimit.MAX_TEXT_LENGTH)
NO_PREVIEW = LinkPreviewOptions(is_disabled=True)


def escape(text: str) -> str:
    """Escape for Telegram's HTML parse mode (only <, > and & are special there)."""
    return html.escape(text, quote=False)


def utf16_length(text: str) -> int:
    """Telegram counts a message's length in UTF-16 code units: an emoji outside the Basic
    Multilingual Plane counts twice."""
    return len(text.encode("utf-16-le")) // 2


def _fitting(text: str, limit: int) -> int:
    """How many characters of `text` fit in `limit` UTF-16 units."""
    units = 0
    for index, char in enumerate(text):
        units += 2 if ord(char) > 0xFFFF else 1
        if units > limit:
            return index
    return len(text)


def split_text(text: str, limit: int = MESSAGE_LIMIT) -> list[str]:
    """Split text into chunks of at most `limit` UTF-16 units (Telegram's measure), at
    paragraph or line breaks."""
    chunks: list[str] = []
    rest = text.strip() or "…"
    while utf16_length(rest) > limit:
        fits = _fitting(rest, limit)
        cut = rest.rfind("\n\n", 0, fits)
        if cut <= 0:
            cut = rest.rfind("\n", 0, fits)
        if cut <= 0:
            cut = rest.rfind(" ", 0, fits)
        if cut <= 0:
            cut = fits
        chunks.append(rest[:cut].rstrip())
        rest = rest[cut:].lstrip()
    chunks.append(rest)
    return chunks


async def acknowledge(query: CallbackQuery) -> None:
    """Answer a button press (stops the spinner). Telegram refuses this for a press that waited
    too long ("query is too old", after a restart or a backlog); the press is still handled."""
    try:
        await query.answer()
    except TelegramError as error:
        log.info("could not acknowledge a button press: %s", error)


async def edit_reply(query: CallbackQuery, reply: Reply) -> None:
    """Show `reply` in place of the pressed message: escaped for HTML and sent with HTML parse
    mode (escaping without the parse mode shows "&amp;" to the reader)."""
    await query.edit_message_text(
        escape(split_text(reply.text)[0]),
        parse_mode=ParseMode.HTML,
        reply_markup=keyboard(reply),
        link_preview_options=NO_PREVIEW,
    )


def keyboard(reply: Reply) -> InlineKeyboardMarkup | None:
    if not reply.buttons:
        return None
    return InlineKeyboardMarkup(
        [
            [InlineKeyboardButton(b.label, callback_data=b.data) for b in row]
            for row in reply.buttons
        ]
    )


def _fits(*texts: str) -> bool:
    return sum(len(escape(t)) for t in texts) + 2 * (len(texts) - 1) <= MESSAGE_LIMIT


def merge_messages(replies: Sequence[Reply]) -> list[Reply]:
    """Consecutive texts in as few messages as Telegram's 4,096 characters allow.

    Every Bot API call is budget (about 30 a second for the whole bot), so the verdict, the
    feedback and the next question of one learner action go out as one message: a text
    without buttons joins the message (or the text before a quiz poll) that follows it, which
    keeps its buttons. A quiz poll's own short header ("⚡ Question 2 of 5") rides in the
    poll's question. Order and wording stay exactly as the engine made them.
    """
    merged: list[Reply] = []
    for reply in map(_fold_header, replies):
        before = merged[-1] if merged else None
        if (
            before is not None
            and before.kind == "message"
            and not before.buttons
            and reply.kind in {"message", "poll"}
            and _fits(before.text, reply.text)
        ):
            text = f"{before.text.strip()}\n\n{reply.text.strip()}".strip()
            merged[-1] = Reply(kind=reply.kind, text=text, buttons=reply.buttons, poll=reply.poll)
            continue
        merged.append(reply)
    return merged


def _fold_header(reply: Reply) -> Reply:
    """A quiz poll with its header folded into the question when both fit the poll's 300
    characters: one call instead of a message and a poll."""
    poll = reply.poll
    if reply.kind != "poll" or poll is None or not reply.text.strip():
        return reply
    question = f"{reply.text.strip()}\n{poll.question}"
    if len(question) > int(PollLimit.MAX_QUESTION_LENGTH):
        return reply
    folded = Poll(
        question_id=poll.question_id,
        question=question,
        options=poll.options,
        correct_option=poll.correct_option,
        explanation=poll.explanation,
    )
    return Reply(kind="poll", poll=folded)


async def send_replies(
    bot: ExtBot[int],
    chat_id: int,
    learner_id: int,
    replies: Sequence[Reply],
    *,
    polls: PollRegistry,
    query: CallbackQuery | None = None,
    gap: float = 0.0,
) -> list[Message]:
    """Send every reply in order; an `echo` edits the message whose button was pressed.

    Returns the messages sent. `gap` spaces them out (seconds): Telegram asks for about one
    message per second in a chat, which matters when the bot, not the learner, starts talking.
    """
    sent: list[Message] = []

    async def send(message: Awaitable[Message]) -> Message:
        if sent and gap:
            await asyncio.sleep(gap)
        result = await message
        sent.append(result)
        return result

    pending = merge_messages(replies)
    while pending:
        reply = pending.pop(0)
        if reply.kind == "echo":
            if query is None or query.message is None:
                continue
            # The pressed question is edited into its verdict, and the message that follows
            # (feedback, next question and its buttons) rides in the same edit when it fits:
            # one call instead of two.
            # An echo with buttons of its own (a look-back) is a whole message by itself.
            follow = pending[0] if pending and pending[0].kind == "message" else None
            if follow is not None and not reply.buttons and _fits(reply.text, follow.text):
                text, markup = f"{reply.text}\n\n{follow.text}", keyboard(follow)
            else:
                follow, text, markup = None, split_text(reply.text)[0], keyboard(reply)
            try:
                await query.edit_message_text(
                    escape(text),
                    parse_mode=ParseMode.HTML,
                    reply_markup=markup,
                    link_preview_options=NO_PREVIEW,
                )
            except BadRequest:
                # A message too old to edit keeps its buttons; what follows is sent below.
                continue
            if follow is not None:
                pending.pop(0)
            continue
        if reply.kind == "poll" and reply.poll is not None:
            poll = reply.poll
            if reply.text:
                await send(
                    bot.send_message(chat_id, escape(reply.text), parse_mode=ParseMode.HTML)
                )
            message = await send(
                bot.send_poll(
                    chat_id,
                    question=poll.question,
                    options=list(poll.options),
                    type=TelegramPoll.QUIZ,
                    # The Bot API types option indexes as literals 0-11; ours are checked at load.
                    correct_option_ids=cast(Any, [poll.correct_option]),
                    explanation=poll.explanation,
                    is_anonymous=False,
                )
            )
            if message.poll is not None:
                await polls.remember_poll(message.poll.id, learner_id, poll.question_id)
            continue
        if reply.kind in {"photo", "document"} and reply.document is not None:
            upload = InputFile(reply.document.content, filename=reply.document.filename)
            caption = reply.document.caption or None
            if reply.kind == "photo":
                await send(bot.send_photo(chat_id, photo=upload, caption=caption))
            else:
                await send(bot.send_document(chat_id, document=upload, caption=caption))
            continue
        chunks = split_text(reply.text)
        for index, chunk in enumerate(chunks):
            last = index == len(chunks) - 1
            await send(
                bot.send_message(
                    chat_id,
                    escape(chunk),
                    parse_mode=ParseMode.HTML,
                    reply_markup=keyboard(reply) if last else None,
                    link_preview_options=NO_PREVIEW,
                )
            )
    return sent
