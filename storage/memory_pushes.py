"""The in-memory PushStore: the fake for tests, with the SQLite adapter's exact semantics.

Learners' names and the answers that came back are read from the `MemoryProgressStore` it is
built on; an erasure there drops the learner's deliveries here too.
"""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Callable, Collection, Sequence
from datetime import UTC, datetime

from storage.common import utc_now
from storage.memory import MemoryProgressStore
from storage.pushes import UNCONFIRMED
from tutoring.ports import Delivery, DeliveryStatus, Push, PushAnswer, PushStatus, Tally


def _utc(moment: datetime) -> datetime:
    if moment.tzinfo is None:
        raise ValueError("push times must be timezone-aware")
    return moment.astimezone(UTC)


class MemoryPushStore:
    """PushStore in dicts, over a MemoryProgressStore's learners and answers."""

    def __init__(
        self, progress: MemoryProgressStore, clock: Callable[[], datetime] = utc_now
    ) -> None:
        self._progress = progress
        self._clock = clock
        self._pushes: dict[int, Push] = {}
        self._deliveries: dict[tuple[int, int], Delivery] = {}
        progress.on_forget.append(self._forget)

    # --- pushes ---------------------------------------------------------------------------------

    async def create(self, tutor_id: int, cohort_id: int, quiz_id: str, send_at: datetime) -> Push:
        await asyncio.sleep(0)
        now = self._clock()
        push = Push(
            id=max(self._pushes, default=0) + 1,
            tutor_id=tutor_id,
            cohort_id=cohort_id,
            quiz_id=quiz_id,
            send_at=_utc(send_at),
            status="scheduled",
            late=False,
            note=None,
            created_at=now,
            started_at=None,
            finished_at=None,
        )
        self._pushes[push.id] = push
        return push

    async def get(self, push_id: int) -> Push | None:
        await asyncio.sleep(0)
        return self._pushes.get(push_id)

    async def recent(self, cohort_ids: Collection[int] | None, limit: int = 10) -> list[Push]:
        await asyncio.sleep(0)
        found = [
            p for p in self._pushes.values() if cohort_ids is None or p.cohort_id in cohort_ids
        ]
        found.sort(key=lambda p: (p.send_at, p.id), reverse=True)
        found.sort(key=lambda p: p.status != "scheduled")  # stable: scheduled first
        return found[:limit]

    async def similar_recent(
        self, tutor_id: int, cohort_id: int, quiz_id: str, since: datetime
    ) -> Push | None:
        await asyncio.sleep(0)
        found = [
            p
            for p in self._pushes.values()
            if (p.tutor_id, p.cohort_id, p.quiz_id) == (tutor_id, cohort_id, quiz_id)
            and p.created_at >= _utc(since)
            and p.status != "cancelled"
        ]
        return max(found, key=lambda p: p.id, default=None)

    async def unfinished(self) -> list[Push]:
        await asyncio.sleep(0)
        found = [p for p in self._pushes.values() if p.status in ("scheduled", "sending")]
        return sorted(found, key=lambda p: (p.send_at, p.id))

    async def cancel(self, push_id: int) -> bool:
        return await self._move(push_id, ("scheduled",), "cancelled")

    async def withdraw(self, push_id: int, note: str) -> bool:
        return await self._move(push_id, ("scheduled", "sending"), "cancelled", note=note)

    async def begin(self, push_id: int, learner_ids: Sequence[int], late: bool) -> bool:
        await asyncio.sleep(0)
        now = self._clock()
        push = self._pushes.get(push_id)
        if push is None or push.status != "scheduled":
            return False
        self._pushes[push_id] = dataclasses.replace(
            push, status="sending", started_at=now, late=late
        )
        for learner_id in learner_ids:
            self._deliveries.setdefault(
                (push_id, learner_id), _delivery(push_id, learner_id, "pending")
            )
        return True

    async def finish(self, push_id: int) -> None:
        await self._move(push_id, ("sending",), "sent")

    async def fail(self, push_id: int, note: str) -> None:
        await self._move(push_id, ("scheduled", "sending"), "failed", note=note)

    async def reopen(self, push_id: int, learner_ids: Collection[int]) -> int:
        await asyncio.sleep(0)
        self._clock()  # read as the SQLite adapter reads it, so both clocks stay in step
        push = self._pushes.get(push_id)
        if push is not None and push.status == "sent":
            for learner_id in learner_ids:
                delivery = self._deliveries.get((push_id, learner_id))
                if delivery is not None and delivery.status in ("sent", "failed"):
                    self._set(delivery, status="pending", reason=None)
            if await self.pending(push_id):
                self._pushes[push_id] = dataclasses.replace(
                    push, status="sending", finished_at=None
                )
        return len(await self.pending(push_id))

    # --- deliveries -----------------------------------------------------------------------------

    async def pending(self, push_id: int) -> list[int]:
        await asyncio.sleep(0)
        return sorted(
            learner
            for (push, learner), d in self._deliveries.items()
            if push == push_id and d.status == "pending"
        )

    async def claim(self, push_id: int, learner_id: int) -> bool:
        await asyncio.sleep(0)
        self._clock()
        delivery = self._deliveries.get((push_id, learner_id))
        if delivery is None or delivery.status != "pending":
            return False
        self._set(delivery, status="sending", attempts=delivery.attempts + 1)
        return True

    async def mark_sent(
        self, push_id: int, learner_id: int, message_id: int | None, poll_id: str | None
    ) -> None:
        await asyncio.sleep(0)
        self._clock()
        delivery = self._deliveries.get((push_id, learner_id))
        if delivery is not None:
            self._set(delivery, status="sent", message_id=message_id, poll_id=poll_id, reason=None)

    async def mark_failed(self, push_id: int, learner_id: int, reason: str) -> None:
        await asyncio.sleep(0)
        self._clock()
        delivery = self._deliveries.get((push_id, learner_id))
        if delivery is not None:
            self._set(delivery, status="failed", reason=reason[:200])

    async def unconfirmed_again(self, push_id: int) -> int:
        await asyncio.sleep(0)
        self._clock()
        sending = [
            d
            for (push, _), d in self._deliveries.items()
            if push == push_id and d.status == "sending"
        ]
        for delivery in sending:
            self._set(delivery, status="pending", reason=UNCONFIRMED)
        return len(sending)

    async def deliveries(self, push_id: int) -> list[Delivery]:
        await asyncio.sleep(0)
        found = [d for (push, _), d in self._deliveries.items() if push == push_id]
        return [self._named(d) for d in sorted(found, key=lambda d: d.learner_id)]

    async def tallies(self, push_ids: Collection[int]) -> dict[int, Tally]:
        await asyncio.sleep(0)
        answers = self._progress.answers_in_order()
        tallies: dict[int, Tally] = {}
        for push_id in sorted(set(push_ids)):
            found = [d for (push, _), d in self._deliveries.items() if push == push_id]
            if not found:
                continue
            answered = {a.learner_id for a in answers if a.push_id == push_id}
            sent = sum(d.status == "sent" for d in found)
            tallies[push_id] = Tally(sent=sent, deliveries=len(found), answered=len(answered))
        return tallies

    async def answers(self, push_id: int) -> list[PushAnswer]:
        await asyncio.sleep(0)
        first: dict[tuple[int, str], PushAnswer] = {}
        for answer in self._progress.answers_in_order():
            if answer.push_id == push_id:
                first.setdefault(
                    (answer.learner_id, answer.question_id),
                    PushAnswer(answer.learner_id, answer.question_id, answer.outcome),
                )
        return list(first.values())

    # --- helpers --------------------------------------------------------------------------------

    async def _move(
        self,
        push_id: int,
        sources: tuple[PushStatus, ...],
        target: PushStatus,
        note: str | None = None,
    ) -> bool:
        await asyncio.sleep(0)
        now = self._clock()
        push = self._pushes.get(push_id)
        if push is None or push.status not in sources:
            return False
        self._pushes[push_id] = dataclasses.replace(
            push, status=target, finished_at=now, note=push.note if note is None else note
        )
        return True

    def _set(self, delivery: Delivery, **changes: object) -> None:
        key = (delivery.push_id, delivery.learner_id)
        self._deliveries[key] = dataclasses.replace(delivery, **changes)  # type: ignore[arg-type]

    def _named(self, delivery: Delivery) -> Delivery:
        stored = self._progress.profile_of(delivery.learner_id)
        if stored is None:
            return delivery
        profile, _ = stored
        return dataclasses.replace(
            delivery, display_name=profile.display_name, username=profile.username
        )

    def _forget(self, learner_id: int) -> None:
        self._deliveries = {
            key: d for key, d in self._deliveries.items() if d.learner_id != learner_id
        }


def _delivery(push_id: int, learner_id: int, status: DeliveryStatus) -> Delivery:
    return Delivery(
        push_id=push_id,
        learner_id=learner_id,
        display_name="",
        username=None,
        status=status,
        attempts=0,
        message_id=None,
        poll_id=None,
        reason=None,
    )
