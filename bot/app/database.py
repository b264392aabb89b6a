"""The question log's database for staff: bring its schema up to date, or look at it."""

from __future__ import annotations

import sqlite3

from bot.settings import Settings
from bot.storage import postgres, sqlite
from bot.storage.store import DatabaseStatus


class DatabaseError(Exception):
    """The database cannot be reached, read or changed."""


FAILURES: tuple[type[BaseException], ...] = (*postgres.ERRORS, sqlite3.Error)


async def migrate(settings: Settings) -> tuple[str, int, int]:
    """Migrate the settings' database: (where it is, schema version before, after)."""
    try:
        if settings.database_url:
            where = f"PostgreSQL {postgres.where(settings.database_url)}"
            before, after = await postgres.migrate_database(settings.database_url)
        else:
            where = f"SQLite {settings.database}"
            before, after = await sqlite.migrate_file(settings.database)
    except FAILURES as exc:
        raise DatabaseError(str(exc)) from exc
    return where, before, after


async def inspect(settings: Settings) -> DatabaseStatus:
    """The settings' database as ``status`` shows it, read without changing it."""
    try:
        if settings.database_url:
            return await postgres.inspect(settings.database_url)
        return sqlite.inspect(settings.database)
    except FAILURES as exc:
        raise DatabaseError(str(exc)) from exc
