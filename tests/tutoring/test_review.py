"""The engine's appeal button and the review desk on the in-memory stores, as a chat."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from flows.actions import Appeal
from flows.engine import Coach
from flows.loader import ScenarioContent
from knowledge.loader import KnowledgeBase
from knowledge.models import TextQuestion
from storage.memory import MemoryProgressStore
from storage.memory_reviews import MemoryReviewStore
from storage.revision_memory import MemoryRevisionStore
from tests.flows.chat import Chat
from tests.flows.test_engine import EMPATHY
from tutoring.actions import Decide, NoComment
from tutoring.review import Decided, ReviewDesk, regrade_card
from tutoring.revision import Revision

TUTOR = 50
NOW = datetime(2026, 12, 6, 9, 0, tzinfo=UTC)


@pytest.fixture
def store() -> MemoryProgressStore:
    return MemoryProgressStore()


@pytest.fixture
def reviews(store: MemoryProgressStore) -> MemoryReviewStore:
    fake = MemoryReviewStore(store)
    fake.grant(TUTOR, "tutor")
    fake.add_cohort(TUTOR, "Tuesday", {7})
    return fake


@pytest.fixture
def decisions() -> list[Decided]:
    return []


@pytest.fixture
def desk(
    reviews: MemoryReviewStore,
    kb: KnowledgeBase,
    test_scenarios: dict[str, ScenarioContent],
    decisions: list[Decided],
) -> ReviewDesk:
    questions = {**kb.questions}
    for content in test_scenarios.values():
        questions.update({q.id: q for q in content.questions.values()})

    async def remember(decided: Decided) -> None:
        decisions.append(decided)

    return ReviewDesk(reviews, kb, questions, clock=lambda: NOW, hooks=[remember])


@pytest.fixture
def chat(
    kb: KnowledgeBase,
    test_scenarios: dict[str, ScenarioContent],
    store: MemoryProgressStore,
    desk: ReviewDesk,
) -> Chat:
    return Chat(Coach(kb, test_scenarios, store, appeals=desk))


async def kettle(chat: Chat) -> None:
    await chat.send("/scenarios")
    await chat.click("Test: faulty kettle")


async def test_appeal_with_a_reason_then_the_tutor_decides(
    chat: Chat, desk: ReviewDesk, store: MemoryProgressStore, decisions: list[Decided]
) -> None:
    await kettle(chat)
    await chat.send("ok")
    assert chat.button_labels == ["🙋 I think this is right"]  # on the retry message itself
    appeal = chat.last_reply().buttons[-1][0].data
    await chat.press(appeal)
    assert "Sent to your tutor's review queue" in chat.text
    await chat.send("  I   apologised  ")
    assert "your tutor will see your reason" in chat.text
    assert "Carry on with the question above" in chat.text
    await chat.press(appeal)
    assert "already sent this answer" in chat.text

    item = await desk.queue(TUTOR, None)
    assert "🙋 Learner's reason: “I apologised”" in item.text
    decide = next(b.data for row in item.buttons for b in row if b.label.startswith("✅"))
    action = Decide.model_validate(
        dict(zip(("learner", "ask", "cohort", "verdict"), decide.split("|")[1:], strict=True))
    )
    step = await desk.press(TUTOR, action)
    assert "Your decision: ✅ Correct" in step.tutor.text
    [decided] = decisions  # the hook point ran once, with the stored decision
    assert (decided.decision, decided.by, decided.item.machine_outcome) == (
        "correct",
        TUTOR,
        "incorrect",
    )
    finished = await desk.press(TUTOR, NoComment(learner=7, ask=action.ask, cohort=0))
    assert finished.learner is not None
    assert finished.learner[0] == 7
    assert "Verdict: ✅ Correct (it was marked ❌ Incorrect)" in finished.learner[1]
    assert [a.outcome for a in await store.answers(7)] == ["correct"]

    await chat.send("/mydata")
    data = json.loads(chat.last_reply().document.content)  # type: ignore[union-attr]
    assert [(r["reason"], r["decision"], r["decided_by"]) for r in data["reviews"]] == [
        ("I apologised", "correct", TUTOR)
    ]
    assert "learner_name" not in data["reviews"][0]
    await chat.send("/forget")
    await chat.click("Yes, erase it")
    assert await desk.store.items_of(7) == []


async def test_the_reason_offer_ends_with_any_other_input(chat: Chat) -> None:
    await kettle(chat)
    await chat.send("ok")
    await chat.click("🙋")
    await chat.click("▶️ Carry on")
    assert "Back to" in chat.text
    await chat.send("I'm so sorry, I understand how frustrating that is. Let me sort it out.")
    assert "✅" in chat.text  # an answer again, not a reason
    await chat.press(Appeal(ask=999).pack())
    assert "can't find that answer" in chat.text


async def test_an_empty_reason_and_a_reason_after_the_decision(
    chat: Chat, desk: ReviewDesk
) -> None:
    await kettle(chat)
    await chat.send("ok")
    appeal = chat.last_reply().buttons[-1][0].data
    await chat.press(appeal)
    await chat.send(" ... ")
    assert "Thanks" in chat.text  # punctuation is a reason too (one line, as typed)
    await chat.send("ok again")
    await chat.press(chat.last_reply().buttons[-1][0].data)
    [_, item] = await desk.store.open_items(None, limit=2)
    await desk.store.decide(7, item.ask_seq, "partial", TUTOR, NOW)
    await chat.send("because")
    assert "already dealt with that answer" in chat.text


async def test_without_a_review_queue_there_is_no_button(
    kb: KnowledgeBase, test_scenarios: dict[str, ScenarioContent]
) -> None:
    chat = Chat(Coach(kb, test_scenarios, MemoryProgressStore()))
    await kettle(chat)
    await chat.send("ok")
    assert chat.button_labels == []
    await chat.press(Appeal(ask=1).pack())
    assert "nobody to review" in chat.text


async def test_a_quiz_answer_carries_the_button_on_the_next_question(
    kb: KnowledgeBase, chat: Chat
) -> None:
    quiz = next(
        q
        for q in kb.quizzes.values()
        if isinstance(kb.questions[q.questions[0]], TextQuestion) and len(q.questions) > 1
    )
    await chat.send("/quiz")
    await chat.click(quiz.title)
    await chat.send("no idea at all")
    assert chat.button_labels[-1] == "🙋 I think this is right"
    with_button = [
        r for r in chat.replies if r.buttons and r.buttons[-1][0].label.startswith("🙋")
    ]
    assert len(with_button) == 1


async def test_a_blank_reason_adds_nothing(chat: Chat, desk: ReviewDesk) -> None:
    await kettle(chat)
    await chat.send("ok")
    await chat.press(chat.last_reply().buttons[-1][0].data)
    await chat.send("   ")
    assert "No reason added" in chat.text
    [item] = await desk.store.open_items(None)
    assert item.reason == ""


async def test_a_tutors_decision_regrades_the_revision_card(
    kb: KnowledgeBase,
    test_scenarios: dict[str, ScenarioContent],
    store: MemoryProgressStore,
    reviews: MemoryReviewStore,
) -> None:
    revision = Revision(
        MemoryRevisionStore(progress=store), ZoneInfo("Europe/London"), clock=lambda: NOW
    )
    questions = {**kb.questions}
    for content in test_scenarios.values():
        questions.update({q.id: q for q in content.questions.values()})
    desk = ReviewDesk(
        reviews,
        kb,
        questions,
        clock=lambda: NOW,
        hooks=[regrade_card(revision, test_scenarios)],
    )
    chat = Chat(Coach(kb, test_scenarios, store, appeals=desk, revision=revision))
    await kettle(chat)
    await chat.send("ok")
    await chat.press(chat.last_reply().buttons[-1][0].data)
    await chat.send("I did acknowledge him")  # the reason
    await chat.send(EMPATHY)  # right on the second try: the card is graded Hard
    [before] = await revision.store.reviews(7, "test-kettle/greet")
    assert before.grade == "hard"

    item = await desk.queue(TUTOR, None)
    decide = next(b.data for row in item.buttons for b in row if b.label.startswith("✅"))
    action = Decide.model_validate(
        dict(zip(("learner", "ask", "cohort", "verdict"), decide.split("|")[1:], strict=True))
    )
    await desk.press(TUTOR, action)
    [after] = await revision.store.reviews(7, "test-kettle/greet")
    assert (after.grade, after.source) == ("good", "tutor")
    [card] = await revision.store.cards(7, ["test-kettle/greet"])
    assert card.due_at >= before.due_after  # Good schedules no sooner than Hard
