"""Pieces of the Telegram adapter that are about limits rather than conversations."""

from bot.telegram.ratelimit import FloodGuard, FloodVerdict
from bot.telegram.sending import split_message


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
