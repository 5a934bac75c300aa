"""The engine end to end, as a learner sees it: a chat of inputs and replies."""

import asyncio
import json
from pathlib import Path

import pytest

from flows.actions import Choose, StartQuiz, StartScenario
from flows.engine import Coach
from flows.io import Input
from flows.loader import ScenarioContent, load_scenarios
from flows.ports import Commit
from knowledge.loader import KnowledgeBase
from knowledge.models import Quiz
from storage.memory import MemoryProgressStore
from storage.sqlite import SqliteProgressStore
from tests.flows.chat import Chat

EMPATHY = "I'm so sorry, I understand how frustrating that is. Let me sort this out for you."
RECORD = "Mrs Patel, ref RET-1042, kettle not heating, refund agreed, follow up by phone Friday"


async def start_kettle(chat: Chat) -> None:
    await chat.send("/start")
    await chat.click("🎭 Practise a scenario")
    await chat.click("Test: faulty kettle")


async def test_start_shows_welcome_privacy_and_menu(coach: Coach) -> None:
    chat = Chat(coach)
    await chat.send("/start")
    assert "Welcome to Aftercare Coach" in chat.text
    assert "/mydata" in chat.text
    assert "/forget" in chat.text
    assert chat.button_labels == [
        "🎭 Practise a scenario",
        "⚡ Quick quiz",
        "📖 Learn the law",
        "📈 My progress",
        "❓ Help",
    ]


async def test_all_correct_path_reaches_the_debrief(
    coach: Coach, store: MemoryProgressStore
) -> None:
    chat = Chat(coach)
    await start_kettle(chat)
    assert "Mrs Patel" in chat.text
    assert "This kettle broke after 12 days!" in chat.text

    await chat.send(EMPATHY)
    assert "✅ Correct." in chat.text
    assert chat.button_labels == ["A", "B", "C", "◀ Back"]

    await chat.click("A")
    assert chat.replies[0].kind == "echo"
    assert "Your answer: A) When did you buy it? ✅" in chat.replies[0].text
    assert "how long she has to reject it" in chat.text

    await chat.send("30 days, the short-term right to reject")
    assert "Consumer Rights Act 2015 s.22" in chat.text
    assert "Log the interaction" in chat.text

    await chat.send(RECORD)
    assert "🏁 Debrief: Test: faulty kettle" in chat.text
    assert "Score: 100%" in chat.text
    assert "Criteria evidenced: " in chat.text
    assert "POST:P3" in chat.text

    answers = await store.answers(7)
    assert [a.step for a in answers] == ["greet", "check", "refund", "record"]
    assert all(a.outcome == "correct" for a in answers)
    runs = await store.finished_runs(7)
    assert len(runs) == 1
    assert runs[0].score == 1.0
    session = await store.load_session(7)
    assert session is not None
    assert session.scenario_id is None


async def test_wrong_and_partial_answers_get_hints_then_the_answer(coach: Coach) -> None:
    chat = Chat(coach)
    await start_kettle(chat)
    await chat.send("You must be using it wrong.")
    assert "❌" in chat.text
    assert "💡 Hint:" in chat.text
    assert "2 tries left" in chat.text

    await chat.send("Calm down, it's only a kettle.")
    assert "1 try left" in chat.text

    await chat.send("Just calm down please.")
    assert "📖 The answer:" in chat.text
    assert "POST P1; complaints procedure: acknowledge" in chat.text
    assert chat.button_labels == ["A", "B", "C", "◀ Back"]  # moved on to the next step

    await chat.click("B")
    assert "❌" in chat.text
    assert "That blames the customer." in chat.text

    await chat.click("A")
    await chat.send("30 days")
    await chat.send("Mrs Patel, kettle")
    assert "🟡 Good start" in chat.text
    assert "Still missing: reference" in chat.text
    await chat.send(RECORD)
    assert "Score: 65%" in chat.text  # 0 + 0.8 + 1 + 0.8 over four steps
    assert "📚 To revise:" in chat.text


async def test_skip_and_hint(coach: Coach, store: MemoryProgressStore) -> None:
    chat = Chat(coach)
    await start_kettle(chat)
    await chat.send("/hint")
    assert "💡 Hint:" in chat.text
    await chat.send("/skip")
    assert "⏭ Skipped." in chat.text
    assert "📖 The answer:" in chat.text
    answers = await store.answers(7)
    assert answers == []


async def test_menu_pauses_and_resume_continues(coach: Coach) -> None:
    chat = Chat(coach)
    await start_kettle(chat)
    await chat.send(EMPATHY)
    await chat.send("/menu")
    assert "▶️ Resume “Test: faulty kettle”" in chat.button_labels
    await chat.send("When did you buy it?")
    assert "paused" in chat.text
    await chat.click("▶️ Resume “Test: faulty kettle”")
    assert "Back to “Test: faulty kettle”" in chat.text
    await chat.click("A")
    assert "✅" in chat.text


async def test_restart_resumes_at_the_same_step(
    kb: KnowledgeBase,
    test_scenarios: dict[str, ScenarioContent],
    store: MemoryProgressStore,
) -> None:
    chat = Chat(Coach(kb, test_scenarios, store))
    await start_kettle(chat)
    await chat.send(EMPATHY)

    restarted = Chat(Coach(kb, test_scenarios, store))
    await restarted.send("/resume")
    assert "What do you ask first?" in restarted.text
    await restarted.click("A")
    assert "how long she has to reject it" in restarted.text


async def test_stale_and_forged_buttons_change_nothing(
    coach: Coach, store: MemoryProgressStore
) -> None:
    chat = Chat(coach)
    await start_kettle(chat)
    await chat.send(EMPATHY)
    old_choice = next(b.data for r in chat.replies for row in r.buttons for b in row)
    await chat.press(old_choice)
    before = await store.load_session(7)

    await chat.press(old_choice)
    assert "earlier question" in chat.text
    await chat.press("c|not-a-number|x")
    assert "no longer valid" in chat.text
    await chat.press("zz|1")
    assert "no longer valid" in chat.text
    await chat.press(StartScenario(scenario="no-such-scenario").pack())
    assert "not available" in chat.text
    await chat.press(Choose(ask=9999, option=0).pack())
    assert "earlier question" in chat.text

    after = await store.load_session(7)
    assert after is not None
    assert before is not None
    assert (after.state, after.attempts, after.results) == (
        before.state,
        before.attempts,
        before.results,
    )


@pytest.mark.parametrize(
    ("text", "reply"),
    [
        ("", "empty"),
        ("   ", "empty"),
        ("x" * 10_000, "very long"),
        ("/frobnicate", "I don't know /frobnicate"),
    ],
)
async def test_bad_input_gets_a_clear_reply_and_leaves_state(
    coach: Coach, store: MemoryProgressStore, text: str, reply: str
) -> None:
    chat = Chat(coach)
    await start_kettle(chat)
    before = await store.load_session(7)
    await chat.send(text)
    assert reply in chat.text
    after = await store.load_session(7)
    assert after is not None
    assert before is not None
    assert (after.state, after.attempts, after.version) == (
        before.state,
        before.attempts,
        before.version,
    )


async def test_commands_in_the_wrong_state(coach: Coach) -> None:
    chat = Chat(coach)
    for command, reply in [
        ("/resume", "nothing to resume"),
        ("/cancel", "nothing to cancel"),
        ("/skip", "nothing to skip"),
        ("/hint", "no open question"),
        ("I think it's 30 days", "not waiting for an answer"),
    ]:
        await chat.send(command)
        assert reply in chat.text


async def test_a_redelivered_update_is_applied_once(
    coach: Coach, store: MemoryProgressStore
) -> None:
    chat = Chat(coach)
    await start_kettle(chat)
    inp = Input.typed(EMPATHY, update_key="tg:555")
    first = await coach.handle(chat.learner, inp)
    second = await coach.handle(chat.learner, inp)
    assert first
    assert second == []
    assert len(await store.answers(7)) == 1


async def test_many_learners_at_once_every_answer_once(
    coach: Coach, store: MemoryProgressStore
) -> None:
    chats = [Chat(coach, learner_id=1000 + i) for i in range(100)]
    await asyncio.gather(*(start_kettle(c) for c in chats))
    await asyncio.gather(*(c.send(EMPATHY) for c in chats))
    await asyncio.gather(*(c.click("A") for c in chats))
    for chat in chats:
        answers = await store.answers(chat.learner.learner_id)
        assert [a.step for a in answers] == ["greet", "check"]
    assert coach.learners_in_flight == 0
    assert all(m.attached == 0 for m in coach.machines.values())


async def test_one_learner_quick_taps_are_serialised(
    coach: Coach, store: MemoryProgressStore
) -> None:
    chat = Chat(coach)
    await start_kettle(chat)
    await chat.send(EMPATHY)
    choice = next(b.data for r in chat.replies for row in r.buttons for b in row)
    results = await asyncio.gather(chat.press(choice), chat.press(choice))
    assert sum("✅" in "\n".join(r.text for r in replies) for replies in results) == 1
    answers = await store.answers(7)
    assert [a.step for a in answers] == ["greet", "check"]


@pytest.fixture
def quiz_coach(
    kb: KnowledgeBase, test_scenarios: dict[str, ScenarioContent], store: MemoryProgressStore
) -> Coach:
    quiz = Quiz(
        id="test-quiz",
        title="Test quiz",
        description="Two questions.",
        questions=("cra-reject-window", "gdpr-breach-72h"),
    )
    with_quiz = KnowledgeBase(
        criteria=kb.criteria,
        entries=kb.entries,
        questions=kb.questions,
        quizzes={"test-quiz": quiz},
        lexicon=kb.lexicon,
        misconceptions=kb.misconceptions,
    )
    return Coach(with_quiz, test_scenarios, store)


async def test_quick_quiz(quiz_coach: Coach, store: MemoryProgressStore) -> None:
    chat = Chat(quiz_coach)
    await chat.send("/quiz")
    await chat.click("Test quiz")
    assert "Question 1 of 2" in chat.text
    await chat.send("30 days")
    assert "✅" in chat.text
    assert "Question 2 of 2" in chat.text
    await chat.send("within 30 days")
    assert "❌" in chat.text
    assert "1 of 2 correct" in chat.text
    answers = await store.answers(7)
    assert [(a.source, a.outcome) for a in answers] == [
        ("quiz", "correct"),
        ("quiz", "incorrect"),
    ]


async def test_a_pushed_quiz_pauses_the_scenario_and_tags_its_answers(
    quiz_coach: Coach, store: MemoryProgressStore
) -> None:
    chat = Chat(quiz_coach)
    await start_kettle(chat)
    replies = await quiz_coach.handle(chat.learner, Input.pushed("test-quiz", 12))
    assert len(replies) == 1  # the tutor's note rides with the first question: one message
    assert "Your tutor has sent you a quiz – Test quiz" in replies[0].text
    assert "“Test: faulty kettle” is paused" in replies[0].text
    assert "Question 1 of 2" in replies[0].text

    await chat.send("30 days")
    await chat.send("within 30 days")
    assert "1 of 2 correct. Your tutor can see your answers." in chat.text
    answers = await store.answers(7)
    assert [(a.source, a.push_id, a.outcome) for a in answers] == [
        ("push", 12, "correct"),
        ("push", 12, "incorrect"),
    ]
    await chat.click("▶️ Resume")
    assert "This kettle broke after 12 days!" in chat.text


async def test_a_push_says_which_quiz_it_interrupted(quiz_coach: Coach) -> None:
    chat = Chat(quiz_coach)
    await chat.send("/quiz")
    await chat.click("Test quiz")
    replies = await quiz_coach.handle(chat.learner, Input.pushed("test-quiz", 8))
    assert "“Test quiz” was left unfinished; your answers to it are saved." in replies[0].text


async def test_a_push_does_not_count_as_the_learner_being_active(
    quiz_coach: Coach, store: MemoryProgressStore
) -> None:
    chat = Chat(quiz_coach)
    await chat.send("/help")
    before = (await store.export_learner(7))["learner"]
    await quiz_coach.handle(chat.learner, Input.pushed("test-quiz", 3))
    after = (await store.export_learner(7))["learner"]
    assert after == before
    session = await store.load_session(7)
    assert session is not None
    assert session.quiz is not None
    assert session.quiz.push_id == 3


async def test_a_push_telegram_refused_is_withdrawn_unless_already_answered(
    quiz_coach: Coach, store: MemoryProgressStore
) -> None:
    chat = Chat(quiz_coach)
    await quiz_coach.handle(chat.learner, Input.pushed("test-quiz", 5))
    assert await quiz_coach.handle(chat.learner, Input.push_undelivered(5)) == []
    session = await store.load_session(7)
    assert session is not None
    assert session.quiz is None
    await chat.send("30 days")
    assert "not waiting for an answer" in chat.text

    again = await quiz_coach.handle(chat.learner, Input.pushed("test-quiz", 6))
    assert "“Test quiz” was left unfinished" not in again[0].text  # the withdrawn one is gone
    await quiz_coach.handle(chat.learner, Input.push_undelivered(5))  # another push: no change
    await chat.send("30 days")  # answered: the quiz now stays, whatever comes late
    await quiz_coach.handle(chat.learner, Input.push_undelivered(6))
    await chat.send("within 30 days")
    assert "1 of 2 correct" in chat.text


async def test_a_push_of_a_quiz_no_longer_in_the_content_sends_nothing(
    quiz_coach: Coach, store: MemoryProgressStore
) -> None:
    chat = Chat(quiz_coach)
    assert await quiz_coach.handle(chat.learner, Input.pushed("retired-quiz", 4)) == []
    session = await store.load_session(7)
    assert session is None or session.quiz is None


async def test_law_lookup(coach: Coach) -> None:
    chat = Chat(coach)
    await chat.send("/law refund same card no fee")
    assert "s.20" in chat.text
    assert "Source: https://" in chat.text
    await chat.send("/law")
    assert "Faulty goods (CRA 2015)" in chat.button_labels
    await chat.click("Faulty goods (CRA 2015)")
    assert "Short-term right to reject" in chat.text
    await chat.send("/law xyzzy plugh")
    assert "Nothing found" in chat.text


async def test_progress_mydata_and_forget(coach: Coach, store: MemoryProgressStore) -> None:
    chat = Chat(coach)
    await chat.send("/progress")
    assert "No progress yet" in chat.text
    await start_kettle(chat)
    await chat.send(EMPATHY)
    await chat.send("/progress")
    assert "Answers given: 1" in chat.text
    assert "Accuracy by topic" in chat.text

    await chat.send("/mydata")
    document = chat.last_reply().document
    assert document is not None
    data = json.loads(document.content)
    assert data["answers"][0]["answer"] == EMPATHY

    await chat.send("/forget")
    assert chat.button_labels == ["Yes, erase it", "No, keep it"]
    await chat.click("No, keep it")
    assert "Nothing was erased" in chat.text
    assert await store.answers(7)
    await chat.send("/forget")
    await chat.click("Yes, erase it")
    assert "erased" in chat.text
    assert await store.answers(7) == []
    assert await store.load_session(7) is None


async def test_pressed_option_echo_keeps_the_step_message(coach: Coach) -> None:
    chat = Chat(coach)
    await start_kettle(chat)
    await chat.send(EMPATHY)
    await chat.click("A")
    echo = chat.replies[0]
    assert echo.kind == "echo"
    assert echo.text.startswith("🗣 Mrs Patel: “What do you need to know?”")
    assert "{" not in echo.text


async def test_replays_rotate_through_the_case_variants(coach: Coach) -> None:
    chat = Chat(coach)
    await start_kettle(chat)
    assert "broke after 12 days" in chat.text
    await chat.send("/skip")
    await chat.click("A")
    assert "how long she has to reject it" in chat.text  # the 12-day branch
    await chat.send("/skip")
    await chat.send("/skip")
    assert "🏁 Debrief" in chat.text

    await chat.send("/scenarios")
    await chat.click("Test: faulty kettle")
    assert "broke after 45 days" in chat.text
    await chat.send("/skip")
    await chat.click("A")
    assert "What remedy comes first?" in chat.text  # the 45-day branch


async def test_many_learners_on_sqlite_every_answer_on_disk_once(
    kb: KnowledgeBase, test_scenarios: dict[str, ScenarioContent], tmp_path: Path
) -> None:
    async with SqliteProgressStore.open(tmp_path / "coach.db") as store:
        coach = Coach(kb, test_scenarios, store)
        chats = [Chat(coach, learner_id=2000 + i) for i in range(60)]
        await asyncio.gather(*(start_kettle(c) for c in chats))
        await asyncio.gather(*(c.send(EMPATHY) for c in chats))
        # A redelivered update changes nothing (a typed choice, read as option A).
        await asyncio.gather(
            *(coach.handle(c.learner, Input.typed("A", "dup")) for c in chats[:1])
        )
        await asyncio.gather(
            *(coach.handle(c.learner, Input.typed("A", "dup")) for c in chats[:1])
        )
        commits = store.database.commits_written
    async with SqliteProgressStore.open(tmp_path / "coach.db") as reopened:
        for chat in chats:
            answers = await reopened.answers(chat.learner.learner_id)
            expected = ["greet", "check"] if chat is chats[0] else ["greet"]
            assert [a.step for a in answers] == expected
    # 60 learners x 4 inputs: concurrent inputs share transactions (group commit), so there
    # are fewer transactions than inputs (how many fewer depends on the machine's load).
    assert commits < 60 * 4


async def test_a_session_in_a_step_that_no_longer_exists_is_closed_politely(
    coach: Coach, store: MemoryProgressStore
) -> None:
    chat = Chat(coach)
    await start_kettle(chat)
    session = await store.load_session(7)
    assert session is not None
    moved = session.model_copy(update={"state": "renamed_step", "version": session.version + 1})
    await store.apply(Commit(learner=chat.learner, session=moved))
    await chat.send("30 days")
    assert "That scenario has changed since you started it" in chat.text
    assert "not waiting for an answer" in chat.text
    after = await store.load_session(7)
    assert after is not None
    assert after.scenario_id is None


def test_every_button_of_shipped_content_fits_telegram(kb: KnowledgeBase) -> None:
    for quiz_id in kb.quizzes:
        assert len(StartQuiz(quiz=quiz_id).pack().encode()) <= 64
    for scenario_id in load_scenarios(kb):
        assert len(StartScenario(scenario=scenario_id).pack().encode()) <= 64


async def test_the_same_push_again_asks_the_waiting_question_so_answers_count_once(
    quiz_coach: Coach, store: MemoryProgressStore
) -> None:
    chat = Chat(quiz_coach)
    await quiz_coach.handle(chat.learner, Input.pushed("test-quiz", 9))
    await chat.send("30 days")  # the first question answered from the first copy
    again = await quiz_coach.handle(chat.learner, Input.pushed("test-quiz", 9))
    assert "(sent again in case you missed it)" in again[0].text
    assert "Question 2 of 2" in again[0].text  # not the quiz from the start
    await chat.send("within 30 days")
    assert "1 of 2 correct" in chat.text
    answers = await store.answers(7)
    assert [(a.push_id, a.question_id) for a in answers] == [
        (9, answers[0].question_id),
        (9, answers[1].question_id),
    ]
    assert answers[0].question_id != answers[1].question_id
