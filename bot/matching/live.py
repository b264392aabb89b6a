"""Live content: the engine in use, swapped whole when staff change intents/ or knowledge/.

Broken content never goes live: a reload that finds errors keeps the previous engine and
reports each problem as ``file:line: message`` (many warnings of one kind as one line,
as ``validate`` shows them); so does a reload that takes too long
(``RELOAD_SECONDS``), without ever leaving the reload lock held.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from bot.content.loading import Content, load_content
from bot.content.problems import Problem, Severity, summarised
from bot.matching.engine import Engine
from bot.text import plural

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ReloadResult:
    ok: bool
    problems: list[Problem]
    summary: str


@dataclass(frozen=True)
class _Built:
    """What a reload's thread made: the content and its problems, and the engine when the
    content has no errors (and the reload was not abandoned before it began building)."""

    content: Content | None
    problems: list[Problem]
    engine: Engine | None


Snapshot = frozenset[tuple[str, int, int]]  # (path, modification time, size) per file


def snapshot(folders: tuple[Path, ...]) -> Snapshot:
    files = []
    for folder in folders:
        for path in folder.rglob("*.y*ml"):  # intents/_safety/ too
            try:
                stat = path.stat()
                files.append((str(path), stat.st_mtime_ns, stat.st_size))
            except OSError:  # a broken link, or one to itself: removing it is a change too
                files.append((str(path), -1, -1))
    return frozenset(files)


class LiveContent:
    def __init__(
        self,
        engine: Engine,
        intents: Path | None = None,
        knowledge: Path | None = None,
        seeds: Path | None = None,
    ) -> None:
        self.engine = engine
        self._folders = tuple(p for p in (intents, knowledge) if p is not None)
        self._intents, self._knowledge, self._seeds = intents, knowledge, seeds
        self._seen = snapshot(self._folders)
        self._candidate: Snapshot | None = None
        self._lock = asyncio.Lock()
        self._building: asyncio.Future[_Built] | None = None  # the last reload's thread
        self._stop = threading.Event()  # set when that reload is abandoned
        # (when, limit) of the last reload abandoned for time; None once one completes.
        self.abandoned: tuple[float, float] | None = None

    def changed_and_settled(self) -> bool:
        """True once files differ from the live version and have stayed the same for one
        check, so a file still being saved is not loaded half-written."""
        if not self._folders:
            return False
        now = snapshot(self._folders)
        if now == self._seen:
            self._candidate = None
            return False
        if now != self._candidate:
            self._candidate = now
            return False
        return True

    async def reload(self, limit: float) -> ReloadResult:
        """Read the content and build its engine, then swap it in; errors keep the live one.

        Reading and building run in a thread, and a thread cannot be stopped: a reload
        still running after ``limit`` seconds (``RELOAD_SECONDS``) is abandoned. The lock is
        then released at once, the previous engine stays live, and the thread's result is
        discarded when it ends (it skips building the engine if abandoned before it began).
        So the lock (one reload at a time) is held only while a reload waits for its own
        build, never by the thread: it is free again within ``limit``. The next reload
        first waits for an abandoned thread, within its own limit, so abandoned work never
        piles up: one build runs at a time. The files seen when it was abandoned count as
        loaded: the watcher does not try them again every few seconds, a later edit (or
        ``/reload``) does."""
        intents, knowledge = self._intents, self._knowledge
        if intents is None or knowledge is None:
            return ReloadResult(False, [], "this bot was started without content folders")
        async with self._lock:
            seen = snapshot(self._folders)
            try:
                async with asyncio.timeout(limit):
                    if self._building is not None:  # an abandoned build, maybe still running
                        await asyncio.wait({self._building})
                    self._building = self._start_build(intents, knowledge)
                    built = await asyncio.shield(self._building)
            except TimeoutError:
                return self._abandon(seen, limit)
            self._seen, self._candidate = seen, None
            self.abandoned = None
            shown = summarised(built.problems)  # many warnings of one kind: one line
            for problem in shown:
                level = logging.ERROR if problem.severity is Severity.ERROR else logging.WARNING
                log.log(level, "content: %s", problem)
            if built.content is None or built.engine is None:
                errors = [p for p in built.problems if p.severity is Severity.ERROR]
                log.error(
                    "content change not applied (%s); still serving the previous answers",
                    plural(len(errors), "error"),
                )
                return ReloadResult(
                    False,
                    errors,
                    f"Content NOT reloaded: {plural(len(errors), 'error')}; the bot keeps the "
                    "previous answers.",
                )
            self.engine = built.engine
            warnings = len(built.problems)
            summary = (
                f"Content reloaded: {len(built.content.intents)} topics, "
                f"{len(built.content.facts)} facts"
                + (f", {plural(warnings, 'warning')}" if warnings else "")
                + "."
            )
            log.info(summary)
            return ReloadResult(True, shown, summary)

    def _start_build(self, intents: Path, knowledge: Path) -> asyncio.Future[_Built]:
        self._stop = threading.Event()
        work = asyncio.to_thread(self._build, intents, knowledge, self._stop)
        build = asyncio.ensure_future(work)
        build.add_done_callback(functools.partial(self._ended, self._stop, time.monotonic()))
        return build

    def _build(self, intents: Path, knowledge: Path, abandoned: threading.Event) -> _Built:
        """In the reload's thread."""
        content, problems = load_content(intents, knowledge, self._seeds)
        if content is None or abandoned.is_set():
            return _Built(content, problems, None)
        engine = Engine(content, self.engine.encoder, self.engine.cache_dir)
        return _Built(content, problems, engine)

    def _abandon(self, seen: Snapshot, limit: float) -> ReloadResult:
        self._stop.set()
        self._seen, self._candidate = seen, None
        self.abandoned = (time.time(), limit)
        log.error(
            "content not reloaded: reloading took longer than %g s (RELOAD_SECONDS); "
            "still serving the previous answers",
            limit,
        )
        return ReloadResult(
            False,
            [],
            f"Content NOT reloaded: reloading took longer than {limit:g} s; the last good "
            "content is still live. Send /reload to try again; if reloads often take this "
            "long, raise RELOAD_SECONDS.",
        )

    @staticmethod
    def _ended(abandoned: threading.Event, started: float, build: asyncio.Future[_Built]) -> None:
        """An abandoned build's end, or its error, is logged here: no one awaits it. The
        error's type only: its message can quote a content file."""
        if not abandoned.is_set() or build.cancelled():
            return
        error = build.exception()
        log.info(
            "a reload abandoned for time ended after %.1f s%s; its result was discarded",
            time.monotonic() - started,
            f" ({type(error).__name__})" if error else "",
        )
