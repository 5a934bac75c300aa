"""Rough edges a new learner met, each as the chat that found it."""

from __future__ import annotations

from flows.engine import Coach, typed_confirmation
from storage.memory import MemoryProgressStore
from tests.flows.chat import Chat
from tests.flows.test_engine import EMPATHY, RECORD, start_kettle


async def test_forget_understands_a_typed_yes_and_shows_the_menu_after(
    coach: Coach, store: MemoryProgressStore
) -> None:
    chat = Chat(coach)
    await start_kettle(chat)
    await chat.send(EMPATHY)
    await chat.send("/forget")
    await chat.send("No")
    assert "Nothing was erased" in chat.text
    assert "🎭 Practise a scenario" in chat.button_labels
    assert await store.answers(7)
    await chat.send("/forget")
    await chat.send("yes!")
    assert "🗑 Done" in chat.text
    assert "🎭 Practise a scenario" in chat.button_labels
    assert await store.answers(7) == []


async def test_a_yes_typed_later_is_not_taken_as_a_confirmation(
    coach: Coach, store: MemoryProgressStore
) -> None:
    chat = Chat(coach)
    await start_kettle(chat)
    await chat.send("/forget")
    await chat.send("/help")  # the offer is withdrawn by any other input
    await chat.send("yes")
    assert "🗑 Done" not in chat.text
    assert await store.load_session(7) is not None


def test_typed_confirmations() -> None:
    assert typed_confirmation(" Yes, erase it. ") == "yes"
    assert typed_confirmation("NO") == "no"
    assert typed_confirmation("keep it") == "no"
    assert typed_confirmation("yes but") is None


async def test_a_returning_learner_is_welcomed_back_with_what_is_paused(coach: Coach) -> None:
    chat = Chat(coach)
    await chat.send("/start")
    assert "🔒 Privacy" in chat.text
    await start_kettle(chat)
    await chat.send("/start")
    assert "👋 Welcome back" in chat.text
    assert "You left the scenario “Test: faulty kettle” unfinished" in chat.text
    assert "🔒 Privacy" not in chat.text
    assert chat.button_labels[0] == "▶️ Resume “Test: faulty kettle”"
    await chat.send("/privacy")
    assert "🔒 Privacy" in chat.text


async def test_scenario_list_marks_finished_ones_with_the_best_score(coach: Coach) -> None:
    chat = Chat(coach)
    await chat.send("/scenarios")
    assert chat.button_labels == ["Test: faulty kettle", "◀ Back"]
    await chat.click("◀ Back")
    assert chat.button_labels[0] == "🎭 Practise a scenario"
    await chat.send("/scenarios")
    await start_kettle(chat)
    await chat.send(EMPATHY)
    await chat.click("A")
    await chat.send("30 days, the short-term right to reject")
    await chat.send(RECORD)
    await start_kettle(chat)  # a worse second go does not lower the best
    for _ in range(4):
        await chat.send("/skip")
    await chat.send("/scenarios")
    assert chat.button_labels == ["Test: faulty kettle ✔ best 100%", "◀ Back"]


async def test_progress_names_scenarios_and_criteria_in_plain_english(coach: Coach) -> None:
    chat = Chat(coach)
    await start_kettle(chat)
    await chat.send(EMPATHY)
    await chat.click("A")
    await chat.send("30 days, the short-term right to reject")
    await chat.send(RECORD)
    await chat.send("/progress")
    assert "Scenarios completed: 1 (Test: faulty kettle)" in chat.text
    assert "test-kettle" not in chat.text
    assert "• POST:P3 – " in chat.text


async def test_a_quiz_paused_with_menu_is_resumed_from_the_menu_and_ends_with_what_to_revise(
    coach: Coach,
) -> None:
    chat = Chat(coach)
    await chat.send("/quiz")
    await chat.click("Faulty goods basics")
    await chat.send("/menu")
    assert chat.button_labels[0] == "▶️ Resume quiz “Faulty goods basics”"
    await chat.click("▶️ Resume quiz")
    assert "Question 1 of" in chat.text
    while "🏁" not in chat.text:
        await chat.send("/skip")
    assert "📚 To revise:" in chat.text
    assert "now revision cards: what you missed comes back tomorrow" in chat.text


async def test_reminders_are_offered_once_after_the_first_scenario(coach: Coach) -> None:
    chat = Chat(coach)
    offers = []
    for _ in range(2):
        await start_kettle(chat)
        for _step in range(4):
            await chat.send("/skip")
        assert "🏁 Debrief" in chat.text
        offers.append("Want a daily nudge" in chat.text)
    assert offers == [True, False]


async def test_progress_counts_a_retried_step_once_and_the_debrief_speaks_plainly(
    coach: Coach,
) -> None:
    chat = Chat(coach)
    await start_kettle(chat)
    await chat.send("You must be using it wrong.")  # a retry of the same step
    await chat.send(EMPATHY)
    await chat.send("e")  # no option E: asked again, nothing stored
    await chat.click("A")
    await chat.send("/progress")
    assert "Answers given: 2" in chat.text
    await start_kettle(chat)
    for _ in range(4):
        await chat.send("/skip")
    assert "Acknowledging the customer (greet)" in chat.text
    assert "Finding out what happened (check)" in chat.text


async def test_cancel_near_the_end_of_a_scenario_asks_first(
    coach: Coach, store: MemoryProgressStore
) -> None:
    chat = Chat(coach)
    await start_kettle(chat)
    await chat.send("/cancel")  # nothing answered yet: stops at once
    assert "Stopped the scenario" in chat.text
    await start_kettle(chat)
    await chat.send(EMPATHY)
    await chat.click("A")
    await chat.send("/cancel")
    assert "You're well into “Test: faulty kettle” (2 steps answered)" in chat.text
    await chat.click("No, carry on")
    assert "Back to “Test: faulty kettle”" in chat.text
    await chat.send("/cancel")
    await chat.send("yes")
    assert "Stopped the scenario" in chat.text
    session = await store.load_session(7)
    assert session is not None
    assert session.scenario_id is None


async def test_the_same_quiz_again_asks_carry_on_or_start_again(coach: Coach) -> None:
    chat = Chat(coach)
    await chat.send("/quiz")
    await chat.click("Faulty goods basics")
    await chat.send("/skip")
    assert "Question 2 of" in chat.text
    await chat.send("/quiz")
    await chat.click("Faulty goods basics")
    assert "part-way through “Faulty goods basics” (question 2 of" in chat.text
    await chat.click("▶️ Carry on")
    assert "Question 2 of" in chat.text
    await chat.send("/quiz")
    await chat.click("Faulty goods basics")
    await chat.click("🔄 Start again")
    assert "Question 1 of" in chat.text


async def test_an_invalid_pick_at_a_list_says_what_fits_and_shows_the_same_list(
    coach: Coach, store: MemoryProgressStore
) -> None:
    chat = Chat(coach)
    await chat.send("/scenarios")
    listed = chat.button_labels
    before = await store.load_session(7)
    for typed, said in [
        ("13", "There's no option 13 here"),
        ("99", "There's no option 99 here"),
        ("0", "There's no option 0 here"),
        ("hello", "That isn't one of the options here"),
    ]:
        await chat.send(typed)
        assert chat.text.startswith(f"{said} – choose 1–2, or tap a button.\n\n🎭 Choose a")
        assert chat.button_labels == listed
        assert await store.load_session(7) == before  # nothing changed
        assert await store.answers(7) == []
    await chat.send("1")  # a number in range picks the entry, as its button would
    assert "Mrs Patel" in chat.text


async def test_a_typed_number_at_the_menu_picks_from_it_and_text_does_not_answer_a_paused_step(
    coach: Coach, store: MemoryProgressStore
) -> None:
    chat = Chat(coach)
    await start_kettle(chat)
    await chat.send("/menu")
    menu = chat.button_labels
    await chat.send(EMPATHY)  # the step is behind the menu: not marked, the menu again
    assert "That isn't one of the options here – choose 1–6, or tap a button." in chat.text
    assert "⏸ You paused the scenario “Test: faulty kettle” – 1 (Resume) carries on." in chat.text
    assert chat.button_labels == menu
    assert await store.answers(7) == []
    await chat.send("3.")  # ⚡ Quick quiz
    assert chat.text == "⚡ Choose a quick quiz:"
    await chat.send("99")
    assert "There's no option 99 here – choose 1–" in chat.text
    assert chat.text.endswith("⚡ Choose a quick quiz:")
    await chat.send(str(len(chat.button_labels)))  # ◀ Back
    assert chat.button_labels == menu
    await chat.send("1")  # ▶️ Resume
    assert "Back to “Test: faulty kettle”" in chat.text
    await chat.send(EMPATHY)  # the step asked again takes the answer
    assert "✅" in chat.text


async def test_an_invalid_pick_at_the_law_topics_stays_there(coach: Coach) -> None:
    chat = Chat(coach)
    await chat.send("/law")
    topics = chat.button_labels
    await chat.send("hello")
    assert chat.text.startswith(f"That isn't one of the options here – choose 1–{len(topics)},")
    assert "📖 Learn the law: pick a topic" in chat.text
    assert chat.button_labels == topics
    await chat.send("1")
    assert chat.button_labels == ["◀ Back to topics"]
    await chat.send("1")  # a topic's page is not a list: text there is not a pick
    assert "not waiting for an answer" in chat.text
