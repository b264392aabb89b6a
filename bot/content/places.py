"""Places: Hertfordshire's towns and postcode districts, each mapped to the district or
borough council that serves it, to the police force next door that polices it, or to an
explicit "ask" where one postcode district spans several councils.

Staff keep them in ``knowledge/_places.yaml`` (the leading ``_``: it holds no facts of its
own; every council and force names the fact that carries its name, links and sources).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from ukpostcodeutils.validation import is_valid_partial_postcode, is_valid_postcode
from yaml.nodes import Node

from bot.content import answers
from bot.content.facts import Fact
from bot.content.problems import Problem
from bot.content.yamlnodes import YamlFile, line_of
from bot.text import clean

PLACES_FILE = "_places.yaml"
ASK = "ask"
"""A place that spans councils: the resident is asked for their town."""

ROUTES = ("fly_tipping", "noise", "graffiti", "dogs", "asb", "snt", "street", "web")
"""What a council-side answer can point at: a council fact's ``<route>_web`` field (or
the county's, for roads), else the council's ``web``."""

_ID = re.compile(r"^[a-z][a-z0-9_]*$")
_KEYS = {"ask", "closed_now", "outside", "county", "snt"} | {
    "councils",
    "forces",
    "towns",
    "postcodes",
}
_BODY_KEYS = {"fact", "label"}


@dataclass(frozen=True)
class Body:
    """A district or borough council, or a police force outside Hertfordshire."""

    id: str
    label: str  # short, for buttons: "North Herts"
    fact: str  # the fact with its name, links and sources
    force: bool = False


@dataclass(frozen=True)
class Place:
    """A town or a postcode district as staff wrote it, and who serves it (None: ask)."""

    name: str
    body: str | None


@dataclass(frozen=True)
class Places:
    councils: dict[str, Body] = field(default_factory=dict)
    forces: dict[str, Body] = field(default_factory=dict)
    county: str | None = None  # the county council's fact (roads and pavements)
    snt: str | None = None  # the fact whose web: finds a Safer Neighbourhood Team
    towns: dict[str, Place] = field(default_factory=dict)  # cleaned name -> place
    postcodes: dict[str, Place] = field(default_factory=dict)  # outward code -> place
    ask: str = "Which town or postcode?"
    closed_now: str = ""  # the template shown under a contact that is closed now
    # A place another force polices: {place}, {force} and {force_web} are filled in.
    outside: str = ""

    def body(self, body_id: str) -> Body | None:
        return self.councils.get(body_id) or self.forces.get(body_id)


def load_places(folder: Path, facts: dict[str, Fact]) -> tuple[Places, list[Problem]]:
    """The places in ``folder/_places.yaml`` (none when there is no such file; a folder, a
    pipe or a broken link by that name is a problem, not silently no places)."""
    path = folder / PLACES_FILE
    if not path.exists() and not path.is_symlink():
        return Places(), []
    doc = YamlFile(path)
    if doc.root is None:
        return Places(), doc.problems
    fields = doc.mapping(doc.root, "the places file")
    if fields is None:
        return Places(), doc.problems
    doc.unknown_keys(fields, _KEYS, "the places file")
    councils = _bodies(doc, fields.get("councils"), facts, force=False)
    forces = _bodies(doc, fields.get("forces"), facts, force=True)
    for body_id in councils.keys() & forces.keys():
        doc.error(fields["forces"][1], f"'{body_id}' is both a council and a force")
    if "councils" not in fields:
        doc.error(1, "the places file needs 'councils:', one per district or borough")
    county = _fact_ref(doc, fields.get("county"), facts, "county")
    snt = _fact_ref(doc, fields.get("snt"), facts, "snt")
    known = {**councils, **forces}
    towns = _places(doc, fields.get("towns"), known, "town", _town_key)
    postcodes = _places(doc, fields.get("postcodes"), known, "postcode district", _postcode_key)
    ask = _template(doc, fields.get("ask"), facts, "ask") or Places.ask
    closed_now = _template(doc, fields.get("closed_now"), facts, "closed_now") or ""
    outside = _template(doc, fields.get("outside"), facts, "outside") or ""
    return (
        Places(councils, forces, county, snt, towns, postcodes, ask, closed_now, outside),
        doc.problems,
    )


def _bodies(
    doc: YamlFile, entry: tuple[Node, Node] | None, facts: dict[str, Fact], *, force: bool
) -> dict[str, Body]:
    if entry is None:
        return {}
    what = "forces" if force else "councils"
    items = doc.mapping(entry[1], f"'{what}:'") or {}
    out: dict[str, Body] = {}
    for body_id, (key_node, value_node) in items.items():
        if not _ID.match(body_id):
            doc.error(key_node, f"id '{body_id}' must be lower case letters, digits and _")
            continue
        if body_id == ASK:
            doc.error(key_node, f"'{ASK}' is kept for places that span councils; rename it")
            continue
        fields = doc.mapping(value_node, f"'{body_id}'")
        if fields is None:
            continue
        doc.unknown_keys(fields, _BODY_KEYS, f"'{body_id}'")
        fact = _fact_ref(doc, fields.get("fact"), facts, f"{body_id}.fact")
        label = doc.text(fields["label"][1], f"{body_id}.label") if "label" in fields else None
        if "fact" not in fields or "label" not in fields:
            doc.error(key_node, f"'{body_id}' needs 'fact:' (its facts) and 'label:' (a button)")
        if fact is None or label is None:
            continue
        if "web" not in facts[fact].values:
            doc.error(fields["fact"][1], f"fact '{fact}' needs a 'web:' address to send people to")
            continue
        out[body_id] = Body(body_id, label, fact, force)
    return out


def _fact_ref(
    doc: YamlFile, entry: tuple[Node, Node] | None, facts: dict[str, Fact], what: str
) -> str | None:
    if entry is None:
        return None
    fact_id = doc.text(entry[1], what)
    if fact_id is not None and fact_id not in facts:
        doc.error(entry[1], f"{what} '{fact_id}' is not a fact; add it under knowledge/")
        return None
    return fact_id


def _template(
    doc: YamlFile, entry: tuple[Node, Node] | None, facts: dict[str, Fact], what: str
) -> str | None:
    if entry is None:
        return None
    text = doc.text(entry[1], what)
    if text is not None:
        for _, message in answers.check(text, facts):
            doc.error(entry[1], f"{what}: {message}")
    return text


def _town_key(name: str) -> str | None:
    key = clean(name)
    return key or None


def is_outward_code(code: str) -> bool:
    """ "SG3", "AL10": a well formed postcode district (uk-postcode-utils' rules)."""
    return bool(is_valid_partial_postcode(code.upper()))


def is_full_postcode(code: str) -> bool:
    """ "SG3 6AB" (spaces ignored): a well formed full postcode."""
    return bool(is_valid_postcode(code.replace(" ", "").upper()))


def _postcode_key(name: str) -> str | None:
    """The outward code ("SG3"), or None when it is not one."""
    code = name.replace(" ", "").upper()
    return code if is_outward_code(code) else None


def _places(
    doc: YamlFile,
    entry: tuple[Node, Node] | None,
    known: dict[str, Body],
    what: str,
    key_of: Callable[[str], str | None],
) -> dict[str, Place]:
    """Names to places; each must name one known council or force, or 'ask'."""
    if entry is None:
        return {}
    items = doc.mapping(entry[1], f"the {what}s") or {}
    out: dict[str, Place] = {}
    lines: dict[str, int] = {}
    choices = ", ".join([*known, ASK])
    for name, (key_node, value_node) in items.items():
        key = key_of(name)
        if key is None:
            doc.error(key_node, f"'{name}' is not a {what}; write it like SG3 (no inward part)")
            continue
        if value_node.tag == "tag:yaml.org,2002:null":
            doc.error(
                key_node,
                f"{what} '{name}' has no council; write its council or force "
                f"after the colon ({choices})",
            )
            continue
        body = doc.text(value_node, f"{what} '{name}'")
        if body is None:
            continue
        if body != ASK and body not in known:
            doc.error(
                value_node,
                f"{what} '{name}': unknown council or force '{body}'; use one of: {choices}",
            )
            continue
        if key in out:
            doc.error(
                key_node,
                f"{what} '{name}' is given twice (first on line {lines[key]}); "
                f"keep one, or map it to '{ASK}'",
            )
            continue
        out[key] = Place(name, None if body == ASK else body)
        lines[key] = line_of(key_node)
    return out
