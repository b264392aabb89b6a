"""Outgoing rate limits: pace replies, and retry Telegram's 429 instead of losing them
(the incoming flood guard per user is ``bot.app.flood``'s, shared with the web chat).

Telegram's limits: about 30 messages a second per bot, one a second per chat (a short
burst is tolerated) and 20 a minute per group. PTB's ``AIORateLimiter`` keeps the overall
and group limits and pauses every send on a 429, but does not pace a private chat, so a
resident's burst of questions runs into 429s (measured in benchmarks/ratelimit.py). Here
every send waits for the overall limiter, its chat's limiter, and for a group also the
group's per-minute limiter; a ``RetryAfter`` answer pauses all sends (Telegram's limit is
the bot's, not the chat's) and the send is retried. Other errors are not retried: a bad
request stays bad, and a timed-out send may already have arrived.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
import time
from collections.abc import Callable, Coroutine
from typing import Any

from aiolimiter import AsyncLimiter
from telegram.error import RetryAfter
from telegram.ext import BaseRateLimiter

log = logging.getLogger(__name__)

CHAT_BURST = 3
GROUP_PER_MINUTE = 20
MAX_RETRY_WAIT = 60.0


class PacingRateLimiter(BaseRateLimiter[int]):
    def __init__(
        self,
        per_chat_per_second: float = 1.0,
        total_per_second: float = 30.0,
        max_retries: int = 3,
    ) -> None:
        self._per_chat = per_chat_per_second
        self._total_per_second = total_per_second
        self._total: AsyncLimiter | None = None
        self._chats: dict[int | str, tuple[AsyncLimiter, float]] = {}
        self._groups: dict[int | str, tuple[AsyncLimiter, float]] = {}
        self._max_retries = max_retries
        self._resume: asyncio.Event  # cleared while Telegram has asked every send to wait
        self._new_clocks()

    async def initialize(self) -> None:
        """PTB initialises the bot once per event loop (start-up checks run on one, polling
        on the next): the limiters' clocks belong to the loop that uses them."""
        self._new_clocks()

    async def shutdown(self) -> None:
        self._chats.clear()
        self._groups.clear()

    def _new_clocks(self) -> None:
        total = self._total_per_second
        self._total = AsyncLimiter(total, 1) if total > 0 else None
        self._chats.clear()
        self._groups.clear()
        self._resume = asyncio.Event()
        self._resume.set()

    def _chat_limiter(self, chat_id: int | str) -> AsyncLimiter | None:
        if self._per_chat <= 0:
            return None
        return _limiter(self._chats, chat_id, CHAT_BURST, CHAT_BURST / self._per_chat)

    def _group_limiter(self, chat_id: int | str) -> AsyncLimiter | None:
        """Groups (negative ids, or @channel names) get Telegram's 20 a minute, evenly
        spaced: a burst would exceed 20 in a sliding minute."""
        if self._per_chat <= 0 or not (isinstance(chat_id, str) or chat_id < 0):
            return None
        return _limiter(self._groups, chat_id, 1, 60 / GROUP_PER_MINUTE)

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
        limiters = [self._group_limiter(chat_id), self._chat_limiter(chat_id)] if chat_id else []
        attempt = 0
        while True:
            await self._resume.wait()  # first: after a pause, sends go out paced again
            async with contextlib.AsyncExitStack() as stack:
                for limiter in (*limiters, self._total):  # the scarcest first
                    if limiter is not None:
                        await stack.enter_async_context(limiter)
                if not self._resume.is_set():  # a 429 came while this send waited its turn
                    continue
                try:
                    return await callback(*args, **kwargs)
                except RetryAfter as exc:
                    attempt += 1
                    if attempt > self._max_retries:
                        raise
                    wait = min(_seconds(exc), MAX_RETRY_WAIT)
                    log.warning(
                        "Telegram asked to slow down (%s): all sends wait %.1f s", endpoint, wait
                    )
            if self._resume.is_set():
                self._resume.clear()
                try:
                    await asyncio.sleep(wait)
                finally:
                    self._resume.set()
            else:
                await self._resume.wait()


def _limiter(
    limiters: dict[int | str, tuple[AsyncLimiter, float]],
    chat_id: int | str,
    rate: float,
    period: float,
) -> AsyncLimiter:
    """The chat's limiter; chats idle for longer than ``period`` are forgotten now and then."""
    now = time.monotonic()
    if len(limiters) > 10_000:
        for stale in [k for k, v in limiters.items() if now - v[1] >= max(period, 60)]:
            del limiters[stale]
    limiter = limiters.get(chat_id, (None, 0.0))[0] or AsyncLimiter(rate, period)
    limiters[chat_id] = (limiter, now)
    return limiter


def _seconds(error: RetryAfter) -> float:
    retry_after = error.retry_after  # a timedelta with PTB_TIMEDELTA (set by build_application)
    if isinstance(retry_after, dt.timedelta):
        return retry_after.total_seconds()
    return float(retry_after)
