"""SIGTERM to a running bot: updates it has already received are still answered."""

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

SCRIPT = textwrap.dedent(
    """
    import asyncio, json, os, signal, sys
    from tests.fake_telegram import FakeBotAPI, message
    from bot.entry import main

    class SlowTelegram(FakeBotAPI):
        stopping = False

        async def _sendMessage(self, params):
            if not self.stopping:  # the first reply is on its way: ask the bot to stop
                self.stopping = True
                os.kill(os.getpid(), signal.SIGTERM)
            await asyncio.sleep(0.05)
            return await super()._sendMessage(params)

    fake = SlowTelegram()
    fake.push(*[message(5000 + n, "beacon number") for n in range(20)])
    env = {"TELEGRAM_BOT_TOKEN": "123456789:AAH" + "x" * 32, "WATCH_CONTENT": "0",
           "DATABASE_PATH": sys.argv[1], "CACHE_DIR": os.environ["CACHE_DIR"]}
    code = main(["run"], env=env, request=fake)
    print(json.dumps({"code": code, "replies": len(fake.sent())}))
    """
)


def test_sigterm_answers_the_updates_already_received(tmp_path):
    outcome, _ = _run(SCRIPT, tmp_path / "bot.sqlite3")
    assert outcome == {"code": 0, "replies": 20}


GROUP_BACKLOG = textwrap.dedent(
    """
    import json, os, signal, sys, time
    from tests.fake_telegram import BOT_USERNAME, FakeBotAPI, message
    from bot.entry import main

    GROUP, RESIDENT = -100555, 6100

    class Telegram(FakeBotAPI):
        stopped_at = None

        async def _sendMessage(self, params):
            # the first run: stop at the first reply; the second: once the resident has theirs
            if self.stopped_at is None and (sys.argv[2] == "backlog" or params["chat_id"] == RESIDENT):
                self.stopped_at = time.monotonic()
                os.kill(os.getpid(), signal.SIGTERM)
            return await super()._sendMessage(params)

    fake = Telegram()
    env = {"TELEGRAM_BOT_TOKEN": "123456789:AAH" + "x" * 32, "WATCH_CONTENT": "0",
           "DATABASE_PATH": sys.argv[1], "SHUTDOWN_SECONDS": "3",
           "CACHE_DIR": os.environ["CACHE_DIR"]}  # the suite's encoded examples
    if sys.argv[2] == "backlog":  # 40 questions in a group: 2 minutes at 20 a minute
        asked = f"@{BOT_USERNAME} what is the beacon number"
        fake.push(*[message(6000 + n, asked, chat_type="group", chat_id=GROUP) for n in range(40)])
    else:  # the next start, unpaced: what was left is answered, then a new question
        env["PACE_CHAT_PER_SECOND"] = "0"
        fake._next_update = 1000  # Telegram's update numbers go on rising
        fake.push(message(RESIDENT, "beacon number"))
    code = main(["run"], env=env, request=fake)
    print(json.dumps({"code": code, "group": len(fake.sent(chat_id=GROUP)),
                      "resident": len(fake.sent(chat_id=RESIDENT)),
                      "seconds": time.monotonic() - fake.stopped_at}))
    """
)


def _run(script: str, database: Path, *args: str) -> tuple[dict, str]:
    """``script`` in a Python process of its own, on ``database``: the JSON it printed last,
    and its log."""
    result = subprocess.run(
        [sys.executable, "-c", script, str(database), *args],
        cwd=database.parent,  # no .env there
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    return json.loads(result.stdout.strip().splitlines()[-1]), result.stderr


def test_sigterm_with_a_group_backlog_stops_within_shutdown_seconds_and_loses_nothing(tmp_path):
    """Docker kills a container 10 s after SIGTERM: a backlog of paced group replies must
    not hold the stop past SHUTDOWN_SECONDS. What was cut short is answered at the next
    start."""
    import sqlite3

    database = tmp_path / "bot.sqlite3"
    first, log = _run(GROUP_BACKLOG, database, "backlog")
    assert first["code"] == 0
    assert first["seconds"] < 3 + 1.5  # the setting, and the process's own exit
    assert 1 <= first["group"] < 40
    cut = 40 - first["group"]
    assert f"shutdown: {cut} updates were not answered within SHUTDOWN_SECONDS (3 s)" in log
    pending = "SELECT COUNT(*) FROM inbox WHERE state = 'pending'"
    with sqlite3.connect(database) as conn:
        assert conn.execute(pending).fetchone() == (cut,)

    second, _ = _run(GROUP_BACKLOG, database, "answer")
    assert second["code"] == 0
    assert second["group"] == cut and second["resident"] == 1
    with sqlite3.connect(database) as conn:
        assert conn.execute(pending).fetchone() == (0,)
        assert conn.execute("SELECT COUNT(*) FROM messages").fetchone() == (41,)  # each once


FORGED_PRESS = textwrap.dedent(
    """
    import json, os, signal, sys, time
    from tests.fake_telegram import FakeBotAPI, callback, message
    from bot.entry import main

    class Telegram(FakeBotAPI):
        stopped_at = None

        async def _sendMessage(self, params):
            if params["chat_id"] == 5002:  # the normal question's answer: ask the bot to stop
                self.stopped_at = time.monotonic()
                os.kill(os.getpid(), signal.SIGTERM)
            return await super()._sendMessage(params)

    fake = Telegram()
    # 24 bytes, within Telegram's 64: a number no database column holds
    fake.push(callback(5001, "w:99999999999999999999:-", message_id=3),
              message(5002, "what is the weather on mars"))
    env = {"TELEGRAM_BOT_TOKEN": "123456789:AAH" + "x" * 32, "WATCH_CONTENT": "0",
           "DATABASE_PATH": sys.argv[1], "CACHE_DIR": os.environ["CACHE_DIR"]}
    code = main(["run"], env=env, request=fake)
    print(json.dumps({"code": code, "replies": len(fake.sent(chat_id=5002)),
                      "seconds": time.monotonic() - fake.stopped_at}))
    """
)


def test_sigterm_after_a_forged_button_press_stops_at_once_with_the_question_logged(tmp_path):
    """Issue 23, item 1, through the real process: the forged press killed the question
    log's writer, and SIGTERM then hung until SIGKILL, losing the question."""
    import sqlite3

    database = tmp_path / "bot.sqlite3"
    outcome, _ = _run(FORGED_PRESS, database)
    assert outcome["code"] == 0 and outcome["replies"] == 1
    assert outcome["seconds"] < 5  # SHUTDOWN_SECONDS is 10; it takes a fraction of a second
    with sqlite3.connect(database) as conn:
        texts = conn.execute("SELECT text FROM messages").fetchall()
    assert texts == [("what is the weather on mars",)]
