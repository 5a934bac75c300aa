"""The content cache: read back only for the exact sources it was built from; a damaged,
foreign or stale file is ignored and replaced; a failed build writes nothing."""

import os
import pickle
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from knowledge.cache import KEEP, cache_file, load_cached, source_key


class Builds:
    """A build that counts its calls and returns what it is told."""

    def __init__(self, value: dict[str, int]) -> None:
        self.value = value
        self.calls = 0

    def __call__(self) -> dict[str, int]:
        self.calls += 1
        return self.value


@pytest.fixture
def sources(tmp_path: Path) -> Path:
    folder = tmp_path / "content"
    (folder / "entries").mkdir(parents=True)
    (folder / "criteria.yaml").write_text("- code: A1\n")
    (folder / "entries" / "goods.yaml").write_text("- id: goods\n")
    return folder


def test_the_key_is_the_same_for_the_same_bytes(sources: Path) -> None:
    assert source_key([sources]) == source_key([sources])


@pytest.mark.parametrize(
    "change",
    [
        lambda folder: (folder / "criteria.yaml").write_text("- code: A2\n"),
        lambda folder: (folder / "entries" / "goods.yaml").write_text("- id: goods \n"),
        lambda folder: (folder / "entries" / "new.yaml").write_text(""),
        lambda folder: (folder / "criteria.yaml").unlink(),
        lambda folder: (folder / "entries" / "goods.yaml").rename(folder / "entries" / "g.yaml"),
    ],
    ids=["edited", "one space", "file added", "file removed", "file renamed"],
)
def test_any_change_to_a_source_changes_the_key(
    sources: Path, change: Callable[[Path], object]
) -> None:
    before = source_key([sources])
    change(sources)
    assert source_key([sources]) != before


def test_a_library_version_is_part_of_the_key(sources: Path) -> None:
    assert source_key([sources], ["pydantic"]) != source_key([sources], ["PyYAML"])


def test_built_once_then_read_back(sources: Path, tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    build = Builds({"questions": 3})
    key = source_key([sources])
    assert load_cached(cache, key, build, dict) == {"questions": 3}
    assert cache_file(cache, key).exists()
    again = load_cached(cache, key, build, dict)
    assert again == {"questions": 3}
    assert again is not build.value  # read from the file, not kept in memory
    assert build.calls == 1


def test_a_changed_source_is_built_again(sources: Path, tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    load_cached(cache, source_key([sources]), Builds({"version": 1}), dict)
    (sources / "criteria.yaml").write_text("- code: B1\n")
    build = Builds({"version": 2})
    assert load_cached(cache, source_key([sources]), build, dict) == {"version": 2}
    assert build.calls == 1


@pytest.mark.parametrize(
    "damage",
    [
        b"",
        b"not a pickle at all",
        pickle.dumps(("key", {"version": 1}))[:-5],  # cut short
        pickle.dumps({"version": 1}),  # not (key, value)
        pickle.dumps(("another key", {"version": 1})),
        pickle.dumps(("KEY", ["a", "list"])),  # the right key, the wrong kind of value
    ],
    ids=["empty", "garbage", "truncated", "no key", "another key", "wrong kind"],
)
def test_a_damaged_cache_file_is_ignored_and_replaced(
    sources: Path, tmp_path: Path, damage: bytes
) -> None:
    cache = tmp_path / "cache"
    cache.mkdir()
    key = source_key([sources])
    cache_file(cache, key).write_bytes(damage.replace(b"KEY", key.encode()))
    build = Builds({"version": 1})
    assert load_cached(cache, key, build, dict) == {"version": 1}
    assert build.calls == 1
    assert pickle.loads(cache_file(cache, key).read_bytes()) == (key, {"version": 1})
    assert load_cached(cache, key, build, dict) == {"version": 1}
    assert build.calls == 1


def test_a_failed_build_writes_nothing(sources: Path, tmp_path: Path) -> None:
    cache = tmp_path / "cache"

    def invalid() -> dict[str, int]:
        raise ValueError("entries/goods.yaml:1: bad")

    with pytest.raises(ValueError, match=r"goods\.yaml:1"):
        load_cached(cache, source_key([sources]), invalid, dict)
    assert not cache.exists() or not any(cache.iterdir())


def test_no_folder_always_builds(sources: Path) -> None:
    build = Builds({"version": 1})
    load_cached(None, source_key([sources]), build, dict)
    load_cached(None, source_key([sources]), build, dict)
    assert build.calls == 2


def test_a_folder_that_cannot_be_written_still_loads(sources: Path, tmp_path: Path) -> None:
    in_the_way = tmp_path / "a file"
    in_the_way.write_text("")
    build = Builds({"version": 1})
    assert load_cached(in_the_way, source_key([sources]), build, dict) == {"version": 1}


def test_only_the_newest_files_are_kept(tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    long_ago = time.time() - 1000
    for version in range(KEEP + 3):
        load_cached(cache, f"key{version}", Builds({"version": version}), dict)
        # File times can be coarser than this loop: make each file's age plain.
        written = long_ago + version
        os.utime(cache_file(cache, f"key{version}"), (written, written))
    kept = sorted(path.name for path in cache.iterdir())
    assert len(kept) == KEEP
    assert cache_file(cache, f"key{KEEP + 2}").name in kept
    assert cache_file(cache, "key0").name not in kept
