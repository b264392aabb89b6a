"""The sentence encoder's time per message, the bot's graph against the package's float32
graph, both loaded in one process and timed in turns (rounds alternate which goes first),
so load from other jobs on the machine falls on both alike:

    .venv/bin/python benchmarks/encoder_speed.py

Messages are CLINC150's labelled file (every 12th line, 256 of them), encoded one at a
time as a resident's message is, and in batches of 64 as the content is. Also reports
how close the bot's vectors are to the float32 graph's (cosine), and whether a message's
vector is the same in a batch as alone.

``--budgets 2048,256`` also times the bot's graph on batches of 64 with each token budget
(the most tokens one onnxruntime run holds, ``encoder.TOKEN_BUDGET``), in turns.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bot.matching import encoder as encoder_module
from bot.matching.encoder import SentenceEncoder

DATA = Path(__file__).resolve().parents[2] / "shared" / "benchmarks" / "clinc150" / "val.jsonl"


def timed(encoder: SentenceEncoder, texts: list[str], batch: int) -> float:
    """Seconds to encode ``texts`` in runs of ``batch``, nothing remembered beforehand."""
    encoder.forget_messages()
    started = time.perf_counter()
    for i in range(0, len(texts), batch):
        encoder.encode(texts[i : i + batch])
    return time.perf_counter() - started


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--messages", type=Path, default=DATA)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--budgets", default="", help="token budgets to compare, e.g. 2048,256")
    args = parser.parse_args(argv)
    lines = args.messages.read_text(encoding="utf-8").splitlines()
    texts = [json.loads(line)["text"] for line in lines][::12][:256]
    encoders = {"float32": SentenceEncoder(int8=False), "bot": SentenceEncoder()}
    load_before = os.getloadavg()[0]
    seconds: dict[tuple[str, int], list[float]] = {}
    for batch in (1, 64):
        for n in range(args.rounds):
            for name, encoder in list(encoders.items())[:: 1 if n % 2 else -1]:
                seconds.setdefault((name, batch), []).append(timed(encoder, texts, batch))
    for batch in (1, 64):
        base = statistics.median(seconds["float32", batch])
        for name in encoders:
            took = statistics.median(seconds[name, batch])
            print(
                f"batch {batch:>2}, {name:>7}: {took / len(texts) * 1000:6.2f} ms a message "
                f"({took / base:.2f}× float32)"
            )
    encoders["bot"].forget_messages()
    alone = np.stack([encoders["bot"].encode([text])[0] for text in texts])
    encoders["bot"].forget_messages()
    together = encoders["bot"].encode(texts)
    cosines = (alone * encoders["float32"].encode(texts)).sum(axis=1)
    print(f"cosine with float32: min {cosines.min():.4f}, mean {cosines.mean():.4f}")
    print(f"in a batch against alone: max difference {np.abs(together - alone).max():.1e}")
    if args.budgets:
        budgets = [int(b) for b in args.budgets.split(",")]
        by_budget: dict[int, list[float]] = {b: [] for b in budgets}
        for n in range(args.rounds):
            for budget in budgets[n % len(budgets) :] + budgets[: n % len(budgets)]:
                encoder_module.TOKEN_BUDGET = budget
                by_budget[budget].append(timed(encoders["bot"], texts, 64))
        first = statistics.median(by_budget[budgets[0]])
        for budget, runs in by_budget.items():
            took = statistics.median(runs)
            print(
                f"batch 64, token budget {budget:>5}: {len(texts) / took:5.0f} messages a "
                f"second ({first / took:.2f}× budget {budgets[0]})"
            )
    print(f"load average {load_before:.1f}–{os.getloadavg()[0]:.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
