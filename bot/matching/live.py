"""Live content: the engine in use, swapped whole when staff change intents/ or knowledge/.

Broken content never goes live: a reload that finds errors keeps the previous engine and
reports each problem as ``file:line: message``.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from pathlib import Path

from bot.content.loading import load_content
from bot.content.problems import Problem, Severity
from bot.matching.engine import Engine

log = logging.getLogger(__name__)
# Reading the YAML takes well under a second; past this a reload gives up and frees the lock
# (the reading thread may go on, but no later reload or /reload waits for it).
READ_LIMIT = 30


@dataclass(frozen=True)
class ReloadResult:
    ok: bool
    problems: list[Problem]
    summary: str


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

    async def reload(self) -> ReloadResult:
        if self._intents is None or self._knowledge is None:
            return ReloadResult(False, [], "this bot was started without content folders")
        async with self._lock:
            seen = snapshot(self._folders)
            try:
                content, problems = await asyncio.wait_for(
                    asyncio.to_thread(load_content, self._intents, self._knowledge, self._seeds),
                    READ_LIMIT,
                )
            except TimeoutError:
                log.error("content not reloaded: reading it took over %d s", READ_LIMIT)
                return ReloadResult(
                    False,
                    [],
                    f"Content NOT reloaded: reading the files took over {READ_LIMIT} s "
                    "(a very large or unusual file?); the bot keeps the previous answers.",
                )
            self._seen, self._candidate = seen, None
            for problem in problems:
                level = logging.ERROR if problem.severity is Severity.ERROR else logging.WARNING
                log.log(level, "content: %s", problem)
            if content is None:
                errors = [p for p in problems if p.severity is Severity.ERROR]
                log.error(
                    "content change not applied (%d errors); still serving the previous answers",
                    len(errors),
                )
                return ReloadResult(
                    False,
                    errors,
                    f"Content NOT reloaded: {len(errors)} "
                    "error(s); the bot keeps the previous answers.",
                )
            self.engine = await asyncio.to_thread(
                Engine, content, self.engine.encoder, self.engine.cache_dir
            )
            warnings = len(problems)
            summary = (
                f"Content reloaded: {len(content.intents)} topics, "
                f"{len(content.facts)} facts"
                + (f", {warnings} warning(s)" if warnings else "")
                + "."
            )
            log.info(summary)
            return ReloadResult(True, problems, summary)
