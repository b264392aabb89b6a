"""Answering off the event loop, with messages that arrive together answered in one batch.

The sentence encoder costs a few milliseconds a message, and less per message in a batch.
Run on the event loop it would stall every other chat; here each batch runs in a worker
thread (onnxruntime releases the GIL), and messages that arrive while one runs wait for
the next, so a burst is encoded in a few large batches instead of many small ones.
"""

from __future__ import annotations

import asyncio

from bot.matching.live import LiveContent
from bot.matching.reply import Reply


class ReplyBatcher:
    def __init__(self, live: LiveContent, max_batch: int = 64, workers: int = 2) -> None:
        """Each batch is answered by the engine live when it starts (a reload swaps it);
        at most ``workers`` batches run at once."""
        self._live = live
        self._max_batch = max_batch
        self._workers = workers
        self._running = 0
        self._waiting: list[tuple[str, str | None, asyncio.Future[Reply]]] = []

    async def reply(self, text: str, hint: str | None = None) -> Reply:
        """``hint``: the resident's Telegram language, for language identification."""
        future: asyncio.Future[Reply] = asyncio.get_running_loop().create_future()
        self._waiting.append((text, hint, future))
        if self._running < self._workers:
            self._running += 1
            asyncio.get_running_loop().create_task(self._drain())
        return await future

    async def _drain(self) -> None:
        try:
            while self._waiting:
                batch = self._waiting[: self._max_batch]
                del self._waiting[: self._max_batch]
                try:
                    replies = await asyncio.to_thread(
                        self._live.engine.respond_many,
                        [text for text, _, _ in batch],
                        [hint for _, hint, _ in batch],
                    )
                except Exception as exc:  # noqa: BLE001 - each waiting handler gets the error
                    for _, _, future in batch:
                        if not future.done():
                            future.set_exception(exc)
                    continue
                for (_, _, future), reply in zip(batch, replies, strict=True):
                    if not future.done():  # its handler may have been cancelled
                        future.set_result(reply)
        finally:
            self._running -= 1
