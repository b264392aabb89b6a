"""What every Telegram handler shares: the services in use, flood control, sending."""

from __future__ import annotations

import logging
import time
from collections import deque
from dataclasses import dataclass, field
from enum import Enum

from telegram import LinkPreviewOptions, Message
from telegram.constants import MessageLimit, ParseMode
from telegram.ext import ContextTypes

from bot.matching.live import LiveContent
from bot.matching.reply import Reply
from bot.settings import Settings
from bot.storage.store import Store

log = logging.getLogger(__name__)

NO_PREVIEW = LinkPreviewOptions(is_disabled=True)


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


@dataclass
class Services:
    live: LiveContent
    store: Store
    settings: Settings
    flood: FloodGuard


def services(context: ContextTypes.DEFAULT_TYPE) -> Services:
    return context.application.bot_data["services"]


def split_message(text: str, limit: int = MessageLimit.MAX_TEXT_LENGTH) -> list[str]:
    """Split at blank lines or line ends so no part exceeds Telegram's limit (UTF-16 units)."""

    def size(part: str) -> int:
        return len(part.encode("utf-16-le")) // 2

    parts: list[str] = []
    current = ""
    for line in text.split("\n"):
        candidate = f"{current}\n{line}" if current else line
        if size(candidate) <= limit:
            current = candidate
            continue
        if current:
            parts.append(current)
        while size(line) > limit:  # a single overlong line: hard cut
            parts.append(line[: limit // 2])
            line = line[limit // 2 :]
        current = line
    if current:
        parts.append(current)
    return parts or [text[:1]]


async def send_html(message: Message, text: str, markup=None) -> Message:
    """Reply in HTML, split to Telegram's limit; the keyboard goes on the last part."""
    parts = split_message(text)
    sent = message
    for n, part in enumerate(parts):
        last = n == len(parts) - 1
        sent = await message.reply_text(
            part,
            parse_mode=ParseMode.HTML,
            link_preview_options=NO_PREVIEW,
            reply_markup=markup if last else None,
            do_quote=False,
        )
    return sent


async def record(context: ContextTypes.DEFAULT_TYPE, user_id: int, reply: Reply, ref: int | None):
    """Log an outcome after the resident has been answered; a failing store is logged only."""
    try:
        await services(context).store.log_message(user_id, reply, ref)
    except Exception:  # storage must never break a conversation
        log.exception("could not record an outcome")
