"""The durable inbox and outbox as the transport needs them: the port bot/telegram/inbox.py uses.

The bot owns this port, not a domain package: what it keeps is Telegram's raw updates, keyed by
bot id and update id, and the replies still to send — transport plumbing that flows/ and
tutoring/ never see (the engine only hands its replies over in the `Commit`). storage/inbox.py
implements it over the `Database` and in memory; tests/storage/test_inbox.py runs one contract
suite over both. The records are Protocols too, so storage need not import the bot.
"""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import AbstractAsyncContextManager
from typing import Protocol

from flows.io import Reply


class StoredUpdate(Protocol):
    """An update stored before it was acknowledged, not yet handled."""

    @property
    def update_id(self) -> int: ...

    @property
    def raw(self) -> str: ...


class OutboxEntry(Protocol):
    """The replies of one committed input, not yet confirmed by Telegram."""

    @property
    def update_key(self) -> str: ...

    @property
    def learner_id(self) -> int: ...

    @property
    def replies(self) -> Sequence[Reply]: ...

    @property
    def attempts(self) -> int: ...


class Inbox(Protocol):
    """Updates stored before they are acknowledged; replies sent after their commit."""

    async def receive(
        self, bot_id: int, update_id: int, chat_id: int | None, user_id: int | None, raw: str
    ) -> bool:
        """Store an update; False if it was stored before (a repeat)."""
        ...

    async def handled(self, bot_id: int, update_id: int) -> None: ...

    async def unhandled(self, bot_id: int) -> Sequence[StoredUpdate]:
        """Updates stored but not handled (a crash), oldest first."""
        ...

    async def unhandled_in_chat(
        self, bot_id: int, chat_id: int, up_to: int | None = None
    ) -> Sequence[StoredUpdate]:
        """The chat's updates stored but not handled, up to update id `up_to`, oldest first."""
        ...

    def serialised(self, bot_id: int, chat_id: int) -> AbstractAsyncContextManager[None]:
        """Hold the chat's lock for the block: one update (or reply) of a chat at a time,
        across every worker on the database."""
        ...

    async def unsent(self) -> Sequence[OutboxEntry]:
        """Replies committed but not confirmed sent, oldest first."""
        ...

    async def claim(self, update_key: str) -> bool:
        """Count a send attempt before sending; False once the attempts are used up."""
        ...

    async def sent(self, update_key: str, message_ids: list[int]) -> None: ...

    async def failed(self, update_key: str, reason: str) -> None: ...

    async def status(self, update_key: str) -> str | None:
        """'pending', 'sent' or 'failed'; None for an unknown key."""
        ...

    async def prune(self) -> int:
        """Drop what is past the retention period; how many rows went."""
        ...
