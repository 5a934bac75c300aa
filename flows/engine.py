"""The coaching engine: `await coach.handle(learner, input) -> [Reply]`, for any transport.

Per input: load the learner's session (one read), work out the new state (firing the scenario
machine when an answer comes in), write everything it changed as one commit, and return the
replies only after that commit is on disk. Inputs of one learner are handled one at a time.
"""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Literal
from zoneinfo import ZoneInfo

from flows import lookback, render
from flows.actions import (
    Action,
    Appeal,
    Choose,
    Forget,
    LawTopic,
    LookBack,
    Menu,
    RestartQuiz,
    Setting,
    StartQuiz,
    StartScenario,
    StopScenario,
    unpack,
)
from flows.io import COMMANDS, MAX_ANSWER_CHARACTERS, Document, Input, Reply
from flows.loader import ScenarioContent
from flows.machine import ScenarioMachine, Turn, compile_all
from flows.ports import (
    AnswerRecord,
    Appeals,
    Commit,
    LearnerProfile,
    ProgressStore,
    QuizProgress,
    ScenarioRun,
    SessionSnapshot,
)
from flows.questions import UnknownQuestionError, find_askable, step_id
from flows.scenario import DEBRIEF
from knowledge.choices import read_choice
from knowledge.loader import KnowledgeBase
from knowledge.marking import Answer, mark
from knowledge.models import (
    AnyQuestion,
    CaseContext,
    ChoiceQuestion,
    Entry,
    OrderQuestion,
    Verdict,
)
from tutoring.reminders import DAY_NAMES, next_reminder, parse_days, parse_time
from tutoring.revision import (
    LearnerSettings,
    Review,
    ReviewSource,
    Revision,
    grade_for,
    known_zone,
    zone_named,
)
from tutoring.streaks import streak

# One line is enough for a tutor to see why the learner disagrees.
MAX_REASON_CHARACTERS = 200

# A session with no scenario under way (after a debrief or /cancel).
_NO_SCENARIO: dict[str, object] = {
    "scenario_id": None,
    "state": "idle",
    "attempts": 0,
    "results": (),
    "facts": (),
    "paused": False,
}
# A scenario counts towards its unit criteria once the learner scores at least this much.
SCENARIO_EVIDENCE_SCORE = 0.7
# /cancel asks first once this many steps of a scenario are answered.
NEARLY_DONE = 2
# The quiz id of a /revise session (no content quiz has it: quiz ids have no spaces).
REVISION = "revision session"


def utc_now() -> datetime:
    return datetime.now(UTC)


# Typed answers to the /forget confirmation, as people write them.
_YES = frozenset({"yes", "y", "yes please", "yes erase it", "erase", "erase it", "ok"})
_NO = frozenset({"no", "n", "no thanks", "no keep it", "keep", "keep it", "cancel"})


def typed_confirmation(text: str) -> Literal["yes", "no"] | None:
    """'Yes' or 'no' typed in answer to a confirmation (any case, trailing punctuation)."""
    words = " ".join(text.lower().replace(",", " ").strip(" .!").split())
    if words in _YES:
        return "yes"
    if words in _NO:
        return "no"
    return None


# A number typed at a list, as people write it: "3", "3.", "#3", "3)".
_TYPED_NUMBER = re.compile(r"#?\s*([0-9]{1,6})\s*[.)]?")
# A reply whose buttons all do one of these is a list or menu to pick from.
_NAVIGATION = (Menu, StartScenario, StartQuiz, LawTopic)


def listed_in(reply: Reply) -> tuple[str, ...]:
    """The buttons' data of a list or menu (two or more entries that only move around), in
    the order shown; () for any other reply."""
    data = tuple(button.data for row in reply.buttons for button in row)
    if len(data) < 2 or not all(isinstance(unpack(d), _NAVIGATION) for d in data):
        return ()
    return data


def _answers_offer(session: SessionSnapshot, inp: Input) -> bool:
    """Whether an input answers what the last reply offered: a /forget or stop button, yes or
    no typed, or the typed reason for an appeal."""
    if session.offered == "reason":
        return inp.kind == "text"
    if inp.kind == "text":
        return typed_confirmation(inp.text) is not None
    return inp.kind == "action" and isinstance(unpack(inp.action or ""), Forget | StopScenario)


@dataclass
class Outcome:
    """What handling one input produced."""

    replies: list[Reply] = field(default_factory=list)
    session: SessionSnapshot | None = None
    answers: list[AnswerRecord] = field(default_factory=list)
    finished_run: ScenarioRun | None = None
    forget: bool = False
    reviews: list[Review] = field(default_factory=list)
    """Answers to grade into revision cards once the commit is on disk."""
    settings: LearnerSettings | None = None
    """Settings to store once the commit (which stores the learner) is on disk."""
    revised: tuple[str, ...] | None = None
    """A /revise session ended with these cards: its summary follows their new schedule."""


class _LearnerLocks:
    """One lock per learner, dropped when nobody holds or waits for it."""

    def __init__(self) -> None:
        self._locks: dict[int, asyncio.Lock] = {}
        self._users: dict[int, int] = {}

    @asynccontextmanager
    async def hold(self, learner_id: int) -> AsyncIterator[None]:
        lock = self._locks.setdefault(learner_id, asyncio.Lock())
        self._users[learner_id] = self._users.get(learner_id, 0) + 1
        try:
            async with lock:
                yield
        finally:
            self._users[learner_id] -= 1
            if self._users[learner_id] == 0:
                del self._users[learner_id]
                del self._locks[learner_id]

    def __len__(self) -> int:
        return len(self._locks)


class Coach:
    """The engine. Build once; share between all learners and transports."""

    def __init__(
        self,
        kb: KnowledgeBase,
        scenarios: Mapping[str, ScenarioContent],
        store: ProgressStore,
        clock: Callable[[], datetime] = utc_now,
        *,
        appeals: Appeals | None = None,
        revision: Revision | None = None,
    ) -> None:
        """`appeals`: where "I think this is right" goes; without it the button is not shown.
        `revision` keeps answers as spaced-revision cards; without it there is no /revise."""
        self.kb = kb
        self.scenarios = dict(scenarios)
        self.machines: dict[str, ScenarioMachine] = compile_all(self.scenarios)
        self.store = store
        self.clock = clock
        self.appeals = appeals
        self.revision = revision
        self._locks = _LearnerLocks()

    @property
    def learners_in_flight(self) -> int:
        """Learners whose input is being handled right now."""
        return len(self._locks)

    async def handle(self, learner: LearnerProfile, inp: Input) -> list[Reply]:
        """Handle one input; the replies come back after its effects are committed."""
        async with self._locks.hold(learner.learner_id):
            stored = await self.store.load_session(learner.learner_id)
            session = stored or SessionSnapshot(
                learner_id=learner.learner_id, updated_at=self.clock()
            )
            session, notice = self._still_valid(session)
            withdrawn = session.offered is not None and not _answers_offer(session, inp)
            if withdrawn:  # a confirmation works only as the very next input
                session = session.model_copy(update={"offered": None, "reason_for": None})
            outcome = await self._dispatch(session, inp)
            if notice is not None:
                outcome.replies.insert(0, notice)
            if notice is not None or withdrawn:
                outcome.session = outcome.session or session
            self._remember_list(session, outcome)
            if outcome.forget:
                await self.store.forget_learner(learner.learner_id)
                if self.appeals is not None:
                    await self.appeals.forget(learner.learner_id)
                if self.revision is not None:
                    await self.revision.store.forget(learner.learner_id)
                return outcome.replies
            # The cards the answers grade are stored in the answers' own commit.
            cards, card_log = (
                ([], []) if self.revision is None else await self.revision.grade(outcome.reviews)
            )
            new_session = None
            if outcome.session is not None:
                new_session = outcome.session.model_copy(
                    update={"version": session.version + 1, "updated_at": self.clock()}
                )
            applied = await self.store.apply(
                Commit(
                    learner=learner,
                    session=new_session,
                    answers=tuple(outcome.answers),
                    finished_run=outcome.finished_run,
                    update_key=inp.update_key,
                    by_learner=inp.kind not in {"push", "push_undelivered"},
                    replies=tuple(outcome.replies) if inp.update_key is not None else (),
                    cards=tuple(cards),
                    card_log=tuple(card_log),
                    stored_update=inp.stored_update,
                )
            )
            # A redelivered update was handled before: its replies were already sent.
            if not applied:
                return []
            await self._after_commit(learner.learner_id, outcome)
            return outcome.replies

    def _remember_list(self, session: SessionSnapshot, outcome: Outcome) -> None:
        """Keep the list or menu the replies end with (or forget the one shown before), so a
        number typed next picks from what the learner sees. An input with no reply (a vote
        retracted, a push withdrawn) leaves the screen, and so the list, as it was."""
        if outcome.revised is not None:
            # The revision summary (a main menu) is added after the commit.
            resume = outcome.session is not None and outcome.session.scenario_id is not None
            last = render.main_menu(resume=resume)
        elif outcome.replies:
            last = outcome.replies[-1]
        else:
            return
        listed = listed_in(last)
        current = outcome.session or session
        if listed != current.listed:
            outcome.session = current.model_copy(update={"listed": listed})

    async def _after_commit(self, learner_id: int, outcome: Outcome) -> None:
        """Settings follow the commit that stored the learner they belong to (the revision
        cards were stored in it); then a finished /revise session's summary."""
        if self.revision is None:
            return
        if outcome.settings is not None:
            await self.revision.store.save_settings(outcome.settings)
        if outcome.revised is not None:
            resume = outcome.session is not None and outcome.session.scenario_id is not None
            outcome.replies.append(
                await self._revision_summary(learner_id, outcome.revised, resume)
            )

    def _still_valid(self, session: SessionSnapshot) -> tuple[SessionSnapshot, Reply | None]:
        """A session whose scenario or step no longer exists (content changed) is reset."""
        if session.scenario_id is None:
            return session, None
        content = self.scenarios.get(session.scenario_id)
        if content is not None and session.state in content.questions:
            return session, None
        notice = Reply(
            text="That scenario has changed since you started it, so it has been closed."
            " Your answers so far are saved – start it again from the menu."
        )
        return session.model_copy(update=_NO_SCENARIO), notice

    # ------------------------------------------------------------------ dispatch

    async def _dispatch(self, session: SessionSnapshot, inp: Input) -> Outcome:
        if inp.kind == "command":
            return await self._command(session, inp.command or "", inp.text)
        if inp.kind == "action":
            action = unpack(inp.action or "")
            if action is None:
                return Outcome([Reply(text="That button is no longer valid. Here's the menu.")])
            return await self._action(session, action)
        if inp.kind == "poll_answer":
            return self._poll_answer(session, inp)
        if inp.kind == "push":
            return self._pushed_quiz(session, inp)
        if inp.kind == "push_undelivered":
            return self._withdraw_push(session, inp)
        if session.offered == "reason":
            return await self._reason(session, inp.text)
        return await self._text(session, inp.text)

    async def _command(self, session: SessionSnapshot, name: str, args: str) -> Outcome:
        if name not in COMMANDS:
            return Outcome([Reply(text=f"I don't know /{name}. Send /help to see what I can do.")])
        active = session.scenario_id is not None
        match name:
            case "start":
                due = await self._due_count(session.learner_id)
                if session.version == 0:  # a new learner: the privacy notice comes first
                    welcome = Reply(text=render.WELCOME)
                else:
                    welcome = Reply(text=render.welcome_back(self._paused_title(session), due))
                # /start (also the cohort join link) offers the appeal button again: the
                # learner may have a tutor now.
                return Outcome(
                    [welcome, render.main_menu(resume=self._resume_label(session), due=due)],
                    session.model_copy(update={"paused": active, "appeals_off": False})
                    if active or session.appeals_off
                    else None,
                )
            case "menu":
                due = await self._due_count(session.learner_id)
                paused = session.model_copy(update={"paused": True}) if active else None
                menu = render.main_menu(resume=self._resume_label(session), due=due)
                return Outcome([menu], paused)
            case "help":
                return Outcome([Reply(text=render.HELP)])
            case "privacy":
                return Outcome([Reply(text=render.PRIVACY)])
            case "resume":
                return self._resume(session)
            case "cancel":
                return self._cancel(session, confirmed=False)
            case "hint":
                return self._hint(session)
            case "skip":
                return await self._skip(session)
            case "progress":
                return await self._progress(session.learner_id)
            case "law":
                return Outcome([self._law(args)])
            case "quiz":
                return Outcome([render.quiz_list(self.kb.quizzes.values())])
            case "scenarios":
                return await self._scenario_list(session.learner_id)
            case "mydata":
                return await self._my_data(session.learner_id)
            case "revise":
                return await self._revise(session)
            case "settings":
                return await self._settings(session.learner_id, args)
            case _:  # "forget": its buttons work once, and only as the next input
                ask_seq = session.ask_seq + 1
                offer = {"ask_seq": ask_seq, "offered": "forget"}
                return Outcome([render.forget_confirm(ask_seq)], session.model_copy(update=offer))

    async def _action(self, session: SessionSnapshot, action: Action) -> Outcome:
        if isinstance(action, Menu):
            return await self._menu(session, action.target)
        if isinstance(action, StartScenario):
            return await self._start_scenario(session, action.scenario)
        if isinstance(action, Choose):
            return await self._choose(session, action)
        if isinstance(action, StartQuiz | RestartQuiz):
            return self._start_quiz(session, action.quiz, restart=isinstance(action, RestartQuiz))
        if isinstance(action, Appeal):
            return await self._appeal(session, action.ask)
        if isinstance(action, LookBack):
            return await self._look_back(session, action)
        if isinstance(action, LawTopic):
            if action.topic not in {e.topic for e in self.kb.entries.values()}:
                return Outcome([render.law_topics(self.kb)])
            return Outcome([render.topic_entries(self.kb, action.topic)])
        if isinstance(action, StopScenario):
            if session.offered != "cancel" or action.ask != session.ask_seq:
                return Outcome([Reply(text="That button has expired – nothing was stopped.")])
            if action.confirm == "yes":
                return self._cancel(session, confirmed=True)
            return self._resume(session.model_copy(update={"offered": None}))
        if isinstance(action, Setting):
            words = action.value
            if action.key == "remind" and action.value != "off":
                words = f"{action.value[:2]}:{action.value[2:]}"
            elif action.key == "quiet" and action.value != "none":
                words = " ".join(DAY_NAMES[int(day)] for day in action.value)
            return await self._settings(session.learner_id, f"{action.key} {words}")
        assert isinstance(action, Forget)
        if session.offered != "forget" or action.ask != session.ask_seq:
            return Outcome(
                [Reply(text="That button has expired – nothing was erased. Send /forget again.")]
            )
        if action.confirm == "yes":
            done = "🗑 Done: your answers, progress and profile have been erased."
            return Outcome(
                [render.main_menu(f"{done}\n\nWhat would you like to do?")], forget=True
            )
        kept = session.model_copy(update={"offered": None})
        return Outcome([render.main_menu("Nothing was erased. What would you like to do?")], kept)

    async def _menu(self, session: SessionSnapshot, target: str) -> Outcome:
        match target:
            case "main":
                return await self._command(session, "menu", "")
            case "scenarios":
                return await self._scenario_list(session.learner_id)
            case "quizzes":
                return Outcome([render.quiz_list(self.kb.quizzes.values())])
            case "law":
                return Outcome([render.law_topics(self.kb)])
            case "progress":
                return await self._progress(session.learner_id)
            case "help":
                return Outcome([Reply(text=render.HELP)])
            case "revise":
                return await self._revise(session)
            case _:  # "resume"
                return self._resume(session)

    # ------------------------------------------------------------------ scenarios

    async def _start_scenario(self, session: SessionSnapshot, scenario_id: str) -> Outcome:
        content = self.scenarios.get(scenario_id)
        if content is None:
            return Outcome(
                [
                    Reply(text="That scenario is not available."),
                    render.scenario_list(self.scenarios),
                ]
            )
        scenario = content.scenario
        # Replays rotate through the case's variants (e.g. bought 12, then 45 days ago).
        runs = await self.store.finished_runs(session.learner_id)
        facts = scenario.facts_for(sum(1 for run in runs if run.scenario_id == scenario_id))
        ask_seq = session.ask_seq + 1
        step = scenario.step(scenario.start)
        replies = []
        if session.scenario_id is not None:
            replies.append(Reply(text="(Your previous scenario was left unfinished.)"))
        replies += [
            Reply(text=render.scenario_intro(scenario, facts)),
            render.step_message(content, step, facts, ask_seq),
        ]
        new = session.model_copy(
            update={
                "scenario_id": scenario_id,
                "state": scenario.start,
                "attempts": 0,
                "results": (),
                "paused": False,
                "quiz": None,
                "facts": tuple(sorted(facts.items())),
                "ask_seq": ask_seq,
            }
        )
        return Outcome(replies, new)

    def _current_question(self, session: SessionSnapshot) -> AnyQuestion | None:
        if session.scenario_id is not None and not session.paused:
            content = self.scenarios.get(session.scenario_id)
            if content is not None and session.state in content.questions:
                return content.question_for(session.state)
        if session.quiz is not None and session.quiz.current is not None:
            asked = self._asked(session.quiz.current)
            return asked[0] if asked is not None else None
        return None

    def _asked(self, question_id: str) -> tuple[AnyQuestion, CaseContext | None] | None:
        """A quiz question or revision card by its askable id (a bank question, or a scenario
        step in its first variant), with the case a step is marked against."""
        try:
            askable = find_askable(self.kb, self.scenarios, question_id)
        except UnknownQuestionError:
            return None
        return askable.question, askable.case

    async def _fire(
        self,
        session: SessionSnapshot,
        trigger: str,
        answer: str,
        choice: int | None,
        pressed: bool = True,
    ) -> Outcome:
        """Fire a trigger on the learner's scenario; `choice` is the option picked, by a button
        (`pressed`: the asking message is edited into the verdict) or typed."""
        assert session.scenario_id is not None
        content = self.scenarios[session.scenario_id]
        machine = self.machines[session.scenario_id]
        turn = Turn(
            scenario=content,
            facts=dict(session.facts),
            attempts=session.attempts,
            results=list(session.results),
            answer=answer,
            choice=choice,
            typed_choice=choice is not None and not pressed,
        )
        before = session.state
        new_state = await machine.fire(turn, before, trigger)
        now = self.clock()
        answers = [
            AnswerRecord(
                learner_id=session.learner_id,
                question_id=m.verdict.question_id,
                answer=m.answer,
                outcome=m.verdict.outcome,
                score=m.verdict.score,
                criteria=content.question_for(m.step).criteria,
                topic=content.question_for(m.step).topic,
                scenario_id=content.scenario.id,
                step=m.step,
                source="scenario",
                created_at=now,
                review=m.verdict.review,
                unrecognised=m.verdict.unrecognised,
                ask_seq=session.ask_seq,
            )
            for m in turn.marked
        ]
        hinted = session.hinted_at == session.ask_seq
        reviews = [
            Review(
                learner_id=session.learner_id,
                card_id=step_id(content.scenario.id, result.step),
                topic=content.question_for(result.step).topic,
                grade=grade_for(result.outcome, result.attempts, hinted and index == 0),
                source="scenario",
                at=now,
            )
            for index, result in enumerate(turn.results[len(session.results) :])
        ]
        ask_seq = session.ask_seq + 1
        replies = self._render_turn(content, turn, choice if pressed else None, before, ask_seq)
        if turn.marked:
            last = turn.marked[-1]
            replies = self._offer_appeal(
                session, content.question_for(last.step), last.verdict, replies
            )
        if new_state == DEBRIEF:
            evidenced = self._evidenced(content, turn)
            replies.append(render.debrief(content, turn.results, self.kb, evidenced))
            replies.append(render.main_menu(await self._what_next(session.learner_id)))
            run = ScenarioRun(
                learner_id=session.learner_id,
                scenario_id=content.scenario.id,
                score=render.run_score(turn.results),
                results=tuple(turn.results),
                finished_at=now,
            )
            idle = session.model_copy(update={**_NO_SCENARIO, "ask_seq": ask_seq})
            return Outcome(replies, idle, answers, run, reviews=reviews)
        new = session.model_copy(
            update={
                "state": new_state,
                "attempts": turn.attempts,
                "results": tuple(turn.results),
                "ask_seq": ask_seq,
            }
        )
        return Outcome(replies, new, answers, reviews=reviews)

    def _render_turn(
        self,
        content: ScenarioContent,
        turn: Turn,
        choice: int | None,
        before: str,
        ask_seq: int,
    ) -> list[Reply]:
        replies: list[Reply] = []
        if choice is not None and turn.verdict is not None:
            asked = render.step_message(
                content, content.scenario.step(before), turn.facts, ask_seq
            )
            replies.append(
                render.echo_choice(asked, content.question_for(before), choice, turn.verdict)
            )
        for event in turn.events:
            if event.kind == "retry":
                assert event.verdict is not None
                replies.append(
                    render.retry_message(
                        content.question_for(event.step), event.verdict, turn.attempts, ask_seq
                    )
                )
            elif event.kind in {"correct", "flagged"}:
                assert event.verdict is not None
                replies.append(Reply(text=render.verdict_text(event.verdict)))
            elif event.kind in {"revealed", "skipped"}:
                replies.append(
                    render.reveal_message(
                        content.question_for(event.step), event.verdict, event.kind == "skipped"
                    )
                )
            elif event.kind == "step":
                step = content.scenario.step(event.step)
                asked = render.step_message(content, step, turn.facts, ask_seq)
                # A step entered after another was answered: "◀ Back" can show that one.
                replies.append(render.with_back_button(asked, ask_seq) if turn.results else asked)
        return replies

    def _evidenced(self, content: ScenarioContent, turn: Turn) -> list[str]:
        codes: set[str] = set()
        for result in turn.results:
            if result.outcome == "correct":
                codes.update(content.question_for(result.step).criteria)
        if render.run_score(turn.results) >= SCENARIO_EVIDENCE_SCORE:
            codes.update(content.scenario.criteria)
        return sorted(codes)

    def _resume(self, session: SessionSnapshot) -> Outcome:
        if session.scenario_id is not None and session.scenario_id in self.scenarios:
            content = self.scenarios[session.scenario_id]
            step = content.scenario.step(session.state)
            ask_seq = session.ask_seq + 1
            asked = render.step_message(content, step, dict(session.facts), ask_seq)
            if session.attempts == 0 and session.results:
                asked = render.with_back_button(asked, ask_seq)
            return Outcome(
                [Reply(text=f"▶️ Back to “{content.scenario.title}”."), asked],
                session.model_copy(update={"paused": False, "ask_seq": ask_seq}),
            )
        if session.quiz is not None and session.quiz.current is not None:
            return self._ask_quiz_question(session, session.quiz)
        return Outcome([render.main_menu("There's nothing to resume. What would you like to do?")])

    async def _look_back(self, session: SessionSnapshot, action: LookBack) -> Outcome:
        """A step answered earlier in this run, along the path it took ("◀ Back" at a
        scenario step not yet tried), or the current step again ("▶ Continue"). Read-only: the
        session and the answers stay as they were, so what is typed next answers the current
        step. Stale, paused or forged presses get a word and change nothing."""
        content = self.scenarios.get(session.scenario_id or "")
        if content is not None and session.paused:
            note = "Your scenario is paused – tap Resume to carry on."
            return Outcome([render.main_menu(note, self._resume_label(session))])
        expired = Outcome([Reply(text=render.LOOK_BACK_EXPIRED)])
        if content is None or action.ask != session.ask_seq or session.attempts > 0:
            return expired
        facts = dict(session.facts)
        if action.back == 0 and session.results:
            step = content.scenario.step(session.state)
            return Outcome([render.step_again(content, step, facts, session.ask_seq)])
        answers = await self.store.answers(session.learner_id)
        answered = lookback.answered_step(content, session.results, answers, facts, action.back)
        if answered is None:
            return expired
        total = len(session.results)
        # The first look-back comes as a message of its own (the question it was pressed under
        # stays as it was, buttons and all); going further back, or on, edits the look-back.
        reply = render.look_back(
            content, answered, facts, ask=session.ask_seq, total=total, edit=action.back > 1
        )
        return Outcome([reply])

    def _cancel(self, session: SessionSnapshot, *, confirmed: bool) -> Outcome:
        if session.scenario_id is None and session.quiz is None:
            return Outcome([render.main_menu("There's nothing to cancel.")])
        content = self.scenarios.get(session.scenario_id or "")
        if not confirmed and content is not None and len(session.results) >= NEARLY_DONE:
            # Most of the way through: one slip of /cancel should not throw the run away.
            ask_seq = session.ask_seq + 1
            offer = {"ask_seq": ask_seq, "offered": "cancel"}
            reply = render.cancel_confirm(content.scenario.title, len(session.results), ask_seq)
            return Outcome([reply], session.model_copy(update=offer))
        what = "scenario" if session.scenario_id is not None else "quiz"
        stopped = session.model_copy(update={**_NO_SCENARIO, "quiz": None})
        return Outcome(
            [render.main_menu(f"Stopped the {what}. Your answers so far are saved.")], stopped
        )

    def _hint(self, session: SessionSnapshot) -> Outcome:
        question = self._current_question(session)
        if question is None:
            return Outcome(
                [Reply(text="There's no open question right now. /menu to pick something.")]
            )
        # Remembered: a right answer after a hint is revised sooner (graded Hard, not Good).
        hinted = session.model_copy(update={"hinted_at": session.ask_seq})
        return Outcome([Reply(text=f"💡 Hint: {question.hint}")], hinted)

    async def _skip(self, session: SessionSnapshot) -> Outcome:
        if session.scenario_id is not None and not session.paused:
            return await self._fire(session, "skip_step", "", None)
        if session.quiz is not None and session.quiz.current is not None:
            asked = self._asked(session.quiz.current)
            assert asked is not None
            question = asked[0]
            record = self._quiz_record(session, question, "", "skipped", 0.0)
            replies = [render.reveal_message(question, None, skipped=True)]
            outcome = self._next_quiz_question(
                session, session.quiz, replies, [record], correct=False
            )
            outcome.reviews.insert(0, self._quiz_review(session, question, "skipped"))
            return outcome
        return Outcome([Reply(text="There's nothing to skip. /menu to pick something.")])

    async def _choose(self, session: SessionSnapshot, action: Choose) -> Outcome:
        if action.ask != session.ask_seq:
            return Outcome(
                [
                    Reply(
                        text="That button belongs to an earlier question – answer the latest"
                        " one, or /resume."
                    )
                ]
            )
        if session.scenario_id is not None and not session.paused:
            question = self._current_question(session)
            if not isinstance(question, ChoiceQuestion) or action.option >= len(question.options):
                return Outcome([Reply(text="That option doesn't fit this question.")])
            return await self._fire(
                session, "answer_given", question.options[action.option].text, action.option
            )
        if session.quiz is not None and session.quiz.current is not None:
            question = self._current_question(session)
            if isinstance(question, ChoiceQuestion) and action.option >= len(question.options):
                return Outcome([Reply(text="That option doesn't fit this question.")])
            return self._quiz_answer(session, action.option, str(action.option))
        return Outcome([Reply(text="That question has finished. /menu to start something new.")])

    async def _text(self, session: SessionSnapshot, text: str) -> Outcome:
        confirm = typed_confirmation(text) if session.offered is not None else None
        if confirm is not None and session.offered == "forget":
            return await self._action(session, Forget(confirm=confirm, ask=session.ask_seq))
        if confirm is not None:
            return await self._action(session, StopScenario(confirm=confirm, ask=session.ask_seq))
        answer = text.strip()
        if not answer:
            return Outcome([Reply(text="That message was empty – please type your answer.")])
        if len(text) > MAX_ANSWER_CHARACTERS:
            return Outcome(
                [
                    Reply(
                        text=f"That message is very long ({len(text):,} characters). Please keep"
                        f" answers under {MAX_ANSWER_CHARACTERS:,} characters – nothing was"
                        " changed."
                    )
                ]
            )
        if session.listed:  # a list or menu is the last thing shown: the text picks from it
            return await self._pick(session, answer)
        question = self._current_question(session)
        choice: int | None = None
        if isinstance(question, ChoiceQuestion | OrderQuestion):
            # A typed reply to a choice: read it as the learner meant it, or ask again without
            # using a try ("There is no option E; reply A-D").
            reading = read_choice(question, answer)
            if reading.problem is not None:
                return Outcome(
                    [
                        Reply(
                            text=f"🤔 {reading.problem}",
                            buttons=render.choice_buttons(question, session.ask_seq),
                        )
                    ]
                )
            if isinstance(question, ChoiceQuestion) and question.type == "single":
                choice = reading.picked[0]
        if session.quiz is not None and session.quiz.current is not None:
            return self._quiz_answer(session, answer, answer)
        if session.scenario_id is not None:
            if session.paused:
                return Outcome(
                    [
                        render.main_menu(
                            "Your scenario is paused – tap Resume to carry on.",
                            self._resume_label(session),
                        )
                    ]
                )
            return await self._fire(session, "answer_given", answer, choice, pressed=False)
        return Outcome(
            [render.main_menu("I'm not waiting for an answer right now. What would you like?")]
        )

    async def _pick(self, session: SessionSnapshot, typed: str) -> Outcome:
        """Text typed at a list or menu: a number in range picks that entry (as its button
        would); anything else says what fits and shows the list again, changing nothing."""
        found = _TYPED_NUMBER.fullmatch(typed)
        number = int(found.group(1)) if found is not None else None
        if number is not None and 1 <= number <= len(session.listed):
            action = unpack(session.listed[number - 1])
            if action is not None:
                return await self._action(session, action)
        shown = await self._list_again(session)
        count = sum(len(row) for row in shown.buttons)
        fits = "choose 1" if count == 1 else f"choose 1–{count}"
        said = "That isn't one of the options" if number is None else f"There's no option {number}"
        note = f"{said} here – {fits}, or tap a button."
        paused = self._paused_title(session)
        if paused is not None and shown.buttons[0][0].data == Menu(target="resume").pack():
            note += f"\n⏸ You paused {paused} – 1 (Resume) carries on."
        return Outcome([shown.model_copy(update={"text": f"{note}\n\n{shown.text}"})])

    async def _list_again(self, session: SessionSnapshot) -> Reply:
        """The list or menu last shown, as it stands now (scores and due cards may differ)."""
        actions = [unpack(data) for data in session.listed]
        if any(isinstance(a, StartScenario) for a in actions):
            return (await self._scenario_list(session.learner_id)).replies[0]
        if any(isinstance(a, StartQuiz) for a in actions):
            return render.quiz_list(self.kb.quizzes.values())
        if any(isinstance(a, LawTopic) for a in actions):
            return render.law_topics(self.kb)
        due = await self._due_count(session.learner_id)
        return render.main_menu(resume=self._resume_label(session), due=due)

    # ------------------------------------------------------------------ quizzes

    def _start_quiz(
        self, session: SessionSnapshot, quiz_id: str, *, restart: bool = False
    ) -> Outcome:
        quiz = self.kb.quizzes.get(quiz_id)
        if quiz is None:
            return Outcome(
                [
                    Reply(text="That quiz is not available."),
                    render.quiz_list(self.kb.quizzes.values()),
                ]
            )
        open_quiz = session.quiz
        if (
            not restart
            and open_quiz is not None
            and open_quiz.current is not None
            and open_quiz.quiz_id == quiz_id
        ):
            return Outcome([render.resume_or_restart(quiz, open_quiz.asked + 1)])
        return self._begin_quiz(session, quiz_id, render.quiz_intro(quiz.title, quiz.description))

    def _pushed_quiz(self, session: SessionSnapshot, inp: Input) -> Outcome:
        """A tutor's push: the quiz starts at once; a scenario under way is paused for it."""
        quiz = self.kb.quizzes.get(inp.quiz_id or "")
        if quiz is None or inp.push_id is None:
            return Outcome([])  # the push's quiz left the content: nothing to send
        scenario = None
        if session.scenario_id is not None and session.scenario_id in self.scenarios:
            scenario = self.scenarios[session.scenario_id].scenario.title
        left = None
        if session.quiz is not None and session.quiz.current is not None:
            earlier = self.kb.quizzes.get(session.quiz.quiz_id)
            left = earlier.title if earlier is not None else session.quiz.quiz_id
        waiting = session.quiz
        if waiting is not None and waiting.push_id == inp.push_id and waiting.current is not None:
            # The same push again (its first send was not confirmed): the question waiting is
            # asked again, so an answer to either copy counts once.
            intro = render.pushed_quiz_intro(quiz.title, quiz.description, None)
            return self._ask_quiz_question(session, waiting, f"{intro}\n{render.SENT_AGAIN}")
        intro = render.pushed_quiz_intro(quiz.title, quiz.description, scenario, left)
        return self._begin_quiz(session, quiz.id, intro, push_id=inp.push_id)

    def _withdraw_push(self, session: SessionSnapshot, inp: Input) -> Outcome:
        """Telegram refused the push: the learner never saw its first question, so it must not
        wait for an answer (their next message would be marked against a question unseen)."""
        quiz = session.quiz
        if quiz is None or quiz.push_id != inp.push_id or quiz.asked > 0:
            return Outcome([])
        return Outcome([], session.model_copy(update={"quiz": None}))

    def _begin_quiz(
        self, session: SessionSnapshot, quiz_id: str, intro: str, push_id: int | None = None
    ) -> Outcome:
        quiz = self.kb.quizzes[quiz_id]
        progress = QuizProgress(
            quiz_id=quiz.id,
            remaining=quiz.questions[1:],
            current=quiz.questions[0],
            push_id=push_id,
        )
        started = session.model_copy(
            update={"quiz": progress, "paused": session.scenario_id is not None}
        )
        return self._ask_quiz_question(started, progress, intro)

    def _ask_quiz_question(
        self, session: SessionSnapshot, progress: QuizProgress, intro: str = ""
    ) -> Outcome:
        assert progress.current is not None
        asked = self._asked(progress.current)
        assert asked is not None
        number, total = progress.asked + 1, progress.asked + 1 + len(progress.remaining)
        ask_seq = session.ask_seq + 1
        if progress.revising:
            reply = self._card_question(
                progress.current, asked[0], number, total, ask_seq=ask_seq, intro=intro
            )
        else:
            reply = render.quiz_question(asked[0], number, total, ask_seq, intro)
        return Outcome([reply], session.model_copy(update={"quiz": progress, "ask_seq": ask_seq}))

    def _card_question(
        self,
        card_id: str,
        question: AnyQuestion,
        number: int,
        total: int,
        *,
        ask_seq: int,
        intro: str,
    ) -> Reply:
        """A revision card asked as what it is: a bank question as in a quiz, a scenario step
        with its customer's line and task (in the case's first version)."""
        header = render.card_header(number, total, intro)
        scenario_id, _, step = card_id.partition("/")
        if not step:
            return render.quiz_question(question, number, total, ask_seq, header=header)
        content = self.scenarios[scenario_id]
        facts = content.scenario.facts_for(0)
        asked = render.step_message(content, content.scenario.step(step), facts, ask_seq)
        return Reply(
            text=f"{header} – from “{content.scenario.title}”\n\n{asked.text}",
            buttons=asked.buttons,
        )

    def _quiz_record(
        self,
        session: SessionSnapshot,
        question: AnyQuestion,
        answer: str,
        outcome: str,
        score: float,
        *,
        verdict: Verdict | None = None,
    ) -> AnswerRecord:
        progress = session.quiz
        push_id = progress.push_id if progress is not None else None
        revising = progress is not None and progress.revising
        scenario_id, step = None, None
        if revising and progress is not None and progress.current is not None:
            scenario_id, _, step = progress.current.partition("/")
        return AnswerRecord(
            learner_id=session.learner_id,
            question_id=question.id,
            answer=answer,
            outcome=outcome,  # type: ignore[arg-type]  # one of the Outcome literals
            score=score,
            criteria=question.criteria,
            topic=question.topic,
            scenario_id=scenario_id if step else None,
            step=step or None,
            source="revision" if revising else "quiz" if push_id is None else "push",
            push_id=push_id,
            created_at=self.clock(),
            review=verdict.review if verdict is not None else False,
            unrecognised=verdict.unrecognised if verdict is not None else (),
            ask_seq=session.ask_seq,
        )

    def _quiz_review(
        self, session: SessionSnapshot, question: AnyQuestion, outcome: str
    ) -> Review:
        """The revision grade of a quiz answer (or a revision card's)."""
        progress = session.quiz
        assert progress is not None
        assert progress.current is not None
        source: ReviewSource = (
            "revision" if progress.revising else "quiz" if progress.push_id is None else "push"
        )
        hinted = session.hinted_at == session.ask_seq
        return Review(
            learner_id=session.learner_id,
            card_id=progress.current,
            topic=question.topic,
            grade=grade_for(outcome, 1, hinted),
            source=source,
            at=self.clock(),
        )

    def _quiz_answer(self, session: SessionSnapshot, answer: Answer, shown: str) -> Outcome:
        assert session.quiz is not None
        assert session.quiz.current is not None
        asked = self._asked(session.quiz.current)
        assert asked is not None
        question, case = asked
        verdict = mark(question, answer, case)
        record = self._quiz_record(
            session, question, shown, verdict.outcome, verdict.score, verdict=verdict
        )
        replies = [Reply(text=render.verdict_text(verdict))]
        if verdict.outcome != "correct":
            replies[0] = Reply(text=f"{render.verdict_text(verdict)}\n📖 {question.model_answer}")
        outcome = self._next_quiz_question(
            session, session.quiz, replies, [record], correct=verdict.outcome == "correct"
        )
        outcome.replies = self._offer_appeal(session, question, verdict, outcome.replies)
        outcome.reviews.insert(0, self._quiz_review(session, question, verdict.outcome))
        return outcome

    def _next_quiz_question(
        self,
        session: SessionSnapshot,
        progress: QuizProgress,
        replies: list[Reply],
        records: list[AnswerRecord],
        correct: bool,
    ) -> Outcome:
        missed = progress.missed
        if not correct and progress.current is not None:
            missed = (*missed, progress.current)
        done = progress.model_copy(
            update={
                "asked": progress.asked + 1,
                "correct": progress.correct + int(correct),
                "missed": missed,
            }
        )
        if not done.remaining:
            resume = session.scenario_id is not None
            finished = session.model_copy(update={"quiz": None})
            if progress.revising:
                # The summary needs the cards' new schedule: it is added after the commit.
                return Outcome(replies, finished, records, revised=progress.cards)
            quiz = self.kb.quizzes[progress.quiz_id]
            pushed = progress.push_id is not None
            summary = render.quiz_summary(quiz.title, done.correct, done.asked, pushed)
            summary += render.quiz_to_revise(
                self._entries_of(done.missed), done.asked, cards=self.revision is not None
            )
            return Outcome([*replies, render.main_menu(summary, resume=resume)], finished, records)
        following = done.model_copy(
            update={"current": done.remaining[0], "remaining": done.remaining[1:]}
        )
        outcome = self._ask_quiz_question(session, following)
        outcome.replies[:0] = replies
        outcome.answers.extend(records)
        return outcome

    def _poll_answer(self, session: SessionSnapshot, inp: Input) -> Outcome:
        quiz = session.quiz
        if quiz is None or quiz.current is None or quiz.current != inp.poll_question:
            return Outcome(
                [Reply(text="That poll has already closed – your latest question is waiting.")]
            )
        if not inp.poll_options:
            return Outcome([])  # a retracted vote: nothing to mark
        outcome = self._quiz_answer(
            session, list(inp.poll_options), ",".join(map(str, inp.poll_options))
        )
        # The quiz poll has already shown the learner the right option and its explanation:
        # a verdict message would repeat it, and cost a Bot API call (DESIGN rule 16).
        del outcome.replies[0]
        return outcome

    # ------------------------------------------------------------------ appeals

    def _offer_appeal(
        self,
        session: SessionSnapshot,
        question: AnyQuestion,
        verdict: Verdict,
        replies: list[Reply],
    ) -> list[Reply]:
        """Put "I think this is right" under a typed answer's verdict (partial or incorrect and
        not already flagged for a tutor), on the message the verdict is sent in."""
        if (
            self.appeals is None
            or session.appeals_off
            or isinstance(question, ChoiceQuestion | OrderQuestion)
            or verdict.outcome == "correct"
            or verdict.review
        ):
            return replies
        return render.with_appeal_button(replies, session.ask_seq)

    async def _appeal(self, session: SessionSnapshot, ask: int) -> Outcome:
        if self.appeals is None:
            return Outcome([Reply(text=render.NO_REVIEWER)])
        result = await self.appeals.appeal(session.learner_id, ask)
        if result == "sent":
            offer = {"offered": "reason", "reason_for": ask, "appeals_off": False}
            return Outcome([render.appeal_sent()], session.model_copy(update=offer))
        if result == "no_reviewer":
            return Outcome(
                [Reply(text=render.NO_REVIEWER)], session.model_copy(update={"appeals_off": True})
            )
        if result == "already":
            return Outcome([Reply(text=render.APPEAL_ALREADY)])
        return Outcome([Reply(text=render.APPEAL_UNKNOWN)])

    async def _reason(self, session: SessionSnapshot, text: str) -> Outcome:
        """The learner's one-line reason for the appeal they just sent."""
        done = session.model_copy(update={"offered": None, "reason_for": None})
        reason = " ".join(text.split())[:MAX_REASON_CHARACTERS]
        if not reason or self.appeals is None or session.reason_for is None:
            return Outcome([Reply(text=render.REASON_EMPTY)], done)
        added = await self.appeals.add_reason(session.learner_id, session.reason_for, reason)
        open_question = self._current_question(session) is not None
        return Outcome([render.reason_added(added, open_question)], done)

    # ------------------------------------------------------------------ other commands

    def _law(self, query: str) -> Reply:
        if not query.strip():
            return render.law_topics(self.kb)
        found = self.kb.search.find(query, limit=3)
        if not found:
            return Reply(
                text=f"Nothing found for “{query[:100]}”. Try other words, or /law to browse"
                " topics."
            )
        return Reply(text="\n\n———\n\n".join(render.entry_text(e) for e in found))

    async def _progress(self, learner_id: int) -> Outcome:
        answers = await self.store.answers(learner_id)
        runs = await self.store.finished_runs(learner_id)
        titles = {key: content.scenario.title for key, content in self.scenarios.items()}
        report = render.progress_report(answers, runs, self.kb, titles)
        if self.revision is None or not answers:
            return Outcome([report])
        zone = await self.revision.zone(learner_id)
        days = streak([a.created_at.astimezone(zone).date() for a in answers], self._today(zone))
        due = await self._due_count(learner_id)
        later = await self.revision.next_due(learner_id)
        extra = render.revision_status(days, due, later, zone)
        return Outcome([report.model_copy(update={"text": f"{report.text}\n\n{extra}"})])

    async def _scenario_list(self, learner_id: int) -> Outcome:
        best = render.best_scores(await self.store.finished_runs(learner_id))
        return Outcome([render.scenario_list(self.scenarios, best)])

    def _left_open(self, session: SessionSnapshot) -> tuple[str, str | None] | None:
        """What the learner left unfinished: ("scenario", title), ("revision", None) or
        ("quiz", title, None if the quiz is gone); None for nothing."""
        if session.scenario_id is not None and session.scenario_id in self.scenarios:
            return "scenario", self.scenarios[session.scenario_id].scenario.title
        if session.quiz is not None and session.quiz.current is not None:
            if session.quiz.revising:
                return "revision", None
            quiz = self.kb.quizzes.get(session.quiz.quiz_id)
            return "quiz", quiz.title if quiz is not None else None
        return None

    def _resume_label(self, session: SessionSnapshot) -> str | bool:
        """What the menu's Resume entry names (False: nothing to resume)."""
        match self._left_open(session):
            case ("scenario", title):
                return f"“{title}”"
            case ("revision", _):
                return "revision"
            case ("quiz", title):
                return f"quiz “{title}”" if title else "quiz"
        return False

    def _paused_title(self, session: SessionSnapshot) -> str | None:
        """What a returning learner left unfinished, by its title."""
        match self._left_open(session):
            case ("scenario", title):
                return f"the scenario “{title}”"
            case ("revision", _):
                return "a revision session"
            case ("quiz", title):
                return f"the quiz “{title}”" if title else "a quiz"
        return None

    def _today(self, zone: ZoneInfo) -> date:
        return self.clock().astimezone(zone).date()

    # ------------------------------------------------------------------ revision

    async def _what_next(self, learner_id: int) -> str:
        """After a debrief; after the first, reminders are offered once (they are opt-in)."""
        if self.revision is None or await self.store.finished_runs(learner_id):
            return "What next?"
        if (await self.revision.store.settings(learner_id)).remind_at is not None:
            return "What next?"
        return (
            "What next?\n🔔 Your answers are now revision cards. Want a daily nudge when some"
            " are due? Pick a time in /settings."
        )

    async def _due_count(self, learner_id: int) -> int:
        return 0 if self.revision is None else await self.revision.due_count(learner_id)

    async def _revise(self, session: SessionSnapshot) -> Outcome:
        """Start a /revise session: up to 10 due cards, mixed across topics."""
        if self.revision is None:
            return Outcome([Reply(text="Revision is not switched on here. /menu for the rest.")])
        cards = [
            c.card_id
            for c in await self.revision.due(session.learner_id)
            if self._asked(c.card_id) is not None  # content changed: the card rests
        ]
        if not cards:
            later = await self.revision.next_due(session.learner_id)
            zone = await self.revision.zone(session.learner_id)
            text = render.nothing_due(later, zone)
            return Outcome([render.main_menu(text, resume=session.scenario_id is not None)])
        progress = QuizProgress(
            quiz_id=REVISION, remaining=tuple(cards[1:]), current=cards[0], cards=tuple(cards)
        )
        started = session.model_copy(
            update={"quiz": progress, "paused": session.scenario_id is not None}
        )
        return self._ask_quiz_question(started, progress, render.revision_intro(len(cards)))

    async def _revision_summary(
        self, learner_id: int, card_ids: tuple[str, ...], resume: bool
    ) -> Reply:
        """What a /revise session changed: each card's grade and next date, the next due
        date, and the streak."""
        assert self.revision is not None
        zone = await self.revision.zone(learner_id)
        cards = {c.card_id: c for c in await self.revision.store.cards(learner_id, card_ids)}
        graded = {e.card_id: e.grade for e in await self.revision.store.reviews(learner_id)}
        lines = [
            (self._card_title(card_id), graded.get(card_id, "again"), cards[card_id].due_at)
            for card_id in card_ids
            if card_id in cards
        ]
        answers = await self.store.answers(learner_id)
        days = streak([a.created_at.astimezone(zone).date() for a in answers], self._today(zone))
        later = await self.revision.next_due(learner_id)
        text = render.revision_summary(lines, later, days, zone=zone, today=self._today(zone))
        return render.main_menu(text, resume=resume)

    def _entries_of(self, question_ids: Sequence[str]) -> list[Entry]:
        """The knowledge entries behind some questions, each once, in order."""
        seen: dict[str, Entry] = {}
        for question_id in question_ids:
            asked = self._asked(question_id)
            for entry_id in asked[0].entries if asked is not None else ():
                seen.setdefault(entry_id, self.kb.entries[entry_id])
        return list(seen.values())

    def _card_title(self, card_id: str) -> str:
        scenario_id, _, step = card_id.partition("/")
        if step:
            content = self.scenarios[scenario_id]
            return f"{content.scenario.title}: {render.step_title(content.scenario, step)}"
        asked = self._asked(card_id)
        assert asked is not None
        return self.kb.entries[asked[0].entries[0]].title

    async def _settings(self, learner_id: int, args: str) -> Outcome:
        """/settings shows them; `/settings timezone Europe/Paris`, `/settings reminder 18:00`
        (or off) and `/settings quiet sat sun` (or none) change them."""
        if self.revision is None:
            return Outcome([Reply(text="There are no settings to change here.")])
        stored = await self.revision.store.settings(learner_id)
        words = args.split()
        if not words:
            return Outcome([self._settings_reply(stored)])
        key, values = words[0].lower(), words[1:]
        update: dict[str, object]
        if key in {"timezone", "tz"} and len(values) == 1:
            name = values[0]
            chosen = None if name.lower() in {"default", "centre", "center"} else known_zone(name)
            if chosen is None and name.lower() not in {"default", "centre", "center"}:
                return Outcome([Reply(text=render.unknown_zone(name))])
            update = {"timezone": chosen}
        elif key in {"reminder", "reminders", "remind"} and len(values) == 1:
            at = None if values[0].lower() == "off" else parse_time(values[0])
            if at is None and values[0].lower() != "off":
                return Outcome([Reply(text=render.unknown_time(values[0]))])
            update = {"remind_at": at}
        elif key == "quiet":
            days = parse_days(values)
            if days is None:
                return Outcome([Reply(text=render.QUIET_USAGE)])
            update = {"quiet_days": days}
        else:
            return Outcome([Reply(text=render.SETTINGS_USAGE)])
        # Writing to the bot means they have not blocked it (any more).
        changed = stored.model_copy(update={**update, "blocked_at": None})
        next_at = self._next_reminder(changed, stored.next_reminder_at)
        changed = changed.model_copy(update={"next_reminder_at": next_at})
        return Outcome([self._settings_reply(changed, saved=True)], settings=changed)

    def _next_reminder(
        self, settings: LearnerSettings, pending: datetime | None
    ) -> datetime | None:
        """The next reminder after a change of settings. Never a second one today: once
        today's has gone out, the pending one (`pending`) is on a later day, and the new
        time starts from tomorrow."""
        if self.revision is None or settings.remind_at is None:
            return None
        zone = zone_named(settings.timezone, self.revision.default_zone)
        now = self.clock()
        today = now.astimezone(zone).date()
        after = now
        if pending is not None and pending.astimezone(zone).date() > today:
            tomorrow = datetime.combine(today + timedelta(days=1), time.min, tzinfo=zone)
            after = max(now, tomorrow.astimezone(UTC) - timedelta(seconds=1))
        return next_reminder(after, settings.remind_at, zone, settings.quiet_days)

    def _settings_reply(self, settings: LearnerSettings, saved: bool = False) -> Reply:
        assert self.revision is not None
        zone = zone_named(settings.timezone, self.revision.default_zone)
        return render.settings_reply(settings, zone.key, saved=saved)

    async def reminder(self, learner_id: int) -> Reply | None:
        """The daily reminder for a learner, or None when nothing is due or paused."""
        session = await self.store.load_session(learner_id)
        paused = self._paused_title(session) if session is not None else None
        due = await self._due_count(learner_id)
        if not due and paused is None:
            return None
        return render.reminder(due, paused)

    async def _my_data(self, learner_id: int) -> Outcome:
        data = await self.store.export_learner(learner_id)
        if self.appeals is not None:
            data["reviews"] = await self.appeals.export(learner_id)
        if self.revision is not None:
            data.update(await self.revision.store.export(learner_id))
        content = json.dumps(data, indent=2, ensure_ascii=False, default=str).encode()
        document = Document(
            filename="aftercare-coach-my-data.json",
            content=content,
            caption="Everything Aftercare Coach stores about you.",
        )
        return Outcome([Reply(kind="document", text="📦 Your data", document=document)])
