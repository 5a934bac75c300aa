"""The durable inbox and outbox on the Telegram side: nothing a learner sends is lost in a crash.

- `DurableUpdateQueue` is the application's update queue. PTB's polling loop awaits `put` for
  every update before it asks `getUpdates` with the next offset, and its webhook handler awaits
  `put` before it answers 200: so storing the update in `put` means it is on disk before
  Telegram is told it was received. A repeat (same bot, same update id) is dropped there.
- `mark_handled` runs after every other handler of an update (its own group), so a crash
  before it leaves the update to be handled at the next start. A learner's input that reaches
  the coach is marked handled by its own commit instead (the same transaction as its answer,
  session and outbox replies), and `mark_handled` then writes nothing.
- `recover` runs at start, before any new update is fetched: the replies committed but not
  confirmed are sent (once more at most), then the updates stored but not handled are handled,
  in order per chat.
- `handle_in_order` runs every update under its chat's lock (`Inbox.serialised`, held across
  every worker on one database): first the chat's earlier updates still unhandled in the
  inbox (another worker may have stored them and not got to them yet), in update-id order,
  then the update itself unless another worker handled it meanwhile. So one learner's inputs
  are applied one at a time and in order, whichever worker receives them.
"""

from __future__ import annotations

import asyncio
import inspect
import json
import logging
from collections import defaultdict
from collections.abc import Awaitable, Callable, Iterable, Sequence
from typing import Any, TypeVar

from telegram import Update
from telegram.error import TelegramError

from bot.telegram.context import CoachApplication, CoachContext, PollRegistry
from bot.telegram.inbox_port import Inbox
from bot.telegram.processor import update_owner
from bot.telegram.render import send_replies
from flows.io import Reply

log = logging.getLogger(__name__)

RECOVERY_CHATS = 32
"""Chats recovered side by side at start (each chat's own updates strictly in order)."""
PRUNE_EVERY_SECONDS = 6 * 3600
K = TypeVar("K")


class DurableUpdateQueue(asyncio.Queue[object]):
    """An update queue that stores each update before it is queued (see the module doc)."""

    def __init__(self) -> None:
        super().__init__()
        self._inbox: Inbox | None = None
        self._bot_id = 0
        self.repeats = 0
        """Updates dropped because they were stored before."""
        self._storing: set[asyncio.Future[None]] = set()

    def attach(self, inbox: Inbox, bot_id: int) -> None:
        """Store updates from now on (set up in post_init, once the database is open)."""
        self._inbox, self._bot_id = inbox, bot_id

    async def put(self, item: object) -> None:
        """Store an update, then queue it; a repeat is dropped, anything else just queued."""
        if self._inbox is None or not isinstance(item, Update):
            # PTB's stop signal among them: updates still being stored go in before it.
            if self._storing:
                await asyncio.wait(self._storing)
            await super().put(item)
            return
        # Shielded: at SIGTERM the polling loop is cancelled, perhaps in the middle of this
        # put; an update already stored must still be queued, or it would wait for the next
        # start. The task is kept until done and awaited before the stop signal.
        storing = asyncio.ensure_future(self._store_then_queue(item, self._inbox))
        self._storing.add(storing)
        storing.add_done_callback(self._storing.discard)
        await asyncio.shield(storing)

    async def _store_then_queue(self, update: Update, inbox: Inbox) -> None:
        raw = json.dumps(update.to_dict(), ensure_ascii=False)
        user = update.effective_user
        # The chat column is the update's owner, the key its chat's lock and handle_in_order
        # look it up by (the chat; for a poll answer, which has none, the voter).
        owner = update_owner(update)
        stored = await inbox.receive(
            self._bot_id, update.update_id, owner, user.id if user is not None else None, raw
        )
        if not stored:
            self.repeats += 1
            # Telegram delivers again what it was not told about: if the worker that stored
            # it died before handling it, it is queued here (handled at most once: the chat's
            # lock and the inbox's handled mark decide, see handle_in_order).
            if owner is not None and any(
                waiting.update_id == update.update_id
                for waiting in await inbox.unhandled_in_chat(
                    self._bot_id, owner, up_to=update.update_id
                )
            ):
                log.info("update %s was received before, not yet handled", update.update_id)
                await super().put(update)
            else:
                log.info("update %s was received before: not handled again", update.update_id)
            return
        await super().put(update)


async def handle_in_order(
    application: CoachApplication,
    inbox: Inbox,
    owner: int,
    update: Update,
    handling: Awaitable[object],
) -> None:
    """Handle `update` (`handling` is its handlers' coroutine) under its chat's lock, after
    the chat's earlier unhandled updates; skip it if it was handled already (module doc)."""
    bot = application.bot
    async with inbox.serialised(bot.id, owner):
        waiting = await inbox.unhandled_in_chat(bot.id, owner, up_to=update.update_id)
        for earlier in waiting:
            if earlier.update_id != update.update_id:
                await application.process_update(Update.de_json(json.loads(earlier.raw), bot))
        if any(earlier.update_id == update.update_id for earlier in waiting):
            await handling
            return
    if inspect.iscoroutine(handling):
        handling.close()  # never started: nothing to undo
    log.info("update %s was handled already (another worker): skipped", update.update_id)


async def mark_handled(update: Update, context: CoachContext) -> None:
    """Registered last: the update's handlers have run (or failed and were answered). A
    learner's input marks it in its own commit instead (one transaction less per input)."""
    inbox = context.bot_data.inbox
    if inbox is not None and not context.handled_by_commit:
        await inbox.handled(context.bot.id, update.update_id)


async def send_committed(
    bot_send: Callable[[int, Sequence[Reply]], Awaitable[list[int]]],
    inbox: Inbox,
    update_key: str,
    learner_id: int,
    replies: Sequence[Reply],
) -> None:
    """Send the replies of a committed input and record the outcome in the outbox."""
    try:
        message_ids = await bot_send(learner_id, replies)
    except TelegramError as error:
        await inbox.failed(update_key, f"Telegram refused: {error}")
        raise
    await inbox.sent(update_key, message_ids)


def as_resent(replies: Iterable[Reply]) -> list[Reply]:
    """Replies sent again after a restart: the button press they answered is gone, so an edit
    of the pressed message becomes a message of its own (with the buttons it had)."""
    return [Reply(text=r.text, buttons=r.buttons) if r.kind == "echo" else r for r in replies]


async def recover(application: CoachApplication, inbox: Inbox, polls: PollRegistry) -> None:
    """At start: send the outbox, then handle the inbox (see the module doc)."""
    bot = application.bot
    entries = list(await inbox.unsent())
    by_learner: dict[int, list[Any]] = defaultdict(list)
    for entry in entries:
        by_learner[entry.learner_id].append(entry)

    async def send(learner_id: int, replies: Sequence[Reply]) -> list[int]:
        messages = await send_replies(bot, learner_id, learner_id, replies, polls=polls)
        return [message.message_id for message in messages]

    async def one_learner(learner_id: int) -> None:
        # Under the chat's lock: a worker still sending these replies holds it, and has
        # marked them sent by the time it lets go.
        async with inbox.serialised(bot.id, learner_id):
            for entry in by_learner[learner_id]:
                await send_again(learner_id, entry)

    async def send_again(learner_id: int, entry: Any) -> None:
        if await inbox.status(entry.update_key) == "pending":
            if not await inbox.claim(entry.update_key):
                log.warning("replies of %s given up after a crash", entry.update_key)
                return
            try:
                await send_committed(
                    send, inbox, entry.update_key, learner_id, as_resent(entry.replies)
                )
            except TelegramError as error:
                log.info("replies of %s not delivered: %s", entry.update_key, error)

    await _side_by_side(one_learner, list(by_learner))
    stored = list(await inbox.unhandled(bot.id))
    by_chat: dict[int | None, list[Update]] = defaultdict(list)
    for row in stored:
        update = Update.de_json(json.loads(row.raw), bot)
        by_chat[update_owner(update)].append(update)

    async def one_chat(owner: int | None) -> None:
        if owner is None:
            for update in by_chat[owner]:
                await application.process_update(update)
            return
        # Read again under the chat's lock: another worker may have handled some since.
        async with inbox.serialised(bot.id, owner):
            for row in await inbox.unhandled_in_chat(bot.id, owner):
                await application.process_update(Update.de_json(json.loads(row.raw), bot))

    await _side_by_side(one_chat, list(by_chat))
    if entries or stored:
        log.info(
            "recovered after a stop: %d reply batch(es) sent again, %d update(s) handled",
            len(entries),
            len(stored),
        )


async def _side_by_side(work: Callable[[K], Awaitable[None]], keys: list[K]) -> None:
    gate = asyncio.Semaphore(RECOVERY_CHATS)

    async def gated(key: K) -> None:
        async with gate:
            await work(key)

    await asyncio.gather(*(gated(key) for key in keys))


async def prune(context: CoachContext) -> None:
    """A JobQueue job: drop what the retention period no longer needs."""
    inbox = context.bot_data.inbox
    if inbox is not None:
        removed = await inbox.prune()
        log.info("pruned %d inbox/outbox row(s) past retention", removed)
