"""Bursts: what one chat wrote in the last two minutes, so the safety check can read
"theres a man outside my flat" and "hes got a knife" together.

Frightened people type in bursts, and a danger can be clear only from two messages. The
texts are held in memory only, for two minutes, within fixed bounds (chats, messages and
characters per chat); no Telegram here: an adapter passes a chat key and the time.
"""

from __future__ import annotations

from collections import OrderedDict, deque
from collections.abc import Callable, Hashable
from dataclasses import dataclass, field, replace

from bot.matching.engine import DANGER_PROMPT
from bot.matching.reply import Reply, ReplyKind

WINDOW_SECONDS = 120.0  # messages this recent are read together
MAX_CHATS = 10_000  # the chats remembered at once (the least recently active go first)
MAX_MESSAGES = 5  # a chat's earlier messages kept
MAX_CHARS = 2_000  # characters of a chat's earlier messages kept


@dataclass
class _Chat:
    messages: deque[tuple[float, str, bool]] = field(default_factory=deque)  # time, text, plain
    alerted: float | None = None  # when this chat last got the emergency reply


class Bursts:
    """Per chat, the messages of the last ``WINDOW_SECONDS`` and when the chat last got
    the emergency reply. Not thread-safe: call it from one event loop."""

    def __init__(self, window: float = WINDOW_SECONDS, max_chats: int = MAX_CHATS) -> None:
        self._window = window
        self._max_chats = max_chats
        self._chats: OrderedDict[Hashable, _Chat] = OrderedDict()

    def add(self, chat: Hashable, text: str, now: float, plain: bool = False) -> list[str]:
        """Remember ``text``; the chat's earlier messages still in the burst, oldest first.
        ``plain``: the message alone got a plain topic answer. A burst of nothing else
        (everyday questions, one after another) is not read again: none is returned."""
        state = self._chats.pop(chat, None) or _Chat()
        self._chats[chat] = state
        while len(self._chats) > self._max_chats:
            self._chats.popitem(last=False)
        messages = state.messages
        while messages and now - messages[0][0] > self._window:
            messages.popleft()
        earlier = [(text, was_plain) for _, text, was_plain in messages]
        messages.append((now, text[-MAX_CHARS:], plain))
        while len(messages) > MAX_MESSAGES or sum(len(m[1]) for m in messages) > MAX_CHARS:
            messages.popleft()
        if plain and all(was_plain for _, was_plain in earlier):
            return []
        return [text for text, _ in earlier]

    def alerted(self, chat: Hashable, now: float) -> bool:
        """Whether the chat got the emergency reply within the burst window."""
        state = self._chats.get(chat)
        alerted = None if state is None else state.alerted
        return alerted is not None and now - alerted <= self._window

    def mark_alerted(self, chat: Hashable, now: float) -> None:
        state = self._chats.get(chat)
        if state is not None:
            state.alerted = now

    def __len__(self) -> int:
        return len(self._chats)

    def check(self, chat: Hashable, text: str, own: Reply, now: float) -> Reply | str:
        """First step for a chat's message that got ``own`` alone: the reply to give, or
        the burst's text (earlier messages and this one) to check together first, whose
        reply then goes to :meth:`settle`."""
        plain = own.kind is ReplyKind.ANSWER and not own.danger_prompt
        earlier = self.add(chat, text, now, plain)
        if own.kind is ReplyKind.EMERGENCY:
            self.mark_alerted(chat, now)
        if not earlier or own.kind in (ReplyKind.EMERGENCY, ReplyKind.CRISIS):
            return own
        if self.alerted(chat, now):
            return burst_reply(own, None)
        return "\n".join([*earlier, text])

    def settle(self, chat: Hashable, own: Reply, together: Reply, now: float) -> Reply:
        """Second step: the message's reply, given the reply to its burst read together."""
        if together.kind is not ReplyKind.EMERGENCY:
            return own
        self.mark_alerted(chat, now)
        return burst_reply(own, together)

    def respond(
        self, chat: Hashable, text: str, now: float, respond: Callable[[str], Reply]
    ) -> Reply:
        """Both steps with a synchronous ``respond`` (evaluation; the app awaits its own)."""
        own = respond(text)
        step = self.check(chat, text, own, now)
        return step if isinstance(step, Reply) else self.settle(chat, own, respond(step), now)


def burst_reply(own: Reply, together: Reply | None) -> Reply:
    """The reply to a message whose burst is danger now, though the message alone
    (``own``) is neither danger now nor crisis: the emergency reply to the burst read
    together (``together``), or, when the burst already had it (None), the message's
    own reply led by the 999 line, so the emergency reply is not repeated."""
    if together is not None:
        why = f"with the chat's recent messages: {together.decided_by}"
        return replace(together, question=own.question, language=own.language, decided_by=why)
    if own.danger_prompt:
        return own
    why = f"{own.decided_by}; the chat's recent messages were danger now"
    return replace(own, html=f"{DANGER_PROMPT}\n\n{own.html}", danger_prompt=True, decided_by=why)
