"""No silent death (issue 23): a part of the bot that ends unexpectedly is started again,
and /stats and the health file say so, with the records set aside."""

from __future__ import annotations

import asyncio

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
