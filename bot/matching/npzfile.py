"""Writing the disk caches (example vectors, trained models) so that a reader never sees
half a file, and a failure leaves nothing behind; what reading a damaged one raises."""

from __future__ import annotations

import contextlib
import os
import zipfile
from pathlib import Path
from typing import Any

import numpy as np

# What reading a damaged cache file raises, beside a missing or unreadable file (OSError)
# and arrays that are not what was saved (ValueError, KeyError): a zero-length file, which
# a power cut can leave after the rename when the data had not reached the disk, raises
# EOFError; a truncated one BadZipFile. Either way the cache is rebuilt, not the start
# or the reload stopped.
UNREADABLE = (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile)


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
