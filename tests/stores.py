"""Each storage test runs against both stores: a new SQLite file, or a new database on
the suite's PostgreSQL server reached through a relay that a test can cut."""

from __future__ import annotations

import contextlib
import sqlite3
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import asyncpg

from bot.storage.postgres import PostgresStore, numbered
from bot.storage.queued import QueuedStore
from bot.storage.redact import Redactor
from bot.storage.sqlite import SqliteStore
from tests.postgres_server import PostgresServer
from tests.tcp_proxy import TcpProxy

KINDS = ["sqlite", "postgresql"]
SECRET = "k" * 32


class Database:
    """One empty database for a test; ``store()`` opens a store on it (a new one each call,
    as after a restart)."""

    def __init__(self, kind: str, folder: Path, server: PostgresServer | None = None) -> None:
        self.kind, self.folder = kind, folder
        self.path = folder / "data" / "bot.sqlite3"
        self.url = self.proxy = None
        if server is not None:
            direct = server.create_database()
            self.direct_url = direct
            self.proxy = TcpProxy(server.port)
            self.url = direct.replace(f":{server.port}/", f":{self.proxy.port}/")

    def settings(self) -> dict[str, Any]:
        """The bot's settings for this database (``running_bot(engine, **db.settings())``)."""
        return {"database": self.path, "database_url": self.url or ""}

    def store(self, redactor: Redactor | None = None, **fast: Any) -> QueuedStore:
        """A store; ``fast`` shortens its waits (``retry_first``, ``retry_max``, and the
        time a locked file or a silent server is given: ``give_up``)."""
        redactor = redactor or Redactor()
        give_up = fast.pop("give_up", None)
        if self.url is None:
            if give_up is not None:
                fast["busy_timeout_ms"] = int(give_up * 1000)
            return SqliteStore(self.path, SECRET, redactor, **fast)
        if give_up is not None:
            fast["timeout"] = give_up
        fallback = self.folder / "data" / "postgresql.unwritten.jsonl"
        return PostgresStore(self.url, SECRET, redactor, fallback, **fast)

    async def rows(self, sql: str, *params: object) -> list[tuple]:
        """Rows straight from the database (``?`` placeholders), not through a store."""
        if self.url is None:
            with contextlib.closing(sqlite3.connect(self.path)) as conn:
                return conn.execute(sql, params).fetchall()
        conn = await asyncpg.connect(self.direct_url)
        try:
            return [tuple(row) for row in await conn.fetch(numbered(sql), *params)]
        finally:
            await conn.close()

    async def execute(self, sql: str, *params: object) -> None:
        if self.url is None:
            with contextlib.closing(sqlite3.connect(self.path)) as conn, conn:
                conn.execute(sql, params)
            return
        conn = await asyncpg.connect(self.direct_url)
        try:
            await conn.execute(numbered(sql), *params)
        finally:
            await conn.close()

    @contextlib.contextmanager
    def outage(self) -> Iterator[None]:
        """Writes fail until the end of the block: the SQLite file is locked by another
        process's transaction; PostgreSQL's connections are cut and new ones refused."""
        if self.proxy is None:
            blocker = sqlite3.connect(self.path, timeout=0)
            blocker.execute("BEGIN EXCLUSIVE")
            try:
                yield
            finally:
                blocker.rollback()
                blocker.close()
            return
        self.proxy.cut()
        try:
            yield
        finally:
            self.proxy.restore()

    @contextlib.asynccontextmanager
    async def blocked(self) -> AsyncIterator[None]:
        """Writes fail until the end of the block, the connections staying up: another
        session holds the tables (PostgreSQL) or the file (SQLite)."""
        if self.proxy is None:
            with self.outage():
                yield
            return
        conn = await asyncpg.connect(self.direct_url)
        try:
            async with conn.transaction():
                await conn.execute("LOCK TABLE messages, inbox, feedback IN ACCESS EXCLUSIVE MODE")
                yield
        finally:
            await conn.close()

    def close(self) -> None:
        if self.proxy is not None:
            self.proxy.close()
