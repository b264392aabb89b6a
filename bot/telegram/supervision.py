"""No silent death: the bot's long-running parts are watched, started again when they end,
and counted, so ``/stats`` and the health file say what happened.

* Polling (PTB's task that fetches updates): an exception it does not expect, or a
  cancellation leaking out of the network layer, ends it while the bot looks alive and
  answers nothing. A job checks every second and starts polling again.
* The question log's writer restarts itself (``QueuedStore``), the content watcher
  looks again at its next run after a failure (``bot.app.watching``), and the active
  lock's watch goes on after one (``bot.telegram.standby``); all are counted here too.
* Records no database could hold, set aside (``QueuedStore.refused``), and updates
  skipped because they could not be read (``InboxBot.unreadable``) are counted.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import Counter
from typing import Any

from telegram import Update
from telegram.ext import Application

log = logging.getLogger(__name__)

ALLOWED_UPDATES = [Update.MESSAGE, Update.CALLBACK_QUERY]
POLLING_TASK = "Updater:start_polling:polling_task"  # the name PTB gives its polling task
_RESTARTS = "restarts"


def restarts(app: Application[Any, Any, Any, Any, Any, Any]) -> Counter[str]:
    """What was started again in this run, by name."""
    found: Counter[str] = app.bot_data.setdefault(_RESTARTS, Counter())
    return found


def trouble(app: Application[Any, Any, Any, Any, Any, Any]) -> list[str]:
    """Lines for the health file and ``/stats`` about restarts and records set aside."""
    counts = +(restarts(app) + Counter({"question-log writer": _store_count(app, "restarts")}))
    lines = []
    if counts:
        each = [f"{name} {n}×" for name, n in sorted(counts.items())]
        lines.append("restarted: " + ", ".join(each))
    refused = _store_count(app, "refused")
    if refused:
        lines.append(f"{refused} question-log records set aside (no database could hold them)")
    unreadable = int(getattr(app.bot, "unreadable", 0))
    if unreadable:
        lines.append(f"{unreadable} updates skipped: they could not be read (the log says why)")
    watcher = app.bot_data["services"].assistant.watcher.trouble()
    return [*lines, watcher] if watcher else lines


def _store_count(app: Application[Any, Any, Any, Any, Any, Any], name: str) -> int:
    store = app.bot_data["services"].assistant.store
    return int(getattr(store, name, 0))


def _polling_alive() -> bool:
    return any(t.get_name() == POLLING_TASK for t in asyncio.all_tasks())


async def supervise(app: Application[Any, Any, Any, Any, Any, Any]) -> None:
    """Start polling again if it has ended while the bot runs (a job, every second)."""
    updater = app.updater
    if updater is None or not updater.running or not app.running or _polling_alive():
        return
    restarts(app)["polling"] += 1
    log.error("polling for updates stopped unexpectedly; starting it again")
    with contextlib.suppress(Exception):  # the ended task's own error: logged above
        await updater.stop()
    if app.running and not updater.running:
        await updater.start_polling(allowed_updates=ALLOWED_UPDATES)
