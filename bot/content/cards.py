"""Language cards (``intents/_languages/``): the safety numbers in a resident's language.

``en.yaml`` is the English master card; every other file is one language's translation
of it. A card refers to facts (``{beacon.phone}``) and never types a number, and each
card must use exactly the master's set of fact references, so a translation can never
carry a different or missing number. Each translation names who translated it and
whether a fluent speaker has reviewed it (unreviewed: a warning, and listed for admins).
``danger:`` lists that language's danger-now phrases, written like ``_danger.yaml``'s.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from yaml.nodes import Node

from bot.content import answers
from bot.content.facts import Fact
from bot.content.intents import answer_line
from bot.content.problems import Problem
from bot.content.yamlnodes import YamlFile, line_of

LANGUAGES_DIR = "_languages"
MASTER = "en"
_CODE = re.compile(r"[a-z]{2}")
_TYPED_NUMBER = re.compile(r"\d")
_KEYS = {"language", "name", "translated_by", "reviewed", "card", "danger"}


@dataclass(frozen=True)
class Card:
    language: str  # ISO 639-1
    name: str  # the language's own name, e.g. "Polski"
    card: str  # template with {fact.field} references
    danger: tuple[str, ...] = ()
    translated_by: str = ""
    reviewed: bool = False
    path: str = ""
    line: int = 1  # of 'card:'


@dataclass(frozen=True)
class CardSet:
    cards: dict[str, Card] = field(default_factory=dict)  # translations, by language

    def review_note(self) -> str:
        """For admins: the cards no fluent speaker has reviewed yet ("" when none)."""
        waiting = [c for c in self.cards.values() if not c.reviewed]
        if not waiting:
            return ""
        names = ", ".join(f"{c.name} ({c.language})" for c in waiting)
        return (
            f"Language cards not yet reviewed by a fluent speaker ({len(waiting)}): {names}. "
            "Translated by: " + "; ".join(sorted({c.translated_by for c in waiting})) + "."
        )


def load_cards(intents_dir: Path, facts: dict[str, Fact]) -> tuple[CardSet, list[Problem]]:
    folder = intents_dir / LANGUAGES_DIR
    if not folder.is_dir():
        return CardSet(), []
    problems: list[Problem] = []
    read: list[tuple[Card, Node]] = []
    for path in sorted(folder.glob("*.y*ml")):
        doc = YamlFile(path)
        found = _read_card(doc, facts)
        problems += doc.problems
        if found is not None:
            read.append(found)
    master = next((card for card, _ in read if card.language == MASTER), None)
    if read and master is None:
        problems.append(
            Problem(str(folder), 1, "no English master card (en.yaml); translations copy it")
        )
    expected = _references(master.card) if master else None
    cards: dict[str, Card] = {}
    for card, card_node in read:
        if card.language == MASTER:
            continue
        if expected is not None:
            _check_parity(card, expected, master, card_node, problems)
        cards[card.language] = card
    return CardSet(cards), problems


def _read_card(doc: YamlFile, facts: dict[str, Fact]) -> tuple[Card, Node] | None:
    if doc.root is None:
        return None
    fields = doc.mapping(doc.root, "a language card") or {}
    doc.unknown_keys(fields, _KEYS, "a language card")
    values: dict[str, str] = {}
    for key in ("language", "name", "card", "translated_by"):
        if key in fields:
            values[key] = doc.text(fields[key][1], key) or ""
    language = values.get("language", "")
    if not _CODE.fullmatch(language):
        doc.error(1, "'language:' must be a two-letter ISO 639-1 code such as pl or ar")
        return None
    if doc.path.stem != language:
        doc.error(fields["language"][1], f"the file for '{language}' must be named {language}.yaml")
    if not values.get("card"):
        doc.error(1, "missing 'card:'; write the card's text")
        return None
    card_node = fields["card"][1]
    for index, message in answers.check(values["card"], facts, numbers=False):
        doc.error(answer_line(card_node, index), message)
    for index, text in enumerate(values["card"].split("\n")):
        if _TYPED_NUMBER.search(re.sub(r"<[^<>]*>", " ", answers.REFERENCE.sub(" ", text))):
            doc.error(
                answer_line(card_node, index),
                "a card must not type digits; refer to the fact, e.g. {beacon.phone}",
            )
    first = values["card"].split("\n")[0]
    if "{emergency.phone}" not in first:
        doc.error(card_node, "the card's first line must be the 999 line ({emergency.phone})")
    danger: list[str] = []
    reviewed = False
    if language != MASTER:
        for key in ("name", "translated_by"):
            if not values.get(key):
                doc.error(1, f"missing '{key}:'")
        if "danger" in fields:
            danger = [text for text, _ in doc.text_list(fields["danger"][1], "danger")]
        if not danger:
            doc.error(1, "missing 'danger:'; list this language's danger-now phrases")
        if "reviewed" not in fields:
            doc.error(1, "missing 'reviewed:'; true only once a fluent speaker has checked it")
        else:
            reviewed = bool(doc.flag(fields["reviewed"][1], "reviewed"))
            if not reviewed:
                doc.warning(
                    fields["reviewed"][1],
                    f"the '{language}' card has not been reviewed by "
                    "a fluent speaker; have it checked, then set 'reviewed: true'",
                    summary="{count} language cards await a fluent reviewer: {items}",
                    item=language,
                )
    card = Card(
        language=language,
        name=values.get("name", language),
        card=values["card"],
        danger=tuple(danger),
        translated_by=values.get("translated_by", ""),
        reviewed=reviewed,
        path=doc.name,
        line=line_of(card_node),
    )
    return card, card_node


def _references(template: str) -> dict[str, int]:
    """Each fact reference and the template line (0-based) it first appears on."""
    found: dict[str, int] = {}
    for index, text in enumerate(template.split("\n")):
        for match in answers.REFERENCE.finditer(text):
            found.setdefault(match.group(0), index)
    return found


def _check_parity(
    card: Card,
    expected: dict[str, int],
    master: Card | None,
    card_node: Node,
    problems: list[Problem],
) -> None:
    """The same numbers as the master card: none missing, none added."""
    found = _references(card.card)
    master_path = master.path if master else MASTER
    for reference, index in found.items():
        if reference not in expected:
            problems.append(
                Problem(
                    card.path,
                    answer_line(card_node, index),
                    f"{reference} is not on the English card ({master_path}); every card "
                    "carries exactly the English card's numbers",
                )
            )
    problems.extend(
        Problem(
            card.path,
            card.line,
            f"{reference} is on the English card ({master_path}) but missing here; "
            "add it so this card gives the same numbers",
        )
        for reference in sorted(set(expected) - set(found))
    )
