"""Danger signals, checked before any matching so someone at risk hears "call 999" first.

Staff keep the phrases in ``intents/_danger.yaml``. A phrase is a few words; ``a/b``
accepts either word and a lone ``*`` stands for up to three words, so ``is hitting/kicking * me/my``
covers "he is hitting me" and "she is kicking my mum". ``not_if`` phrases mark a past
event or a general question ("last week", "how do I report"), which silences signals;
``urgent`` phrases ("right now") confirm danger the learned check suspects; ``never``
phrases ("not an emergency") silence everything; ``present`` words ("now", "still") mark a
sentence of a long message as happening as the resident writes, unless an ``over`` phrase
says the "now" is the aftermath ("she's home now", "he's fine now"); ``ended`` phrases say
the danger itself is over ("they've gone now", "all quiet now"): they silence signals, and
the learned check's "danger now" then needs to be sure.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from bot.content.problems import Problem
from bot.content.yamlnodes import YamlFile
from bot.text import PhraseSet

DANGER_FILE = "_danger.yaml"
# A signal right after one of these is denied, not told: "he hasn't threatened to hurt
# me", "I'm not being followed". Not "won't" or "can't": "he won't stop hitting me".
NEGATIONS = frozenset(
    {"not", "never", "hasnt", "hadnt", "havent", "didnt", "isnt", "wasnt", "arent", "werent"}
)


@dataclass(frozen=True)
class DangerCheck:
    signals: PhraseSet = field(default_factory=lambda: PhraseSet(()))
    urgent: PhraseSet = field(default_factory=lambda: PhraseSet(()))
    not_if: PhraseSet = field(default_factory=lambda: PhraseSet(()))
    past: PhraseSet = field(default_factory=lambda: PhraseSet(()))
    never: PhraseSet = field(default_factory=lambda: PhraseSet(()))
    present: PhraseSet = field(default_factory=lambda: PhraseSet(()))
    over: PhraseSet = field(default_factory=lambda: PhraseSet(()))
    ended: PhraseSet = field(default_factory=lambda: PhraseSet(()))

    def never_match(self, text: str) -> str | None:
        """The phrase that says nobody is in danger ("not an emergency"), or None."""
        return self.never.first(text)

    def match(self, text: str) -> str | None:
        """The signal phrase that marks ``text`` (cleaned words) as danger now, or None
        (also when a ``past`` or ``not_if`` phrase marks it as past or general, an ``ended``
        one says it is over, or the signal comes right after a negation)."""
        if self.not_if.matching(text) or self.past.matching(text) or self.ended.matching(text):
            return None
        return self.signals.first_unless_after(text, NEGATIONS)

    def past_match(self, text: str) -> str | None:
        """A phrase saying the message is about the past or asks in general ("three weeks
        ago", "is that assault lol"), unless a ``present`` word says it is happening now."""
        if self.present_match(text):
            return None
        return self.past.first(text)

    def urgent_match(self, text: str) -> str | None:
        """A phrase saying it is happening now ("right now"): it confirms suspected danger."""
        return self.urgent.first(text)

    def present_match(self, text: str) -> str | None:
        """A word saying it is happening as the resident writes ("now", "still"), unless
        the text says it is over ("he's home now and healing")."""
        if self.over.matching(text) or self.ended.matching(text):
            return None
        return self.present.first(text)

    def ended_match(self, text: str) -> str | None:
        """A phrase saying the danger is over ("they've gone now"), or None."""
        return self.ended.first(text)

    def phrases(self) -> list[str]:
        return [
            *self.signals.phrases,
            *self.urgent.phrases,
            *self.not_if.phrases,
            *self.past.phrases,
            *self.never.phrases,
            *self.present.phrases,
            *self.over.phrases,
            *self.ended.phrases,
        ]


def load_danger(folder: Path) -> tuple[DangerCheck, list[Problem]]:
    path = folder / DANGER_FILE
    if not path.exists():
        return DangerCheck(), []
    doc = YamlFile(path)
    if doc.root is None:
        return DangerCheck(), doc.problems
    fields = doc.mapping(doc.root, "the danger signals file") or {}
    keys = ("signals", "urgent", "not_if", "past", "never", "present", "over", "ended")
    doc.unknown_keys(fields, set(keys), "the danger signals file")
    lists = {}
    for key in keys:
        items = doc.text_list(fields[key][1], key) if key in fields else []
        lists[key] = PhraseSet(phrase for phrase, _ in items)
    if not lists["signals"].phrases and not lists["urgent"].phrases:
        doc.error(1, "no danger signals; list phrases under 'signals:'")
    return DangerCheck(**lists), doc.problems
