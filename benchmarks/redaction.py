"""Redaction of stored question text, people's names included: what it costs per question
beside answering it, and which of the content's own examples it changes.

Each example of the shipped content is a question as residents word them; a copy of each
gets a name in a common form ("my neighbour Dave says …", "… Mrs Patel"), so that half
the questions have one. Times ``content_redactor(content)`` (what the question log runs)
and its name step alone, per question, then ``Engine.respond`` on a sample of them:

    .venv/bin/python benchmarks/redaction.py [--repeat 5] [--answers 500] [--no-encoder]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bot.app.assembly import content_redactor
from bot.content.loading import load_content
from bot.matching.engine import Engine
from bot.storage.names import NameRedactor, packaged_names

ROOT = Path(__file__).resolve().parents[1]
NAMED = ("my neighbour Dave says {}", "{}, asked Mrs Patel", "JOHN SMITH: {}", "{} called sarah")


def per_question(run: Callable[[str], object], texts: list[str], repeat: int) -> list[float]:
    times: list[float] = []
    for _ in range(repeat):
        for text in texts:
            start = time.perf_counter()
            run(text)
            times.append(time.perf_counter() - start)
    return times


def show(label: str, times: list[float]) -> None:
    cuts = statistics.quantiles(times, n=100)
    print(f"{label}: median {cuts[49] * 1e6:.0f} µs, 99th percentile {cuts[98] * 1e6:.0f} µs")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeat", type=int, default=5, help="timing passes over the questions")
    parser.add_argument("--answers", type=int, default=500, help="questions answered for scale")
    parser.add_argument("--no-encoder", action="store_true", help="TF-IDF only (faster build)")
    args = parser.parse_args()
    content, problems = load_content(ROOT / "intents", ROOT / "knowledge")
    assert content is not None, problems
    examples = [e for intent in content.intents.values() for e in intent.examples]
    texts = examples + [NAMED[n % len(NAMED)].format(e) for n, e in enumerate(examples)]
    start = time.perf_counter()
    redactor = content_redactor(content)
    print(f"building the redactor: {(time.perf_counter() - start) * 1e3:.0f} ms")
    names = NameRedactor(packaged_names())
    print(f"{len(texts)} questions ({len(examples)} examples, each also with a name):")
    show("  whole redaction", per_question(redactor, texts, args.repeat))
    show("  names step alone", per_question(names, texts, args.repeat))
    changed = [(e, redactor(e)) for e in examples if "[name]" in redactor(e)]
    print(f"examples given a [name]: {len(changed)} of {len(examples)}")
    for example, stored in changed:
        print(f"  {example!r} -> {stored!r}")
    encoder = None
    if not args.no_encoder:
        from bot.matching.encoder import load_encoder

        encoder = load_encoder()
    engine = Engine(content, encoder)
    sample = texts[:: max(1, len(texts) // args.answers)][: args.answers]
    engine.respond(sample[0])  # warm
    answering = per_question(engine.respond, sample, 1)
    show(f"answering ({len(sample)} of them, one at a time)", answering)


if __name__ == "__main__":
    main()
