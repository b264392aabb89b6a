"""Remove personal data from question text before it is stored.

Covers UK phone numbers, email addresses, postcodes, National Insurance numbers, vehicle
registrations, sort codes, long digit runs (cards, accounts), the towns and postcode
districts of knowledge/_places.yaml (a place is never kept with a resident's code) and
people's names (names.py).
Public service numbers (999, 101, and any number recorded in knowledge/) are kept: they
say what was asked about.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable

from bot.storage.names import NameRedactor, packaged_names
from bot.text import digits

_EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
_NI = re.compile(
    r"\b[A-CEGHJ-PR-TW-Z][A-CEGHJ-NPR-TW-Z] ?\d{2} ?\d{2} ?\d{2} ?[A-D]?\b", re.IGNORECASE
)
_POSTCODE = re.compile(r"\b[A-Z]{1,2}\d[A-Z\d]? ?\d[A-Z]{2}\b", re.IGNORECASE)
_REGISTRATION = re.compile(
    r"\b(?:[A-Z]{2}\d{2} ?[A-Z]{3}"  # current: AB12 CDE
    r"|[A-Z]\d{1,3} ?[A-Z]{3}"  # prefix: A123 BCD
    r"|[A-Z]{3} ?\d{1,3} ?[A-Z])\b",  # suffix: ABC 123D
    re.IGNORECASE,
)
# +44 or 0, then 9-10 more digits with optional spaces, dashes, dots or brackets
_PHONE = re.compile(r"(?<![\w+])(?:\+44\s?(?:\(0\))?\s?|\(?0)\d[\d\s().-]{7,14}\d(?!\w)")
_SORT_CODE = re.compile(r"\b\d{2}[-\s]\d{2}[-\s]\d{2}\b")
_LONG_DIGITS = re.compile(r"(?<!\w)\d(?:[\s-]?\d){7,}(?!\w)")

MAX_STORED_CHARS = 500


class Redactor:
    def __init__(
        self,
        keep_numbers: Iterable[str] = (),
        places: Iterable[str] = (),
        public_texts: Iterable[str] = (),
    ) -> None:
        """``public_texts``: the content's own wording, whose names are public (NameRedactor).
        Raises NamesUnavailable when the names list is missing or altered: no question is
        stored with its names."""
        self._names = NameRedactor(packaged_names(), public_texts)
        self._keep = {digits(n) for n in keep_numbers if digits(n)}
        # "Bishop's Stortford" also as "bishops stortford", "Watton-at-Stone" with spaces.
        names = [re.findall(r"[a-z0-9]+", place.lower()) for place in places]
        joined = sorted((r"[\s'’.-]*".join(words) for words in names if words), key=len)
        self._places = (
            re.compile(r"\b(?:" + "|".join(reversed(joined)) + r")\b", re.IGNORECASE)
            if joined
            else None
        )

    def __call__(self, text: str) -> str:
        text = text[: MAX_STORED_CHARS * 2]
        text = _EMAIL.sub("[email]", text)
        text = _PHONE.sub(self._phone, text)
        text = _NI.sub(self._unless_kept("[NI number]"), text)
        text = _POSTCODE.sub("[postcode]", text)
        if self._places is not None:
            text = self._places.sub("[place]", text)
        text = self._names(text)
        text = _REGISTRATION.sub(self._registration, text)
        text = _SORT_CODE.sub("[number]", text)
        text = _LONG_DIGITS.sub(self._unless_kept("[number]"), text)
        return text[:MAX_STORED_CHARS]

    def _phone(self, match: re.Match[str]) -> str:
        number = digits(match.group(0))
        national = "0" + number[2:] if number.startswith("44") else number
        if national in self._keep or number in self._keep:
            return match.group(0)
        return "[phone]"

    def _unless_kept(self, label: str) -> Callable[[re.Match[str]], str]:
        def replace(match: re.Match[str]) -> str:
            return match.group(0) if digits(match.group(0)) in self._keep else label

        return replace

    @staticmethod
    def _registration(match: re.Match[str]) -> str:
        token = match.group(0)
        # A registration mixes letters and digits; plain words such as "ABC" never match,
        # but "20mph" style words must not either.
        has_digit = any(c.isdigit() for c in token)
        return "[vehicle]" if has_digit and not token.lower().endswith("mph") else token
