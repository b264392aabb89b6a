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
           "DATABASE_PATH": sys.argv[1]}
    code = main(["run"], env=env, request=fake)
    print(json.dumps({"code": code, "replies": len(fake.sent())}))
    """
)


def test_sigterm_answers_the_updates_already_received(tmp_path):
    result = subprocess.run(
        [sys.executable, "-c", SCRIPT, str(tmp_path / "bot.sqlite3")],
        cwd=tmp_path,  # no .env there
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    outcome = json.loads(result.stdout.strip().splitlines()[-1])
    assert outcome == {"code": 0, "replies": 20}
