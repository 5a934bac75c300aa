"""The security review's findings (issue 15), each played as the attack, through process_update
on the recording fake of the Bot API."""

import io
import logging
import sqlite3
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot import cli
from bot.app import build_application
from bot.console import ConsoleChat
from bot.telegram.context import CoachApplication
from bot.telegram.render import APOLOGY, split_text, utf16_length
from flows.engine import Coach
from flows.loader import ScenarioContent
from flows.ports import Commit
from knowledge.loader import KnowledgeBase
from storage import sqlite_database
from storage.memory import MemoryProgressStore
from storage.sqlite import DatabaseUnavailableError, SqliteProgressStore
from storage.staff import StaffStore
from tests.bot.fakes import BOT_ID, DATE, TOKEN, RecordingRequest, settings_for
from tests.bot.people import People, button_data, running_app
from tests.conftest import TEST_SCENARIOS
from tutoring import reports
from tutoring.staff import REFUSALS_ANSWERED

ADMIN = 1
TUTOR = 2
LEARNER = 4


@pytest.fixture
async def sec_app(tmp_path: Path, fake: RecordingRequest) -> AsyncIterator[CoachApplication]:
    async with running_app(tmp_path / "security.db", fake, (ADMIN,)) as application:
        yield application


@pytest.fixture
async def people(sec_app: CoachApplication, fake: RecordingRequest) -> People:
    crowd = People(sec_app, fake)
    for uid in range(1, 10):
        await crowd.say(uid, "/help")
    assert "now a tutor" in await crowd.say(ADMIN, f"/grant tutor {TUTOR}")
    return crowd


def apologies(fake: RecordingRequest) -> int:
    return sum(1 for text in fake.texts() if APOLOGY in text)


# --- row 9: "²" and "①" pass isdigit() and then crash int() -------------------------------------


@pytest.mark.parametrize("digit", ["²", "①", "99999999999999999999999"])
async def test_superscript_digits_are_answered_politely_not_crashed_on(
    people: People, fake: RecordingRequest, digit: str
) -> None:
    assert "numeric id" in await people.say(TUTOR, f"/learner {digit}")
    assert "push number" in await people.say(TUTOR, f"/push report {digit}")
    assert "can't tell who you mean" in await people.say(ADMIN, f"/grant tutor {digit}")
    # A forged page button, parsed before the role is checked.
    await people.press(LEARNER, f"rp|{digit}|0")
    assert "no longer valid" in fake.texts()[-1]
    # Forged push buttons of a tutor (a number past SQLite's integers is refused too).
    for data in (f"px|{digit}", f"pr|{digit}", f"pc|data-protection|{digit}"):
        await people.press(TUTOR, data)
        assert "no longer valid" in fake.texts()[-1]
    assert apologies(fake) == 0


async def test_typing_a_superscript_digit_in_the_console_does_not_end_it(
    kb: KnowledgeBase, test_scenarios: dict[str, ScenarioContent], tmp_path: Path
) -> None:
    printed: list[str] = []
    chat = ConsoleChat(
        Coach(kb, test_scenarios, MemoryProgressStore()), printed.append, downloads=tmp_path
    )
    await chat.send("/start")
    await chat.send("²")
    assert "That isn't one of the options here – choose 1–5" in "".join(printed)


# --- row 3: a press is lost when acknowledging it fails ------------------------------------------

TOO_OLD = "Bad Request: query is too old and response timeout expired or query ID is invalid"


async def test_a_press_too_old_to_acknowledge_is_still_handled(
    people: People, fake: RecordingRequest
) -> None:
    await people.say(LEARNER, "/start")
    fake.refused_methods["answerCallbackQuery"] = TOO_OLD
    await people.press(LEARNER, button_data(fake, "🎭 Practise a scenario"))
    assert "Choose a scenario" in fake.texts()[-1]
    await people.press(LEARNER, button_data(fake, "Test: faulty kettle"))
    assert "Mrs Patel" in fake.texts()[-1]
    assert apologies(fake) == 0


# --- row 11: escaped HTML shown literally after an edit ------------------------------------------


async def test_a_cohort_name_with_an_ampersand_reads_right_in_edited_messages(
    people: People, fake: RecordingRequest
) -> None:
    await people.say(TUTOR, "/cohort new Smith & Jones")
    await people.say(TUTOR, "/push")
    await people.press(TUTOR, button_data(fake, "Data protection"))
    await people.press(TUTOR, button_data(fake, "Smith & Jones"))
    await people.press(TUTOR, "rp|0|0")
    edits = fake.sent("editMessageText")
    assert len(edits) == 3
    for edit in edits:
        assert edit.params["parse_mode"] == "HTML"
    assert "Smith &amp; Jones" in str(edits[1].params["text"])


# --- row 7: one engine failure, one apology -----------------------------------------------------


async def test_an_engine_failure_sends_one_apology_and_logs_once(
    sec_app: CoachApplication,
    people: People,
    fake: RecordingRequest,
    caplog: pytest.LogCaptureFixture,
) -> None:
    coach = sec_app.bot_data.coach
    assert coach is not None

    class DiskFull(MemoryProgressStore):
        async def apply(self, commit: Commit) -> bool:
            raise sqlite3.OperationalError("database or disk is full")

    real = coach.store
    coach.store = DiskFull()
    try:
        fake.clear()
        with caplog.at_level(logging.ERROR):
            await people.say(LEARNER, "/start")
    finally:
        coach.store = real
    assert apologies(fake) == 1
    assert len([r for r in caplog.records if r.levelno >= logging.ERROR]) == 1


# --- row 5: the bot token in the log at DEBUG ---------------------------------------------------


def test_the_token_never_reaches_the_log_at_any_level(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    settings = settings_for(tmp_path / "log.db").model_copy(update={"log_level": "DEBUG"})
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    root = logging.getLogger()
    root.addHandler(handler)
    try:
        cli._configure_logging(settings)
        with caplog.at_level(logging.DEBUG):
            build_application(settings, request=RecordingRequest())  # logs the Bot API URL
            log = logging.getLogger("tests.attack")
            log.info("calling %s", f"https://api.telegram.org/bot{TOKEN}/getMe")
            failure = RuntimeError(f"POST /bot{TOKEN}/sendMessage failed")
            log.error("send failed", exc_info=failure)
            log.debug("secret half alone: %s", TOKEN.partition(":")[2])
    finally:
        root.removeHandler(handler)
    written = stream.getvalue()
    assert "Set Bot API URL" in written
    assert "RuntimeError" in written
    assert TOKEN not in written
    assert TOKEN.partition(":")[2] not in written
    assert "<token>" in written


# --- row 2: /grant @username promoted the former holder of a name ------------------------------


async def role(app: CoachApplication, user_id: int) -> str:
    desk = app.bot_data.desk
    assert desk is not None
    return await desk.staff.role_of(user_id)


async def test_grant_by_username_reaches_the_current_holder_not_the_former(
    sec_app: CoachApplication, people: People
) -> None:
    former, current = people.users[5], people.users[6]
    former.user["username"] = "jo_smith"
    await people.say(5, "/help")
    # Jo renames; the name jo_smith goes to someone else, who then uses the bot.
    former.user["username"] = "jo_renamed"
    current.user["username"] = "jo_smith"
    await people.say(6, "/help")

    assert "now a tutor" in await people.say(ADMIN, "/grant tutor @jo_smith")
    assert await role(sec_app, 6) == "tutor"
    assert await role(sec_app, 5) == "learner"
    assert "learner again" in await people.say(ADMIN, "/revoke @jo_smith")
    assert await role(sec_app, 6) == "learner"


async def test_a_stale_or_ambiguous_username_is_refused_with_the_way_round(
    sec_app: CoachApplication, people: People
) -> None:
    store = sec_app.bot_data.coach.store  # type: ignore[union-attr]
    assert isinstance(store, SqliteProgressStore)
    await store.database.write(
        ("UPDATE learners SET last_active = '2025-01-01T00:00:00+00:00' WHERE id = 7", ()),
        # Two rows stored with one name (data from before names were released on reuse).
        ("UPDATE learners SET username = 'twin' WHERE id IN (8, 9)", ()),
    )
    stale = await people.say(ADMIN, "/grant tutor @u7")
    assert "last seen here on 01 Jan 2025" in stale
    assert "numeric id" in stale
    assert "More than one account" in await people.say(ADMIN, "/grant tutor @twin")
    removed = await people.say(TUTOR, "/cohort new Mine")
    assert "created" in removed
    assert "More than one account" in await people.say(TUTOR, "/cohort remove Mine @twin")
    for user_id in (7, 8, 9):
        assert await role(sec_app, user_id) == "learner"


# --- row 12: grant by reply could only reach the admin or the bot -------------------------------


async def test_grant_by_reply_uses_the_forwarded_messages_sender(
    sec_app: CoachApplication, people: People, fake: RecordingRequest
) -> None:
    admin = people.users[ADMIN]
    learner = people.users[LEARNER].user

    await sec_app.process_update(admin.reply_to("/grant tutor", admin.forwarded(learner)))
    assert "now a tutor" in fake.texts()[-1]
    assert await role(sec_app, LEARNER) == "tutor"

    hidden = admin.forwarded(None, hidden_name="Private Person")
    await sec_app.process_update(admin.reply_to("/grant tutor", hidden))
    assert "privacy settings" in fake.texts()[-1]

    bots_message = {
        "message_id": 5,
        "date": DATE,
        "chat": admin.chat,
        "from": {"id": BOT_ID, "is_bot": True, "first_name": "Coach"},
        "text": "menu",
    }
    await sec_app.process_update(admin.reply_to("/grant tutor", bots_message))
    assert "forwarded to me" in fake.texts()[-1]
    own = {**bots_message, "from": admin.user}
    await sec_app.process_update(admin.reply_to("/grant admin", own))
    assert "forwarded to me" in fake.texts()[-1]
    assert "can't be given a role" in await people.say(ADMIN, f"/grant tutor {BOT_ID}")
    assert "your own role" in await people.say(ADMIN, f"/revoke {ADMIN}")
    assert await role(sec_app, BOT_ID) == "learner"


# --- row 15: a database that cannot be opened ---------------------------------------------------


@pytest.mark.parametrize("command", [["admin", "staff"], ["console"]])
def test_an_unusable_database_is_one_clear_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, command: list[str]
) -> None:
    missing = tmp_path / "no-such-folder" / "coach.db"
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{missing}")
    monkeypatch.delenv("TELEGRAM_BOT_TOKEN", raising=False)
    monkeypatch.chdir(tmp_path)
    with pytest.raises(SystemExit) as exited:
        cli.main(command)
    message = str(exited.value.code)
    assert message.startswith("error: cannot use the database")
    assert str(missing) in message
    assert "DATABASE_URL" in message
    assert "\\n" not in message


async def test_a_bot_on_an_unusable_database_fails_with_the_same_line(
    tmp_path: Path, fake: RecordingRequest
) -> None:
    settings = settings_for(tmp_path)  # a folder, not a database file
    application = build_application(settings, request=fake, scenario_dir=TEST_SCENARIOS)
    async with application:
        with pytest.raises(DatabaseUnavailableError, match="cannot use the database"):
            await application.post_init(application)  # type: ignore[misc]


# --- row 16: unbounded growth from forged presses -----------------------------------------------


async def test_a_flood_of_forged_staff_presses_is_counted_not_stored_one_by_one(
    sec_app: CoachApplication,
    people: People,
    fake: RecordingRequest,
    caplog: pytest.LogCaptureFixture,
) -> None:
    fake.clear()
    with caplog.at_level(logging.WARNING, logger="tutoring.staff"):
        for _ in range(1000):
            await people.press(LEARNER, "pr|1")
    desk = sec_app.bot_data.desk
    assert desk is not None
    assert await desk.staff.denied_attempts() == [
        (LEARNER, "push button", await first_refusal_time(desk.staff), 1000)
    ]
    refusals = [r for r in caplog.records if "was refused" in r.getMessage()]
    assert len(refusals) == 4  # the 1st, 10th, 100th and 1000th
    answered = fake.sent("editMessageText") + fake.sent()
    assert len(answered) == REFUSALS_ANSWERED
    # Another user, or the same one at another command, is counted separately.
    assert "only for admins" in await people.say(5, "/stats")


async def first_refusal_time(staff: StaffStore) -> str:
    [(_, _, at, _)] = await staff.denied_attempts()
    return at


# --- also checked: CSV cells and Telegram's UTF-16 length ----------------------------------------


@pytest.mark.parametrize(
    "answer",
    [
        ' =HYPERLINK("http://x")',
        "\u3000=1+1",
        "\uff1d1+1",
        "\uff0b1",
        "\u202e=1+1",
        "\ufeff@SUM(A1)",
    ],
    ids=["space", "ideographic-space", "full-width-equals", "full-width-plus", "rlo", "bom"],
)
def test_a_hidden_formula_in_a_csv_cell_is_neutralised(answer: str) -> None:
    cell = reports._cell(answer)
    assert cell.startswith("'")
    assert "\u202e" not in cell


def test_ordinary_answers_are_not_touched_in_csv() -> None:
    assert reports._cell("30 days, then a repair") == "30 days, then a repair"
    assert reports._cell("ﬁne") == "ﬁne"  # NFKC is only used to look, never to rewrite


def test_emoji_heavy_text_is_split_within_telegrams_utf16_limit() -> None:
    text = ("😀" * 60 + " ") * 60  # 3,660 characters, 7,260 UTF-16 units
    chunks = split_text(text)
    assert len(chunks) == 2
    assert all(utf16_length(chunk) <= 4096 for chunk in chunks)
    assert "".join(chunks).replace(" ", "") == text.replace(" ", "")


def test_a_read_only_file_counts_as_an_unusable_database() -> None:
    # Tests run as root here, which file modes do not stop: the message SQLite gives for a
    # read-only file is checked directly.
    readonly = sqlite3.OperationalError("attempt to write a readonly database")
    assert sqlite_database._file_problem(readonly)
    assert not sqlite_database._file_problem(sqlite3.OperationalError('near "NOT": syntax error'))
