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


@dataclass(frozen=True)
class FloorVerdict:
    """The draft's safety figures against the floors: ``failures`` hold it back;
    ``accepted`` are figures below (or above) a floor that let it through all the same,
    because the live content's figure on the same folds is within ``NOISE`` of it."""

    failures: list[str]
    accepted: list[str]


# (figure, its name, the floor, +1 for a floor / -1 for a ceiling)
_FLOORS = (
    ("danger_led_by_999", "danger now led by 999", DANGER_LED_BY_999_FLOOR, 1),
    ("danger_false_alarm_rate", "false alarms", FALSE_ALARM_CEILING, -1),
    ("crisis_recall", "crisis recall", CRISIS_FLOOR, 1),
)


def safety_verdict(figures: dict[str, Any], live: dict[str, Any]) -> FloorVerdict:
    """Each safety floor the draft's cross-validated ``figures`` miss, as a sentence. Given
    the live content's ``live`` figures (on the same folds), a missed floor holds the draft
    back only if the draft is worse than live by more than ``NOISE`` (1.5 points): publishing
    must never lower safety, yet a quick check on few folds moves by about a point, so a
    draft as good as live within that is accepted, and staff are told so."""
    failures, accepted = [], []
    for key, name, limit, sign in _FLOORS:
        value = figures[key]
        if sign * (value - limit) >= 0:
            continue
        bound = f"must be at {'least' if sign > 0 else 'most'} {limit:.0%}"
        if sign * (live[key] - value) > NOISE:
            failures.append(f"{name} {value:.1%} ({bound})")
        else:
            accepted.append(
                f"{name} {value:.1%} ({bound}): accepted, because the live content scores "
                f"{live[key]:.1%} on the same folds, and a draft at most {NOISE * 100:g} "
                "points worse than live is within cross-validation's noise"
            )
    return FloorVerdict(failures, accepted)


@dataclass
class PublishCheck:
    errors: list[Problem]
    before: dict[str, Any] = field(default_factory=dict)  # the live content's figures
    after: dict[str, Any] = field(default_factory=dict)  # the draft's, on the same folds
    changed: list[tuple[str, str, str]] = field(default_factory=list)  # text, before, after

    @property
    def verdict(self) -> FloorVerdict:
        if self.errors:
            return FloorVerdict([], [])
        return safety_verdict(self.after, self.before)

    @property
    def ok(self) -> bool:
        return not self.errors and not self.verdict.failures

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
        verdict = self.verdict
        if verdict.accepted:
            lines.append("Below a safety floor, but within noise of the live content:")
            lines += [f"  {accepted}" for accepted in verdict.accepted]
        if verdict.failures:
            lines.append("NOT published: the draft misses the safety floors:")
            lines += [f"  {failure}" for failure in verdict.failures]
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
    return PublishCheck([], before, after, changed)
