"""What the engine answers: a Reply, its kind, and the ranked candidates behind it.

Kept apart from the engine so adapters (Telegram, the question log, the console) can name
these types without the engine's dependencies.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any


class ReplyKind(StrEnum):
    ANSWER = "answer"  # one topic's answer
    SUGGEST = "suggest"  # unsure: the likeliest answer, the other close topics as buttons
    FALLBACK = "fallback"  # the "no answer" reply: 101 and 999
    EMERGENCY = "emergency"  # danger now: 999 first, then the topic that also matched
    CRISIS = "crisis"  # someone who may harm themselves: 999 if at risk, crisis lines
    CARD = "card"  # written in another language: that language's card of safety numbers
    PROMPT = "prompt"  # empty input: asked to type a question, never logged


@dataclass(frozen=True)
class Candidate:
    intent: str
    score: float


@dataclass(frozen=True, kw_only=True)
class Reply:
    """One outcome. ``question`` is the resident's text as received; ``html`` is the reply
    in Telegram HTML; ``suggestions`` are intent ids."""

    question: str
    kind: ReplyKind
    intent: str | None
    confidence: float
    html: str = ""
    suggestions: tuple[str, ...] = ()
    follow_up: str | None = None  # after an emergency, the topic that also matched
    ranked: tuple[Candidate, ...] = field(default=(), repr=False)
    decided_by: str = ""  # which threshold or rule decided the outcome
    # The safety check was unsure: the reply starts with the 999 line (its own, or one put
    # above it) and offers an "I'm in danger now" button.
    danger_prompt: bool = False
    language: str | None = None  # ISO 639-1 code of the message, when it could be told
    # Buttons that answer a question the reply asks ("Which town or postcode?"), as
    # (label, callback data); every channel shows them as it shows its buttons.
    choices: tuple[tuple[str, str], ...] = ()
    # The council or force serving the resident's place ("ask": one spanning councils), for
    # the admins' count by district; the question log never stores it with the user.
    place: str | None = None

    @property
    def leads_with_999(self) -> bool:
        """The resident reads 999 first: the emergency reply, the unsure 999 line, or an
        answer whose own first line says it (domestic abuse, a missing child)."""
        first_line = self.html.split("\n", 1)[0]
        return self.kind is ReplyKind.EMERGENCY or self.danger_prompt or "999" in first_line

    def as_json(self) -> dict[str, Any]:
        """The public shape of ``ask --json``: its keys are an interface, keep them."""
        return {
            "text": self.question,
            "kind": self.kind.value,
            "intent": self.intent,
            "confidence": round(self.confidence, 4),
            "suggestions": list(self.suggestions),
            "reply": self.html,
            "language": self.language,
        }
