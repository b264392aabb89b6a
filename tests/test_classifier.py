"""The classifier on its own: features, and that the SVM learns what it is shown."""

from __future__ import annotations

import numpy as np
import pytest

from bot.matching.classifier import Featurizer, LinearModel

TEXTS = [
    "report fly tipping in my lane",
    "rubbish dumped on the verge",
    "beacon phone number",
    "who supports victims of crime",
    "beacon beacon number number number",  # repeated words: sublinear term frequency
    "numbr of beacon",  # a typo shares character n-grams with "number"
]


def test_training_and_query_features_agree():
    featurizer = Featurizer()
    rows = featurizer.fit(TEXTS)
    for text, (cols, vals) in zip(TEXTS, rows, strict=True):
        query_cols, query_vals = featurizer.vector(text)
        trained = dict(zip(cols.tolist(), vals.tolist(), strict=True))
        queried = dict(zip(query_cols, query_vals, strict=True))
        assert trained.keys() == queried.keys(), text
        for col, value in trained.items():
            assert queried[col] == pytest.approx(value, rel=1e-5), (text, col)
        assert featurizer.vector(text) == (query_cols, query_vals)  # again, from the cache


def test_each_block_of_features_has_unit_length():
    featurizer = Featurizer()
    featurizer.fit(TEXTS)
    cols, vals = featurizer.vector("beacon number")
    words = set(featurizer.blocks[0].values())
    word_part = [v for c, v in zip(cols, vals, strict=True) if c in words]
    char_part = [v for c, v in zip(cols, vals, strict=True) if c not in words]
    assert np.linalg.norm(word_part) == pytest.approx(1.0)
    assert np.linalg.norm(char_part) == pytest.approx(1.0)


def test_unknown_words_give_no_features_and_the_scores_are_the_bias():
    model = LinearModel(["a", "b"]).fit(["apple pie", "banana bread"], ["a", "b"])
    assert model.featurizer.vector("") == ([], [])
    assert np.array_equal(model.scores(""), model.bias)


def test_a_tiny_separable_set_is_learned():
    examples = {
        "bins": ["when are the bins collected", "bin collection day", "missed bin"],
        "parking": ["parking ticket appeal", "where can i park", "parking permit"],
        "noise": ["noisy neighbours at night", "loud music complaint", "noise nuisance"],
    }
    texts = [t for ts in examples.values() for t in ts]
    labels = [label for label, ts in examples.items() for _ in ts]
    model = LinearModel(list(examples)).fit(texts, labels)
    for text, label in zip(texts, labels, strict=True):
        scores = model.scores(text)
        assert model.labels[int(np.argmax(scores))] == label, text
        assert scores.max() > 0 > np.sort(scores)[-2], text  # the SVM's margin: +1 vs -1
    assert model.labels[int(np.argmax(model.scores("bin collected late")))] == "bins"
    assert model.labels[int(np.argmax(model.scores("a parking fine")))] == "parking"


def test_training_is_deterministic():
    first = LinearModel(["x", "y"]).fit(TEXTS, ["x", "x", "y", "y", "y", "y"])
    second = LinearModel(["x", "y"]).fit(TEXTS, ["x", "x", "y", "y", "y", "y"])
    assert np.array_equal(first.weights, second.weights)
