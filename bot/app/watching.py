"""The content watcher every channel runs: staff edits to intents/ and knowledge/ go live
without a restart.

A look that fails (a file the loader trips on, such as a link to itself) must not end the
watching: it is logged (the error's type and where it was raised, never a file's contents,
which an exception's message can quote), counted for ``/stats``, the health line and the
web chat's status, and the next look tries again. Staff are told once per run of
failures, not at every look. Only cancellation (at shutdown) ends ``run``.
"""

from __future__ import annotations

import asyncio
import logging
import time
import traceback
from collections.abc import Awaitable, Callable

from bot.matching.live import LiveContent, ReloadResult

log = logging.getLogger(__name__)

OnReload = Callable[[ReloadResult], Awaitable[None]]


class ContentWatcher:
    def __init__(self, live: LiveContent, limit: float) -> None:
        """``limit``: how long a reload may take (``RELOAD_SECONDS``; see ``LiveContent``)."""
        self._live = live
        self._limit = limit
        self.failures = 0  # looks that raised, in this run
        self._failed_at: float | None = None
        self._failing = False  # the last look raised

    async def look(self) -> ReloadResult | None:
        """Reload once content files have changed and settled. None when nothing changed,
        and for a failure already reported."""
        told = self._failing
        try:
            changed = self._live.changed_and_settled()
            result = await self._live.reload(self._limit) if changed else None
        except Exception as exc:  # noqa: BLE001 - any failure: counted, and the next look retries
            failure = self._failed(exc)
            return None if told else failure
        self._worked()
        return result

    async def reload(self) -> ReloadResult:
        """``/reload``: at once, changed or not; a failure is counted and said as a look's."""
        try:
            result = await self._live.reload(self._limit)
        except Exception as exc:  # noqa: BLE001 - the admin is told, whatever it was
            return self._failed(exc)
        self._worked()
        return result

    def _worked(self) -> None:
        if self._failing:
            log.info("the content watcher works again")
            self._failing = False

    def _failed(self, exc: Exception) -> ReloadResult:
        self.failures += 1
        self._failed_at = time.time()
        frame = traceback.extract_tb(exc.__traceback__)[-1]
        # Once per run of failures at ERROR: a broken file fails every look until fixed.
        log.log(
            logging.DEBUG if self._failing else logging.ERROR,
            "the content watcher failed (%s at %s:%d); the bot keeps the previous answers "
            "and looks again at its next run",
            type(exc).__name__,
            frame.filename,
            frame.lineno or 0,
        )
        self._failing = True
        summary = (
            f"Content NOT reloaded: reading the files failed ({type(exc).__name__}); "
            "the bot keeps the previous answers and tries again every few seconds. "
            "Check the content folders for unusual files; the log says where it failed."
        )
        return ReloadResult(False, [], summary)

    def trouble(self) -> str | None:
        """A line for ``/stats`` and the health line, once a look has failed or the last
        reload was abandoned for time (until one completes)."""
        lines = []
        if self._failed_at is not None:
            state = "failing" if self._failing else "working again"
            lines.append(
                f"content watcher failed {self.failures}× (last at {_clock(self._failed_at)}; "
                f"{state})"
            )
        if self._live.abandoned is not None:
            when, limit = self._live.abandoned
            lines.append(
                f"content reload at {_clock(when)} took longer than {limit:g} s; "
                "the last good content is still live"
            )
        return "; ".join(lines) or None

    async def run(self, every: float, on_reload: OnReload) -> None:
        """Look every ``every`` seconds until cancelled; ``on_reload`` is told each result
        (a failure of its own is logged like a look's)."""
        while True:
            await asyncio.sleep(every)
            result = await self.look()
            if result is None:
                continue
            try:
                await on_reload(result)
            except Exception as exc:  # noqa: BLE001 - telling staff must not end the watching
                log.error("could not report a content reload: %s", type(exc).__name__)


def _clock(moment: float) -> str:
    return time.strftime("%H:%M", time.localtime(moment))
