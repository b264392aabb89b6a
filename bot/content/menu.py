"""The topic menu's groups, kept by staff in ``intents/_menu.yaml``.

Telegram shows at most 100 buttons under a message, and a flat list of every topic is
unusable on a phone, so menus show the groups first, then one group's topics. Every menu
topic belongs to exactly one group, in the order staff list them.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from yaml.nodes import Node, SequenceNode

from bot.content.intents import Intent
from bot.content.problems import Problem, display_path
from bot.content.yamlnodes import YamlFile, line_of

MENU_FILE = "_menu.yaml"
MAX_BUTTONS = 100  # Telegram's limit on the buttons under one message
# A group's page adds "◀ All topics" and, after a 👎, "Something else"; the list of
# groups adds "Something else".
MAX_GROUP_TOPICS = MAX_BUTTONS - 2
MAX_GROUPS = MAX_BUTTONS - 1
TITLE_CHARS = 32  # longer group titles are cut short on a phone's button
LONG_GROUP = 20  # topics a resident can scan on a phone without scrolling for long


@dataclass(frozen=True)
class TopicGroup:
    title: str
    intents: tuple[str, ...]


@dataclass(frozen=True)
class Menu:
    groups: tuple[TopicGroup, ...] = ()

    def group(self, key: str) -> TopicGroup | None:
        """The group a button names by its position (``"0"``, ``"1"``…), or None. A
        position keeps callback data short; after staff reorder the groups, an old button
        opens the group now there, whose title the page shows."""
        if key.isdigit() and int(key) < len(self.groups):
            return self.groups[int(key)]
        return None


def load_menu(folder: Path, intents: dict[str, Intent]) -> tuple[Menu, list[Problem]]:
    """The groups of ``_menu.yaml``, checked against the menu topics in ``intents``."""
    topics = [i for i in intents.values() if i.menu]
    path = folder / MENU_FILE
    if not path.exists():
        if not topics:
            return Menu(), []
        message = f"{MENU_FILE} not found; list the menu topics' groups there"
        return Menu(), [Problem(display_path(path), 1, message)]
    doc = YamlFile(path)
    if doc.root is None:
        return Menu(), doc.problems
    fields = doc.mapping(doc.root, "the menu file") or {}
    doc.unknown_keys(fields, {"groups"}, "the menu file")
    node = fields["groups"][1] if "groups" in fields else None
    if not isinstance(node, SequenceNode) or not node.value:
        doc.error(node or 1, "list the groups under 'groups:', each with a title and topics")
        return Menu(), doc.problems
    if len(node.value) > MAX_GROUPS:
        doc.error(node, f"{len(node.value)} groups; Telegram shows at most {MAX_GROUPS}")
    seen: dict[str, int] = {}
    groups = [_read_group(doc, item, intents, seen) for item in node.value]
    for intent in topics:
        if intent.id not in seen:
            doc.error(
                node,
                f"menu topic '{intent.id}' ({intent.path}) is in no group; add it under the "
                "topics of one group (or give it 'menu: false')",
            )
    return Menu(tuple(g for g in groups if g is not None)), doc.problems


def _read_group(
    doc: YamlFile, node: Node, intents: dict[str, Intent], seen: dict[str, int]
) -> TopicGroup | None:
    fields = doc.mapping(node, "a group")
    if fields is None:
        return None
    doc.unknown_keys(fields, {"title", "topics"}, "a group")
    title = doc.text(fields["title"][1], "title") if "title" in fields else None
    if "title" not in fields:
        doc.error(node, "a group needs a 'title:'")
    elif title and len(title) > TITLE_CHARS:
        doc.warning(
            fields["title"][1],
            f"the title is {len(title)} characters; a phone's button shows about "
            f"{TITLE_CHARS}, so shorten it",
        )
    items = doc.text_list(fields["topics"][1], "topics") if "topics" in fields else []
    ids: list[str] = []
    for topic, item in items:
        intent = intents.get(topic)
        if topic in seen:
            doc.error(item, f"'{topic}' is already in a group (line {seen[topic]}); keep one")
        elif intent is None:
            doc.error(item, f"no topic has the id '{topic}'; check the spelling")
        elif not intent.menu:
            doc.error(item, f"'{topic}' is not a menu topic ('menu: false' or not an answer)")
        else:
            ids.append(topic)
        seen.setdefault(topic, line_of(item))
    if not items:
        doc.error(node, "the group has no topics; list their ids under 'topics:'")
    elif len(ids) > MAX_GROUP_TOPICS:
        doc.error(node, f"{len(ids)} topics; Telegram shows at most {MAX_GROUP_TOPICS} in a group")
    elif len(ids) > LONG_GROUP:
        doc.warning(node, f"{len(ids)} topics are a long list on a phone; split the group")
    return TopicGroup(title, tuple(ids)) if title and ids else None
