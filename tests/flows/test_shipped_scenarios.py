"""Every shipped scenario played through the engine: all correct, all wrong, and a restart."""

import pytest

from flows.actions import Choose
from flows.engine import Coach
from flows.loader import SCENARIO_DIR, ScenarioContent
from flows.ports import SessionSnapshot
from flows.scenario import DEBRIEF
from knowledge.choices import presented_order
from knowledge.loader import KnowledgeBase
from knowledge.models import AnyQuestion, ChoiceQuestion, OrderQuestion
from storage.memory import MemoryProgressStore
from tests.flows.chat import Chat

LETTERS = "ABCDEFGHIJ"


def scenario_ids() -> list[str]:
    return sorted(path.stem for path in SCENARIO_DIR.glob("*.yaml"))


async def current(store: MemoryProgressStore, chat: Chat) -> SessionSnapshot:
    session = await store.load_session(chat.learner.learner_id)
    assert session is not None
    return session


async def answer_correctly(chat: Chat, session: SessionSnapshot, question: AnyQuestion) -> None:
    if isinstance(question, ChoiceQuestion) and question.type == "single":
        right = min(question.correct_indexes)
        await chat.press(Choose(ask=session.ask_seq, option=right).pack())
    elif isinstance(question, ChoiceQuestion):
        await chat.send(", ".join(LETTERS[i] for i in sorted(question.correct_indexes)))
    elif isinstance(question, OrderQuestion):
        shown = presented_order(question)
        await chat.send(", ".join(str(shown.index(i) + 1) for i in range(len(question.items))))
    else:
        await chat.send(question.model_answer)


def wrong_choice(question: ChoiceQuestion | OrderQuestion) -> str:
    """A reply that names options, but the wrong ones: a wrong letter, or the wrong order."""
    if isinstance(question, ChoiceQuestion):
        wrong = min(set(range(len(question.options))) - question.correct_indexes)
        return LETTERS[wrong]
    shown = presented_order(question)
    right = [shown.index(i) + 1 for i in range(len(question.items))]
    return " ".join(str(n) for n in reversed(right))


async def start(chat: Chat, content: ScenarioContent) -> None:
    await chat.send("/scenarios")
    await chat.click(content.scenario.title)


async def begin(
    kb: KnowledgeBase, shipped: dict[str, ScenarioContent], scenario_id: str
) -> tuple[MemoryProgressStore, Chat, ScenarioContent]:
    """A fresh store and learner, with the scenario started."""
    store = MemoryProgressStore()
    chat = Chat(Coach(kb, shipped, store))
    content = shipped[scenario_id]
    await start(chat, content)
    return store, chat, content


@pytest.mark.parametrize("scenario_id", scenario_ids())
async def test_all_correct_path(
    kb: KnowledgeBase, shipped: dict[str, ScenarioContent], scenario_id: str
) -> None:
    store, chat, content = await begin(kb, shipped, scenario_id)
    for _ in range(len(content.scenario.steps)):
        session = await current(store, chat)
        if session.scenario_id is None:
            break
        await answer_correctly(chat, session, content.question_for(session.state))
        assert "Try again" not in chat.text, (session.state, chat.text)
    assert f"🏁 Debrief: {content.scenario.title}" in chat.text
    assert "Score: 100%" in chat.text
    [run] = await store.finished_runs(7)
    assert run.score == 1.0
    assert all(r.outcome == "correct" for r in run.results)


@pytest.mark.parametrize("scenario_id", scenario_ids())
async def test_wrong_answers_get_hints_then_the_answer(
    kb: KnowledgeBase, shipped: dict[str, ScenarioContent], scenario_id: str
) -> None:
    store, chat, content = await begin(kb, shipped, scenario_id)
    steps = 0
    while (session := await current(store, chat)).scenario_id is not None:
        steps += 1
        assert steps <= len(content.scenario.steps)
        question = content.question_for(session.state)
        wrong = ["dunno", "no clue", "pass"]
        if isinstance(question, ChoiceQuestion | OrderQuestion):
            # Words that name no option are asked again, costing no try and storing nothing.
            stored = len(await store.answers(7))
            await chat.send("dunno")
            assert chat.text.startswith("🤔 "), chat.text
            assert len(await store.answers(7)) == stored
            wrong = [wrong_choice(question)] * 3
        await chat.send(wrong[0])
        assert "💡 Hint:" in chat.text
        await chat.send(wrong[1])
        await chat.send(wrong[2])
        assert "📖 The answer:" in chat.text
    assert "Score: 0%" in chat.text
    assert "📚 To revise:" in chat.text
    answers = await store.answers(7)
    assert len(answers) == 3 * steps
    assert {a.outcome for a in answers} == {"incorrect"}


@pytest.mark.parametrize("scenario_id", scenario_ids())
async def test_restart_mid_scenario_resumes_at_the_same_step(
    kb: KnowledgeBase, shipped: dict[str, ScenarioContent], scenario_id: str
) -> None:
    store, chat, content = await begin(kb, shipped, scenario_id)
    session = await current(store, chat)
    await answer_correctly(chat, session, content.question_for(session.state))
    before = await current(store, chat)
    assert before.state != DEBRIEF

    restarted = Chat(Coach(kb, shipped, store))
    await restarted.send("/resume")
    step = content.scenario.step(before.state)
    assert "▶️ Back to" in restarted.text
    assert step.customer.split("{")[0][:30] in restarted.text
    after = await current(store, restarted)
    assert (after.state, after.attempts, after.results) == (
        before.state,
        before.attempts,
        before.results,
    )
