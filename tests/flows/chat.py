"""A chat-like driver for engine tests: send text, click buttons, read replies."""

from __future__ import annotations

from itertools import count

from flows.engine import Coach
from flows.io import Input, Reply
from flows.ports import LearnerProfile

# Update keys are unique across chats, as a transport's update ids are.
_UPDATE_IDS = count(1)


class Chat:
    """One learner talking to the engine, the way a transport would drive it."""

    def __init__(self, coach: Coach, learner_id: int = 7, name: str = "Sam") -> None:
        self.coach = coach
        self.learner = LearnerProfile(learner_id=learner_id, display_name=name)
        self.replies: list[Reply] = []
        self.history: list[Reply] = []

    def _key(self) -> str:
        return f"test:{next(_UPDATE_IDS)}"

    async def send(self, text: str) -> list[Reply]:
        return await self._handle(Input.typed(text, update_key=self._key()))

    async def press(self, data: str) -> list[Reply]:
        return await self._handle(Input.pressed(data, update_key=self._key()))

    async def click(self, label: str) -> list[Reply]:
        """Press the button with this label (or starting with it) in the latest replies."""
        for reply in reversed(self.replies):
            for row in reply.buttons:
                for button in row:
                    if button.label == label or button.label.startswith(label):
                        return await self.press(button.data)
        raise AssertionError(f"no button {label!r} in {self.button_labels}")

    async def poll_answer(self, question_id: str, *options: int) -> list[Reply]:
        return await self._handle(
            Input(
                kind="poll_answer",
                poll_question=question_id,
                poll_options=tuple(options),
                update_key=self._key(),
            )
        )

    async def _handle(self, inp: Input) -> list[Reply]:
        self.replies = await self.coach.handle(self.learner, inp)
        self.history.extend(self.replies)
        return self.replies

    def last_reply(self) -> Reply:
        assert self.replies, "no replies"
        return self.replies[-1]

    @property
    def text(self) -> str:
        """All reply texts of the latest input, joined."""
        return "\n".join(r.text for r in self.replies)

    @property
    def button_labels(self) -> list[str]:
        return [b.label for r in self.replies for row in r.buttons for b in row]
