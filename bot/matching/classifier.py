"""Intent scoring: TF-IDF features of words and character n-grams (plus, when given, a
sentence encoder's vector), and a linear SVM.

Word unigrams and bigrams carry meaning and word order; character n-grams inside words
(1-5 letters, padded with spaces) carry typos and word forms ("stolen"/"stole",
"numbr"/"number"). The SVM is one-vs-rest with the squared hinge loss, trained by dual
coordinate descent (Hsieh et al., ICML 2008: the algorithm of liblinear and scikit-learn's
LinearSVC), for all intents at once, compiled by numba (bot/matching/dual_cd.py). Doing
it here rather than importing scikit-learn keeps the algorithm fixed; on CLINC150 it matches
LinearSVC's accuracy (93.3% in-scope before the threshold, both). A sentence vector, when
given, is a third block of features beside the two TF-IDF blocks, all of unit length, so
each block has an equal say: the words catch typos and names, the vector catches meaning
worded unlike any example.
"""

from __future__ import annotations

import hashlib
import itertools
import logging
import math
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt

from bot.matching.npzfile import UNREADABLE, save_npz

log = logging.getLogger(__name__)
KEEP_MODELS = 12  # trained models kept in the cache folder (one per content version and kind)
Row = tuple[npt.NDArray[np.intp], npt.NDArray[np.float32]]  # feature indices, their values
CHAR_NGRAMS = (1, 5)


@dataclass(frozen=True)
class SparseRows:
    """Fitted texts' features in compressed-row form, as training reads them: text i's
    columns and values are ``indices`` and ``values`` from ``indptr[i]`` to
    ``indptr[i + 1]``."""

    indptr: npt.NDArray[np.intp]
    indices: npt.NDArray[np.intp]
    values: npt.NDArray[np.float32]

    def __len__(self) -> int:
        return len(self.indptr) - 1

    def __iter__(self) -> Iterator[Row]:
        for start, end in itertools.pairwise(self.indptr.tolist()):
            yield self.indices[start:end], self.values[start:end]


def _word_terms(words: list[str]) -> Counter[str]:
    """Words and word pairs."""
    terms = Counter(words)
    terms.update(f"{a} {b}" for a, b in itertools.pairwise(words))
    return terms


def _word_grams(word: str) -> tuple[str, ...]:
    """Character n-grams of one word, padded with spaces, repeats included."""
    padded = f" {word} "
    low, high = CHAR_NGRAMS
    return tuple(
        padded[i : i + n] for n in range(low, high + 1) for i in range(len(padded) - n + 1)
    )


def _char_terms(words: list[str], grams: dict[str, tuple[str, ...]]) -> Counter[str]:
    """Character n-grams of the words; ``grams`` caches each word's (they repeat)."""
    for word in words:
        if word not in grams:
            grams[word] = _word_grams(word)
    return Counter(itertools.chain.from_iterable(grams[word] for word in words))


class Featurizer:
    """Sublinear TF-IDF, each block (words, characters) scaled to unit length."""

    WORD_CACHE_SIZE = 100_000

    def __init__(self) -> None:
        self.blocks: tuple[dict[str, int], dict[str, int]] = ({}, {})
        self.idf: list[float] = []  # by feature column
        self._char_cache: dict[str, list[tuple[int, int]]] = {}

    def fit(self, texts: Sequence[str]) -> SparseRows:
        grams: dict[str, tuple[str, ...]] = {}
        term_sets = []
        for text in texts:
            words = text.split()
            term_sets.append((_word_terms(words), _char_terms(words, grams)))
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
        self.idf = idf
        self._char_cache.clear()
        return self._rows(term_sets)

    def load(self, words: list[str], chars: list[str], idf: list[float]) -> None:
        """A vocabulary saved from ``fit``: terms in column order, words first."""
        self.blocks = (
            {term: col for col, term in enumerate(words)},
            {term: col for col, term in enumerate(chars, start=len(words))},
        )
        self.idf = idf
        self._char_cache.clear()

    def _rows(self, term_sets: list[tuple[Counter[str], Counter[str]]]) -> SparseRows:
        """Each fitted text's features, as ``vector`` computes them, for all texts at once:
        sublinear term frequency times IDF, each block scaled to unit length."""
        cols: list[int] = []
        counts: list[int] = []
        sizes: list[int] = []  # terms per (text, block), words then characters
        for terms in term_sets:
            for block, counter in enumerate(terms):
                cols += map(self.blocks[block].__getitem__, counter)
                counts += counter.values()
                sizes.append(len(counter))
        col = np.asarray(cols, dtype=np.intp)
        vals = (1.0 + np.log(np.asarray(counts, dtype=np.float64))) * np.asarray(self.idf)[col]
        group = np.repeat(np.arange(len(sizes)), sizes)
        norm = np.sqrt(np.bincount(group, weights=vals * vals, minlength=len(sizes)))
        vals /= np.where(norm > 0, norm, 1.0)[group]
        indptr = np.zeros(len(term_sets) + 1, dtype=np.intp)
        indptr[1:] = np.cumsum(sizes, dtype=np.intp)[1::2]  # where each text's terms end
        return SparseRows(indptr, col, vals.astype(np.float32))

    def vector(self, text: str) -> tuple[list[int], list[float]]:
        """Features of one message: the same values as in training, computed with a
        per-word cache of character n-grams, since residents' words repeat."""
        words = text.split()
        word_index = self.blocks[0]
        word_tf: dict[int, int] = {}
        for term in itertools.chain(words, (f"{a} {b}" for a, b in itertools.pairwise(words))):
            col = word_index.get(term)
            if col is not None:
                word_tf[col] = word_tf.get(col, 0) + 1
        char_tf: dict[int, int] = {}
        for word in words:
            for col, count in self._char_columns(word):
                char_tf[col] = char_tf.get(col, 0) + count
        cols: list[int] = []
        vals: list[float] = []
        idf = self.idf
        for tf in (word_tf, char_tf):
            weights = [(1.0 + math.log(t)) * idf[c] for c, t in tf.items()]
            norm = math.sqrt(sum(w * w for w in weights)) or 1.0
            cols.extend(tf)
            vals.extend(w / norm for w in weights)
        return cols, vals

    def _char_columns(self, word: str) -> list[tuple[int, int]]:
        cached = self._char_cache.get(word)
        if cached is None:
            char_index = self.blocks[1]
            grams = Counter(_word_grams(word))
            cached = [(char_index[g], n) for g, n in grams.items() if g in char_index]
            if len(self._char_cache) >= self.WORD_CACHE_SIZE:
                self._char_cache.clear()
            self._char_cache[word] = cached
        return cached


class LinearModel:
    """One weight per (feature, intent); an intent's score is the SVM decision value."""

    MAX_EPOCHS = 15
    TOLERANCE = 0.1  # stop when no dual variable's projected gradient exceeds this

    def __init__(self, labels: Sequence[str], regularisation: float = 1.0) -> None:
        self.labels = list(labels)
        self.regularisation = regularisation
        self.featurizer = Featurizer()
        self.weights = np.zeros((0, len(self.labels)), dtype=np.float32)
        self.bias = np.zeros(len(self.labels), dtype=np.float32)
        self._sparse = 0  # rows of ``weights`` for TF-IDF features; the rest: the vector

    def fit(
        self,
        texts: Sequence[str],
        labels: Sequence[str],
        vectors: npt.NDArray[np.float32] | None = None,
        cache_dir: Path | None = None,
    ) -> LinearModel:
        """Train on normalised ``texts``; ``vectors`` (one unit row per text) are optional,
        and a model trained with them is then scored with them. With ``cache_dir``, a model
        trained on exactly the same data before is loaded instead (training is
        deterministic, so the result is the same)."""
        cached = None
        if cache_dir is not None:
            cached = cache_dir / f"model-{self._fingerprint(texts, labels, vectors)}.npz"
            if self._load(cached):
                return self
        self._train(texts, labels, vectors)
        if cached is not None:
            self._save(cached)
        return self

    def _fingerprint(
        self,
        texts: Sequence[str],
        labels: Sequence[str],
        vectors: npt.NDArray[np.float32] | None,
    ) -> str:
        digest = hashlib.blake2b(digest_size=16)
        digest.update(repr((self.labels, self.regularisation, CHAR_NGRAMS)).encode())
        for text, label in zip(texts, labels, strict=True):
            digest.update(f"{label}\t{text}\n".encode())
        if vectors is not None:
            digest.update(np.ascontiguousarray(vectors, dtype=np.float32).tobytes())
        return digest.hexdigest()

    def _save(self, path: Path) -> None:
        words, chars = self.featurizer.blocks
        try:
            save_npz(
                path,
                weights=self.weights,
                bias=self.bias,
                sparse=np.array(self._sparse),
                words=np.array(list(words), dtype=str),
                chars=np.array(list(chars), dtype=str),
                idf=np.array(self.featurizer.idf, dtype=np.float64),
            )
            for old in sorted(path.parent.glob("model-*.npz"), key=_mtime)[:-KEEP_MODELS]:
                old.unlink(missing_ok=True)
        except OSError as exc:  # a read-only or full disk only costs time at the next start
            log.warning("trained model not kept (%s)", exc)

    def _load(self, path: Path) -> bool:
        try:
            with np.load(path) as data:
                weights, bias = data["weights"], data["bias"]
                sparse, idf = int(data["sparse"]), [float(v) for v in data["idf"]]
                words, chars = [str(w) for w in data["words"]], [str(c) for c in data["chars"]]
        except UNREADABLE:
            return False  # missing, unreadable or damaged: train again
        if weights.shape[1] != len(self.labels) or len(words) + len(chars) != sparse:
            return False
        self.featurizer.load(words, chars, idf)
        self.weights, self.bias, self._sparse = weights, bias, sparse
        return True

    def _train(
        self,
        texts: Sequence[str],
        labels: Sequence[str],
        vectors: npt.NDArray[np.float32] | None,
    ) -> None:
        from bot.matching.dual_cd import dual_epoch  # numba loads only when a model trains

        rows = self.featurizer.fit(texts)
        self._sparse = len(self.featurizer.idf)
        n, k = len(rows), len(self.labels)
        # The vector block is kept apart from the sparse rows: its weights are one dense
        # slice, updated without index arrays.
        dense = (
            np.zeros((n, 0), dtype=np.float32)
            if vectors is None
            else np.ascontiguousarray(vectors, dtype=np.float32)
        )
        position = {label: i for i, label in enumerate(self.labels)}
        targets = -np.ones((n, k), dtype=np.float32)
        targets[np.arange(n), [position[label] for label in labels]] = 1.0
        weights = np.zeros((self._sparse + dense.shape[1], k), dtype=np.float32)
        bias = np.zeros(k, dtype=np.float32)  # the weight of a constant feature of 1
        alpha = np.zeros((n, k), dtype=np.float32)
        diagonal = np.float32(1.0 / (2.0 * self.regularisation))  # squared hinge: 1 / 2C
        row_of = np.repeat(np.arange(n), np.diff(rows.indptr))
        norms = np.bincount(row_of, weights=rows.values.astype(np.float64) ** 2, minlength=n)
        norms += (dense.astype(np.float64) ** 2).sum(axis=1)
        q = (norms + 1.0 + diagonal).astype(np.float32)
        rng = np.random.default_rng(0)  # a fixed order: the same content, the same model
        for _ in range(self.MAX_EPOCHS):
            worst = dual_epoch(
                rng.permutation(n),
                rows.indptr,
                rows.indices,
                rows.values,
                dense,
                targets,
                alpha,
                q,
                diagonal,
                weights[: self._sparse],
                weights[self._sparse :],
                bias,
            )
            if worst < self.TOLERANCE:
                break
        self.weights, self.bias = weights, bias

    @property
    def uses_vectors(self) -> bool:
        return len(self.weights) > self._sparse

    def scores(
        self, text: str, vector: npt.NDArray[np.float32] | None = None
    ) -> npt.NDArray[np.float32]:
        """Decision values per label for normalised ``text`` (and its vector)."""
        cols, vals = self.featurizer.vector(text)
        out = self.bias.copy()
        if cols:
            out += np.asarray(vals, dtype=np.float32) @ self.weights[cols]
        if vector is not None and self.uses_vectors:
            out += vector @ self.weights[self._sparse :]
        return out


def _mtime(path: Path) -> float:
    try:
        return path.stat().st_mtime
    except OSError:
        return 0.0
