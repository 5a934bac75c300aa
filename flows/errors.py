"""The one error root: anything raised with a `user_message` may be shown to the learner."""

from __future__ import annotations


class CoachError(Exception):
    """An error whose `user_message` is safe to show; the error handler sends it."""

    def __init__(self, user_message: str, detail: str = "") -> None:
        super().__init__(detail or user_message)
        self.user_message = user_message
