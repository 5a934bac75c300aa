"""The dialect seam: the stores write SQLite's SQL once; PostgreSQL gets it translated here.

What is translated is what can be translated mechanically and safely: parameters (`?` and `?N`
become `$N`, PostgreSQL's own placeholders, which psycopg's raw cursors pass through). SQL that
means something else in PostgreSQL (`json_each`, `COLLATE NOCASE`, `INSERT OR IGNORE`,
`julianday`) is not guessed at: a store gives PostgreSQL its own text for it (`Sql`).
"""

from __future__ import annotations

import functools
import re
import sqlite3
from dataclasses import dataclass
from typing import Literal

import psycopg

Dialect = Literal["sqlite", "postgresql"]

UNIQUE_VIOLATIONS = (sqlite3.IntegrityError, psycopg.errors.UniqueViolation)
"""What each database raises when a write breaks a UNIQUE constraint."""

# A quoted string or identifier, a comment, or a parameter: only parameters are rewritten.
_TOKEN = re.compile(r"'(?:[^']|'')*'|\"[^\"]*\"|--[^\n]*|\?(\d*)")


@dataclass(frozen=True, slots=True)
class Sql:
    """One statement whose text differs between the databases."""

    sqlite: str
    postgresql: str

    def text(self, dialect: Dialect) -> str:
        return self.sqlite if dialect == "sqlite" else self.postgresql


@functools.lru_cache(maxsize=2048)
def postgres_parameters(sql: str) -> str:
    """`?` and `?N` parameters as `$N`; a statement mixes the two kinds only by mistake."""
    plain = 0
    numbered = False

    def replace(match: re.Match[str]) -> str:
        nonlocal plain, numbered
        token = match[0]
        if not token.startswith("?"):
            return token
        if match[1]:
            numbered = True
            return f"${match[1]}"
        plain += 1
        return f"${plain}"

    translated = _TOKEN.sub(replace, sql)
    if plain and numbered:
        raise ValueError(f"a statement mixes ? and ?N parameters: {sql[:80]!r}")
    return translated


def sqlite_text(sql: str | Sql) -> str:
    """The text SQLite runs."""
    return sql if isinstance(sql, str) else sql.sqlite


def postgres_text(sql: str | Sql) -> str:
    """The text PostgreSQL runs, its parameters numbered `$N`."""
    return postgres_parameters(sql if isinstance(sql, str) else sql.postgresql)
