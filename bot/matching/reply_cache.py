"""Replies to recent messages, so a question residents repeat ("beacon number", "101")
is answered without matching it again.

An engine's replies depend only on the text and the Telegram language hint, and each
content version builds a new engine with an empty cache, so a cached reply is never stale.
Keys are digests and cached replies carry no question: no resident's words are kept here.
"""

from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict
from dataclasses import replace

from bot.matching.reply import Reply

SIZE = 4096


def _key(text: str, hint: str | None) -> bytes:
    return hashlib.blake2b(
        f"{hint or ''}\0{text}".encode("utf-8", "surrogatepass"), digest_size=16
    ).digest()


class ReplyCache:
    """A thread-safe least-recently-used map from (text, language hint) to a reply."""

    def __init__(self, size: int = SIZE) -> None:
        self._size = size
        self._replies: OrderedDict[bytes, Reply] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, text: str, hint: str | None) -> Reply | None:
        key = _key(text, hint)
        with self._lock:
            reply = self._replies.get(key)
            if reply is None:
                return None
            self._replies.move_to_end(key)
        return replace(reply, question=text)

    def put(self, text: str, hint: str | None, reply: Reply) -> None:
        key = _key(text, hint)
        with self._lock:
            self._replies[key] = replace(reply, question="")
            self._replies.move_to_end(key)
            if len(self._replies) > self._size:
                self._replies.popitem(last=False)
