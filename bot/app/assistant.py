"""The one way into answering, for every channel: ``await assistant.answer(text)``."""

from __future__ import annotations

import asyncio
import logging
import time
from collections import Counter
from collections.abc import Hashable

from bot.app.batching import ReplyBatcher
from bot.app.handover import Handovers
from bot.app.places import Localiser
from bot.app.staff import Staff
from bot.app.watching import ContentWatcher
from bot.content.intents import Intent
from bot.content.opening_hours import Clock, uk_now
from bot.matching.bursts import Bursts
from bot.matching.engine import Engine
from bot.matching.live import LiveContent
from bot.matching.reply import Reply, ReplyKind
from bot.settings import Settings
from bot.storage.store import Store, StoreUnavailable, UpdateKey

log = logging.getLogger(__name__)

PROMPT = "Type your question, for example: how do I report fly-tipping?"
MOST_ASKED_DAYS = 30
# "None of these" under "Did you mean…?": logged as a fallback, whatever the channel.
NONE_OF_THESE = Reply(
    question="",
    kind=ReplyKind.FALLBACK,
    intent=None,
    confidence=0.0,
    decided_by="none of the suggestions",
)


class Assistant:
    """The live content, the question log and the settings, shared by every channel, and
    the staff's tasks on them."""

    def __init__(
        self, settings: Settings, live: LiveContent, store: Store, clock: Clock = uk_now
    ) -> None:
        """``clock`` gives the moment in UK time: what is open now, how long a place is
        remembered, and staffed hours (tests pass a frozen one)."""
        self.settings = settings
        self.live = live
        self.store = store
        self.staff = Staff(settings, store)
        # Each channel runs it (see bot.app.watching).
        self.watcher = ContentWatcher(live, settings.reload_seconds)
        self._batcher = ReplyBatcher(live)
        self._bursts = Bursts()
        self.local = Localiser(clock)
        self.handovers = Handovers(
            settings, store, self.answer, lambda: self.engine.content.facts, clock
        )

    @property
    def engine(self) -> Engine:
        """The engine in use now; a reload swaps it whole."""
        return self.live.engine

    async def answer(
        self,
        text: str,
        hint: str | None = None,
        chat: Hashable | None = None,
        *,
        place_key: Hashable | None = None,
    ) -> Reply:
        """The reply to ``text``, worked out off the event loop and batched with the other
        channels' messages; ``hint`` is the resident's language, when the channel knows it.
        Empty input is asked for a question, not matched.

        With a ``chat`` key, the safety check also reads that chat's messages of the last
        two minutes with this one (``bot.matching.bursts``): danger clear only from them
        together gets the emergency reply, and the burst's later messages their own reply
        led by 999. The resident's place is remembered under ``place_key`` (``chat`` when
        not given): see ``bot.app.places``."""
        reply = await self._answer(text, hint, chat)
        key = place_key if place_key is not None else chat
        return self.local.localise(self.engine, reply, text, key)

    def topic(self, intent_id: str, place_key: Hashable | None = None) -> Reply | None:
        """A topic chosen from a menu or "Did you mean", as ``answer`` would give it: the
        remembered place and the clock count too. None for an unknown topic."""
        reply = self.engine.answer_for(intent_id)
        if reply is None:
            return None
        return self.local.localise(self.engine, reply, "", place_key)

    def choose_place(self, data: str, place_key: Hashable | None) -> Reply | None:
        """A district button (``p:...``) pressed under "Which town or postcode?"."""
        return self.local.choose(self.engine, place_key, data)

    def forget_place(self, place_key: Hashable) -> None:
        """/forget: the remembered place goes too."""
        self.local.memory.forget(place_key)

    async def _answer(self, text: str, hint: str | None, chat: Hashable | None) -> Reply:
        if not text.strip():
            return Reply(
                question=text,
                kind=ReplyKind.PROMPT,
                intent=None,
                confidence=0.0,
                html=PROMPT,
                decided_by="empty input",
            )
        reply = await self._batcher.reply(text, hint)
        if chat is None:
            return reply
        now = time.monotonic()
        step = self._bursts.check(chat, text, reply, now)
        if isinstance(step, Reply):
            return step
        return self._bursts.settle(chat, reply, await self._batcher.reply(step, hint), now)

    async def most_asked(self, count: int = 5) -> list[Intent]:
        """The ``count`` menu topics residents were answered about most in the last
        MOST_ASKED_DAYS days; ties, and a log that cannot be read, keep the content's order."""
        try:
            outcomes = await self.store.outcomes(MOST_ASKED_DAYS)
        except StoreUnavailable:
            outcomes = []
        asked = Counter(o.intent for o in outcomes if o.kind == ReplyKind.ANSWER and o.intent)
        return sorted(self.engine.topics, key=lambda intent: -asked[intent.id])[:count]

    async def record(
        self, user_id: int | None, reply: Reply, ref: int | None, update: UpdateKey | None = None
    ) -> None:
        """Log an outcome after the resident has been answered (``user_id`` None: the
        terminal chat). A prompt for a question is no question, so it is not logged; a
        failing store is logged only: storage must never break a conversation."""
        if reply.kind is ReplyKind.PROMPT:
            return
        try:
            await self.store.log_message(user_id, reply, ref, update)
            if reply.place is not None:  # counted apart: never with the user's code
                await self.store.count_place(reply.place)
        except Exception:
            log.exception("could not record an outcome")

    def trouble(self) -> list[str]:
        """What is wrong in this run, for a channel's status: the question log's trouble
        and the content watcher's failures."""
        return [line for line in (self.store.health(), self.watcher.trouble()) if line]

    async def forget(self, user_id: int) -> int:
        """/forget: every record kept about the resident, and the examples staff added to
        the draft from their questions; how many were deleted. Raises StoreUnavailable."""
        cited = await self.store.reviewed_questions(user_id)
        removed = await asyncio.to_thread(self.staff.draft().forget, cited)
        return removed + await self.store.forget_user(user_id)
