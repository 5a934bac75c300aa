"""Find knowledge entries for a learner's query ("/law refund card", "/law 72 hours").

A ranked full-text search: SQLite's FTS5 with bm25, in memory, built once from the entries
(the terms at load; the SQLite table from them on the first search).
Entries and queries go through the same analysis as marking (`knowledge.text`: spelling,
number words, "2 weeks" = "14 days", stemming), then:

- a duration becomes one term ("30 days" -> ``30day``), so "30 days" finds the 30-day rule and
  not every entry that mentions a number or a day;
- a phrase of a lexicon class stands for its class (``@refund`` for "money back" and for
  "refund"), so everyday words meet the law's words; a class found in most entries (the
  rubrics' "customer", "trader", "act-help") would say nothing, so its words stay words;
- a query word the entries never use is read as the nearest word they do use (one typo from
  five letters, two from eight, same first letter), as marking does;
- a time that has passed ("broke after 2 weeks", "3 weeks ago") is the case's timeline, not a
  period the law sets: it becomes a period still running then, the one named by the entries
  that best match the rest of the query (a fault two weeks on -> ``30day``, not the 14-day
  cancellation period; "cancel online after 10 days" -> ``14day``), so it finds the rule that
  applies.

Query terms are only ever letters, digits, "@" and "-", each quoted, so no query can inject
FTS5 syntax. Why FTS5 and not a BM25 package: it is in the standard library's sqlite3 (no new
dependency), weights columns natively (``bm25(table, w1, w2, …)``; rank-bm25, last released in
2022, and bm25s score one field only), and on about eighty entries a query takes well under a
millisecond.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from rapidfuzz.distance import Levenshtein

from knowledge.models import Entry
from knowledge.text import DURATION_UNITS, Tokens, durations, stem, tokenize, tokenize_cached

# Columns of the index and their bm25 weights: the title and the tags (a few chosen words) weigh
# most, the key points over the summary. Key points weigh less than one might expect because
# they hold worked examples ("the kettle stopped working after two weeks" in active listening);
# weighting them 3 found fewer expected entries first than 1 on the query set.
WEIGHTS = (5.0, 1.0, 4.0, 0.75, 0.5)  # title, key_points, tags, summary, citation
# A lexicon class found in more than this share of the entries is too broad to stand for its
# words ("customer" and "consumer", "help" and "investigate"): search keeps the words instead.
BROAD_CLASS = 2 / 3
# A time that has passed finds the periods still running then, up to this many times as long,
# and picks among them by the entries that best match the rest of the query (this many).
RUNNING_SPAN = 3
FEEDBACK_ENTRIES = 10
ELAPSED = "~"  # marks a time that has passed among a query's terms, until it is read

# Function words that say nothing about which rule is meant ("what is the …", "can i …"), and
# "1", which "a new one" and "a month" leave behind.
STOPWORDS = frozenset({
    "a", "an", "the", "and", "or", "of", "to", "in", "on", "at", "for", "by", "with", "from",
    "is", "are", "was", "be", "it", "its", "this", "that", "i", "my", "me", "we", "our", "us",
    "you", "your", "they", "their", "them", "he", "she", "his", "her", "what", "whi", "when",
    "how", "can", "do", "doe", "did", "if", "so", "as", "about", "into", "then", "there", "have",
    "has", "had", "will", "would", "should", "could", "must", "may", "not", "no", "get", "got",
    "someon", "someth", "anyon", "anyth", "everyon", "1", "0",
})  # fmt: skip
# Words around a duration that make it a time that has passed, not a period: "after 2 weeks",
# "for 3 months", "3 weeks ago", "2 months old".
ELAPSED_BEFORE = frozenset({"after", "for", "over"})
ELAPSED_AFTER = frozenset({"ago", "old", "later"})
DAYS_PER_UNIT = {"hour": 1 / 24, "day": 1.0, "month": 30.0, "year": 365.0}


@dataclass(frozen=True, slots=True)
class _Phrase:
    stems: tuple[str, ...]
    term: str


class EntrySearch:
    """An in-memory FTS5 index of the knowledge entries; `find` ranks them for a query."""

    def __init__(self, entries: Iterable[Entry], lexicon: Mapping[str, Sequence[str]]) -> None:
        self._phrases: dict[str, list[_Phrase]] = {}
        words: set[str] = set()
        for name, phrases in lexicon.items():
            for phrase in phrases:
                tokens = tokenize_cached(phrase)
                if tokens.stems:
                    words.update(tokens.words)
                    phrase_ = _Phrase(tokens.stems, f"@{name}")
                    self._phrases.setdefault(tokens.stems[0], []).append(phrase_)
        self._entries: list[Entry] = list(entries)
        analysed = [
            [
                tokenize(text)
                for text in (
                    entry.title,
                    " . ".join(entry.key_points),
                    " . ".join(entry.tags),
                    entry.summary,
                    entry.citation,
                )
            ]
            for entry in self._entries
        ]
        self._drop_broad_classes(analysed)
        vocabulary: set[str] = set()
        rows: list[tuple[str, ...]] = []
        self._row_terms: list[frozenset[str]] = []
        for texts in analysed:
            columns = []
            for tokens in texts:
                words.update(tokens.words)
                columns.append(self._terms(tokens))
            for terms in columns:
                vocabulary.update(terms)
            rows.append(tuple(" ".join(terms) for terms in columns))
            self._row_terms.append(frozenset(t for terms in columns for t in terms))
        # The index is plain data (its rows of terms); the SQLite table is built from them on
        # the first search, so a loaded knowledge base holds no connection and can be cached.
        self._rows = tuple(rows)
        self._db: sqlite3.Connection | None = None
        self._lock = threading.Lock()
        self._stems = frozenset(vocabulary | {stem(word) for word in words})
        self._words_by_letter: dict[str, list[str]] = {}
        for word in sorted(words):
            if word.isalpha():
                self._words_by_letter.setdefault(word[0], []).append(word)
        named: dict[str, int] = {}
        for row in rows:
            for term in set(" ".join(row).split()):
                if _duration_term(term) is not None:
                    named[term] = named.get(term, 0) + 1
        # (length in days, how many entries name it, term) for every period the entries name.
        self._periods = sorted(
            (value * DAYS_PER_UNIT[unit], count, term)
            for term, count in named.items()
            if (split := _duration_term(term)) is not None
            for value, unit in [split]
        )

    def _drop_broad_classes(self, analysed: Sequence[Sequence[Tokens]]) -> None:
        """Forget the lexicon classes found in most entries (see `BROAD_CLASS`)."""
        found: dict[str, int] = {}
        for texts in analysed:
            for term in {phrase.term for tokens in texts for _, phrase in self._classes(tokens)}:
                found[term] = found.get(term, 0) + 1
        broad = {term for term, count in found.items() if count > BROAD_CLASS * len(analysed)}
        self._phrases = {
            first: kept
            for first, phrases in self._phrases.items()
            if (kept := [p for p in phrases if p.term not in broad])
        }

    def _classes(self, tokens: Tokens) -> list[tuple[int, _Phrase]]:
        """The lexicon phrases in the tokens, with where each starts."""
        found = []
        for position, word_stem in enumerate(tokens.stems):
            for phrase in self._phrases.get(word_stem, ()):
                if tokens.stems[position : position + len(phrase.stems)] == phrase.stems:
                    found.append((position, phrase))
        return found

    def _terms(self, tokens: Tokens, *, query: bool = False) -> list[str]:
        """Index terms: stems, each duration as one term, and the lexicon classes present."""
        stems = list(tokens.stems)
        for duration in durations(tokens):
            unit_at = next(
                i for i in range(duration.position + 1, len(stems)) if stems[i] in DURATION_UNITS
            )
            term = f"{duration.value}{duration.unit.replace(' ', '')}"
            cue = _elapsed_cue(tokens.stems, duration.position, unit_at) if query else None
            if cue is not None:
                term = ELAPSED + term
                stems[cue] = ""
            stems[duration.position] = term
            stems[unit_at] = ""
        classes: list[str] = []
        # A class phrase stands for its words: "money back" and "refund" are both @refund.
        for position, phrase in self._classes(tokens):
            classes.append(phrase.term)
            stems[position : position + len(phrase.stems)] = [""] * len(phrase.stems)
        return [term for s in stems for term in s.split()] + classes

    def _period_running_after(self, elapsed: str, topic: Sequence[str]) -> str | None:
        """The period a time that has passed ("~14day") is about: of the periods the entries
        name that are still running then (up to three times as long: a case two weeks old is
        about the 30 days, not the six years), the one named by the entries that best match
        the rest of the query ("broke" -> 30 days, "cancel" -> 14 days), else by most entries."""
        split = _duration_term(elapsed.removeprefix(ELAPSED))
        if split is None:
            return None
        days = split[0] * DAYS_PER_UNIT[split[1]]
        running = {
            term: count
            for length, count, term in self._periods
            if days < length <= days * RUNNING_SPAN
        }
        if not running:
            return None
        support = dict.fromkeys(running, 0.0)
        for rowid, score in self._ranked(topic, FEEDBACK_ENTRIES) if topic else []:
            for term in running.keys() & self._row_terms[rowid - 1]:
                support[term] += score
        return max(running, key=lambda term: (support[term], running[term]))

    def _corrected(self, word: str) -> str:
        """The word, or the entries' word it is a typo of (same first letter; one typo from
        five letters, two from eight)."""
        if not word.isalpha() or len(word) < 5 or stem(word) in self._stems:
            return word
        allowed = 1 if len(word) < 8 else 2
        best: tuple[int, str] | None = None
        for known in self._words_by_letter.get(word[0], ()):
            if abs(len(known) - len(word)) > allowed:
                continue
            distance = Levenshtein.distance(word, known, score_cutoff=allowed)
            if distance <= allowed and (best is None or distance < best[0]):
                best = (distance, known)
        return best[1] if best else word

    def analyse(self, query: str) -> list[str]:
        """The terms a query is searched with: typos corrected, stopwords and words no entry
        uses dropped, times that have passed read as the period they are about."""
        tokens = tokenize(query)
        words = tuple(self._corrected(word) for word in tokens.words)
        corrected = Tokens(words, tuple(stem(word) for word in words), tokens.breaks)
        wanted: list[str] = []
        for term in self._terms(corrected, query=True):
            # Letters and pairs ("b", "co") are citation paragraphs or noise, not what is meant.
            noise = len(term) < 3 and not term.isdigit()
            known = term in self._stems or term.startswith(ELAPSED)
            if known and not noise and term not in STOPWORDS and term not in wanted:
                wanted.append(term)
        topic = [term for term in wanted if not term.startswith(ELAPSED)]
        periods = [self._period_running_after(t, topic) for t in wanted if t.startswith(ELAPSED)]
        return topic + [period for period in periods if period and period not in topic]

    def find(self, query: str, limit: int = 3) -> list[Entry]:
        """The best-matching entries, best first; empty when no query word is in any entry."""
        return [self._entries[rowid - 1] for rowid, _ in self._ranked(self.analyse(query), limit)]

    def _ranked(self, terms: Sequence[str], limit: int) -> list[tuple[int, float]]:
        """(rowid, score) of the best entries for these index terms, best first."""
        if not terms:
            return []
        match = " OR ".join(f'"{term}"' for term in terms)
        with self._lock:
            if self._db is None:
                self._db = _fts_table(self._rows)
            rows = self._db.execute(
                "SELECT rowid, -bm25(entry, ?, ?, ?, ?, ?) AS score FROM entry"
                " WHERE entry MATCH ? ORDER BY score DESC, rowid LIMIT ?",
                (*WEIGHTS, match, limit),
            ).fetchall()
        return [(rowid, score) for rowid, score in rows]

    def __getstate__(self) -> dict[str, object]:
        """What pickling keeps: the analysed index, without the connection or the lock."""
        state = dict(self.__dict__)
        del state["_db"], state["_lock"]
        return state

    def __setstate__(self, state: dict[str, object]) -> None:
        self.__dict__.update(state)
        self._db = None
        self._lock = threading.Lock()


def _fts_table(rows: Sequence[tuple[str, ...]]) -> sqlite3.Connection:
    """An in-memory FTS5 table of the index rows (rowid = position + 1). One connection, read
    only once filled; any thread may search, one at a time (not every SQLite build serialises
    a shared connection itself)."""
    db = sqlite3.connect(":memory:", check_same_thread=False)
    db.execute(
        "CREATE VIRTUAL TABLE entry USING fts5(title, key_points, tags, summary, citation,"
        " tokenize = \"unicode61 tokenchars '@-'\")"
    )
    db.executemany(
        "INSERT INTO entry (title, key_points, tags, summary, citation) VALUES (?, ?, ?, ?, ?)",
        rows,
    )
    return db


def _duration_term(term: str) -> tuple[int, str] | None:
    """(30, "day") for the term "30day"; None for any other term."""
    digits = len(term) - len(term.lstrip("0123456789"))
    unit = term[digits:]
    if digits == 0 or unit not in DAYS_PER_UNIT:
        return None
    return int(term[:digits]), unit


def _elapsed_cue(stems: Sequence[str], number_at: int, unit_at: int) -> int | None:
    """Where the word is that makes a duration a time that has passed, if there is one."""
    if number_at > 0 and stems[number_at - 1] in ELAPSED_BEFORE:
        return number_at - 1
    if unit_at + 1 < len(stems) and stems[unit_at + 1] in ELAPSED_AFTER:
        return unit_at + 1
    return None
