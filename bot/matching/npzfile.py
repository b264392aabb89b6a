"""Writing the disk caches (example vectors, trained models) so that a reader never sees
half a file, and a failure leaves nothing behind."""

from __future__ import annotations

import contextlib
import os
from pathlib import Path
from typing import Any

import numpy as np


def save_npz(path: Path, **arrays: Any) -> None:  # noqa: ANN401 -- NumPy arrays of any kind
    """Write ``arrays`` to a temporary file beside ``path``, then rename it over ``path``.
    Raises OSError (a read-only, full or missing disk) after removing what it could."""
    partial = path.with_name(f"{path.stem}.{os.getpid()}.tmp.npz")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        np.savez(partial, **arrays)
        partial.replace(path)
    except OSError:
        with contextlib.suppress(OSError):  # on a read-only disk even this fails
            partial.unlink(missing_ok=True)
        raise
