"""The question log in one SQLite file (aiosqlite): the embedded default for one machine.

The queue, the fallback file and the SQL are shared with the PostgreSQL store
(``bot.storage.queued``); this module adds the file: creating it, WAL mode, migrations,
and surviving a file that is locked, read-only, full, corrupt or deleted.
"""

from __future__ import annotations

import contextlib
import logging
import secrets
import sqlite3
import time
from collections.abc import AsyncIterator, Sequence
from pathlib import Path
from typing import Any

import aiosqlite

from bot.storage.queued import INBOX_KEPT, PRUNE_INBOX, QueuedStore
from bot.storage.redact import Redactor
from bot.storage.store import DatabaseStatus

log = logging.getLogger(__name__)

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
    3: [
        # what a resident said they were looking for after a 👎 (an intent id, or "-")
        "ALTER TABLE messages ADD COLUMN wanted TEXT",
        """CREATE TABLE audit (
            id INTEGER PRIMARY KEY,
            at INTEGER NOT NULL,
            admin INTEGER NOT NULL,
            action TEXT NOT NULL,
            detail TEXT NOT NULL
        )""",
    ],
    4: [
        # Every incoming message and button press, recorded before it is answered, so a
        # crash never loses one and a re-delivered one is not answered twice. The ids and
        # the (redacted) text are kept only until it is answered.
        """CREATE TABLE inbox (
            update_id INTEGER PRIMARY KEY,
            received INTEGER NOT NULL,
            state TEXT NOT NULL DEFAULT 'pending',
            kind TEXT,
            chat_id INTEGER,
            chat_type TEXT,
            user_id INTEGER,
            message_id INTEGER,
            date INTEGER,
            text TEXT
        )""",
        "CREATE INDEX inbox_pending ON inbox(state) WHERE state = 'pending'",
        "ALTER TABLE messages ADD COLUMN update_id INTEGER",
        "CREATE UNIQUE INDEX messages_update ON messages(update_id) WHERE update_id IS NOT NULL",
    ],
    5: [
        # Updates are numbered per bot: the inbox and the log key them by bot and update.
        # SQLite cannot change a primary key, so the inbox is copied; entries from before
        # get bot 0, which the first bot to start takes as its own (``pending_updates``).
        """CREATE TABLE inbox_by_bot (
            bot_id INTEGER NOT NULL,
            update_id INTEGER NOT NULL,
            received INTEGER NOT NULL,
            state TEXT NOT NULL DEFAULT 'pending',
            kind TEXT,
            chat_id INTEGER,
            chat_type TEXT,
            user_id INTEGER,
            message_id INTEGER,
            date INTEGER,
            text TEXT,
            PRIMARY KEY (bot_id, update_id)
        )""",
        "INSERT INTO inbox_by_bot SELECT 0, * FROM inbox",
        "DROP TABLE inbox",
        "ALTER TABLE inbox_by_bot RENAME TO inbox",
        "CREATE INDEX inbox_pending ON inbox(state) WHERE state = 'pending'",
        "ALTER TABLE messages ADD COLUMN bot_id INTEGER",
        "DROP INDEX messages_update",
        "CREATE UNIQUE INDEX messages_update ON messages(bot_id, update_id)"
        " WHERE update_id IS NOT NULL",
    ],
}
SCHEMA_VERSION = max(MIGRATIONS)


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


async def migrate_file(path: Path) -> tuple[int, int]:
    """``python -m bot migrate``: the versions before and after (the file is created)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    async with aiosqlite.connect(path) as conn:
        row = await (await conn.execute("PRAGMA user_version")).fetchone()
        before = int(row[0]) if row else 0
        return before, await migrate(conn)


def load_or_create_secret(path: Path) -> str:
    """The key of the user hash, kept beside the database when not given in settings."""
    try:
        return path.read_text().strip()
    except (FileNotFoundError, NotADirectoryError):  # none yet
        pass
    secret = secrets.token_hex(32)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.touch(mode=0o600)
        path.write_text(secret)
    except OSError as exc:  # a read-only or full disk: the bot still answers
        log.warning(
            "cannot keep the user-hash key (%s); ids are hashed with a key for this run only",
            exc.strerror,
        )
    return secret


class SqliteTransaction:
    """A transaction on the store's one connection (aiosqlite runs it in its thread)."""

    def __init__(self, conn: aiosqlite.Connection) -> None:
        self._conn = conn

    async def execute(self, sql: str, params: Sequence[object] = ()) -> int:
        return (await self._conn.execute(sql, params)).rowcount

    async def executemany(self, sql: str, rows: Sequence[Sequence[object]]) -> None:
        await self._conn.executemany(sql, rows)

    async def fetch(self, sql: str, params: Sequence[object] = ()) -> list[tuple[Any, ...]]:
        return [tuple(row) for row in await self._conn.execute_fetchall(sql, params)]


class SqliteStore(QueuedStore):
    """The ``Store`` in one SQLite file, created with its folder; records that cannot be
    written by shutdown go to ``<file>.unwritten.jsonl``. A file that is not a database is
    moved aside and a fresh one created."""

    errors = (sqlite3.Error, OSError)
    refusals = (sqlite3.DataError, sqlite3.IntegrityError)

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
        super().__init__(
            secret,
            redactor,
            path.with_name(path.name + ".unwritten.jsonl"),
            linger=linger,
            retry_first=retry_first,
            retry_max=retry_max,
        )
        self.path = path
        self._busy_ms = busy_timeout_ms
        self._conn: aiosqlite.Connection | None = None

    @contextlib.asynccontextmanager
    async def _transaction(self) -> AsyncIterator[SqliteTransaction]:
        conn = await self._connect()
        try:
            yield SqliteTransaction(conn)
            await conn.commit()
        except BaseException:
            with contextlib.suppress(sqlite3.Error, ValueError):
                await conn.rollback()
            raise

    async def _write_failed(self, exc: BaseException) -> None:
        if not any(word in str(exc) for word in ("locked", "busy", "full")):
            # read-only, corrupt or gone: reopen next time (moving a corrupt file aside),
            # so writing resumes once the file is usable again
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
            await conn.execute(PRUNE_INBOX, (int(time.time()) - INBOX_KEPT,))
            await conn.commit()
        except BaseException:
            await conn.close()
            raise
        return conn

    async def _disconnect(self) -> None:
        if self._conn is not None:
            with contextlib.suppress(sqlite3.Error, ValueError):
                await self._conn.close()
            self._conn = None


def inspect(path: Path) -> DatabaseStatus:
    """``python -m bot status``: read only (nothing is created or migrated)."""
    if not path.is_file():
        raise sqlite3.OperationalError(f"no database at {path}")
    with contextlib.closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True)) as conn:
        version = int(conn.execute("PRAGMA user_version").fetchone()[0])
        waiting = recent = 0
        if version >= 4:  # the inbox came with version 4
            [(waiting,)] = conn.execute("SELECT COUNT(*) FROM inbox WHERE state = 'pending'")
        if version:
            since = int(time.time()) - 86400
            [(recent,)] = conn.execute("SELECT COUNT(*) FROM messages WHERE at >= ?", (since,))
    return DatabaseStatus(f"SQLite {path}", version, SCHEMA_VERSION, waiting, recent)
