"""Shared fixtures: the knowledge base is loaded once per test session (it is read-only)."""

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from flows.loader import ScenarioContent, load_scenarios
from knowledge.loader import KnowledgeBase, load_knowledge_base
from tests.postgres import fresh_schema

ROOT = Path(__file__).resolve().parent.parent


def _core_questions() -> Path:
    """shared/core-questions.yaml beside the clone, or beside the folder that holds the clone
    (a git worktree kept in a folder of worktrees); the first found going up."""
    for folder in ROOT.parents:
        candidate = folder / "shared" / "core-questions.yaml"
        if candidate.exists():
            return candidate
    return ROOT.parent / "shared" / "core-questions.yaml"


CORE_QUESTIONS = _core_questions()
TEST_SCENARIOS = Path(__file__).parent / "flows" / "data" / "scenarios"


@pytest.fixture(scope="session")
def kb() -> KnowledgeBase:
    return load_knowledge_base()


@pytest.fixture(scope="session")
def core_questions_file() -> Path:
    # CI runs with shared/ beside the clone; without it the contract cannot be checked at all.
    assert CORE_QUESTIONS.exists(), f"the core questions contract is missing: {CORE_QUESTIONS}"
    return CORE_QUESTIONS


@pytest.fixture(scope="session")
def test_scenarios(kb: KnowledgeBase) -> dict[str, ScenarioContent]:
    """A small scenario written for tests (variants, branches, a record step)."""
    return load_scenarios(kb, TEST_SCENARIOS)


@pytest.fixture
async def postgres_url() -> AsyncIterator[str]:
    """A PostgreSQL URL with an empty schema of this test's own (tests/postgres.py)."""
    async with fresh_schema() as url:
        yield url
