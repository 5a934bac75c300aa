"""Security findings at the engine (issue 15): forged buttons and stale confirmations."""

import shutil
from pathlib import Path

import pytest

from flows.actions import MAX_INT, CallbackDataTooLongError, Choose, unpack
from flows.engine import Coach
from flows.loader import ScenarioContent, case_values, load_scenarios
from flows.placeholders import CASE_NAMES, fill, placeholders
from knowledge.loader import ContentError, KnowledgeBase
from knowledge.models import ChoiceQuestion
from storage.memory import MemoryProgressStore
from tests.conftest import TEST_SCENARIOS
from tests.flows.chat import Chat

EMPATHY = "I'm so sorry, I understand how frustrating that is. Let me sort this out for you."


def choice_data(chat: Chat) -> str:
    return next(b.data for r in chat.replies for row in r.buttons for b in row)


def yes_button(chat: Chat) -> str:
    return next(b.data for row in chat.last_reply().buttons for b in row if b.label[:3] == "Yes")


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
    assert unpack(f"c|{2**63}|1") is None  # beyond SQLite's integers


def test_pack_raises_over_telegrams_64_bytes_even_without_asserts() -> None:
    assert len(Choose(ask=MAX_INT, option=0).pack()) <= 64
    with pytest.raises(CallbackDataTooLongError):
        Choose(ask=MAX_INT, option=10**50).pack()


# --- row 13: an old "Yes, erase it" button stayed live -------------------------------------------


async def test_an_old_yes_button_erases_nothing_after_no(
    coach: Coach, store: MemoryProgressStore
) -> None:
    chat = Chat(coach)
    await chat.send("/start")
    await chat.send("/forget")
    yes = yes_button(chat)
    await chat.click("No, keep it")
    assert "Nothing was erased" in chat.text
    await chat.press(yes)  # days later, the old message is still there
    assert "expired" in chat.text
    assert await store.load_session(7) is not None


async def test_a_yes_button_works_only_right_after_it_was_offered(
    coach: Coach, store: MemoryProgressStore
) -> None:
    chat = Chat(coach)
    await chat.send("/start")
    await chat.send("/forget")
    yes = yes_button(chat)
    await chat.send("/help")
    await chat.press(yes)
    assert "expired" in chat.text
    assert await store.load_session(7) is not None

    await chat.send("/forget")
    await chat.click("Yes, erase it")
    assert "erased" in chat.text
    assert await store.load_session(7) is None
    # A learner starting again cannot be erased by a button of their former self.
    await chat.send("/start")
    for _ in range(3):
        await chat.send("/forget")
        await chat.click("No, keep it")
    await chat.press(yes)
    assert "expired" in chat.text
    assert await store.load_session(7) is not None


# --- row 10: a stray brace or a format spec in a scenario line ----------------------------------


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    shutil.copytree(TEST_SCENARIOS, tmp_path / "scenarios")
    return tmp_path / "scenarios"


@pytest.mark.parametrize(
    "line",
    [
        "This kettle broke after {age! I want this sorted now.",
        "This kettle broke after age}! I want this sorted now.",
        "This kettle broke after {name:>999999999999}! I want this sorted now.",
        "This kettle broke after {age!r}! I want this sorted now.",
        "This kettle broke after {name.__class__}! I want this sorted now.",
        "This kettle broke after {}! I want this sorted now.",
    ],
    ids=["open", "close", "format-spec", "conversion", "attribute", "empty"],
)
def test_a_bad_brace_is_a_content_error_with_file_and_line(
    kb: KnowledgeBase, folder: Path, line: str
) -> None:
    path = folder / "test-kettle.yaml"
    text = path.read_text(encoding="utf-8")
    old = "This kettle broke after {age}! I want this sorted now."
    path.write_text(text.replace(old, line), encoding="utf-8")
    with pytest.raises(ContentError, match="is not a placeholder") as caught:
        load_scenarios(kb, folder)
    assert caught.value.path == path
    assert caught.value.line is not None


def test_filling_never_fails_and_never_applies_a_format_spec() -> None:
    values = {"name": "Mrs Patel"}
    assert fill("{name}: {{x}} { } {name:>999999999999} {nope}", values) == (
        "Mrs Patel: {x} { } {name:>999999999999} {nope}"
    )
    assert placeholders("{{literal}} and {name}") == ({"name"}, None)


def test_the_known_names_are_the_case_values(test_scenarios: dict[str, ScenarioContent]) -> None:
    content = next(iter(test_scenarios.values()))
    assert set(case_values(content.scenario, {})) == CASE_NAMES
