"""The store interface the bot and the reports use, and the records it hands back."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from bot.matching.reply import Reply


class StoreUnavailable(Exception):
    """The database cannot be read just now (admin reports say so)."""


@dataclass(frozen=True)
class Question:
    """An unanswered or suggested question kept (redacted) for review."""

    id: int
    at: int
    kind: str
    text: str
    closest_intent: str | None
    closest_score: float | None


@dataclass(frozen=True)
class MessageOutcome:
    """One message of the log as usage figures see it."""

    at: int
    kind: str
    intent: str | None
    helpful: int | None  # the resident's vote: 1, 0, or None when they gave none


class Store(Protocol):
    """The question log. Writes are queued and never wait for the disk; reads and changes
    raise StoreUnavailable when the database cannot be used."""

    async def open(self) -> None: ...

    async def close(self) -> None: ...

    async def log_message(
        self, user_id: int | None, reply: Reply, reply_ref: int | None
    ) -> None:
        """Queue one message's outcome; ``user_id`` None marks the terminal chat's."""


    async def record_feedback(self, user_id: int, reply_ref: int, helpful: bool) -> None: ...

    async def forget_user(self, user_id: int) -> int: ...

    async def purge_text(self, older_than_days: int) -> int: ...

    async def questions(self, days: int) -> list[Question]: ...

    async def question(self, question_id: int) -> Question | None: ...

    async def mark_reviewed(self, question_id: int) -> bool: ...

    async def outcomes(self, days: int) -> list[MessageOutcome]: ...
