"""Revision cards, their review log and learners' settings, in the same SQLite file.

Written through the database's group commit, so a card and its log entry land together.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from storage.database import Database
from storage.dialect import Sql
from tutoring.revision import DUE_SOON, CardState, LearnerSettings, ReviewEntry, RevisionFacts

_CARD_COLUMNS = (
    "learner_id, card_id, topic, state, stability, difficulty, due_at, last_review_at,"
    " reviews, lapses"
)
_LOG_COLUMNS = "learner_id, card_id, grade, source, reviewed_at, due_after"
_UPSERT_CARD = f"""
INSERT INTO revision_cards ({_CARD_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
ON CONFLICT (learner_id, card_id) DO UPDATE SET
    topic = excluded.topic, state = excluded.state, stability = excluded.stability,
    difficulty = excluded.difficulty, due_at = excluded.due_at,
    last_review_at = excluded.last_review_at, reviews = excluded.reviews,
    lapses = excluded.lapses
"""  # noqa: S608  # only literals of this module are interpolated
_INSERT_LOG = f"INSERT INTO revision_log ({_LOG_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?)"  # noqa: S608
# Settings belong to a learner who has written to the bot: the row needs theirs to exist.
_SETTINGS_COLUMNS = "learner_id, timezone, remind_at, quiet_days, next_reminder_at, blocked_at"
_UPSERT_SETTINGS = """
INSERT INTO learner_settings
    (learner_id, timezone, remind_at, quiet_days, next_reminder_at, blocked_at)
SELECT id, ?, ?, ?, ?, ? FROM learners WHERE id = ?
ON CONFLICT (learner_id) DO UPDATE SET
    timezone = excluded.timezone, remind_at = excluded.remind_at,
    quiet_days = excluded.quiet_days, next_reminder_at = excluded.next_reminder_at,
    blocked_at = excluded.blocked_at
"""
# Each learner of a cohort in one statement; stored times are UTC text, so the first ten
# characters are the UTC day (see `RevisionFacts.review_days`).
_FACTS = Sql(
    sqlite="""
SELECT
    ids.value AS learner_id,
    s.timezone AS timezone,
    (SELECT count(*) FROM revision_cards c WHERE c.learner_id = ids.value) AS cards,
    (SELECT count(*) FROM revision_cards c WHERE c.learner_id = ids.value AND c.due_at < ?)
        AS overdue,
    (SELECT json_group_array(c.due_at) FROM revision_cards c
        WHERE c.learner_id = ids.value AND c.due_at >= ? AND c.due_at < ?) AS due_soon,
    (SELECT max(g.reviewed_at) FROM revision_log g
        WHERE g.learner_id = ids.value AND g.source = 'revision') AS last_revision,
    (SELECT json_group_array(json_array(d.first, d.last)) FROM (
        SELECT min(g.reviewed_at) AS first, max(g.reviewed_at) AS last FROM revision_log g
        WHERE g.learner_id = ids.value GROUP BY substr(g.reviewed_at, 1, 10)) AS d)
        AS review_days
FROM json_each(?) AS ids
LEFT JOIN learner_settings s ON s.learner_id = ids.value
ORDER BY ids.key
""",
    # json_agg is NULL over no rows, where SQLite's json_group_array is "[]".
    postgresql="""
SELECT
    ids.value::bigint AS learner_id,
    s.timezone AS timezone,
    (SELECT count(*) FROM revision_cards c WHERE c.learner_id = ids.value::bigint) AS cards,
    (SELECT count(*) FROM revision_cards c WHERE c.learner_id = ids.value::bigint
        AND c.due_at < ?) AS overdue,
    (SELECT coalesce(json_agg(c.due_at), '[]')::text FROM revision_cards c
        WHERE c.learner_id = ids.value::bigint AND c.due_at >= ? AND c.due_at < ?) AS due_soon,
    (SELECT max(g.reviewed_at) FROM revision_log g
        WHERE g.learner_id = ids.value::bigint AND g.source = 'revision') AS last_revision,
    (SELECT coalesce(json_agg(json_build_array(d.first, d.last)), '[]')::text FROM (
        SELECT min(g.reviewed_at) AS first, max(g.reviewed_at) AS last FROM revision_log g
        WHERE g.learner_id = ids.value::bigint GROUP BY substr(g.reviewed_at, 1, 10)) AS d)
        AS review_days
FROM jsonb_array_elements_text(?::jsonb) WITH ORDINALITY AS ids (value, key)
LEFT JOIN learner_settings s ON s.learner_id = ids.value::bigint
ORDER BY ids.key
""",
)


_NAMED_CARDS = Sql(
    sqlite=f"SELECT {_CARD_COLUMNS} FROM revision_cards WHERE learner_id = ?"  # noqa: S608
    " AND card_id IN (SELECT value FROM json_each(?)) ORDER BY card_id",
    postgresql=f"SELECT {_CARD_COLUMNS} FROM revision_cards WHERE learner_id = ?"  # noqa: S608
    " AND card_id IN (SELECT jsonb_array_elements_text(?::jsonb)) ORDER BY card_id",
)


def stamp(moment: datetime) -> str:
    """UTC with microseconds always written, so stored times sort correctly as text."""
    return moment.astimezone(UTC).isoformat(timespec="microseconds")


def _moment(text: str | None) -> datetime | None:
    return datetime.fromisoformat(text) if text else None


def _card(row: dict[str, Any]) -> CardState:
    return CardState.model_validate(
        {**row, "due_at": _moment(row["due_at"]), "last_review_at": _moment(row["last_review_at"])}
    )


def _settings(row: dict[str, Any]) -> LearnerSettings:
    quiet = str(row["quiet_days"])
    return LearnerSettings.model_validate(
        {
            **row,
            "quiet_days": tuple(int(day) for day in quiet.split(",")) if quiet else (),
            "next_reminder_at": _moment(row["next_reminder_at"]),
            "blocked_at": _moment(row["blocked_at"]),
        }
    )


def _facts(row: dict[str, Any]) -> RevisionFacts:
    return RevisionFacts.model_validate(
        {
            **row,
            "due_soon": sorted(datetime.fromisoformat(at) for at in json.loads(row["due_soon"])),
            "last_revision": _moment(row["last_revision"]),
            "review_days": [
                (datetime.fromisoformat(first), datetime.fromisoformat(last))
                for first, last in json.loads(row["review_days"])
            ],
        }
    )


def _entry(row: dict[str, Any]) -> ReviewEntry:
    return ReviewEntry.model_validate(
        {**row, "reviewed_at": _moment(row["reviewed_at"]), "due_after": _moment(row["due_after"])}
    )


class SqliteRevisionStore:
    """RevisionStore over the application's database."""

    def __init__(self, database: Database) -> None:
        self._database = database

    async def _rows(
        self, columns: str, sql: str, parameters: tuple[object, ...]
    ) -> list[dict[str, Any]]:
        """Rows of `SELECT columns sql`, each mapped by column name."""
        rows = await self._database.fetch(f"SELECT {columns} {sql}", parameters)
        return [dict(row) for row in rows]

    async def cards(self, learner_id: int, card_ids: Sequence[str] = ()) -> list[CardState]:
        """The learner's cards (only those named, if any are), by card id."""
        if not card_ids:
            sql = "FROM revision_cards WHERE learner_id = ? ORDER BY card_id"
            rows = await self._rows(_CARD_COLUMNS, sql, (learner_id,))
        else:
            query = _NAMED_CARDS
            rows = [
                dict(row)
                for row in await self._database.fetch(
                    query, (learner_id, json.dumps(list(card_ids)))
                )
            ]
        return [_card(row) for row in rows]

    async def due_cards(self, learner_id: int, before: datetime) -> list[CardState]:
        """The learner's cards due before `before`, earliest first."""
        sql = "FROM revision_cards WHERE learner_id = ? AND due_at < ? ORDER BY due_at, card_id"
        rows = await self._rows(_CARD_COLUMNS, sql, (learner_id, stamp(before)))
        return [_card(row) for row in rows]

    async def due_count(self, learner_id: int, before: datetime) -> int:
        """How many of the learner's cards are due before `before` (the index alone answers)."""
        rows = await self._database.fetch(
            "SELECT count(*) AS due FROM revision_cards WHERE learner_id = ? AND due_at < ?",
            (learner_id, stamp(before)),
        )
        return int(rows[0]["due"])

    async def reviews(self, learner_id: int, card_id: str | None = None) -> list[ReviewEntry]:
        """The learner's review log (of one card, if named), oldest first."""
        sql = "FROM revision_log WHERE learner_id = ?"
        parameters: tuple[object, ...] = (learner_id,)
        if card_id is not None:
            sql += " AND card_id = ?"
            parameters += (card_id,)
        rows = await self._rows(_LOG_COLUMNS, sql + " ORDER BY id", parameters)
        return [_entry(row) for row in rows]

    async def save(
        self, cards: Sequence[CardState], reviews: Sequence[ReviewEntry], replace: bool = False
    ) -> None:
        """Store cards and append log entries in one transaction (`replace`: drop the named
        cards' logs first)."""
        statements: list[tuple[str, tuple[object, ...]]] = []
        if replace:
            statements += [
                (
                    "DELETE FROM revision_log WHERE learner_id = ? AND card_id = ?",
                    (c.learner_id, c.card_id),
                )
                for c in cards
            ]
        statements += card_statements(cards, reviews)
        await self._database.write(*statements)

    async def settings(self, learner_id: int) -> LearnerSettings:
        """The learner's settings (defaults if none are stored)."""
        rows = await self._rows(
            _SETTINGS_COLUMNS, "FROM learner_settings WHERE learner_id = ?", (learner_id,)
        )
        return _settings(rows[0]) if rows else LearnerSettings(learner_id=learner_id)

    async def save_settings(self, settings: LearnerSettings) -> None:
        """Store a learner's settings (nothing is stored for an unknown learner)."""
        values = (
            settings.timezone,
            settings.remind_at,
            ",".join(map(str, settings.quiet_days)),
            stamp(settings.next_reminder_at) if settings.next_reminder_at else None,
            stamp(settings.blocked_at) if settings.blocked_at else None,
            settings.learner_id,
        )
        await self._database.write((_UPSERT_SETTINGS, values))

    async def due_reminders(self, now: datetime, limit: int) -> list[LearnerSettings]:
        """Settings of up to `limit` learners whose reminder is due by `now`, earliest first."""
        sql = (
            "FROM learner_settings WHERE next_reminder_at IS NOT NULL AND next_reminder_at <= ?"
            " AND blocked_at IS NULL ORDER BY next_reminder_at, learner_id LIMIT ?"
        )
        rows = await self._rows(_SETTINGS_COLUMNS, sql, (stamp(now), limit))
        return [_settings(row) for row in rows]

    async def claim_reminder(
        self, learner_id: int, expected: datetime, following: datetime | None
    ) -> bool:
        """Move the next reminder from `expected` to `following` if it still is `expected`."""
        written = await self._database.write(
            (
                "UPDATE learner_settings SET next_reminder_at = ?"
                " WHERE learner_id = ? AND next_reminder_at = ?",
                (stamp(following) if following else None, learner_id, stamp(expected)),
            )
        )
        return written.rowcounts[0] == 1

    async def block_reminders(self, learner_id: int, at: datetime) -> None:
        """The learner blocked the bot: stop their reminders for good."""
        await self._database.write(
            (
                "UPDATE learner_settings SET blocked_at = ?, next_reminder_at = NULL"
                " WHERE learner_id = ?",
                (stamp(at), learner_id),
            )
        )

    async def facts(self, learner_ids: Sequence[int], now: datetime) -> list[RevisionFacts]:
        """Revision facts of these learners at `now`, in the order given: one query."""
        parameters = (stamp(now), stamp(now), stamp(now + DUE_SOON), json.dumps(list(learner_ids)))
        rows = await self._database.fetch(_FACTS, parameters)
        return [_facts(dict(row)) for row in rows]

    async def export(self, learner_id: int) -> dict[str, Any]:
        """Cards, log and settings of one learner, JSON-ready (for /mydata)."""
        return revision_export(
            await self.cards(learner_id),
            await self.reviews(learner_id),
            await self.settings(learner_id),
        )

    async def forget(self, learner_id: int) -> None:
        """Erase the learner's cards, log and settings (the learner's own erasure cascades to
        them already; this also serves an erasure that keeps the learner)."""
        await self._database.write(
            *(
                (f"DELETE FROM {table} WHERE learner_id = ?", (learner_id,))  # noqa: S608
                for table in ("revision_cards", "revision_log", "learner_settings")
            )
        )


def revision_export(
    cards: Sequence[CardState], log: Sequence[ReviewEntry], settings: LearnerSettings
) -> dict[str, Any]:
    """The revision part of /mydata; both adapters build it here so they cannot drift."""
    return {
        "revision_cards": [card.model_dump(mode="json") for card in cards],
        "revision_log": [entry.model_dump(mode="json") for entry in log],
        "settings": settings.model_dump(mode="json", exclude={"learner_id"}),
    }


def card_statements(
    cards: Sequence[CardState], reviews: Sequence[ReviewEntry]
) -> list[tuple[str, tuple[object, ...]]]:
    """The writes that store cards and append their log (also run by a learner's commit,
    storage/learner_writes.py, for the cards its answers graded)."""
    return [(_UPSERT_CARD, _card_row(card)) for card in cards] + [
        (_INSERT_LOG, _log_row(entry)) for entry in reviews
    ]


def _card_row(card: CardState) -> tuple[object, ...]:
    return (
        card.learner_id,
        card.card_id,
        card.topic,
        card.state,
        card.stability,
        card.difficulty,
        stamp(card.due_at),
        stamp(card.last_review_at) if card.last_review_at else None,
        card.reviews,
        card.lapses,
    )


def _log_row(entry: ReviewEntry) -> tuple[object, ...]:
    return (
        entry.learner_id,
        entry.card_id,
        entry.grade,
        entry.source,
        stamp(entry.reviewed_at),
        stamp(entry.due_after),
    )
