"""The console transport: same engine, numbered buttons, letters for options, resume after quit."""

from collections.abc import Iterator
from pathlib import Path

from bot.console import ConsoleChat, default_downloads, run_console
from flows.engine import Coach
from flows.loader import ScenarioContent
from knowledge.loader import KnowledgeBase
from storage.memory import MemoryProgressStore
from storage.sqlite import SqliteProgressStore

EMPATHY = "I'm so sorry, I understand how frustrating that is. Let me sort this out for you."


def scripted(lines: list[str]) -> Iterator[str]:
    yield from lines


async def test_buttons_are_numbered_and_pressed_by_number(
    kb: KnowledgeBase, test_scenarios: dict[str, ScenarioContent], tmp_path: Path
) -> None:
    printed: list[str] = []
    chat = ConsoleChat(
        Coach(kb, test_scenarios, MemoryProgressStore()), printed.append, downloads=tmp_path
    )
    await chat.send("/start")
    screen = "".join(printed)
    assert "[1] 🎭 Practise a scenario" in screen
    await chat.send("1")
    assert "[1] Test: faulty kettle" in "".join(printed)
    await chat.send("1")
    await chat.send(EMPATHY)
    assert "(reply with a letter)" in printed[-1] or "(reply with a letter)" in "".join(printed)
    printed.clear()
    await chat.send("A")
    assert "✅" in "".join(printed)
    await chat.send("/mydata")
    saved = tmp_path / "aftercare-coach-my-data.json"
    assert saved.exists()
    assert f"saved to {saved}" in "".join(printed)


async def test_quit_and_resume_with_an_sqlite_file(
    kb: KnowledgeBase, test_scenarios: dict[str, ScenarioContent], tmp_path: Path
) -> None:
    database = tmp_path / "coach.db"
    printed: list[str] = []
    first = scripted(["1", "1", EMPATHY, "/quit"])
    async with SqliteProgressStore.open(database) as store:
        await run_console(Coach(kb, test_scenarios, store), lambda _: next(first), printed.append)
    assert "Bye! Your progress is saved" in printed[-1]

    printed.clear()
    second = scripted(["/resume"])

    def read_then_eof(prompt: str) -> str:
        """The second session types /resume, then presses Ctrl-D."""
        del prompt
        try:
            return next(second)
        except StopIteration:
            raise EOFError from None

    async with SqliteProgressStore.open(database) as store:
        await run_console(Coach(kb, test_scenarios, store), read_then_eof, printed.append)
    screen = "".join(printed)
    assert "Back to “Test: faulty kettle”" in screen
    assert "What do you ask first?" in screen


async def test_a_number_beyond_the_list_says_what_is_valid_and_stays(
    kb: KnowledgeBase, test_scenarios: dict[str, ScenarioContent], tmp_path: Path
) -> None:
    printed: list[str] = []
    chat = ConsoleChat(
        Coach(kb, test_scenarios, MemoryProgressStore()), printed.append, downloads=tmp_path
    )
    await chat.send("/start")
    await chat.send("1")  # the scenario list: one scenario, then Back
    printed.clear()
    assert await chat.send("13") == []
    assert printed == ["There's no option 13 here – choose 1–2.\n"]
    await chat.send("99")
    await chat.send("1")  # still the scenario list: the scenario starts
    assert "📝 Your task" in "".join(printed)
    await chat.send("/menu")
    printed.clear()
    await chat.send("7")  # Resume, then the five fixed entries
    assert printed == ["There's no option 7 here – choose 1–6.\n"]


async def test_mydata_goes_to_a_chosen_folder_and_forget_removes_it(
    kb: KnowledgeBase, test_scenarios: dict[str, ScenarioContent], tmp_path: Path
) -> None:
    printed: list[str] = []
    chat = ConsoleChat(
        Coach(kb, test_scenarios, MemoryProgressStore()), printed.append, downloads=tmp_path
    )
    await chat.send("/help")
    assert "type a button's number" in printed[-1]
    assert "tap a button" not in printed[-1]
    await chat.send(f"/mydata {tmp_path / 'mine'}")
    saved = tmp_path / "mine" / "aftercare-coach-my-data.json"
    assert saved.exists()
    await chat.send("/forget")
    await chat.send("yes")
    assert not saved.exists()
    assert f"(removed {saved})\n" in printed


def test_mydata_defaults_outside_the_working_folder() -> None:
    assert default_downloads() in {Path.home() / "Downloads", Path.home()}


async def test_no_back_at_a_scenario_step_so_a_typed_number_is_an_answer(
    kb: KnowledgeBase, test_scenarios: dict[str, ScenarioContent], tmp_path: Path
) -> None:
    printed: list[str] = []
    store = MemoryProgressStore()
    chat = ConsoleChat(Coach(kb, test_scenarios, store), printed.append, downloads=tmp_path)
    for line in ("/start", "1", "1"):
        await chat.send(line)
    printed.clear()  # the scenario list ends with its own ◀ Back (to the menu)
    await chat.send(EMPATHY)
    await chat.send("A")
    screen = "".join(printed)
    assert "how long she has to reject it" in screen
    assert "◀ Back" not in screen  # Telegram shows it under this step; typed "1" would take it
    printed.clear()
    await chat.send("30")
    assert "no option" not in "".join(printed)
    assert [a.answer for a in await store.answers(1)][-1] == "30"
