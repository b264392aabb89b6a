"""The safety check, run on every message before topic matching: danger now, crisis, or
neither, with an "unsure" band in between.

A linear model over the same features as topic matching (TF-IDF and, when available, the
sentence vector) learns the three labels from ``intents/_safety/`` and from every topic
example (all "not danger"). With sentence vectors, the examples nearest in meaning also
vote: a message whose closest examples are everyday questions ("bonfire smoke coming into
my house") is spared a false 999 that the linear model alone would give. Staff phrases in
``intents/_danger.yaml`` override both: ``never`` phrases silence danger now, though not
a crisis (in a long message, everything told before them), ``signals`` always mean danger
now, ``ended`` ones ("all gone now") hold back an unsure "danger now", and ``urgent``
phrases ("right now") turn an unsure verdict in the band's upper part into danger now.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

import numpy as np
import numpy.typing as npt

from bot.content.danger import DangerCheck
from bot.content.matching_settings import Thresholds
from bot.content.safety import SafetyLabel
from bot.matching.classifier import LinearModel

LABELS = (SafetyLabel.DANGER_NOW, SafetyLabel.CRISIS, SafetyLabel.NOT_DANGER)
# The vote: each of the NEIGHBOURS nearest examples weighs exp(SHARPNESS * similarity), so
# an example the message repeats word for word outweighs close ones ("goodbye" is a
# thank-you, not a crisis). An abstaining vote of similarity UNLIKE damps the rest, so a
# message unlike every example ("im walking home") is swayed less by the few vaguely like
# it. NEIGHBOUR_WEIGHT times the share voting for a label is added to its decision value.
# By 5-fold cross-validation (docs/measurements.md) this halves the false alarms at the
# same share of danger led by 999, and finds more crisis messages.
NEIGHBOURS = 10
SHARPNESS = 20.0
UNLIKE = 0.6
NEIGHBOUR_WEIGHT = {SafetyLabel.DANGER_NOW: 1.2, SafetyLabel.CRISIS: 1.0}


class Safety(StrEnum):
    DANGER_NOW = "danger_now"  # the emergency reply: 999 first
    CRISIS = "crisis"  # the crisis reply: 999 if a life is at risk, Samaritans, NHS 111
    UNSURE = "unsure"  # the topic reply, led by the 999 line and an "I'm in danger" button
    NONE = "none"


@dataclass(frozen=True)
class SafetyVerdict:
    safety: Safety
    danger: float  # the model's decision values (-inf/inf when a staff phrase decided)
    crisis: float
    why: str


class SafetyModel:
    """Trained once per content version, like the topic model."""

    def __init__(
        self,
        texts: Sequence[str],
        labels: Sequence[SafetyLabel],
        vectors: npt.NDArray[np.float32] | None,
        regularisation: float,
        cache_dir: Path | None = None,
    ) -> None:
        self.model: LinearModel | None = None
        self._vectors = vectors  # unit rows: a dot product is the cosine similarity
        self._is = {
            label: np.array([given == label for given in labels], dtype=np.float32)
            for label in NEIGHBOUR_WEIGHT
        }
        if {SafetyLabel.DANGER_NOW, SafetyLabel.NOT_DANGER} <= set(labels):
            present = [label for label in LABELS if label in set(labels)]
            self.model = LinearModel(present, regularisation).fit(
                texts, labels, vectors, cache_dir
            )

    def scores(
        self,
        words: str,
        vector: npt.NDArray[np.float32] | None,
        vote: npt.NDArray[np.float32] | None = None,
    ) -> tuple[float, float]:
        """Decision values for danger now and crisis (-inf where there is no model), each
        with the vote of the ``NEIGHBOURS`` nearest examples when there are vectors
        (``vote``: this message's row of :meth:`votes`, when already worked out)."""
        if self.model is None:
            return float("-inf"), float("-inf")
        values = self.model.scores(words, vector)
        labels = self.model.labels
        danger = float(values[labels.index(SafetyLabel.DANGER_NOW)])
        crisis = (
            float(values[labels.index(SafetyLabel.CRISIS)])
            if SafetyLabel.CRISIS in labels
            else float("-inf")
        )
        if vote is None and vector is not None:
            vote = self.votes(vector[np.newaxis])
            vote = None if vote is None else vote[0]
        if vote is None:
            return danger, crisis
        return danger + float(vote[0]), crisis + float(vote[1])

    def votes(self, vectors: npt.NDArray[np.float32] | None) -> npt.NDArray[np.float32] | None:
        """What the nearest examples add to each row's danger and crisis values, one
        matrix product for all the rows (a long message has a hundred parts); None without
        vectors."""
        if vectors is None or self._vectors is None or len(self._vectors) <= NEIGHBOURS:
            return None
        similarity = vectors @ self._vectors.T
        nearest = np.argpartition(-similarity, NEIGHBOURS, axis=1)[:, :NEIGHBOURS]
        weights = np.exp(SHARPNESS * (np.take_along_axis(similarity, nearest, 1) - 1.0))
        weights /= weights.sum(axis=1, keepdims=True) + np.exp(SHARPNESS * (UNLIKE - 1.0))
        return np.stack(
            [
                NEIGHBOUR_WEIGHT[label] * (weights * self._is[label][nearest]).sum(axis=1)
                for label in (SafetyLabel.DANGER_NOW, SafetyLabel.CRISIS)
            ],
            axis=1,
        ).astype(np.float32)


def assess(
    model: SafetyModel,
    phrases: DangerCheck,
    thresholds: Thresholds,
    cleaned: str,
    words: str,
    vector: npt.NDArray[np.float32] | None,
    vote: npt.NDArray[np.float32] | None = None,
) -> SafetyVerdict:
    """The verdict for one message: ``cleaned`` is the resident's own words, ``words`` the
    corrected ones (phrases are checked on both, so a correction cannot hide danger);
    ``vote`` as for :meth:`SafetyModel.scores`."""
    never = phrases.never_match(cleaned) or phrases.never_match(words)
    danger, crisis = model.scores(words, vector, vote)
    if never:
        # "Not in danger" speaks for danger now, not for a crisis: "I'm not in danger this
        # second but I won't be around much longer".
        if crisis >= thresholds.crisis:
            why = f"crisis score {crisis:.3f} >= {thresholds.crisis} (never phrase '{never}')"
            return SafetyVerdict(Safety.CRISIS, float("-inf"), crisis, why)
        return SafetyVerdict(Safety.NONE, float("-inf"), float("-inf"), f"never phrase '{never}'")
    signal = phrases.match(cleaned) or phrases.match(words)
    # A staff phrase sends the emergency reply unless the learned check is sure it is not
    # danger (shoplifters "hitting my shop", "compensation for being assaulted"): then the
    # phrase counts for nothing, not even the 999 line (on spent rounds it led 26 calm
    # replies with 999 and no danger-now one).
    no_model = danger == float("-inf")
    if signal and (no_model or danger >= thresholds.danger_unsure):
        return SafetyVerdict(Safety.DANGER_NOW, danger, crisis, f"danger phrase '{signal}'")
    is_crisis = crisis >= thresholds.crisis
    if is_crisis and crisis >= danger:
        why = f"crisis score {crisis:.3f} >= {thresholds.crisis}"
        return SafetyVerdict(Safety.CRISIS, danger, crisis, why)
    if danger >= thresholds.danger:
        why = f"danger score {danger:.3f} >= {thresholds.danger}"
        # "All gone now but there's blood on the pavement": the model reads the alarm, not
        # that it is over; only a sure verdict outweighs the resident's own word.
        ended = phrases.ended_match(cleaned) or phrases.ended_match(words)
        if ended and danger < thresholds.part_danger:
            why = f"{why}, but '{ended}' says it is over"
            return SafetyVerdict(Safety.UNSURE, danger, crisis, why)
        return SafetyVerdict(Safety.DANGER_NOW, danger, crisis, why)
    if is_crisis:
        why = f"crisis score {crisis:.3f} >= {thresholds.crisis}"
        return SafetyVerdict(Safety.CRISIS, danger, crisis, why)
    if danger >= thresholds.danger_unsure:
        why = f"danger score {danger:.3f} in the unsure band from {thresholds.danger_unsure}"
        urgent = phrases.urgent_match(cleaned) or phrases.urgent_match(words)
        if urgent and danger >= thresholds.danger_urgent:
            return SafetyVerdict(Safety.DANGER_NOW, danger, crisis, f"{why}, and '{urgent}'")
        # "Mugged at knifepoint 3 weeks ago", "is that assault technically lol": the
        # resident's own words put it in the past or make it a question, and the model is
        # only unsure, so the answer is not led by the 999 line.
        past = phrases.past_match(cleaned) or phrases.past_match(words)
        if past:
            return SafetyVerdict(Safety.NONE, danger, crisis, f"{why}, but '{past}'")
        return SafetyVerdict(Safety.UNSURE, danger, crisis, why)
    return SafetyVerdict(Safety.NONE, danger, crisis, "")
