"""The one parser for numbers people type or buttons carry (user, learner, push and page ids).

`str.isdigit()` accepts "²" and "①", which `int()` then refuses; and SQLite refuses integers
beyond 64 bits. Only ASCII digits within SQLite's range are ids; anything else is None.
"""

from __future__ import annotations

import re

_ID = re.compile(r"-?[0-9]{1,19}", re.ASCII)
MAX_ID = 2**63 - 1


def parse_id(text: str, *, negative: bool = False, prefix: str = "") -> int | None:
    """The integer `text` spells in ASCII digits (after an optional `prefix` such as '#'), or
    None; a minus sign only when `negative` (Telegram group chats have negative ids)."""
    word = text.strip()
    if prefix:
        word = word.removeprefix(prefix)
    if not _ID.fullmatch(word) or (word.startswith("-") and not negative):
        return None
    value = int(word)
    return value if abs(value) <= MAX_ID else None
