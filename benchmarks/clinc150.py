"""CLINC150 benchmark for the matching engine (in-scope accuracy, out-of-scope recall).

Builds one intent per CLINC150 label from the training file, calibrates the answer
threshold on a labelled file, evaluates another, and reports speed and memory:

    .venv/bin/python benchmarks/clinc150.py \\
        --calibrate ../shared/benchmarks/clinc150/val.jsonl \\
        --test ../shared/benchmarks/clinc150/val.jsonl
"""

from __future__ import annotations

import argparse
import json
import resource
import sys
import time
from collections import defaultdict
from pathlib import Path

from bot.content.danger import DangerCheck
from bot.content.intents import Intent
from bot.content.loading import Content
from bot.content.matching_settings import MatchingConfig, Thresholds
from bot.matching.encoder import SentenceEncoder
from bot.matching.engine import Engine
from bot.matching.evaluation import calibrate_answer_threshold, evaluate, read_cases

DATA = Path(__file__).resolve().parents[2] / "shared" / "benchmarks" / "clinc150"


CACHE = Path.home() / ".cache" / "herts-safety-bot"  # example vectors, kept between runs


def build_engine(train: Path, threshold: float = 0.0, encoder: bool = True) -> Engine:
    examples: dict[str, list[str]] = defaultdict(list)
    for case in read_cases(train):
        (label,) = case.expect
        examples[label].append(case.text)
    intents = {
        label: Intent(id=label, title=label, answer=label, examples=tuple(texts))
        for label, texts in examples.items()
    }
    # No suggestion band: an outcome is an answer or "out of scope", as in the paper.
    config = MatchingConfig(Thresholds(answer=threshold, suggest=threshold, margin=0.0))
    return Engine(
        Content(intents, {}, config, DangerCheck()),
        SentenceEncoder(cache_dir=CACHE) if encoder else None,
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--train", type=Path, default=DATA / "train.jsonl")
    parser.add_argument(
        "--calibrate",
        type=Path,
        default=DATA / "val.jsonl",
        help="labelled file the out-of-scope threshold is chosen on",
    )
    parser.add_argument(
        "--test",
        type=Path,
        default=DATA / "val.jsonl",
        help="labelled file the figures are measured on",
    )
    parser.add_argument("--max-in-scope-loss", type=float, default=0.005)
    parser.add_argument("--json", action="store_true", help="print the figures as one object")
    parser.add_argument(
        "--no-encoder", action="store_true", help="TF-IDF alone, as when the encoder is off"
    )
    args = parser.parse_args(argv)

    started = time.perf_counter()
    engine = build_engine(args.train, encoder=not args.no_encoder)
    build_seconds = time.perf_counter() - started

    scored = [(case, *engine.top_label(case.text)) for case in read_cases(args.calibrate)]
    calibration = calibrate_answer_threshold(scored, args.max_in_scope_loss)
    threshold = calibration["answer_threshold"]
    engine.thresholds = Thresholds(answer=threshold, suggest=threshold, margin=0.0)
    if engine.encoder is not None:
        engine.encoder.forget_messages()  # time encoding the test messages, not recalling them

    figures = evaluate(read_cases(args.test), engine.respond)
    result = {
        "intents": len(engine.intents),
        "encoder": engine.uses_encoder,
        "training_examples": sum(len(i.examples) for i in engine.intents.values()),
        "threshold": threshold,
        "in_scope_accuracy": figures["in_scope_accuracy"],
        "out_of_scope_recall": figures["out_of_scope_recall"],
        "build_seconds": round(build_seconds, 2),
        "median_ms": figures["median_ms"],
        "p99_ms": figures["p99_ms"],
        "peak_memory_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        "calibrated_on": str(args.calibrate),
        "tested_on": str(args.test),
    }
    if args.json:
        print(json.dumps(result))
    else:
        for key, value in result.items():
            if key.endswith(("accuracy", "recall")):
                value = f"{value * 100:.1f}%"
            print(f"{key:>22}: {value}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
