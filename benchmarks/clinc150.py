"""CLINC150 benchmark for the matching engine: in-scope accuracy, out-of-scope recall, and
the speed of each sentence encoder against today's, measured in one run.

Builds one intent per CLINC150 label from the training file. The labelled file (the
validation split) is cut in two halves, alternate lines of it: the answer threshold is
calibrated on one half and the figures are measured on the other, then the other way
round, and the two measured halves are pooled, so no figure is measured on its own
calibration data. (``on calibration data`` repeats the old, optimistic way for
comparison: calibrated and measured on the whole file.)

Each encoder runs in a process of its own, one after the other, so its peak memory is its
own; the speed figures are quoted as ratios against the first one (``today``: the
packaged graph as it was run before, float32 products), with the load average beside them:

    .venv/bin/python benchmarks/clinc150.py                  # today, int8
    .venv/bin/python benchmarks/clinc150.py --encoders today,int8,static,none

``static`` is the static (Model2Vec-style) embedding model shipped in the PyPI package
``tokenlearn-static-model`` (``pip install tokenlearn-static-model`` into .venv first; it
is not a dependency of the bot). Throughput: the unique messages of the file (each
suffixed to be unique) offered at ``--rate`` a second through the bot's own ReplyBatcher
(two worker threads, batches of up to 64), as the channels answer them.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import resource
import statistics
import subprocess
import sys
import time
from collections import defaultdict
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bot.app.batching import ReplyBatcher
from bot.content.danger import DangerCheck
from bot.content.intents import Intent
from bot.content.loading import Content
from bot.content.matching_settings import MatchingConfig, Thresholds
from bot.matching.encoder import SentenceEncoder
from bot.matching.engine import Engine
from bot.matching.evaluation import Case, calibrate_answer_threshold, read_cases, summarise

DATA = Path(__file__).resolve().parents[2] / "shared" / "benchmarks" / "clinc150"
CACHE = Path.home() / ".cache" / "herts-safety-bot"  # example vectors, kept between runs


class StaticEncoder:
    """The encoder interface the engine uses, over tokenlearn-static-model's own
    ``get_embeddings`` (its bundled 10,000-token, 64-dimension int8 table)."""

    on_encoding = None
    on_progress = None

    def __init__(self) -> None:
        from static_model import get_embeddings

        self._embed = get_embeddings

    def encode(self, texts, *, keep=False):
        vectors = np.asarray(self._embed(list(texts)), dtype=np.float32).reshape(len(texts), -1)
        return vectors / (np.linalg.norm(vectors, axis=1, keepdims=True) + 1e-12)

    def forget_messages(self) -> None:
        """Nothing is held: a table look-up costs less than a memory of it."""


def make_encoder(name: str) -> Any:
    if name == "none":
        return None
    if name == "static":
        return StaticEncoder()
    return SentenceEncoder(cache_dir=CACHE, int8=name == "int8")


def build_engine(train: Path, encoder: Any, nearest_weight: float = 1.0) -> Engine:
    examples: dict[str, list[str]] = defaultdict(list)
    for case in read_cases(train):
        (label,) = case.expect
        examples[label].append(case.text)
    intents = {
        label: Intent(id=label, title=label, answer=label, examples=tuple(texts))
        for label, texts in examples.items()
    }
    # No suggestion band: an outcome is an answer or "out of scope", as in the paper.
    config = MatchingConfig(
        Thresholds(answer=0.0, suggest=0.0, margin=0.0), nearest_weight=nearest_weight
    )
    return Engine(Content(intents, {}, config, DangerCheck()), encoder)


def calibrated_replies(
    engine: Engine, calibrate: list[Case], test: list[Case], loss: float
) -> tuple[float, list, list[float]]:
    """Threshold chosen on ``calibrate``; replies to ``test`` (each timed, its vector not
    remembered from calibration)."""
    scored = [(case, *engine.top_label(case.text)) for case in calibrate]
    threshold = calibrate_answer_threshold(scored, loss)["answer_threshold"]
    engine.thresholds = Thresholds(answer=threshold, suggest=threshold, margin=0.0)
    if engine.encoder is not None:
        engine.encoder.forget_messages()
    replies, timings = [], []
    for case in test:
        started = time.perf_counter()
        replies.append((case, engine.respond(case.text)))
        timings.append((time.perf_counter() - started) * 1000)
    return threshold, replies, timings


async def throughput(engine: Engine, texts: list[str], rate: float) -> dict[str, float]:
    """Unique messages offered at ``rate`` a second through the channels' ReplyBatcher."""
    if engine.encoder is not None:
        engine.encoder.forget_messages()
    batcher = ReplyBatcher(SimpleNamespace(engine=engine), workers=2)
    latencies: list[float] = []

    async def ask(text: str) -> None:
        offered = time.perf_counter()
        await batcher.reply(text)
        latencies.append((time.perf_counter() - offered) * 1000)

    tasks = []
    step = max(1, int(rate / 100))  # offered in 10 ms steps
    started = time.perf_counter()
    for sent in range(0, len(texts), step):
        tasks += [asyncio.create_task(ask(t)) for t in texts[sent : sent + step]]
        await asyncio.sleep(max(0.0, started + (sent + step) / rate - time.perf_counter()))
    await asyncio.gather(*tasks)
    elapsed = time.perf_counter() - started
    latencies.sort()
    return {
        "unique_per_second": round(len(texts) / elapsed),
        "batched_p99_ms": round(latencies[int(len(latencies) * 0.99) - 1], 1),
    }


def measure(name: str, args: argparse.Namespace) -> dict[str, Any]:
    """The figures of one encoder (run in a process of its own)."""
    load_before = os.getloadavg()[0]
    started = time.perf_counter()
    engine = build_engine(args.train, make_encoder(name), args.nearest_weight)
    build_seconds = time.perf_counter() - started
    cases = read_cases(args.labelled)
    halves = cases[0::2], cases[1::2]
    thresholds, replies, timings = [], [], []
    for calibrate, test in (halves, halves[::-1]):
        threshold, got, took = calibrated_replies(engine, calibrate, test, args.max_in_scope_loss)
        thresholds.append(threshold)
        replies += got
        timings += took
    held_out = summarise(replies, timings)
    _, same_replies, same_timings = calibrated_replies(engine, cases, cases, args.max_in_scope_loss)
    same = summarise(same_replies, same_timings)
    unique = [f"{case.text} {n}" for n, case in enumerate(cases)]
    speed = asyncio.run(throughput(engine, unique, args.rate))
    return {
        "encoder": name,
        "nearest_weight": args.nearest_weight,
        "in_scope": held_out["in_scope_accuracy"],
        "oos_recall": held_out["out_of_scope_recall"],
        "in_scope_on_calibration_data": same["in_scope_accuracy"],
        "oos_recall_on_calibration_data": same["out_of_scope_recall"],
        "thresholds": [round(t, 4) for t in thresholds],
        "median_ms": round(statistics.median(timings), 2),
        "p99_ms": round(sorted(timings)[int(len(timings) * 0.99) - 1], 2),
        **speed,
        "peak_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        "build_seconds": round(build_seconds, 1),
        "load_average": [round(load_before, 2), round(os.getloadavg()[0], 2)],
    }


RATIOS = ("median_ms", "p99_ms", "unique_per_second", "batched_p99_ms", "peak_mb")


def report(results: list[dict[str, Any]]) -> str:
    base = results[0]
    lines = [
        f"CLINC150: calibrated on one half of the labelled file, measured on the other "
        f"(both ways, pooled); ratios against '{base['encoder']}' in this run; "
        f"nearest_weight {base['nearest_weight']:g}",
        "",
        "| encoder | in-scope | OOS recall | (on calibration data) | median ms | p99 ms "
        "| unique msgs/s | batched p99 ms | peak MB | load avg |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in results:

        def cell(key: str, r: dict[str, Any] = r) -> str:
            ratio = r[key] / base[key] if base[key] else float("nan")
            return f"{r[key]:g} ({ratio:.2f}×)"

        lines.append(
            f"| {r['encoder']} | {r['in_scope'] * 100:.1f}% | {r['oos_recall'] * 100:.1f}% "
            f"| {r['in_scope_on_calibration_data'] * 100:.1f}% / "
            f"{r['oos_recall_on_calibration_data'] * 100:.1f}% | "
            + " | ".join(cell(key) for key in RATIOS)
            + f" | {r['load_average'][0]:.1f}–{r['load_average'][1]:.1f} |"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--train", type=Path, default=DATA / "train.jsonl")
    parser.add_argument(
        "--labelled",
        type=Path,
        default=DATA / "val.jsonl",
        help="labelled file, cut in halves: calibrate on one, measure on the other",
    )
    parser.add_argument(
        "--encoders",
        default="today,int8",
        help="comma-separated, the first is the base of the ratios: today, int8, static, none",
    )
    parser.add_argument("--rate", type=float, default=1000, help="unique messages offered a second")
    parser.add_argument("--max-in-scope-loss", type=float, default=0.005)
    parser.add_argument(
        "--nearest-weight",
        type=float,
        default=1.0,
        help="the matching setting nearest_weight (the bot's is 1.0; 0 scores as before it)",
    )
    parser.add_argument("--json", action="store_true", help="print the figures as JSON lines")
    parser.add_argument("--one", help=argparse.SUPPRESS)  # run in a child: one encoder
    args = parser.parse_args(argv)
    if args.one:
        print(json.dumps(measure(args.one, args)))
        return 0
    results = []
    for name in args.encoders.split(","):
        child = [sys.executable, __file__, "--one", name, "--train", str(args.train)]
        child += ["--labelled", str(args.labelled), "--rate", str(args.rate)]
        child += ["--max-in-scope-loss", str(args.max_in_scope_loss)]
        child += ["--nearest-weight", str(args.nearest_weight)]
        out = subprocess.run(child, check=True, capture_output=True, text=True).stdout  # noqa: S603 -- this script itself
        results.append(json.loads(out.strip().splitlines()[-1]))
        if args.json:
            print(json.dumps(results[-1]), flush=True)
    if not args.json:
        print(report(results))
    return 0


if __name__ == "__main__":
    sys.exit(main())
