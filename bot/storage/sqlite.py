"""The question log in one SQLite file (aiosqlite), behind the ``Store`` interface.

Writes go through a queue to one writer task that commits them in batches, so a reply is
never waiting for the disk, and a database that is locked, read-only, full or gone only
delays the records: they are kept (up to a limit) and written when it works again.
Users are keyed by an HMAC of their Telegram id; question text is stored only for
unanswered and suggested questions, after redaction.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import logging
import secrets
import sqlite3
import time
from collections import deque
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiosqlite

from bot.matching.reply import Reply, ReplyKind
from bot.storage.redact import Redactor
from bot.storage.store import MessageOutcome, Question, StoreUnavailable

log = logging.getLogger(__name__)

TEXT_KINDS = (ReplyKind.FALLBACK.value, ReplyKind.SUGGEST.value)
MAX_PENDING = 10_000
# The user of the terminal chat's messages: not a hash, so they never mix with residents'.
CONSOLE_USER = "console"
BATCH = 500

# Each entry brings the schema from the version before it to its own number.
MIGRATIONS: dict[int, list[str]] = {
    1: [
        """CREATE TABLE messages (
            id INTEGER PRIMARY KEY,
            at INTEGER NOT NULL,
            user_key TEXT NOT NULL,
            kind TEXT NOT NULL,
            intent TEXT,
            confidence REAL,
            text TEXT,
            suggestions TEXT,
            reply_ref INTEGER
        )""",
        "CREATE INDEX messages_at ON messages(at)",
    ],
    2: [
        """CREATE TABLE feedback (
            message_id INTEGER NOT NULL REFERENCES messages(id) ON DELETE CASCADE,
            user_key TEXT NOT NULL,
            helpful INTEGER NOT NULL,
            at INTEGER NOT NULL,
            PRIMARY KEY (message_id, user_key)
        )""",
        "ALTER TABLE messages ADD COLUMN closest_intent TEXT",
        "ALTER TABLE messages ADD COLUMN closest_score REAL",
        "ALTER TABLE messages ADD COLUMN reviewed INTEGER NOT NULL DEFAULT 0",
        "CREATE INDEX messages_user ON messages(user_key, reply_ref)",
    ],
}
SCHEMA_VERSION = max(MIGRATIONS)


QUESTION_COLUMNS = "id, at, kind, text, closest_intent, closest_score"  # fields of Question


@dataclass(frozen=True)
class MessageRecord:
    """A message waiting to be written: the columns of ``messages``."""

    at: int
    user_key: str
    kind: str
    intent: str | None
    confidence: float
    text: str | None
    suggestions: str | None
    reply_ref: int | None
    closest_intent: str | None
    closest_score: float | None

    def row(self) -> tuple[object, ...]:
        """The values in the order of the INSERT below."""
        return (
            self.at,
            self.user_key,
            self.kind,
            self.intent,
            self.confidence,
            self.text,
            self.suggestions,
            self.reply_ref,
            self.closest_intent,
            self.closest_score,
        )


@dataclass(frozen=True)
class FeedbackRecord:
    """A vote waiting to be written; it joins its message by (user_key, reply_ref)."""

    user_key: str
    reply_ref: int
    helpful: int
    at: int


Record = MessageRecord | FeedbackRecord


async def migrate(conn: aiosqlite.Connection, target: int = SCHEMA_VERSION) -> int:
    """Apply the migrations after the file's version up to ``target``; returns the version."""
    row = await (await conn.execute("PRAGMA user_version")).fetchone()
    version = int(row[0]) if row else 0
    for number in range(version + 1, target + 1):
        for statement in MIGRATIONS[number]:
            await conn.execute(statement)
        await conn.execute(f"PRAGMA user_version = {number}")
        await conn.commit()
        log.info("database schema migrated to version %s", number)
    return max(version, target)


def load_or_create_secret(path: Path) -> str:
    """The key of the user hash, kept beside the database when not given in settings."""
    try:
        return path.read_text().strip()
    except FileNotFoundError:
        path.parent.mkdir(parents=True, exist_ok=True)
        secret = secrets.token_hex(32)
        path.touch(mode=0o600)
        path.write_text(secret)
        return secret


class SqliteStore:
    """The ``Store`` in one SQLite file. ``linger`` is how long the writer waits for more
    records before a transaction; a failed write is retried after ``retry_first`` seconds,
    doubling up to ``retry_max`` (tests shorten both)."""

    def __init__(
        self,
        path: Path,
        secret: str,
        redactor: Redactor,
        *,
        busy_timeout_ms: int = 2000,
        linger: float = 0.05,
        retry_first: float = 0.5,
        retry_max: float = 30.0,
    ) -> None:
        self.path = path
        self._secret = secret.encode()
        self._redact = redactor
        self._busy_ms = busy_timeout_ms
        self._linger = linger
        self._retry_first, self._retry_max = retry_first, retry_max
        self._conn: aiosqlite.Connection | None = None
        self._pending: deque[Record] = deque()
        self._wake = asyncio.Event()
        self._idle = asyncio.Event()
        self._idle.set()
        self._writer: asyncio.Task[None] | None = None
        self.failures = 0  # failed write attempts since start (/stats shows them)
        self._dropped = 0  # records dropped from a full backlog during the current outage
        self._evicted = 0  # all records ever dropped, to keep the writer's batch in step
        self._failing = False

    # -- lifecycle

    async def open(self) -> None:
        """Connect (creating the file and folder), migrate, and start the writer. A file
        that is not a database is moved aside and a fresh one created; any other failure
        leaves the store retrying in the background."""
        with contextlib.suppress(sqlite3.Error, OSError):
            await self._connect()
        self._writer = asyncio.create_task(self._write_loop(), name="database-writer")

    async def close(self) -> None:
        if self._writer is not None:
            await self.flush(timeout=5)
            self._writer.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._writer
            self._writer = None
        await self._disconnect()

    async def _connect(self) -> aiosqlite.Connection:
        if self._conn is not None:
            if self.path.exists():
                return self._conn
            log.error("database file %s has disappeared; creating a new one", self.path)
            await self._disconnect()
        self.path.parent.mkdir(parents=True, exist_ok=True)
        try:
            conn = await self._open_file()
        except sqlite3.DatabaseError as exc:
            if "not a database" not in str(exc) and "malformed" not in str(exc):
                raise
            aside = self.path.with_name(f"{self.path.name}.corrupt-{int(time.time())}")
            log.error(
                "database file %s is corrupt (%s): moved it to %s and starting a new one",
                self.path,
                exc,
                aside.name,
            )
            self.path.rename(aside)
            for suffix in ("-wal", "-shm"):  # rare (a corrupt file): no thread for this
                Path(f"{self.path}{suffix}").unlink(missing_ok=True)  # noqa: ASYNC240
            conn = await self._open_file()
        self._conn = conn
        return conn

    async def _open_file(self) -> aiosqlite.Connection:
        if self.path.is_dir():  # checked here: a failed connect leaves aiosqlite's thread behind
            raise sqlite3.OperationalError(f"{self.path} is a folder; it must be a file")
        conn = await aiosqlite.connect(self.path)
        try:
            await conn.execute(f"PRAGMA busy_timeout = {self._busy_ms}")
            row = await (await conn.execute("PRAGMA quick_check")).fetchone()
            check = row[0] if row else "no answer"
            if check != "ok":
                raise sqlite3.DatabaseError(f"database disk image is malformed: {check}")
            await conn.execute("PRAGMA journal_mode = WAL")
            await conn.execute("PRAGMA synchronous = NORMAL")
            await conn.execute("PRAGMA foreign_keys = ON")
            await migrate(conn)
        except BaseException:
            await conn.close()
            raise
        return conn

    async def _disconnect(self) -> None:
        if self._conn is not None:
            with contextlib.suppress(sqlite3.Error, ValueError):
                await self._conn.close()
            self._conn = None

    # -- writes, queued

    def user_key(self, user_id: int) -> str:
        return hmac.new(self._secret, str(user_id).encode(), hashlib.sha256).hexdigest()[:32]

    async def log_message(
        self, user_id: int | None, reply: Reply, reply_ref: int | None
    ) -> None:
        closest = reply.ranked[0] if reply.ranked else None
        keep_text = reply.kind.value in TEXT_KINDS and reply.question
        self._enqueue(
            MessageRecord(
                at=int(time.time()),
                user_key=CONSOLE_USER if user_id is None else self.user_key(user_id),
                kind=reply.kind.value,
                intent=reply.intent,
                confidence=round(reply.confidence, 4),
                text=self._redact(reply.question) if keep_text else None,
                suggestions=",".join(reply.suggestions) or None,
                reply_ref=reply_ref,
                closest_intent=closest.intent if closest else None,
                closest_score=round(closest.score, 4) if closest else None,
            )
        )

    async def record_feedback(self, user_id: int, reply_ref: int, helpful: bool) -> None:
        self._enqueue(
            FeedbackRecord(self.user_key(user_id), reply_ref, int(helpful), int(time.time()))
        )

    def _enqueue(self, record: Record) -> None:
        if len(self._pending) >= MAX_PENDING:
            self._pending.popleft()
            self._dropped += 1
            self._evicted += 1
            if self._dropped == 1:
                log.error(
                    "database backlog full (%d records): dropping the oldest until it works",
                    MAX_PENDING,
                )
        self._pending.append(record)
        self._idle.clear()
        self._wake.set()

    async def flush(self, timeout: float = 2.0) -> bool:
        """Wait until queued records are written; False if that did not happen in time."""
        if self._writer is None:
            return not self._pending
        try:
            await asyncio.wait_for(self._idle.wait(), timeout)
        except TimeoutError:
            return False
        return True

    async def _write_loop(self) -> None:
        delay = self._retry_first
        while True:
            if not self._pending:
                self._idle.set()
                self._wake.clear()
                await self._wake.wait()
                # Let a busy bot's records gather: tens of transactions a second, not one
                # per message, and far fewer trips to the database thread.
                await asyncio.sleep(self._linger)
            batch = [self._pending[i] for i in range(min(BATCH, len(self._pending)))]
            evicted = self._evicted
            try:
                await self._write(batch)
            except (sqlite3.Error, OSError) as exc:
                self.failures += 1
                if not self._failing:
                    log.error(
                        "database write failed (%s); %d records kept to retry",
                        exc,
                        len(self._pending),
                    )
                    self._failing = True
                if not any(word in str(exc) for word in ("locked", "busy", "full")):
                    # read-only, corrupt or gone: reopen next time (moving a corrupt file
                    # aside), so writing resumes once the file is usable again
                    await self._disconnect()
                await asyncio.sleep(delay)
                delay = min(delay * 2, self._retry_max)
                continue
            # Records of this batch dropped from the front while it was being written are
            # gone already: pop only the rest.
            for _ in range(max(0, len(batch) - (self._evicted - evicted))):
                self._pending.popleft()
            if self._failing:
                log.warning(
                    "database writes resumed after %d failed attempts; %d records were dropped",
                    self.failures,
                    self._dropped,
                )
                self._failing, self._dropped = False, 0
            delay = self._retry_first

    async def _write(self, batch: list[Record]) -> None:
        """One transaction; messages go in one executemany (one trip to the database
        thread), so a busy bot does not wake the event loop once per record."""
        conn = await self._connect()
        messages = [r.row() for r in batch if isinstance(r, MessageRecord)]
        feedback = [
            (r.user_key, r.helpful, r.at, r.reply_ref)
            for r in batch
            if isinstance(r, FeedbackRecord)
        ]
        try:
            if messages:
                await conn.executemany(
                    "INSERT INTO messages (at, user_key, kind, intent, confidence, text,"
                    " suggestions, reply_ref, closest_intent, closest_score)"
                    " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    messages,
                )
            if feedback:  # after the messages of the batch: a vote can follow its answer
                await conn.executemany(
                    "INSERT INTO feedback (message_id, user_key, helpful, at)"
                    " SELECT id, ?1, ?2, ?3 FROM messages WHERE user_key = ?1 AND reply_ref = ?4"
                    " ORDER BY id DESC LIMIT 1"
                    " ON CONFLICT (message_id, user_key) DO UPDATE SET helpful = excluded.helpful",
                    feedback,
                )
            await conn.commit()
        except BaseException:
            with contextlib.suppress(sqlite3.Error, ValueError):
                await conn.rollback()
            raise

    # -- reads and deletions (admins, /forget, retention)

    async def _read(self, sql: str, params: tuple[object, ...] = ()) -> list[Any]:
        await self.flush()
        try:
            conn = await self._connect()
            return list(await (await conn.execute(sql, params)).fetchall())
        except (sqlite3.Error, OSError) as exc:
            raise StoreUnavailable(str(exc)) from exc

    async def _change(self, *statements: tuple[str, tuple[object, ...]]) -> int:
        await self.flush()
        try:
            conn = await self._connect()
            changed = 0
            for sql, params in statements:
                changed += (await conn.execute(sql, params)).rowcount
            await conn.commit()
            return changed
        except (sqlite3.Error, OSError) as exc:
            raise StoreUnavailable(str(exc)) from exc

    async def forget_user(self, user_id: int) -> int:
        key = self.user_key(user_id)
        queued = len(self._pending)
        self._pending = deque(r for r in self._pending if r.user_key != key)
        return (
            queued
            - len(self._pending)
            + await self._change(
                ("DELETE FROM feedback WHERE user_key = ?", (key,)),
                (
                    "DELETE FROM feedback WHERE message_id IN"
                    " (SELECT id FROM messages WHERE user_key = ?)",
                    (key,),
                ),
                ("DELETE FROM messages WHERE user_key = ?", (key,)),
            )
        )

    async def purge_text(self, older_than_days: int) -> int:
        """Retention: drop question text older than the limit; the counts stay."""
        cutoff = int(time.time()) - older_than_days * 86400
        return await self._change(
            ("UPDATE messages SET text = NULL WHERE at < ? AND text IS NOT NULL", (cutoff,))
        )

    async def questions(self, days: int) -> list[Question]:
        """Unanswered and suggested questions with text, newest first, not yet reviewed."""
        since = int(time.time()) - days * 86400
        rows = await self._read(
            f"SELECT {QUESTION_COLUMNS} FROM messages"  # noqa: S608 -- a constant column list
            " WHERE at >= ? AND text IS NOT NULL AND reviewed = 0 AND kind IN (?, ?)"
            " ORDER BY id DESC",
            (since, *TEXT_KINDS),
        )
        return [Question(*row) for row in rows]

    async def question(self, question_id: int) -> Question | None:
        rows = await self._read(
            f"SELECT {QUESTION_COLUMNS} FROM messages WHERE id = ?"  # noqa: S608 -- constant
            " AND text IS NOT NULL",
            (question_id,),
        )
        return Question(*rows[0]) if rows else None

    async def mark_reviewed(self, question_id: int) -> bool:
        return bool(
            await self._change(("UPDATE messages SET reviewed = 1 WHERE id = ?", (question_id,)))
        )

    async def outcomes(self, days: int) -> list[MessageOutcome]:
        """Each message in the period with the resident's vote on it."""
        since = int(time.time()) - days * 86400
        rows = await self._read(
            "SELECT m.at, m.kind, m.intent, (SELECT MAX(f.helpful) FROM feedback f"
            " WHERE f.message_id = m.id) FROM messages m WHERE m.at >= ?",
            (since,),
        )
        return [MessageOutcome(*row) for row in rows]
