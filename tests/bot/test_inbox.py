"""The inbox and outbox through the recording fake: a repeat is dropped at the queue, and what
a crash left (an update stored but not handled, replies committed but not sent) is finished at
the next start, in order, before anything new."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from pathlib import Path

from telegram import Update

from bot.app import build_application
from bot.telegram.context import CoachApplication
from bot.telegram.inbox import DurableUpdateQueue, as_resent
from flows.io import Button, Reply
from flows.ports import Commit, LearnerProfile
from storage.inbox import SqliteInboxStore
from storage.sqlite import SqliteProgressStore
from tests.bot.fakes import RecordingRequest, Updates, settings_for
from tests.bot.people import started
from tests.conftest import TEST_SCENARIOS

LEARNER = 777


@contextlib.asynccontextmanager
async def running(db: Path, fake: RecordingRequest) -> AsyncIterator[CoachApplication]:
    """The bot as `coach run` starts it (minus polling) on this database."""
    app = build_application(settings_for(db), request=fake, scenario_dir=TEST_SCENARIOS)
    async with started(app, fake) as running_app:
        yield running_app


def inbox_of(app: CoachApplication) -> SqliteInboxStore:
    inbox = app.bot_data.inbox
    assert isinstance(inbox, SqliteInboxStore)
    return inbox


async def settled(app: CoachApplication) -> None:
    """Until the update queue is empty, every update in it handled and its replies recorded
    sent (a bound, not a time): a learner's input is marked handled before its replies go."""
    inbox = inbox_of(app)
    for _ in range(500):
        if (
            app.update_queue.empty()
            and not await inbox.unhandled(app.bot.id)
            and not await inbox.unsent()
        ):
            return
        await asyncio.sleep(0.01)
    raise AssertionError("updates left unhandled")


async def test_an_update_delivered_twice_is_handled_once(tmp_path: Path) -> None:
    fake = RecordingRequest()
    async with running(tmp_path / "coach.db", fake) as app:
        queue = app.update_queue
        assert isinstance(queue, DurableUpdateQueue)
        update = Updates(app.bot).text("/help")
        await queue.put(update)
        await queue.put(update)  # Telegram delivers it again (the offset did not move on)
        await settled(app)
        assert queue.repeats == 1
        assert len(fake.sent()) == 1


async def test_a_learners_input_is_marked_handled_by_its_own_commit(tmp_path: Path) -> None:
    fake = RecordingRequest()
    async with running(tmp_path / "coach.db", fake) as app:
        store = app.bot_data.coach.store if app.bot_data.coach else None
        assert isinstance(store, SqliteProgressStore)
        updates = Updates(app.bot, user_id=LEARNER)
        # Warm up (the learner's first input), then count the writer's transactions.
        await app.update_queue.put(updates.text("/start"))
        await settled(app)
        before = store.database.works_written
        await app.update_queue.put(updates.text("/help"))
        await settled(app)
        # Stored on arrival; the answer with its inbox mark and outbox replies; marked sent.
        # (Writes, not transactions: the group-commit writer may put two in one.)
        assert store.database.works_written - before == 3
        # Something the coach never sees is marked handled after its handler, as before.
        before = store.database.works_written
        await app.update_queue.put(updates.sticker())
        await settled(app)
        assert store.database.works_written - before == 2
        assert len(fake.texts()) == 3


async def test_what_a_crash_left_is_finished_at_start_in_order(tmp_path: Path) -> None:
    db = tmp_path / "coach.db"
    fake = RecordingRequest()
    async with running(db, fake) as app:
        bot_id = app.bot.id
        updates = Updates(app.bot, user_id=LEARNER)
        stored_only = updates.text("/help")
    # The crash, as it leaves the database: one input committed with its replies unsent
    # (one of them the edit of a pressed question), one update stored and never handled.
    async with SqliteProgressStore.open(db) as store:
        owed = (Reply(kind="echo", text="Your answer: A ✅"), Reply(text="Next question"))
        commit = Commit(learner=LearnerProfile(learner_id=LEARNER), update_key="tg:1:1")
        assert await store.apply(commit.model_copy(update={"replies": owed}))
        inbox = SqliteInboxStore(store.database)
        await inbox.receive(bot_id, stored_only.update_id, LEARNER, LEARNER, stored_only.to_json())

    fake = RecordingRequest()
    async with running(db, fake) as app:
        texts = fake.texts()
        # The owed replies first (the edit, with no button press to edit, is a message of its
        # own, merged with what follows), then the stored update's answer (/help).
        assert texts[0] == "Your answer: A ✅\n\nNext question"
        assert len(texts) == 2
        assert "/" in texts[1]
        assert await inbox_of(app).unsent() == []
        assert await inbox_of(app).status("tg:1:1") == "sent"
        assert await inbox_of(app).unhandled(app.bot.id) == []
        # The same update delivered again by Telegram: stored before, so dropped.
        await app.update_queue.put(Update.de_json(stored_only.to_dict(), app.bot))
        await settled(app)
        assert len(fake.texts()) == 2

    # Another start: everything was confirmed, so nothing is sent again.
    fake = RecordingRequest()
    async with running(db, fake):
        assert fake.sent() == []


async def test_replies_telegram_refuses_at_start_are_recorded_not_retried(
    tmp_path: Path,
) -> None:
    db = tmp_path / "coach.db"
    async with SqliteProgressStore.open(db) as store:
        commit = Commit(
            learner=LearnerProfile(learner_id=LEARNER),
            update_key="tg:1:2",
            replies=(Reply(text="Owed"),),
        )
        await store.apply(commit)
    fake = RecordingRequest()
    fake.blocked_chats.add(LEARNER)
    async with running(db, fake) as app:
        assert await inbox_of(app).status("tg:1:2") == "failed"
        assert await inbox_of(app).unsent() == []


def test_an_edit_sent_again_after_a_restart_keeps_its_buttons() -> None:
    # A look-back moved on with ▶ Continue is an edit with the question's buttons: sent again
    # as a message of its own, it must still be answerable by a tap.
    buttons = ((Button(label="A", data="c|3|0"), Button(label="◀ Back", data="b|3|1")),)
    [resent] = as_resent([Reply(kind="echo", text="What do you ask first?", buttons=buttons)])
    assert resent == Reply(text="What do you ask first?", buttons=buttons)
