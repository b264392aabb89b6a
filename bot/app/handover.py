"""Talk to a person: a conversation handed to staff, honestly, safely and once.

The channel (Telegram) only carries messages; what is offered, said, relayed and kept is
decided here. The resident is told what will happen before anything is shared and
confirms it; out of staffed hours (``HANDOVER_HOURS``, UK time, closed on bank holidays)
they are told what is open now, and no message is taken for later. While a handover is
open every resident message still goes through the safety check first: danger now or a
crisis gets its reply at once, and staff get a 🚨 alert beside the message.

State lives in the store (``Handover``), mirrored here for the active instance, which is
the only one that changes it; a standby reads it when it takes over. The resident's chat
id is kept only while a handover is open.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import html
import logging
import re
import secrets
import statistics
from collections import OrderedDict, deque
from collections.abc import Awaitable, Callable, Hashable
from dataclasses import dataclass, field, replace

from bot.content.answers import render
from bot.content.facts import Fact
from bot.content.opening_hours import (
    UK,
    Clock,
    OpeningHours,
    is_open,
    parse_hours,
    status_line,
    uk_now,
)
from bot.matching.reply import Reply, ReplyKind
from bot.settings import Settings
from bot.storage.store import Handover, Store, StoreUnavailable
from bot.text import plural

log = logging.getLogger(__name__)

Answer = Callable[[str, str | None, Hashable | None], Awaitable[Reply]]

INTENT = "talk_to_person"  # the intent of a resident asking for a person
REF_LETTERS = "ACDEFGHJKMNPQRTUVWXY34679"  # no 0/O, 1/I/L, 2/Z, 5/S, 8/B to confuse
HISTORY = 6  # the resident's and the bot's last messages, shown to staff at the start
SHOWN = 200  # characters of each of them
REMEMBERED = 10_000  # chats whose recent exchanges are kept in memory
MISSES_TO_OFFER = 2  # fallbacks or suggestions in a row before the offer is made in words
# Hertfordshire's towns, for a topic's name ("#K7Q2 · fraud report · Stevenage").
TOWNS = (
    "Stevenage", "Watford", "St Albans", "Hemel Hempstead", "Hatfield", "Welwyn Garden City",
    "Hertford", "Hitchin", "Letchworth", "Baldock", "Royston", "Bishop's Stortford", "Ware",
    "Cheshunt", "Hoddesdon", "Broxbourne", "Borehamwood", "Potters Bar", "Bushey",
    "Rickmansworth", "Berkhamsted", "Tring", "Harpenden", "Radlett", "Sawbridgeworth",
    "Buntingford", "Kings Langley", "Croxley Green", "Abbots Langley", "Welwyn",
)  # fmt: skip
_TOWN = re.compile(
    r"\b(" + "|".join(re.escape(t).replace("'", "'?") for t in TOWNS) + r")\b", re.IGNORECASE
)
_TAG = re.compile(r"<[^<>]*>")

# -- what the resident reads (Telegram HTML; {fact.field} references come from knowledge/)
CONSENT = (
    "🙋 <b>Talk to a person</b>\n"
    "A member of staff at the Police and Crime Commissioner's office will read this "
    "conversation, including your last few messages to me. They usually reply within "
    "{minutes} minutes. They won't see your name or username. Don't share more personal "
    "details than you need to.\n"
    "<b>This isn't for emergencies: call {emergency.phone}.</b>\n"
    "Shall I pass it on?"
)
OUT_OF_HOURS = (
    "🙋 Staff aren't here to chat right now. {status} I can't take a message for later, "
    "but these are open now:"
)
CONNECTED = (
    "✅ <b>Passed on.</b> Your reference is <b>#{ref}</b>. A member of staff will reply here, "
    "and I'll pass on what you write. In an emergency, call {emergency.phone}."
)
ALREADY_OPEN = "You're already talking to staff (reference <b>#{ref}</b>): just write here."
UNAVAILABLE = (
    "Sorry, I can't reach staff just now. Please call {police.non_emergency_phone}, or report "
    "online at {online_report.web}. In an emergency, call {emergency.phone}."
)
NOT_NOW = "OK, I won't pass it on. Ask me anything else."
SECOND_MISS = "\n\nI'm not getting this right. Would you like to talk to a person?"
NO_REPLY_YET = (
    "Sorry, no one has replied yet. The conversation stays open, so staff may still answer "
    "here. Meanwhile you can call {police.non_emergency_phone}, or report online at "
    "{online_report.web}. In an emergency, call {emergency.phone}."
)
UNSURE_REMINDER = "🚨 If you or someone else is in danger now, call {emergency.phone}."
ENDED_BY_STAFF = (
    "The member of staff has ended the conversation (reference #{ref}). You can keep asking "
    "me questions."
)
ENDED_BY_RESIDENT = "Conversation with staff ended (reference #{ref}). Ask me anything else."
# -- what staff read in the group
OPENING = (
    "🙋 <b>#{ref}</b> · {subject}\n"
    "A resident asked to talk to a person at {time}. Write in this topic to answer: they see "
    '"A member of staff". Send /end to finish.\n\n'
    "<b>Their last messages with the bot:</b>\n{history}"
)
FROM_RESIDENT = "💬 <b>Resident</b> #{ref}{waiting}:\n{text}"
DANGER_ALERT = (
    "🚨 <b>Danger now</b> (#{ref}): the resident was sent the emergency reply (call 999) at "
    "once. Their message is below."
)
CRISIS_ALERT = (
    "🚨 <b>Crisis</b> (#{ref}): the resident was sent the crisis reply (999, Samaritans, NHS "
    "111) at once. Their message is below."
)
UNSURE_ALERT = (
    "⚠️ #{ref}: the safety check was unsure whether this is danger now. The resident was "
    "reminded of 999, with a button for the emergency reply. Their message is below."
)
WAITING = (
    "⏳ #{ref}: waiting {minutes} min with no reply. The resident was given 101 and the "
    "online route; the conversation stays open."
)
CLOSED_BY = {
    "staff": "Ended by staff. The resident was told; this topic is closed.",
    "resident": "The resident ended the conversation. This topic is closed.",
    "forgotten": (
        "The resident ended the conversation and asked for their data to be deleted. "
        "This topic is closed."
    ),
}
GONE = "This conversation has ended: the resident will not see this."
NAMED = "Residents will see your replies signed: {signed}. (/name alone removes the name.)"
_FIRST_NAME = re.compile(r"^[^\W\d_][\w'-]{0,19}")  # one word: a first name, never a surname


@dataclass
class Recent:
    """A chat's last exchanges with the bot (shown to staff if it is handed over), the
    topic last talked about, and the misses in a row."""

    history: deque[tuple[str, str]] = field(default_factory=lambda: deque(maxlen=HISTORY))
    subject: str = "general"
    misses: int = 0


@dataclass(frozen=True)
class Offer:
    """What the resident reads when they ask for a person; ``connect``: staffed now, so a
    button to confirm follows."""

    html: str
    connect: bool


@dataclass(frozen=True)
class Relay:
    """A resident's message during a handover: safety replies for the resident (first,
    at once), then posts for staff."""

    handover: Handover
    to_resident: list[Reply]
    to_staff: list[str]


def escape(text: str) -> str:
    """Text as Telegram HTML reads it (quotes need no escaping there)."""
    return html.escape(text, quote=False)


def plain(markup: str) -> str:
    return html.unescape(_TAG.sub("", markup))


def short(text: str, limit: int = SHOWN) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


def hours_problem(settings: Settings) -> str | None:
    """A start-up problem with HANDOVER_HOURS, in the settings' one-line form."""
    try:
        parse_hours(settings.handover_hours)
    except ValueError as exc:
        return f"HANDOVER_HOURS: {exc}"
    return None


class Handovers:
    """Open handovers and the rules for them, over the store; ``clock`` tells the time
    in UK local time (tests freeze it)."""

    def __init__(
        self,
        settings: Settings,
        store: Store,
        answer: Answer,
        facts: Callable[[], dict[str, Fact]],
        clock: Clock = uk_now,
    ) -> None:
        self.settings = settings
        self.store = store
        self.clock = clock
        self._answer = answer
        self._facts = facts
        self.hours: OpeningHours = parse_hours(settings.handover_hours)
        self._open: dict[str, Handover] = {}  # by reference
        self._links: dict[int, str] = {}  # staff group message -> reference
        self._recent: OrderedDict[int, Recent] = OrderedDict()  # by chat, in memory only
        self._locks: dict[str, asyncio.Lock] = {}
        self._names: dict[int, str] = {}  # staff id -> the first name they sign with

    @property
    def enabled(self) -> bool:
        return self.settings.handover_chat_id is not None

    @property
    def staff_group(self) -> int:
        """HANDOVER_CHAT_ID (a handover exists only when it is set)."""
        if self.settings.handover_chat_id is None:
            raise RuntimeError("no staff group: HANDOVER_CHAT_ID is not set")
        return self.settings.handover_chat_id

    def text(self, template: str, **values: object) -> str:
        """A fixed text with its facts filled in from knowledge/."""
        for name, value in values.items():
            template = template.replace("{" + name + "}", str(value))
        return render(template, self._facts())

    # -- before a handover

    def heard(self, chat: int, question: str, reply: Reply) -> bool:
        """Remember an exchange for staff; True on the second miss in a row (then the
        offer is made in words)."""
        recent = self._recent.pop(chat, None) or Recent()
        self._recent[chat] = recent  # the most recent last
        if len(self._recent) > REMEMBERED:
            self._recent.popitem(last=False)
        recent.history.append(("Resident", short(question)))
        recent.history.append(("Bot", short(plain(reply.html))))
        topic = reply.intent or (reply.ranked[0].intent if reply.ranked else None)
        if topic and topic != INTENT:
            recent.subject = topic.replace("_", " ")
        if reply.kind in (ReplyKind.FALLBACK, ReplyKind.SUGGEST):
            recent.misses += 1
            return recent.misses == MISSES_TO_OFFER
        if reply.kind is ReplyKind.ANSWER:
            recent.misses = 0
        return False

    def staffed(self) -> bool:
        return is_open(self.hours, self.clock())

    def offer(self, routes: str) -> Offer:
        """Consent text while staffed; else what is open now (``routes``: the
        talk_to_person answer, which names 101, online reporting, Beacon and 999)."""
        if self.staffed():
            minutes = f"{self.settings.handover_wait_minutes:g}"
            return Offer(self.text(CONSENT, minutes=minutes), True)
        status = status_line(self.hours, self.clock())
        return Offer(f"{self.text(OUT_OF_HOURS, status=status)}\n\n{routes}", False)

    async def refused(self) -> None:
        """Count a request made out of hours (for the admins' figures)."""
        now = int(self.clock().timestamp())
        await self._save(Handover(self._new_ref(), "out_of_hours", "", now, closed_at=now))

    async def open(self, chat_id: int) -> Handover | None:
        """Open a handover for a resident who confirmed; None when the store cannot keep
        it (the resident is then given other routes). An open one is returned as it is."""
        if (existing := self.of_resident(chat_id)) is not None:
            return existing
        recent = self._recent.get(chat_id) or Recent()
        subject = recent.subject
        places = [_TOWN.search(text) for who, text in recent.history if who == "Resident"]
        found = [m for m in places if m is not None]
        if found:
            said = found[-1].group(1).lower().replace("'", "")
            subject += " · " + next(t for t in TOWNS if t.lower().replace("'", "") == said)
        now = int(self.clock().timestamp())
        handover = Handover(
            self._new_ref(), "open", subject, now, self.store.user_key(chat_id), chat_id
        )
        try:
            await self._save(handover)
        except StoreUnavailable:
            log.warning("could not open a handover: the store is unavailable")
            return None
        log.info("handover %s opened", handover.ref)
        return handover

    def topic_name(self, handover: Handover) -> str:
        return f"#{handover.ref} · {handover.subject}"[:128]

    def opening_post(self, handover: Handover) -> str:
        chat = handover.chat_id
        recent = self._recent.get(chat or 0) or Recent()
        lines = [f"<i>{who}:</i> {escape(text)}" for who, text in recent.history]
        at = dt.datetime.fromtimestamp(handover.opened_at, UK).strftime("%H:%M")
        return OPENING.format(
            ref=handover.ref,
            subject=escape(handover.subject),
            time=at,
            history="\n".join(lines) or "(none)",
        )

    async def placed(self, handover: Handover, thread: int | None, root: int | None) -> Handover:
        """Where staff answer it: its forum topic, or the group message that opened it."""
        placed = replace(handover, thread=thread, root=root)
        await self._save(placed)
        if root is not None:
            await self.link(root, handover.ref)
        return placed

    async def link(self, message_id: int, ref: str) -> None:
        """A staff group message of this handover (without topics, replies to it count)."""
        if ref not in self._open:
            return
        self._links[message_id] = ref
        try:
            await self.store.link_handover(message_id, ref)
        except StoreUnavailable:
            log.warning("could not keep a handover's message link: the store is unavailable")

    # -- during a handover

    def lock(self, handover: Handover) -> asyncio.Lock:
        """One message of a handover at a time, in the order they came."""
        return self._locks.setdefault(handover.ref, asyncio.Lock())

    def opening(self, chat_id: int) -> asyncio.Lock:
        """One confirmation of a resident's at a time (a double tap opens one handover)."""
        return self._locks.setdefault(f"chat {chat_id}", asyncio.Lock())

    def of_resident(self, chat_id: int) -> Handover | None:
        return next((h for h in self._open.values() if h.chat_id == chat_id), None)

    def of_staff_message(self, thread: int | None, reply_to: int | None) -> Handover | None:
        for key in (thread, reply_to):
            if key is None:
                continue
            for handover in self._open.values():
                if key in (handover.thread, handover.root):
                    return handover
            if (ref := self._links.get(key)) is not None and ref in self._open:
                return self._open[ref]
        return None

    def is_staff(self, user_id: int) -> bool:
        return user_id in self.settings.staff_ids or user_id in self.settings.admin_ids

    async def from_resident(self, handover: Handover, text: str, hint: str | None) -> Relay:
        """Safety first: danger now or a crisis gets its reply for the resident and an
        alert for staff; then the message goes to staff."""
        chat = handover.chat_id
        reply = await self._answer(text, hint, (chat, chat))
        to_resident: list[Reply] = []
        to_staff: list[str] = []
        if reply.kind is ReplyKind.EMERGENCY:
            to_resident.append(reply)
            to_staff.append(DANGER_ALERT.format(ref=handover.ref))
        elif reply.kind is ReplyKind.CRISIS:
            to_resident.append(reply)
            to_staff.append(CRISIS_ALERT.format(ref=handover.ref))
        elif reply.danger_prompt:  # unsure: the 999 line and its button, as outside
            unsure = self.text(UNSURE_REMINDER)
            to_resident.append(replace(reply, kind=ReplyKind.PROMPT, html=unsure))
            to_staff.append(UNSURE_ALERT.format(ref=handover.ref))
        waiting = ""
        if handover.first_reply_at is None:
            minutes = int((self.clock().timestamp() - handover.opened_at) // 60)
            waiting = f" (waiting {minutes} min)"
        to_staff.append(FROM_RESIDENT.format(ref=handover.ref, waiting=waiting, text=escape(text)))
        return Relay(handover, to_resident, to_staff)

    async def from_staff(self, handover: Handover, staff_id: int, text: str) -> str:
        """The staff message as the resident reads it; the first reply is timed, and the
        first by each member of staff goes in the audit log."""
        answered = handover.staff.split(",") if handover.staff else []
        if str(staff_id) not in answered:
            try:
                await self.store.add_audit(staff_id, "handover-reply", f"#{handover.ref}")
            except StoreUnavailable:
                log.warning("could not audit a handover reply: the store is unavailable")
            answered.append(str(staff_id))
        first = handover.first_reply_at or int(self.clock().timestamp())
        await self._save(replace(handover, first_reply_at=first, staff=",".join(answered)))
        name = self._names.get(staff_id)
        signed = f"{escape(name)}, a member of staff" if name else "A member of staff"
        return f"<b>{signed}</b>:\n{escape(text)}"

    async def name(self, staff_id: int, words: str) -> str:
        """``/name Sam``: sign replies with a first name; ``/name`` alone: no name.
        What staff read back."""
        found = _FIRST_NAME.match(words.strip())
        name = found.group(0) if found else None
        await self.store.set_staff_name(staff_id, name)
        if name is None:
            self._names.pop(staff_id, None)
            return NAMED.format(signed="A member of staff")
        self._names[staff_id] = name
        return NAMED.format(signed=f"{name}, a member of staff")

    async def close(self, handover: Handover, by: str) -> None:
        """End it (``by``: "staff", "resident" or "forgotten"); the resident's ids go."""
        state = "forgotten" if by == "forgotten" else "closed"
        subject = "" if by == "forgotten" else handover.subject
        closed = replace(
            handover,
            state=state,
            subject=subject,
            user_key=None,
            chat_id=None,
            closed_at=int(self.clock().timestamp()),
        )
        self._open.pop(handover.ref, None)
        self._locks.pop(handover.ref, None)
        self._locks.pop(f"chat {handover.chat_id}", None)
        self._links = {m: r for m, r in self._links.items() if r != handover.ref}
        try:
            await self.store.save_handover(closed)
        except StoreUnavailable:
            log.warning("could not record a handover's end: the store is unavailable")
        log.info("handover %s ended by %s", handover.ref, by)

    def forget(self, chat_id: int) -> None:
        """Drop what is remembered in memory about a resident (``/forget``)."""
        self._recent.pop(chat_id, None)

    def overdue(self) -> list[Handover]:
        """Open handovers that have waited past HANDOVER_WAIT_MINUTES with no staff reply,
        and whose resident has not been told yet."""
        limit = self.clock().timestamp() - self.settings.handover_wait_minutes * 60
        return [
            h
            for h in self._open.values()
            if h.first_reply_at is None and not h.reminded and h.opened_at <= limit
        ]

    async def remind(self, handover: Handover) -> tuple[str, str]:
        """Mark the resident told (before telling them: once at most) and the texts for
        the resident and for staff."""
        await self._save(replace(handover, reminded=1))
        minutes = int((self.clock().timestamp() - handover.opened_at) // 60)
        return self.text(NO_REPLY_YET), WAITING.format(ref=handover.ref, minutes=minutes)

    # -- state

    async def load(self) -> None:
        """Read the open handovers (at start, and when taking over from another instance)."""
        try:
            handovers, links = await self.store.open_handovers()
        except StoreUnavailable:
            log.warning("could not read open handovers: the store is unavailable")
            return
        self._open = {h.ref: h for h in handovers}
        self._links = links
        with contextlib.suppress(StoreUnavailable):
            self._names = await self.store.staff_names()
        if handovers:
            log.info("%d handovers to staff are open", len(handovers))

    async def _save(self, handover: Handover) -> None:
        await self.store.save_handover(handover)
        if handover.state == "open":
            self._open[handover.ref] = handover

    def current(self, handover: Handover) -> Handover:
        """The latest state of ``handover`` (None-safe for one closed meanwhile)."""
        return self._open.get(handover.ref, handover)

    def is_open(self, handover: Handover) -> bool:
        return handover.ref in self._open

    def _new_ref(self) -> str:
        while True:
            ref = "".join(secrets.choice(REF_LETTERS) for _ in range(4))
            if ref not in self._open:
                return ref


def handover_figures(handovers: list[Handover], days: int) -> list[str]:
    """Lines for /stats and the report: handovers a day, the median wait for a first staff
    reply, handovers no one answered, requests out of hours."""
    made = [h for h in handovers if h.state != "out_of_hours"]
    refused = len(handovers) - len(made)
    if not handovers:
        return []
    waits = [h.first_reply_at - h.opened_at for h in made if h.first_reply_at is not None]
    unanswered = sum(1 for h in made if h.first_reply_at is None and h.state != "open")
    median = f"{statistics.median(waits) / 60:.0f} min" if waits else "none yet"
    return [
        f"Talk to a person: {plural(len(made), 'handover')} ({len(made) / days:.1f} a day), "
        f"median first staff reply {median}, {unanswered} ended with no staff reply, "
        f"{plural(refused, 'request')} out of hours"
    ]
