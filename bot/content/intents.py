"""Intents: one YAML file per topic in ``intents/`` with examples and an answer."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

from yaml.nodes import Node, ScalarNode

from bot.content.places import ROUTES
from bot.content.problems import Problem
from bot.content.yamlnodes import STR_TAG, YamlFile, line_of

_ID = re.compile(r"^[a-z][a-z0-9_]*$")
_KEYS = {
    "id",
    "title",
    "answer",
    "examples",
    "keywords",
    "checked",
    "dated",
    "outcome",
    "menu",
    "local",
    "after_999",
}
MIN_EXAMPLES = 10


class Outcome(StrEnum):
    """What happens when an intent wins the match."""

    ANSWER = "answer"
    EMERGENCY = "emergency"  # the danger reply: 999 first
    FALLBACK = "fallback"  # a known out-of-scope question: the "no answer" reply
    CRISIS = "crisis"  # someone who may harm themselves: crisis lines, never a "did you mean"


# Replies chosen by the safety check, not by topic matching: their examples are optional
# and train the safety check (intents/_safety/ holds the rest).
SAFETY_OUTCOMES = frozenset({Outcome.EMERGENCY, Outcome.CRISIS})


@dataclass(frozen=True)
class Intent:
    id: str
    title: str
    answer: str
    examples: tuple[str, ...]
    keywords: tuple[str, ...] = ()
    outcome: Outcome = Outcome.ANSWER
    menu: bool = True
    checked: dt.date | None = None
    dated: bool = False  # the answer shows its 'checked' date: it holds dated facts
    path: str = ""
    line: int = 1
    answer_line: int = 1
    examples_end_line: int = 0  # last line of the examples list, for tools that append
    # The council-side route this answer depends on (bot.content.places.ROUTES): the bot
    # names the resident's council, team or force for it, or asks for their town.
    local: str | None = None
    # The answer also follows the 999 reply when this topic matches a danger-now message:
    # help that still serves after the call (helplines, refuges), not advice for later.
    after_999: bool = False


@dataclass
class IntentSource:
    """An intent as read, with the nodes validation needs to point at lines."""

    intent: Intent
    doc: YamlFile
    answer_node: Node
    example_nodes: list[tuple[str, Node]]


def answer_line(node: Node, index: int) -> int:
    """File line of line ``index`` of an answer: block scalars start below the '|'."""
    block = isinstance(node, ScalarNode) and node.style in ("|", ">")
    return line_of(node) + index + (1 if block else 0)


def read_intent_file(path: Path) -> tuple[IntentSource | None, list[Problem]]:
    doc = YamlFile(path)
    if doc.root is None:
        if not doc.problems:
            doc.error(1, "the file is empty; an intent needs id, title, answer and examples")
        return None, doc.problems
    fields = doc.mapping(doc.root, "an intent file")
    if fields is None:
        return None, doc.problems
    doc.unknown_keys(fields, _KEYS, "an intent")
    outcome = Outcome.ANSWER
    if "outcome" in fields:
        raw = doc.text(fields["outcome"][1], "outcome")
        try:
            outcome = Outcome(raw or "")
        except ValueError:
            choices = ", ".join(o.value for o in Outcome)
            doc.error(fields["outcome"][1], f"outcome '{raw}' must be one of: {choices}")
    required_keys = ["id", "title", "answer"]
    if outcome not in SAFETY_OUTCOMES:
        required_keys.append("examples")
    for required in required_keys:
        if required not in fields:
            doc.error(1, f"missing '{required}:'; every intent needs id, title, answer, examples")

    def text_of(key: str) -> str | None:
        return doc.text(fields[key][1], key) if key in fields else None

    intent_id = text_of("id")
    if intent_id is not None and not _ID.match(intent_id):
        doc.error(fields["id"][1], f"id '{intent_id}' must be lower case letters, digits and _")
        intent_id = None
    title, answer = text_of("title"), text_of("answer")
    if answer is not None:
        _check_swallowed_keys(doc, fields["answer"][1])
    examples = _examples(doc, *fields["examples"], outcome) if "examples" in fields else []
    keywords = doc.text_list(fields["keywords"][1], "keywords") if "keywords" in fields else []
    menu = doc.flag(fields["menu"][1], "menu") if "menu" in fields else True
    dated = doc.flag(fields["dated"][1], "dated") if "dated" in fields else False
    after_999 = doc.flag(fields["after_999"][1], "after_999") if "after_999" in fields else False
    if dated and "checked" not in fields:
        doc.error(fields["dated"][0], "'dated: true' needs a 'checked:' date to show")
    checked = doc.date(fields["checked"][1], "checked") if "checked" in fields else None
    local = text_of("local")
    if local is not None and local not in ROUTES:
        doc.error(fields["local"][1], f"local '{local}' must be one of: {', '.join(ROUTES)}")
        local = None
    if intent_id is None or title is None or answer is None:
        return None, doc.problems
    if not examples and outcome not in SAFETY_OUTCOMES:
        return None, doc.problems
    examples_node = fields["examples"][1] if "examples" in fields else fields["answer"][1]
    intent = Intent(
        id=intent_id,
        title=title,
        answer=answer,
        examples=tuple(text for text, _ in examples),
        keywords=tuple(text for text, _ in keywords),
        outcome=outcome,
        menu=bool(menu) and outcome is Outcome.ANSWER,
        checked=checked,
        dated=bool(dated),
        path=doc.name,
        line=line_of(fields["id"][1]),
        answer_line=answer_line(fields["answer"][1], 0),
        examples_end_line=examples_node.end_mark.line + (1 if examples_node.end_mark.column else 0),
        local=local,
        after_999=bool(after_999) and outcome is Outcome.ANSWER,
    )
    return IntentSource(intent, doc, fields["answer"][1], examples), doc.problems


def _examples(
    doc: YamlFile, key_node: Node, node: Node, outcome: Outcome
) -> list[tuple[str, Node]]:
    """The examples list. One text after 'examples:' is an error: it would go live as one
    giant example ("beacon number, beacon phone"), sending the topic's questions elsewhere."""
    if isinstance(node, ScalarNode) and node.tag == STR_TAG:
        doc.error(
            node,
            f"examples: is one text ('{node.value}'), so it would be a single example; "
            "write each example on its own line below, starting with '  - '",
        )
        return []
    examples = doc.text_list(node, "examples")
    if len(examples) < MIN_EXAMPLES and outcome not in SAFETY_OUTCOMES:
        doc.warning(
            key_node,
            f"only {len(examples)} examples; give at least {MIN_EXAMPLES} varied phrasings "
            "(questions, statements, slang, typos) so residents' wording matches",
        )
    return examples


def _check_swallowed_keys(doc: YamlFile, node: Node) -> None:
    """A key indented like the answer's text is read as part of the answer (YAML accepts
    it silently): 'examples:' there leaves the intent without examples."""
    for index, line in enumerate(str(node.value).split("\n")):
        key = line.split(":", 1)[0]
        if ":" in line and key in _KEYS:
            doc.error(
                answer_line(node, index),
                f"'{key}:' is indented like the answer's text, so it is read as part of the "
                "answer; move it to the start of the line",
            )
