"""Active and standby instances on one PostgreSQL database (``DATABASE_URL``).

Any number may start; the one holding the active lock (``bot.storage.active``) polls
Telegram, the others wait in ``post_init`` (before polling starts), saying "standby" in
the health file. A standby that gets the lock answers the inbox's unanswered updates,
then polls. An active instance whose lock connection fails stops at once (exit status
``LOST_LOCK_EXIT``, so the container is restarted, as a standby): a standby may already
hold the lock, and two instances must never answer the same updates.
"""

from __future__ import annotations

import asyncio
import logging
import os

from bot.storage.active import ActiveLock
from bot.storage.store import Store
from bot.telegram.health import STANDBY, active_line, write_health
from bot.telegram.services import BotApplication, services_of

log = logging.getLogger(__name__)

LOST_LOCK_EXIT = 75  # EX_TEMPFAIL: try again (the restarted instance becomes a standby)


async def wait_until_active(app: BotApplication) -> None:
    """With PostgreSQL, return once this instance holds the active lock (at once with
    SQLite, which only one instance uses)."""
    svc = services_of(app)
    if not svc.settings.database_url:
        return
    lock = ActiveLock(svc.settings.database_url)
    said = False

    def waiting() -> None:
        nonlocal said
        if not said:
            log.info("standby: another instance is active; this one takes over when it stops")
            said = True
        write_health(svc.settings.health_file, STANDBY)

    await lock.acquire(waiting)
    log.info("this instance is now the active one: it serves Telegram")
    write_health(svc.settings.health_file, active_line(svc.store.health()))
    app.bot_data["active_lock"] = lock
    app.bot_data["lock_watch"] = asyncio.create_task(_stop_if_lost(lock, svc.store))


async def _stop_if_lost(lock: ActiveLock, store: Store) -> None:
    await lock.lost()
    saved = store.save_unwritten()
    log.critical(
        "stopping now so that two instances never serve at once (%d question-log records "
        "saved for the next start); restarted, this instance waits as a standby",
        saved,
    )
    logging.shutdown()  # the lines above reach the log before the process ends
    os._exit(LOST_LOCK_EXIT)


async def step_down(app: BotApplication) -> None:
    """At shutdown, after the store has written what it could: free the lock, so a
    standby takes over within a poll."""
    watch: asyncio.Task[None] | None = app.bot_data.pop("lock_watch", None)
    if watch is not None:
        watch.cancel()
    lock: ActiveLock | None = app.bot_data.pop("active_lock", None)
    if lock is not None:
        await lock.release()
