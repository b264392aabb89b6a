"""The inbox: updates a previous run received but never answered are answered after a
restart (with an apology when late, not at all when too old), and a re-delivered update
that was answered is not answered again."""

from __future__ import annotations

import dataclasses
import logging
import time

from bot.app.assembly import open_store
from bot.storage.store import InboxEntry
from tests.fake_telegram import message
from tests.telegram_harness import SETTINGS, running_bot


def entry(update_id: int, chat: int, text: str, age: float) -> InboxEntry:
    at = int(time.time() - age)
    return InboxEntry(update_id, at, "message", chat, "private", chat, 10 + update_id, at, text)


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
    states = dict(await database.rows("SELECT update_id, state FROM inbox"))
    assert states == {900: "done", 901: "done", 902: "missed"}
    kept = await database.rows("SELECT COUNT(*) FROM inbox WHERE text IS NOT NULL")
    assert kept == [(0,)]  # no text or ids once answered
