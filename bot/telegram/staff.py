"""Tutor and admin command handlers: parse, call the staff desk, reply."""

from __future__ import annotations

from telegram import MessageOriginUser, Update

from bot.telegram.context import CoachContext
from bot.telegram.learner import learner_of, on_text
from bot.telegram.render import acknowledge, edit_reply, escape, send_replies
from flows.actions import unpack
from flows.io import Document, Reply
from tutoring import reports
from tutoring.pushing import PUSH_ACTIONS, PushDesk
from tutoring.reporting import ReportDesk, parse_page_data
from tutoring.staff import JOIN_PREFIX, Caller, StaffDesk

FORWARD_PLEASE = (
    "Reply to a message of theirs that you forwarded to me, or give their numeric id or @username."
)
HIDDEN_SENDER = (
    "Telegram doesn't say who wrote that forwarded message (their privacy settings hide it)."
    " Use their numeric id instead."
)


def _caller(update: Update) -> Caller | None:
    """Who is asking, and whom the message they reply to names. Staff commands are private, so
    a reply is to the bot's message or to one the caller sent or forwarded: only a forward's
    original sender can be the person meant."""
    message = update.effective_message
    user = update.effective_user
    if message is None or user is None:
        return None
    replied = message.reply_to_message
    if replied is None:
        return Caller(user.id)
    origin = replied.forward_origin
    if isinstance(origin, MessageOriginUser):
        if origin.sender_user.is_bot:
            return Caller(user.id, reply_problem="That message was forwarded from a bot.")
        return Caller(user.id, replied_to=origin.sender_user.id)
    if origin is not None:
        return Caller(user.id, reply_problem=HIDDEN_SENDER)
    author = replied.from_user
    if author is None or author.is_bot or author.id == user.id:
        return Caller(user.id, reply_problem=FORWARD_PLEASE)
    return Caller(user.id, replied_to=author.id)


async def _reply(update: Update, text: str) -> None:
    message = update.effective_message
    if message is not None and text:  # "": a refusal no longer answered
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
    user = update.effective_user
    if user is not None:
        code = (context.args or [""])[0]
        await _reply(update, await _desk(context).join(learner_of(user), code))


async def on_start_join(update: Update, context: CoachContext) -> None:
    """/start join_CODE (the cohort deep link): join, then the usual welcome."""
    user = update.effective_user
    if user is None:
        return
    code = (context.args or [""])[0].removeprefix(JOIN_PREFIX)
    await _reply(update, await _desk(context).join(learner_of(user), code))
    await on_text(update, context)


def _reports(context: CoachContext) -> ReportDesk:
    desk = context.bot_data.reports
    assert desk is not None, "the report desk is set up in post_init"
    return desk


async def _send(update: Update, context: CoachContext, replies: list[Reply]) -> None:
    chat = update.effective_chat
    # A message with no text is a refusal no longer answered (tutoring.staff.refusal).
    replies = [r for r in replies if r.text or r.kind != "message"]
    if chat is not None and replies:
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
    report = await _reports(context).progress(user.id, _arg(context))
    desk = context.bot_data.review_desk
    line = await desk.open_line(user.id, _arg(context)) if desk is not None else ""
    if line:  # the review queue's size rides in the same message
        report = Reply(text=f"{report.text}\n\n{line}", buttons=report.buttons)
    await _send(update, context, [report])


async def on_progress_page(update: Update, context: CoachContext) -> None:
    query = update.callback_query
    if query is None:
        return
    await acknowledge(query)
    parsed = parse_page_data(query.data if isinstance(query.data, str) else "")
    if parsed is None:
        await _send(update, context, [Reply(text="That button is no longer valid. /progress")])
        return
    reply = await _reports(context).progress_page(query.from_user.id, *parsed)
    if reply.text:
        await edit_reply(query, reply)


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
        replies = await _reports(context).export(user_id, _arg(context))
        questions = context.bot_data.question_desk
        if questions is not None and all(r.kind == "document" for r in replies):
            found = await questions.stats(user_id, _arg(context))
            if not isinstance(found, str):
                stamp = context.bot_data.clock().strftime("%Y%m%d")
                content = reports.questions_csv(found[1])
                document = Document(filename=f"questions-{stamp}.csv", content=content)
                replies.append(Reply(kind="document", text="Questions", document=document))
        await _send(update, context, replies)


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
    await acknowledge(query)
    action = unpack(query.data if isinstance(query.data, str) else "", PUSH_ACTIONS)
    if action is None:
        await _send(update, context, [Reply(text="That button is no longer valid. Send /push.")])
        return
    reply = await _pushing(context).press(query.from_user.id, action)
    if reply.text:
        await edit_reply(query, reply)
