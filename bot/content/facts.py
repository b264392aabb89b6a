"""Facts (services, contacts, figures) that answers refer to as ``{fact.field}``.

Each fact is recorded once with the source document it came from and the date it was
last checked, so a number changes in one place and can be traced.
"""

from __future__ import annotations

import datetime as dt
import html
import re
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from urllib.parse import urlsplit

from yaml.nodes import Node

from bot.content.opening_hours import OpeningHours, parse_hours
from bot.content.problems import Problem, Severity, display_path
from bot.content.yamlnodes import YamlFile, line_of
from bot.text import digits

PUBLIC_SOURCE = "public"
"""A fact from an official public page: ``source: "public: https://..."``."""
_PUBLIC = re.compile(r"public:\s*(.*)", re.IGNORECASE)
_FILE_NAME = re.compile(r"[\w.-]+\.\w+")

_ID = re.compile(r"^[a-z][a-z0-9_]*$")
_META_KEYS = {"name", "source", "checked", "note"}
HOURS_FIELD = "opening_hours"
"""When a contact is staffed, in the form ``bot.content.opening_hours`` reads."""


class FactKind(StrEnum):
    PHONE = "phone"
    EMAIL = "email"
    WEB = "web"
    TEXT = "text"


def kind_of(field_name: str) -> FactKind:
    for kind in (FactKind.PHONE, FactKind.EMAIL, FactKind.WEB):
        if field_name == kind.value or field_name.endswith("_" + kind.value):
            return kind
    return FactKind.TEXT


def link_key(url: str) -> str:
    """Comparable form of a web address: no scheme, no www., no trailing slash, lower host."""
    url = re.sub(r"^(https?://)?(www\.)?", "", url.strip(), flags=re.IGNORECASE).rstrip("/.")
    host, _, rest = url.partition("/")
    return host.lower() + ("/" + rest if rest else "")


@dataclass(frozen=True)
class FactValue:
    kind: FactKind
    value: str

    def html(self) -> str:
        """How the value appears in an answer (Telegram HTML)."""
        if self.kind is FactKind.PHONE:
            # Bold plain text: readable and copyable; Telegram offers to call it on tap.
            return f"<b>{html.escape(self.value)}</b>"
        if self.kind is FactKind.WEB:
            href = self.value if "://" in self.value else "https://" + self.value
            label = re.sub(r"^https?://", "", self.value).rstrip("/")
            return f'<a href="{html.escape(href, quote=True)}">{html.escape(label)}</a>'
        return html.escape(self.value)


def recorded(facts: dict[str, Fact], kind: FactKind) -> list[str]:
    """Every recorded value of one kind (all phone numbers, say), as written."""
    return [v.value for f in facts.values() for v in f.values.values() if v.kind is kind]


@dataclass(frozen=True)
class Fact:
    id: str
    name: str
    values: dict[str, FactValue]
    checked: dt.date | None
    path: str
    line: int
    hours: OpeningHours | None = None  # from its opening_hours: field


def load_knowledge(folder: Path, seeds: Path | None) -> tuple[dict[str, Fact], list[Problem]]:
    """Every fact in ``folder/*.yaml``; ``seeds`` (when it exists) is checked for sources."""
    facts: dict[str, Fact] = {}
    problems: list[Problem] = []
    if not folder.is_dir():
        return facts, [Problem(str(folder), 1, "knowledge folder not found; pass --knowledge DIR")]
    seed_names = {p.name for p in seeds.iterdir()} if seeds and seeds.is_dir() else None
    for path in sorted(folder.glob("*.y*ml")):
        if path.name.startswith("_"):  # _places.yaml and other settings: no facts
            continue
        doc = YamlFile(path)
        if doc.root is not None:
            entries = doc.mapping(doc.root, "a knowledge file")
            for fact_id, (key_node, value_node) in (entries or {}).items():
                if fact_id in facts:
                    other = facts[fact_id]
                    doc.error(
                        key_node,
                        f"fact '{fact_id}' is already defined at {other.path}:{other.line}; "
                        "give one of them another name",
                    )
                    continue
                fact = _read_fact(doc, fact_id, key_node, value_node, seed_names)
                if fact is not None:
                    facts[fact_id] = fact
        elif not doc.problems:
            doc.warning(1, "the file is empty")
        problems.extend(doc.problems)
    return facts, problems


def unchecked_sources(knowledge: Path, seeds: Path | None) -> list[Problem]:
    """A warning when there is no seeds folder, so facts' seed sources went unchecked."""
    if seeds is not None and seeds.is_dir():
        return []
    where = f"no seeds folder at {seeds}" if seeds else "no seeds folder is set"
    return [
        Problem(
            display_path(knowledge),
            1,
            f"facts' seed sources were not checked: {where}; set SEEDS_DIR to the folder "
            "of source documents to check them",
            Severity.WARNING,
        )
    ]


def _source_problem(source: str, seed_names: set[str] | None) -> str:
    """What is wrong with a fact's source ("" when nothing): a seed document's file name
    (checked against the seeds folder when there is one) or 'public: <URL>'."""
    public = _PUBLIC.fullmatch(source)
    if public:
        url = urlsplit(public.group(1))
        if url.scheme in ("http", "https") and "." in url.netloc and " " not in url.geturl():
            return ""
        return (
            f"source '{source}' does not give the official page's address; write "
            f"'{PUBLIC_SOURCE}: https://...' with the page the fact was checked on"
        )
    if source.lower().startswith(PUBLIC_SOURCE) or not _FILE_NAME.fullmatch(source):
        return (
            f"source '{source}' is neither a seed document nor a public page; use the "
            f"document's file name, or '{PUBLIC_SOURCE}: https://...' for an official page"
        )
    if seed_names is not None and source not in seed_names:
        return (
            f"source '{source}' is not a document in the seeds folder; "
            f"use its file name, or '{PUBLIC_SOURCE}: https://...' for an official page"
        )
    return ""


def _read_fact(
    doc: YamlFile, fact_id: str, key_node: Node, node: Node, seed_names: set[str] | None
) -> Fact | None:
    if not _ID.match(fact_id):
        doc.error(key_node, f"fact id '{fact_id}' must be lower case letters, digits and _")
        return None
    fields = doc.mapping(node, f"fact '{fact_id}'")
    if fields is None:
        return None
    name = doc.text(fields["name"][1], "name") if "name" in fields else None
    if "name" not in fields:
        doc.error(key_node, f"fact '{fact_id}' has no 'name:'; say what service this is")
    if "source" not in fields:
        doc.error(
            key_node,
            f"fact '{fact_id}' has no 'source:'; name the document it comes from "
            f"(a file in the seeds folder) or '{PUBLIC_SOURCE}: https://...'",
        )
    else:
        for source, source_node in doc.text_list(fields["source"][1], "source"):
            message = _source_problem(source, seed_names)
            if message:
                doc.error(source_node, message)
    checked = None
    if "checked" not in fields:
        doc.error(key_node, f"fact '{fact_id}' has no 'checked:' date (YYYY-MM-DD)")
    else:
        checked = doc.date(fields["checked"][1], "checked")
    values: dict[str, FactValue] = {}
    hours = None
    for key, (k_node, v_node) in fields.items():
        if key in _META_KEYS:
            continue
        if not _ID.match(key):
            doc.error(k_node, f"field '{key}' must be lower case letters, digits and _")
            continue
        value = doc.text(v_node, f"{fact_id}.{key}")
        if value is None:
            continue
        kind = kind_of(key)
        if kind is FactKind.PHONE and len(digits(value)) < 2:
            doc.error(v_node, f"{fact_id}.{key} '{value}' does not look like a phone number")
        elif kind is FactKind.EMAIL and not re.fullmatch(
            r"[^@\s]+@[^@\s]+\.[a-z]{2,}", value, re.IGNORECASE
        ):
            doc.error(v_node, f"{fact_id}.{key} '{value}' does not look like an email address")
        elif kind is FactKind.WEB and (" " in value or "." not in value):
            doc.error(v_node, f"{fact_id}.{key} '{value}' does not look like a web address")
        elif key == HOURS_FIELD:
            try:
                hours = parse_hours(value)
            except ValueError as exc:
                doc.error(v_node, f"{fact_id}.{key}: {exc}")
        values[key] = FactValue(kind, value)
    if not values:
        doc.error(key_node, f"fact '{fact_id}' has no value (phone:, email:, web:, address: ...)")
    return Fact(
        fact_id,
        name or fact_id,
        values,
        checked,
        doc.name,
        line_of(key_node),
        hours,
    )
