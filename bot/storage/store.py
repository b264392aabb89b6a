"""The store interface the bot and the reports use, and the records it hands back."""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple, Protocol

from bot.matching.reply import Reply


class StoreUnavailable(Exception):
    """The database cannot be read just now (admin reports say so). Its text is the
    error's ``error_summary``, and it is raised without the original chained: printing a
    traceback prints every chained error's text."""


def error_summary(exc: BaseException) -> str:
    """A database error as logs and admins may see it: its type and code, never its text.
    PostgreSQL's text for a row it refuses quotes the row ("Failing row contains (…)",
    a resident's words among its values), and asyncpg's for a value it cannot send quotes
    the value."""
    name = type(exc).__name__
    if code := getattr(exc, "sqlstate", None):
        return f"{name}, SQLSTATE {code}"
    if code := getattr(exc, "sqlite_errorname", None):
        return f"{name}, {code}"
    if isinstance(exc, OSError) and exc.strerror:  # no statement's values: connecting, a file
        return f"{name}, {exc.strerror}"
    return name


@dataclass(frozen=True)
class Question:
    """An unanswered or suggested question kept (redacted) for review."""

    id: int
    at: int
    kind: str
    text: str
    closest_intent: str | None
    closest_score: float | None
    intent: str | None = None  # the topic answered (an "answered, but not helpful" question)
    wanted: str | None = None  # what the resident said they were looking for after a 👎


@dataclass(frozen=True)
class AuditEntry:
    """One change to content or the review inbox, by an admin (a Telegram id) or staff (0)."""

    at: int
    admin: int
    action: str
    detail: str


class UpdateKey(NamedTuple):
    """A Telegram update as the inbox knows it. Telegram numbers updates per bot, so one
    database serving a second token sees the same numbers again: the bot's id is part of
    the key."""

    bot_id: int
    update_id: int


@dataclass(frozen=True)
class InboxEntry:
    """An update as the inbox keeps it until answered: enough to answer it after a
    restart, and no more (the text is redacted; ids are cleared once answered)."""

    bot_id: int  # the token's digits before ':'
    update_id: int
    received: int  # Unix seconds
    kind: str  # "message" or "button"
    chat_id: int
    chat_type: str
    user_id: int
    message_id: int  # the resident's message, or the bot's message under the button
    date: int  # Unix seconds, when the resident sent it
    text: str  # redacted message text, or the button's data
    # A group message's thread: its forum topic, else the message it replies to (staff
    # answering a handover); None for everything else.
    thread: int | None = None

    @property
    def key(self) -> UpdateKey:
        return UpdateKey(self.bot_id, self.update_id)


@dataclass(frozen=True)
class MessageOutcome:
    """One message of the log as usage figures see it."""

    at: int
    kind: str
    intent: str | None
    helpful: int | None  # the resident's vote: 1, 0, or None when they gave none
    closest: str | None = None  # the best-scoring topic, answered or not


@dataclass(frozen=True)
class Handover:
    """A conversation handed to staff. ``chat_id`` (the resident's private chat) and
    ``user_key`` are kept only while it is open; the figures stay after it closes."""

    ref: str  # short reference staff and the resident both see, e.g. "K7Q2"
    state: str  # "open", "closed", "forgotten", "expired" or "out_of_hours" (a refused request)
    subject: str  # the topic and place it is about: "fraud · Stevenage"
    opened_at: int  # Unix seconds
    user_key: str | None = None
    chat_id: int | None = None
    thread: int | None = None  # its forum topic in the staff group
    root: int | None = None  # without topics: the staff group message that opened it
    first_reply_at: int | None = None  # the first staff reply relayed
    reminded: int = 0  # 1 once the resident was told no one has replied yet
    staff: str = ""  # who answered: comma-separated Telegram ids (the audit names them too)
    closed_at: int | None = None


@dataclass(frozen=True)
class DatabaseStatus:
    """What ``python -m bot status`` shows of a database, read without changing it."""

    where: str  # "SQLite data/bot.sqlite3", "PostgreSQL db.example:5432/herts"
    schema: int  # its schema version (0: never migrated)
    expected: int  # this program's
    waiting: int  # updates received and not answered yet
    last_day: int  # messages logged in the last 24 hours
    active: tuple[str, float] | None = None  # the instance serving Telegram, since when


class Store(Protocol):
    """The question log. Writes are queued and never wait for the disk; reads and changes
    raise StoreUnavailable when the database cannot be used."""

    async def open(self) -> None: ...

    async def close(self, timeout: float = 5.0) -> None: ...

    async def log_message(
        self,
        user_id: int | None,
        reply: Reply,
        reply_ref: int | None,
        update: UpdateKey | None = None,
    ) -> None:
        """Queue one message's outcome; ``user_id`` None marks the terminal chat's, and
        ``update`` is the Telegram update answered (logged once, even if answered twice)."""

    async def receive(self, entry: InboxEntry, wait: float = 1.0) -> bool: ...

    async def mark_done(self, update: UpdateKey, state: str = "done") -> None: ...

    async def pending_updates(self, bot_id: int) -> list[InboxEntry]: ...

    def redact(self, text: str) -> str: ...

    def health(self) -> str | None:
        """A line for admins while the question log cannot be written, else None."""

    def save_unwritten(self) -> int:
        """Move records not yet written to the fallback file now (the process is about to
        end abruptly); they are imported at the next start. Returns how many."""

    def user_key(self, user_id: int) -> str: ...

    async def record_feedback(self, user_id: int, reply_ref: int, helpful: bool) -> None: ...

    async def forget_user(self, user_id: int) -> int: ...

    async def reviewed_questions(self, user_id: int) -> set[int]: ...

    async def purge_text(self, older_than_days: int) -> int: ...

    async def questions(self, days: int, reviewed: bool = False) -> list[Question]: ...

    async def question(self, question_id: int) -> Question | None: ...

    async def mark_reviewed(self, question_id: int) -> bool: ...

    async def outcomes(self, days: int, console: bool = False) -> list[MessageOutcome]:
        """Residents' messages (Telegram, the web chat); ``console``: the terminal chat's."""

    async def record_wanted(self, user_id: int, reply_ref: int, wanted: str) -> None: ...

    async def count_place(self, place: str) -> None:
        """Queue one question about ``place`` (a council or force id), counted per day
        with no user."""

    async def place_counts(self, days: int) -> dict[str, int]: ...

    async def not_helpful(self, days: int) -> list[Question]: ...

    async def add_audit(self, admin: int, action: str, detail: str) -> None: ...

    async def audit_entries(self, limit: int) -> list[AuditEntry]: ...

    # -- handovers to staff (written at once, not queued: the state must survive a kill)

    async def save_handover(self, handover: Handover) -> None: ...

    async def open_handovers(self) -> tuple[list[Handover], dict[int, str]]:
        """Open handovers, and the staff group's messages that belong to each (by ref)."""

    async def link_handover(self, message_id: int, ref: str) -> None: ...

    async def handovers(self, days: int) -> list[Handover]:
        """Every handover and refused request of the period (figures only)."""

    async def set_staff_name(self, staff_id: int, name: str | None) -> None:
        """The first name a member of staff signs with; None: none ("A member of staff")."""

    async def staff_names(self) -> dict[int, str]: ...
