"""Typed button payloads: each action packs to a short string (Telegram allows 64 bytes).

`unpack()` is the only way data from a button comes back in, so forged or stale data becomes
`None` (or a well-formed action the engine then checks against the session) and never an error.
"""

from __future__ import annotations

from typing import ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

MAX_CALLBACK_BYTES = 64
# Ids are SQLite integers; a number beyond 64 bits in a button is forged (and would make
# SQLite raise OverflowError where it is looked up).
MAX_INT = 2**63 - 1
SEPARATOR = "|"


class CallbackDataTooLongError(ValueError):
    """A button payload over Telegram's 64 bytes: a programming error, caught by the tests."""


class Action(BaseModel):
    """A button payload; subclasses set `prefix` and list their fields in order."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    prefix: ClassVar[str]

    def pack(self) -> str:
        """The compact string form; raises over Telegram's 64-byte limit (a check `-O` would
        drop if it were an assert)."""
        fields = [str(getattr(self, name)) for name in type(self).model_fields]
        data = SEPARATOR.join([self.prefix, *fields])
        if len(data.encode()) > MAX_CALLBACK_BYTES:
            raise CallbackDataTooLongError(f"callback data too long: {data!r}")
        return data


class Menu(Action):
    prefix = "m"
    target: Literal["main", "scenarios", "quizzes", "law", "progress", "help", "resume", "revise"]


class StartScenario(Action):
    prefix = "s"
    scenario: str


class Choose(Action):
    """An option picked for the question asked with sequence number `ask`."""

    prefix = "c"
    ask: int = Field(ge=0)
    option: int = Field(ge=0)
    """Bounded below here; the engine checks it against the question's options."""


class StartQuiz(Action):
    prefix = "q"
    quiz: str


class RestartQuiz(Action):
    """Start a quiz again from its first question, leaving the one part-way through."""

    prefix = "qr"
    quiz: str


class LawTopic(Action):
    prefix = "l"
    topic: str


class Forget(Action):
    """The answer to the /forget confirmation offered with sequence number `ask`."""

    prefix = "f"
    confirm: Literal["yes", "no"]
    ask: int = Field(ge=0)


class Appeal(Action):
    """“I think this is right” on the verdict of the answer given to question `ask`."""

    prefix = "a"
    ask: int = Field(ge=0)


class StopScenario(Action):
    """The answer to "stop this scenario, nearly finished?" offered with sequence `ask`."""

    prefix = "x"
    confirm: Literal["yes", "no"]
    ask: int = Field(ge=0)


class LookBack(Action):
    """Looking back in a scenario run, at the step asked with sequence number `ask`.

    `back` counts answered steps back from the current one along the path this run took:
    1 is the step answered last (the "◀ Back" of an unanswered step's question), 2 the one
    before it (the "◀ Back" of a look-back), and 0 the current step again ("▶ Continue").
    Nothing is changed by any of them: they only show.
    """

    prefix = "b"
    ask: int = Field(ge=0)
    back: int = Field(ge=0)


class Setting(Action):
    """A /settings button: a reminder time ("0800", "off") or quiet days ("56", "none")."""

    prefix = "st"
    key: Literal["remind", "quiet"]
    value: str = Field(pattern=r"^(off|none|\d{4}|[0-6]{1,6})$")


def registry(*classes: type[Action]) -> dict[str, type[Action]]:
    """Actions by prefix, for `unpack`; a prefix used twice is a programming error."""
    found = {cls.prefix: cls for cls in classes}
    if len(found) != len(classes):
        raise ValueError("two actions share a prefix")
    return found


LEARNER_ACTIONS = registry(
    Menu,
    StartScenario,
    Choose,
    StartQuiz,
    RestartQuiz,
    LawTopic,
    Forget,
    Appeal,
    Setting,
    StopScenario,
    LookBack,
)


def unpack(data: str, actions: dict[str, type[Action]] = LEARNER_ACTIONS) -> Action | None:
    """Parse button data into one of `actions`; None for anything malformed, unknown or
    forged."""
    if not data or len(data.encode()) > MAX_CALLBACK_BYTES:
        return None
    prefix, *values = data.split(SEPARATOR)
    cls = actions.get(prefix)
    if cls is None or len(values) != len(cls.model_fields):
        return None
    try:
        action = cls.model_validate(dict(zip(cls.model_fields, values, strict=True)))
    except ValidationError:
        return None
    numbers = [v for v in action.model_dump().values() if isinstance(v, int)]
    return None if any(abs(n) > MAX_INT for n in numbers) else action
