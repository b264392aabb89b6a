"""Turn a resident's message into a canonical form that matching can compare.

Steps: Unicode NFKC, drop control and zero-width characters, fold case, unify
apostrophes and drop them inside words ("don't" -> "dont"), punctuation to spaces,
then word-level fixes: staff-listed misspellings and synonyms, and (optionally) a
fuzzy correction of unknown words against the vocabulary of the content.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Mapping

from rapidfuzz import process
from rapidfuzz.distance import OSA

MAX_INPUT_CHARS = 1000
"""Matching looks at the first 1,000 characters; nobody asks a question longer than that."""

_APOSTROPHES = str.maketrans({"\u2019": "'", "\u2018": "'", "\u02bc": "'", "`": "'", "\u00b4": "'"})
_WORD_APOSTROPHE = re.compile(r"(?<=\w)'(?=\w)")
_NON_WORD = re.compile(r"[\W_]+")


def _is_invisible(ch: str) -> bool:
    # Cc: control, Cf: format (zero-width space/joiner, bidi marks), Co/Cn: private/unassigned
    return unicodedata.category(ch) in {"Cc", "Cf", "Co", "Cn", "Cs"}


def clean(text: str) -> str:
    """Unicode and punctuation clean-up; the result is lower case words separated by one space."""
    text = unicodedata.normalize("NFKC", text[:MAX_INPUT_CHARS])
    if not text.isprintable():  # rare: only then look at each character
        text = "".join(" " if _is_invisible(ch) else ch for ch in text)
    text = text.casefold().translate(_APOSTROPHES)
    text = _WORD_APOSTROPHE.sub("", text)
    return " ".join(_NON_WORD.sub(" ", text).split())


class Normaliser:
    """Canonicalises text with staff-edited word maps and the content's vocabulary.

    ``replacements`` maps a word or phrase (already cleaned) to its canonical form:
    both misspellings ("numbr" -> "number") and synonyms ("cops" -> "police").
    ``vocabulary`` is every word the content knows; an unknown word of five letters or
    more is corrected to a known word one edit away (a typo, a missing, extra or swapped
    letter) that starts with the same letter; anything further is left to the character
    n-grams of the model, since a bolder correction turns real words into other ones.
    """

    def __init__(
        self, replacements: Mapping[str, str] | None = None, vocabulary: Iterable[str] = ()
    ) -> None:
        self._replacements = {clean(k): clean(v) for k, v in (replacements or {}).items()}
        phrases = sorted((k for k in self._replacements if " " in k), key=len, reverse=True)
        self._phrase_re = (
            re.compile(r"\b(" + "|".join(re.escape(p) for p in phrases) + r")\b")
            if phrases
            else None
        )
        self._vocabulary = sorted({w for w in vocabulary if w})
        self._known = frozenset(self._vocabulary)
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


def compile_phrase(phrase: str) -> re.Pattern[str]:
    """A staff phrase as a pattern over cleaned words: ``a/b`` either word, ``*`` 0-3 words."""
    parts = []
    for token in phrase.split():
        if token == "*":
            parts.append(r"(?:\S+ ){0,3}")
            continue
        options = [clean(option) for option in token.split("/") if clean(option)]
        if options:
            parts.append("(?:" + "|".join(re.escape(o) for o in options) + ") ")
    return re.compile(r"(?:^| )" + "".join(parts).removesuffix(" ") + r"(?= |$)")


class PhraseSet:
    """Staff phrases matched against cleaned words. Only phrases whose first word is in the
    message are tried, so hundreds of phrases cost a handful of searches per message."""

    def __init__(self, phrases: Iterable[str]) -> None:
        self.phrases = list(phrases)
        self._patterns = [compile_phrase(p) for p in self.phrases]
        self._by_word: dict[str, list[int]] = {}
        self._anywhere: list[int] = []  # phrases that start with "*"
        for index, phrase in enumerate(self.phrases):
            tokens = phrase.split()
            if not tokens or tokens[0] == "*":
                self._anywhere.append(index)
                continue
            for option in tokens[0].split("/"):
                words = clean(option).split()
                if words:
                    self._by_word.setdefault(words[0], []).append(index)

    def matching(self, text: str) -> list[int]:
        """Indices (in the order given) of the phrases found in ``text``."""
        candidates = set(self._anywhere)
        for word in set(text.split()):
            candidates.update(self._by_word.get(word, ()))
        return [i for i in sorted(candidates) if self._patterns[i].search(text)]

    def first(self, text: str) -> str | None:
        found = self.matching(text)
        return self.phrases[found[0]] if found else None
