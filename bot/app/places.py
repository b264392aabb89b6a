"""Right place, right time, for every channel: the resident's town (from their message, a
district button, or remembered for the chat) names the council, team or force in answers
that depend on it, and the clock says what is open now.

Places are remembered in memory only, per chat, until a quiet period passes or the
resident sends /forget: never in the question log, never with their hashed id.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Hashable
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from bot.content.opening_hours import Clock
from bot.content.places import ASK, Place
from bot.matching.engine import Engine
from bot.matching.places import (
    NO_TOPIC,
    PLACE_BUTTON,
    PlaceFinder,
    ask_note,
    district_choices,
    hours_note,
    local_note,
    with_note,
)
from bot.matching.reply import Reply, ReplyKind

QUIET_PERIOD = timedelta(minutes=30)
MAX_CHATS = 10_000  # the oldest are dropped past this: memory stays bounded
_UNTOUCHED = (ReplyKind.EMERGENCY, ReplyKind.CRISIS, ReplyKind.CARD, ReplyKind.PROMPT)


@dataclass
class _Remembered:
    place: Place | None
    waiting: str | None  # a topic asked "Which town or postcode?" for
    seen: datetime


class PlaceMemory:
    """Each chat's place and the topic waiting for one, forgotten after a quiet period."""

    def __init__(self, clock: Clock, quiet: timedelta = QUIET_PERIOD) -> None:
        self._clock = clock
        self._quiet = quiet
        self._chats: OrderedDict[Hashable, _Remembered] = OrderedDict()

    def get(self, chat: Hashable) -> _Remembered | None:
        found = self._chats.get(chat)
        if found is not None and self._clock() - found.seen > self._quiet:
            del self._chats[chat]
            return None
        return found

    def keep(self, chat: Hashable, place: Place | None, waiting: str | None) -> None:
        self._chats[chat] = _Remembered(place, waiting, self._clock())
        self._chats.move_to_end(chat)
        while len(self._chats) > MAX_CHATS:
            self._chats.popitem(last=False)

    def forget(self, chat: Hashable) -> None:
        self._chats.pop(chat, None)


class Localiser:
    """Adds the local route, the force next door, the question for a town and the hours
    of named contacts to the engine's replies."""

    def __init__(self, clock: Clock) -> None:
        self.clock = clock
        self.memory = PlaceMemory(clock)
        self._finder_of: PlaceFinder | None = None

    def _finder(self, engine: Engine) -> PlaceFinder:
        """One finder per content version (a reload brings new places)."""
        if self._finder_of is None or self._finder_of.places is not engine.content.places:
            self._finder_of = PlaceFinder(engine.content.places)
        return self._finder_of

    def localise(self, engine: Engine, reply: Reply, text: str, chat: Hashable | None) -> Reply:
        """``reply`` to ``text`` with what the resident's place and the time change."""
        if reply.kind in _UNTOUCHED:
            return reply
        place = self._finder(engine).find(text)
        known = self.memory.get(chat) if chat is not None else None
        intent = engine.intents.get(reply.intent) if reply.intent else None
        if reply.kind is ReplyKind.ANSWER and intent is not None and intent.local:
            return self._local(engine, reply, place or (known.place if known else None), chat)
        if place is not None and known is not None and known.waiting:
            waiting = engine.answer_for(known.waiting)  # the town we asked for
            if waiting is not None and reply.kind is not ReplyKind.ANSWER:
                return self._local(engine, _shown_already(waiting), place, chat)
        if place is None:
            return self.timed(engine, reply)
        self._keep(chat, place, None)
        places = engine.content.places
        body = places.body(place.body) if place.body else None
        if body is None:  # a postcode district that spans councils
            asked = with_note(reply, ask_note(places, place), district_choices(places, None))
            return replace(asked, place=ASK)
        if reply.kind is not ReplyKind.ANSWER or body.force:
            reply = with_note(reply, local_note(engine.content, place, body, None))
        return replace(self.timed(engine, reply), place=body.id)

    def choose(self, engine: Engine, chat: Hashable | None, data: str) -> Reply | None:
        """A district button ``p:<council>:<topic>``: that topic's answer for the district
        (or the district's council alone); None for a button this content cannot read."""
        family, _, rest = data.partition(":")
        council, _, topic = rest.partition(":")
        body = engine.content.places.councils.get(council)
        if family != PLACE_BUTTON or body is None:
            return None
        place = Place(body.label, body.id)
        if topic == NO_TOPIC:
            self._keep(chat, place, None)
            base = Reply(question="", kind=ReplyKind.PROMPT, intent=None, confidence=1.0)
            note = local_note(engine.content, place, body, None)
            return with_note(base, f"{note}\n\nWhat would you like to ask?")  # not logged
        reply = engine.answer_for(topic)
        if reply is None:
            return None
        return self._local(engine, _shown_already(reply), place, chat)

    def timed(self, engine: Engine, reply: Reply) -> Reply:
        """``reply`` with what is open now among the contacts its answer names."""
        intent = engine.intents.get(reply.intent) if reply.intent else None
        if intent is None and reply.kind is ReplyKind.FALLBACK:
            intent = engine.intents.get("out_of_scope")
        if intent is None or reply.kind not in (ReplyKind.ANSWER, ReplyKind.FALLBACK):
            return reply
        return with_note(reply, hours_note(engine.content, intent, self.clock()))

    def _local(
        self, engine: Engine, reply: Reply, place: Place | None, chat: Hashable | None
    ) -> Reply:
        intent = engine.intents[reply.intent] if reply.intent else None
        route = intent.local if intent else None
        places = engine.content.places
        body = places.body(place.body) if place is not None and place.body else None
        if place is None or body is None:  # no place yet, or one that spans councils
            self._keep(chat, place, reply.intent)  # ask, and wait for the answer
            choices = district_choices(places, reply.intent)
            asked = with_note(self.timed(engine, reply), ask_note(places, place), choices)
            return asked if place is None else replace(asked, place=ASK)
        self._keep(chat, place, None)
        note = local_note(engine.content, place, body, route)
        return replace(with_note(self.timed(engine, reply), note), place=body.id)

    def _keep(self, chat: Hashable | None, place: Place | None, waiting: str | None) -> None:
        if chat is not None:
            self.memory.keep(chat, place, waiting)


def _shown_already(reply: Reply) -> Reply:
    """The answer the resident was given just above, when they name their town for it:
    the reply holds only what the town adds (their council's link), not the answer again."""
    return replace(reply, html="")
