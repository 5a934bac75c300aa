"""Tutors' quiz pushes and their per-learner deliveries, in the application's database.

A learner's delivery is claimed (`sending`) and committed before the bot sends anything, then
marked `sent` or `failed`. A crash between the two leaves `sending`, which `unconfirmed_again()`
reopens at the next start: a quiz reaches everyone, and only a send in flight at the crash can
arrive twice (the learner's answers to either copy count once).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Collection, Sequence
from datetime import UTC, datetime
from typing import Any

from storage.common import utc_now
from storage.database import Database, Query, Row, Statement
from storage.dialect import Sql
from tutoring.ports import Delivery, Push, PushAnswer, PushStore, Tally

# The records and the port are tutoring's (tutoring/ports.py); re-exported for the bot.
__all__ = [
    "UNCONFIRMED",
    "Delivery",
    "Push",
    "PushAnswer",
    "PushStore",
    "SqlitePushStore",
    "Tally",
]


UNCONFIRMED = "not confirmed: the bot stopped while sending, so it was sent again"


_TALLIES_OF = """
SELECT d.push_id, sum(CASE WHEN d.status = 'sent' THEN 1 ELSE 0 END) AS sent,
       count(*) AS deliveries,
       (SELECT count(DISTINCT a.learner_id) FROM answers a WHERE a.push_id = d.push_id)
           AS answered
FROM deliveries d
WHERE d.push_id IN ({ids})
GROUP BY d.push_id
"""
_TALLIES = Sql(
    sqlite=_TALLIES_OF.format(ids="SELECT value FROM json_each(?)"),
    postgresql=_TALLIES_OF.format(ids="SELECT jsonb_array_elements_text(?::jsonb)::bigint"),
)
_PUSH_COLUMNS = (
    "id, tutor_id, cohort_id, quiz_id, send_at, status, late, note, created_at, started_at,"
    " finished_at"
)
_DELIVERIES = """
SELECT d.push_id, d.learner_id, coalesce(l.display_name, '') AS display_name, l.username,
       d.status, d.attempts, d.message_id, d.poll_id, d.reason
FROM deliveries d LEFT JOIN learners l ON l.id = d.learner_id
WHERE d.push_id = ? ORDER BY d.learner_id
"""
_FIRST_ANSWERS = """
SELECT a.learner_id, a.question_id, a.outcome FROM answers a
WHERE a.id IN (SELECT min(id) FROM answers WHERE push_id = ? GROUP BY learner_id, question_id)
ORDER BY a.id
"""


# A NULL array means every cohort (an admin's view); PostgreSQL must be told its type.
_RECENT = Sql(
    sqlite="(?1 IS NULL OR cohort_id IN (SELECT value FROM json_each(?1)))"
    " ORDER BY status != 'scheduled', send_at DESC, id DESC LIMIT ?2",
    postgresql="(?1::text IS NULL OR cohort_id IN"
    " (SELECT jsonb_array_elements_text(?1::jsonb)::bigint))"
    " ORDER BY status != 'scheduled', send_at DESC, id DESC LIMIT ?2",
)
_REOPEN_OF = (
    "UPDATE deliveries SET status = 'pending', reason = NULL, updated_at = ?"
    " WHERE push_id = ? AND learner_id IN ({ids})"
    " AND status IN ('sent', 'failed')"
    " AND EXISTS (SELECT 1 FROM pushes WHERE id = ? AND status = 'sent')"
)
_REOPEN = Sql(
    sqlite=_REOPEN_OF.format(ids="SELECT value FROM json_each(?)"),
    postgresql=_REOPEN_OF.format(ids="SELECT jsonb_array_elements_text(?::jsonb)::bigint"),
)


class SqlitePushStore:
    """Pushes, deliveries and the answers that came back."""

    def __init__(self, database: Database, clock: Callable[[], datetime] = utc_now) -> None:
        self._database = database
        self._clock = clock

    # --- pushes ---------------------------------------------------------------------------------

    async def create(self, tutor_id: int, cohort_id: int, quiz_id: str, send_at: datetime) -> Push:
        now = self._clock().isoformat()
        written = await self._database.write(
            (
                "INSERT INTO pushes (tutor_id, cohort_id, quiz_id, send_at, status, created_at)"
                " VALUES (?, ?, ?, ?, 'scheduled', ?) RETURNING id",
                (tutor_id, cohort_id, quiz_id, _utc(send_at), now),
            )
        )
        [push] = await self._pushes("id = ?", (written.row_ids[0],))
        return push

    async def get(self, push_id: int) -> Push | None:
        found = await self._pushes("id = ?", (push_id,))
        return found[0] if found else None

    async def recent(self, cohort_ids: Collection[int] | None, limit: int = 10) -> list[Push]:
        """The newest pushes to these cohorts (None: all), scheduled ones first."""
        ids = None if cohort_ids is None else _id_array(cohort_ids)
        return await self._pushes(_RECENT, (ids, limit))

    async def similar_recent(
        self, tutor_id: int, cohort_id: int, quiz_id: str, since: datetime
    ) -> Push | None:
        """A push of the same quiz to the same cohort created since then and not cancelled
        (a double tap on a button)."""
        found = await self._pushes(
            "tutor_id = ? AND cohort_id = ? AND quiz_id = ? AND created_at >= ?"
            " AND status != 'cancelled' ORDER BY id DESC LIMIT 1",
            (tutor_id, cohort_id, quiz_id, _utc(since)),
        )
        return found[0] if found else None

    async def unfinished(self) -> list[Push]:
        """Pushes still to send or in the middle of sending, oldest time first."""
        return await self._pushes("status IN ('scheduled', 'sending') ORDER BY send_at, id", ())

    async def cancel(self, push_id: int) -> bool:
        """Cancel a push that has not started; False if it had started (or was cancelled)."""
        written = await self._database.write(
            (
                "UPDATE pushes SET status = 'cancelled', finished_at = ?"
                " WHERE id = ? AND status = 'scheduled'",
                (self._clock().isoformat(), push_id),
            )
        )
        return written.rowcounts[0] == 1

    async def withdraw(self, push_id: int, note: str) -> bool:
        """Cancel a push the bot may no longer send (scheduled, or being sent), with why."""
        written = await self._database.write(
            (
                "UPDATE pushes SET status = 'cancelled', note = ?, finished_at = ?"
                " WHERE id = ? AND status IN ('scheduled', 'sending')",
                (note, self._clock().isoformat(), push_id),
            )
        )
        return written.rowcounts[0] == 1

    async def begin(self, push_id: int, learner_ids: Sequence[int], late: bool) -> bool:
        """Start sending a scheduled push: one pending delivery per learner, in one transaction.
        False if the push was no longer scheduled (cancelled in the meantime)."""
        now = self._clock().isoformat()
        # The deliveries go in only if this very call moved the push to sending (its
        # started_at is this call's clock reading), in the same savepoint as the move.
        statements: list[Statement] = [
            (
                "UPDATE pushes SET status = 'sending', started_at = ?, late = ?"
                " WHERE id = ? AND status = 'scheduled'",
                (now, int(late), push_id),
            )
        ]
        statements += [
            (
                "INSERT INTO deliveries (push_id, learner_id, status, updated_at)"
                " SELECT ?, ?, 'pending', ? WHERE EXISTS (SELECT 1 FROM pushes"
                " WHERE id = ? AND status = 'sending' AND started_at = ?)"
                " ON CONFLICT DO NOTHING",
                (push_id, learner_id, now, push_id, now),
            )
            for learner_id in learner_ids
        ]
        written = await self._database.write(*statements)
        return written.rowcounts[0] == 1

    async def finish(self, push_id: int) -> None:
        await self._database.write(
            (
                "UPDATE pushes SET status = 'sent', finished_at = ?"
                " WHERE id = ? AND status = 'sending'",
                (self._clock().isoformat(), push_id),
            )
        )

    async def fail(self, push_id: int, note: str) -> None:
        """The whole push cannot be sent (e.g. its quiz left the content)."""
        await self._database.write(
            (
                "UPDATE pushes SET status = 'failed', note = ?, finished_at = ?"
                " WHERE id = ? AND status IN ('scheduled', 'sending')",
                (note, self._clock().isoformat(), push_id),
            )
        )

    async def reopen(self, push_id: int, learner_ids: Collection[int]) -> int:
        """Send a finished push again to these learners (re-send to non-responders).
        Returns how many deliveries were reopened."""
        now = self._clock().isoformat()
        await self._database.write(
            (_REOPEN, (now, push_id, _id_array(learner_ids), push_id)),
            (
                "UPDATE pushes SET status = 'sending', finished_at = NULL WHERE id = ?"
                " AND status = 'sent'"
                " AND EXISTS (SELECT 1 FROM deliveries WHERE push_id = ? AND status = 'pending')",
                (push_id, push_id),
            ),
        )
        return len([d for d in await self.deliveries(push_id) if d.status == "pending"])

    # --- deliveries -----------------------------------------------------------------------------

    async def pending(self, push_id: int) -> list[int]:
        rows = await self._database.fetch(
            "SELECT learner_id FROM deliveries WHERE push_id = ? AND status = 'pending'"
            " ORDER BY learner_id",
            (push_id,),
        )
        return [int(r["learner_id"]) for r in rows]

    async def claim(self, push_id: int, learner_id: int) -> bool:
        """Mark a pending delivery as being sent, durably, before the send; False if it was
        not pending (another run took it)."""
        written = await self._database.write(
            (
                "UPDATE deliveries SET status = 'sending', attempts = attempts + 1,"
                " updated_at = ? WHERE push_id = ? AND learner_id = ? AND status = 'pending'",
                (self._clock().isoformat(), push_id, learner_id),
            )
        )
        return written.rowcounts[0] == 1

    async def mark_sent(
        self, push_id: int, learner_id: int, message_id: int | None, poll_id: str | None
    ) -> None:
        await self._database.write(
            (
                "UPDATE deliveries SET status = 'sent', message_id = ?, poll_id = ?,"
                " reason = NULL, updated_at = ? WHERE push_id = ? AND learner_id = ?",
                (message_id, poll_id, self._clock().isoformat(), push_id, learner_id),
            )
        )

    async def mark_failed(self, push_id: int, learner_id: int, reason: str) -> None:
        await self._database.write(
            (
                "UPDATE deliveries SET status = 'failed', reason = ?, updated_at = ?"
                " WHERE push_id = ? AND learner_id = ?",
                (reason[:200], self._clock().isoformat(), push_id, learner_id),
            )
        )

    async def unconfirmed_again(self, push_id: int) -> int:
        """Deliveries left `sending` by a crash go back to pending, to be sent again (with a
        note): no loss rather than no duplicate. How many."""
        written = await self._database.write(
            (
                "UPDATE deliveries SET status = 'pending', reason = ?, updated_at = ?"
                " WHERE push_id = ? AND status = 'sending'",
                (UNCONFIRMED, self._clock().isoformat(), push_id),
            )
        )
        return written.rowcounts[0]

    async def deliveries(self, push_id: int) -> list[Delivery]:
        rows = await self._database.fetch(_DELIVERIES, (push_id,))
        return [
            Delivery(
                push_id=int(r["push_id"]),
                learner_id=int(r["learner_id"]),
                display_name=str(r["display_name"]),
                username=r["username"],
                status=r["status"],
                attempts=int(r["attempts"]),
                message_id=None if r["message_id"] is None else int(r["message_id"]),
                poll_id=r["poll_id"],
                reason=r["reason"],
            )
            for r in rows
        ]

    async def tallies(self, push_ids: Collection[int]) -> dict[int, Tally]:
        """Per push: deliveries sent, deliveries in all, and learners who answered."""
        rows = await self._database.fetch(_TALLIES, (_id_array(push_ids),))
        return {
            int(r["push_id"]): Tally(
                sent=int(r["sent"]), deliveries=int(r["deliveries"]), answered=int(r["answered"])
            )
            for r in rows
        }

    async def answers(self, push_id: int) -> list[PushAnswer]:
        """Each learner's first answer to each question of the push, in the order given."""
        rows = await self._database.fetch(_FIRST_ANSWERS, (push_id,))
        return [
            PushAnswer(
                learner_id=int(r["learner_id"]),
                question_id=str(r["question_id"]),
                outcome=str(r["outcome"]),
            )
            for r in rows
        ]

    async def _pushes(self, where: Query, parameters: tuple[object, ...]) -> list[Push]:
        # `where` is always a literal of this module; values go in as parameters.
        select = f"SELECT {_PUSH_COLUMNS} FROM pushes WHERE "  # noqa: S608
        sql = (
            select + where
            if isinstance(where, str)
            else Sql(sqlite=select + where.sqlite, postgresql=select + where.postgresql)
        )
        return [_push(row) for row in await self._database.fetch(sql, parameters)]


def _id_array(ids: Collection[int]) -> str:
    return json.dumps(sorted({int(i) for i in ids}))


def _utc(moment: datetime) -> str:
    if moment.tzinfo is None:
        raise ValueError("push times must be timezone-aware")
    return moment.astimezone(UTC).isoformat()


def _optional_time(value: Any) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


def _push(row: Row) -> Push:
    return Push(
        id=int(row["id"]),
        tutor_id=int(row["tutor_id"]),
        cohort_id=int(row["cohort_id"]),
        quiz_id=str(row["quiz_id"]),
        send_at=datetime.fromisoformat(row["send_at"]),
        status=row["status"],
        late=bool(row["late"]),
        note=row["note"],
        created_at=datetime.fromisoformat(row["created_at"]),
        started_at=_optional_time(row["started_at"]),
        finished_at=_optional_time(row["finished_at"]),
    )
