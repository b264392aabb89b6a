"""The storage interface the Telegram adapter calls, and an in-memory implementation.

The adapter records what happened after the resident has been answered; a store that
fails must never stop a reply, so callers treat every method as best effort.
"""

from __future__ import annotations

from typing import Protocol

from bot.engine import Kind, Reply


class Store(Protocol):
    async def log_message(self, user_id: int, reply: Reply, reply_ref: int | None) -> None:
        """Record one outcome. ``reply_ref`` is the id of the bot's reply message, which
        👍/👎 feedback on that message refers to."""

    async def record_feedback(self, user_id: int, reply_ref: int, helpful: bool) -> None: ...

    async def forget_user(self, user_id: int) -> int:
        """Delete everything kept about a user; returns how many records went."""

    async def close(self) -> None: ...


class MemoryStore:
    """Keeps the latest outcomes in memory only (tests, and a bot run without a database)."""

    LIMIT = 10_000

    def __init__(self) -> None:
        self.messages: list[tuple[int, Reply, int | None]] = []
        self.feedback: dict[tuple[int, int], bool] = {}

    async def log_message(self, user_id: int, reply: Reply, reply_ref: int | None) -> None:
        self.messages.append((user_id, reply, reply_ref))
        if len(self.messages) > self.LIMIT:
            del self.messages[: self.LIMIT // 10]

    async def record_feedback(self, user_id: int, reply_ref: int, helpful: bool) -> None:
        self.feedback[(user_id, reply_ref)] = helpful

    async def forget_user(self, user_id: int) -> int:
        before = len(self.messages) + len(self.feedback)
        self.messages = [m for m in self.messages if m[0] != user_id]
        self.feedback = {k: v for k, v in self.feedback.items() if k[0] != user_id}
        return before - len(self.messages) - len(self.feedback)

    async def close(self) -> None:
        return None

    def unanswered(self) -> list[Reply]:
        return [r for _, r, _ in self.messages if r.kind is Kind.FALLBACK]
