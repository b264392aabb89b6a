"""Accuracy on labelled questions, and calibration of the answer threshold.

A case is ``{"text", "expect"}``: an intent id, ``none`` (out of scope) or several ids
joined by ``|``. It is right only when the outcome is an answer with an expected intent;
``emergency`` and ``crisis`` cases need those outcomes and ``none`` cases the fallback.
Suggestions are counted apart (never right).
"""

from __future__ import annotations

import itertools
import json
import math
import statistics
import time
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bot.matching.reply import Reply, ReplyKind

OUT_OF_SCOPE = "none"
EMERGENCY = "emergency"
CRISIS = "crisis"


@dataclass(frozen=True)
class Case:
    text: str
    expect: frozenset[str]


def read_cases(path: Path) -> list[Case]:
    cases = []
    with path.open(encoding="utf-8") as handle:
        for number, line in enumerate(handle, 1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
                cases.append(Case(str(row["text"]), frozenset(str(row["expect"]).split("|"))))
            except (ValueError, KeyError, TypeError) as exc:
                message = f'{path}:{number}: not a {{"text", "expect"}} line ({exc})'
                raise ValueError(message) from exc
    return cases


def outcome_label(reply: Reply) -> str:
    """What a reply amounts to, in the labels cases use."""
    if reply.kind is ReplyKind.EMERGENCY:
        return EMERGENCY
    if reply.kind is ReplyKind.FALLBACK:
        return OUT_OF_SCOPE
    if reply.kind is ReplyKind.SUGGEST:
        return "suggest"
    return reply.intent or OUT_OF_SCOPE


def is_right(case: Case, label: str) -> bool:
    return label in case.expect


def evaluate(cases: Iterable[Case], respond: Callable[[str], Reply]) -> dict[str, Any]:
    replies, timings = [], []
    for case in cases:
        start = time.perf_counter()
        reply = respond(case.text)
        timings.append((time.perf_counter() - start) * 1000)
        replies.append((case, reply))
    return summarise(replies, timings)


def summarise(replies: list[tuple[Case, Reply]], timings: list[float]) -> dict[str, Any]:
    """The figures for cases and the replies they got (``timings`` in ms, may be empty)."""
    rows = [(case, outcome_label(reply)) for case, reply in replies]
    timings = sorted(timings)
    total = len(rows)
    right = sum(is_right(c, label) for c, label in rows)
    in_scope = [(c, label) for c, label in rows if OUT_OF_SCOPE not in c.expect]
    oos = [(c, label) for c, label in rows if OUT_OF_SCOPE in c.expect]
    emergency = [(c, label) for c, label in rows if EMERGENCY in c.expect]
    per_intent: dict[str, dict[str, int]] = {}
    confusions: Counter[tuple[str, str]] = Counter()
    for case, label in rows:
        key = "|".join(sorted(case.expect))
        stats = per_intent.setdefault(key, {"cases": 0, "right": 0, "suggested": 0})
        stats["cases"] += 1
        stats["right"] += is_right(case, label)
        stats["suggested"] += label == "suggest"
        if not is_right(case, label):
            confusions[(key, label)] += 1

    def share(part: list[tuple[Case, str]], pred: Callable[[Case, str], bool]) -> float | None:
        return round(sum(pred(c, lb) for c, lb in part) / len(part), 4) if part else None

    return {
        "cases": total,
        "accuracy": round(right / total, 4) if total else None,
        "in_scope_accuracy": share(in_scope, is_right),
        "out_of_scope_recall": share(oos, lambda c, lb: lb == OUT_OF_SCOPE),
        "emergency_recall": share(emergency, lambda c, lb: lb == EMERGENCY),
        "crisis_recall": share(
            [(c, lb) for c, lb in rows if CRISIS in c.expect], lambda c, lb: lb == CRISIS
        ),
        "false_emergencies": sum(lb == EMERGENCY and EMERGENCY not in c.expect for c, lb in rows),
        "suggested": sum(label == "suggest" for _, label in rows),
        "median_ms": round(statistics.median(timings), 3) if timings else None,
        "p99_ms": round(timings[max(0, int(len(timings) * 0.99) - 1)], 3) if timings else None,
        "per_intent": per_intent,
        "confusions": [
            {"expected": e, "got": g, "count": n} for (e, g), n in confusions.most_common(15)
        ],
        "errors": [
            {"text": c.text, "expected": "|".join(sorted(c.expect)), "got": lb}
            for c, lb in rows
            if not is_right(c, lb)
        ],
    }


def format_report(figures: dict[str, Any]) -> str:
    def pct(value: float | None) -> str:
        return "n/a" if value is None else f"{value * 100:.1f}%"

    lines = [f"{'intent':<32} {'cases':>5} {'right':>5} {'suggested':>9}"]
    for intent, s in sorted(figures["per_intent"].items()):
        lines.append(f"{intent:<32} {s['cases']:>5} {s['right']:>5} {s['suggested']:>9}")
    if figures["confusions"]:
        lines.append("")
        lines.append("most common confusions (expected -> got):")
        lines += [f"  {c['expected']} -> {c['got']}: {c['count']}" for c in figures["confusions"]]
    lines += [
        "",
        f"cases: {figures['cases']}, suggested: {figures['suggested']}",
        f"in-scope accuracy: {pct(figures['in_scope_accuracy'])}",
        f"out-of-scope recall: {pct(figures['out_of_scope_recall'])}",
        f"emergency recall: {pct(figures['emergency_recall'])}"
        f" (emergency replies to other cases: {figures['false_emergencies']})",
        f"crisis recall: {pct(figures['crisis_recall'])}",
        f"time per message: median {figures['median_ms']} ms, 99th percentile "
        f"{figures['p99_ms']} ms",
        f"overall accuracy: {pct(figures['accuracy'])}",
    ]
    return "\n".join(lines)


class CalibrationError(ValueError):
    """The cases cannot support an answer threshold; the message says why."""


def calibrate_answer_threshold(
    scored: list[tuple[Case, str, float]], max_in_scope_loss: float = 0.005
) -> dict[str, Any]:
    """Pick the answer threshold that rejects the most out-of-scope questions while losing
    at most ``max_in_scope_loss`` in-scope accuracy against answering everything.

    ``scored`` holds each case with the model's top label and its score, before any
    threshold is applied. The safety check and the out-of-scope topic decide some cases
    whatever the threshold (their scores are infinite): they count, but the threshold is
    always a finite number between two topic scores.
    """
    in_scope = [(c, label, s) for c, label, s in scored if OUT_OF_SCOPE not in c.expect]
    oos = [(label, s) for c, label, s in scored if OUT_OF_SCOPE in c.expect]
    if not in_scope:
        raise CalibrationError(
            "calibration needs in-scope cases (an intent id in 'expect'), not only 'none'"
        )
    topic_scores = sorted({s for _, _, s in scored if math.isfinite(s)})
    if not topic_scores:
        raise CalibrationError(
            "no case reached topic matching (each was decided by the safety check or the "
            "out-of-scope topic), so the cases say nothing about the answer threshold; "
            "add in-scope questions"
        )

    def in_scope_accuracy(threshold: float) -> float:
        return sum(label in c.expect and s >= threshold for c, label, s in in_scope) / len(in_scope)

    best_possible = in_scope_accuracy(float("-inf"))
    floor = best_possible - max_in_scope_loss
    # Ascending, the lowest topic score first (which answers every topic case): stop at the
    # first threshold that costs too much.
    chosen, below = topic_scores[0], topic_scores[0] - 0.1
    for previous, threshold in itertools.pairwise(topic_scores):
        if in_scope_accuracy(threshold) + 1e-12 < floor:
            break
        chosen, below = threshold, previous
    # Halfway to the next lower score: the same cases either side, a margin for new ones.
    chosen = (chosen + below) / 2
    turned_away = sum(label == OUT_OF_SCOPE or s < chosen for label, s in oos)
    return {
        "answer_threshold": round(chosen, 4),
        "in_scope_accuracy": round(in_scope_accuracy(chosen), 4),
        "in_scope_accuracy_without_threshold": round(best_possible, 4),
        "out_of_scope_recall": round(turned_away / len(oos), 4) if oos else None,
    }
