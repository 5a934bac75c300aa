"""Engine fixtures: a fresh in-memory store and a coach on the test scenarios."""

from zoneinfo import ZoneInfo

import pytest

from flows.engine import Coach
from flows.loader import ScenarioContent, load_scenarios
from knowledge.loader import KnowledgeBase
from storage.memory import MemoryProgressStore
from storage.revision_memory import MemoryRevisionStore
from tutoring.revision import Revision

LONDON = ZoneInfo("Europe/London")


@pytest.fixture
def store() -> MemoryProgressStore:
    return MemoryProgressStore()


@pytest.fixture
def coach(
    kb: KnowledgeBase, test_scenarios: dict[str, ScenarioContent], store: MemoryProgressStore
) -> Coach:
    return Coach(
        kb, test_scenarios, store, revision=Revision(MemoryRevisionStore(progress=store), LONDON)
    )


@pytest.fixture(scope="module")
def shipped(kb: KnowledgeBase) -> dict[str, ScenarioContent]:
    """The scenarios that ship with the bot."""
    return load_scenarios(kb)
