"""Intent scoring: TF-IDF features of words and character n-grams, and a linear SVM.

Word unigrams and bigrams carry meaning and word order; character n-grams inside words
(1-5 letters, padded with spaces) carry typos and word forms ("stolen"/"stole",
"numbr"/"number"). The SVM is trained by scikit-learn's liblinear, which is fast and
well tested; scoring a message is done here with a plain weight lookup, which avoids
scikit-learn's per-call overhead and keeps one message well under a millisecond.
"""

from __future__ import annotations

import itertools
import math
from collections import Counter
from collections.abc import Sequence

import numpy as np
from scipy.sparse import csr_matrix
from sklearn.svm import LinearSVC

WORD_NGRAMS = (1, 2)
CHAR_NGRAMS = (1, 5)


def _word_terms(words: list[str]) -> Counter[str]:
    terms = Counter(words)
    if WORD_NGRAMS[1] >= 2:
        terms.update(f"{a} {b}" for a, b in itertools.pairwise(words))
    return terms


def _char_terms(words: list[str]) -> Counter[str]:
    terms: Counter[str] = Counter()
    low, high = CHAR_NGRAMS
    for word in set(words):
        padded = f" {word} "
        count = words.count(word)
        for n in range(low, high + 1):
            for i in range(len(padded) - n + 1):
                terms[padded[i : i + n]] += count
    return terms


class Featurizer:
    """Sublinear TF-IDF, each block (words, characters) scaled to unit length."""

    def __init__(self) -> None:
        self.blocks: tuple[dict[str, int], dict[str, int]] = ({}, {})
        self.idf = np.zeros(0, dtype=np.float32)

    @staticmethod
    def _terms(text: str) -> tuple[Counter[str], Counter[str]]:
        words = text.split()
        return _word_terms(words), _char_terms(words)

    def fit(self, texts: Sequence[str]) -> csr_matrix:
        term_sets = [self._terms(t) for t in texts]
        df: list[Counter[str]] = [Counter(), Counter()]
        for terms in term_sets:
            for block, counter in enumerate(terms):
                df[block].update(counter.keys())
        n = len(texts)
        index: list[dict[str, int]] = [{}, {}]
        idf: list[float] = []
        for block in (0, 1):
            for term, count in df[block].items():
                index[block][term] = len(idf)
                idf.append(math.log((1 + n) / (1 + count)) + 1.0)
        self.blocks = (index[0], index[1])
        self.idf = np.asarray(idf, dtype=np.float32)
        return self._matrix(term_sets)

    def _vector(self, terms: tuple[Counter[str], Counter[str]]) -> tuple[list[int], list[float]]:
        cols: list[int] = []
        vals: list[float] = []
        for block, counter in enumerate(terms):
            lookup = self.blocks[block]
            start = len(cols)
            for term, tf in counter.items():
                col = lookup.get(term)
                if col is not None:
                    cols.append(col)
                    vals.append((1.0 + math.log(tf)) * float(self.idf[col]))
            norm = math.sqrt(sum(v * v for v in vals[start:]))
            if norm:
                vals[start:] = [v / norm for v in vals[start:]]
        return cols, vals

    def _matrix(self, term_sets) -> csr_matrix:
        indptr, indices, data = [0], [], []
        for terms in term_sets:
            cols, vals = self._vector(terms)
            indices.extend(cols)
            data.extend(vals)
            indptr.append(len(indices))
        return csr_matrix(
            (np.asarray(data, dtype=np.float32), indices, indptr),
            shape=(len(term_sets), len(self.idf)),
        )

    def vector(self, text: str) -> tuple[list[int], list[float]]:
        return self._vector(self._terms(text))


class LinearModel:
    """One weight per (feature, intent); an intent's score is the SVM decision value."""

    def __init__(self, labels: Sequence[str], regularisation: float = 1.0) -> None:
        self.labels = list(labels)
        self.regularisation = regularisation
        self.featurizer = Featurizer()
        self.weights = np.zeros((0, len(self.labels)), dtype=np.float32)
        self.bias = np.zeros(len(self.labels), dtype=np.float32)

    def fit(self, texts: Sequence[str], labels: Sequence[str]) -> LinearModel:
        matrix = self.featurizer.fit(texts)
        position = {label: i for i, label in enumerate(self.labels)}
        y = np.asarray([position[label] for label in labels])
        svm = LinearSVC(C=self.regularisation)
        svm.fit(matrix, y)
        coef = np.asarray(svm.coef_, dtype=np.float32)
        intercept = np.asarray(svm.intercept_, dtype=np.float32)
        if len(self.labels) == 2:  # binary SVMs give one row: the second class's side
            coef = np.vstack([-coef, coef])
            intercept = np.concatenate([-intercept, intercept])
        weights = np.zeros((len(self.featurizer.idf), len(self.labels)), dtype=np.float32)
        bias = np.zeros(len(self.labels), dtype=np.float32)
        weights[:, svm.classes_] = coef.T
        bias[svm.classes_] = intercept
        self.weights, self.bias = np.ascontiguousarray(weights), bias
        return self

    def scores(self, text: str) -> np.ndarray:
        cols, vals = self.featurizer.vector(text)
        if not cols:
            return self.bias.copy()
        return np.asarray(vals, dtype=np.float32) @ self.weights[cols] + self.bias
