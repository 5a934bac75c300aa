"""{placeholders} in scenario lines: checked at load, filled safely at send time.

Only `{name}` of a known case value is a placeholder, and `{{` / `}}` are literal braces.
A stray brace, a format spec (`{name:>999999999}`), a conversion (`{name!r}`) or an attribute
(`{name.x}`) is a content error with file and line, not a traceback at start or in a chat
(and a huge width spec would otherwise build a gigabyte string).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path

from flows.scenario import Scenario, Step
from knowledge.loader import ContentError
from knowledge.models import AnyQuestion

# The case values every scenario has (flows.loader.case_values); facts add their own names.
CASE_NAMES = frozenset(
    {"name", "product", "reference", "purchased", "payment", "price", "channel"}
)
_TOKEN = re.compile(r"\{\{|\}\}|\{([A-Za-z_][A-Za-z0-9_]*)\}|[{}]")


def placeholders(text: str) -> tuple[set[str], str | None]:
    """The placeholder names in `text`, and the first piece that is not a valid one (or None)."""
    names: set[str] = set()
    for match in _TOKEN.finditer(text):
        piece = match.group(0)
        if match.group(1) is not None:
            names.add(match.group(1))
        elif piece == "{":
            end = text.find("}", match.start())
            return names, text[match.start() : end + 1 if end != -1 else None][:40]
        elif piece == "}":
            return names, piece
    return names, None


def fill(text: str, values: Mapping[str, str]) -> str:
    """`text` with known {placeholders} filled; anything else (unknown names, stray braces)
    is left as written, so a line can never fail or blow up at send time."""

    def one(match: re.Match[str]) -> str:
        piece = match.group(0)
        if piece in {"{{", "}}"}:
            return piece[0]
        name = match.group(1)
        if name is not None and name in values:
            return values[name]
        return piece

    return _TOKEN.sub(one, text)


def check_placeholders(
    scenario: Scenario, step: Step, question: AnyQuestion, path: Path, line: int | None
) -> None:
    """Raise `ContentError` (file:line) for a step whose lines use a brace badly or a
    placeholder that some variant of the case does not define."""
    texts = [step.customer, step.task]
    if step.ask is not None:  # a bank question's prompt is not written for one case
        texts.append(question.prompt)
    used: set[str] = set()
    for text in texts:
        names, bad = placeholders(text)
        if bad is not None:
            raise ContentError(
                path,
                line,
                f"step {step.id!r}: {bad!r} is not a placeholder; write {{name}} with a known"
                " name (no format specs or conversions), or {{ and }} for a literal brace",
            )
        used |= names
    for variant in range(max(1, len(scenario.variants))):
        unknown = used - CASE_NAMES - set(scenario.facts_for(variant))
        if unknown:
            names_text = ", ".join(sorted(unknown))
            raise ContentError(
                path, line, f"step {step.id!r} uses unknown placeholder(s): {names_text}"
            )
