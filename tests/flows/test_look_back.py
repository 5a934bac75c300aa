"""Back at a scenario step not yet answered: the step answered before it, read-only."""

from __future__ import annotations

from datetime import UTC, datetime

from flows.actions import LookBack
from flows.engine import Coach
from flows.loader import ScenarioContent
from flows.lookback import feedback_for, run_answers
from flows.ports import AnswerRecord, Outcome, SessionSnapshot, StepResult
from storage.memory import MemoryProgressStore
from tests.flows.chat import Chat
from tests.flows.test_engine import EMPATHY, RECORD, start_kettle

STILL_COUNTS = "Your answer to the current step still counts"


async def test_back_on_step_two_shows_step_one_and_continue_asks_step_two_again(
    coach: Coach, store: MemoryProgressStore
) -> None:
    chat = Chat(coach)
    await start_kettle(chat)
    await chat.send(EMPATHY)
    assert chat.button_labels == ["A", "B", "C", "◀ Back"]
    before = await store.load_session(7)

    await chat.click("◀ Back")
    [shown] = chat.replies
    assert shown.kind == "message"  # a message of its own: the question above keeps its buttons
    assert shown.text.startswith("⏪ Looking back: step 1 of the 1 you've answered")
    assert "🗣 Mrs Patel: “This kettle broke after 12 days! I want this sorted now.”" in shown.text
    assert f"Your answer: “{EMPATHY}” ✅" in shown.text
    assert "✅ Correct." in shown.text
    assert STILL_COUNTS in shown.text
    assert chat.button_labels == ["▶ Continue"]  # the first step: nothing further back
    assert await store.load_session(7) == before

    await chat.click("▶ Continue")
    [again] = chat.replies
    assert again.kind == "echo"  # the look-back turns back into the question
    assert "🗣 Mrs Patel: “What do you need to know?”" in again.text
    assert chat.button_labels == ["A", "B", "C", "◀ Back"]
    assert await store.load_session(7) == before

    await chat.click("A")
    assert "Your answer: A) When did you buy it? ✅" in chat.text
    answers = await store.answers(7)
    assert [(a.step, a.outcome) for a in answers] == [("greet", "correct"), ("check", "correct")]
    await chat.send("/progress")
    assert "Answers given: 2" in chat.text


async def test_typed_text_while_looking_back_answers_the_current_step(
    coach: Coach, store: MemoryProgressStore
) -> None:
    chat = Chat(coach)
    await start_kettle(chat)
    await chat.send(EMPATHY)
    await chat.click("◀ Back")
    await chat.send("B")  # the current step is the choice: B is marked there
    assert "That blames the customer." in chat.text
    answers = await store.answers(7)
    assert [(a.step, a.outcome) for a in answers] == [
        ("greet", "correct"),
        ("check", "incorrect"),
    ]


async def test_back_goes_along_the_path_this_run_took_one_step_at_a_time(
    coach: Coach, store: MemoryProgressStore
) -> None:
    chat = Chat(coach)
    await start_kettle(chat)
    await chat.send(EMPATHY)
    await chat.click("A")
    await chat.send("/skip")
    assert "⏭ Skipped." in chat.text
    assert chat.button_labels == ["◀ Back"]  # on the record step, a text question

    await chat.click("◀ Back")
    assert chat.text.startswith("⏪ Looking back: step 3 of the 3 you've answered")
    assert "Tell her how long she has to reject it." in chat.text
    assert "⏭ You skipped this step." in chat.text
    assert "📖 The answer:" in chat.text
    assert chat.button_labels == ["◀ Back", "▶ Continue"]

    await chat.click("◀ Back")
    assert chat.replies[0].kind == "echo"  # further back edits the look-back in place
    assert chat.text.startswith("⏪ Looking back: step 2 of the 3 you've answered")
    assert "A) When did you buy it?" in chat.text  # the options as they were shown
    assert "Your answer: “When did you buy it?” ✅" in chat.text
    await chat.click("◀ Back")
    assert chat.text.startswith("⏪ Looking back: step 1 of the 3 you've answered")
    assert chat.button_labels == ["▶ Continue"]

    await chat.click("▶ Continue")
    assert "Log the interaction" in chat.text
    await chat.send(RECORD)
    assert "🏁 Debrief" in chat.text
    runs = await store.finished_runs(7)
    assert [r.outcome for r in runs[0].results] == ["correct", "correct", "skipped", "correct"]


async def test_back_after_a_branch_shows_the_step_taken_not_the_one_listed_before(
    coach: Coach,
) -> None:
    chat = Chat(coach)
    await start_kettle(chat)
    for _ in range(4):
        await chat.send("/skip")
    await start_kettle(chat)  # the second run is the 45-days variant: check → repair
    await chat.send(EMPATHY)
    await chat.click("A")
    assert "It's been 45 days. What now?" in chat.text
    await chat.send("/skip")
    await chat.click("◀ Back")
    assert "It's been 45 days. What now?" in chat.text  # repair, the step this run took
    assert "So what are my rights?" not in chat.text  # refund, listed before it
    await chat.click("◀ Back")
    assert "Your answer: “When did you buy it?” ✅" in chat.text


async def test_every_try_of_a_step_is_shown_with_the_answer_revealed(coach: Coach) -> None:
    chat = Chat(coach)
    await start_kettle(chat)
    for wrong in ("You must be using it wrong.", "Calm down.", "Just calm down please."):
        await chat.send(wrong)
    assert "📖 The answer:" in chat.text
    await chat.click("◀ Back")
    assert "Your answers:\n1. “You must be using it wrong.” ❌\n2. “Calm down.” ❌" in chat.text
    assert "3. “Just calm down please.” ❌\n❌ Not quite" in chat.text
    assert "📖 The answer:" in chat.text


async def test_no_back_on_the_first_step_or_after_a_wrong_try(coach: Coach) -> None:
    chat = Chat(coach)
    await start_kettle(chat)
    assert "◀ Back" not in chat.button_labels  # the first step: nothing answered yet
    await chat.send(EMPATHY)
    await chat.click("B")  # a wrong first try at step 2
    assert "Try again" in chat.text
    assert chat.button_labels == ["A", "B", "C"]
    await chat.send("/resume")
    assert chat.button_labels == ["A", "B", "C"]  # still tried: no Back
    await chat.click("A")
    assert chat.button_labels == ["◀ Back"]
    await chat.send("/resume")  # an untried step resumed has it again
    assert chat.button_labels == ["◀ Back"]


async def test_a_stale_back_replies_and_changes_nothing(
    coach: Coach, store: MemoryProgressStore
) -> None:
    chat = Chat(coach)
    await start_kettle(chat)
    await chat.send(EMPATHY)
    option_a, stale_back = _button(chat, "A"), _button(chat, "◀ Back")
    await chat.click("◀ Back")
    stale_continue = _button(chat, "▶ Continue")
    await chat.press(option_a)  # step 2 answered: the buttons above belong to it
    before = await _session(store)
    answers = await store.answers(7)
    for data in (stale_back, stale_continue):
        await chat.press(data)
        assert chat.text == (
            "That button belongs to a question you've moved on from – nothing was changed."
            " Answer the latest question, or send /resume to see it again."
        )
        assert await _session(store) == before
        assert await store.answers(7) == answers


async def test_forged_looks_back_change_nothing(coach: Coach, store: MemoryProgressStore) -> None:
    chat = Chat(coach)
    await chat.press(LookBack(ask=0, back=1).pack())  # no scenario at all
    assert "moved on from" in chat.text
    await start_kettle(chat)
    await chat.send(EMPATHY)
    ask = (await _session(store)).ask_seq
    before = await _session(store)
    for data in (
        LookBack(ask=ask, back=2).pack(),  # only one step answered
        LookBack(ask=ask, back=99).pack(),
        f"b|{ask}|-1",
        f"b|{ask}|1|1",
    ):
        await chat.press(data)
        assert "nothing was changed" in chat.text or "no longer valid" in chat.text
    assert await _session(store) == before


async def test_back_at_a_paused_scenario_points_to_resume(coach: Coach) -> None:
    chat = Chat(coach)
    await start_kettle(chat)
    await chat.send(EMPATHY)
    back = _button(chat, "◀ Back")
    await chat.send("/menu")
    await chat.press(back)
    assert "Your scenario is paused – tap Resume to carry on." in chat.text
    await chat.click("▶️ Resume")
    await chat.click("◀ Back")
    assert "⏪ Looking back: step 1" in chat.text


def test_a_log_that_does_not_match_the_run_gives_no_answers() -> None:
    results = [StepResult(step="greet", question_id="q", outcome="correct", score=1, attempts=1)]
    assert run_answers(results, [], "test-kettle") is None


def _button(chat: Chat, label: str) -> str:
    """The data of the button with this label in the latest replies."""
    [data] = [b.data for r in chat.replies for row in r.buttons for b in row if b.label == label]
    return data


async def _session(store: MemoryProgressStore) -> SessionSnapshot:
    session = await store.load_session(7)
    assert session is not None
    return session


def test_feedback_is_shown_only_where_the_marker_still_gives_the_stored_mark(
    test_scenarios: dict[str, ScenarioContent],
) -> None:
    content = test_scenarios["test-kettle"]
    facts = dict(content.scenario.facts_for(0))

    def given(answer: str, outcome: Outcome) -> AnswerRecord:
        return AnswerRecord(
            learner_id=7,
            question_id=content.question_for("greet").id,
            answer=answer,
            outcome=outcome,
            score=1.0 if outcome == "correct" else 0.0,
            criteria=(),
            topic="complaints",
            scenario_id="test-kettle",
            step="greet",
            created_at=datetime(2026, 12, 6, tzinfo=UTC),
        )

    feedback = feedback_for(content, "greet", facts, given(EMPATHY, "correct"))
    assert feedback is not None
    assert feedback.startswith("Correct.")
    # A tutor overruled it (or the content changed): the marker's words would contradict it.
    assert feedback_for(content, "greet", facts, given(EMPATHY, "incorrect")) is None
    # A pressed option is stored by its text and read back as that option.
    check = given("Did you drop it?", "incorrect").model_copy(update={"step": "check"})
    assert "That blames the customer." in (feedback_for(content, "check", facts, check) or "")
