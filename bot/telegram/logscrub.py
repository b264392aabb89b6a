"""No resident data in any log line, whoever writes it (our code, PTB, httpx, tornado).

Every update the bot receives is remembered here for a while: its message text, the names,
usernames and ids in it. Each log record, as it is created, loses update payloads (PTB's
``Update(...)`` and raw ``{'update_id': ...}`` dumps), has each remembered text, name and
username replaced by ``[resident]``, and each remembered id by ``id:`` and the same
one-way hash the question log uses. Installed once, as a log record factory over the one
that hides the token, so every handler sees the cleaned record.
"""

from __future__ import annotations

import re
from collections import OrderedDict
from collections.abc import Callable

from telegram import Update

from bot.settings import rewrite_log_records

_PAYLOAD = re.compile(  # from the start of a dumped update or message to the end of the line
    r"""(?s)(Update\(|Message\(|[Dd]ata was:? |\{\s*['"](?:update_id|message|edited_message|"""
    r"""callback_query|message_id|id|from|chat|text)['"]\s*:).*"""
)
_KEEP = 5_000  # strings remembered (the most recent updates' words, names and ids)


class ResidentScrubber:
    def __init__(self) -> None:
        self.hash_id: Callable[[int], str] = lambda _: "?"
        self._words: OrderedDict[str, None] = OrderedDict()
        self._ids: OrderedDict[int, None] = OrderedDict()

    def remember(self, update: Update) -> None:
        message = update.effective_message
        for person in (update.effective_user, update.effective_chat):
            if person is None:
                continue
            self._keep(self._ids, person.id)
            for word in (
                getattr(person, "first_name", None),
                getattr(person, "last_name", None),
                getattr(person, "title", None),
                person.username,
            ):
                if word:
                    self._keep(self._words, word)
        if message is not None:
            for text in (message.text, message.caption):
                if text:
                    self._keep(self._words, text)

    @staticmethod
    def _keep(store: OrderedDict[str, None] | OrderedDict[int, None], key: object) -> None:
        store[key] = None  # type: ignore[index]
        store.move_to_end(key)  # type: ignore[arg-type]
        if len(store) > _KEEP:
            store.popitem(last=False)

    def scrub(self, text: str) -> str:
        text = _PAYLOAD.sub(r"\1…[update removed]", text)
        # longest first, so a message is replaced whole before a name inside it
        for word in sorted((w for w in self._words if len(w) >= 3 and w in text), key=len)[::-1]:
            text = text.replace(word, "[resident]")
        for number in self._ids:
            if str(number) in text:
                text = re.sub(rf"(?<!\d){number}(?!\d)", f"id:{self.hash_id(number)[:12]}", text)
        return text


SCRUBBER = ResidentScrubber()
_installed = False


def install(hash_id: Callable[[int], str]) -> ResidentScrubber:
    """Clean every log record from now on; ``hash_id`` is the question log's user hash."""
    global _installed  # one record factory for the whole process
    SCRUBBER.hash_id = hash_id
    if not _installed:
        _installed = True
        rewrite_log_records(SCRUBBER.scrub)
    return SCRUBBER
