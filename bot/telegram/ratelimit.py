"""Rate limits. Incoming: a flood guard per user. Outgoing: pace replies, and retry
Telegram's 429 instead of losing them.

PTB's ``AIORateLimiter`` paces groups but not a private chat, and does not retry by
default. Here every send waits for the overall limiter (about 30 a second for a bot) and
its chat's limiter (about one a second, with a short burst), and a ``RetryAfter`` answer
is waited out and retried. Other errors are not retried: a bad request stays bad, and a
timed-out send may already have arrived.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
import time
from collections import deque
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from enum import Enum
from typing import Any

from aiolimiter import AsyncLimiter
from telegram.error import RetryAfter
from telegram.ext import BaseRateLimiter

log = logging.getLogger(__name__)

CHAT_BURST = 3
MAX_RETRY_WAIT = 60.0


class FloodVerdict(Enum):
    OK = "ok"  # within the limit: handle the update
    WARN = "warn"  # the first update over the limit: say "please slow down" once
    DROP = "drop"  # over the limit and already warned: ignore


@dataclass
class FloodGuard:
    """Per-user sliding window: past the limit, one "slow down" and the rest dropped."""

    limit: int
    seconds: float
    _seen: dict[int, deque[float]] = field(default_factory=dict)
    _warned: set[int] = field(default_factory=set)

    def check(self, user_id: int, now: float | None = None) -> FloodVerdict:
        now = time.monotonic() if now is None else now
        if len(self._seen) > 50_000:  # forget users who have been quiet for a window
            self._seen = {u: w for u, w in self._seen.items() if w and now - w[-1] <= self.seconds}
            self._warned &= set(self._seen)
        window = self._seen.setdefault(user_id, deque())
        while window and now - window[0] > self.seconds:
            window.popleft()
        if len(window) < self.limit:
            window.append(now)
            self._warned.discard(user_id)
            return FloodVerdict.OK
        if user_id in self._warned:
            return FloodVerdict.DROP
        self._warned.add(user_id)
        return FloodVerdict.WARN


class PacingRateLimiter(BaseRateLimiter[int]):
    def __init__(
        self,
        per_chat_per_second: float = 1.0,
        total_per_second: float = 30.0,
        max_retries: int = 3,
    ) -> None:
        self._per_chat = per_chat_per_second
        self._total = AsyncLimiter(total_per_second, 1) if total_per_second > 0 else None
        self._chats: dict[int | str, tuple[AsyncLimiter, float]] = {}
        self._max_retries = max_retries

    async def initialize(self) -> None:
        return None

    async def shutdown(self) -> None:
        self._chats.clear()

    def _chat_limiter(self, chat_id: int | str) -> AsyncLimiter | None:
        if self._per_chat <= 0:
            return None
        now = time.monotonic()
        if len(self._chats) > 10_000:  # forget chats idle for a minute
            self._chats = {k: v for k, v in self._chats.items() if now - v[1] < 60}
        limiter = self._chats.get(chat_id, (None, 0.0))[0]
        if limiter is None:
            limiter = AsyncLimiter(CHAT_BURST, CHAT_BURST / self._per_chat)
        self._chats[chat_id] = (limiter, now)
        return limiter

    async def process_request(
        self,
        callback: Callable[..., Coroutine[Any, Any, bool | dict[str, Any] | list[dict[str, Any]]]],
        args: Any,  # noqa: ANN401 -- BaseRateLimiter's signature
        kwargs: dict[str, Any],
        endpoint: str,
        data: dict[str, Any],
        rate_limit_args: int | None,
    ) -> bool | dict[str, Any] | list[dict[str, Any]]:
        chat_id = data.get("chat_id")
        chat = self._chat_limiter(chat_id) if chat_id is not None else None
        attempt = 0
        while True:
            async with contextlib.AsyncExitStack() as stack:
                if self._total is not None:
                    await stack.enter_async_context(self._total)
                if chat is not None:
                    await stack.enter_async_context(chat)
                try:
                    return await callback(*args, **kwargs)
                except RetryAfter as exc:
                    attempt += 1
                    if attempt > self._max_retries:
                        raise
                    wait = min(_seconds(exc), MAX_RETRY_WAIT)
                    log.warning(
                        "Telegram asked to slow down (%s); retrying %s in %.1f s",
                        endpoint,
                        endpoint,
                        wait,
                    )
            await asyncio.sleep(wait)


def _seconds(error: RetryAfter) -> float:
    retry_after = error.retry_after  # a timedelta with PTB_TIMEDELTA (set by build_application)
    if isinstance(retry_after, dt.timedelta):
        return retry_after.total_seconds()
    return float(retry_after)
