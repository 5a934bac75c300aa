"""The same kind of learner flow written the ordinary PTB way, for `vs_conversationhandler`:
a ConversationHandler (one state per step), answers marked by keywords, progress in
`user_data`, everything kept by PicklePersistence; 10,000 learners hold state in it."""

from __future__ import annotations

import pickle
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from telegram import Update
from telegram.ext import (
    AIORateLimiter,
    ApplicationBuilder,
    CommandHandler,
    ContextTypes,
    ConversationHandler,
    MessageHandler,
    PicklePersistence,
    filters,
)

from bench.dispatch import AnyApp
from bench.workload import CountingRequest
from tests.bot.fakes import TOKEN, Updates

# A five-step scenario: what the customer says, and the keywords a right answer contains.
STEPS = (
    ("Write the first thing you say to the customer.", ("sorry", "apologise", "understand")),
    ("What do you check first?", ("receipt", "date", "bought")),
    ("Bought 12 days ago: what is the customer entitled to?", ("refund", "30 days")),
    ("How is the refund paid?", ("same", "card", "method")),
    ("Write the record of the complaint.", ("ref", "record", "follow")),
)
ANSWERS = (
    "I'm so sorry, I understand how frustrating that is",
    "When he bought it, from the receipt",
    "A full refund, he is within 30 days",
    "Back to the same card, no fee",
    "Ref RET-1042, refund agreed, follow up Friday",
)


async def _start(update: Update, context: ContextTypes.DEFAULT_TYPE) -> int:
    assert update.effective_chat is not None
    assert context.user_data is not None
    context.user_data["answers"] = []
    context.user_data["score"] = 0
    await context.bot.send_message(update.effective_chat.id, f"🎭 A scenario.\n\n{STEPS[0][0]}")
    return 0


def _step(number: int) -> Any:
    async def answer(update: Update, context: ContextTypes.DEFAULT_TYPE) -> int:
        assert update.effective_chat is not None
        assert update.effective_message is not None
        assert context.user_data is not None
        text = update.effective_message.text or ""
        right = any(word in text.lower() for word in STEPS[number][1])
        context.user_data["answers"].append(text)
        context.user_data["score"] += int(right)
        verdict = "✅ Correct." if right else "❌ Not quite."
        if number + 1 == len(STEPS):
            score = context.user_data["score"]
            await context.bot.send_message(
                update.effective_chat.id, f"{verdict}\n\n🏁 {score} of {len(STEPS)}."
            )
            return ConversationHandler.END
        await context.bot.send_message(
            update.effective_chat.id, f"{verdict}\n\n{STEPS[number + 1][0]}"
        )
        return number + 1

    return answer


def ordinary_app(fake: CountingRequest, path: Path) -> AnyApp:
    text = filters.TEXT & ~filters.COMMAND
    conversation: ConversationHandler[Any] = ConversationHandler(
        entry_points=[CommandHandler("start", _start)],
        states={n: [MessageHandler(text, _step(n))] for n in range(len(STEPS))},
        fallbacks=[CommandHandler("start", _start)],
        name="scenario",
        persistent=True,
    )
    app: AnyApp = (
        ApplicationBuilder()
        .token(TOKEN)
        .request(fake)
        .get_updates_request(fake)
        .persistence(PicklePersistence(path))
        .rate_limiter(AIORateLimiter(overall_max_rate=0, group_max_rate=0))
        .build()
    )
    app.add_handler(conversation)
    return app


def seed_pickle(path: Path, learners: int) -> None:
    """What PicklePersistence (single file) holds for learners part-way through the flow."""
    data = {
        "user_data": {i: {"answers": list(ANSWERS[:2]), "score": 2} for i in range(learners)},
        "chat_data": {},
        "bot_data": {},
        "callback_data": None,
        "conversations": {"scenario": {(i, i): 2 for i in range(learners)}},
    }
    with path.open("wb") as file:
        pickle.dump(data, file)


@dataclass
class Ordinary:
    updates_per_s: float
    pickle_bytes: int
    save_s: float


async def ordinary_run(learners: int, active: int) -> Ordinary:
    """`active` learners (after `learners` already holding state) play the flow, one after
    another; then PTB saves the persistence as it does every minute and at shutdown."""
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "ptb.pickle"
        seed_pickle(path, learners)
        fake = CountingRequest(record=False)
        app = ordinary_app(fake, path)
        updates = []
        for n in range(active):
            chat = Updates(app.bot, user_id=learners + n, first_update_id=(learners + n) * 100)
            updates += [chat.text("/start"), *(chat.text(a) for a in ANSWERS)]
        async with app:
            start = time.perf_counter()
            for update in updates:
                await app.process_update(update)
            seconds = time.perf_counter() - start
            assert app.persistence is not None
            start = time.perf_counter()
            await app.update_persistence()
            await app.persistence.flush()
            save = time.perf_counter() - start
        return Ordinary(len(updates) / seconds, path.stat().st_size, save)
