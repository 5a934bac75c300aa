"""Typed payloads of the review queue's buttons (64 bytes; parsed only through `unpack`).

Each names the answer by learner and ask_seq, and the cohort the tutor is working through
(0: all they may review), so the next item comes from the same queue.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from flows.actions import Action, registry, unpack

VERDICT_CODES: dict[str, Literal["correct", "partial", "incorrect"]] = {
    "c": "correct",
    "p": "partial",
    "i": "incorrect",
}


class ReviewAction(Action):
    learner: int = Field(ge=0)
    ask: int = Field(ge=0)
    cohort: int = Field(ge=0)


class Decide(ReviewAction):
    prefix = "rd"
    verdict: Literal["c", "p", "i"]


class Skip(ReviewAction):
    prefix = "rs"


class NoComment(ReviewAction):
    prefix = "rn"


REVIEW_ACTIONS = registry(Decide, Skip, NoComment)
BUTTON_PATTERN = r"^r[dsn]\|"


def unpack_review(data: str) -> ReviewAction | None:
    """A review button's payload, or None for anything malformed or forged."""
    action = unpack(data, REVIEW_ACTIONS)
    return action if isinstance(action, ReviewAction) else None
