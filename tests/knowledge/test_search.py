"""`/law` search: the learner-style query set, the issue's own queries, and the analysis."""

import pickle
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest
import yaml

from knowledge.loader import CONTENT_DIR, KnowledgeBase
from knowledge.models import Entry
from knowledge.search import EntrySearch

DATA = Path(__file__).parent / "data"
QUERIES = DATA / "law_queries.yaml"  # the set the search was tuned on
FRESH = DATA / "law_queries_fresh.yaml"  # written after tuning, run once untouched
TOP1_FLOOR = 0.90
# The fresh set is the estimate for queries the search was not tuned on; its floor only
# guards against losing ground (first run 63% top-1, 87% top-3).
FRESH_TOP1_FLOOR = 0.80
FRESH_TOP3_FLOOR = 0.95


def load_queries(path: Path = QUERIES) -> list[tuple[str, tuple[str, ...]]]:
    items: list[dict[str, Any]] = yaml.safe_load(path.read_text(encoding="utf-8"))
    return [
        (
            item["query"],
            (item["expect"],) if isinstance(item["expect"], str) else tuple(item["expect"]),
        )
        for item in items
    ]


def ids(entries: Sequence[Entry]) -> list[str]:
    return [entry.id for entry in entries]


@pytest.mark.parametrize("path", [QUERIES, FRESH], ids=["tuned", "fresh"])
def test_the_query_sets_name_only_entries_that_exist(kb: KnowledgeBase, path: Path) -> None:
    queries = load_queries(path)
    assert len(queries) >= 60
    unknown = {e for _, expected in queries for e in expected if e not in kb.entries}
    assert not unknown, f"{path.name} names entries that no longer exist: {unknown}"


def test_the_query_set_finds_the_expected_entry(kb: KnowledgeBase) -> None:
    queries = load_queries()
    first = 0
    not_in_top3 = []
    for query, expected in queries:
        found = ids(kb.search.find(query, limit=3))
        first += bool(found) and found[0] in expected
        if not set(found) & set(expected):
            not_in_top3.append(f"{query!r} -> {found}, expected {expected}")
    assert not not_in_top3, "expected entry not in the top 3:\n" + "\n".join(not_in_top3)
    assert first / len(queries) >= TOP1_FLOOR, f"top-1 {first}/{len(queries)}"


def test_the_fresh_query_set_keeps_its_ground(kb: KnowledgeBase) -> None:
    queries = load_queries(FRESH)
    found = [(ids(kb.search.find(query, limit=3)), expected) for query, expected in queries]
    first = sum(bool(top) and top[0] in expected for top, expected in found)
    in_top3 = sum(bool(set(top) & set(expected)) for top, expected in found)
    assert first / len(queries) >= FRESH_TOP1_FLOOR, f"top-1 {first}/{len(queries)}"
    assert in_top3 / len(queries) >= FRESH_TOP3_FLOOR, f"top-3 {in_top3}/{len(queries)}"


@pytest.mark.parametrize(
    ("query", "first"),
    [
        ("30 days", "cra-short-term-reject"),
        ("right to reject", "cra-short-term-reject"),
        ("reject", "cra-short-term-reject"),
        ("refund deadline", "cra-refund-timing-method"),
        ("kettle broke after 2 weeks", "cra-short-term-reject"),
        ("thirty-day refund", "cra-short-term-reject"),
        ("72 hrs", "gdpr-breach-reporting"),
        ("a fortnight to cancel online", "ccr-cancellation-period"),
    ],
    ids=["30-days", "right-to-reject", "reject", "refund-deadline", "kettle-2-weeks",
         "thirty-day", "72-hrs", "fortnight"],
)  # fmt: skip
def test_the_issues_queries_put_the_rule_first(kb: KnowledgeBase, query: str, first: str) -> None:
    assert ids(kb.search.find(query))[0] == first


def test_refund_does_not_lead_with_authority(kb: KnowledgeBase) -> None:
    assert ids(kb.search.find("refund"))[0] != "authority-limits"


def test_a_broken_kettle_finds_faulty_goods_not_cancellation(kb: KnowledgeBase) -> None:
    found = kb.search.find("kettle broke after 2 weeks")
    assert found[0].law == "Consumer Rights Act 2015"
    assert found[0].topic == "goods"
    assert not any(entry.topic == "distance-selling" for entry in found[:3])


def test_refund_deadline_is_not_the_limitation_act(kb: KnowledgeBase) -> None:
    assert "limitation-six-years" not in ids(kb.search.find("refund deadline"))


@pytest.mark.parametrize(
    ("query", "same_as"),
    [
        ("money back", "refund"),
        ("2 weeks", "14 days"),
        ("a fortnight", "fourteen days"),
        ("satisfactry", "satisfactory"),
        ("harrasment", "harassment"),
    ],
    ids=["synonym", "weeks", "fortnight", "typo", "two-typos"],
)
def test_query_analysis(kb: KnowledgeBase, query: str, same_as: str) -> None:
    assert kb.search.analyse(query) == kb.search.analyse(same_as)


def test_elapsed_time_finds_the_period_still_running(kb: KnowledgeBase) -> None:
    assert kb.search.analyse("broke after 2 weeks") == ["@faulty", "30day"]
    assert kb.search.analyse("stopped working 3 weeks ago") == ["@faulty", "30day"]
    assert kb.search.analyse("cancel online after 10 days") == ["cancel", "onlin", "14day"]
    assert kb.search.analyse("fault after 5 months") == ["@faulty", "6month"]
    assert kb.search.analyse("14 days") == ["14day"]
    assert kb.search.analyse("after 20 years") == []


@pytest.mark.parametrize(
    "query",
    ["xyzzy plugh", "", "   ", "the and of", '"', "AND OR NOT", "NEAR(a b)", "🙂"],
    ids=["nonsense", "empty", "spaces", "stopwords", "quote", "operators", "near", "emoji"],
)
def test_nothing_found(kb: KnowledgeBase, query: str) -> None:
    assert kb.search.find(query) == []


def test_query_syntax_is_only_text(kb: KnowledgeBase) -> None:
    assert kb.search.find('title:refund* OR "') == kb.search.find("title refund")


def test_limit_and_order_are_stable(kb: KnowledgeBase) -> None:
    assert len(kb.search.find("refund", limit=5)) == 5
    assert kb.search.find("refund", limit=5)[:3] == kb.search.find("refund")


def test_search_works_from_another_thread(kb: KnowledgeBase) -> None:
    found: list[str] = []
    thread = threading.Thread(target=lambda: found.extend(ids(kb.search.find("30 days"))))
    thread.start()
    thread.join()
    assert found[0] == "cra-short-term-reject"


def test_a_small_index_from_given_entries(kb: KnowledgeBase) -> None:
    entries = [kb.entries["cra-short-term-reject"], kb.entries["ccr-cancellation-period"]]
    search = EntrySearch(entries, {"refund": ("refund", "money back")})
    assert ids(search.find("money back")) == ["cra-short-term-reject"]
    assert ids(search.find("cancel online")) == ["ccr-cancellation-period"]
    assert search.find("nothing like it") == []


def test_the_lexicon_has_no_class_twice() -> None:
    # YAML keeps the last of two equal keys silently; a merge could replace a rubric's class.
    node = yaml.compose((CONTENT_DIR / "lexicon.yaml").read_text(encoding="utf-8"))
    assert isinstance(node, yaml.MappingNode)
    names = [key.value for key, _ in node.value]
    assert len(names) == len(set(names)), sorted({n for n in names if names.count(n) > 1})


def test_a_pickled_index_finds_the_same(kb: KnowledgeBase) -> None:
    # The content cache pickles the knowledge base: the index holds no live connection.
    copy: EntrySearch = pickle.loads(pickle.dumps(kb.search))
    for query in ("30 days", "refund card", "broke after 2 weeks", "subject access"):
        assert ids(copy.find(query, limit=5)) == ids(kb.search.find(query, limit=5)), query
