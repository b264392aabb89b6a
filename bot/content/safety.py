"""The safety corpus: messages labelled danger now, crisis or not danger (``intents/_safety/``).

The learned safety check (``bot.matching.safety``) trains on it, with every topic example
as "not danger" too. Staff extend it like intent examples: one message per list item.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path

from bot.content.problems import Problem
from bot.content.yamlnodes import YamlFile, line_of
from bot.text import clean

SAFETY_DIR = "_safety"


class SafetyLabel(StrEnum):
    DANGER_NOW = "danger_now"  # someone is at risk right now: 999
    CRISIS = "crisis"  # the writer may harm themselves: crisis lines
    NOT_DANGER = "not_danger"  # shares words with the others but is neither


@dataclass(frozen=True)
class SafetyCorpus:
    examples: dict[SafetyLabel, tuple[str, ...]] = field(default_factory=dict)
    places: dict[str, str] = field(default_factory=dict)  # cleaned example -> "file:line"

    def of(self, label: SafetyLabel) -> tuple[str, ...]:
        return self.examples.get(label, ())


def load_safety(intents_dir: Path) -> tuple[SafetyCorpus, list[Problem]]:
    """Every ``*.yaml`` in ``intents_dir/_safety``; each names its ``label`` once."""
    folder = intents_dir / SAFETY_DIR
    problems: list[Problem] = []
    if not folder.is_dir():
        return SafetyCorpus(), problems
    examples: dict[SafetyLabel, list[str]] = {}
    places: dict[str, str] = {}
    choices = ", ".join(label.value for label in SafetyLabel)
    for path in sorted(folder.glob("*.y*ml")):
        doc = YamlFile(path)
        if doc.root is None:
            problems += doc.problems
            continue
        fields = doc.mapping(doc.root, "a safety examples file") or {}
        doc.unknown_keys(fields, {"label", "examples"}, "a safety examples file")
        label: SafetyLabel | None = None
        if "label" not in fields:
            doc.error(1, f"missing 'label:'; one of: {choices}")
        else:
            raw = doc.text(fields["label"][1], "label")
            try:
                label = SafetyLabel(raw or "")
            except ValueError:
                doc.error(fields["label"][1], f"label '{raw}' must be one of: {choices}")
        items = doc.text_list(fields["examples"][1], "examples") if "examples" in fields else []
        if "examples" not in fields:
            doc.error(1, "missing 'examples:'; list one message per line")
        for text, node in items:
            key = clean(text)
            here = f"{doc.name}:{line_of(node)}"
            if key in places:
                doc.error(node, f"'{text}' is already listed at {places[key]}; keep one")
                continue
            places[key] = here
            if label is not None:
                examples.setdefault(label, []).append(text)
        problems += doc.problems
    corpus = SafetyCorpus({k: tuple(v) for k, v in examples.items()}, places)
    return corpus, problems
