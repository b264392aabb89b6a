"""Which instance serves Telegram: the one holding a PostgreSQL session advisory lock.

The lock is held on a connection of its own (the store's pool opens and closes its
connections as it likes) and lasts exactly as long as that session. When the holder dies
the server ends its session and frees the lock: at once when the process is killed (its
socket is closed), within ``KEEPALIVE_SECONDS`` when its machine or network is gone
(the keepalives every connection asks for). The holder checks its connection every
``check_every`` seconds. When a check fails it reconnects and takes the lock again at
once if it can (a connection reset by a proxy, a server restarted in a moment); when it
cannot, ``lost`` returns: a standby may hold the lock now, and what the holder does about
that is its adapter's decision (``bot.telegram.standby``). ``regain`` takes it back.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

import asyncpg

from bot.storage.postgres import ACTIVE_LOCK, ERRORS, connect, connect_options, where

log = logging.getLogger(__name__)


class ActiveLock:
    def __init__(
        self, url: str, *, poll: float = 1.5, check_every: float = 1.0, timeout: float = 3.0
    ) -> None:
        self.url = url
        self._poll, self._check_every, self._timeout = poll, check_every, timeout
        self._conn: asyncpg.Connection | None = None

    async def acquire(self, waiting: Callable[[], None]) -> None:
        """Return once this instance holds the lock; ``waiting`` is called at every try
        that did not get it (each ``poll`` seconds), whether another instance holds it or
        the server cannot be reached."""
        unreachable = False
        while True:
            try:
                if self._conn is None or self._conn.is_closed():
                    self._conn = await connect(self.url, **connect_options(self._timeout))
                if await self._conn.fetchval("SELECT pg_try_advisory_lock($1)", ACTIVE_LOCK):
                    return
                unreachable = False
            except ERRORS as exc:
                if not unreachable:
                    log.warning(
                        "cannot reach PostgreSQL at %s to take the active lock (%s); retrying",
                        where(self.url),
                        exc,
                    )
                unreachable = True
                await self._close()
            waiting()
            await asyncio.sleep(self._poll)

    async def lost(self) -> BaseException:
        """Return when the lock is lost: its connection failed or did not answer within
        ``timeout`` (the error is returned), and it could not be taken again at once."""
        while True:
            await asyncio.sleep(self._check_every)
            try:
                if self._conn is None:
                    raise asyncpg.InterfaceError("the active lock's connection is closed")
                await asyncio.wait_for(self._conn.fetchval("SELECT 1"), self._timeout)
            except ERRORS as exc:
                if await self._take_again():
                    log.warning("the active lock's connection failed (%s); took it again", exc)
                    continue
                return exc

    async def regain(self) -> None:
        """After ``lost``: return once the lock is held again, trying every ``poll`` seconds
        (in vain while the server cannot be reached or another instance holds it)."""
        while True:
            if await self._take_again():
                return
            await asyncio.sleep(self._poll)

    async def _take_again(self) -> bool:
        await self._close()
        try:
            self._conn = await connect(self.url, **connect_options(self._timeout))
            return bool(await self._conn.fetchval("SELECT pg_try_advisory_lock($1)", ACTIVE_LOCK))
        except ERRORS:
            return False

    async def release(self) -> None:
        """Give the lock up (closing its session): a standby takes over at its next try."""
        await self._close()

    async def _close(self) -> None:
        if self._conn is not None:
            conn, self._conn = self._conn, None
            try:
                await asyncio.wait_for(conn.close(), self._timeout)
            except ERRORS:
                conn.terminate()
