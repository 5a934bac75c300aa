"""The bench's learners: a mixed workload of real learner actions, recorded once and replayed.

A learner sends /start, opens the scenario list, plays a whole shipped scenario (typed answers
and option buttons, some wrong first), takes a quick quiz (native quiz polls and typed answers),
and asks for /progress. The first pass plays each learner live, reading its session to choose
the next answer; it records the updates, which are then replayed into a fresh bot so that the
timed runs do only the bot's own work. Every Bot API call is counted against the kind of the
action that caused it (typed answer, button, poll vote, command).
"""

from __future__ import annotations

import contextvars
import json
import random
import sqlite3
from collections import Counter
from contextlib import closing
from dataclasses import dataclass, field
from itertools import count
from pathlib import Path
from typing import Any, Literal

from telegram import Update
from telegram.ext import Application

from bot.app import build_application
from bot.telegram.context import CoachApplication
from flows.actions import Choose, Menu, StartQuiz, StartScenario
from knowledge.models import ChoiceQuestion
from tests.bot.fakes import RecordingRequest, Updates, settings_for

Kind = Literal["typed answer", "button", "poll vote", "command"]
KINDS: tuple[Kind, ...] = ("typed answer", "button", "poll vote", "command")
WRONG_FIRST = 0.3
"""The share of answers a learner gets wrong before the right one."""

_acting: contextvars.ContextVar[Kind | None] = contextvars.ContextVar("acting", default=None)


def acting() -> Kind | None:
    """The kind of learner action being processed right now (None outside one)."""
    return _acting.get()


@dataclass
class CountingRequest(RecordingRequest):
    """The recording fake, counting calls by the kind of action that caused them, with poll
    ids made per chat (so a replay, in any interleaving, gives each learner the same ids)."""

    by_kind: Counter[str] = field(default_factory=Counter)
    budget_by_kind: Counter[str] = field(default_factory=Counter)
    """Calls that PTB's AIORateLimiter counts against the ~30 a second: those with a chat_id
    (answerCallbackQuery has none)."""
    methods: Counter[str] = field(default_factory=Counter)
    record: bool = True
    """False in timed runs: count, but keep no list of calls."""
    _polls_per_chat: dict[int, Any] = field(default_factory=dict)
    last_poll: dict[int, str] = field(default_factory=dict)

    async def do_request(  # noqa: PLR0917  # the signature is BaseRequest's
        self,
        url: str,
        method: str,
        request_data: Any = None,
        read_timeout: Any = None,
        write_timeout: Any = None,
        connect_timeout: Any = None,
        pool_timeout: Any = None,
    ) -> tuple[int, bytes]:
        kind = _acting.get()
        api_method = url.rsplit("/", 1)[-1]
        if kind is not None:
            self.by_kind[kind] += 1
            self.methods[f"{kind}: {api_method}"] += 1
            if request_data is not None and "chat_id" in request_data.parameters:
                self.budget_by_kind[kind] += 1
        result = await super().do_request(url, method, request_data)
        if not self.record:
            self.calls.clear()
        return result

    def _answer(self, api_method: str, params: dict[str, Any]) -> Any:
        result = super()._answer(api_method, params)
        if api_method == "sendPoll" and isinstance(result, dict):
            chat = int(params.get("chat_id", 0))
            numbers = self._polls_per_chat.setdefault(chat, count(1))
            poll_id = f"{chat}-{next(numbers)}"
            result["poll"]["id"] = poll_id
            self.last_poll[chat] = poll_id
        return result


@dataclass
class Action:
    kind: Kind
    update: Update

    def data(self) -> dict[str, Any]:
        """The update as Telegram sent it, to be rebuilt for another bot."""
        return self.update.to_dict()


@dataclass
class Script:
    """One learner's recorded actions, in order."""

    learner_id: int
    actions: list[Action] = field(default_factory=list)
    answers_logged: int | None = None
    """Answers the live play logged (some inputs log none, e.g. a hint asked for), and
    `sends`: Bot API sends and edits to the learner. A replay that handles every update once
    ends with the same (the worker figures check it); None when not recorded here."""
    sends: int | None = None


def save_scripts(scripts: list[Script], path: Path) -> None:
    """The scripts as JSON, for a replay in another process."""
    data = [
        {"learner_id": s.learner_id, "actions": [[a.kind, a.data()] for a in s.actions]}
        for s in scripts
    ]
    path.write_text(json.dumps(data))


def load_scripts(path: Path) -> list[Script]:
    """Scripts saved by `save_scripts`, their updates not yet tied to a bot."""
    scripts = []
    for item in json.loads(path.read_text()):
        actions = []
        for kind, data in item["actions"]:
            update = Update.de_json(data, None)
            assert update is not None
            actions.append(Action(kind, update))
        scripts.append(Script(item["learner_id"], actions))
    return scripts


def rebuild(scripts: list[Script], bot: Any) -> list[Script]:
    """The scripts with every update rebuilt for `bot` (a replay into a fresh application)."""
    rebuilt = []
    for script in scripts:
        actions = []
        for action in script.actions:
            update = Update.de_json(action.data(), bot)
            assert update is not None
            actions.append(Action(action.kind, update))
        rebuilt.append(Script(script.learner_id, actions))
    return rebuilt


async def act(app: Application[Any, Any, Any, Any, Any, Any], action: Action) -> None:
    """Process one update with its calls counted against its kind."""
    token = _acting.set(action.kind)
    try:
        await app.process_update(action.update)
    finally:
        _acting.reset(token)


def coach_app(
    database: Path, fake: RecordingRequest, database_url: str | None = None
) -> CoachApplication:
    """The full bot on the fake, without the rate limiter (CPU is what is measured); on the
    SQLite file `database`, or on `database_url` (PostgreSQL) when given."""
    settings = settings_for(database)
    if database_url is not None:
        settings = settings.model_copy(update={"database_url": database_url, "auto_migrate": True})
    return build_application(settings, request=fake, rate_limited=False)


class _Player:
    """Plays one learner live: picks each answer from the learner's stored session."""

    def __init__(self, app: CoachApplication, fake: CountingRequest, learner_id: int) -> None:
        self.app = app
        self.fake = fake
        self.script = Script(learner_id)
        self.updates = Updates(app.bot, user_id=learner_id, first_update_id=learner_id * 1000)
        self.rng = random.Random(learner_id)  # noqa: S311  # a repeatable workload, not secrets
        coach = app.bot_data.coach
        assert coach is not None
        self.coach = coach

    async def do(self, kind: Kind, update: Update) -> None:
        action = Action(kind, update)
        self.script.actions.append(action)
        await act(self.app, action)

    async def typed(self, text: str) -> None:
        await self.do(
            "command" if text.startswith("/") else "typed answer", self.updates.text(text)
        )

    async def press(self, data: str) -> None:
        await self.do("button", self.updates.press(data))

    async def play(self, scenario_id: str, quiz_id: str) -> Script:
        await self.typed("/start")
        await self.press(Menu(target="scenarios").pack())
        await self.press(StartScenario(scenario=scenario_id).pack())
        for _ in range(60):
            session = await self.coach.store.load_session(self.script.learner_id)
            if session is None or session.scenario_id is None:
                break
            question = self.coach.scenarios[session.scenario_id].question_for(session.state)
            await self.answer(question, session.ask_seq)
        await self.typed("/quiz")
        await self.press(StartQuiz(quiz=quiz_id).pack())
        for _ in range(60):
            session = await self.coach.store.load_session(self.script.learner_id)
            if session is None or session.quiz is None or session.quiz.current is None:
                break
            asked = self.coach.kb.question(session.quiz.current)
            assert asked is not None
            await self.answer(asked, session.ask_seq, quiz=True)
        await self.typed("/progress")
        return self.script

    async def answer(self, question: Any, ask_seq: int, *, quiz: bool = False) -> None:
        wrong = self.rng.random() < WRONG_FIRST
        if isinstance(question, ChoiceQuestion) and question.type == "single":
            right = min(question.correct_indexes)
            option = (right + 1) % len(question.options) if wrong else right
            if quiz and question.fits_quiz_poll():
                poll_id = self.fake.last_poll[self.script.learner_id]
                await self.do("poll vote", self.updates.poll_answer(poll_id, option))
            else:
                await self.press(Choose(ask=ask_seq, option=option).pack())
            return
        await self.typed("I'm not sure, sorry" if wrong else question.model_answer)


async def record_scripts(folder: Path, learners: int, first_id: int = 1_000_000) -> list[Script]:
    """Play `learners` learners live, one after another; return what each of them sent."""
    fake = CountingRequest()
    app = coach_app(folder / "record.db", fake)
    scripts = []
    async with app:
        await app.post_init(app)  # type: ignore[misc]  # set at build
        await app.start()
        coach = app.bot_data.coach
        assert coach is not None
        scenarios = sorted(coach.scenarios)
        quizzes = sorted(coach.kb.quizzes)
        for number in range(learners):
            player = _Player(app, fake, first_id + number)
            scripts.append(
                await player.play(
                    scenarios[number % len(scenarios)], quizzes[number % len(quizzes)]
                )
            )
        await app.stop()
        await app.post_shutdown(app)  # type: ignore[misc]
    with closing(sqlite3.connect(folder / "record.db")) as database:
        logged = Counter(
            dict(database.execute("SELECT learner_id, count(*) FROM answers GROUP BY learner_id"))
        )
    sends = Counter(
        int(call.params["chat_id"])
        for call in fake.calls
        if call.method.startswith(("send", "edit")) and "chat_id" in call.params
    )
    for script in scripts:
        script.answers_logged = logged[script.learner_id]
        script.sends = sends[script.learner_id]
    return scripts


def mix(scripts: list[Script]) -> Counter[str]:
    """How many actions of each kind the scripts hold."""
    return Counter(action.kind for script in scripts for action in script.actions)
