"""Hertfordshire community safety assistant."""

import os

# Opt in to PTB's future behaviour (RetryAfter.retry_after as a timedelta, which
# bot.telegram.ratelimit handles) instead of a deprecation warning on every 429.
os.environ.setdefault("PTB_TIMEDELTA", "1")
