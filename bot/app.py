"""The composition root: `build_application(settings)` wires the whole Telegram bot."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import os
from collections.abc import Callable, Sequence
from datetime import datetime
from pathlib import Path
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

from telegram import BotCommand, BotCommandScopeChat, BotCommandScopeDefault, Update
from telegram.constants import MessageEntityType
from telegram.error import TelegramError
from telegram.ext import (
    AIORateLimiter,
    ApplicationBuilder,
    BaseRateLimiter,
    CallbackQueryHandler,
    CommandHandler,
    ContextTypes,
    MessageHandler,
    PollAnswerHandler,
    TypeHandler,
    filters,
)
from telegram.request import BaseRequest

from bot.content import Content, load_content
from bot.settings import Settings
from bot.telegram import learner, review, staff
from bot.telegram.context import BotServices, CoachApplication, CoachContext
from bot.telegram.delivery import PushDelivery
from bot.telegram.health import Health, add_health_route
from bot.telegram.inbox import (
    PRUNE_EVERY_SECONDS,
    DurableUpdateQueue,
    handle_in_order,
    mark_handled,
    prune,
    recover,
)
from bot.telegram.leading import RETRY_SECONDS, Leadership
from bot.telegram.pacing import PacedRateLimiter
from bot.telegram.processor import PerChatUpdateProcessor
from bot.telegram.reminding import ReminderSender
from bot.telegram.render import APOLOGY
from flows.engine import Coach, utc_now
from flows.errors import CoachError
from flows.loader import SCENARIO_DIR
from storage.database import Database, SchemaVersionError
from storage.databases import open_current, sqlite_path
from storage.inbox import SqliteInboxStore
from storage.locks import leader_lock, polling_lock
from storage.postgres import is_postgres_url
from storage.pushes import SqlitePushStore
from storage.reports import SqliteReportStore
from storage.reviews import SqliteReviewStore
from storage.revision import SqliteRevisionStore
from storage.sqlite import SqliteProgressStore
from storage.staff import SqliteStaffStore
from tutoring.actions import BUTTON_PATTERN as REVIEW_BUTTONS
from tutoring.pushing import BUTTON_PATTERN, PushDesk
from tutoring.question_stats import QuestionDesk
from tutoring.reporting import ReportDesk
from tutoring.review import ReviewDesk, regrade_card
from tutoring.revision import Revision
from tutoring.staff import StaffDesk

log = logging.getLogger(__name__)

# Opt in to PTB's timedelta durations now: without it every 429's RetryAfter warns (deprecated).
os.environ.setdefault("PTB_TIMEDELTA", "true")
# Telegram usually answers in well under a second; a slow answer is not a failure.
SEND_TIMEOUT_SECONDS = 15.0
SEND_RETRIES = 3

TUTOR_COMMANDS = [
    BotCommand("push", "Push a quiz to a cohort, now or later"),
    BotCommand("pushes", "Scheduled and recent pushes"),
    BotCommand("cohort", "Cohorts: new, list, members, code, remove"),
    BotCommand("progress", "Your learners' progress (or: /progress COHORT)"),
    BotCommand("learner", "One learner's detail: /learner ID"),
    BotCommand("criteria", "Criteria matrix (or: /criteria COHORT)"),
    BotCommand("export", "CSV of answers and progress (or: /export COHORT)"),
    BotCommand("evidence", "Evidence checklist for an assessor: /evidence ID"),
    BotCommand("chart", "Chart of accuracy and criteria (or: /chart COHORT)"),
    BotCommand("review", "Review queue: appealed and flagged answers (or: /review COHORT)"),
    BotCommand("questions", "Question statistics, worst first (or: /questions ID)"),
]
ADMIN_COMMANDS = [
    BotCommand("stats", "Learners, activity and answers today"),
    BotCommand("grant", "Make someone a tutor or admin"),
    BotCommand("revoke", "Take a tutor or admin role away"),
]
LEARNER_COMMANDS = [
    BotCommand("start", "Welcome and main menu"),
    BotCommand("menu", "Main menu (pauses a scenario)"),
    BotCommand("resume", "Carry on where you left off"),
    BotCommand("hint", "A hint for the current question"),
    BotCommand("skip", "Skip the current question"),
    BotCommand("cancel", "Stop the current scenario or quiz"),
    BotCommand("quiz", "A quick quiz"),
    BotCommand("law", "Look up the law, e.g. /law refund"),
    BotCommand("progress", "Your progress and what to revise"),
    BotCommand("revise", "Revise the questions that are due"),
    BotCommand("settings", "Your settings (time zone)"),
    BotCommand("mydata", "Everything we store about you"),
    BotCommand("forget", "Erase your data"),
    BotCommand("join", "Join a cohort with its code"),
    BotCommand("help", "How it works"),
]
STARTUP_RETRIES = 3
HEALTH_TIMEOUT_SECONDS = 5.0
SWEEP = "push-sweep"
"""The leader's job arming pushes scheduled through other workers."""
STARTUP_RETRY_DELAY = 0.5


def file_url(base_url: str) -> str:
    """The file URL that goes with a Bot API base URL ('…/bot' -> '…/file/bot')."""
    if base_url.endswith("/bot"):
        return base_url[: -len("/bot")] + "/file/bot"
    parts = urlsplit(base_url)
    return f"{parts.scheme}://{parts.netloc}/file/bot"


def content_cache_dir(settings: Settings) -> Path | None:
    """Where validated content is cached between starts: CONTENT_CACHE_DIR, else a
    `.content-cache` folder beside the SQLite database (none beside an in-memory one), or in
    the working folder with PostgreSQL."""
    if settings.content_cache_dir is not None:
        return settings.content_cache_dir
    if is_postgres_url(settings.database_url):
        return Path(".content-cache")
    path = sqlite_path(settings.database_url)
    return None if path == ":memory:" else Path(path).parent / ".content-cache"


def commands_for(role: str) -> list[BotCommand]:
    """The command menu a user sees: learners', plus tutors', plus admins'."""
    commands = list(LEARNER_COMMANDS)
    if role in {"tutor", "admin"}:
        commands += TUTOR_COMMANDS
    if role == "admin":
        commands += ADMIN_COMMANDS
    return commands


async def register_commands(
    application: CoachApplication, staff: Sequence[tuple[int, str]] = ()
) -> bool:
    """Publish the command menus (everyone's, then each tutor's and admin's own); retried and
    logged, never fatal: learners can chat without them."""
    menus: list[tuple[list[BotCommand], BotCommandScopeDefault | BotCommandScopeChat]] = [
        (LEARNER_COMMANDS, BotCommandScopeDefault())
    ]
    menus += [(commands_for(role), BotCommandScopeChat(user_id)) for user_id, role in staff]
    for commands, scope in menus:
        for attempt in range(1, STARTUP_RETRIES + 1):
            try:
                await application.bot.set_my_commands(commands, scope=scope)
            except TelegramError as error:
                log.warning("set_my_commands failed (attempt %d): %s", attempt, error)
                if attempt < STARTUP_RETRIES:
                    await asyncio.sleep(STARTUP_RETRY_DELAY * 2**attempt)
            else:
                break
        else:
            log.error("could not register the command list; the bot serves learners without it")
            return False
    return True


async def _post_init(application: CoachApplication) -> None:
    services = application.bot_data
    assert services.settings is not None
    loaded = services.content
    if loaded is None:
        scenario_dir = services.scenario_dir or SCENARIO_DIR
        loaded = load_content(scenario_dir, content_cache_dir(services.settings))
    kb, scenarios = loaded.kb, loaded.scenarios
    database = await open_current(
        services.settings.database_url, auto_migrate=services.settings.migrates_on_start
    )
    if services.polling:
        await _take_polling_lock(application, database)
    store = SqliteProgressStore(database)
    services.kb = kb
    # Every question an answer may name: the scenario steps' own and the bank's. A step that
    # applies a bank question to its case keeps the bank id; the bank's version wins here, so
    # a tutor reviewing an answer to the bank question sees the bank question.
    questions = {q.id: q for content in scenarios.values() for q in content.questions.values()}
    questions.update(kb.questions)
    zone = ZoneInfo(services.settings.timezone)
    revision_store = SqliteRevisionStore(database)
    revision = Revision(revision_store, zone, clock=services.clock)
    reviews = SqliteReviewStore(database, admin_ids=services.settings.admin_ids)
    services.review_desk = ReviewDesk(
        reviews,
        kb,
        questions,
        clock=services.clock,
        hooks=[regrade_card(revision, scenarios)],
    )
    services.question_desk = QuestionDesk(services.review_desk, questions)
    services.coach = Coach(
        kb,
        scenarios,
        store,
        clock=services.clock,
        appeals=services.review_desk,
        revision=revision,
    )
    services.polls = store
    staff = SqliteStaffStore(database, admin_ids=services.settings.admin_ids)
    services.desk = StaffDesk(
        staff, application.bot.username, bot_id=application.bot.id, clock=services.clock
    )
    titles = {scenario_id: c.scenario.title for scenario_id, c in scenarios.items()}
    services.reports = ReportDesk(
        staff,
        SqliteReportStore(database),
        kb,
        titles,
        clock=services.clock,
        reviews=reviews,
        revision=revision,
    )
    pushes = SqlitePushStore(database, clock=services.clock)
    delivery = PushDelivery(application, pushes, staff, zone=zone, clock=services.clock)
    services.push_desk = PushDesk(
        staff, pushes, kb, scheduler=delivery, zone=zone, clock=services.clock
    )
    reminders = ReminderSender(application, revision_store, zone=zone, clock=services.clock)
    services.reminders = reminders
    # Only the leader sends pushes and reminders; a single worker leads from the start, so
    # pushes due while the bot was down go first (marked late), before the JobQueue starts.
    leadership = _leadership(application, database, delivery, reminders)
    delivery.leading = lambda: leadership.leading
    services.leadership = leadership
    await leadership.start()
    # The inbox: updates are stored from now on; what a crash left is finished first.
    inbox = SqliteInboxStore(database, clock=services.clock)
    services.inbox = inbox
    if isinstance(application.update_queue, DurableUpdateQueue):
        application.update_queue.attach(inbox, application.bot.id)
        if isinstance(application.update_processor, PerChatUpdateProcessor):
            application.update_processor.attach(
                functools.partial(handle_in_order, application, inbox)
            )
    await inbox.prune()
    await recover(application, inbox, store)
    job_queue = application.job_queue
    assert job_queue is not None
    job_queue.run_repeating(prune, interval=PRUNE_EVERY_SECONDS, first=PRUNE_EVERY_SECONDS)
    services.health = functools.partial(database_health, database)
    await register_commands(application, await staff.staff())


class PollingTakenError(RuntimeError):
    """`coach run` in polling mode found another polling process on the database."""


async def _take_polling_lock(application: CoachApplication, database: Database) -> None:
    """Long polling allows one process per bot (Telegram answers a second getUpdates with
    409 Conflict): a second `coach run` in polling mode stops here, in one line."""
    held = await database.try_lock(polling_lock(application.bot.id))
    if held is None:
        await database.close()
        raise PollingTakenError(
            "another process is already long-polling for this bot: polling allows one"
            " process; set WEBHOOK_URL to run several workers (webhooks)"
        )
    application.bot_data.polling_lock = held


def _leadership(
    application: CoachApplication,
    database: Database,
    delivery: PushDelivery,
    reminders: ReminderSender,
) -> Leadership:
    """The leader sends pushes and reminders (bot/telegram/leading.py)."""
    job_queue = application.job_queue
    assert job_queue is not None

    async def sweep(context: CoachContext) -> None:
        del context
        armed = await delivery.sweep()
        if armed:
            log.info("armed %d quiz push(es) scheduled through another worker", armed)

    async def gain() -> None:
        # Deliveries the last leader left unconfirmed are sent again (with a note).
        armed = await delivery.rearm()
        if armed:
            log.info("re-armed %d quiz push(es)", armed)
        reminders.arm()
        job_queue.run_repeating(sweep, interval=RETRY_SECONDS, first=RETRY_SECONDS, name=SWEEP)

    async def loss() -> None:
        delivery.disarm_all()
        reminders.disarm()
        for job in job_queue.get_jobs_by_name(SWEEP):
            job.schedule_removal()

    bot_id = application.bot.id
    return Leadership(lambda: database.try_lock(leader_lock(bot_id)), on_gain=gain, on_loss=loss)


async def database_health(database: Database) -> Health:
    """The database answers within HEALTH_TIMEOUT_SECONDS, and every migration this code
    knows is applied (a newer schema means another worker runs newer code)."""
    try:
        status = await asyncio.wait_for(database.migration_status(), HEALTH_TIMEOUT_SECONDS)
    except SchemaVersionError:
        return False, {"database": "ok", "migrations": "newer than this code"}
    # A timeout, a closed database, any driver's error: the database does not answer. Only
    # the error's kind goes out: its message may name the server.
    except Exception as error:  # noqa: BLE001
        log.warning("health check: the database does not answer: %s", error)
        return False, {
            "database": f"unavailable ({type(error).__name__})",
            "migrations": "unknown",
        }
    if status.pending:
        pending = ", ".join(migration.name for migration in status.pending)
        return False, {"database": "ok", "migrations": f"pending: {pending}"}
    return True, {"database": "ok", "migrations": "current"}


class _CoachApplication(CoachApplication):
    """PTB's Application, with GET /healthz added to the webhook server once it listens."""

    async def start(self) -> None:
        await super().start()
        check = self.bot_data.health
        if check is not None:
            add_health_route(self, check)


async def _post_shutdown(application: CoachApplication) -> None:
    services = application.bot_data
    if services.leadership is not None:
        await services.leadership.stop()
    if services.polling_lock is not None:
        await services.polling_lock.release()
    if services.coach is not None:
        # close() drains queued commits: every answer a learner was told about is on disk.
        store = services.coach.store
        assert isinstance(store, SqliteProgressStore)
        await store.database.close()


async def on_error(update: object, context: CoachContext) -> None:
    """The one error sink: a safe message for the learner, details only in the log."""
    update_id = update.update_id if isinstance(update, Update) else None
    error = context.error
    if isinstance(error, CoachError):
        log.warning("update %s: %s", update_id, error)
        text = error.user_message
    else:
        log.error("update %s failed", update_id, exc_info=error)
        text = APOLOGY
    if isinstance(update, Update) and update.effective_chat is not None:
        with contextlib.suppress(TelegramError):
            await context.bot.send_message(update.effective_chat.id, text)


def build_application(
    settings: Settings,
    request: BaseRequest | None = None,
    get_updates_request: BaseRequest | None = None,
    scenario_dir: Path | None = None,
    clock: Callable[[], datetime] = utc_now,
    *,
    rate_limited: bool | None = None,
    rate_limiter: BaseRateLimiter[int] | None = None,
    content: Content | None = None,
) -> CoachApplication:
    """Build the bot; `request` replaces the HTTP layer (tests use a recording fake) and
    `clock` the time that schedules go by. `rate_limited=False` drops the pacing (None:
    SEND_PACING decides, on by default), for `make bench` to measure the bot's own work on an
    instant fake; `rate_limiter` replaces the paced one (`make bench` compares PTB's default).
    `content` is what the bot serves when it is already loaded; else post_init loads it (from
    the cache if it can)."""
    assert settings.telegram_bot_token is not None, "build_application needs a token"
    if rate_limited is None:
        rate_limited = settings.send_pacing
    if rate_limiter is None:
        rate_limiter = (
            PacedRateLimiter(max_retries=SEND_RETRIES)
            if rate_limited
            else AIORateLimiter(overall_max_rate=0, group_max_rate=0, max_retries=SEND_RETRIES)
        )
    builder = (
        ApplicationBuilder()
        .application_class(_CoachApplication)
        .token(settings.telegram_bot_token.get_secret_value())
        .base_url(settings.telegram_api_base_url)
        .base_file_url(file_url(settings.telegram_api_base_url))
        .context_types(ContextTypes(context=CoachContext, bot_data=BotServices))
        .concurrent_updates(PerChatUpdateProcessor())
        # Stores each update before Telegram is told it was received (bot/telegram/inbox.py).
        .update_queue(DurableUpdateQueue())
        .post_init(_post_init)
        .post_shutdown(_post_shutdown)
        # Keeps sends inside Telegram's limits, evenly spaced with learners' replies before
        # pushes, and honours 429 retry_after (bot/telegram/pacing.py); tutors' pushes also
        # pace each chat (bot/telegram/delivery.py). Only calls with a chat_id are paced, as in
        # PTB's AIORateLimiter, so answerCallbackQuery is free; Telegram's FAQ states its
        # limits in messages
        # (https://core.telegram.org/bots/faq#my-bot-is-hitting-limits-how-do-i-avoid-this).
        .rate_limiter(rate_limiter)
    )
    if request is not None:
        builder = builder.request(request).get_updates_request(get_updates_request or request)
    else:
        builder = builder.read_timeout(SEND_TIMEOUT_SECONDS).write_timeout(SEND_TIMEOUT_SECONDS)
    application: CoachApplication = builder.build()
    application.bot_data.settings = settings
    application.bot_data.scenario_dir = scenario_dir
    application.bot_data.content = content
    application.bot_data.clock = clock

    private = filters.ChatType.PRIVATE
    addressed_in_group = filters.ChatType.GROUPS & (
        filters.COMMAND | filters.Entity(MessageEntityType.MENTION)
    )
    handlers = [
        # Tutor and admin commands (each checks the caller's role on every call).
        CommandHandler("grant", staff.on_grant, filters=private),
        CommandHandler("revoke", staff.on_revoke, filters=private),
        CommandHandler("cohort", staff.on_cohort, filters=private),
        # Reports (tutors: their cohorts; admins: everyone). Learners' /progress is their own.
        CommandHandler("progress", staff.on_progress, filters=private),
        CommandHandler("learner", staff.on_learner, filters=private),
        CommandHandler("criteria", staff.on_criteria, filters=private),
        CommandHandler("export", staff.on_export, filters=private),
        CommandHandler("evidence", staff.on_evidence, filters=private),
        CommandHandler("chart", staff.on_chart, filters=private),
        CommandHandler("stats", staff.on_stats, filters=private),
        CallbackQueryHandler(staff.on_progress_page, pattern=r"^rp\|"),
        # Quiz pushes (tutors: to their cohorts; admins: to any).
        CommandHandler("push", staff.on_push, filters=private),
        CommandHandler("pushes", staff.on_pushes, filters=private),
        CallbackQueryHandler(staff.on_push_button, pattern=BUTTON_PATTERN),
        # The review queue (tutors: their cohorts' answers; admins: any).
        CommandHandler("review", review.on_review, filters=private),
        CallbackQueryHandler(review.on_review_button, pattern=REVIEW_BUTTONS),
        CommandHandler("questions", review.on_questions, filters=private),
        # A reply to the bot's message: a tutor's comment on a review, else an ordinary text.
        MessageHandler(private & filters.TEXT & filters.REPLY & ~filters.COMMAND, review.on_reply),
        # Joining a cohort: /join CODE, or the deep link /start join_CODE.
        CommandHandler("join", staff.on_join, filters=private),
        CommandHandler(
            "start", staff.on_start_join, filters=private & filters.Regex(r"^/start join_")
        ),
        # Button presses, anywhere the bot's keyboards are.
        CallbackQueryHandler(learner.on_button),
        # Quiz-poll votes carry no chat: routed by poll id.
        PollAnswerHandler(learner.on_poll_answer),
        # Edits are not re-marked.
        MessageHandler(filters.UpdateType.EDITED_MESSAGE, learner.on_edited_message),
        # Text and /commands (known or not) in a private chat go to the engine.
        MessageHandler(private & filters.TEXT, learner.on_text),
        # Stickers, photos, voice, locations… in a private chat.
        MessageHandler(private & ~filters.TEXT, learner.on_other_message),
        # In groups: only when addressed, and only to point to the private chat.
        MessageHandler(addressed_in_group, learner.on_group_mention),
    ]
    application.add_handlers(handlers)
    # In a group of its own, after the handler above: the update is done with (inbox).
    application.add_handler(TypeHandler(Update, mark_handled), group=1)
    application.add_error_handler(on_error)
    return application


def run(settings: Settings, content: Content | None = None) -> None:
    """Serve learners until SIGINT/SIGTERM: long polling, or a webhook when WEBHOOK_URL is set."""
    if not settings.send_pacing:
        log.warning("SEND_PACING=false: sends are not paced (for benchmarks only)")
    application = build_application(settings, content=content)
    if settings.webhook_url:
        secret = settings.webhook_secret.get_secret_value() if settings.webhook_secret else None
        application.run_webhook(
            listen=settings.webhook_listen,
            port=settings.webhook_port,
            url_path=urlsplit(settings.webhook_url).path.lstrip("/"),
            webhook_url=settings.webhook_url,
            secret_token=secret,
            allowed_updates=Update.ALL_TYPES,
        )
    else:
        application.bot_data.polling = True  # post_init takes the polling lock
        application.run_polling(allowed_updates=Update.ALL_TYPES)
