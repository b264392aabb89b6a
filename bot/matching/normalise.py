"""Turn a resident's message into a canonical form that matching can compare.

First ``bot.text.clean`` (Unicode NFKC, no control or zero-width characters, case folded,
apostrophes dropped inside words, punctuation to spaces), then word-level fixes:
staff-listed misspellings and synonyms, and (optionally) a fuzzy correction of unknown
words against the vocabulary of the content.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping

from rapidfuzz import process
from rapidfuzz.distance import OSA

from bot.text import clean


class Normaliser:
    """Canonicalises text with staff-edited word maps and the content's vocabulary.

    ``replacements`` maps a word or phrase (already cleaned) to its canonical form:
    both misspellings ("numbr" -> "number") and synonyms ("cops" -> "police").
    ``vocabulary`` is every word the content knows; an unknown word of five letters or
    more is corrected to a known word one edit away (a typo, a missing, extra or swapped
    letter) that starts with the same letter; anything further is left to the character
    n-grams of the model, since a bolder correction turns real words into other ones.
    Words in ``dictionary`` (real English words) are never corrected.
    """

    def __init__(
        self,
        replacements: Mapping[str, str] | None = None,
        vocabulary: Iterable[str] = (),
        dictionary: Iterable[str] = (),
    ) -> None:
        self._replacements = {clean(k): clean(v) for k, v in (replacements or {}).items()}
        phrases = sorted((k for k in self._replacements if " " in k), key=len, reverse=True)
        self._phrase_re = (
            re.compile(r"\b(" + "|".join(re.escape(p) for p in phrases) + r")\b")
            if phrases
            else None
        )
        self._vocabulary = sorted({w for w in vocabulary if w})
        self._known = frozenset(self._vocabulary) | frozenset(dictionary)
        self._by_initial: dict[str, list[str]] = {}
        for known in self._vocabulary:
            self._by_initial.setdefault(known[0], []).append(known)
        self._cache: dict[str, str] = {}

    def __call__(self, text: str) -> str:
        return self.canonical(clean(text))

    def canonical(self, cleaned: str) -> str:
        """Replacements and corrections applied to text already passed through ``clean``."""
        if self._phrase_re is not None:
            cleaned = self._phrase_re.sub(lambda m: self._replacements[m.group(1)], cleaned)
        return " ".join(
            self._replacements.get(word) or self._correct(word) for word in cleaned.split()
        )

    def _correct(self, word: str) -> str:
        if not self._known or word in self._known or len(word) < 5 or not word.isalpha():
            return word
        cached = self._cache.get(word)
        if cached is not None:
            return cached
        best = process.extractOne(
            word,
            self._by_initial.get(word[0], ()),
            scorer=OSA.distance,
            score_cutoff=1,
        )
        fixed = best[0] if best is not None else word
        if len(self._cache) < 50_000:
            self._cache[word] = fixed
        return fixed
