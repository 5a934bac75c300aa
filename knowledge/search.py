"""Find knowledge entries for a learner's query ("/law refund card", "/law 72 hours")."""

from __future__ import annotations

from collections.abc import Iterable

from rapidfuzz import fuzz

from knowledge.models import Entry
from knowledge.text import tokenize

MIN_SCORE = 55.0


def _document(entry: Entry) -> str:
    return " ".join(
        [entry.title, entry.title, entry.law, entry.section or "", *entry.tags, *entry.tags,
         entry.summary]
    )  # fmt: skip


def _normalised(text: str) -> str:
    return " ".join(tokenize(text).stems)


def search_entries(entries: Iterable[Entry], query: str, limit: int = 3) -> list[Entry]:
    """The best-matching entries, best first; empty when nothing is a reasonable match."""
    wanted = _normalised(query)
    if not wanted:
        return []
    query_words = set(wanted.split())
    scored: list[tuple[float, str, Entry]] = []
    for entry in entries:
        document = _normalised(_document(entry))
        words = set(document.split())
        overlap = len(query_words & words) / len(query_words)
        fuzzy = fuzz.token_set_ratio(wanted, document)
        score = 70.0 * overlap + 0.3 * fuzzy
        if score >= MIN_SCORE:
            scored.append((score, entry.id, entry))
    scored.sort(key=lambda item: (-item[0], item[1]))
    return [entry for _, _, entry in scored[:limit]]
