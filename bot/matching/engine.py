"""The answering engine: a resident's message in, one outcome and its reply out.

Order of work: normalise; check danger signals (999 first, before any matching); score
every intent; then answer, suggest or fall back by the thresholds in the settings.
Free of Telegram and storage, so the console, the CLI and the bot share one path.
"""

from __future__ import annotations

import html

import numpy as np
import numpy.typing as npt
from rapidfuzz import fuzz, process

from bot.content import answers
from bot.content.intents import Intent, Outcome
from bot.content.loading import Content
from bot.matching.classifier import LinearModel
from bot.matching.normalise import Normaliser
from bot.matching.reply import Candidate, Reply, ReplyKind
from bot.text import PhraseSet, clean

GENERIC_FALLBACK = "Sorry, I don't have an answer to that."
SUGGESTION_LIMIT = 3


class Engine:
    """Built once per content version; ``respond`` is pure and safe to call concurrently."""

    def __init__(self, content: Content) -> None:
        self.content = content
        self.intents = content.intents
        cfg = content.matching
        self.thresholds = cfg.thresholds
        vocabulary = {word for text in self._all_phrases(content) for word in clean(text).split()}
        self.normalise = Normaliser(cfg.replacements, vocabulary)
        self._ids = list(self.intents)
        texts, labels = [], []
        self._examples: dict[str, list[tuple[str, str]]] = {}
        for intent in self.intents.values():
            for text in (*intent.examples, *intent.keywords):
                texts.append(self.normalise(text))
                labels.append(intent.id)
                self._examples.setdefault(intent.id, []).append((texts[-1], text))
        self.model = LinearModel(self._ids, cfg.regularisation).fit(texts, labels)
        keyword_owners = [
            (self._ids.index(intent.id), self.normalise(keyword))
            for intent in self.intents.values()
            for keyword in intent.keywords
        ]
        self._keyword_owner = [owner for owner, _ in keyword_owners]
        self._keywords = PhraseSet(phrase for _, phrase in keyword_owners)
        self._keyword_boost = cfg.keyword_boost
        self._answerable = np.array(
            [self.intents[i].outcome is Outcome.ANSWER for i in self._ids], dtype=bool
        )
        self.topics = [i for i in self.intents.values() if i.menu]
        topics_html = "\n".join(f"• {html.escape(i.title)}" for i in self.topics)
        self.rendered = {
            i.id: answers.render(i.answer, content.facts, topics_html) + _checked_note(i)
            for i in self.intents.values()
        }
        self._fallback_html = next(
            (self.rendered[i.id] for i in self.intents.values() if i.outcome is Outcome.FALLBACK),
            GENERIC_FALLBACK,
        )
        self._emergency_id = next(
            (i.id for i in self.intents.values() if i.outcome is Outcome.EMERGENCY), None
        )

    # -- public API

    def score(self, words: str) -> npt.NDArray[np.float32]:
        """Every intent's score for normalised ``words``, keyword boosts included."""
        scores = self.model.scores(words)
        for found in self._keywords.matching(words):
            scores[self._keyword_owner[found]] += self._keyword_boost
        return scores

    def respond(self, text: str) -> Reply:
        cleaned = clean(text)
        words = self.normalise.canonical(cleaned)
        if not words:
            return Reply(
                question=text,
                kind=ReplyKind.FALLBACK,
                intent=None,
                confidence=0.0,
                html=self._fallback_html,
                decided_by="no words to match",
            )
        scores = self.score(words)
        order = np.argsort(-scores)[: SUGGESTION_LIMIT + 2]
        ranked = tuple(Candidate(self._ids[i], float(scores[i])) for i in order)
        top = ranked[0]
        signal = self.danger_signal(cleaned, words)
        th = self.thresholds
        if signal or (top.intent == self._emergency_id and top.score >= th.emergency):
            return self._emergency(text, scores, ranked, signal)
        if self.intents[top.intent].outcome is Outcome.FALLBACK and top.score >= th.suggest:
            return self._fallback(text, ranked, f"'{top.intent}' is an out-of-scope intent")
        # From here on only topics with an answer compete (the emergency topic, below its
        # own threshold, steps aside rather than being offered as an ordinary answer).
        answerable = [c for c in ranked if self._is_answerable(c.intent)]
        best = answerable[0] if answerable else top
        if not answerable or best.score < th.suggest:
            return self._fallback(
                text, ranked, f"top score {best.score:.3f} < suggest {th.suggest}"
            )
        close = [
            c for c in answerable if c.score >= th.suggest and best.score - c.score <= th.margin
        ]
        if best.score >= th.answer and len(close) == 1:
            why = f"score {best.score:.3f} >= answer {th.answer}, runner-up over {th.margin} behind"
            return Reply(
                question=text,
                kind=ReplyKind.ANSWER,
                intent=best.intent,
                confidence=best.score,
                html=self.rendered[best.intent],
                ranked=ranked,
                decided_by=why,
            )
        why = (
            f"runner-up within margin {th.margin}"
            if best.score >= th.answer
            else f"score {best.score:.3f} between suggest {th.suggest} and answer {th.answer}"
        )
        return self._suggest(text, close[:SUGGESTION_LIMIT], ranked, why)

    def top_label(self, text: str) -> tuple[str, float]:
        """The best label before thresholds, for calibration: an intent id, ``emergency``
        (a danger signal or the emergency intent) or ``none`` (an out-of-scope intent)."""
        cleaned = clean(text)
        words = self.normalise.canonical(cleaned)
        if not words:
            return "none", float("-inf")
        if self.danger_signal(cleaned, words):
            return "emergency", float("inf")
        scores = self.score(words)
        best = int(np.argmax(scores))
        intent = self.intents[self._ids[best]]
        if intent.outcome is Outcome.FALLBACK:
            return "none", float("-inf")
        label = "emergency" if intent.outcome is Outcome.EMERGENCY else intent.id
        return label, float(scores[best])

    def danger_signal(self, cleaned: str, words: str) -> str | None:
        """Checked on the resident's own (cleaned) words as well as the corrected ones, so
        a correction can never hide a danger signal."""
        return self.content.danger.match(cleaned) or self.content.danger.match(words)

    @staticmethod
    def _all_phrases(content: Content) -> list[str]:
        phrases = [t for i in content.intents.values() for t in (*i.examples, *i.keywords)]
        phrases.extend(p.replace("/", " ").replace("*", " ") for p in content.danger.phrases())
        return phrases

    def explain(self, text: str) -> str:
        """Why a message gets its outcome: for admins tuning examples and thresholds."""
        reply = self.respond(text)
        words = self.normalise(text)
        th = self.thresholds
        lines = [
            f'Read as: "{words}"',
            f"Outcome: {reply.kind.value}" + (f" → {reply.intent}" if reply.intent else ""),
            f"Decided by: {reply.decided_by}",
        ]
        for candidate in reply.ranked[:3]:
            examples = self._examples.get(candidate.intent, [])
            best = process.extractOne(words, [e[0] for e in examples], scorer=fuzz.token_set_ratio)
            example = f' — nearest example: "{examples[best[2]][1]}"' if best else ""
            lines.append(f"{candidate.intent}: {candidate.score:.3f}{example}")
        lines.append(f"Thresholds: answer {th.answer}, suggest {th.suggest}, margin {th.margin}")
        return "\n".join(lines)

    def answer_for(self, intent_id: str) -> Reply | None:
        """The reply for a topic chosen from a menu or a suggestion button."""
        intent = self.intents.get(intent_id)
        if intent is None:
            return None
        kind = {
            Outcome.ANSWER: ReplyKind.ANSWER,
            Outcome.EMERGENCY: ReplyKind.EMERGENCY,
            Outcome.FALLBACK: ReplyKind.FALLBACK,
        }[intent.outcome]
        return Reply(
            question=intent.title,
            kind=kind,
            intent=intent.id,
            confidence=1.0,
            html=self.rendered[intent.id],
            decided_by="chosen by the resident",
        )

    # -- outcomes

    def _is_answerable(self, intent_id: str) -> bool:
        return self.intents[intent_id].outcome is Outcome.ANSWER

    def _fallback(self, text: str, ranked: tuple[Candidate, ...], why: str) -> Reply:
        top = ranked[0]
        return Reply(
            question=text,
            kind=ReplyKind.FALLBACK,
            intent=None,
            confidence=top.score,
            html=self._fallback_html,
            ranked=ranked,
            decided_by=why,
        )

    def _suggest(
        self,
        text: str,
        close: list[Candidate],
        ranked: tuple[Candidate, ...],
        why: str,
    ) -> Reply:
        titles = "\n".join(f"• {html.escape(self.intents[c.intent].title)}" for c in close)
        body = f"I'm not sure I understood. Did you mean:\n{titles}"
        return Reply(
            question=text,
            kind=ReplyKind.SUGGEST,
            intent=None,
            confidence=ranked[0].score,
            suggestions=tuple(c.intent for c in close),
            html=body,
            ranked=ranked,
            decided_by=why,
        )

    def _emergency(
        self,
        text: str,
        scores: npt.NDArray[np.float32],
        ranked: tuple[Candidate, ...],
        signal: str | None,
    ) -> Reply:
        masked = np.where(self._answerable, scores, -np.inf)
        best = int(np.argmax(masked)) if self._answerable.any() else -1
        follow_up = None
        if best >= 0 and masked[best] >= self.thresholds.suggest:
            follow_up = self._ids[best]
        parts = [self.rendered[self._emergency_id]] if self._emergency_id else []
        if follow_up:
            parts.append(self.rendered[follow_up])
        why = f"danger signal '{signal}'" if signal else "emergency intent matched"
        return Reply(
            question=text,
            kind=ReplyKind.EMERGENCY,
            intent=self._emergency_id,
            confidence=ranked[0].score,
            html="\n\n".join(parts),
            follow_up=follow_up,
            ranked=ranked,
            decided_by=why,
        )


def _checked_note(intent: Intent) -> str:
    if not (intent.dated and intent.checked):
        return ""
    return f"\n<i>Last checked {intent.checked.day} {intent.checked:%B %Y}.</i>"
