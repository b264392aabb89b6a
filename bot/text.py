"""Text helpers shared by content checking, matching and storage: no project imports.

``clean`` is the one canonical form of a resident's words (and of staff phrases);
``PhraseSet`` matches staff phrases against it; ``digits`` compares phone numbers;
``plural`` agrees a noun with its count in what staff read.
"""

from __future__ import annotations

import itertools
import re
import unicodedata
from collections.abc import Iterable

MAX_INPUT_CHARS = 1000
"""Topic matching looks at the first 1,000 characters; nobody asks a question longer than that."""
MAX_MESSAGE_CHARS = 4096
"""Telegram's longest message: the safety check reads all of it."""

_APOSTROPHES = str.maketrans({"\u2019": "'", "\u2018": "'", "\u02bc": "'", "`": "'", "\u00b4": "'"})
_WORD_APOSTROPHE = re.compile(r"(?<=\w)'(?=\w)")
# Combining marks belong to their word: Bengali, Gujarati and other scripts write vowels
# as marks, and a word split at each one could never match a phrase.
_MARKS = "".join(
    re.escape(chr(c)) for c in range(0x300, 0x10000) if unicodedata.category(chr(c))[0] == "M"
)
_NON_WORD = re.compile(rf"(?:[^\w{_MARKS}]|_)+")
_NON_DIGIT = re.compile(r"\D")
# A sentence: up to and including its closing marks, or up to a line break.
_SENTENCE = re.compile(r"[^\s].*?(?:[.!?…]+(?=\s)|(?=\n)|$)", re.DOTALL)


def _without_invisible(ch: str) -> str:
    """Format characters (category Cf: zero-width space and joiner, soft hyphen, BOM, bidi
    marks) sit inside words, so they are removed: "bea\u200dcon" is "beacon". Controls,
    private-use and unassigned code points separate words."""
    category = unicodedata.category(ch)
    if category == "Cf":
        return ""
    return " " if category in {"Cc", "Co", "Cn", "Cs"} else ch


def clean(text: str, limit: int = MAX_INPUT_CHARS) -> str:
    """Unicode and punctuation clean-up of the first ``limit`` characters; the result is
    lower case words separated by one space."""
    text = unicodedata.normalize("NFKC", text[:limit])
    if not text.isprintable():  # rare: only then look at each character
        text = "".join(map(_without_invisible, text))
    text = text.casefold().translate(_APOSTROPHES)
    text = _WORD_APOSTROPHE.sub("", text)
    return " ".join(_NON_WORD.sub(" ", text).split())


def windows(text: str, size: int) -> list[tuple[int, str]]:
    """Parts of ``text`` (up to ``MAX_MESSAGE_CHARS``) to read one by one, each with the
    offset it starts at: every sentence alone, and every two neighbouring sentences
    together when they fit in ``size`` characters ("He's at my door. He has a knife."),
    so a sentence never hides in a long text. A sentence longer than ``size`` is read in
    parts of ``size`` characters that overlap by half."""
    text = text[:MAX_MESSAGE_CHARS]
    sentences = [
        (match.start() + offset, sentence[offset : offset + size])
        for match in _SENTENCE.finditer(text)
        for sentence in [match.group().rstrip()]
        for offset in range(0, max(len(sentence) - size // 2, 1), size // 2)
    ]
    parts = list(sentences)
    for (start, _), (next_start, following) in itertools.pairwise(sentences):
        end = next_start + len(following)
        if end - start <= size:
            parts.append((start, text[start:end]))
    return sorted(parts)


def digits(text: str) -> str:
    """Only the digits of ``text``: phone numbers compare whatever their spacing."""
    return _NON_DIGIT.sub("", text)


def compile_phrase(phrase: str) -> re.Pattern[str]:
    """A staff phrase as a pattern over cleaned words: ``a/b`` either word, ``*`` 0-3 words."""
    parts = []
    for word in phrase.split():
        if word == "*":
            parts.append(r"(?:\S+ ){0,3}")
            continue
        options = [clean(option) for option in word.split("/") if clean(option)]
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

    def first_unless_after(self, text: str, words: frozenset[str]) -> str | None:
        """The first phrase found in ``text`` at a place not right after one of ``words``
        ("he hasn't threatened to hurt me" is no threat)."""
        for i in self.matching(text):
            for found in self._patterns[i].finditer(text):
                before = text[: found.start()].split()
                if not before or before[-1] not in words:
                    return self.phrases[i]
        return None


def plural(count: int, noun: str, nouns: str = "") -> str:
    """``count`` and the noun that agrees with it: '1 question', '2 questions' (``nouns``
    for an irregular plural: 'entries')."""
    return f"{count} {noun if count == 1 else nouns or noun + 's'}"
