"""No silent death (issue 23): a part of the bot that ends unexpectedly is started again,
and /stats and the health file say so, with the records set aside."""

from __future__ import annotations

import asyncio

from bot.content.loading import load_content
from bot.matching.engine import Engine
from bot.matching.live import LiveContent
from tests.conftest import CACHE
from tests.fake_telegram import callback, message
from tests.telegram_harness import running_bot
from tests.test_telegram import ask

ADMIN, ALICE, BOB = 900, 4101, 4202
FORGED = "w:99999999999999999999:-"  # a number no database holds: the record is set aside


async def test_polling_that_dies_is_started_again_and_stats_and_health_say_so(
    engine, database, tmp_path
):
    health = tmp_path / "health"
    admins = frozenset({ADMIN})
    settings = {"admin_ids": admins, "health_file": health, **database.settings()}
    async with running_bot(engine, **settings) as (fake, store, _):
        fake.push(callback(ALICE, FORGED, message_id=3))
        await fake.wait_for(lambda: fake.sent("answerCallbackQuery"))
        # A cancellation leaking out of the network layer ends PTB's polling task for good:
        # the bot looked alive and answered nobody.
        fake.raise_next("getUpdates", asyncio.CancelledError())
        await asyncio.sleep(0.2)
        fake.push(message(BOB, "beacon number"))
        await fake.wait_for(lambda: fake.sent(chat_id=BOB), timeout=10)
        assert "0300 011 55 55" in fake.sent(chat_id=BOB)[0].text

        (stats,) = await ask(fake, message(ADMIN, "/stats"))
        lines = stats.text.splitlines()
        assert lines[:2] == [
            "⚠️ restarted: polling 1×.",
            "⚠️ 1 question-log records set aside (no database could hold them).",
        ]
        await fake.wait_for(lambda: "polling 1×" in health.read_text())
        assert health.read_text().startswith("active; restarted: polling 1×; 1 question-log")
        assert await store.flush()
        assert "victim_support_beacon" in [o.intent for o in await store.outcomes(days=1)]


async def test_a_content_watcher_failure_is_told_to_admins_and_a_later_fix_goes_live(
    content_dir, encoder, tmp_path, caplog
):
    """Listing the content files raises (folders nested deeper than Python's folder walk
    goes: no file to name as a problem): the admins were told nothing, and /stats called
    it a restart. Now they are told once, /stats and the health line say the watcher is
    failing, and the fix goes live by itself."""
    content, _ = load_content(content_dir.intents, content_dir.knowledge)
    engine = Engine(content, encoder, CACHE)  # as the bot runs: the cache makes reloads quick
    live = LiveContent(engine, content_dir.intents, content_dir.knowledge)
    health = tmp_path / "health"
    settings = {"admin_ids": frozenset({ADMIN}), "health_file": health, "watch_content": True}
    async with running_bot(engine, live=live, **settings) as (fake, _, _):
        content_dir.nest_folders()
        thanks = content_dir.intents / "thanks.yaml"
        thanks.write_text(thanks.read_text().replace("You're welcome.", "Glad to help!"))
        await fake.wait_for(lambda: fake.sent(chat_id=ADMIN), timeout=60)
        assert fake.sent(chat_id=ADMIN)[0].text.startswith(
            "Content NOT reloaded: reading the files failed (RecursionError)"
        )
        await fake.wait_for(lambda: "content watcher failed" in health.read_text(), timeout=10)
        assert "(last at " in health.read_text() and "failing)" in health.read_text()
        (stats,) = await ask(fake, message(ADMIN, "/stats"))
        assert stats.text.startswith("⚠️ content watcher failed ")
        fake.push(message(ADMIN, "/reload"))  # told why, not an apology
        await fake.wait_for(lambda: len(fake.sent(chat_id=ADMIN)) == 3, timeout=60)
        assert fake.sent(chat_id=ADMIN)[2].text == fake.sent(chat_id=ADMIN)[0].text
        (reply,) = await ask(fake, message(BOB, "thank you very much"))
        assert reply.text.startswith("You're welcome.")  # the previous answers meanwhile

        content_dir.remove_nested_folders()
        await fake.wait_for(lambda: len(fake.sent(chat_id=ADMIN)) >= 4, timeout=90)
        assert fake.sent(chat_id=ADMIN)[-1].text.startswith("Content reloaded:")
        (reply,) = await ask(fake, message(BOB, "thank you very much"))
        assert reply.text.startswith("Glad to help!")
        assert [m.text for m in fake.sent(chat_id=ADMIN)].count(
            fake.sent(chat_id=ADMIN)[0].text
        ) == 2  # by the watcher once, though every look failed until the fix; and /reload
    assert "the content watcher failed (RecursionError at " in caplog.text
    assert "Glad to help!" not in caplog.text


async def test_updates_that_cannot_be_read_are_counted_in_stats_and_health(engine, tmp_path):
    """Each was skipped with one WARNING, and nothing else: had Telegram changed a field so
    that every update failed, residents would get no answers and /stats would say nothing."""
    numeric = message(ALICE, "placeholder")
    numeric["message"]["text"] = 12345  # a JSON number where Telegram sends a string
    milliseconds = message(ALICE, "beacon number")
    milliseconds["message"]["date"] *= 1000
    health = tmp_path / "health"
    async with running_bot(engine, admin_ids=frozenset({ADMIN}), health_file=health) as (
        fake,
        _,
        _,
    ):
        fake.push(numeric, milliseconds, message(BOB, "beacon number"))
        await fake.wait_for(lambda: fake.sent(chat_id=BOB))
        (stats,) = await ask(fake, message(ADMIN, "/stats"))
        skipped = "2 updates skipped: they could not be read (the log says why)"
        assert stats.text.splitlines()[0] == f"⚠️ {skipped}."
        await fake.wait_for(lambda: health.exists() and skipped in health.read_text())
        assert not fake.sent(chat_id=ALICE)
