"""Tutor and admin command handlers: parse, call the staff desk, reply."""

from __future__ import annotations

from telegram import Update

from bot.pushing import PUSH_ACTIONS, PushDesk
from bot.reporting import ReportDesk, parse_page_data
from bot.staff import JOIN_PREFIX, Caller, StaffDesk
from bot.telegram.context import CoachContext
from bot.telegram.learner import on_text
from bot.telegram.render import escape, keyboard, send_replies
from flows.actions import unpack
from flows.io import Reply


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


def _reports(context: CoachContext) -> ReportDesk:
    desk = context.bot_data.reports
    assert desk is not None, "the report desk is set up in post_init"
    return desk


async def _send(update: Update, context: CoachContext, replies: list[Reply]) -> None:
    chat = update.effective_chat
    if chat is not None:
        await send_replies(context.bot, chat.id, 0, replies, polls=context.polls)


def _arg(context: CoachContext) -> str | None:
    return " ".join(context.args) if context.args else None


async def on_progress(update: Update, context: CoachContext) -> None:
    """/progress: tutors and admins get their learners' report; learners their own progress."""
    user = update.effective_user
    if user is None:
        return
    if not await _reports(context).is_staff(user.id):
        await on_text(update, context)
        return
    await _send(update, context, [await _reports(context).progress(user.id, _arg(context))])


async def on_progress_page(update: Update, context: CoachContext) -> None:
    query = update.callback_query
    if query is None:
        return
    await query.answer()
    parsed = parse_page_data(query.data if isinstance(query.data, str) else "")
    if parsed is None:
        return
    reply = await _reports(context).progress_page(query.from_user.id, *parsed)
    await query.edit_message_text(escape(reply.text), reply_markup=keyboard(reply))


async def on_learner(update: Update, context: CoachContext) -> None:
    if update.effective_user is not None:
        word = _arg(context) or ""
        await _send(
            update, context, [await _reports(context).learner(update.effective_user.id, word)]
        )


async def on_criteria(update: Update, context: CoachContext) -> None:
    if update.effective_user is not None:
        user_id = update.effective_user.id
        await _send(update, context, await _reports(context).criteria(user_id, _arg(context)))


async def on_export(update: Update, context: CoachContext) -> None:
    if update.effective_user is not None:
        user_id = update.effective_user.id
        await _send(update, context, await _reports(context).export(user_id, _arg(context)))


async def on_evidence(update: Update, context: CoachContext) -> None:
    if update.effective_user is not None:
        word = _arg(context) or ""
        await _send(
            update, context, [await _reports(context).evidence(update.effective_user.id, word)]
        )


async def on_chart(update: Update, context: CoachContext) -> None:
    if update.effective_user is not None:
        user_id = update.effective_user.id
        await _send(update, context, [await _reports(context).chart(user_id, _arg(context))])


async def on_stats(update: Update, context: CoachContext) -> None:
    if update.effective_user is not None:
        await _send(update, context, [await _reports(context).stats(update.effective_user.id)])


def _pushing(context: CoachContext) -> PushDesk:
    desk = context.bot_data.push_desk
    assert desk is not None, "the push desk is set up in post_init"
    return desk


async def on_push(update: Update, context: CoachContext) -> None:
    """/push, /push QUIZ COHORT [WHEN], /push cancel|report|resend ID."""
    if update.effective_user is not None:
        user_id = update.effective_user.id
        reply = await _pushing(context).command(user_id, list(context.args or []))
        await _send(update, context, [reply])


async def on_pushes(update: Update, context: CoachContext) -> None:
    if update.effective_user is not None:
        await _send(update, context, [await _pushing(context).listing(update.effective_user.id)])


async def on_push_button(update: Update, context: CoachContext) -> None:
    """A /push step, cancel, report or re-send button: the message becomes the next step."""
    query = update.callback_query
    if query is None:
        return
    await query.answer()
    action = unpack(query.data if isinstance(query.data, str) else "", PUSH_ACTIONS)
    if action is None:
        await _send(update, context, [Reply(text="That button is no longer valid. Send /push.")])
        return
    reply = await _pushing(context).press(query.from_user.id, action)
    await query.edit_message_text(escape(reply.text), reply_markup=keyboard(reply))
