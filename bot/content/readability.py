"""Plain English: an answer's reading age, sentence length and unexplained acronyms.

GOV.UK writes for a reading age of 9, and 1 in 7 adults in England read at or below that
level. The figures are the Flesch-Kincaid grade, counted on the words a resident reads:
HTML tags and ``{fact.field}`` references are removed first, and each line (a bullet,
say) is a sentence of its own, as it reads on a phone.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass
from typing import NamedTuple

import pyphen

from bot.content.answers import REFERENCE, TOPICS_PLACEHOLDER

# Flesch-Kincaid estimates the US school grade that can read a text. US grade 1 starts at
# age 6 to 7, so a UK reading age is about grade + 5: GOV.UK's reading age of 9 is grade 4.
GRADE_TO_AGE = 5
MAX_READING_AGE = 11
MAX_WORDS_PER_SENTENCE = 20
# Acronyms every resident knows. Anything else is written out at least once in the answer.
KNOWN_ACRONYMS = frozenset({"UK", "NHS", "OK", "PIN", "SMS"})

# One line each for many answers' warnings of a kind ({count}, {items}: see problems.py).
READING_AGE_SUMMARY = f"{{count}} answers need a reading age over {MAX_READING_AGE}: {{items}}"
LONG_SENTENCES_SUMMARY = (
    f"{{count}} answers average over {MAX_WORDS_PER_SENTENCE} words a sentence: {{items}}"
)
ACRONYMS_SUMMARY = "{count} acronyms are never explained in their answers: {items}"
SUMMARIES = frozenset({READING_AGE_SUMMARY, LONG_SENTENCES_SUMMARY, ACRONYMS_SUMMARY})

_HYPHENATOR = pyphen.Pyphen(lang="en_GB")
_WORD = re.compile(r"[A-Za-z0-9][A-Za-z0-9'’]*")
_SENTENCE_END = re.compile(r"[.!?]+(?:\s|$)|\n")
_ACRONYM = re.compile(r"[A-Z]{2,}")
# Words an expansion may skip: "Office of the Police and Crime Commissioner (OPCC)".
_LINKING_WORDS = frozenset({"of", "and", "the", "for", "to", "in", "on", "a", "an"})


@dataclass(frozen=True)
class Reading:
    """How hard an answer is to read."""

    grade: float  # Flesch-Kincaid grade
    words_per_sentence: float
    unexplained: tuple[str, ...]  # acronyms the answer never writes out

    @property
    def reading_age(self) -> int:
        return round(self.grade + GRADE_TO_AGE)

    def __str__(self) -> str:
        return (
            f"reading age {self.reading_age} (grade {self.grade}), "
            f"{self.words_per_sentence:.0f} words a sentence"
        )


def plain_text(template: str) -> str:
    """The words of an answer as a resident reads them, without markup or fact values."""
    text = REFERENCE.sub(" ", template).replace(TOPICS_PLACEHOLDER, " ")
    return html.unescape(re.sub(r"<[^<>]*>", " ", text))


def measure(template: str) -> Reading:
    text = plain_text(template)
    sentences = [s for s in _SENTENCE_END.split(text) if _WORD.search(s)]
    words = [w for s in sentences for w in _WORD.findall(s)]
    if not words:
        return Reading(0.0, 0.0, ())
    per_sentence = len(words) / len(sentences)
    syllables = sum(_syllables(word) for word in words) / len(words)
    grade = 0.39 * per_sentence + 11.8 * syllables - 15.59
    return Reading(round(grade, 1), per_sentence, _unexplained(text))


def _syllables(word: str) -> int:
    """Hyphenation points plus one, as textstat counts them ("neigh-bour-hood": 3)."""
    return len(_HYPHENATOR.positions(word.lower())) + 1


def _unexplained(text: str) -> tuple[str, ...]:
    """Acronyms (two or more capitals, "SNTs" as "SNT") whose expansion is not in the text;
    tokens with '.', '/' or '@' are addresses, not acronyms."""
    tokens = [t.strip(".,;:!?()[]\"'‘’“”") for t in text.split()]
    words = re.findall(r"[A-Za-z]+", " ".join(t for t in tokens if not _is_acronym(t)))
    found = dict.fromkeys(
        t.removesuffix("s")
        for t in tokens
        if _is_acronym(t) and t.removesuffix("s") not in KNOWN_ACRONYMS
    )
    return tuple(a for a in found if not _spelled_out(a, words))


def _is_acronym(token: str) -> bool:
    return bool(_ACRONYM.fullmatch(token.removesuffix("s")))


def _spelled_out(acronym: str, words: list[str]) -> bool:
    """Whether consecutive words start with the acronym's letters, linking words allowed
    between them: "Safer Neighbourhood Team" spells SNT."""
    for start, first in enumerate(words):
        if first[0].upper() != acronym[0]:
            continue
        position = start + 1
        for letter in acronym[1:]:
            while position < len(words) and words[position][0].upper() != letter:
                if words[position].lower() not in _LINKING_WORDS:
                    break
                position += 1
            if position == len(words) or words[position][0].upper() != letter:
                break
            position += 1
        else:
            return True
    return False


class Advice(NamedTuple):
    """One plain-English warning about an answer."""

    message: str
    summary: str  # one of SUMMARIES
    item: str  # added to the answer's id in that line: " (13)" for its reading age


def check(template: str) -> list[Advice]:
    reading = measure(template)
    out = []
    if reading.reading_age > MAX_READING_AGE:
        out.append(
            Advice(
                f"the answer needs a reading age of about {reading.reading_age} (aim for "
                f"{MAX_READING_AGE} or under); use shorter words and sentences",
                READING_AGE_SUMMARY,
                f" ({reading.reading_age})",
            )
        )
    if reading.words_per_sentence > MAX_WORDS_PER_SENTENCE:
        out.append(
            Advice(
                f"the answer's sentences average {reading.words_per_sentence:.0f} words "
                f"(aim for {MAX_WORDS_PER_SENTENCE} or fewer); split the long ones",
                LONG_SENTENCES_SUMMARY,
                f" ({reading.words_per_sentence:.0f})",
            )
        )
    out.extend(
        Advice(
            f"'{acronym}' is never explained in the answer; write it out once, "
            "e.g. 'Safer Neighbourhood Team (SNT)'",
            ACRONYMS_SUMMARY,
            f" ({acronym})",
        )
        for acronym in reading.unexplained
    )
    return out
