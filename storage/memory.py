"""The in-memory ProgressStore: the fake engine tests run on, with SQLite's exact semantics."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from flows.ports import (
    AnswerRecord,
    Commit,
    LearnerProfile,
    Outcome,
    ScenarioRun,
    SessionSnapshot,
    StaleSessionError,
)
from storage.common import Clock, check_commit, export_document, stale_message, utc_now


@dataclass
class _Learner:
    profile: LearnerProfile
    first_seen: datetime
    last_active: datetime
    session: SessionSnapshot | None = None
    answers: list[AnswerRecord] = field(default_factory=list)
    runs: list[ScenarioRun] = field(default_factory=list)
    update_keys: set[str] = field(default_factory=set)
    answer_ids: list[int] = field(default_factory=list)
    """The commit-order number of each answer (SQLite's answers.id)."""


class MemoryProgressStore:
    """ProgressStore in a dict; records are frozen, so sharing them is safe."""

    def __init__(self, *, clock: Clock = utc_now) -> None:
        self._clock = clock
        self._learners: dict[int, _Learner] = {}
        self._update_keys: dict[str, int] = {}
        self._polls: dict[str, tuple[int, str]] = {}
        self._poll_times: dict[str, datetime] = {}
        self._key_times: dict[str, datetime] = {}
        self._answers_committed = 0
        self.on_commit: list[Callable[[Commit, datetime], None]] = []
        """Called with each applied commit and its time: the memory inbox keeps its replies
        (SQLite writes them to the outbox in the commit's transaction)."""
        self.on_repeat: list[Callable[[Commit, datetime], None]] = []
        """Called with each commit not applied because its update key was seen before: the
        memory inbox marks its stored update handled all the same, as SQLite's commit does."""
        self.keeps_cards = False
        """A MemoryRevisionStore follows this store (on_commit) and keeps the commits' cards;
        without one, a commit carrying cards is refused rather than losing them."""
        self.on_forget: list[Callable[[int], None]] = []
        """Called with each erased learner: the other memory stores drop their rows of them
        (SQLite's erasure deletes from their tables in one transaction)."""

    async def load_session(self, learner_id: int) -> SessionSnapshot | None:
        """The learner's stored session, or None for a new learner."""
        await asyncio.sleep(0)
        learner = self._learners.get(learner_id)
        return learner.session if learner else None

    async def apply(self, commit: Commit) -> bool:
        """Write a commit atomically; False if its update key was seen before."""
        check_commit(commit)
        if (commit.cards or commit.card_log) and not self.keeps_cards:
            raise ValueError("a commit with revision cards needs a MemoryRevisionStore following")
        # Yield once like real I/O would, so engine tests see concurrent interleavings.
        await asyncio.sleep(0)
        learner_id = commit.learner.learner_id
        # The clock is read exactly where the SQLite writer reads it, so exports match.
        now = self._clock()
        if commit.update_key is not None and commit.update_key in self._update_keys:
            for listener in self.on_repeat:
                listener(commit, now)
            return False
        stored = self._learners.get(learner_id)
        if commit.session is not None:
            stored_version = stored.session.version if stored and stored.session else None
            if commit.session.version != (stored_version or 0) + 1:
                raise StaleSessionError(
                    stale_message(learner_id, commit.session.version, stored_version)
                )
        # Every check passed: from here on nothing can fail, so the write is all-or-nothing.
        if stored is None:
            stored = _Learner(profile=commit.learner, first_seen=now, last_active=now)
            self._learners[learner_id] = stored
        if commit.by_learner:
            self._take_username(commit.learner)
            stored.profile = commit.learner
            stored.last_active = now
        if commit.session is not None:
            stored.session = commit.session
        stored.answers.extend(commit.answers)
        for _ in commit.answers:
            self._answers_committed += 1
            stored.answer_ids.append(self._answers_committed)
        if commit.finished_run is not None:
            stored.runs.append(commit.finished_run)
        if commit.update_key is not None:
            stored.update_keys.add(commit.update_key)
            self._update_keys[commit.update_key] = learner_id
            self._key_times[commit.update_key] = now
        for listener in self.on_commit:
            listener(commit, now)
        return True

    async def answers(self, learner_id: int) -> list[AnswerRecord]:
        """The learner's answers in the order they were committed."""
        await asyncio.sleep(0)
        learner = self._learners.get(learner_id)
        return list(learner.answers) if learner else []

    async def finished_runs(self, learner_id: int) -> list[ScenarioRun]:
        """The learner's finished scenarios in the order they were committed."""
        await asyncio.sleep(0)
        learner = self._learners.get(learner_id)
        return list(learner.runs) if learner else []

    async def export_learner(self, learner_id: int) -> dict[str, Any]:
        """Everything stored about a learner, as JSON-ready data."""
        await asyncio.sleep(0)
        learner = self._learners.get(learner_id)
        polls = [
            {
                "poll_id": poll_id,
                "question_id": question_id,
                "sent_at": self._poll_times[poll_id].isoformat(),
            }
            for poll_id, (owner, question_id) in self._polls.items()
            if owner == learner_id
        ]
        keys = [key for key, owner in self._update_keys.items() if owner == learner_id]
        if learner is None:
            return export_document(polls=polls, update_keys=keys)
        return export_document(
            profile=learner.profile,
            first_seen=learner.first_seen,
            last_active=learner.last_active,
            session=learner.session,
            answers=learner.answers,
            runs=learner.runs,
            polls=polls,
            update_keys=keys,
        )

    async def forget_learner(self, learner_id: int) -> None:
        """Erase the learner, their session, answers, runs, update keys and polls."""
        await asyncio.sleep(0)
        learner = self._learners.pop(learner_id, None)
        if learner is not None:
            for key in learner.update_keys:
                self._update_keys.pop(key, None)
                self._key_times.pop(key, None)
        for listener in self.on_forget:
            listener(learner_id)
        self._polls = {
            poll_id: sent for poll_id, sent in self._polls.items() if sent[0] != learner_id
        }
        self._poll_times = {p: at for p, at in self._poll_times.items() if p in self._polls}

    async def remember_poll(self, poll_id: str, learner_id: int, question_id: str) -> None:
        """Record who was sent a quiz poll, so its answer can be routed back to them."""
        await asyncio.sleep(0)
        self._polls[poll_id] = (learner_id, question_id)
        self._poll_times[poll_id] = self._clock()

    async def poll_recipient(self, poll_id: str) -> tuple[int, str] | None:
        """The learner and question a poll was sent for, or None for an unknown poll."""
        await asyncio.sleep(0)
        return self._polls.get(poll_id)

    # --- for the in-memory review store (storage.memory_reviews) -------------------------------

    def all_answers(self) -> list[AnswerRecord]:
        """Every learner's answers, each learner's in the order they were committed."""
        return [a for learner in self._learners.values() for a in learner.answers]

    def learner_name(self, learner_id: int) -> str:
        learner = self._learners.get(learner_id)
        return learner.profile.display_name if learner else ""

    def set_verdict(self, learner_id: int, ask_seq: int, outcome: Outcome, score: float) -> None:
        """Give the learner's newest answer to question `ask_seq` a tutor's verdict."""
        learner = self._learners.get(learner_id)
        if learner is None:
            return
        for index in reversed(range(len(learner.answers))):
            if learner.answers[index].ask_seq == ask_seq:
                changed = {"outcome": outcome, "score": score}
                learner.answers[index] = learner.answers[index].model_copy(update=changed)
                return

    # --- for the other memory stores (staff, pushes, inbox) -------------------------------------

    def record_profile(self, profile: LearnerProfile, now: datetime) -> None:
        """Store who a learner is, as their own input would (SQLite: profile_statements in
        storage/learner_writes.py)."""
        self._take_username(profile)
        stored = self._learners.get(profile.learner_id)
        if stored is None:
            self._learners[profile.learner_id] = _Learner(profile, first_seen=now, last_active=now)
            return
        stored.profile = profile
        stored.last_active = now

    def profile_of(self, learner_id: int) -> tuple[LearnerProfile, datetime] | None:
        """The learner's stored profile and when they were last active; None if unknown."""
        learner = self._learners.get(learner_id)
        return (learner.profile, learner.last_active) if learner else None

    def all_learners(self) -> list[tuple[LearnerProfile, datetime]]:
        """Every stored learner's profile and when they were last active, by id."""
        return [
            (learner.profile, learner.last_active) for _, learner in sorted(self._learners.items())
        ]

    def scenarios_finished(self, learner_id: int) -> set[str]:
        """The scenarios the learner finished at least once."""
        learner = self._learners.get(learner_id)
        return {run.scenario_id for run in learner.runs} if learner else set()

    def learners_named(self, username: str) -> list[tuple[LearnerProfile, datetime]]:
        """Learners stored with this @username (any case), by id, with when last active."""
        wanted = username.casefold()
        return [
            (learner.profile, learner.last_active)
            for learner_id, learner in sorted(self._learners.items())
            if learner.profile.username and learner.profile.username.casefold() == wanted
        ]

    def answers_in_order(self) -> list[AnswerRecord]:
        """Every learner's answers in the order they were committed (SQLite's answers.id)."""
        numbered = [
            (number, answer)
            for learner in self._learners.values()
            for number, answer in zip(learner.answer_ids, learner.answers, strict=True)
        ]
        return [answer for _, answer in sorted(numbered, key=lambda pair: pair[0])]

    def prune_update_keys(self, before: datetime) -> int:
        """Drop repeat keys applied before `before`; how many went."""
        old = [key for key, at in self._key_times.items() if at < before]
        for key in old:
            owner = self._update_keys.pop(key)
            self._key_times.pop(key)
            learner = self._learners.get(owner)
            if learner is not None:
                learner.update_keys.discard(key)
        return len(old)

    def _take_username(self, profile: LearnerProfile) -> None:
        # Usernames are unique at any moment: whoever writes with one now holds it.
        if not profile.username:
            return
        taken = profile.username.casefold()
        for learner_id, learner in self._learners.items():
            name = learner.profile.username
            if learner_id != profile.learner_id and name and name.casefold() == taken:
                learner.profile = learner.profile.model_copy(update={"username": None})
