"""How long the safety check takes on Telegram's longest message (4,096 characters).

Every message is different (ordinary sentences drawn at random, so no reply or vector is
reused), one message at a time, through ``Engine.respond`` as the bot calls it:

    .venv/bin/python benchmarks/long_message.py [--messages 30] [--chars 4096]

Prints the median and the slowest time per message, and how many parts were read.
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bot.content.loading import load_content
from bot.matching.encoder import SentenceEncoder
from bot.matching.engine import SAFETY_WINDOW_CHARS, Engine
from bot.text import windows

ROOT = Path(__file__).resolve().parents[1]
SUBJECTS = ["The parking", "My neighbour's hedge", "The bus stop", "Our street light", "The bin"]
PROBLEMS = [
    "has been a problem for months",
    "blocks the pavement on market days",
    "was reported to the council twice",
    "makes the school run slower every morning",
    "needs someone to look at it soon",
]


def sentence(rng: random.Random) -> str:
    return f"{rng.choice(SUBJECTS)} {rng.choice(PROBLEMS)} (note {rng.randrange(10**6)})."


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--messages", type=int, default=30)
    parser.add_argument("--chars", type=int, default=4096)
    args = parser.parse_args()
    content, problems = load_content(ROOT / "intents", ROOT / "knowledge")
    assert content is not None, problems
    engine = Engine(content, SentenceEncoder())
    rng = random.Random(0)
    times = []
    for _ in range(args.messages):
        text = ""
        while len(text) < args.chars:
            text += sentence(rng) + " "
        text = text[: args.chars]
        start = time.perf_counter()
        engine.respond(text)
        times.append((time.perf_counter() - start) * 1000)
    parts = len(windows(text, SAFETY_WINDOW_CHARS))
    print(
        f"{args.messages} messages of {args.chars} characters ({parts} parts each): "
        f"median {statistics.median(times):.0f} ms, slowest {max(times):.0f} ms"
    )


if __name__ == "__main__":
    main()
