"""Dependencies point inward (DESIGN.md rule 1), checked by scanning imports."""

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

# package -> top-level modules it must never import
FORBIDDEN = {
    "knowledge": {"telegram", "aiosqlite", "bot", "flows", "storage"},
    "flows": {"telegram", "aiosqlite", "bot", "storage"},
    "storage": {"telegram", "bot"},
    "tutoring": {"telegram", "aiosqlite", "bot", "storage"},
}


def imported_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module.split(".")[0])
    return names


@pytest.mark.parametrize("package", sorted(FORBIDDEN))
def test_package_does_not_import_outer_layers(package: str) -> None:
    files = sorted((ROOT / package).rglob("*.py"))
    assert files, f"no Python files in {package}/"
    leaks = {
        str(path.relative_to(ROOT)): sorted(imported_modules(path) & FORBIDDEN[package])
        for path in files
        if imported_modules(path) & FORBIDDEN[package]
    }
    assert leaks == {}


def test_scan_catches_a_leak(tmp_path: Path) -> None:
    leaky = tmp_path / "leaky.py"
    leaky.write_text("import telegram\nfrom aiosqlite import connect\n", encoding="utf-8")
    assert imported_modules(leaky) == {"telegram", "aiosqlite"}
