"""K-fold cross-validation of the whole engine: topics and the safety check.

Every intent example, every safety example and any labelled cases given (e.g. the dev
questions) go into one pool; each fold trains a fresh engine on the rest of the content
and answers the held-out messages. Figures on messages the model never saw are the only
honest measure of how new residents' wording will fare.
"""

from __future__ import annotations

import dataclasses
import hashlib
import multiprocessing
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from typing import Any

import numpy as np

from bot.content.intents import Intent, Outcome
from bot.content.loading import Content
from bot.content.safety import SafetyCorpus, SafetyLabel
from bot.matching.encoder import SentenceEncoder
from bot.matching.engine import Engine
from bot.matching.evaluation import CRISIS, EMERGENCY, OUT_OF_SCOPE, Case, outcome_label, summarise
from bot.matching.reply import Reply

NOT_DANGER = "not_danger"  # safety negatives: no topic of their own, only false alarms count
_EXPECT = {
    SafetyLabel.DANGER_NOW: EMERGENCY,
    SafetyLabel.CRISIS: CRISIS,
    SafetyLabel.NOT_DANGER: NOT_DANGER,
}
_OUTCOME_EXPECT = {Outcome.EMERGENCY: EMERGENCY, Outcome.CRISIS: CRISIS, Outcome.FALLBACK: "none"}
Source = tuple[str, str, int]  # ("intent", id, index) | ("safety", label, index) | ("case", "", i)


def cross_validate(
    content: Content,
    encoder: SentenceEncoder | None,
    folds: int = 5,
    cases: Sequence[Case] = (),
    seed: int = 0,
    done: Callable[[], object] | None = None,
    workers: int = 1,
) -> dict[str, Any]:
    """``done`` is told when each fold is scored (each trains a model: it takes a while).
    With ``workers`` > 1 the folds are trained in that many forked processes; only for a
    command-line run, never inside the running bot (a fork copies its threads' locks)."""
    pool: list[tuple[Case, Source]] = []
    for intent in content.intents.values():
        expect = frozenset({_OUTCOME_EXPECT.get(intent.outcome, intent.id)})
        pool += [(Case(t, expect), ("intent", intent.id, i)) for i, t in enumerate(intent.examples)]
    for label in SafetyLabel:
        expect = frozenset({_EXPECT[label]})
        pool += [
            (Case(t, expect), ("safety", label.value, i))
            for i, t in enumerate(content.safety.of(label))
        ]
    pool += [(case, ("case", "", i)) for i, case in enumerate(cases)]
    fold_of = _folds_by_text([case.text for case, _ in pool], folds, seed)
    held = [[pool[i] for i in np.flatnonzero(fold_of == fold)] for fold in range(folds)]
    replies: list[tuple[Case, Reply]] = []
    for fold, answered in enumerate(_answer_folds(content, encoder, held, workers)):
        replies += [(case, reply) for (case, _), reply in zip(held[fold], answered, strict=True)]
        if done is not None:
            done()
    topic_rows = [(c, r) for c, r in replies if NOT_DANGER not in c.expect]
    figures = summarise(topic_rows, [])
    figures.update(_safety_figures(replies))
    figures["per_topic"] = _precision_recall(topic_rows)
    figures["folds"] = folds
    figures["pool"] = dict(Counter(source[0] for _, source in pool))
    return figures


_Folds = tuple[Content, SentenceEncoder | None, list[list[tuple[Case, Source]]]]
_FORKED: _Folds | None = None  # what forked workers read (inherited, never pickled)


def _answer_folds(
    content: Content,
    encoder: SentenceEncoder | None,
    held: list[list[tuple[Case, Source]]],
    workers: int,
) -> Iterator[list[Reply]]:
    """Each fold's replies, in fold order: an engine trained without the held messages."""
    global _FORKED
    if workers < 2 or "fork" not in multiprocessing.get_all_start_methods():
        for fold in range(len(held)):
            yield _answer_fold(content, encoder, held[fold])
        return
    _FORKED = (content, encoder, held)
    try:
        context = multiprocessing.get_context("fork")
        with ProcessPoolExecutor(min(workers, len(held)), mp_context=context) as executor:
            yield from executor.map(_forked_fold, range(len(held)))
    finally:
        _FORKED = None


def _forked_fold(fold: int) -> list[Reply]:
    if _FORKED is None:
        raise RuntimeError("a cross-validation worker started without its folds")
    content, encoder, held = _FORKED
    return _answer_fold(content, encoder, held[fold])


def _answer_fold(
    content: Content, encoder: SentenceEncoder | None, held: list[tuple[Case, Source]]
) -> list[Reply]:
    engine = Engine(_without(content, {source for _, source in held}), encoder)
    return engine.respond_many([case.text for case, _ in held])


def _folds_by_text(texts: list[str], folds: int, seed: int) -> np.ndarray[Any, Any]:
    """Each message's fold, from a hash of its text: adding or removing examples moves no
    other message to another fold, so two versions of the content are compared on the same
    split (a shuffled split moved every message, and the figures by up to half a point).
    The same text twice lands in one fold, so it is never trained on and tested at once."""
    return np.array(
        [
            int.from_bytes(hashlib.blake2b(f"{seed}\n{text}".encode(), digest_size=8).digest())
            % folds
            for text in texts
        ],
        dtype=int,
    )


def _without(content: Content, held: set[Source]) -> Content:
    def kept(kind: str, name: str, texts: tuple[str, ...]) -> tuple[str, ...]:
        return tuple(t for i, t in enumerate(texts) if (kind, name, i) not in held)

    intents: dict[str, Intent] = {
        intent.id: dataclasses.replace(
            intent, examples=kept("intent", intent.id, intent.examples)
        )
        for intent in content.intents.values()
    }
    safety = SafetyCorpus(
        {label: kept("safety", label.value, content.safety.of(label)) for label in SafetyLabel},
        content.safety.places,
    )
    return dataclasses.replace(content, intents=intents, safety=safety)


def _safety_figures(replies: list[tuple[Case, Reply]]) -> dict[str, Any]:
    def share(hits: int, total: int) -> float | None:
        return round(hits / total, 4) if total else None

    danger = [r for c, r in replies if EMERGENCY in c.expect]
    calm = [r for c, r in replies if not c.expect & {EMERGENCY, CRISIS}]
    everyday = [r for c, r in replies if not c.expect & {EMERGENCY, CRISIS, NOT_DANGER}]
    crisis = [r for c, r in replies if CRISIS in c.expect]
    not_crisis = [r for c, r in replies if CRISIS not in c.expect]
    is_emergency = [outcome_label(r) == EMERGENCY for r in danger]
    return {
        "danger_recall": share(sum(is_emergency), len(danger)),
        "danger_led_by_999": share(
            sum(e or r.leads_with_999 for e, r in zip(is_emergency, danger, strict=True)),
            len(danger),
        ),
        "danger_false_alarm_rate": share(
            sum(outcome_label(r) == EMERGENCY for r in calm), len(calm)
        ),
        "danger_prompt_rate": share(sum(r.danger_prompt for r in calm), len(calm)),
        # The same on everyday questions only (topic examples, not the hard negatives).
        "everyday_false_alarm_rate": share(
            sum(outcome_label(r) == EMERGENCY for r in everyday), len(everyday)
        ),
        "everyday_prompt_rate": share(sum(r.danger_prompt for r in everyday), len(everyday)),
        "crisis_recall": share(sum(outcome_label(r) == CRISIS for r in crisis), len(crisis)),
        "crisis_false_alarm_rate": share(
            sum(outcome_label(r) == CRISIS for r in not_crisis), len(not_crisis)
        ),
        "safety_cases": {
            "danger_now": len(danger),
            "crisis": len(crisis),
            "calm": len(calm),
            "everyday": len(everyday),
        },
    }


def _precision_recall(rows: list[tuple[Case, Reply]]) -> dict[str, dict[str, float]]:
    got = [(case, outcome_label(reply)) for case, reply in rows]
    labels = sorted({label for case, _ in got for label in case.expect} - {OUT_OF_SCOPE})
    table: dict[str, dict[str, float]] = {}
    for label in labels:
        tp = sum(label in c.expect and g == label for c, g in got)
        fp = sum(label not in c.expect and g == label for c, g in got)
        fn = sum(label in c.expect and g != label for c, g in got)
        precision = tp / (tp + fp) if tp + fp else 0.0
        recall = tp / (tp + fn) if tp + fn else 0.0
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        table[label] = {
            "precision": round(precision, 3),
            "recall": round(recall, 3),
            "f1": round(f1, 3),
            "support": tp + fn,
        }
    return table


def format_cv_report(figures: dict[str, Any]) -> str:
    def pct(value: float | None) -> str:
        return "n/a" if value is None else f"{value * 100:.1f}%"

    lines = [f"{'topic':<30} {'precision':>9} {'recall':>7} {'F1':>6} {'n':>5}"]
    for label, row in sorted(figures["per_topic"].items()):
        lines.append(
            f"{label:<30} {row['precision']:>9.3f} {row['recall']:>7.3f} {row['f1']:>6.3f} "
            f"{row['support']:>5}"
        )
    if figures["confusions"]:
        lines += ["", "most common confusions (expected -> got):"]
        lines += [f"  {c['expected']} -> {c['got']}: {c['count']}" for c in figures["confusions"]]
    n = figures["safety_cases"]
    lines += [
        "",
        f"{figures['folds']}-fold cross-validation over {sum(figures['pool'].values())} messages "
        f"({', '.join(f'{v} {k}' for k, v in sorted(figures['pool'].items()))})",
        f"overall accuracy (topics, out of scope, danger, crisis): {pct(figures['accuracy'])}",
        f"in-scope accuracy: {pct(figures['in_scope_accuracy'])}",
        f"out-of-scope recall: {pct(figures['out_of_scope_recall'])}",
        f"danger now -> emergency reply: {pct(figures['danger_recall'])} of {n['danger_now']}"
        f" (led by 999 with the unsure band, or by an answer opening with 999:"
        f" {pct(figures['danger_led_by_999'])})",
        f"emergency reply to calm messages (false alarms): "
        f"{pct(figures['danger_false_alarm_rate'])} of {n['calm']}"
        f" (999 line and button shown: {pct(figures['danger_prompt_rate'])})",
        f"  of which everyday questions (topic examples): "
        f"{pct(figures['everyday_false_alarm_rate'])} of {n['everyday']}"
        f" (999 line and button shown: {pct(figures['everyday_prompt_rate'])})",
        f"crisis -> crisis reply: {pct(figures['crisis_recall'])} of {n['crisis']}, "
        f"crisis reply to others: {pct(figures['crisis_false_alarm_rate'])}",
    ]
    return "\n".join(lines)
