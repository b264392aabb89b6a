"""Pieces of the Telegram adapter that are about limits rather than conversations."""

import asyncio
import time

from telegram.ext import ExtBot

from bot.app.flood import FloodGuard, FloodVerdict
from bot.telegram.ratelimit import PacingRateLimiter
from bot.telegram.sending import split_message
from tests.fake_telegram import FakeBotAPI
from tests.telegram_harness import TOKEN


def test_long_replies_are_split_at_line_ends_within_telegrams_limit():
    text = "\n".join(f"line {n} " + "x" * 90 for n in range(100))  # ~10,000 characters
    parts = split_message(text)
    assert len(parts) == 3
    assert all(len(p) <= 4096 for p in parts)
    assert "\n".join(parts) == text


def test_the_limit_counts_utf16_units_so_emoji_count_double():
    text = "🚓" * 3000  # 3,000 characters but 6,000 UTF-16 units, on one line
    parts = split_message(text)
    assert all(len(p.encode("utf-16-le")) // 2 <= 4096 for p in parts)
    assert "".join(parts) == text


def test_flood_guard_warns_once_then_drops_until_the_window_passes():
    guard = FloodGuard(limit=3, seconds=10)
    verdicts = [guard.check(1, now=t) for t in (0, 1, 2, 3, 4, 5)]
    ok, warn, drop = FloodVerdict.OK, FloodVerdict.WARN, FloodVerdict.DROP
    assert verdicts == [ok, ok, ok, warn, drop, drop]
    assert guard.check(2, now=5) is ok  # someone else is unaffected
    assert guard.check(1, now=13) is ok  # the window has moved on


async def _bot(fake: FakeBotAPI) -> ExtBot:
    bot = ExtBot(TOKEN, request=fake, get_updates_request=fake, rate_limiter=PacingRateLimiter())
    await bot.initialize()
    return bot


async def test_a_429_pauses_sends_to_every_chat_then_the_send_is_retried(monkeypatch):
    monkeypatch.setenv("PTB_TIMEDELTA", "1")  # as build_application sets it
    fake = FakeBotAPI()
    bot = await _bot(fake)
    fake.fail_next("sendMessage", 429, "Too Many Requests: retry after 1", retry_after=1)
    started = time.monotonic()

    async def other_chat() -> float:
        await asyncio.sleep(0.1)  # after the 429
        await bot.send_message(2, "to another chat")
        return time.monotonic() - started

    _, other = await asyncio.gather(bot.send_message(1, "first"), other_chat())
    assert other >= 0.95  # it waited out the pause meant for the whole bot
    assert [c.params["chat_id"] for c in fake.sent()] == [1, 2]
    await bot.shutdown()


async def test_replies_to_a_group_are_spaced_to_twenty_a_minute():
    fake = FakeBotAPI()
    bot = await _bot(fake)
    started = time.monotonic()
    await bot.send_message(-100, "one")
    await bot.send_message(-100, "two")
    assert time.monotonic() - started >= 2.9
    await bot.send_message(5, "a private chat is not held up by it")
    assert len(fake.sent()) == 3
    await bot.shutdown()
