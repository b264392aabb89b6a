"""One epoch of dual coordinate descent for the one-vs-rest squared-hinge SVM, compiled.

The same updates as liblinear's solver (Hsieh et al., ICML 2008), one training row at a
time in the given order, for every label at once. Each row's step depends on the one
before, so NumPy can only vectorise within a row; compiled by numba, an epoch over 8,000
examples and 139 topics takes about 0.13 s instead of about 1 s.
"""

from __future__ import annotations

import numba
import numpy as np
import numpy.typing as npt

Floats = npt.NDArray[np.float32]
Ints = npt.NDArray[np.intp]


@numba.njit(nogil=True)
def dual_epoch(
    order: Ints,
    indptr: Ints,
    indices: Ints,
    values: Floats,
    dense: Floats,
    targets: Floats,
    alpha: Floats,
    q: Floats,
    diagonal: np.float32,
    sparse_weights: Floats,
    dense_weights: Floats,
    bias: Floats,
) -> float:
    """Update ``alpha``, the weights and ``bias`` in place, visiting rows in ``order``.

    Row i has sparse features ``indices/values[indptr[i]:indptr[i + 1]]`` and the dense
    features ``dense[i]``; ``targets`` are +1/-1 per (row, label) and ``q`` each row's
    squared norm plus the constant feature and the diagonal. Returns the largest projected
    gradient seen, which is small once training has converged."""
    k = bias.shape[0]
    width = dense.shape[1]
    margin = np.empty(k, np.float32)
    delta = np.empty(k, np.float32)
    changed = np.empty(k, np.int64)
    zero, one = np.float32(0.0), np.float32(1.0)
    worst = zero
    for i in order:
        start, end = indptr[i], indptr[i + 1]
        for c in range(k):
            margin[c] = bias[c]
        for p in range(start, end):
            row, v = indices[p], values[p]
            for c in range(k):
                margin[c] += v * sparse_weights[row, c]
        for j in range(width):
            v = dense[i, j]
            for c in range(k):
                margin[c] += v * dense_weights[j, c]
        moved = 0
        for c in range(k):
            y, a = targets[i, c], alpha[i, c]
            gradient = y * margin[c] - one + diagonal * a
            projected = gradient if a > zero else min(gradient, zero)
            worst = max(worst, abs(projected))
            new = max(a - gradient / q[i], zero)
            step = (new - a) * y
            if step != zero:
                delta[moved], changed[moved] = step, c
                moved += 1
                alpha[i, c] = new
                bias[c] += step
        for p in range(start, end):
            row, v = indices[p], values[p]
            for t in range(moved):
                sparse_weights[row, changed[t]] += v * delta[t]
        for j in range(width):
            v = dense[i, j]
            for t in range(moved):
                dense_weights[j, changed[t]] += v * delta[t]
    return float(worst)
