"""A stop that ends in time: SIGTERM (Docker waits 10 s, then kills) finishes within
``SHUTDOWN_SECONDS``, however many replies are still waiting for their turn (a busy group
gets 20 a minute).

Replies in progress get most of the time; what is left when it runs out is cut short.
Those updates stay pending in the inbox and are answered at the next start, and the log
says how many. The rest of the time is the question log's, to write what it holds or save
it to the fallback file (``QueuedStore.close`` says how much it could not).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Generator
from typing import Any, TypeVar

from bot.telegram.inbox import InboxApplication

log = logging.getLogger(__name__)

RT = TypeVar("RT")
# Of SHUTDOWN_SECONDS: replies in progress get the first 60%; those still waiting are cut
# short, and the question log keeps the last 30% to write what it holds.
REPLIES_SHARE, STORE_SHARE = 0.6, 0.3


class StoppingApplication(InboxApplication):
    """PTB's Application (with the inbox), whose ``stop`` is bounded."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:  # noqa: ANN401 -- PTB's signature
        super().__init__(*args, **kwargs)
        self.shutdown_seconds = 10.0
        self.stop_deadline: float | None = None  # time.monotonic() by which all must be done
        self._handling: set[asyncio.Task[Any]] = set()

    def create_task(
        self,
        coroutine: Generator[asyncio.Future[object], None, RT] | Awaitable[RT],
        update: object | None = None,
        *,
        name: str | None = None,
    ) -> asyncio.Task[RT]:
        """As PTB's, and kept: the tasks handling updates are the ones a stop may cut."""
        task: asyncio.Task[RT] = super().create_task(coroutine, update, name=name)
        self._handling.add(task)
        task.add_done_callback(self._handling.discard)
        return task

    def seconds_left(self) -> float:
        """Until the stop's deadline (the full time when no stop has begun)."""
        if self.stop_deadline is None:
            return self.shutdown_seconds
        return max(0.0, self.stop_deadline - time.monotonic())

    async def stop(self) -> None:
        self.stop_deadline = time.monotonic() + self.shutdown_seconds
        stopping = asyncio.ensure_future(super().stop())
        await asyncio.wait({stopping}, timeout=self.shutdown_seconds * REPLIES_SHARE)
        cut: set[asyncio.Task[Any]] = set()
        while not stopping.done() and self.seconds_left() > self.shutdown_seconds * STORE_SHARE:
            for task in [t for t in self._handling if not t.done() and t not in cut]:
                task.cancel()
                cut.add(task)
            await asyncio.wait({stopping}, timeout=0.05)
        if cut:
            log.warning(
                "shutdown: %d updates were not answered within SHUTDOWN_SECONDS (%.0f s); "
                "they stay in the inbox and are answered at the next start",
                len(cut),
                self.shutdown_seconds,
            )
        if stopping.done():
            stopping.result()
        else:  # a job that does not stop (a reload reading files): leave it behind
            log.error("shutdown: stopping without waiting for a job still running")
