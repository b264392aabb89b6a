"""Live content: the engine in use, swapped whole when staff change intents/ or knowledge/.

Broken content never goes live: a reload that finds errors keeps the previous engine and
reports each problem as ``file:line: message``.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Hashable
from dataclasses import dataclass
from pathlib import Path

from bot.content.loading import load_content
from bot.content.problems import Problem, Severity
from bot.matching.batching import ReplyBatcher
from bot.matching.bursts import Bursts, burst_reply
from bot.matching.engine import Engine
from bot.matching.reply import Reply, ReplyKind

log = logging.getLogger(__name__)


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
            except OSError:
                continue
            files.append((str(path), stat.st_mtime_ns, stat.st_size))
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
        self._batcher = ReplyBatcher(lambda: self.engine.respond_many)
        self._bursts = Bursts()
        self._folders = tuple(p for p in (intents, knowledge) if p is not None)
        self._intents, self._knowledge, self._seeds = intents, knowledge, seeds
        self._seen = snapshot(self._folders)
        self._candidate: Snapshot | None = None
        self._lock = asyncio.Lock()

    async def respond(
        self, text: str, hint: str | None = None, chat: Hashable | None = None
    ) -> Reply:
        """The current engine's reply, computed off the event loop (batched with others);
        ``hint`` is the resident's Telegram language. With a ``chat`` key, the safety
        check also reads the chat's messages of the last two minutes with this one
        (``bot.matching.bursts``): danger clear only from them together gets the
        emergency reply, and the burst's later messages their own reply led by 999."""
        reply = await self._batcher.respond(text, hint)
        if chat is None:
            return reply
        now = time.monotonic()
        plain = reply.kind is ReplyKind.ANSWER and not reply.danger_prompt
        earlier = self._bursts.add(chat, text, now, plain)
        if reply.kind is ReplyKind.EMERGENCY:
            self._bursts.mark_alerted(chat, now)
        if not earlier or reply.kind in (ReplyKind.EMERGENCY, ReplyKind.CRISIS):
            return reply
        if self._bursts.alerted(chat, now):
            return burst_reply(reply, None)
        together = await self._batcher.respond("\n".join([*earlier, text]), hint)
        if together.kind is not ReplyKind.EMERGENCY:
            return reply
        self._bursts.mark_alerted(chat, now)
        return burst_reply(reply, together)

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
            content, problems = await asyncio.to_thread(
                load_content, self._intents, self._knowledge, self._seeds
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
