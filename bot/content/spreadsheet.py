"""Topics and facts to CSV and back, for staff who keep content in a spreadsheet.

``topics.csv`` has one row per example: the first row of a topic carries its title, answer
and keywords, the rows after it only the id and an example. ``facts.csv`` has one row per
value (a list, such as several sources, is several rows). Files are UTF-8 with a BOM so
Excel and LibreOffice read the pound sign and dashes right.

Import reads both files, checks every row (errors name the CSV row as the spreadsheet
numbers it), writes the YAML through a round-trip parser so comments, key order and quoting
stay as staff wrote them, validates the result like any content change, and writes nothing
unless all of it is right. Settings files (``_matching.yaml``, ``_danger.yaml``) and the
safety examples (``intents/_safety/``) are not exported.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import shutil
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.scalarstring import (
    DoubleQuotedScalarString,
    LiteralScalarString,
    SingleQuotedScalarString,
)

from bot.content.loading import load_content
from bot.content.problems import Severity
from bot.text import plural

TOPICS, FACTS = "topics.csv", "facts.csv"
TOPIC_COLUMNS = ["id", "title", "answer", "keywords", "example"]
FACT_COLUMNS = ["file", "fact", "field", "value"]
KEYWORD_SEPARATOR = "; "
ENCODING = "utf-8-sig"  # the BOM tells Excel the file is UTF-8


class ImportRefused(Exception):
    """The CSV has errors; nothing was written. ``problems`` has one line each."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__(f"{plural(len(problems), 'problem')}; nothing was imported")
        self.problems = problems


def _yaml() -> YAML:
    """Set to write staff files back byte for byte when nothing changed."""
    yaml = YAML()
    yaml.preserve_quotes = True
    yaml.width = 4096
    yaml.indent(mapping=2, sequence=4, offset=2)
    return yaml


def _intent_files(intents: Path) -> list[Path]:
    return [p for p in sorted(intents.glob("*.y*ml")) if not p.name.startswith("_")]


def _fact_files(knowledge: Path) -> list[Path]:
    return [p for p in sorted(knowledge.glob("*.y*ml")) if not p.name.startswith("_")]


def _text(value: object) -> str:
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


# -- export


def export_csv(intents: Path, knowledge: Path, folder: Path) -> tuple[int, int]:
    """Write topics.csv and facts.csv into ``folder``; returns their numbers of rows."""
    yaml = _yaml()
    folder.mkdir(parents=True, exist_ok=True)
    topics = 0
    with (folder / TOPICS).open("w", encoding=ENCODING, newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(TOPIC_COLUMNS)
        for path in _intent_files(intents):
            data = yaml.load(path.read_text(encoding="utf-8"))
            examples = [_text(e) for e in data.get("examples") or []] or [""]
            keywords = KEYWORD_SEPARATOR.join(_text(k) for k in data.get("keywords") or [])
            for n, example in enumerate(examples):
                head = [data["title"], data["answer"], keywords] if n == 0 else ["", "", ""]
                writer.writerow([data["id"], *map(_text, head), example])
                topics += 1
    facts = 0
    with (folder / FACTS).open("w", encoding=ENCODING, newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(FACT_COLUMNS)
        for path in _fact_files(knowledge):
            data = yaml.load(path.read_text(encoding="utf-8")) or {}
            for fact, fields in data.items():
                for name, value in fields.items():
                    for item in value if isinstance(value, list) else [value]:
                        writer.writerow([path.name, fact, name, _text(item)])
                        facts += 1
    return topics, facts


# -- import


@dataclass
class _Topic:
    row: int  # the CSV row of its first line
    title: str
    answer: str
    keywords: list[str]
    examples: list[str] = field(default_factory=list)


def _rows(
    path: Path, columns: list[str], problems: list[str]
) -> Iterator[tuple[int, dict[str, str]]]:
    """Data rows with their spreadsheet row numbers (the header is row 1)."""
    if not path.exists():
        problems.append(f"{path.name}: not found in the folder")
        return
    with path.open(encoding=ENCODING, newline="") as handle:
        reader = csv.reader(handle)
        header = next(reader, [])
        if header != columns:
            problems.append(f"{path.name} row 1: the columns must be {', '.join(columns)}")
            return
        for number, cells in enumerate(reader, start=2):
            if not any(cell.strip() for cell in cells):
                continue
            if len(cells) != len(columns):
                problems.append(
                    f"{path.name} row {number}: {len(cells)} cells, expected {len(columns)}"
                )
                continue
            yield number, dict(zip(columns, cells, strict=True))


def _read_topics(path: Path, problems: list[str]) -> dict[str, _Topic]:
    topics: dict[str, _Topic] = {}
    for number, row in _rows(path, TOPIC_COLUMNS, problems):
        where = f"{TOPICS} row {number}"
        topic_id = row["id"].strip()
        if not topic_id:
            problems.append(f"{where}: the id is empty")
            continue
        topic = topics.get(topic_id)
        heading = any(row[c].strip() for c in ("title", "answer", "keywords"))
        if topic is None:
            if not row["title"].strip() or not row["answer"].strip():
                problems.append(
                    f"{where}: the first row of topic '{topic_id}' needs its title and answer"
                )
                continue
            keywords = [k.strip() for k in row["keywords"].split(";") if k.strip()]
            topic = topics[topic_id] = _Topic(number, row["title"], row["answer"], keywords)
        elif heading:
            problems.append(
                f"{where}: title, answer and keywords of '{topic_id}' belong on its first "
                f"row ({topic.row}) only"
            )
        if row["example"].strip():
            topic.examples.append(row["example"])
    return topics


def _read_facts(path: Path, problems: list[str]) -> dict[str, dict[str, dict[str, list[str]]]]:
    facts: dict[str, dict[str, dict[str, list[str]]]] = {}
    for number, row in _rows(path, FACT_COLUMNS, problems):
        if not all(row[c].strip() for c in ("file", "fact", "field")):
            problems.append(f"{FACTS} row {number}: file, fact and field must all be filled in")
            continue
        facts.setdefault(row["file"], {}).setdefault(row["fact"], {}).setdefault(
            row["field"], []
        ).append(row["value"])
    return facts


def _like(old: object, new: str) -> object:
    """``new`` in the style of the value it replaces: unchanged values keep theirs exactly."""
    if _text(old) == new:
        return old
    if isinstance(old, dt.date):
        try:
            return dt.date.fromisoformat(new)
        except ValueError:
            return new  # validation reports the bad date with its line
    if isinstance(old, LiteralScalarString) or "\n" in new:
        return LiteralScalarString(new)
    if isinstance(old, DoubleQuotedScalarString):
        return DoubleQuotedScalarString(new)
    if isinstance(old, SingleQuotedScalarString):
        return SingleQuotedScalarString(new)
    return new


def _set_list(data: CommentedMap, key: str, values: list[str]) -> None:
    old = data.get(key)
    if isinstance(old, CommentedSeq):
        # Item by item: list comments stay on the items they follow (a slice assignment
        # drops the comments of the items it replaces).
        for index, value in enumerate(values[: len(old)]):
            if _text(old[index]) != value:
                old[index] = _like(old[index], value)
        del old[len(values) :]
        old.extend(values[len(old) :])
    elif values:
        data[key] = CommentedSeq(values)


def import_csv(
    folder: Path, intents: Path, knowledge: Path, seeds: Path | None = None
) -> list[str]:
    """Apply the CSV files in ``folder`` to the content; returns the files changed.
    Raises ImportRefused (writing nothing) on any problem in the CSV or the result."""
    problems: list[str] = []
    topics = _read_topics(folder / TOPICS, problems)
    facts = _read_facts(folder / FACTS, problems)
    yaml = _yaml()
    written: dict[Path, str] = {}
    seen = set()
    for path in _intent_files(intents):
        original = path.read_text(encoding="utf-8")
        data = yaml.load(original)
        topic = topics.get(data["id"])
        seen.add(data["id"])
        if topic is None:
            problems.append(f"{TOPICS}: topic '{data['id']}' has no rows (delete topics in YAML)")
            continue
        data["title"] = _like(data["title"], topic.title)
        data["answer"] = _like(data["answer"], topic.answer)
        _set_list(data, "keywords", topic.keywords)
        _set_list(data, "examples", topic.examples)
        written[path] = _dump(yaml, data)
    problems += [
        f"{TOPICS} row {t.row}: no topic '{i}' (add new topics as YAML files)"
        for i, t in topics.items()
        if i not in seen
    ]
    files = {p.name: p for p in _fact_files(knowledge)}
    for name in sorted(facts.keys() - files.keys()):
        problems.append(f"{FACTS}: no file '{name}' in {knowledge} (add new files as YAML)")
    for name, path in files.items():
        original = path.read_text(encoding="utf-8")
        data = yaml.load(original) or CommentedMap()
        given = facts.get(name, {})
        for fact in data:
            if fact not in given:
                problems.append(f"{FACTS}: fact '{fact}' of {name} has no rows")
        for fact, fields in given.items():
            entry = data.setdefault(fact, CommentedMap())
            for missing in [k for k in entry if k not in fields]:
                problems.append(f"{FACTS}: field '{missing}' of fact '{fact}' has no rows")
            for key, values in fields.items():
                old = entry.get(key)
                if isinstance(old, list) or len(values) > 1:
                    _set_list(entry, key, values)
                else:
                    entry[key] = _like(old, values[0])
        written[path] = _dump(yaml, data)
    if problems:
        raise ImportRefused(problems)
    changed = {p: text for p, text in written.items() if text != p.read_text(encoding="utf-8")}
    _validate(changed, intents, knowledge, seeds)
    for path, text in changed.items():
        path.write_text(text, encoding="utf-8")
    return [str(p) for p in changed]


def _dump(yaml: YAML, data: object) -> str:
    out = io.StringIO()
    yaml.dump(data, out)
    return out.getvalue()


def _validate(changed: dict[Path, str], intents: Path, knowledge: Path, seeds: Path | None) -> None:
    """Check the content as it would be, in a scratch copy; refuse on any error."""
    with tempfile.TemporaryDirectory() as scratch:
        root = Path(scratch)
        copies = {intents: root / "intents", knowledge: root / "knowledge"}
        for live, copy in copies.items():
            shutil.copytree(live, copy)
        for path, text in changed.items():
            folder = intents if path.parent == intents else knowledge
            (copies[folder] / path.name).write_text(text, encoding="utf-8")
        _, problems = load_content(copies[intents], copies[knowledge], seeds)
    errors = [str(p).replace(str(root) + "/", "") for p in problems if p.severity is Severity.ERROR]
    if errors:
        raise ImportRefused(["after import, the content would not load:", *errors])
