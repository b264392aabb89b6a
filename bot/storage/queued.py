"""What the SQLite and PostgreSQL stores share: the queue of records, its writer, the
fallback file, and the SQL (one text for both databases, so they cannot drift).

Writes go through a queue to one writer task that commits them in batches, so a reply is
never waiting for the database, and a database that is locked, full, unreachable or gone
only delays the records: they are kept (up to a limit, then in the fallback file) and
written when it works again. Users are keyed by an HMAC of their Telegram id; question text
is stored only for unanswered and suggested questions, after redaction.

A subclass supplies a connection (``_connect``/``_disconnect``), a transaction speaking
this module's SQL (``?`` or ``?N`` placeholders), and which exceptions mean "the database
failed" (``errors``).
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import datetime as dt
import hashlib
import hmac
import json
import logging
import re
import time
from abc import ABC, abstractmethod
from collections import OrderedDict, deque
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol
from zoneinfo import ZoneInfo

from bot.matching.reply import Reply, ReplyKind
from bot.storage.record_checks import RefusedRecord, checked
from bot.storage.redact import Redactor
from bot.storage.store import (
    AuditEntry,
    Handover,
    InboxEntry,
    MessageOutcome,
    Question,
    StoreUnavailable,
    UpdateKey,
    error_summary,
)

log = logging.getLogger(__name__)

TEXT_KINDS = (ReplyKind.FALLBACK.value, ReplyKind.SUGGEST.value)
MAX_PENDING = 10_000
# The user of the terminal chat's messages: not a hash, so they never mix with residents'.
CONSOLE_USER = "console"
BATCH = 500
UK = ZoneInfo("Europe/London")  # place counts are per UK day

# fields of Question, in order
QUESTION_COLUMNS = "id, at, kind, text, closest_intent, closest_score, intent, wanted"
_LATEST = (
    "(SELECT id FROM messages WHERE user_key = ?2 AND reply_ref = ?3 ORDER BY id DESC LIMIT 1)"
)
SET_TEXT = f"UPDATE messages SET text = ?1 WHERE id = {_LATEST}"  # noqa: S608 -- constants
SET_WANTED = f"UPDATE messages SET wanted = ?1 WHERE id = {_LATEST}"  # noqa: S608 -- constants
REMEMBERED = 10_000  # answered questions kept in memory, redacted only if they get a 👎
# An audit entry of an older version, quoting the question: '#12 "its words" → topic (draft)'
_QUOTED = re.compile(r'#(\d+) ".*" (→ .*)', re.DOTALL)


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
    update_id: int | None = None
    bot_id: int | None = None  # the update's bot (with update_id: logged once)

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
            self.update_id,
            self.bot_id,
        )


@dataclass(frozen=True)
class FeedbackRecord:
    """A vote waiting to be written; it joins its message by (user_key, reply_ref). A 👎
    carries the redacted question, which is then kept with the answer it rated."""

    user_key: str
    reply_ref: int
    helpful: int
    at: int
    text: str | None = None


@dataclass(frozen=True)
class WantedRecord:
    """After a 👎: the topic the resident was looking for ("-": something else)."""

    user_key: str
    reply_ref: int
    wanted: str


@dataclass(frozen=True)
class ReceiptRecord:
    """An update received: written at once (no lingering), and ``written`` is resolved
    with True when it is new or still pending, False when it was answered before."""

    entry: InboxEntry
    written: asyncio.Future[bool]
    user_key: None = None  # never removed by /forget: the update still needs its answer


@dataclass(frozen=True)
class DoneRecord:
    """An update answered (or deliberately not): its ids and text are cleared."""

    update_id: int
    state: str = "done"
    user_key: None = None
    bot_id: int = 0  # 0: saved by a version before bot ids (its inbox rows have 0 too)


@dataclass(frozen=True)
class PlaceRecord:
    """One question about a district or borough (or a force's area, or "ask"): counted per
    day, with no user, so a place is never stored with a resident's code."""

    day: str  # the UK date, YYYY-MM-DD
    place: str  # a council or force id from knowledge/_places.yaml
    user_key: None = None


Record = MessageRecord | FeedbackRecord | WantedRecord | ReceiptRecord | DoneRecord | PlaceRecord


class Transaction(Protocol):
    """One transaction of a subclass's database, in this module's SQL."""

    async def execute(self, sql: str, params: Sequence[object] = ()) -> int:
        """Run one statement; the number of rows it changed."""

    async def executemany(self, sql: str, rows: Sequence[Sequence[object]]) -> None: ...

    async def fetch(self, sql: str, params: Sequence[object] = ()) -> list[tuple[Any, ...]]: ...


# Answered updates are kept only to recognise a re-delivery. Telegram keeps an update for
# 24 hours at most, so an older entry can only be in the way: after a week without updates
# Telegram numbers the next one at random, and it may be an old number.
PRUNE_INBOX = "DELETE FROM inbox WHERE state != 'pending' AND received < ?"
INBOX_KEPT = 86400
# fields of Handover, in order
HANDOVER_COLUMNS = (
    "ref, state, subject, opened_at, user_key, chat_id, thread, root, first_reply_at,"
    " reminded, staff, closed_at"
)


class QueuedStore(ABC):
    """The ``Store`` behaviour over any database. ``linger`` is how long the writer waits
    for more records before a transaction; a failed write is retried after ``retry_first``
    seconds, doubling up to ``retry_max`` (tests shorten both). Records that cannot be
    written by shutdown go to ``fallback``, and are imported from it at the next start."""

    # what a failing database raises (a write is then retried, a read says it is unavailable)
    errors: tuple[type[BaseException], ...] = (OSError,)
    # what a working database raises for a value it will not take: the record is set aside
    refusals: tuple[type[BaseException], ...] = ()

    def __init__(
        self,
        secret: str,
        redactor: Redactor,
        fallback: Path,
        *,
        linger: float = 0.05,
        retry_first: float = 0.5,
        retry_max: float = 30.0,
    ) -> None:
        self._secret = secret.encode()
        self._redact = redactor
        self._linger = linger
        self._retry_first, self._retry_max = retry_first, retry_max
        self._pending: deque[Record] = deque()
        self._wake = asyncio.Event()
        self._urgent = asyncio.Event()  # a receipt waits: write without lingering
        self._idle = asyncio.Event()
        self._idle.set()
        self._writer: asyncio.Task[None] | None = None
        self.failures = 0  # failed write attempts since start (/stats shows them)
        self._dropped = 0  # records lost from a full backlog during the current outage
        self._spilled = 0  # records moved from a full backlog to the fallback file
        self._evicted = 0  # records taken from the queue's front, to keep the batch in step
        self._lost = 0  # records that could be neither written nor saved, in this run
        self.refused = 0  # records no store could hold, set aside in this run (/stats)
        self.restarts = 0  # writer tasks started again after ending unexpectedly (/stats)
        self._failing = False
        # Answered questions by (user_key, reply_ref), in memory only: a 👎 writes its
        # question (redacted) to the log; answers nobody rates are never stored as text.
        self._answered: OrderedDict[tuple[str, int], str] = OrderedDict()
        self.failing_since: float | None = None  # when the current outage began
        self.fallback = fallback

    # -- what a database adds

    @abstractmethod
    async def _connect(self) -> object:
        """Connect (and migrate) unless connected; raises one of ``errors`` when it cannot."""

    @abstractmethod
    async def _disconnect(self) -> None: ...

    @abstractmethod
    def _transaction(self) -> contextlib.AbstractAsyncContextManager[Transaction]:
        """Connected, one transaction: committed on leaving, rolled back on an exception."""

    @abstractmethod
    async def _write_failed(self, exc: BaseException) -> None:
        """After a failed write, before the retry: drop a connection that cannot recover."""

    # -- lifecycle

    async def open(self) -> None:
        """Connect, migrate, and start the writer; a database that cannot be used yet
        leaves the store retrying in the background."""
        with contextlib.suppress(*self.errors):
            await self._connect()
        self._import_fallback()
        self._start_writer()

    def _start_writer(self) -> None:
        self._writer = asyncio.create_task(self._write_loop(), name="database-writer")
        self._writer.add_done_callback(self._writer_stopped)

    def _writer_stopped(self, task: asyncio.Task[None]) -> None:
        """The writer ends only when cancelled; if anything else ends it, say so and start
        another, so records never wait for a writer that is gone."""
        if task.cancelled() or task is not self._writer:
            return
        exc = task.exception()
        self.restarts += 1
        log.error(
            "question-log writer stopped (%s); starting it again",
            type(exc).__name__ if exc else "returned",
        )
        self._start_writer()

    async def close(self, timeout: float = 5.0) -> None:
        """Write what is queued within ``timeout`` seconds; what is not written by then goes
        to the fallback file."""
        if self._writer is not None:
            written = await self.flush(timeout=timeout)
            writer, self._writer = self._writer, None
            writer.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await writer
            if not written:
                kept = self.save_unwritten()
                log.warning(
                    "question log unavailable at shutdown: %d records saved to %s, to be "
                    "imported at the next start",
                    kept,
                    self.fallback.name,
                )
        if self._lost:
            log.error("%d question-log records were lost in this run", self._lost)
        await self._disconnect()

    def save_unwritten(self) -> int:
        kept = self._spill(list(self._pending))
        self._pending.clear()
        return kept

    def health(self) -> str | None:
        """One line for admins while writes fail, else None."""
        if self.failing_since is None:
            return None
        since = time.strftime("%H:%M", time.localtime(self.failing_since))
        return f"question log unavailable since {since}, {len(self._pending)} records waiting"

    # -- the fallback file: records that could not be written by shutdown (already redacted)

    def _spill(self, records: list[Record]) -> int:
        """Append records to the fallback file; returns how many were saved (receipts are
        not: their update is answered or recorded in Telegram's own queue)."""
        lines = [_to_json(r) for r in records if not isinstance(r, ReceiptRecord)]
        try:
            self.fallback.parent.mkdir(parents=True, exist_ok=True)
            with self.fallback.open("a", encoding="utf-8") as file:
                file.writelines(line + "\n" for line in lines)
        except OSError as exc:
            log.error("could not save %d question-log records: %s", len(lines), exc.strerror)
            self._lost += len(lines)
            return 0
        return len(lines)

    def _import_fallback(self) -> None:
        """Queue the fallback file's records again, setting aside (and counting) lines that
        cannot be read: a disk that filled up, or a power cut, while records were appended
        can leave the last one cut short, even inside a character. The file is read as
        bytes and split at newlines only: read as text, one such byte raised out of opening
        the store (the bot could not start), and a line separator in a resident's text
        (U+2028, which JSON leaves as it is) split its record in two."""
        try:
            lines = self.fallback.read_bytes().split(b"\n")
        except FileNotFoundError:
            return
        except OSError as exc:
            log.error("cannot read %s: %s", self.fallback.name, exc.strerror)
            return
        records, unreadable = [], 0
        for line in filter(bytes.strip, lines):
            try:
                records.append(checked(_from_json(line)))
            except (ValueError, KeyError, TypeError):  # RefusedRecord is a ValueError
                unreadable += 1
        if unreadable:
            log.warning("%d unreadable lines in %s were set aside", unreadable, self.fallback.name)
            self.refused += unreadable
        self._pending.extendleft(reversed(records))
        self._idle.clear()
        self._wake.set()
        self.fallback.unlink()
        log.info("imported %d question-log records saved at the last shutdown", len(records))

    # -- writes, queued

    def redact(self, text: str) -> str:
        return self._redact(text)

    def user_key(self, user_id: int) -> str:
        return hmac.new(self._secret, str(user_id).encode(), hashlib.sha256).hexdigest()[:32]

    async def log_message(
        self,
        user_id: int | None,
        reply: Reply,
        reply_ref: int | None,
        update: UpdateKey | None = None,
    ) -> None:
        closest = reply.ranked[0] if reply.ranked else None
        keep_text = reply.kind.value in TEXT_KINDS and reply.question
        user_key = CONSOLE_USER if user_id is None else self.user_key(user_id)
        if reply.kind is ReplyKind.ANSWER and reply.question and reply_ref is not None:
            self._answered[(user_key, reply_ref)] = reply.question
            if len(self._answered) > REMEMBERED:
                self._answered.popitem(last=False)
        self._enqueue(
            MessageRecord(
                at=int(time.time()),
                user_key=user_key,
                kind=reply.kind.value,
                intent=reply.intent,
                confidence=round(reply.confidence, 4),
                text=self._redact(reply.question) if keep_text else None,
                suggestions=",".join(reply.suggestions) or None,
                reply_ref=reply_ref,
                closest_intent=closest.intent if closest else None,
                closest_score=round(closest.score, 4) if closest else None,
                update_id=update.update_id if update else None,
                bot_id=update.bot_id if update else None,
            )
        )

    async def record_feedback(self, user_id: int, reply_ref: int, helpful: bool) -> None:
        key = self.user_key(user_id)
        question = None if helpful else self._answered.pop((key, reply_ref), None)
        text = self._redact(question) if question else None
        self._enqueue(FeedbackRecord(key, reply_ref, int(helpful), int(time.time()), text))

    async def record_wanted(self, user_id: int, reply_ref: int, wanted: str) -> None:
        self._enqueue(WantedRecord(self.user_key(user_id), reply_ref, wanted))

    async def count_place(self, place: str) -> None:
        day = dt.datetime.now(UK).date().isoformat()
        self._enqueue(PlaceRecord(day, place))

    async def place_counts(self, days: int) -> dict[str, int]:
        """Questions per council or force over the last ``days`` days (UK dates)."""
        since = (dt.datetime.now(UK).date() - dt.timedelta(days=days - 1)).isoformat()
        rows = await self._read(
            "SELECT place, SUM(asked) FROM place_counts WHERE day >= ? GROUP BY place", (since,)
        )
        return {str(place): int(count) for place, count in rows}

    # -- the inbox: every update recorded before it is answered

    async def receive(self, entry: InboxEntry, wait: float = 1.0) -> bool:
        """Record an update before it is answered; False when it was answered before (a
        re-delivery). When the database cannot take it within ``wait`` seconds, or is
        already failing, True at once: the resident is answered anyway, and the record
        follows when the database works."""
        written: asyncio.Future[bool] = asyncio.get_running_loop().create_future()
        self._enqueue(ReceiptRecord(entry, written))
        if self.failing_since is not None:  # no reply should wait for a known outage
            return True
        try:
            return await asyncio.wait_for(asyncio.shield(written), wait)
        except TimeoutError:
            return True

    async def mark_done(self, update: UpdateKey, state: str = "done") -> None:
        self._enqueue(DoneRecord(update.update_id, state, bot_id=update.bot_id))

    async def pending_updates(self, bot_id: int) -> list[InboxEntry]:
        """This bot's updates received but never answered (the bot stopped before it could).
        Entries kept before the inbox knew bots (bot 0) become the first bot's to ask."""
        await self._change(("UPDATE inbox SET bot_id = ? WHERE bot_id = 0", (bot_id,)))
        rows = await self._read(
            "SELECT bot_id, update_id, received, kind, chat_id, chat_type, user_id, message_id,"
            " date, text, thread FROM inbox WHERE state = 'pending' AND bot_id = ?"
            " ORDER BY update_id",
            (bot_id,),
        )
        return [InboxEntry(*row) for row in rows]

    def _set_aside(self, record: Record, reason: str) -> None:
        """Drop a record no store can hold, so the rest are written; its receipt's update
        is answered anyway. The log line names the reason, never the record's values."""
        self.refused += 1
        log.warning("question-log record set aside: %s (%s)", reason, type(record).__name__)
        if isinstance(record, ReceiptRecord) and not record.written.done():
            record.written.set_result(True)

    def _enqueue(self, record: Record) -> None:
        try:
            record = checked(record)
        except RefusedRecord as exc:
            self._set_aside(record, str(exc))
            return
        if len(self._pending) >= MAX_PENDING:  # the oldest go to the fallback file
            oldest = self._pending.popleft()
            self._evicted += 1
            if self._spill([oldest]):
                self._spilled += 1
            else:
                self._dropped += 1
            if self._spilled + self._dropped == 1:
                log.error(
                    "database backlog full (%d records): the oldest go to %s until it works",
                    MAX_PENDING,
                    self.fallback.name,
                )
        self._pending.append(record)
        self._idle.clear()
        self._wake.set()
        if isinstance(record, ReceiptRecord | DoneRecord):  # the inbox's records are prompt
            self._urgent.set()

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
                # per message, and far fewer trips to the database thread. The inbox's
                # records do not wait: a receipt holds up Telegram's next delivery, and the
                # sooner an answer is marked done, the smaller the window in which a crash
                # would have it sent twice.
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._urgent.wait(), self._linger)
            self._urgent.clear()
            batch = [self._pending[i] for i in range(min(BATCH, len(self._pending)))]
            evicted = self._evicted
            try:
                try:
                    answered_before = await self._write(batch)
                except Exception as exc:
                    if self._is_outage(exc):
                        raise
                    answered_before = await self._write_each(batch)
            except self.errors as exc:
                await self._write_failing(exc)
                await asyncio.sleep(delay)
                delay = min(delay * 2, self._retry_max)
                continue
            # Records of this batch dropped from the front while it was being written are
            # gone already: pop only the rest.
            for _ in range(max(0, len(batch) - (self._evicted - evicted))):
                self._pending.popleft()
            for record in batch:
                if isinstance(record, ReceiptRecord) and not record.written.done():
                    record.written.set_result(record.entry.key not in answered_before)
            if self._failing:
                log.warning(
                    "database writes resumed after %d failed attempts; %d records were "
                    "moved to %s and %d lost",
                    self.failures,
                    self._spilled,
                    self.fallback.name,
                    self._dropped,
                )
                self._failing, self.failing_since, self._dropped = False, None, 0
                if self._spilled:  # bring them back now the database works
                    self._spilled = 0
                    self._import_fallback()
            delay = self._retry_first

    def _is_outage(self, exc: BaseException) -> bool:
        return isinstance(exc, self.errors) and not isinstance(exc, self.refusals)

    async def _write_failing(self, exc: BaseException) -> None:
        self.failures += 1
        if not self._failing:
            log.error(
                "database write failed (%s); %d records kept to retry",
                error_summary(exc),
                len(self._pending),
            )
            self._failing = True
            self.failing_since = time.time()
        await self._write_failed(exc)

    async def _write_each(self, batch: list[Record]) -> set[UpdateKey]:
        """The batch held a record the database refused: write one at a time and set aside
        those it refuses. An outage on the way is raised, to retry the whole batch."""
        answered_before: set[UpdateKey] = set()
        for record in batch:
            try:
                answered_before |= await self._write([record])
            except Exception as exc:
                if self._is_outage(exc):
                    raise
                self._set_aside(record, f"the database refused it ({error_summary(exc)})")
        return answered_before

    async def _write(self, batch: list[Record]) -> set[UpdateKey]:
        """One transaction; messages go in one executemany (one trip to the database), so a
        busy bot does not wake the event loop once per record. Returns the received updates
        of the batch that were answered before."""
        receipts = [r.entry for r in batch if isinstance(r, ReceiptRecord)]
        answered_before: set[UpdateKey] = set()
        messages = [r.row() for r in batch if isinstance(r, MessageRecord)]
        places = [(r.day, r.place) for r in batch if isinstance(r, PlaceRecord)]
        feedback = [
            (r.user_key, r.helpful, r.at, r.reply_ref)
            for r in batch
            if isinstance(r, FeedbackRecord)
        ]
        updates = [
            (SET_TEXT, (r.text, r.user_key, r.reply_ref))
            for r in batch
            if isinstance(r, FeedbackRecord) and r.text
        ] + [
            (SET_WANTED, (r.wanted, r.user_key, r.reply_ref))
            for r in batch
            if isinstance(r, WantedRecord)
        ]
        async with self._transaction() as tx:
            if receipts:
                keys = {e.key for e in receipts}
                # Telegram redelivers for 24 hours at most: an older entry with the same key
                # was another update, as was a message logged with it. Forget both.
                stale = [(*key, int(time.time()) - INBOX_KEPT) for key in keys]
                await tx.executemany(
                    "DELETE FROM inbox WHERE bot_id = ? AND update_id = ? AND received < ?", stale
                )
                await tx.executemany(
                    "UPDATE messages SET update_id = NULL"
                    " WHERE bot_id = ? AND update_id = ? AND at < ?",
                    stale,
                )
                await tx.executemany(
                    "INSERT INTO inbox (bot_id, update_id, received, kind, chat_id, chat_type,"
                    " user_id, message_id, date, text, thread)"
                    " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
                    " ON CONFLICT DO NOTHING",
                    [dataclasses.astuple(e) for e in receipts],
                )
                ids = [key.update_id for key in keys]
                marks = ",".join("?" * len(ids))
                rows = await tx.fetch(
                    f"SELECT bot_id, update_id FROM inbox WHERE state != 'pending'"  # noqa: S608
                    f" AND update_id IN ({marks})",
                    ids,
                )
                answered_before = {UpdateKey(int(b), int(u)) for b, u in rows} & keys
            if messages:  # a message answered again after a crash is logged once
                await tx.executemany(
                    "INSERT INTO messages (at, user_key, kind, intent, confidence, text,"
                    " suggestions, reply_ref, closest_intent, closest_score, update_id, bot_id)"
                    " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
                    messages,
                )
            if feedback:  # after the messages of the batch: a vote can follow its answer
                await tx.executemany(
                    "INSERT INTO feedback (message_id, user_key, helpful, at)"
                    " SELECT id, CAST(?1 AS TEXT), CAST(?2 AS INTEGER), CAST(?3 AS BIGINT)"
                    " FROM messages WHERE user_key = ?1 AND reply_ref = ?4"
                    " ORDER BY id DESC LIMIT 1"
                    " ON CONFLICT (message_id, user_key) DO UPDATE SET helpful = excluded.helpful",
                    feedback,
                )
            for sql, params in updates:  # a 👎's question, the topic wanted: rare, one by one
                await tx.execute(sql, params)
            for day, place in places:
                await tx.execute(
                    "INSERT INTO place_counts (day, place, asked) VALUES (?, ?, 1)"
                    " ON CONFLICT (day, place) DO UPDATE SET asked = place_counts.asked + 1",
                    (day, place),
                )
            done = [(r.state, r.bot_id, r.update_id) for r in batch if isinstance(r, DoneRecord)]
            if done:  # after the messages: the answer's record and "done" commit together
                await tx.executemany(
                    "UPDATE inbox SET state = ?, chat_id = NULL, user_id = NULL,"
                    " message_id = NULL, text = NULL, thread = NULL"
                    " WHERE bot_id = ? AND update_id = ?",
                    done,
                )
        return answered_before

    # -- reads and deletions (admins, /forget, retention)

    async def _read(self, sql: str, params: Sequence[object] = ()) -> list[tuple[Any, ...]]:
        await self.flush()
        try:
            async with self._transaction() as tx:
                return await tx.fetch(sql, params)
        except self.errors as exc:
            raise StoreUnavailable(error_summary(exc)) from None

    async def _change(self, *statements: tuple[str, Sequence[object]]) -> int:
        await self.flush()
        try:
            async with self._transaction() as tx:
                changed = 0
                for sql, params in statements:
                    changed += await tx.execute(sql, params)
                return changed
        except self.errors as exc:
            raise StoreUnavailable(error_summary(exc)) from None

    async def reviewed_questions(self, user_id: int) -> set[int]:
        """The numbers of the user's questions staff reviewed: one of them may have been
        added to the draft, which cites it (``bot.content.drafts``)."""
        rows = await self._read(
            "SELECT id FROM messages WHERE user_key = ? AND reviewed = 1", (self.user_key(user_id),)
        )
        return {int(row[0]) for row in rows}

    async def forget_user(self, user_id: int) -> int:
        key = self.user_key(user_id)
        for remembered in [k for k in self._answered if k[0] == key]:
            del self._answered[remembered]
        queued = len(self._pending)
        self._pending = deque(r for r in self._pending if r.user_key != key)
        unqueued = queued - len(self._pending)
        quoting = await self._audit_unquoted(questions=await self.reviewed_questions(user_id))
        return unqueued + await self._change(
            *quoting,
            ("DELETE FROM feedback WHERE user_key = ?", (key,)),
            (
                "DELETE FROM feedback WHERE message_id IN"
                " (SELECT id FROM messages WHERE user_key = ?)",
                (key,),
            ),
            ("DELETE FROM messages WHERE user_key = ?", (key,)),
            (
                "DELETE FROM handover_links WHERE ref IN"
                " (SELECT ref FROM handovers WHERE user_key = ?)",
                (key,),
            ),
            ("DELETE FROM handovers WHERE user_key = ?", (key,)),
        )

    async def purge_text(self, older_than_days: int) -> int:
        """Retention: drop question text older than the limit from every table that keeps
        any (the log, updates never answered, audit entries of older versions); the counts
        stay."""
        cutoff = int(time.time()) - older_than_days * 86400
        return await self._change(
            ("UPDATE messages SET text = NULL WHERE at < ? AND text IS NOT NULL", (cutoff,)),
            (  # a handover left open that long is over: its resident's ids go
                "UPDATE handovers SET state = 'expired', user_key = NULL, chat_id = NULL,"
                " closed_at = ?1 WHERE state = 'open' AND opened_at < ?1",
                (cutoff,),
            ),
            (
                "DELETE FROM handover_links WHERE ref NOT IN"
                " (SELECT ref FROM handovers WHERE state = 'open')",
                (),
            ),
            ("UPDATE inbox SET text = NULL WHERE received < ? AND text IS NOT NULL", (cutoff,)),
            *await self._audit_unquoted(before=cutoff),
        )

    async def _audit_unquoted(
        self, *, questions: set[int] | None = None, before: int | None = None
    ) -> list[tuple[str, Sequence[object]]]:
        """Statements that take the quoted question out of audit entries written before
        entries named only its number (``#12 "words" → topic``), for these ``questions``
        or entries older than ``before``."""
        rows = await self._read(
            "SELECT id, at, detail FROM audit WHERE action = 'add-example' AND detail LIKE ?",
            ('#% "%',),
        )
        statements: list[tuple[str, Sequence[object]]] = []
        for row_id, at, detail in rows:
            quoted = _QUOTED.fullmatch(detail)
            if quoted is None:
                continue
            if (questions is not None and int(quoted[1]) in questions) or (
                before is not None and at < before
            ):
                unquoted = f"#{quoted[1]} {quoted[2]}"
                statements.append(("UPDATE audit SET detail = ? WHERE id = ?", (unquoted, row_id)))
        return statements

    async def questions(self, days: int, reviewed: bool = False) -> list[Question]:
        """Unanswered and suggested questions with text, newest first, not yet reviewed
        (``reviewed``: those reviewed too)."""
        since = int(time.time()) - days * 86400
        rows = await self._read(
            f"SELECT {QUESTION_COLUMNS} FROM messages"  # noqa: S608 -- a constant column list
            " WHERE at >= ? AND text IS NOT NULL AND reviewed <= ? AND kind IN (?, ?)"
            " ORDER BY id DESC",
            (since, int(reviewed), *TEXT_KINDS),
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

    async def outcomes(self, days: int, console: bool = False) -> list[MessageOutcome]:
        """Each resident's message in the period (Telegram, the web chat) with the resident's
        vote on it; ``console``: the terminal chat's messages instead (staff trying content)."""
        since = int(time.time()) - days * 86400
        rows = await self._read(
            "SELECT m.at, m.kind, m.intent, (SELECT MAX(f.helpful) FROM feedback f"
            " WHERE f.message_id = m.id), m.closest_intent FROM messages m WHERE m.at >= ?"
            " AND (CASE WHEN m.user_key = ? THEN 1 ELSE 0 END) = ?",
            (since, CONSOLE_USER, int(console)),
        )
        return [MessageOutcome(*row) for row in rows]

    async def not_helpful(self, days: int) -> list[Question]:
        """Answers a resident rated 👎, with their (redacted) question, newest first."""
        since = int(time.time()) - days * 86400
        rows = await self._read(
            f"SELECT {QUESTION_COLUMNS} FROM messages m"  # noqa: S608 -- a constant column list
            " WHERE at >= ? AND text IS NOT NULL AND reviewed = 0 AND kind = ?"
            " AND EXISTS (SELECT 1 FROM feedback f WHERE f.message_id = m.id AND f.helpful = 0)"
            " ORDER BY id DESC",
            (since, ReplyKind.ANSWER.value),
        )
        return [Question(*row) for row in rows]

    async def add_audit(self, admin: int, action: str, detail: str) -> None:
        """Written at once (not queued): an audit entry must not wait behind an outage."""
        await self._change(
            (
                "INSERT INTO audit (at, admin, action, detail) VALUES (?, ?, ?, ?)",
                (int(time.time()), admin, action, detail),
            )
        )

    async def audit_entries(self, limit: int) -> list[AuditEntry]:
        rows = await self._read(
            "SELECT at, admin, action, detail FROM audit ORDER BY id DESC LIMIT ?", (limit,)
        )
        return [AuditEntry(*row) for row in rows]

    # -- handovers to staff

    async def save_handover(self, handover: Handover) -> None:
        """Insert or update one handover; once it is not open, its links go too."""
        statements: list[tuple[str, Sequence[object]]] = [
            (
                f"INSERT INTO handovers ({HANDOVER_COLUMNS})"  # noqa: S608 -- constants
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (ref) DO UPDATE SET"
                " state = excluded.state, subject = excluded.subject,"
                " user_key = excluded.user_key, chat_id = excluded.chat_id,"
                " thread = excluded.thread, root = excluded.root,"
                " first_reply_at = excluded.first_reply_at, reminded = excluded.reminded,"
                " staff = excluded.staff, closed_at = excluded.closed_at",
                dataclasses.astuple(handover),
            )
        ]
        if handover.state != "open":
            statements.append(("DELETE FROM handover_links WHERE ref = ?", (handover.ref,)))
        await self._change(*statements)

    async def open_handovers(self) -> tuple[list[Handover], dict[int, str]]:
        rows = await self._read(
            f"SELECT {HANDOVER_COLUMNS} FROM handovers"  # noqa: S608 -- constant columns
            " WHERE state = 'open' ORDER BY opened_at"
        )
        links = await self._read("SELECT message_id, ref FROM handover_links")
        return [Handover(*row) for row in rows], {int(m): str(r) for m, r in links}

    async def link_handover(self, message_id: int, ref: str) -> None:
        await self._change(
            (
                "INSERT INTO handover_links (message_id, ref) VALUES (?, ?) ON CONFLICT DO NOTHING",
                (message_id, ref),
            )
        )

    async def handovers(self, days: int) -> list[Handover]:
        since = int(time.time()) - days * 86400
        rows = await self._read(
            f"SELECT {HANDOVER_COLUMNS} FROM handovers"  # noqa: S608 -- constant columns
            " WHERE opened_at >= ? ORDER BY opened_at",
            (since,),
        )
        return [Handover(*row) for row in rows]

    async def set_staff_name(self, staff_id: int, name: str | None) -> None:
        if name is None:
            await self._change(("DELETE FROM staff_names WHERE staff_id = ?", (staff_id,)))
            return
        await self._change(
            (
                "INSERT INTO staff_names (staff_id, name) VALUES (?, ?)"
                " ON CONFLICT (staff_id) DO UPDATE SET name = excluded.name",
                (staff_id, name),
            )
        )

    async def staff_names(self) -> dict[int, str]:
        rows = await self._read("SELECT staff_id, name FROM staff_names")
        return {int(staff): str(name) for staff, name in rows}


_RECORD_TYPES: dict[
    str,
    type[MessageRecord]
    | type[FeedbackRecord]
    | type[WantedRecord]
    | type[DoneRecord]
    | type[PlaceRecord],
] = {
    "message": MessageRecord,
    "feedback": FeedbackRecord,
    "wanted": WantedRecord,
    "done": DoneRecord,
    "place": PlaceRecord,
}


def _to_json(record: Record) -> str:
    kind = next(k for k, cls in _RECORD_TYPES.items() if isinstance(record, cls))
    return json.dumps({"type": kind, **dataclasses.asdict(record)}, ensure_ascii=False)


def _from_json(line: bytes) -> Record:
    """A record of the fallback file; ValueError (UnicodeDecodeError, a JSON error),
    KeyError or TypeError for a line that is not one."""
    fields = json.loads(line)
    if not isinstance(fields, dict):
        raise TypeError("not a record")
    return _RECORD_TYPES[fields.pop("type")](**fields)
