"""Security findings at the engine (issue 15): forged buttons and stale confirmations."""

import pytest

from flows.actions import Choose, unpack
from flows.engine import Coach
from knowledge.loader import KnowledgeBase
from knowledge.models import ChoiceQuestion
from storage.memory import MemoryProgressStore
from tests.flows.chat import Chat

EMPATHY = "I'm so sorry, I understand how frustrating that is. Let me sort this out for you."


def choice_data(chat: Chat) -> str:
    return next(b.data for r in chat.replies for row in r.buttons for b in row)


def forged(data: str, option: int) -> str:
    prefix, ask, _ = data.split("|")
    return f"{prefix}|{ask}|{option}"


@pytest.mark.parametrize("option", [-1, -99, 99])
async def test_a_forged_option_out_of_range_costs_no_attempt_in_a_scenario(
    coach: Coach, store: MemoryProgressStore, option: int
) -> None:
    chat = Chat(coach)
    await chat.send("/start")
    await chat.click("🎭 Practise a scenario")
    await chat.click("Test: faulty kettle")
    await chat.send(EMPATHY)
    before = await store.load_session(7)
    answered = len(await store.answers(7))
    await chat.press(forged(choice_data(chat), option))
    assert "doesn't fit" in chat.text or "no longer valid" in chat.text
    after = await store.load_session(7)
    assert before is not None
    assert after is not None
    assert (after.state, after.attempts, after.results) == (
        before.state,
        before.attempts,
        before.results,
    )
    assert len(await store.answers(7)) == answered


@pytest.mark.parametrize("option", [-1, -99, 99])
async def test_a_forged_option_out_of_range_is_not_marked_in_a_quiz(
    coach: Coach, kb: KnowledgeBase, store: MemoryProgressStore, option: int
) -> None:
    quiz = next(
        q for q in kb.quizzes.values() if isinstance(kb.question(q.questions[0]), ChoiceQuestion)
    )
    chat = Chat(coach)
    await chat.press(f"q|{quiz.id}")
    session = await store.load_session(7)
    assert session is not None
    await chat.press(f"c|{session.ask_seq}|{option}")
    assert "doesn't fit" in chat.text or "no longer valid" in chat.text
    assert await store.answers(7) == []


def test_unpack_refuses_negative_option_and_ask() -> None:
    assert unpack("c|3|-1") is None
    assert unpack("c|-3|1") is None
    assert unpack("c|3|1") == Choose(ask=3, option=1)
