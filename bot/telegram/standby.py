"""Active and standby instances on one PostgreSQL database (``DATABASE_URL``).

Any number may start; the one holding the active lock (``bot.storage.active``) polls
Telegram, the others wait in ``post_init`` (before polling starts), saying "standby" in
the health file. A standby that gets the lock answers the inbox's unanswered updates,
then polls.

An active instance that loses the lock (its connection failed and it could not be taken
again at once) goes on polling and answering: PostgreSQL may be out of reach of every
instance, and residents must still get their answers (records wait in memory and the
fallback file, as they do whenever the store fails). It tries to take the lock back every
1.5 s, and its health line says "lock lost since HH:MM" meanwhile. Two instances still
never poll at once, because Telegram fences them: a bot has one ``getUpdates`` poller, and
when a second one polls, the first one's ``getUpdates`` fails with 409 Conflict. So a
Conflict while the lock is lost means a standby has taken it and polls: this instance
answers what it has already received, saves its unwritten records and exits with
``LOST_LOCK_EXIT`` (restarted, it waits as a standby). A Conflict while holding the lock
is left to PTB's usual retry: it is the other poller that must go.

A webhook has no such fence: Telegram posts to the address, the proxy in front passes each
call to whichever instance listens, and nothing would ever tell the instance that lost
the lock that a standby serves now. An instance serving the webhook therefore exits at
once when it loses the lock, before the server frees it (see ``ActiveLock``).
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import os
import time
import traceback
from typing import Any, NoReturn

from telegram.ext import Application

from bot.storage.active import ActiveLock
from bot.storage.store import Store
from bot.telegram import supervision
from bot.telegram.health import STANDBY, active_line, write_health
from bot.telegram.inbox import DurableQueue, InboxBot
from bot.telegram.services import BotApplication, services_of

log = logging.getLogger(__name__)

LOST_LOCK_EXIT = 75  # EX_TEMPFAIL: try again (the restarted instance becomes a standby)
DRAIN_SECONDS = 10.0  # replaced: at most this long to answer what was already received
_LOST_SINCE = "active_lock_lost_since"  # bot_data: when the lock was lost, while it is
LOCK_WATCH = "active-lock watch"  # its name in /stats and the health line when restarted
RETAKE_PAUSE = 1.5  # seconds after an unexpected failure of the watch, before trying again


async def wait_until_active(app: BotApplication) -> None:
    """With PostgreSQL, return once this instance holds the active lock (at once with
    SQLite, which only one instance uses)."""
    svc = services_of(app)
    if not svc.assistant.settings.database_url:
        return
    lock = ActiveLock(svc.assistant.settings.database_url)
    said = False

    def waiting() -> None:
        nonlocal said
        if not said:
            log.info("standby: another instance is active; this one takes over when it stops")
            said = True
        write_health(svc.assistant.settings.health_file, STANDBY)

    await lock.acquire(waiting)
    log.info("this instance is now the active one: it serves Telegram")
    write_health(svc.assistant.settings.health_file, health_line(app))
    app.bot_data["active_lock"] = lock
    app.bot_data["lock_watch"] = asyncio.create_task(_keep_the_lock(app, lock))
    if isinstance(app.bot, InboxBot) and not svc.assistant.settings.webhook:
        app.bot.on_conflict(functools.partial(_another_polls, app))


def health_line(app: Application[Any, Any, Any, Any, Any, Any]) -> str:
    """The active instance's health line: "active", then the lost lock and the question
    log's trouble when there is any."""
    trouble = []
    lost_since: float | None = app.bot_data.get(_LOST_SINCE)
    if lost_since is not None:
        trouble.append(f"lock lost since {time.strftime('%H:%M', time.localtime(lost_since))}")
    store = services_of(app).assistant.store.health()
    if store is not None:
        trouble.append(store)
    trouble += supervision.trouble(app)
    return active_line("; ".join(trouble) or None)


async def _keep_the_lock(app: BotApplication, lock: ActiveLock) -> None:
    """Supervised like the other background tasks (``bot.telegram.supervision``): an error
    it does not expect (asyncpg's ``UnicodeDecodeError`` on a server error that is not
    UTF-8, say) is logged by type and place, counted for ``/stats`` and the health line,
    and the watch goes on. It ended silently before: a later loss of the lock went
    unnoticed. After such an error the lock's connection may be in any state, so the lock
    is taken as lost and taken again (with a webhook, the process stops, as on any loss)."""
    lost = False
    while True:
        try:
            if not lost:
                error = await lock.lost()
                lost = True
                _lock_lost(app, str(error))
            await lock.regain()
            lost = False
            app.bot_data[_LOST_SINCE] = None
            log.info("took the active lock again; this instance stays the active one")
            write_health(services_of(app).assistant.settings.health_file, health_line(app))
        except Exception as exc:  # noqa: BLE001 - whatever it was: counted, and the watch goes on
            supervision.restarts(app)[LOCK_WATCH] += 1
            frame = traceback.extract_tb(exc.__traceback__)[-1]
            log.error(
                "the active-lock watch failed (%s at %s:%d); taking the lock again",
                type(exc).__name__,
                frame.filename,
                frame.lineno or 0,
            )
            if not lost:
                lost = True
                _lock_lost(app, f"the watch failed: {type(exc).__name__}")
            await asyncio.sleep(RETAKE_PAUSE)


def _lock_lost(app: BotApplication, error: str) -> None:
    svc = services_of(app)
    if svc.assistant.settings.webhook:
        log.critical("lost the connection that holds the active lock: %s", error)
        _stop_now(svc.assistant.store)
    app.bot_data[_LOST_SINCE] = time.time()
    log.warning(
        "lost the active lock (%s); still serving while no other instance polls; retrying",
        error,
    )
    write_health(svc.assistant.settings.health_file, health_line(app))


async def _another_polls(app: BotApplication) -> None:
    """``getUpdates`` got 409 Conflict. Holding the lock: return (PTB retries). With the
    lock lost: a standby has it and polls, so answer what was received, then stop."""
    if app.bot_data.get(_LOST_SINCE) is None:
        return
    log.warning(
        "another instance polls Telegram (409 Conflict) and this one has lost the active "
        "lock: answering what it received, then stopping"
    )
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(_answered_all(app), DRAIN_SECONDS)
    _stop_now(services_of(app).assistant.store)


async def _answered_all(app: BotApplication) -> None:
    queue = app.update_queue
    if isinstance(queue, DurableQueue):
        await queue.written()
    await queue.join()  # PTB marks each update's task done once its handlers have finished


def _stop_now(store: Store) -> NoReturn:
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
