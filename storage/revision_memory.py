"""The in-memory RevisionStore: the fake the engine tests run on, with SQLite's semantics."""

from __future__ import annotations

import asyncio
from collections.abc import Collection, Sequence
from datetime import UTC, datetime
from typing import Any

from flows.ports import Commit
from storage.memory import MemoryProgressStore
from storage.revision import revision_export
from tutoring.revision import DUE_SOON, CardState, LearnerSettings, ReviewEntry, RevisionFacts


class MemoryRevisionStore:
    """RevisionStore in dicts; records are frozen, so sharing them is safe.

    `learners` says who exists (SQLite keeps settings only for a stored learner); by default
    everyone does."""

    def __init__(
        self,
        learners: Collection[int] | None = None,
        *,
        progress: MemoryProgressStore | None = None,
    ) -> None:
        """`progress`: the store whose commits carry cards graded by their answers (as
        SQLite's commit writes them to this store's tables in its transaction)."""
        self._cards: dict[tuple[int, str], CardState] = {}
        self._log: list[ReviewEntry] = []
        self._settings: dict[int, LearnerSettings] = {}
        self._learners = learners
        if progress is not None:
            progress.on_commit.append(self._committed)
            progress.keeps_cards = True

    def _committed(self, commit: Commit, _: datetime) -> None:
        self._keep(commit.cards, commit.card_log)

    def _keep(self, cards: Sequence[CardState], reviews: Sequence[ReviewEntry]) -> None:
        for card in cards:
            self._cards[card.learner_id, card.card_id] = card
        self._log.extend(reviews)

    async def cards(self, learner_id: int, card_ids: Sequence[str] = ()) -> list[CardState]:
        """The learner's cards (only those named, if any are), by card id."""
        await asyncio.sleep(0)
        wanted = set(card_ids)
        found = [
            card
            for (owner, card_id), card in self._cards.items()
            if owner == learner_id and (not wanted or card_id in wanted)
        ]
        return sorted(found, key=lambda c: c.card_id)

    async def due_cards(self, learner_id: int, before: datetime) -> list[CardState]:
        """The learner's cards due before `before`, earliest first."""
        cards = [c for c in await self.cards(learner_id) if c.due_at < before]
        return sorted(cards, key=lambda c: (c.due_at, c.card_id))

    async def due_count(self, learner_id: int, before: datetime) -> int:
        """How many of the learner's cards are due before `before`."""
        return len(await self.due_cards(learner_id, before))

    async def reviews(self, learner_id: int, card_id: str | None = None) -> list[ReviewEntry]:
        """The learner's review log (of one card, if named), oldest first."""
        await asyncio.sleep(0)
        return [
            e
            for e in self._log
            if e.learner_id == learner_id and (card_id is None or e.card_id == card_id)
        ]

    async def save(
        self, cards: Sequence[CardState], reviews: Sequence[ReviewEntry], replace: bool = False
    ) -> None:
        """Store cards and append log entries at once (`replace`: drop their logs first)."""
        await asyncio.sleep(0)
        if replace:
            named = {(c.learner_id, c.card_id) for c in cards}
            self._log = [e for e in self._log if (e.learner_id, e.card_id) not in named]
        self._keep(cards, reviews)

    async def settings(self, learner_id: int) -> LearnerSettings:
        """The learner's settings (defaults if none are stored)."""
        await asyncio.sleep(0)
        return self._settings.get(learner_id) or LearnerSettings(learner_id=learner_id)

    async def save_settings(self, settings: LearnerSettings) -> None:
        """Store a learner's settings (nothing is stored for an unknown learner)."""
        await asyncio.sleep(0)
        if self._learners is None or settings.learner_id in self._learners:
            self._settings[settings.learner_id] = settings

    async def due_reminders(self, now: datetime, limit: int) -> list[LearnerSettings]:
        """Settings of up to `limit` learners whose reminder is due by `now`, earliest first."""
        await asyncio.sleep(0)
        due = [
            s
            for s in self._settings.values()
            if s.next_reminder_at is not None
            and s.next_reminder_at <= now
            and s.blocked_at is None
        ]
        due.sort(key=lambda s: (s.next_reminder_at or now, s.learner_id))
        return due[:limit]

    async def claim_reminder(
        self, learner_id: int, expected: datetime, following: datetime | None
    ) -> bool:
        """Move the next reminder from `expected` to `following` if it still is `expected`."""
        await asyncio.sleep(0)
        stored = self._settings.get(learner_id)
        if stored is None or stored.next_reminder_at != expected:
            return False
        self._settings[learner_id] = stored.model_copy(update={"next_reminder_at": following})
        return True

    async def block_reminders(self, learner_id: int, at: datetime) -> None:
        """The learner blocked the bot: stop their reminders for good."""
        await asyncio.sleep(0)
        stored = self._settings.get(learner_id)
        if stored is not None:
            update = {"blocked_at": at, "next_reminder_at": None}
            self._settings[learner_id] = stored.model_copy(update=update)

    async def facts(self, learner_ids: Sequence[int], now: datetime) -> list[RevisionFacts]:
        """Revision facts of these learners at `now`, in the order given."""
        await asyncio.sleep(0)
        return [self._facts(learner_id, now) for learner_id in learner_ids]

    def _facts(self, learner_id: int, now: datetime) -> RevisionFacts:
        cards = [c for (owner, _), c in self._cards.items() if owner == learner_id]
        log = [e for e in self._log if e.learner_id == learner_id]
        by_day: dict[object, list[datetime]] = {}
        for entry in log:
            by_day.setdefault(entry.reviewed_at.astimezone(UTC).date(), []).append(
                entry.reviewed_at
            )
        stored = self._settings.get(learner_id)
        return RevisionFacts(
            learner_id=learner_id,
            timezone=stored.timezone if stored is not None else None,
            cards=len(cards),
            overdue=sum(1 for c in cards if c.due_at < now),
            due_soon=tuple(sorted(c.due_at for c in cards if now <= c.due_at < now + DUE_SOON)),
            last_revision=max(
                (e.reviewed_at for e in log if e.source == "revision"), default=None
            ),
            review_days=tuple((min(times), max(times)) for _, times in sorted(by_day.items())),
        )

    async def export(self, learner_id: int) -> dict[str, Any]:
        """Cards, log and settings of one learner, JSON-ready (for /mydata)."""
        return revision_export(
            await self.cards(learner_id),
            await self.reviews(learner_id),
            await self.settings(learner_id),
        )

    async def forget(self, learner_id: int) -> None:
        """Erase the learner's cards, log and settings."""
        await asyncio.sleep(0)
        self._cards = {key: c for key, c in self._cards.items() if key[0] != learner_id}
        self._log = [e for e in self._log if e.learner_id != learner_id]
        self._settings.pop(learner_id, None)
