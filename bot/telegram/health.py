"""The health file: one line saying what this instance is doing, rewritten while its
event loop runs, for the container's health check (``python -m bot health``).

"active" (serving Telegram), "standby" (waiting for the active lock), or "active; …" with
what is wrong: "lock lost since HH:MM" (still serving, see ``bot.telegram.standby``),
"question log unavailable since HH:MM, N records waiting" while the store fails.
"""

from __future__ import annotations

import logging
import os
import time
from pathlib import Path

log = logging.getLogger(__name__)

ACTIVE, STANDBY = "active", "standby"
STALE_AFTER = 120.0  # seconds without a rewrite: the event loop is stuck (4 heartbeats missed)


def active_line(trouble: str | None) -> str:
    """The active instance's line; ``trouble`` is the store's health, when it has any."""
    return f"{ACTIVE}; {trouble}" if trouble else ACTIVE


_unwritable: set[Path] = set()  # health files that failed: said once, until they work


def write_health(path: Path | None, line: str) -> None:
    """Replace the file's line in one step (a reader never sees half of it). A file that
    cannot be written (a read-only disk) is reported once, and again once it works."""
    if path is None:
        return
    part = path.with_name(f".{path.name}.{os.getpid()}")
    try:
        part.write_text(line + "\n", encoding="utf-8")
        part.replace(path)
    except OSError as exc:
        if path not in _unwritable:
            log.warning("cannot write the health file %s: %s", path, exc.strerror)
            _unwritable.add(path)
        return
    if path in _unwritable:
        _unwritable.discard(path)
        log.info("the health file %s is written again", path)


def read_health(path: Path, now: float | None = None) -> tuple[bool, str]:
    """(healthy, what to print): healthy when the file was written in the last
    ``STALE_AFTER`` seconds and says active or standby."""
    try:
        line = path.read_text(encoding="utf-8").strip()
        age = (time.time() if now is None else now) - path.stat().st_mtime
    except FileNotFoundError:
        return False, f"no health file at {path}: the bot is not running (or not started yet)"
    except OSError as exc:
        return False, f"cannot read the health file {path}: {exc.strerror}"
    if age > STALE_AFTER:
        return False, f"stale: {line or 'empty'}, last written {age:.0f} s ago"
    return line.split(";")[0] in (ACTIVE, STANDBY), line
