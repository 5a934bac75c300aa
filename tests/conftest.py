"""Shared fixtures: the knowledge base is loaded once per test session (it is read-only)."""

from pathlib import Path

import pytest

from flows.loader import ScenarioContent, load_scenarios
from knowledge.loader import KnowledgeBase, load_knowledge_base

ROOT = Path(__file__).resolve().parent.parent


def _core_questions() -> Path:
    """shared/ beside the clone; for a git worktree elsewhere, beside its main clone."""
    beside = ROOT.parent / "shared" / "core-questions.yaml"
    dot_git = ROOT / ".git"
    if beside.exists() or not dot_git.is_file():
        return beside
    # A worktree's .git is a file: "gitdir: <main clone>/.git/worktrees/<name>".
    gitdir = Path(dot_git.read_text(encoding="utf-8").partition(":")[2].strip())
    main_clone = gitdir.parent.parent.parent
    in_main = main_clone.parent / "shared" / "core-questions.yaml"
    return in_main if in_main.exists() else beside


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
