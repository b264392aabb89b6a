"""Talk to a person against the real bot process (``python -m bot run``) and a fake Bot
API over HTTP: a handover both ways, and a 20-message exchange relayed once each through
a ``kill -9`` and a restart (SQLite), and through a standby's takeover (PostgreSQL)."""

from __future__ import annotations

import signal
import time
from collections import Counter
from pathlib import Path

from tests.fake_bot_api_server import FakeBotAPIServer
from tests.fake_telegram import callback, message
from tests.test_blackbox import BotProcess, assert_no_resident_data
from tests.test_failover import Instance, start_active_then_standby, wait_until

RESIDENT, STAFF = 780101, 780202
GROUP = -1009876543210
DESK = {
    "HANDOVER_CHAT_ID": str(GROUP),
    "STAFF_IDS": str(STAFF),
    "HANDOVER_HOURS": "always",
    "FLOOD_MESSAGES": "100",
}


def staff_says(text: str, thread: int) -> dict:
    update = message(
        STAFF,
        text,
        chat_type="supergroup",
        chat_id=GROUP,
        message_thread_id=thread,
        is_topic_message=True,
    )
    update["message"]["chat"]["title"] = "PCC staff desk"
    return update


def hand_over(api: FakeBotAPIServer) -> int:
    """The resident asks for a person and confirms; the topic's thread."""
    api.push(message(RESIDENT, "can i talk to a real person"))
    api.wait_for(lambda: api.sent(chat_id=RESIDENT))
    api.push(callback(RESIDENT, "h:yes", 1))
    api.wait_for(lambda: api.sent(chat_id=GROUP) and len(api.sent(chat_id=RESIDENT)) >= 2)
    (topic,) = api.sent("createForumTopic")
    assert topic.params["name"].startswith("#")
    return int(api.sent(chat_id=GROUP)[0].params["message_thread_id"])


def exchange(api: FakeBotAPIServer, thread: int) -> tuple[list[str], list[str]]:
    """Ten messages each way, interleaved, pushed at once."""
    notes = [f"resident note {n}" for n in range(1, 11)]
    replies = [f"staff reply {n}" for n in range(1, 11)]
    for note, reply in zip(notes, replies, strict=True):
        api.push(message(RESIDENT, note), staff_says(reply, thread))
    return notes, replies


def started_and_handed_over(bot: BotProcess) -> int:
    bot.start()
    bot.api.wait_for(lambda: "setMyCommands" in bot.api.state.calls, timeout=90)
    return hand_over(bot.api)


def delivered(api: FakeBotAPIServer, chat: int, texts: list[str]) -> Counter[str]:
    return Counter(t for s in api.sent(chat_id=chat) for t in texts if s.text.endswith(t))


def test_a_handover_both_ways_with_the_real_process(tmp_path: Path):
    api = FakeBotAPIServer()
    bot = BotProcess(api, tmp_path, PACE_CHAT_PER_SECOND="0", **DESK)
    try:
        thread = started_and_handed_over(bot)
        api.push(message(RESIDENT, "my shed was broken into last night"))
        api.wait_for(lambda: len(api.sent(chat_id=GROUP)) >= 2)
        assert "my shed was broken into" in api.sent(chat_id=GROUP)[1].text
        api.push(staff_says("Sorry to hear that. Was anything taken?", thread))
        api.wait_for(lambda: "Was anything taken?" in api.sent(chat_id=RESIDENT)[-1].text)
        assert api.sent(chat_id=RESIDENT)[-1].text.startswith("<b>A member of staff</b>")
        api.push(staff_says("/end", thread))
        api.wait_for(lambda: api.sent("closeForumTopic"))
        assert bot.stop() == 0
    finally:
        bot.kill()
        api.close()
    assert_no_resident_data(bot.log(), "my shed", "Was anything taken", RESIDENT, STAFF)
    assert bot.rows("SELECT state, chat_id, user_key FROM handovers") == [("closed", None, None)]


def test_kill_9_halfway_through_a_20_message_exchange_relays_each_message_once(
    tmp_path: Path,
):
    api = FakeBotAPIServer()
    bot = BotProcess(api, tmp_path, PACE_CHAT_PER_SECOND="0", **DESK)
    try:
        thread = started_and_handed_over(bot)
        before = len(api.sent())
        api.kill_bot_at(bot.process.pid, 12)  # about half of the 20 relays
        notes, replies = exchange(api, thread)
        assert bot.process.wait(timeout=60) == -signal.SIGKILL
        relayed_before_kill = len(api.sent()) - before
        api.revive()
        bot.start()
        api.wait_for(
            lambda: (
                sum(delivered(api, GROUP, notes).values()) >= 10
                and sum(delivered(api, RESIDENT, replies).values()) >= 10
            ),
            timeout=90,
        )
        time.sleep(1)  # anything sent twice would arrive now
        assert bot.stop() == 0
    finally:
        bot.kill()
        api.close()
    assert 0 < relayed_before_kill < 20  # the kill came halfway
    assert delivered(api, GROUP, notes) == dict.fromkeys(notes, 1)
    assert delivered(api, RESIDENT, replies) == dict.fromkeys(replies, 1)
    assert bot.rows("SELECT COUNT(*) FROM inbox WHERE state = 'pending'") == [(0,)]


def test_a_standby_takes_over_a_handover_and_relays_each_message_once(postgres, tmp_path):
    url = postgres.create_database()
    api = FakeBotAPIServer()
    first = Instance(api, tmp_path / "first", url)
    second = Instance(api, tmp_path / "second", url)
    for instance in (first, second):
        instance.env.update(DESK)
    try:
        start_active_then_standby(first, second)
        thread = hand_over(api)
        api.kill_bot_at(first.process.pid, 12, revive=True)
        notes, replies = exchange(api, thread)
        assert first.process.wait(timeout=60) == -signal.SIGKILL
        wait_until(lambda: second.health().startswith("active"), 10)
        api.wait_for(
            lambda: (
                sum(delivered(api, GROUP, notes).values()) >= 10
                and sum(delivered(api, RESIDENT, replies).values()) >= 10
            ),
            timeout=90,
        )
        time.sleep(1)
        assert second.stop() == 0
    finally:
        first.kill()
        second.kill()
        api.close()
    assert delivered(api, GROUP, notes) == dict.fromkeys(notes, 1)
    assert delivered(api, RESIDENT, replies) == dict.fromkeys(replies, 1)
