"""Engine fixtures: the test scenario, a fresh in-memory store and a coach."""

from pathlib import Path

import pytest

from flows.engine import Coach
from flows.loader import ScenarioContent, load_scenarios
from knowledge.loader import KnowledgeBase
from storage.memory import MemoryProgressStore

TEST_SCENARIOS = Path(__file__).parent / "data" / "scenarios"


@pytest.fixture(scope="session")
def test_scenarios(kb: KnowledgeBase) -> dict[str, ScenarioContent]:
    return load_scenarios(kb, TEST_SCENARIOS)


@pytest.fixture
def store() -> MemoryProgressStore:
    return MemoryProgressStore()


@pytest.fixture
def coach(
    kb: KnowledgeBase, test_scenarios: dict[str, ScenarioContent], store: MemoryProgressStore
) -> Coach:
    return Coach(kb, test_scenarios, store)
