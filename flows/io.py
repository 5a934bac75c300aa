"""What goes into the engine (`Input`) and what comes out (`Reply`), for any transport."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

# Learners answer in a sentence or a paragraph; anything longer is a paste by mistake.
MAX_ANSWER_CHARACTERS = 2000

COMMANDS = frozenset(
    {
        "start",
        "menu",
        "resume",
        "cancel",
        "hint",
        "skip",
        "progress",
        "help",
        "law",
        "quiz",
        "scenarios",
        "mydata",
        "forget",
        "revise",
        "settings",
        "privacy",
    }
)


class Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Input(Frozen):
    """One thing a learner did (typed text, a command, a button press or a quiz-poll answer),
    or a quiz a tutor pushed to them (kind "push"), or word that the push never reached them
    (kind "push_undelivered"); only the bot's push delivery makes these two."""

    kind: Literal["text", "command", "action", "poll_answer", "push", "push_undelivered"]
    text: str = ""
    """The text typed, or a command's arguments."""
    command: str | None = None
    action: str | None = None
    """Packed button data (see flows.actions)."""
    poll_question: str | None = None
    """For a poll answer: the id of the question the poll asked."""
    poll_options: tuple[int, ...] = ()
    quiz_id: str | None = None
    push_id: int | None = None
    """For a push: the quiz to start and the tutor's push it belongs to."""
    update_key: str | None = None
    """The transport's id for this input, so a redelivered update is applied once."""
    stored_update: tuple[int, int] | None = None
    """Where the transport stored this input before acknowledging it ((bot id, update id) of
    its inbox): the input's commit marks it handled in its own transaction."""

    @classmethod
    def typed(
        cls,
        text: str,
        update_key: str | None = None,
        stored_update: tuple[int, int] | None = None,
    ) -> Input:
        """Text or a /command, as a person would type it."""
        stripped = text.strip()
        if stripped.startswith("/") and len(stripped) > 1:
            head, _, rest = stripped[1:].partition(" ")
            name = head.split("@", 1)[0].lower()
            return cls(
                kind="command",
                command=name,
                text=rest.strip(),
                update_key=update_key,
                stored_update=stored_update,
            )
        return cls(kind="text", text=text, update_key=update_key, stored_update=stored_update)

    @classmethod
    def pushed(cls, quiz_id: str, push_id: int) -> Input:
        return cls(kind="push", quiz_id=quiz_id, push_id=push_id)

    @classmethod
    def push_undelivered(cls, push_id: int) -> Input:
        return cls(kind="push_undelivered", push_id=push_id)

    @classmethod
    def pressed(
        cls,
        data: str,
        update_key: str | None = None,
        stored_update: tuple[int, int] | None = None,
    ) -> Input:
        return cls(kind="action", action=data, update_key=update_key, stored_update=stored_update)


class Button(Frozen):
    label: str = Field(min_length=1, max_length=64)
    data: str


class Poll(Frozen):
    """A single-choice question a transport may show as a native quiz poll."""

    question_id: str
    question: str
    options: tuple[str, ...]
    correct_option: int
    explanation: str


class Document(Frozen):
    # Base64 in JSON: a reply waiting in the outbox is stored as JSON, and a photo is not text.
    model_config = ConfigDict(
        frozen=True, extra="forbid", ser_json_bytes="base64", val_json_bytes="base64"
    )

    filename: str
    content: bytes
    caption: str = ""


class Reply(Frozen):
    """Something to show the learner.

    `kind` says how: a message (with optional button rows), a quiz poll, a document, a photo
    (its bytes in `document`), or an `echo` that takes the place of the message whose button
    was pressed (Telegram edits that message into it, buttons included): a choice's verdict, or
    moving within a scenario's look-back.
    """

    kind: Literal["message", "poll", "document", "photo", "echo"] = "message"
    text: str = ""
    buttons: tuple[tuple[Button, ...], ...] = ()
    poll: Poll | None = None
    document: Document | None = None
