"""Checks before a draft goes live: the content loads, the cross-validated safety floors
hold, and what changes, measured on messages the models did not train on."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bot.content.loading import load_content
from bot.content.problems import Problem, Severity
from bot.matching.crossval import cross_validate
from bot.matching.engine import Engine
from bot.matching.evaluation import outcome_label

# The floors ./test holds the live content to (tests/test_crossval.py imports them); a draft
# below any of them is not published.
DANGER_LED_BY_999_FLOOR = 0.97  # danger-now messages whose reply starts with 999
FALSE_ALARM_CEILING = 0.03  # emergency replies to messages that are not danger now
CRISIS_FLOOR = 0.85  # crisis messages that get the crisis reply


# Cross-validation on a few folds moves by up to a point between near-identical contents
# (one example more): a draft is only held back for a figure worse than live's by more.
NOISE = 0.015


def safety_failures(
    figures: dict[str, Any], live: dict[str, Any] | None = None
) -> list[str]:
    """Each safety floor the cross-validated figures miss, as a sentence. With the live
    content's ``live`` figures (on the same folds), a floor live misses too holds the
    draft back only if the draft is worse still: publishing must never lower safety, and a
    quick check on few folds can put both just under a floor."""

    def worse(key: str, sign: int) -> bool:
        return live is None or sign * (figures[key] - live[key]) > NOISE

    failures = []
    if figures["danger_led_by_999"] < DANGER_LED_BY_999_FLOOR and worse("danger_led_by_999", -1):
        failures.append(
            f"danger now led by 999 {figures['danger_led_by_999']:.1%}"
            f" (must be at least {DANGER_LED_BY_999_FLOOR:.0%})"
        )
    if figures["danger_false_alarm_rate"] > FALSE_ALARM_CEILING and worse(
        "danger_false_alarm_rate", 1
    ):
        failures.append(
            f"false alarms {figures['danger_false_alarm_rate']:.1%}"
            f" (must be at most {FALSE_ALARM_CEILING:.0%})"
        )
    if figures["crisis_recall"] < CRISIS_FLOOR and worse("crisis_recall", -1):
        failures.append(
            f"crisis recall {figures['crisis_recall']:.1%} (must be at least {CRISIS_FLOOR:.0%})"
        )
    return failures


@dataclass
class PublishCheck:
    errors: list[Problem]
    before: dict[str, Any] = field(default_factory=dict)
    after: dict[str, Any] = field(default_factory=dict)
    safety: list[str] = field(default_factory=list)  # floors the draft misses
    changed: list[tuple[str, str, str]] = field(default_factory=list)  # text, before, after

    @property
    def ok(self) -> bool:
        return not self.errors and not self.safety

    def summary(self, files: Sequence[str], limit: int = 15) -> str:
        """What an admin reads before (or instead of) the draft going live."""
        if self.errors:
            return "\n".join(
                ["The draft has errors, so it was not published:"]
                + [str(p) for p in self.errors[:limit]]
            )
        lines = [f"Files changed: {', '.join(files) or 'none'}"]
        for key, name in (("accuracy", "Accuracy"), ("in_scope_accuracy", "In-scope accuracy")):
            before, after = self.before.get(key), self.after.get(key)
            if before is not None and after is not None:
                lines.append(f"{name} (cross-validated): {before:.1%} → {after:.1%}")
        lines.append(
            f"Danger now led by 999: {self.before['danger_led_by_999']:.1%} → "
            f"{self.after['danger_led_by_999']:.1%}; crisis recall "
            f"{self.before['crisis_recall']:.1%} → {self.after['crisis_recall']:.1%}; "
            f"false alarms {self.before['danger_false_alarm_rate']:.1%} → "
            f"{self.after['danger_false_alarm_rate']:.1%}"
        )
        if self.changed:
            lines.append(f"Questions whose answer changes ({len(self.changed)}):")
            lines += [f'  "{t}": {a} → {b}' for t, a, b in self.changed[:limit]]
            if len(self.changed) > limit:
                lines.append(f"  … and {len(self.changed) - limit} more")
        else:
            lines.append("No logged question gets a different answer.")
        if self.safety:
            lines.append("NOT published: the draft misses the safety floors:")
            lines += [f"  {failure}" for failure in self.safety]
        return "\n".join(lines)


def check_draft(
    live: Engine,
    intents: Path,
    knowledge: Path,
    seeds: Path | None,
    questions: Sequence[str],
    folds: int = 5,
) -> PublishCheck:
    """Load the draft, cross-validate it and the live content, and answer the logged
    ``questions`` with both. Slow (two cross-validations): run it off the event loop."""
    content, problems = load_content(intents, knowledge, seeds)
    if content is None:
        return PublishCheck([p for p in problems if p.severity is Severity.ERROR])
    draft = Engine(content, live.encoder, live.cache_dir)
    before = cross_validate(live.content, live.encoder, folds=folds, cases=())
    after = cross_validate(content, live.encoder, folds=folds, cases=())
    changed = []
    for text, old, new in zip(
        questions,
        live.respond_many(list(questions)),
        draft.respond_many(list(questions)),
        strict=True,
    ):
        if outcome_label(old) != outcome_label(new):
            changed.append((text, outcome_label(old), outcome_label(new)))
    return PublishCheck([], before, after, safety_failures(after, before), changed)
