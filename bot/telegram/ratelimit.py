"""Outgoing rate limiting: pace replies, and retry Telegram's 429 instead of losing them.

PTB's ``AIORateLimiter`` paces groups but not a private chat, and does not retry by
default. Here every send waits for the overall limiter (about 30 a second for a bot) and
its chat's limiter (about one a second, with a short burst), and a ``RetryAfter`` answer
is waited out and retried. Other errors are not retried: a bad request stays bad, and a
timed-out send may already have arrived.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable, Coroutine
from typing import Any

from aiolimiter import AsyncLimiter
from telegram.error import RetryAfter
from telegram.ext import BaseRateLimiter

log = logging.getLogger(__name__)

CHAT_BURST = 3
MAX_RETRY_WAIT = 60.0


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
        callback: Callable[..., Coroutine[Any, Any, bool | dict | list[dict]]],
        args: Any,
        kwargs: dict[str, Any],
        endpoint: str,
        data: dict[str, Any],
        rate_limit_args: int | None,
    ) -> bool | dict | list[dict]:
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
    if hasattr(retry_after, "total_seconds"):
        return retry_after.total_seconds()
    return float(retry_after)
