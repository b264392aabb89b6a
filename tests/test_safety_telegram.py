"""The safety check as residents meet it on Telegram: the real Application and polling
loop, the fake Bot API at the request layer."""

from __future__ import annotations

from bot.matching.engine import Engine
from tests.fake_telegram import FakeBotAPI, message
from tests.telegram_harness import running_bot

CAROL = 303
EMERGENCY_LINE = "🚨 <b>If you or someone else is in danger now, call"
# A long, rambling message about ordinary worries (written for this test).
RAMBLE = (
    "Sorry this is long, I don't really know where to start. The parking on our road has "
    "been getting worse since the new flats went up, and the bins are left out all week. "
    "My neighbour says the council won't do anything and I should ask the police instead. "
    "I also wanted to know whether the street lights are meant to go off after midnight. "
)


async def _ask(fake: FakeBotAPI, text: str, user: int = CAROL) -> str:
    before = len(fake.sent())
    fake.push(message(user, text))
    await fake.wait_for(lambda: len(fake.sent()) > before)
    return fake.sent()[before].text


async def test_danger_at_character_3500_of_a_long_message_gets_999_first(engine: Engine):
    danger = "He is in my kitchen now and he won't leave, he's shouting and holding a knife."
    text = (RAMBLE * 20)[:3500] + " " + danger
    assert len(text) < 4096 and text.index(danger) >= 3500
    async with running_bot(engine) as (fake, _, _):
        assert (await _ask(fake, text)).startswith(EMERGENCY_LINE)


async def test_a_long_message_with_no_danger_gets_no_999_reply(engine: Engine):
    async with running_bot(engine) as (fake, _, _):
        assert EMERGENCY_LINE not in await _ask(fake, (RAMBLE * 20)[:4000])
