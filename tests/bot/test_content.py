"""The bot's content from the cache: the same as a fresh load (marking, `/law` search), loaded
afresh when any content file changes, never cached when invalid, rebuilt when damaged."""

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

import bot.content
from bot.app import content_cache_dir
from bot.content import Content, load_content
from flows.loader import SCENARIO_DIR
from knowledge.cache import PREFIX
from knowledge.loader import CONTENT_DIR, ContentError
from knowledge.marking import Answer, mark
from knowledge.models import AnyQuestion, ChoiceQuestion, OrderQuestion
from tests.bot.fakes import settings_for
from tests.conftest import TEST_SCENARIOS
from tests.knowledge.test_content import ENTRY, append
from tests.knowledge.test_search import QUERIES, load_queries


def cache_files(folder: Path) -> list[Path]:
    return sorted(folder.glob(f"{PREFIX}*"))


def cached_load(
    monkeypatch: pytest.MonkeyPatch,
    cache: Path,
    scenario_dir: Path = SCENARIO_DIR,
    content_dir: Path = CONTENT_DIR,
) -> Content:
    """A load that can only come from the cache: loading the files would fail the test."""

    def no_loading(*args: object) -> None:
        raise AssertionError("the content was loaded from its files, not from the cache")

    with monkeypatch.context() as patch:
        patch.setattr(bot.content, "load_knowledge_base", no_loading)
        return load_content(scenario_dir, cache, content_dir)


def answers_to(question: AnyQuestion) -> Iterator[Answer]:
    """Right, wrong and odd answers: typed text, and options pressed for choices."""
    yield question.model_answer
    yield from (example.answer for example in question.examples)
    yield from ("I don't know", "a refund within 30 days", "B", "2")
    if isinstance(question, ChoiceQuestion):
        yield from range(len(question.options))
        yield from ((index,) for index in range(len(question.options)))
    if isinstance(question, OrderQuestion):
        yield list(range(len(question.items)))
        yield list(reversed(range(len(question.items))))


def test_the_cached_content_marks_and_searches_as_a_fresh_load(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    fresh = load_content()
    load_content(SCENARIO_DIR, tmp_path)  # loads, validates and writes the cache
    cached = cached_load(monkeypatch, tmp_path)
    assert cached.kb is not fresh.kb
    assert cached.kb.entries == fresh.kb.entries
    assert cached.kb.quizzes == fresh.kb.quizzes
    assert cached.kb.criteria == fresh.kb.criteria
    assert sorted(cached.scenarios) == sorted(fresh.scenarios)
    pairs = [(cached.kb.questions[q], fresh.kb.questions[q]) for q in fresh.kb.questions]
    for scenario_id, content in fresh.scenarios.items():
        # A step's applied concepts hold compiled patterns: compared by how they mark, below.
        without_applied = {"steps": {"__all__": {"applied"}}}
        assert cached.scenarios[scenario_id].scenario.model_dump(
            exclude=without_applied
        ) == content.scenario.model_dump(exclude=without_applied)
        for step_id, question in content.questions.items():
            pairs.append((cached.scenarios[scenario_id].question_for(step_id), question))
            case = content.case_context(step_id, {})
            cached_case = cached.scenarios[scenario_id].case_context(step_id, {})
            assert mark(pairs[-1][0], question.model_answer, cached_case) == mark(
                question, question.model_answer, case
            ), f"{scenario_id}/{step_id} in its case"
    # Questions are compared by how they mark: their compiled patterns' words compare by
    # identity (they are cache keys), so two loads' questions are never `==`.
    for cached_question, question in pairs:
        assert (cached_question.id, cached_question.prompt) == (question.id, question.prompt)
        for answer in answers_to(question):
            assert mark(cached_question, answer) == mark(question, answer), (
                f"{question.id}: {answer!r}"
            )
    for query, _ in load_queries(QUERIES):
        assert cached.kb.search.analyse(query) == fresh.kb.search.analyse(query), query
        assert cached.kb.search.find(query, limit=5) == fresh.kb.search.find(query, limit=5)


@pytest.fixture
def content(tmp_path: Path) -> Path:
    target = tmp_path / "content"
    shutil.copytree(CONTENT_DIR, target)
    return target


def test_a_changed_content_file_is_loaded_and_cached_again(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, content: Path
) -> None:
    cache = tmp_path / "cache"
    first = load_content(TEST_SCENARIOS, cache, content)
    assert "extra-entry" not in first.kb.entries
    append(content / "entries" / "cra-goods.yaml", ENTRY)
    changed = load_content(TEST_SCENARIOS, cache, content)
    assert "extra-entry" in changed.kb.entries
    assert len(cache_files(cache)) == 2
    assert "extra-entry" in cached_load(monkeypatch, cache, TEST_SCENARIOS, content).kb.entries


def test_invalid_content_fails_with_its_file_and_line_even_with_a_cache(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, content: Path
) -> None:
    cache = tmp_path / "cache"
    load_content(TEST_SCENARIOS, cache, content)
    path = content / "entries" / "cra-goods.yaml"
    valid = path.read_bytes()
    line = append(path, ENTRY.replace('  section: "s.22"\n', "  section: null\n"))
    with pytest.raises(ContentError) as caught:
        load_content(TEST_SCENARIOS, cache, content)
    assert caught.value.path == path
    assert caught.value.line == line
    assert len(cache_files(cache)) == 1  # the invalid content was not cached
    path.write_bytes(valid)  # put back as it was: the earlier load is good again
    restored = cached_load(monkeypatch, cache, TEST_SCENARIOS, content)
    assert (
        restored.kb.entries.keys() == load_content(TEST_SCENARIOS, None, content).kb.entries.keys()
    )


def test_a_changed_scenario_file_is_loaded_again(tmp_path: Path) -> None:
    scenarios = tmp_path / "scenarios"
    shutil.copytree(TEST_SCENARIOS, scenarios)
    cache = tmp_path / "cache"
    load_content(scenarios, cache)
    path = scenarios / "test-kettle.yaml"
    path.write_text(path.read_text().replace("\nsteps:", "\nstepz:", 1))
    with pytest.raises(ContentError) as caught:
        load_content(scenarios, cache)
    assert caught.value.path == path


def test_a_damaged_cache_file_is_ignored_and_rewritten(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    cache = tmp_path / "cache"
    load_content(TEST_SCENARIOS, cache)
    [written] = cache_files(cache)
    good = written.read_bytes()
    written.write_bytes(good[: len(good) // 2])
    assert "test-kettle" in load_content(TEST_SCENARIOS, cache).scenarios
    assert written.read_bytes() != good[: len(good) // 2]
    assert "test-kettle" in cached_load(monkeypatch, cache, TEST_SCENARIOS).scenarios


def test_the_cache_sits_beside_the_database_unless_set(tmp_path: Path) -> None:
    settings = settings_for(tmp_path / "data" / "coach.db")
    assert content_cache_dir(settings) == tmp_path / "data" / ".content-cache"
    chosen = settings.model_copy(update={"content_cache_dir": tmp_path / "elsewhere"})
    assert content_cache_dir(chosen) == tmp_path / "elsewhere"
    in_memory = settings.model_copy(update={"database_url": "sqlite:///:memory:"})
    assert content_cache_dir(in_memory) is None
