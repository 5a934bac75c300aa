"""Tutor and admin command handlers: parse, call the staff desk, reply."""

from __future__ import annotations

from telegram import Update

from bot.staff import JOIN_PREFIX, Caller, StaffDesk
from bot.telegram.context import CoachContext
from bot.telegram.learner import on_text
from bot.telegram.render import escape


def _caller(update: Update) -> Caller | None:
    message = update.effective_message
    if message is None or update.effective_user is None:
        return None
    replied = message.reply_to_message
    author = replied.from_user.id if replied is not None and replied.from_user else None
    return Caller(update.effective_user.id, replied_to=author)


async def _reply(update: Update, text: str) -> None:
    message = update.effective_message
    if message is not None:
        await message.reply_html(escape(text), disable_web_page_preview=None)


def _desk(context: CoachContext) -> StaffDesk:
    desk = context.bot_data.desk
    assert desk is not None, "the staff desk is set up in post_init"
    return desk


async def on_grant(update: Update, context: CoachContext) -> None:
    caller = _caller(update)
    if caller is not None:
        await _reply(update, await _desk(context).grant(caller, list(context.args or [])))


async def on_revoke(update: Update, context: CoachContext) -> None:
    caller = _caller(update)
    if caller is not None:
        await _reply(update, await _desk(context).revoke(caller, list(context.args or [])))


async def on_cohort(update: Update, context: CoachContext) -> None:
    caller = _caller(update)
    if caller is not None:
        await _reply(update, await _desk(context).cohort(caller, list(context.args or [])))


async def on_join(update: Update, context: CoachContext) -> None:
    caller = _caller(update)
    if caller is not None:
        code = (context.args or [""])[0]
        await _reply(update, await _desk(context).join(caller.user_id, code))


async def on_start_join(update: Update, context: CoachContext) -> None:
    """/start join_CODE (the cohort deep link): join, then the usual welcome."""
    caller = _caller(update)
    if caller is None:
        return
    code = (context.args or [""])[0].removeprefix(JOIN_PREFIX)
    await _reply(update, await _desk(context).join(caller.user_id, code))
    await on_text(update, context)
