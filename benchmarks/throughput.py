"""Messages per second through the real Application, its polling loop and the fake Bot API.

Many simulated users send questions at a steady offered rate, logged to a real SQLite
file in a temporary folder (or to PostgreSQL: ``--postgres`` starts a throwaway server
with durable commits, as the tests do; ``--database-url`` uses yours); the figures are messages
answered per second, time from an update being offered to its reply being sent (median
and 99th percentile), and the process's peak memory. Outgoing pacing is off (it would
measure Telegram's limits, not the bot):

    .venv/bin/python benchmarks/throughput.py --messages 20000 --users 2000 --rate 2000

Residents' questions repeat ("beacon number"), and a repeated text reuses its sentence
vector; ``--unique`` makes every message different, the encoder's worst case.
``--float32`` runs the encoder's packaged graph as the bot did before its int8 products,
for a ratio against it on the same machine.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import resource
import secrets
import statistics
import sys
import tempfile
import time
from collections import defaultdict, deque
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bot.app import assembly
from bot.matching.encoder import SentenceEncoder
from bot.settings import Settings
from bot.telegram.runner import create_application
from tests.fake_telegram import FakeBotAPI, message
from tests.postgres_server import PostgresServer

QUESTIONS = [
    "beacon numbr",
    "how do I report fly tipping",
    "someone dumped rubbish in our lane",
    "what is the non emergency number",
    "how do i report a hate crime",
    "police precept",
    "can I get a speed camera van on my road",
    "who is my local pcso",
    "thanks",
    "what is the weather tomorrow",
    "volunteering",
    "how do I complain about an officer",
]


class TimedFake(FakeBotAPI):
    def __init__(self) -> None:
        super().__init__(keep_calls=False)
        self.offered: dict[int, deque[float]] = defaultdict(deque)
        self.latencies: list[float] = []
        self.last_reply = 0.0

    async def _sendMessage(self, params: dict) -> dict:
        now = time.perf_counter()
        queue = self.offered.get(params["chat_id"])
        if queue:
            self.latencies.append((now - queue.popleft()) * 1000)
        self.last_reply = now
        return await super()._sendMessage(params)

    def offer(self, user_id: int, text: str) -> None:
        self.offered[user_id].append(time.perf_counter())
        self.push(message(user_id, text))


async def run(messages: int, users: int, rate: float, unique: bool, database_url: str) -> dict:
    fake = TimedFake()
    folder = tempfile.mkdtemp()
    settings = Settings(
        token="123456789:AAH" + "x" * 32,
        flood_messages=10**6,
        database=Path(folder) / "bench.sqlite3",
        database_url=database_url,
        hash_secret=secrets.token_hex(16),  # every instance shares one with PostgreSQL
        watch_content=False,
        cache_dir=Path.home() / ".cache" / "herts-safety-bot",
    )
    app = create_application(settings, request=fake, pacing=False)
    if app is None:
        raise SystemExit("the content has errors: run python -m bot validate")
    async with app:
        await app.post_init(app)  # as run_polling() does: opens the question log
        await app.start()
        await app.updater.start_polling(poll_interval=0, timeout=0)
        batch = max(1, int(rate / 100))  # offer in 10 ms steps
        started = time.perf_counter()
        for sent in range(0, messages, batch):
            for n in range(sent, min(sent + batch, messages)):
                text = QUESTIONS[n % len(QUESTIONS)]
                fake.offer(10_000 + n % users, f"{text} {n}" if unique else text)
            delay = started + (sent + batch) / rate - time.perf_counter()
            await asyncio.sleep(max(delay, 0))
        await fake.wait_for(lambda: len(fake.latencies) >= messages, timeout=120)
        await app.updater.stop()
        await app.stop()
        await app.post_shutdown(app)
    elapsed = fake.last_reply - started
    latencies = sorted(fake.latencies)
    return {
        "store": "PostgreSQL" if database_url else "SQLite",
        "messages": messages,
        "users": users,
        "offered_per_second": rate,
        "answered_per_second": round(messages / elapsed),
        "median_ms": round(statistics.median(latencies), 2),
        "p99_ms": round(latencies[int(len(latencies) * 0.99) - 1], 2),
        "peak_memory_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        "load_average": round(os.getloadavg()[0], 2),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--messages", type=int, default=20_000)
    parser.add_argument("--users", type=int, default=2_000)
    parser.add_argument("--rate", type=float, default=2_000, help="messages offered per second")
    parser.add_argument(
        "--unique",
        action="store_true",
        help="make every message different (no repeated text: the encoder cannot reuse a vector)",
    )
    parser.add_argument("--database-url", default="", help="log to this PostgreSQL database")
    parser.add_argument(
        "--postgres",
        action="store_true",
        help="log to a throwaway PostgreSQL server started here (fsync on), then stopped",
    )
    parser.add_argument(
        "--float32", action="store_true", help="the encoder as before: float32 products"
    )
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    if args.float32:  # the one encoder the application builds, built the old way
        assembly.load_encoder = lambda model, cache_dir: SentenceEncoder(
            model, cache_dir=cache_dir, int8=False
        )
    server = PostgresServer(durable=True).start() if args.postgres else None
    try:
        url = server.create_database() if server else args.database_url
        result = asyncio.run(run(args.messages, args.users, args.rate, args.unique, url))
    finally:
        if server is not None:
            server.stop()
    if args.json:
        print(json.dumps(result))
    else:
        for key, value in result.items():
            print(f"{key:>20}: {value}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
