"""Spaced revision as a learner meets it: answers become cards, /revise brings them back."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from flows.engine import Coach
from flows.loader import ScenarioContent
from knowledge.loader import KnowledgeBase
from knowledge.models import ChoiceQuestion, Quiz
from storage.memory import MemoryProgressStore
from storage.revision import SqliteRevisionStore
from storage.revision_memory import MemoryRevisionStore
from storage.sqlite import SqliteProgressStore
from tests.flows.chat import Chat
from tests.flows.test_engine import EMPATHY, RECORD, start_kettle
from tutoring.revision import Revision

LONDON = ZoneInfo("Europe/London")
T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)  # a Monday morning
# What a right answer to each kettle step is, by a line only that step's message has.
RIGHT_ANSWERS = {
    "This kettle broke": EMPATHY,
    "What do you need to know?": "A",
    "So what are my rights?": "30 days, the short-term right to reject",
    "Log the interaction": RECORD,
}


class Clock:
    """A clock the test moves by hand (no sleeping)."""

    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def revision_store(store: MemoryProgressStore) -> MemoryRevisionStore:
    return MemoryRevisionStore(progress=store)


def with_quizzes(kb: KnowledgeBase, *quizzes: Quiz) -> KnowledgeBase:
    return KnowledgeBase(
        criteria=kb.criteria,
        entries=kb.entries,
        questions=kb.questions,
        quizzes={quiz.id: quiz for quiz in quizzes},
        lexicon=kb.lexicon,
        misconceptions=kb.misconceptions,
    )


def with_quiz(kb: KnowledgeBase) -> KnowledgeBase:
    quiz = Quiz(
        id="test-quiz",
        title="Test quiz",
        description="Two questions.",
        questions=("cra-reject-window", "gdpr-breach-72h"),
    )
    return with_quizzes(kb, quiz)


@pytest.fixture
def coach(
    kb: KnowledgeBase,
    test_scenarios: dict[str, ScenarioContent],
    store: MemoryProgressStore,
    revision_store: MemoryRevisionStore,
    clock: Clock,
) -> Coach:
    revision = Revision(revision_store, LONDON, clock=clock)
    return Coach(with_quiz(kb), test_scenarios, store, clock=clock, revision=revision)


async def finish_kettle(chat: Chat, *, first_wrong: bool = False) -> None:
    await start_kettle(chat)
    if first_wrong:
        await chat.send("You must be using it wrong.")
    await chat.send(EMPATHY)
    await chat.click("A")
    await chat.send(RIGHT_ANSWERS["So what are my rights?"])
    await chat.send(RECORD)
    assert "🏁 Debrief" in chat.text


async def answer_right(chat: Chat) -> None:
    asked = chat.last_reply().text
    for line, answer in RIGHT_ANSWERS.items():
        if line in asked:
            await chat.send(answer)
            return
    raise AssertionError(f"unexpected card: {asked}")


async def test_scenario_steps_become_cards_graded_by_how_they_went(
    coach: Coach, revision_store: MemoryRevisionStore
) -> None:
    chat = Chat(coach)
    await finish_kettle(chat, first_wrong=True)
    cards = {c.card_id: c for c in await revision_store.cards(7)}
    assert sorted(cards) == [
        "test-kettle/check",
        "test-kettle/greet",
        "test-kettle/record",
        "test-kettle/refund",
    ]
    # Right after a wrong try: Hard, back tomorrow; right at once: Good, back in two days.
    assert cards["test-kettle/greet"].due_at == T0 + timedelta(days=1)
    assert cards["test-kettle/check"].due_at == T0 + timedelta(days=2)
    log = await revision_store.reviews(7)
    assert [(e.card_id, e.grade) for e in log][:2] == [
        ("test-kettle/greet", "hard"),
        ("test-kettle/check", "good"),
    ]


async def test_nothing_due_says_when_then_revise_brings_cards_back(
    coach: Coach, clock: Clock, store: MemoryProgressStore
) -> None:
    chat = Chat(coach)
    await chat.send("/revise")
    assert "Nothing to revise yet" in chat.text
    await finish_kettle(chat)
    await chat.send("/revise")
    assert "Nothing is due today – your next revision is on Wed 04 Mar" in chat.text
    await chat.send("/menu")
    assert not any(label.startswith("🔁") for label in chat.button_labels)

    clock.advance(days=2)
    await chat.send("/menu")
    assert chat.button_labels[-1] == "🔁 Revise (4 due)"
    assert chat.button_labels[:5] == [
        "🎭 Practise a scenario",
        "⚡ Quick quiz",
        "📖 Learn the law",
        "📈 My progress",
        "❓ Help",
    ]
    await chat.click("🔁 Revise (4 due)")
    assert "🔁 Revision: 4 cards due" in chat.text
    assert "🔁 Card 1 of 4 – from “Test: faulty kettle”" in chat.text
    for number in range(2, 5):
        await answer_right(chat)
        assert "✅" in chat.text
        assert f"🔁 Card {number} of 4" in chat.text
    await answer_right(chat)
    assert "🏁 Revision done: 4 of 4 remembered." in chat.text
    assert "back in 11 days (Sun 15 Mar)" in chat.text
    assert "📅 Next cards due in 11 days" in chat.text
    # Monday and Wednesday: Tuesday, missed, is the week's one freeze.
    assert "🔥 Streak: 2 days in a row." in chat.text
    assert chat.button_labels[0] == "🎭 Practise a scenario"  # the menu, nothing due now
    sources = [a.source for a in await store.answers(7)]
    assert sources.count("revision") == 4

    await chat.send("/progress")
    assert "🔥 Streak: 2 days in a row." in chat.text
    assert "Nothing due today; next revision Sun 15 Mar" in chat.text


async def test_a_quiz_card_comes_back_as_a_quiz_question_and_a_wrong_one_tomorrow(
    coach: Coach, clock: Clock, revision_store: MemoryRevisionStore
) -> None:
    chat = Chat(coach)
    await chat.send("/quiz")
    await chat.click("Test quiz")
    await chat.send("/hint")
    await chat.send("30 days")  # right, but after a hint: Hard
    await chat.send("within 30 days")  # wrong: Again
    cards = {c.card_id: c for c in await revision_store.cards(7)}
    assert cards["cra-reject-window"].due_at == T0 + timedelta(days=1)
    assert cards["gdpr-breach-72h"].due_at == T0 + timedelta(days=1)
    grades = [e.grade for e in await revision_store.reviews(7)]
    assert grades == ["hard", "again"]

    clock.advance(days=1)
    await chat.send("/revise")
    assert "🔁 Card 1 of 2" in chat.text
    assert "Question 1 of 2" not in chat.text
    await chat.send("/skip")
    assert "⏭ Skipped." in chat.text
    await chat.send("72 hours")
    assert "🏁 Revision done: 1 of 2 remembered." in chat.text
    assert "back tomorrow" in chat.text


async def test_a_choice_card_is_asked_as_a_quiz_poll(
    kb: KnowledgeBase,
    test_scenarios: dict[str, ScenarioContent],
    store: MemoryProgressStore,
    clock: Clock,
) -> None:
    polled = next(
        q for q in kb.questions.values() if isinstance(q, ChoiceQuestion) and q.fits_quiz_poll()
    )
    quiz = Quiz(id="one", title="One", description="One poll.", questions=(polled.id,))
    revision = Revision(MemoryRevisionStore(progress=store), LONDON, clock=clock)
    one_poll = with_quizzes(kb, quiz)
    chat = Chat(Coach(one_poll, test_scenarios, store, clock=clock, revision=revision))
    await chat.send("/quiz")
    await chat.click("One")
    assert chat.last_reply().kind == "poll"
    await chat.poll_answer(polled.id, 0)
    clock.advance(days=3)
    await chat.send("/revise")
    assert chat.last_reply().kind == "poll"
    assert chat.last_reply().text.startswith("🔁 Revision: 1 card due")
    await chat.poll_answer(polled.id, 0)
    assert "🏁 Revision done" in chat.text


async def test_the_learners_time_zone_decides_what_is_due_today(
    coach: Coach, clock: Clock
) -> None:
    chat = Chat(coach)
    await chat.send("/settings")
    assert "Time zone: Europe/London (the centre’s)" in chat.text
    await chat.send("/settings timezone Mars/Olympus")
    assert "I don't know the time zone “Mars/Olympus”" in chat.text
    await chat.send("/settings colour blue")
    assert "Nothing was changed" in chat.text
    await finish_kettle(chat)  # Monday 09:00 UTC: cards due Wednesday 09:00 UTC

    clock.now = datetime(2026, 3, 3, 20, 0, tzinfo=UTC)  # Tuesday 20:00 in London
    await chat.send("/revise")
    assert "Nothing is due today" in chat.text
    await chat.send("/settings timezone asia/tokyo")  # already Wednesday 05:00 there
    assert "✅ Saved." in chat.text
    assert "Time zone: Asia/Tokyo –" in chat.text
    await chat.send("/revise")
    assert "🔁 Revision: 4 cards due" in chat.text
    await chat.send("/settings timezone default")
    await chat.send("/settings")
    assert "Europe/London (the centre’s)" in chat.text


async def test_mydata_shows_cards_and_forget_erases_them(
    coach: Coach, revision_store: MemoryRevisionStore
) -> None:
    chat = Chat(coach)
    await finish_kettle(chat)
    await chat.send("/settings timezone Europe/Paris")
    await chat.send("/mydata")
    document = chat.last_reply().document
    assert document is not None
    data = json.loads(document.content)
    assert len(data["revision_cards"]) == 4
    assert data["revision_log"][0]["grade"] == "good"
    assert data["settings"]["timezone"] == "Europe/Paris"
    await chat.send("/forget")
    await chat.click("Yes, erase it")
    assert await revision_store.cards(7) == []
    assert await revision_store.reviews(7) == []
    assert (await revision_store.settings(7)).timezone is None


async def test_cards_survive_a_restart_on_the_same_sqlite_file(
    kb: KnowledgeBase, test_scenarios: dict[str, ScenarioContent], tmp_path: Path, clock: Clock
) -> None:
    path = tmp_path / "coach.db"
    async with SqliteProgressStore.open(path) as store:
        revision = Revision(SqliteRevisionStore(store.database), LONDON, clock=clock)
        chat = Chat(Coach(kb, test_scenarios, store, clock=clock, revision=revision))
        await finish_kettle(chat)
    clock.advance(days=2)
    async with SqliteProgressStore.open(path) as store:
        revision = Revision(SqliteRevisionStore(store.database), LONDON, clock=clock)
        chat = Chat(Coach(kb, test_scenarios, store, clock=clock, revision=revision))
        await chat.send("/menu")
        assert "🔁 Revise (4 due)" in chat.button_labels
        await chat.send("/revise")
        await answer_right(chat)
        assert "🔁 Card 2 of 4" in chat.text
    async with SqliteProgressStore.open(path) as store:
        revision = Revision(SqliteRevisionStore(store.database), LONDON, clock=clock)
        chat = Chat(Coach(kb, test_scenarios, store, clock=clock, revision=revision))
        await chat.send("/resume")
        assert "🔁 Card 2 of 4" in chat.text
        assert await revision.due_count(7) == 3


async def test_without_revision_there_is_no_revise(coach: Coach) -> None:
    plain = Coach(coach.kb, coach.scenarios, coach.store)
    chat = Chat(plain)
    await chat.send("/revise")
    assert "Revision is not switched on here" in chat.text
    await chat.send("/settings")
    assert "no settings" in chat.text
