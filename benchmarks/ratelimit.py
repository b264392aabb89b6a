"""Outgoing rate limiters against a fake Telegram that enforces Telegram's limits.

    .venv/bin/python -m benchmarks.ratelimit

The fake answers 429 (retry_after 2 s) to a send that breaks a limit: more than a burst of
3 and then 1 a second to one chat, 20 a minute to one group, 30 a second overall; a send
made while a 429's wait is running counts as ignoring it. Traffic: 30 residents who each
send 4 questions at once, one group that gets 22 replies, then one 429 from Telegram in
the middle of a burst. Compared: PTB's AIORateLimiter (3 retries) and PacingRateLimiter.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import time
from collections import defaultdict, deque
from typing import Any

from telegram.ext import AIORateLimiter, BaseRateLimiter, ExtBot
from telegram.request import BaseRequest, RequestData

from bot.telegram.ratelimit import PacingRateLimiter
from tests.fake_telegram import BOT_USER


class StrictTelegram(BaseRequest):
    def __init__(self) -> None:
        self.sent: dict[int, list[float]] = defaultdict(list)
        self.all: deque[float] = deque()
        self.refused = 0
        self.ignored_wait = 0
        self.blocked_until = 0.0
        self.forced_429 = 1

    async def initialize(self) -> None:
        return None

    async def shutdown(self) -> None:
        return None

    @property
    def read_timeout(self) -> float:
        return 1.0

    async def do_request(self, url: str, method: str, request_data: RequestData | None = None,
                         *args: Any, **kwargs: Any) -> tuple[int, bytes]:  # fmt: skip
        name = url.rsplit("/", 1)[-1]
        params = dict(request_data.parameters) if request_data else {}
        if name == "getMe":
            return 200, json.dumps({"ok": True, "result": BOT_USER}).encode()
        now = time.monotonic()
        chat = int(params["chat_id"])
        if now < self.blocked_until:
            self.ignored_wait += 1
            self.refused += 1
            return _too_many(self.blocked_until - now)
        history = self.sent[chat]
        while self.all and now - self.all[0] > 1:
            self.all.popleft()
        over_chat = chat > 0 and len([t for t in history if now - t < 3]) >= 3 + 2
        over_group = chat < 0 and len([t for t in history if now - t < 60]) >= 20
        # the overall limit with some slack: limiters let a second's worth go at once
        if over_chat or over_group or len(self.all) >= 40:
            return self._block(now)
        if self.forced_429 and len(self.all) > 20:  # one 429 out of the blue, mid-burst
            self.forced_429 -= 1
            return self._block(now)
        history.append(now)
        self.all.append(now)
        message = {"message_id": 1, "date": 0, "chat": {"id": chat, "type": "private"}}
        return 200, json.dumps({"ok": True, "result": message}).encode()

    def _block(self, now: float) -> tuple[int, bytes]:
        self.refused += 1
        self.blocked_until = now + 2
        return _too_many(2)


def _too_many(seconds: float) -> tuple[int, bytes]:
    body = {"ok": False, "error_code": 429, "description": "Too Many Requests",
            "parameters": {"retry_after": max(1, round(seconds))}}  # fmt: skip
    return 429, json.dumps(body).encode()


async def measure(name: str, limiter: BaseRateLimiter[Any]) -> None:
    fake = StrictTelegram()
    bot: ExtBot[Any] = ExtBot("1:x", request=fake, get_updates_request=fake, rate_limiter=limiter)
    await bot.initialize()
    sends = [(1000 + r, f"answer {n}") for r in range(30) for n in range(4)]
    sends += [(-100, f"group answer {n}") for n in range(22)]
    start = time.monotonic()
    results = await asyncio.gather(
        *(bot.send_message(chat, text) for chat, text in sends), return_exceptions=True
    )
    took = time.monotonic() - start
    lost = sum(isinstance(r, Exception) for r in results)
    await bot.shutdown()
    print(
        f"{name:20} delivered {len(sends) - lost}/{len(sends)}, lost {lost}, "
        f"429s {fake.refused}, sends during a 429 wait {fake.ignored_wait}, {took:.1f} s"
    )


async def main() -> None:
    os.environ.setdefault("PTB_TIMEDELTA", "1")  # as build_application sets it
    logging.getLogger("bot.telegram.ratelimit").setLevel(logging.ERROR)
    await measure("AIORateLimiter", AIORateLimiter(max_retries=3))
    await measure("PacingRateLimiter", PacingRateLimiter())


if __name__ == "__main__":
    asyncio.run(main())
