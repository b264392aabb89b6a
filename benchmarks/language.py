"""Language identification: how often it is right, and what it adds per message.

Runs the labelled messages of ``tests/data/languages.jsonl`` (each card language's
questions, danger messages and greetings, and English messages with foreign names and
loan words) through the real engine, then times ``LanguageGuesser.identify`` alone:

    .venv/bin/python benchmarks/language.py [--repeat 20] [--no-encoder]

Figures: share of messages whose language is chosen right (a "too short to tell" counts
as wrong), English messages that got a card, danger messages whose reply is not the
emergency one, and the median and 99th percentile time of identification per message.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bot.content.loading import load_content
from bot.matching.engine import Engine
from bot.matching.reply import ReplyKind

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "tests" / "data" / "languages.jsonl"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeat", type=int, default=20, help="timing passes over the messages")
    parser.add_argument("--no-encoder", action="store_true", help="TF-IDF only (faster build)")
    args = parser.parse_args()
    rows = [json.loads(line) for line in DATA.read_text(encoding="utf-8").splitlines()]
    content, problems = load_content(ROOT / "intents", ROOT / "knowledge")
    assert content is not None, problems
    encoder = None
    if not args.no_encoder:
        from bot.matching.encoder import load_encoder

        encoder = load_encoder()
    engine = Engine(content, encoder)
    replies = engine.respond_many([row["text"] for row in rows])
    right = sum(reply.language == row["language"] for row, reply in zip(rows, replies, strict=True))
    english = [r for row, r in zip(rows, replies, strict=True) if row["language"] == "en"]
    carded = sum(r.kind is ReplyKind.CARD or r.language not in (None, "en") for r in english)
    danger = [r for row, r in zip(rows, replies, strict=True) if row["kind"] == "danger"]
    missed = sum(r.kind is not ReplyKind.EMERGENCY for r in danger)
    for row, reply in zip(rows, replies, strict=True):
        if reply.language != row["language"]:
            print(f"  wrong: expected {row['language']}, got {reply.language}: {row['text']}")
    texts = [row["text"] for row in rows]
    times: list[float] = []
    for _ in range(args.repeat):
        for text in texts:
            start = time.perf_counter()
            engine.languages.identify(text)
            times.append(time.perf_counter() - start)
    english_times: list[float] = []
    english_texts = [row["text"] for row in rows if row["language"] == "en"]
    for _ in range(args.repeat):
        for text in english_texts:
            start = time.perf_counter()
            engine.languages.identify(text)
            english_times.append(time.perf_counter() - start)
    times.sort()
    english_times.sort()
    result = {
        "messages": len(rows),
        "language_right": round(right / len(rows), 4),
        "english_messages": len(english),
        "english_given_a_card": carded,
        "danger_messages": len(danger),
        "danger_without_emergency": missed,
        "identify_median_ms": round(statistics.median(times) * 1e3, 4),
        "identify_p99_ms": round(times[int(len(times) * 0.99)] * 1e3, 4),
        "identify_english_median_ms": round(statistics.median(english_times) * 1e3, 4),
    }
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
