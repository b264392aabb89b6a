"""Where the resident is, read from their words, and what it adds to a reply: the council's
route for a council-side topic, the force next door for a place outside Hertfordshire, the
question "Which town or postcode?" with a button per district, and what is open now.

Pure functions of the content and the moment given: the application layer
(``bot.app.places``) remembers places per chat and supplies the clock.
"""

from __future__ import annotations

import html
import re
from dataclasses import replace
from datetime import datetime

from bot.content import answers
from bot.content.facts import Fact, FactKind, FactValue
from bot.content.intents import Intent
from bot.content.loading import Content
from bot.content.opening_hours import is_open, status_line
from bot.content.places import Body, Place, Places, is_full_postcode, is_outward_code
from bot.matching.reply import Reply
from bot.text import clean

PLACE_BUTTON = "p"
"""Callback data of a district button: ``p:<council id>:<intent id or ->``."""
NO_TOPIC = "-"

# What the council's link is for, per route (bot.content.places.ROUTES).
_ROUTE_TEXT = {
    "fly_tipping": "Report fly-tipping to them",
    "noise": "Report noise to them",
    "graffiti": "Report graffiti to them",
    "dogs": "Dog fouling and stray dogs",
    "asb": "Their anti-social behaviour team",
    "street": "Roads and pavements (Hertfordshire County Council)",
    "web": "Their website",
}
_POSTCODE = re.compile(r"\b([A-Z]{1,2}\d[A-Z\d]?)(?: ?(\d[A-Z]{2}))?\b", re.IGNORECASE)


class PlaceFinder:
    """Finds a known town or postcode district in a message (a postcode first: it is more
    precise), the longest town name when several overlap ("Welwyn Garden City")."""

    def __init__(self, places: Places) -> None:
        self.places = places
        longest_first = sorted(places.towns, key=len, reverse=True)
        self._towns = [
            (key, re.compile(r"(?:^| )" + re.escape(key) + r"(?= |$)")) for key in longest_first
        ]

    def find(self, text: str) -> Place | None:
        for match in _POSTCODE.finditer(text):
            outward, inward = match.group(1).upper(), (match.group(2) or "").upper()
            valid = is_full_postcode(outward + inward) if inward else is_outward_code(outward)
            known = self.places.postcodes.get(outward)
            if valid and known is not None:
                return Place(outward, known.body)
        words = clean(text)
        for key, pattern in self._towns:
            if pattern.search(words):
                return self.places.towns[key]
        return None


def _first_web(fact: Fact) -> FactValue | None:
    return next((v for v in fact.values.values() if v.kind is FactKind.WEB), None)


def _route_link(content: Content, council: Fact, route: str) -> FactValue | None:
    """The council's page for ``route``, the county's for roads, else its home page."""
    if route == "street" and content.places.county:
        return _first_web(content.facts[content.places.county])
    if route == "snt" and content.places.snt:
        return _first_web(content.facts[content.places.snt])
    return council.values.get(f"{route}_web") or council.values.get("web")


def local_note(content: Content, place: Place, body: Body, route: str | None) -> str:
    """One or two lines naming who serves ``place`` for ``route`` (None: no topic yet)."""
    fact = content.facts[body.fact]
    name = html.escape(place.name)
    if body.force:
        return outside_note(content, place, body)
    head = f"📍 <b>{name}</b>: {html.escape(fact.name)}."
    if route == "snt":
        link = _route_link(content, fact, route)
        where = f" in “Your Area” at {link.html()}" if link else ""
        return f"{head}\nYour Safer Neighbourhood Team: the {html.escape(body.label)} team{where}"
    link = _route_link(content, fact, route or "web")
    if link is None:
        return head
    return f"{head}\n{_ROUTE_TEXT.get(route or 'web', _ROUTE_TEXT['web'])}: {link.html()}"


def outside_note(content: Content, place: Place, body: Body) -> str:
    """A place another force polices: that force, and how to reach it."""
    fact = content.facts[body.fact]
    web = fact.values.get("web")
    template = content.places.outside or ""
    return answers.render(
        template.replace("{place}", html.escape(place.name))
        .replace("{force}", html.escape(fact.name))
        .replace("{force_web}", web.html() if web else ""),
        content.facts,
    )


def ask_note(places: Places, place: Place | None) -> str:
    """The question for a place: the district spans councils, or no place was given."""
    if place is None:
        return f"📍 {html.escape(places.ask)}"
    spans = f"{html.escape(place.name)} covers more than one council area."
    return f"📍 {spans} {html.escape(places.ask)}"


def district_choices(places: Places, intent: str | None) -> tuple[tuple[str, str], ...]:
    """A button per district or borough council, carrying the topic to answer."""
    topic = intent or NO_TOPIC
    return tuple(
        (body.label, f"{PLACE_BUTTON}:{body.id}:{topic}") for body in places.councils.values()
    )


def hours_note(content: Content, intent: Intent, now: datetime) -> str:
    """What is open now, for each contact with hours the answer names; when one is
    closed, what to do instead. Empty when the answer names none."""
    named = dict.fromkeys(m.group(1) for m in answers.REFERENCE.finditer(intent.answer))
    lines: list[str] = []
    closed = False
    for fact_id in named:
        fact = content.facts.get(fact_id)
        if fact is None or fact.hours is None or fact.hours.always:
            continue
        lines.append(f"🕘 <b>{html.escape(fact.name)}</b>: {status_line(fact.hours, now)}")
        closed = closed or not is_open(fact.hours, now)
    if closed and content.places.closed_now:
        lines.append(answers.render(content.places.closed_now, content.facts))
    return "\n".join(lines)


def with_note(reply: Reply, note: str, choices: tuple[tuple[str, str], ...] = ()) -> Reply:
    """``reply`` with ``note`` as a paragraph after its text, and ``choices`` as buttons."""
    text = f"{reply.html}\n\n{note}" if note and reply.html else note or reply.html
    return replace(reply, html=text, choices=choices or reply.choices)
