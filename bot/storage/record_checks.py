"""Records made safe for every store before they are queued.

One bad value must never stop the question log: a forged button carrying a 20-digit
number, a NUL byte (PostgreSQL refuses it in text) or a lone UTF-16 surrogate (no UTF-8
form, so neither database nor the fallback file can hold it). Text is repaired: NUL bytes
dropped, surrogates replaced by U+FFFD. A number outside a 64-bit column's range cannot be
repaired, so the record is refused and the caller sets it aside with the reason.
"""

from __future__ import annotations

import dataclasses
import re
from typing import Any, TypeVar

INT64 = range(-(2**63), 2**63)
_SURROGATE = re.compile("[\ud800-\udfff]")

T = TypeVar("T")


class RefusedRecord(ValueError):
    """A record no store can hold; the message names the field, never its value."""


def clean_text(text: str) -> str:
    """``text`` without NUL bytes, with any lone surrogate replaced by U+FFFD."""
    return _SURROGATE.sub("\ufffd", text.replace("\x00", ""))


def checked(record: T) -> T:
    """The record with its text repaired (nested dataclasses too); ``RefusedRecord`` when
    a field cannot be stored as it is."""
    if not dataclasses.is_dataclass(record) or isinstance(record, type):
        return record
    changes: dict[str, Any] = {}
    for field in dataclasses.fields(record):
        value = getattr(record, field.name)
        if isinstance(value, bool) or value is None:
            continue
        if isinstance(value, int):
            if value not in INT64:
                raise RefusedRecord(f"{field.name} is outside the 64-bit range")
        elif isinstance(value, str):
            if (fixed := clean_text(value)) != value:
                changes[field.name] = fixed
        elif dataclasses.is_dataclass(value) and (inner := checked(value)) is not value:
            changes[field.name] = inner
    return dataclasses.replace(record, **changes) if changes else record
