"""The inbox: updates a previous run received but never answered are answered after a
restart (with an apology when late, not at all when too old), and a re-delivered update
that was answered is not answered again. Telegram numbers updates per bot and redelivers
for 24 hours at most, so the inbox knows an update by bot and number, for a day."""

from __future__ import annotations

import contextlib
import dataclasses
import logging
import time
from collections.abc import Iterable

import aiosqlite
import asyncpg

from bot.app.assembly import open_store
from bot.storage import postgres, sqlite
from bot.storage.store import InboxEntry
from tests.fake_telegram import FakeBotAPI, message
from tests.telegram_harness import SETTINGS, TOKEN, running_bot

BOT = int(TOKEN.split(":")[0])
OTHER_TOKEN = "987654321:BBH" + "y" * 32  # another bot, as after a new token from BotFather


def entry(update_id: int, chat: int, text: str, age: float) -> InboxEntry:
    at = int(time.time() - age)
    return InboxEntry(
        BOT, update_id, at, "message", chat, "private", chat, 10 + update_id, at, text
    )


async def test_unanswered_updates_are_answered_after_a_restart(engine, database, caplog):
    settings = dataclasses.replace(SETTINGS, **database.settings())
    store = open_store(settings, engine.content)
    await store.open()
    assert await store.receive(entry(900, 6001, "beacon number", age=5))
    assert await store.receive(entry(901, 6002, "beacon number", age=15 * 60))
    assert await store.receive(entry(902, 6003, "beacon number", age=30 * 3600))
    await store.close()

    caplog.set_level(logging.INFO)
    async with running_bot(engine, **database.settings()) as (fake, _, _):
        await fake.wait_for(lambda: fake.sent(chat_id=6001) and fake.sent(chat_id=6002))
        fake._next_update = 900  # Telegram delivers update 900 again
        fake.push(message(6001, "beacon number"))
        await fake.settle()
        [prompt] = fake.sent(chat_id=6001)
        [late] = fake.sent(chat_id=6002)
        assert "Beacon" in prompt.text and "Sorry for the delay" not in prompt.text
        assert late.text.startswith("<i>Sorry for the delay")
        assert not fake.sent(chat_id=6003)  # a day old: the moment has passed
    assert "1 question(s) received before a restart are older than 24 hours" in caplog.text
    states = dict(await database.rows("SELECT update_id, state FROM inbox WHERE bot_id = ?", BOT))
    assert states == {900: "done", 901: "done", 902: "missed"}
    kept = await database.rows("SELECT COUNT(*) FROM inbox WHERE text IS NOT NULL")
    assert kept == [(0,)]  # no text or ids once answered


async def run_bot(
    engine,
    database,
    chats: Iterable[int],
    *,
    token: str = TOKEN,
    first_update: int = 1,
    expect: Iterable[int] | None = None,
) -> FakeBotAPI:
    """One run of the bot on ``database``: each chat asks "beacon number", in updates
    numbered from ``first_update``; returns the fake Telegram once the chats in ``expect``
    (all by default) have replies, or 10 s have passed, and sending has settled."""
    chats = list(chats)
    awaited = chats if expect is None else list(expect)
    async with running_bot(engine, token=token, **database.settings()) as (fake, _, _):
        fake._next_update = first_update
        fake.push(*(message(chat, "beacon number") for chat in chats))
        with contextlib.suppress(AssertionError):  # the test says which were not answered
            await fake.wait_for(lambda: all(fake.sent(chat_id=c) for c in awaited), timeout=10)
        await fake.settle()
    return fake


def replies(fake: FakeBotAPI, chats: Iterable[int]) -> list[int]:
    return [len(fake.sent(chat_id=chat)) for chat in chats]


async def time_passes(database, hours: float) -> None:
    """Everything the database holds happened ``hours`` earlier."""
    await database.execute("UPDATE inbox SET received = received - ?", int(hours * 3600))
    await database.execute("UPDATE messages SET at = at - ?", int(hours * 3600))


async def test_a_second_bot_on_the_same_database_answers_every_message(engine, database):
    first = await run_bot(engine, database, [6101, 6102, 6103])
    # A new token: Telegram numbers the other bot's updates 1, 2, 3 too.
    second = await run_bot(engine, database, [6201, 6202, 6203], token=OTHER_TOKEN)
    assert replies(first, [6101, 6102, 6103]) == [1, 1, 1]
    assert replies(second, [6201, 6202, 6203]) == [1, 1, 1]
    assert await database.rows("SELECT COUNT(*) FROM messages") == [(6,)]  # each logged


async def test_an_update_number_seen_over_24_hours_ago_is_a_new_message(engine, database):
    """Telegram redelivers for a day at most, and after a week without updates numbers
    the next one at random: an old number is a new message, and it is answered."""
    await run_bot(engine, database, [6301])
    await time_passes(database, hours=25)
    later = await run_bot(engine, database, [6302])  # numbered 1 again
    assert replies(later, [6302]) == [1]
    assert await database.rows("SELECT COUNT(*) FROM messages") == [(2,)]
    cutoff = int(time.time()) - 24 * 3600
    assert await database.rows("SELECT COUNT(*) FROM inbox WHERE received < ?", cutoff) == [(0,)]


async def test_within_24_hours_a_redelivery_is_not_answered_again_whichever_bot(engine, database):
    await run_bot(engine, database, [6401])  # the first bot's update 1
    other = await run_bot(engine, database, [6402], token=OTHER_TOKEN)  # the second bot's 1
    assert replies(other, [6402]) == [1]
    await time_passes(database, hours=23)
    # Telegram delivers the second bot's update 1 again (never confirmed), then a new one.
    again = await run_bot(engine, database, [6402, 6403], token=OTHER_TOKEN, expect=[6403])
    assert replies(again, [6402, 6403]) == [0, 1]
    assert await database.rows("SELECT COUNT(*) FROM messages") == [(3,)]


async def old_schema(database) -> None:
    """An empty database as the version before bot ids left it."""
    if database.url is None:
        database.path.parent.mkdir(parents=True)
        async with aiosqlite.connect(database.path) as conn:
            await sqlite.migrate(conn, target=4)
        return
    conn = await asyncpg.connect(database.direct_url)
    try:
        await postgres.migrate(conn, target=1)
    finally:
        await conn.close()


async def test_an_inbox_from_before_bot_ids_is_taken_over_by_the_bot(engine, database):
    """Upgrading: what a killed bot left unanswered is answered, and what it had answered
    is still not answered again."""
    await old_schema(database)
    now = int(time.time())
    await database.execute(
        "INSERT INTO inbox (update_id, received, kind, chat_id, chat_type, user_id,"
        " message_id, date, text) VALUES (900, ?, 'message', 6501, 'private', 6501, 11, ?,"
        " 'beacon number')",
        now,
        now,
    )
    await database.execute(
        "INSERT INTO inbox (update_id, received, state) VALUES (901, ?, 'done')", now
    )
    fake = await run_bot(engine, database, [6502, 6503], first_update=901, expect=[6501, 6503])
    assert replies(fake, [6501, 6502, 6503]) == [1, 0, 1]
    states = await database.rows("SELECT bot_id, update_id, state FROM inbox ORDER BY update_id")
    assert states == [(BOT, 900, "done"), (BOT, 901, "done"), (BOT, 902, "done")]
