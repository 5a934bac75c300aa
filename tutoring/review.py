"""The tutors' review queue: learners' appeals in, tutors' decisions out.

A learner's "I think this is right" (through the engine's `Appeals` port) and every answer the
marker flagged wait in their tutors' queue. `/review` shows the oldest first; a decision is
stored as the answer's verdict (progress, criteria and evidence follow it; the machine's is
kept), `apply_decision` runs the hooks, and once the tutor has commented (or not) the learner is
told. Every call checks the caller's role and that the learner is one of theirs.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from flows.io import Reply
from flows.loader import ScenarioContent
from flows.ports import AppealResult
from flows.questions import step_id
from knowledge.loader import KnowledgeBase
from knowledge.models import AnyQuestion
from tutoring import render
from tutoring.actions import VERDICT_CODES, Decide, NoComment, ReviewAction, Skip
from tutoring.ports import Decision, ReviewItem, ReviewStore
from tutoring.revision import Revision

# One line is plenty for a comment on one answer.
MAX_COMMENT_CHARACTERS = 500


@dataclass(frozen=True, slots=True)
class Decided:
    """A tutor's decision, just stored: what the hooks receive."""

    item: ReviewItem
    question: AnyQuestion | None
    decision: Decision
    by: int
    at: datetime


DecisionHook = Callable[[Decided], Awaitable[None]]
"""Runs once per stored decision (e.g. to re-grade the learner's revision card)."""


@dataclass(frozen=True, slots=True)
class Scope:
    title: str
    cohort_id: int
    """0: every learner the caller may review."""
    learner_ids: frozenset[int] | None
    """None: everyone (an admin with no cohort named)."""


@dataclass(slots=True)
class Step:
    """What a tutor's action produced: a reply for the tutor (`edit`: in place of the pressed
    message), and a message for the learner (their id and text) once a review is finished."""

    tutor: Reply
    edit: bool = True
    learner: tuple[int, str] | None = None
    extra: list[Reply] = field(default_factory=list)


class ReviewDesk:
    """Appeals (the engine's `Appeals` port) and the tutors' side of the queue."""

    def __init__(
        self,
        store: ReviewStore,
        kb: KnowledgeBase,
        questions: Mapping[str, AnyQuestion],
        clock: Callable[[], datetime],
        hooks: Sequence[DecisionHook] = (),
    ) -> None:
        """`questions`: every question an answer may name (the bank and scenario steps)."""
        self.store = store
        self.kb = kb
        self.questions = dict(questions)
        self.clock = clock
        self.hooks = list(hooks)

    # --- learners (flows.ports.Appeals) ----------------------------------------------------------

    async def appeal(self, learner_id: int, ask_seq: int) -> AppealResult:
        """Send an answer to the learner's tutors, if they have one."""
        if not await self.store.has_reviewer(learner_id):
            return "no_reviewer"
        return await self.store.appeal(learner_id, ask_seq, self.clock())

    async def add_reason(self, learner_id: int, ask_seq: int, reason: str) -> bool:
        """The learner's one-line reason for an appeal they sent."""
        return await self.store.add_reason(learner_id, ask_seq, reason)

    async def export(self, learner_id: int) -> list[dict[str, Any]]:
        """Appeals and decisions on the learner's answers, for /mydata."""
        return [
            item.model_dump(mode="json", exclude={"learner_name"})
            for item in await self.store.items_of(learner_id)
        ]

    async def forget(self, learner_id: int) -> None:
        await self.store.forget(learner_id)

    # --- tutors ----------------------------------------------------------------------------------

    async def scope(self, user_id: int, cohort_word: str | None) -> Scope | str:
        role = await self.store.role_of(user_id)
        if role == "learner":
            return render.NOT_STAFF
        cohorts = await self.store.cohorts_for(user_id)
        if cohort_word:
            word = cohort_word.strip()
            found = [c for c in cohorts if word.upper() == c.join_code or id_matches(c.id, word)]
            found = found or [c for c in cohorts if c.name.lower() == word.lower()]
            if len(found) != 1:
                return f"No cohort “{word[:40]}” that you can see. /cohort list shows yours."
            cohort = found[0]
            return Scope(cohort.name, cohort.id, await self.store.members(cohort.id))
        if role == "admin":
            return Scope("all learners", 0, None)
        learners: set[int] = set()
        for cohort in cohorts:
            learners.update(await self.store.members(cohort.id))
        return Scope("your cohorts", 0, frozenset(learners))

    async def _scope_of(self, user_id: int, cohort_id: int) -> Scope | str:
        """The scope a button carries, checked again (roles and cohorts change)."""
        return await self.scope(user_id, f"#{cohort_id}" if cohort_id else None)

    async def _next(self, scope: Scope, after: ReviewItem | None = None) -> Reply:
        found = await self.store.open_items(scope.learner_ids, after.key if after else None)
        if not found and after is not None:  # skipped to the end: back to the oldest
            found = await self.store.open_items(scope.learner_ids)
        if not found:
            return Reply(text=render.queue_empty(scope.title))
        left = await self.store.open_count(scope.learner_ids)
        item = found[0]
        question = self.questions.get(item.question_id)
        return render.item_reply(item, question, scope.title, left, scope.cohort_id)

    async def queue(self, user_id: int, cohort_word: str | None) -> Reply:
        """/review [COHORT]: the oldest open item."""
        scope = await self.scope(user_id, cohort_word)
        if isinstance(scope, str):
            return Reply(text=scope)
        return await self._next(scope)

    async def open_line(self, user_id: int, cohort_word: str | None) -> str:
        """The queue's size for /progress ("" for someone who has no queue)."""
        scope = await self.scope(user_id, cohort_word)
        if isinstance(scope, str):
            return ""
        return render.open_line(await self.store.open_count(scope.learner_ids))

    async def press(self, user_id: int, action: ReviewAction) -> Step:
        """A button under a queue item: decide, skip, or finish without a comment."""
        scope = await self._scope_of(user_id, action.cohort)
        if isinstance(scope, str):
            return Step(Reply(text=scope))
        if scope.learner_ids is not None and action.learner not in scope.learner_ids:
            return Step(Reply(text="That learner is not in your cohorts any more."))
        item = await self.store.item(action.learner, action.ask)
        if item is None:
            return Step(Reply(text="That answer no longer exists (the learner erased it)."))
        if isinstance(action, Skip):
            return Step(await self._next(scope, after=item))
        if isinstance(action, NoComment):
            return await self.finish(user_id, scope, item, None)
        assert isinstance(action, Decide)
        decision = VERDICT_CODES[action.verdict]
        now = self.clock()
        if not await self.store.decide(item.learner_id, item.ask_seq, decision, user_id, now):
            stored = await self.store.item(item.learner_id, item.ask_seq)
            assert stored is not None
            text = render.already_decided(stored, {})
            return Step(Reply(text=text), extra=[await self._next(scope)])
        decided = await self.store.item(item.learner_id, item.ask_seq)
        assert decided is not None
        question = self.questions.get(item.question_id)
        await self.apply_decision(Decided(decided, question, decision, user_id, now))
        return Step(render.ask_comment(decided, question, scope.cohort_id))

    async def apply_decision(self, decided: Decided) -> None:
        """The hook point: a tutor's decision is stored (and is the answer's verdict now);
        whatever else follows a decision (spaced revision re-grading its card) runs here."""
        for hook in self.hooks:
            await hook(decided)

    async def comment(self, user_id: int, ref: str, text: str) -> Step | None:
        """A tutor's reply to a decided item (`ref`: the item's last line); None if the message
        replied to is no queue item."""
        match = render.REF_RE.search(ref)
        if match is None:
            return None
        learner_id, ask, cohort_id = (int(group) for group in match.groups())
        scope = await self._scope_of(user_id, cohort_id)
        if isinstance(scope, str):
            return Step(Reply(text=scope), edit=False)
        item = await self.store.item(learner_id, ask)
        if item is None or (scope.learner_ids is not None and learner_id not in scope.learner_ids):
            return Step(Reply(text="That answer is no longer in your queue."), edit=False)
        comment = " ".join(text.split())[:MAX_COMMENT_CHARACTERS]
        step = await self.finish(user_id, scope, item, comment or None)
        step.edit = False
        return step

    async def finish(
        self, user_id: int, scope: Scope, item: ReviewItem, comment: str | None
    ) -> Step:
        """Store the comment, tell the learner, and show the next item."""
        if not await self.store.finish(
            item.learner_id, item.ask_seq, user_id, comment, self.clock()
        ):
            return Step(Reply(text="That review is already finished."), edit=False)
        question = self.questions.get(item.question_id)
        decided = await self.store.item(item.learner_id, item.ask_seq)
        assert decided is not None
        notice = render.learner_notice(decided, question, self.kb, comment)
        return Step(await self._next(scope), learner=(item.learner_id, notice))


def id_matches(cohort_id: int, word: str) -> bool:
    """A cohort named by its id with a leading '#' (how buttons carry it)."""
    return word == f"#{cohort_id}"


def regrade_card(revision: Revision, scenarios: Mapping[str, ScenarioContent]) -> DecisionHook:
    """A decision hook: the tutor's verdict re-grades the spaced-revision card the answer was
    graded into (the question's own card, or the card of a scenario step that asks it)."""
    steps_asking: dict[str, list[str]] = {}
    for scenario_id, content in scenarios.items():
        for step, question in content.questions.items():
            steps_asking.setdefault(question.id, []).append(step_id(scenario_id, step))

    async def regrade(decided: Decided) -> None:
        item = decided.item
        steps = steps_asking.get(item.question_id, [])
        candidates = steps if item.source == "scenario" else [item.question_id, *steps]
        await revision.regrade_answer(
            item.learner_id, candidates, item.created_at, decided.decision
        )

    return regrade
