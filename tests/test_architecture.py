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


# Private names a storage module may reach on objects that are not its own: aiosqlite offers no
# public way to run several statements in one hop to its thread (storage/group_commit.py).
PRIVATE_ALLOWED = {("storage/group_commit.py", "_execute"), ("storage/group_commit.py", "_conn")}


def private_accesses(path: Path) -> list[str]:
    """`x._name` where x is not self or cls: another object's private attribute."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    found: list[str] = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.Attribute):
            continue
        name = node.attr
        if not name.startswith("_") or (name.startswith("__") and name.endswith("__")):
            continue
        owner = node.value
        if isinstance(owner, ast.Name) and owner.id in {"self", "cls"}:
            continue
        found.append(f"{ast.unparse(owner)}.{name}")
    return found


def test_storage_modules_use_only_public_names_of_other_objects() -> None:
    leaks = {
        relative: sorted(
            access
            for access in private_accesses(path)
            if (relative, access.rpartition(".")[2]) not in PRIVATE_ALLOWED
        )
        for path in sorted((ROOT / "storage").rglob("*.py"))
        if (relative := str(path.relative_to(ROOT)))
    }
    assert {module: names for module, names in leaks.items() if names} == {}


def test_private_scan_catches_another_objects_private_name(tmp_path: Path) -> None:
    leaky = tmp_path / "leaky.py"
    leaky.write_text(
        "class A:\n    def f(self, store):\n        self._ok = store._write_statements()\n",
        encoding="utf-8",
    )
    assert private_accesses(leaky) == ["store._write_statements"]


# bot/ is transport: it reaches storage/ only where the application is assembled.
ASSEMBLY = {"bot/app.py", "bot/cli.py", "bot/console.py"}


def test_bot_imports_storage_only_where_the_application_is_assembled() -> None:
    importing = {
        str(path.relative_to(ROOT))
        for path in sorted((ROOT / "bot").rglob("*.py"))
        if "storage" in imported_modules(path)
    }
    assert importing - ASSEMBLY == set()


# bot/ is transport and assembly: Telegram in bot/telegram/, the console, the CLI, settings,
# logs and content loading. Cohort, push and report workflows live in tutoring/ (issue 13), so a
# new workflow module directly in bot/ fails here and belongs beside them.
BOT_TOP_LEVEL = {
    "__init__.py",
    "app.py",
    "cli.py",
    "console.py",
    "content.py",
    "logs.py",
    "settings.py",
}


def test_bot_holds_transports_and_assembly_only() -> None:
    top_level = {path.name for path in (ROOT / "bot").glob("*.py")}
    assert top_level - BOT_TOP_LEVEL == set()
    assert {path.name for path in (ROOT / "tutoring").glob("*.py")} >= {
        "pushing.py",
        "reporting.py",
        "reports.py",
        "staff.py",
    }
