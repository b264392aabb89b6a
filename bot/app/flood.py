"""The incoming flood guard every channel puts in front of answering: per user on
Telegram, per session and per address on the web."""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Hashable
from dataclasses import dataclass, field
from enum import Enum


class FloodVerdict(Enum):
    OK = "ok"  # within the limit: handle the update
    WARN = "warn"  # the first update over the limit: say "please slow down" once
    DROP = "drop"  # over the limit and already warned: ignore


@dataclass
class FloodGuard:
    """Per-key sliding window: past the limit, one "slow down" and the rest dropped."""

    limit: int
    seconds: float
    _seen: dict[Hashable, deque[float]] = field(default_factory=dict)
    _warned: set[Hashable] = field(default_factory=set)

    def check(self, key: Hashable, now: float | None = None) -> FloodVerdict:
        """The verdict on one more message from ``key`` (a user, a session, an address)."""
        now = time.monotonic() if now is None else now
        if len(self._seen) > 50_000:  # forget users who have been quiet for a window
            self._seen = {u: w for u, w in self._seen.items() if w and now - w[-1] <= self.seconds}
            self._warned &= set(self._seen)
        window = self._seen.setdefault(key, deque())
        while window and now - window[0] > self.seconds:
            window.popleft()
        if len(window) < self.limit:
            window.append(now)
            self._warned.discard(key)
            return FloodVerdict.OK
        if key in self._warned:
            return FloodVerdict.DROP
        self._warned.add(key)
        return FloodVerdict.WARN
