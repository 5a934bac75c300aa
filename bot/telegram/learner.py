"""Learner handlers: parse the update, call the coach, render the replies."""

from __future__ import annotations

import logging
from collections.abc import Sequence

from telegram import CallbackQuery, Update, User
from telegram.constants import ChatType
from telegram.error import TelegramError

from bot.telegram.context import CoachContext
from bot.telegram.inbox import send_committed
from bot.telegram.render import (
    EDITED,
    NOT_DELIVERED,
    NOT_TEXT,
    PRIVATE_ONLY,
    acknowledge,
    send_replies,
)
from flows.errors import CoachError
from flows.io import Input, Reply
from flows.ports import LearnerProfile

log = logging.getLogger(__name__)


async def _deliver(
    context: CoachContext,
    update: Update,
    chat_id: int,
    learner_id: int,
    replies: Sequence[Reply],
    *,
    query: CallbackQuery | None = None,
) -> None:
    """Send replies of an input that is already committed, and mark them sent in the outbox
    (where the commit put them); on failure, point to /resume."""
    if not replies:
        return  # nothing to say, or a repeat whose replies went out before

    async def send(_: int, to_send: Sequence[Reply]) -> list[int]:
        messages = await send_replies(
            context.bot, chat_id, learner_id, to_send, polls=context.polls, query=query
        )
        return [message.message_id for message in messages]

    try:
        inbox = context.bot_data.inbox
        if inbox is None:
            await send(learner_id, replies)
        else:
            await send_committed(send, inbox, update_key(update, context), learner_id, replies)
    except TelegramError as error:
        raise CoachError(NOT_DELIVERED, f"sending replies failed: {error}") from error


def learner_of(user: User) -> LearnerProfile:
    return LearnerProfile(
        learner_id=user.id, display_name=user.full_name[:100], username=user.username
    )


def update_key(update: Update, context: CoachContext) -> str:
    """The input's key for the repeat check and the outbox: Telegram numbers updates per bot."""
    return f"tg:{context.bot.id}:{update.update_id}"


def stored_update(update: Update, context: CoachContext) -> tuple[int, int] | None:
    """The update's row in the inbox, for the input's commit to mark handled (None: no inbox)."""
    return None if context.bot_data.inbox is None else (context.bot.id, update.update_id)


async def _handle(update: Update, context: CoachContext, inp: Input) -> list[Reply]:
    # No "typing…" chat action: marking takes about a millisecond, so a reply is slow only
    # when the bot is busy, which is exactly when the call budget (rule 16) is short.
    user = update.effective_user
    assert user is not None
    replies = await context.coach.handle(learner_of(user), inp)
    # The coach returned: the input's commit marked the update handled (applied now or
    # before), or /forget erased its row; mark_handled need not write it again.
    context.handled_by_commit = inp.stored_update is not None
    return replies


async def on_text(update: Update, context: CoachContext) -> None:
    """Typed text and /commands in a private chat."""
    message = update.effective_message
    if message is None or message.text is None or update.effective_user is None:
        return
    inp = Input.typed(message.text, update_key(update, context), stored_update(update, context))
    replies = await _handle(update, context, inp)
    await _deliver(context, update, message.chat_id, update.effective_user.id, replies)


async def on_button(update: Update, context: CoachContext) -> None:
    """An inline-keyboard button press."""
    query = update.callback_query
    if query is None or update.effective_user is None:
        return
    await acknowledge(query)
    data = query.data if isinstance(query.data, str) else ""
    inp = Input.pressed(data, update_key(update, context), stored_update(update, context))
    replies = await _handle(update, context, inp)
    chat_id = query.message.chat.id if query.message is not None else query.from_user.id
    await _deliver(context, update, chat_id, query.from_user.id, replies, query=query)


async def on_poll_answer(update: Update, context: CoachContext) -> None:
    """A vote in a quiz poll: routed by poll id to the learner who got the poll."""
    answer = update.poll_answer
    if answer is None or answer.user is None:
        return
    target = await context.polls.poll_recipient(answer.poll_id)
    if target is None or target[0] != answer.user.id:
        log.info("ignoring an answer to unknown poll %s", answer.poll_id)
        return
    inp = Input(
        kind="poll_answer",
        poll_question=target[1],
        poll_options=tuple(answer.option_ids),
        update_key=update_key(update, context),
        stored_update=stored_update(update, context),
    )
    replies = await _handle(update, context, inp)
    await _deliver(context, update, answer.user.id, answer.user.id, replies)


async def on_other_message(update: Update, context: CoachContext) -> None:
    """Stickers, photos, voice, locations…: a friendly word, no change of state."""
    message = update.effective_message
    if message is not None:
        await send_replies(context.bot, message.chat_id, 0, [NOT_TEXT], polls=context.polls)


async def on_edited_message(update: Update, context: CoachContext) -> None:
    message = update.edited_message
    if message is not None and message.chat.type == ChatType.PRIVATE:
        await send_replies(context.bot, message.chat_id, 0, [EDITED], polls=context.polls)


async def on_group_mention(update: Update, context: CoachContext) -> None:
    """In a group, answer only when addressed, and only to point to the private chat."""
    message = update.effective_message
    if message is None or message.text is None:
        return
    me = f"@{context.bot.username}".lower()
    first = message.text.split(maxsplit=1)[0].lower()
    bare_command = first.startswith("/") and "@" not in first
    if me in message.text.lower() or bare_command:
        await message.reply_text(PRIVATE_ONLY)
