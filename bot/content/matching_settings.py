"""Matching settings staff can tune without code: ``intents/_matching.yaml``.

Scores are the linear model's decision values (about -1.5 to 1.5; higher is surer).
``python -m bot calibrate CASES.jsonl`` proposes the answer threshold from labelled cases.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from bot.content.problems import Problem
from bot.content.yamlnodes import YamlFile

MATCHING_FILE = "_matching.yaml"


@dataclass(frozen=True)
class Thresholds:
    answer: float = -0.3  # top score at or above this: answer
    suggest: float = -0.6  # top score at or above this (below answer): suggest
    margin: float = 0.1  # a runner-up within this of the top is offered too
    # The safety check's decision values (see bot.matching.safety): at or above ``danger``
    # the emergency reply; from ``danger_unsure`` the answer is led by the 999 line and an
    # "I'm in danger now" button; at or above ``crisis`` the crisis reply.
    danger: float = 0.0
    danger_unsure: float = -0.5
    # From ``danger_urgent`` (within the unsure band) an ``urgent`` phrase ("right now")
    # makes it the emergency reply: lower in the band, "right now" is as often a question
    # ("is the station open right now").
    danger_urgent: float = -0.3
    # An answer scoring ``answer_sure`` on a topic not marked ``after_999`` gets the 999
    # line only from ``danger_unsure_answered`` up: lower, the band's doubt is noise.
    answer_sure: float = 1.0
    danger_unsure_answered: float = -0.5
    crisis: float = -0.2
    # A sentence of a long message (read part by part past its first 1,000 characters) is
    # danger now at or above ``part_danger``, or at or above ``part_danger_present`` when it
    # says it is happening now (``present`` phrases in _danger.yaml), and crisis at or
    # above ``part_crisis``: one sentence of a long story about the past is easily mistaken.
    part_danger: float = 1.0
    part_danger_present: float = 0.3
    part_crisis: float = 1.0
    # The last sentences of a message over ``TAIL_FROM_CHARS`` (bot.matching.engine) are
    # read alone too, and are danger now from ``part_danger_tail``: residents tell the
    # background first and what is happening now last.
    part_danger_tail: float = 0.2
    # A sentence held to ``part_danger_present`` or ``part_danger_tail`` counts only when
    # the message's last 300 characters read together score ``part_danger_context``, or
    # the sentence alone ``part_danger_alone``: out of its story, "they just walk out"
    # reads as danger.
    part_danger_context: float = -1.0
    part_danger_alone: float = 1.0


@dataclass(frozen=True)
class MatchingConfig:
    thresholds: Thresholds = field(default_factory=Thresholds)
    regularisation: float = 1.0  # the SVM's C: higher fits the examples more tightly
    keyword_boost: float = 0.5  # added to an intent's score when one of its keywords appears
    # Times the message's cosine similarity to each intent's nearest example, added to that
    # intent's score (with sentence vectors): a message like no example is turned away.
    nearest_weight: float = 0.0
    replacements: dict[str, str] = field(default_factory=dict)  # misspellings and synonyms


def load_matching(folder: Path) -> tuple[MatchingConfig, list[Problem]]:
    path = folder / MATCHING_FILE
    if not path.exists():
        return MatchingConfig(), []
    doc = YamlFile(path)
    if doc.root is None:
        return MatchingConfig(), doc.problems
    fields = doc.mapping(doc.root, "the matching settings") or {}
    defaults = Thresholds()
    top_level = {"thresholds", "regularisation", "keyword_boost", "nearest_weight", "replacements"}
    doc.unknown_keys(
        fields,
        top_level,
        "the matching settings",
        elsewhere=dict.fromkeys(defaults.__dict__, "under 'thresholds:' (indented)"),
    )
    values = {}
    if "thresholds" in fields:
        th = doc.mapping(fields["thresholds"][1], "thresholds") or {}
        doc.unknown_keys(
            th,
            set(defaults.__dict__),
            "thresholds",
            elsewhere=dict.fromkeys(top_level, "at the start of a line (not indented)"),
        )
        for key, (_, node) in th.items():
            number = doc.number(node, f"thresholds.{key}")
            if number is not None:
                values[key] = number
    thresholds = Thresholds(**{**defaults.__dict__, **values})
    if thresholds.suggest > thresholds.answer and "thresholds" in fields:
        doc.error(fields["thresholds"][1], "thresholds.suggest must not be above thresholds.answer")
    if thresholds.danger_unsure > thresholds.danger and "thresholds" in fields:
        doc.error(
            fields["thresholds"][1], "thresholds.danger_unsure must not be above thresholds.danger"
        )
    urgent_in_band = thresholds.danger_unsure <= thresholds.danger_urgent <= thresholds.danger
    if not urgent_in_band and "thresholds" in fields:
        doc.error(
            fields["thresholds"][1],
            "thresholds.danger_urgent must be from thresholds.danger_unsure to thresholds.danger",
        )
    numbers = {}
    for key in ("regularisation", "keyword_boost", "nearest_weight"):
        if key in fields:
            number = doc.number(fields[key][1], key)
            if number is not None:
                numbers[key] = number
    replacements: dict[str, str] = {}
    if "replacements" in fields:
        mapping = doc.mapping(fields["replacements"][1], "replacements") or {}
        for word, (_, node) in mapping.items():
            value = doc.text(node, f"replacement for '{word}'")
            if value:
                replacements[word] = value
    if numbers.get("nearest_weight", 0.0) < 0:
        doc.error(fields["nearest_weight"][1], "nearest_weight must not be below 0")
    return MatchingConfig(thresholds, replacements=replacements, **numbers), doc.problems
