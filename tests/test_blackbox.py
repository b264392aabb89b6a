"""The real bot process (``python -m bot run``) against a fake Bot API at the HTTP level:
crashes, poison updates and Telegram's faults lose nothing, answer nothing twice and
leak nothing into the log."""

from __future__ import annotations

import itertools
import os
import random
import re
import signal
import socket
import sqlite3
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.conftest import CACHE
from tests.fake_bot_api_server import FakeBotAPIServer
from tests.fake_telegram import callback, message
from tests.resident_data import RESIDENT_DATA
from tests.telegram_harness import TOKEN

ROOT = Path(__file__).resolve().parents[1]
SECRET = "blackbox-secret-of-32-characters"
ADMIN = 730900


class BotProcess:
    """``python -m bot run`` against the fake; its log is kept in ``log_path`` (and read
    by the whole run's leak check, at every level)."""

    def __init__(self, api: FakeBotAPIServer, folder: Path, **env: str) -> None:
        self.api, self.folder = api, folder
        self.database = folder / "bot.sqlite3"
        self.log_path = folder / "bot.log"
        self.env = {
            **os.environ,
            "PYTHONPATH": str(ROOT),
            "TELEGRAM_BOT_TOKEN": TOKEN,
            "TELEGRAM_API_URL": api.url,
            "DATABASE_PATH": str(self.database),
            "HASH_SECRET": SECRET,
            "WATCH_CONTENT": "0",
            **env,
        }
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> subprocess.Popen[bytes]:
        RESIDENT_DATA.watch(self.log_path)  # the whole run's check reads this log too
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "bot", "run"],
                cwd=self.folder,
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        return self.process

    def stop(self) -> int:
        assert self.process is not None
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        return self.process.wait(timeout=30)

    def kill(self) -> None:
        """In a test's clean-up: make sure no bot is left running."""
        if self.process is not None and self.process.poll() is None:
            self.process.kill()

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def rows(self, sql: str) -> list[tuple]:
        with sqlite3.connect(self.database) as conn:
            return conn.execute(sql).fetchall()


def assert_no_resident_data(log: str, *secrets: object) -> None:
    for secret in secrets:
        pattern = rf"(?<!\d){re.escape(str(secret))}(?!\d)" if isinstance(secret, int) else None
        found = re.search(pattern, log) if pattern else str(secret) in log
        assert not found, f"{secret!r} is in the log"


def person(user_id: int, first: str, username: str) -> dict:
    return {"id": user_id, "is_bot": False, "first_name": first, "username": username}


@pytest.fixture(scope="module")
def bot(tmp_path_factory: pytest.TempPathFactory) -> Iterator[BotProcess]:
    """One bot for the fault tests, logging at DEBUG (PTB then logs whole updates)."""
    api = FakeBotAPIServer()
    process = BotProcess(
        api, tmp_path_factory.mktemp("bot"), LOG_LEVEL="DEBUG", ADMIN_IDS=str(ADMIN)
    )
    process.env["CACHE_DIR"] = str(CACHE)  # module-scoped: before conftest's per-test setting
    process.start()
    try:
        api.wait_for(lambda: "setMyCommands" in api.state.calls, timeout=60)
        yield process
    finally:
        process.stop()
        api.close()


def test_an_unreadable_update_is_skipped_once_and_the_ones_behind_it_answered(bot):
    api = bot.api
    poison = message(730001, "Poisoned Question Text")
    poison["message"]["date"] = int(time.time() * 1000)  # milliseconds: PTB cannot read it
    api.push(poison, message(730002, "beacon number"), message(730003, "beacon number"))
    api.wait_for(lambda: len(api.sent(chat_id=730002)) == 1 and api.sent(chat_id=730003))
    time.sleep(0.5)
    assert api.unconfirmed() == 0  # the offset moved past the bad update
    polls = api.state.calls.count("getUpdates")
    time.sleep(1)
    assert api.state.calls.count("getUpdates") - polls < 10  # no tight loop
    log = bot.log()
    skipped = [line for line in log.splitlines() if "skipped update" in line]
    assert len(skipped) == 1 and "WARNING" in skipped[0]
    assert "CRITICAL" not in log
    assert_no_resident_data(log, "Poisoned Question Text", 730001, 730002)
    assert not api.sent(chat_id=730001)


def test_faults_that_make_ptb_log_updates_leak_no_names_text_or_ids(bot):
    api = bot.api
    who = person(730101, "Margarethe", "secret_handle_xyz")
    update = message(730101, "my neighbour Bartholomew stole my bike")
    update["message"]["from"] = who
    api.fail_next("sendMessage", 502, "Bad Gateway")  # the handler fails: an error is logged
    api.push(update)
    api.wait_for(lambda: api.state.calls.count("sendMessage:502") or len(api.sent(chat_id=730101)))
    second = message(730101, "my neighbour Bartholomew stole my bike again")
    second["message"]["from"] = who
    api.push(second)
    api.wait_for(lambda: len(api.sent(chat_id=730101)) >= 2)
    time.sleep(0.3)
    log = bot.log()
    assert "Processing update" in log  # PTB did log the updates, at DEBUG
    assert_no_resident_data(
        log, "Margarethe", "secret_handle_xyz", "Bartholomew", "stole my bike", 730101
    )


def test_a_late_button_press_still_gets_its_topic(bot):
    api = bot.api
    api.fail_next(
        "answerCallbackQuery",
        400,
        "Bad Request: query is too old and response timeout expired or query id is invalid",
    )
    api.push(callback(730201, "t:victim_support_beacon", message_id=99))
    api.wait_for(lambda: api.sent(chat_id=730201))
    assert "Beacon" in api.sent(chat_id=730201)[0].text
    assert "went wrong" not in api.sent(chat_id=730201)[0].text


def test_an_answer_telegram_cannot_parse_is_resent_as_plain_text(bot):
    api = bot.api
    api.fail_next("sendMessage", 400, "Bad Request: can't parse entities: unexpected end tag")
    api.push(message(730301, "beacon number"))
    api.wait_for(lambda: api.sent(chat_id=730301))
    [reply] = api.sent(chat_id=730301)
    assert "Beacon" in reply.text and "<b>" not in reply.text
    assert "parse_mode" not in reply.params
    assert "went wrong" not in reply.text
    assert re.search(r"WARNING .*victim_support_beacon", bot.log())


def test_commands_for_other_bots_in_a_group_are_ignored(bot):
    api = bot.api
    for text in ("/start@OtherBot", "/stats@OtherBot", "/help@OtherBot please"):
        api.push(message(730401, text, chat_type="group", chat_id=-730400))
    api.push(message(730401, "/topics@HertsSafetyBot", chat_type="group", chat_id=-730400))
    api.wait_for(lambda: api.sent(chat_id=-730400))
    time.sleep(0.5)
    [reply] = api.sent(chat_id=-730400)
    assert "topic" in reply.text.lower()


def test_invisible_characters_inside_words_do_not_change_the_answer(bot):
    api = bot.api
    plain_chat, marked_chat = 730501, 730502
    api.push(message(plain_chat, "beacon phone number"))
    api.push(message(marked_chat, "bea\u200dcon ph\u00adone num\u200bber\ufeff\u200e"))
    api.wait_for(lambda: api.sent(chat_id=plain_chat) and api.sent(chat_id=marked_chat))
    assert api.sent(chat_id=marked_chat)[0].text == api.sent(chat_id=plain_chat)[0].text


def test_a_429_makes_every_chat_wait_not_only_the_one_that_got_it(bot):
    api = bot.api
    api.fail_next("sendMessage", 429, "Too Many Requests: retry after 2", retry_after=2)
    api.push(message(730601, "beacon number"))
    api.wait_for(lambda: not api.state.faults["sendMessage"])  # the 429 has been answered
    refused_at = time.monotonic()
    api.push(message(730602, "beacon number"))
    api.wait_for(lambda: api.sent(chat_id=730601) and api.sent(chat_id=730602))
    assert api.sent(chat_id=730602)[0].at - refused_at >= 1.5  # it waited out the pause
    assert len(api.sent(chat_id=730601)) == 1  # the refused reply was sent again, once


def test_replies_in_a_group_keep_to_twenty_a_minute(bot):
    api = bot.api
    for n in range(3):
        api.push(message(730701 + n, "@HertsSafetyBot beacon number", chat_type="group",
                         chat_id=-730700))  # fmt: skip
    api.wait_for(lambda: len(api.sent(chat_id=-730700)) == 3, timeout=30)
    times = [s.at for s in api.sent(chat_id=-730700)]
    assert min(b - a for a, b in itertools.pairwise(times)) >= 2.9


def test_a_failing_question_log_is_reported_by_stats_and_nothing_is_lost(bot):
    api = bot.api
    blocker = sqlite3.connect(bot.database, timeout=5)
    blocker.execute("BEGIN EXCLUSIVE")  # every write now fails as "database is locked"
    try:
        api.push(message(730801, "my shed was broken into"))
        api.wait_for(lambda: api.sent(chat_id=730801))
        api.wait_for(lambda: "database write failed" in bot.log(), timeout=15)
        api.push(message(ADMIN, "/stats"))
        api.wait_for(lambda: api.sent(chat_id=ADMIN), timeout=15)
    finally:
        blocker.rollback()
        blocker.close()
    report = api.sent(chat_id=ADMIN)[0].text
    # among the warnings at the top (the module's poison updates are counted there too)
    unavailable = r"(?m)^⚠️ question log unavailable since \d\d:\d\d, [1-9]\d* records waiting"
    assert re.search(unavailable, report)
    api.wait_for(lambda: "database writes resumed" in bot.log(), timeout=15)


def test_a_data_folder_that_cannot_be_written_still_lets_residents_be_answered(tmp_path):
    """DATABASE_PATH on a read-only or lost disk from the start (here: under a plain file,
    which fails the same way, for root too): the bot starts, answers, stops cleanly, and
    its log says what could not be kept."""
    blocked = tmp_path / "a-file"
    blocked.write_text("not a folder")
    api = FakeBotAPIServer()
    bot = BotProcess(api, tmp_path, DATABASE_PATH=str(blocked / "data" / "bot.sqlite3"))
    del bot.env["HASH_SECRET"]  # so the key must be made, and cannot be kept
    try:
        bot.start()
        api.push(
            message(731001, "beacon numbr"), message(731002, "what is the non emergency number")
        )
        api.wait_for(lambda: api.sent(chat_id=731001) and api.sent(chat_id=731002), timeout=90)
        assert "0300 011 55 55" in api.sent(chat_id=731001)[0].text
        assert bot.stop() == 0
    finally:
        bot.kill()
        api.close()
    log = bot.log()
    assert "a key for this run only" in log
    assert "question-log records were lost in this run" in log
    assert "Traceback" not in log
    assert "RuntimeWarning" not in log  # e.g. rate limiters' clocks carried across loops


def test_a_poison_webhook_body_is_acknowledged_skipped_once_and_the_rest_answered(tmp_path):
    """Telegram sends a webhook call again until it gets a 200: a body the bot cannot read
    must get one, with a single WARNING, while the updates around it are answered."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    api = FakeBotAPIServer()
    hook_secret = "webhook-secret-0123456789"
    bot = BotProcess(
        api,
        tmp_path,
        WEBHOOK_URL="https://bot.example.org",
        WEBHOOK_SECRET=hook_secret,
        WEBHOOK_LISTEN="127.0.0.1",
        WEBHOOK_PORT=str(port),
    )
    poison = message(750002, "Poisoned Webhook Question")
    poison["message"]["date"] = int(time.time() * 1000)  # milliseconds: PTB cannot read it
    calls = [
        {"update_id": 900001, **message(750001, "beacon number")},
        {"update_id": 900002, **poison},
        {"update_id": 900003, **message(750003, "beacon number")},
    ]
    headers = {"X-Telegram-Bot-Api-Secret-Token": hook_secret}
    bot.start()
    try:
        api.wait_for(lambda: "setWebhook" in api.state.calls, timeout=60)
        [hook] = api.sent("setWebhook")
        assert hook.params["url"] == "https://bot.example.org/telegram"
        url = f"http://127.0.0.1:{port}/telegram"
        for body in calls:
            assert httpx.post(url, json=body, headers=headers, timeout=10).status_code == 200
        api.wait_for(lambda: api.sent(chat_id=750001) and api.sent(chat_id=750003))
        log = bot.log()
        skipped = [line for line in log.splitlines() if "skipped" in line]
        assert len(skipped) == 1 and "WARNING" in skipped[0] and "900002" in skipped[0]
        not_json = httpx.post(url, content=b"\xff{not json", headers=headers, timeout=10)
        assert not_json.status_code == 200
        api.wait_for(lambda: "body is not JSON" in bot.log())
        assert bot.stop() == 0
    finally:
        bot.kill()
        api.close()
    log = bot.log()
    assert "CRITICAL" not in log and "Traceback" not in log
    assert len(re.findall(r"WARNING .*skipped", log)) == 2
    assert not api.sent(chat_id=750002)
    assert "0300 011 55 55" in api.sent(chat_id=750003)[0].text
    assert_no_resident_data(log, "Poisoned Webhook Question", "not json", 750001, 750002, 750003)


def test_a_reply_accepted_a_moment_before_a_kill_9_is_not_sent_again(tmp_path):
    """The bot marks an update answered within milliseconds of Telegram accepting its reply
    (benchmarks/crash_window.py measures it), so a kill a fifth of a second later must not
    make the restarted bot answer the resident a second time."""
    api = FakeBotAPIServer()
    bot = BotProcess(api, tmp_path)
    try:
        process = bot.start()
        api.wait_for(lambda: "setMyCommands" in api.state.calls, timeout=60)
        api.kill_bot_after_reply(process.pid, 0.2)
        api.push(message(760001, "beacon number"))
        assert process.wait(timeout=30) == -signal.SIGKILL
        api.revive()
        bot.start()
        api.push(message(760002, "beacon number"))  # answered once the restart is done
        api.wait_for(lambda: api.sent(chat_id=760002), timeout=60)
        time.sleep(0.5)  # a repeated reply would be sent by now
        assert bot.stop() == 0
    finally:
        bot.kill()
        api.close()
    assert len(api.sent(chat_id=760001)) == 1
    assert bot.rows("SELECT COUNT(*) FROM messages") == [(2,)]


QUESTIONS = [
    "beacon number",
    "how do I report fly-tipping",
    "what is the non emergency number",
    "how do I contact the police and crime commissioner",
]


def test_kill_9_at_random_points_loses_nothing_and_answers_nothing_twice(tmp_path):
    """200 questions from 50 residents; the bot is killed (SIGKILL) at five seeded random
    requests and restarted each time; every question is answered once and logged once."""
    rng = random.Random(20261123)
    api = FakeBotAPIServer()
    bot = BotProcess(api, tmp_path, PACE_CHAT_PER_SECOND="0", PACE_TOTAL_PER_SECOND="0")
    residents = [740000 + n for n in range(50)]
    stream = [message(r, QUESTIONS[n % 4]) for n in range(4) for r in residents]
    rng.shuffle(stream)
    started = time.monotonic()
    try:
        for _ in range(5):
            process = bot.start()
            api.kill_bot_at(process.pid, rng.randint(8, 40))
            api.push(*[stream.pop() for _ in range(min(40, len(stream)))])
            assert process.wait(timeout=60) == -signal.SIGKILL
            api.revive()
        bot.start()
        api.push(*stream)
        api.wait_for(lambda: len(api.sent()) >= 200, timeout=60)
        time.sleep(1)  # anything sent twice would arrive now
        assert bot.stop() == 0
    finally:
        bot.kill()
        api.close()
    per_chat = Counter(s.chat_id for s in api.sent())
    assert per_chat == dict.fromkeys(residents, 4)
    assert bot.rows("SELECT COUNT(*), COUNT(DISTINCT update_id) FROM messages") == [(200, 200)]
    assert bot.rows("SELECT COUNT(*) FROM inbox WHERE state = 'pending'") == [(0,)]
    log = bot.log()
    assert "answering" in log  # a restart did find unanswered questions
    assert_no_resident_data(log, *residents, *QUESTIONS)
    assert time.monotonic() - started < 90
