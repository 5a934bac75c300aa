"""Editing a copy of the test scenarios, for tests of what loading rejects (file and line)."""

from pathlib import Path


def edit(folder: Path, old: str, new: str) -> Path:
    """Replace `old` (which must be there) in the copied test kettle scenario."""
    path = folder / "test-kettle.yaml"
    text = path.read_text(encoding="utf-8")
    assert old in text
    path.write_text(text.replace(old, new, 1), encoding="utf-8")
    return path


def line_of(path: Path, needle: str) -> int:
    """The 1-based line holding exactly `needle`."""
    return path.read_text(encoding="utf-8").splitlines().index(needle) + 1
