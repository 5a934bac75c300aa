"""Review-queue handlers: /review, its buttons, and a tutor's comment sent as a reply."""

from __future__ import annotations

import logging

from telegram import Update
from telegram.error import TelegramError

from bot.telegram.context import CoachContext
from bot.telegram.learner import on_text
from bot.telegram.render import acknowledge, edit_reply, send_replies
from flows.io import Reply
from tutoring.actions import unpack_review
from tutoring.review import ReviewDesk, Step
from tutoring.staff import refusal

log = logging.getLogger(__name__)

UNREACHABLE = (
    "The decision is saved, but Telegram would not deliver it to the learner (they may have"
    " blocked the bot): they will see the new verdict in /progress."
)


def _desk(context: CoachContext) -> ReviewDesk:
    desk = context.bot_data.review_desk
    assert desk is not None, "the review desk is set up in post_init"
    return desk


async def _send(context: CoachContext, chat_id: int, replies: list[Reply]) -> None:
    await send_replies(context.bot, chat_id, 0, replies, polls=context.polls)


async def _carry_out(update: Update, context: CoachContext, step: Step) -> None:
    """Show the tutor the outcome (in place of the pressed item when `edit`), then tell the
    learner: one message each."""
    chat = update.effective_chat
    query = update.callback_query
    if chat is None:
        return
    if step.edit and query is not None:
        await edit_reply(query, step.tutor)
    else:
        await _send(context, chat.id, [step.tutor])
    if step.extra:
        await _send(context, chat.id, step.extra)
    if step.learner is not None:
        learner_id, text = step.learner
        try:
            await _send(context, learner_id, [Reply(text=text)])
        except TelegramError as error:
            log.warning("could not tell learner %s of a review: %s", learner_id, error)
            await _send(context, chat.id, [Reply(text=UNREACHABLE)])


async def _refused(context: CoachContext, chat_id: int, user_id: int, what: str) -> bool:
    """Refuse a learner as every staff command does: counted, logged and answered a few
    times an hour, then silently (tutoring.staff.refusal)."""
    staff = context.bot_data.desk
    assert staff is not None, "the staff desk is set up in post_init"
    text = await refusal(staff.staff, user_id, "tutor", what)
    if text is None:
        return False
    if text:
        await _send(context, chat_id, [Reply(text=text)])
    return True


async def on_review(update: Update, context: CoachContext) -> None:
    """/review [COHORT]: the oldest open item of the tutor's queue."""
    user, chat = update.effective_user, update.effective_chat
    if user is not None and chat is not None:
        if await _refused(context, chat.id, user.id, "/review"):
            return
        word = " ".join(context.args) if context.args else None
        await _send(context, chat.id, [await _desk(context).queue(user.id, word)])


async def on_review_button(update: Update, context: CoachContext) -> None:
    """✅ / 🟡 / ❌ / ⏭ / No comment under a queue item."""
    query = update.callback_query
    if query is None or update.effective_chat is None:
        return
    await acknowledge(query)
    if await _refused(context, update.effective_chat.id, query.from_user.id, "a review button"):
        return
    action = unpack_review(query.data if isinstance(query.data, str) else "")
    if action is None:
        reply = Reply(text="That button is no longer valid. Send /review.")
        await _send(context, update.effective_chat.id, [reply])
        return
    await _carry_out(update, context, await _desk(context).press(query.from_user.id, action))


async def on_reply(update: Update, context: CoachContext) -> None:
    """A text that replies to a message: a tutor's comment on a decided item, or else an
    ordinary message for the coach."""
    message = update.effective_message
    user = update.effective_user
    replied = message.reply_to_message if message is not None else None
    step = None
    if message is not None and user is not None and replied is not None and message.text:
        author = replied.from_user
        if author is not None and author.id == context.bot.id and replied.text:
            step = await _desk(context).comment(user.id, replied.text, message.text)
    if step is None:
        await on_text(update, context)
        return
    await _carry_out(update, context, step)


async def on_questions(update: Update, context: CoachContext) -> None:
    """/questions [COHORT|all] [TOPIC], or /questions QUESTION_ID."""
    user, chat = update.effective_user, update.effective_chat
    desk = context.bot_data.question_desk
    if user is not None and chat is not None and desk is not None:
        if await _refused(context, chat.id, user.id, "/questions"):
            return
        await _send(context, chat.id, [await desk.command(user.id, list(context.args or []))])
