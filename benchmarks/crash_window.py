"""How long after Telegram accepts a reply can a ``kill -9`` still make the bot send it twice?

The real bot process (``python -m bot run``) against the fake Bot API over HTTP: for each
delay, a resident asks once, the fake accepts the reply and kills the bot that many
milliseconds later, the bot is restarted (and answers whatever its inbox still holds as
unanswered), and the resident's replies are counted. The restarted bot is the next trial's.

    .venv/bin/python benchmarks/crash_window.py --delays 0,1,2,3,5,10,20 --trials 10

About 3 s per trial (one restart each).
"""

from __future__ import annotations

import argparse
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.conftest import CACHE
from tests.fake_bot_api_server import FakeBotAPIServer
from tests.fake_telegram import message
from tests.test_blackbox import BotProcess


def trial(
    api: FakeBotAPIServer,
    bot: BotProcess,
    process: subprocess.Popen[bytes],
    chat: int,
    delay: float,
) -> tuple[subprocess.Popen[bytes], int]:
    """One kill and restart; the restarted process and how often ``chat`` was answered."""
    api.kill_bot_after_reply(process.pid, delay)
    api.push(message(chat, "beacon number"))
    if process.wait(timeout=60) != -signal.SIGKILL:
        raise RuntimeError("the bot was not killed")
    api.revive()
    started = api.state.calls.count("setMyCommands")
    process = bot.start()
    api.wait_for(lambda: api.state.calls.count("setMyCommands") > started, 120)
    api.push(message(chat + 1, "beacon number"))  # answered after the pending ones
    api.wait_for(lambda: api.sent(chat_id=chat + 1))
    time.sleep(0.3)  # a repeated reply would be sent by now
    replies = len(api.sent(chat_id=chat))
    if replies == 0:
        raise RuntimeError("a question was lost")
    return process, replies


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--delays", default="0,1,2,3,5,10,20", help="milliseconds, comma-separated")
    parser.add_argument("--trials", type=int, default=10)
    args = parser.parse_args(argv)
    api = FakeBotAPIServer()
    bot = BotProcess(api, Path(tempfile.mkdtemp()), CACHE_DIR=str(CACHE))
    process = bot.start()
    chat = 770000
    try:
        api.wait_for(lambda: "setMyCommands" in api.state.calls, timeout=120)
        for delay in (float(d) for d in args.delays.split(",")):
            twice = 0
            for _ in range(args.trials):
                chat += 2
                process, replies = trial(api, bot, process, chat, delay / 1000)
                twice += replies > 1
            print(f"kill {delay:g} ms after Telegram accepted the reply: {twice} of {args.trials} "
                  "answered twice")  # fmt: skip
    finally:
        bot.stop()
        api.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
