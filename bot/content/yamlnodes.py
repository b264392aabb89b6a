"""Read staff YAML as node trees so every problem can name its file and line.

PyYAML's ``safe_load`` silently merges duplicate keys and turns ``0300 011 55 55``-like
values, ``no`` or ``yes`` into numbers and booleans. Working on the composed nodes keeps
the line of every value and the type YAML resolved, so both can be reported clearly.
"""

from __future__ import annotations

import datetime as dt
import math
from pathlib import Path

import yaml
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from bot.content.problems import Problem, Severity, display_path

STR_TAG = "tag:yaml.org,2002:str"
_TYPE_NAMES = {
    "tag:yaml.org,2002:int": "a number",
    "tag:yaml.org,2002:float": "a number",
    "tag:yaml.org,2002:bool": "true/false",
    "tag:yaml.org,2002:null": "empty",
    "tag:yaml.org,2002:timestamp": "a date",
}


def line_of(node: Node) -> int:
    return node.start_mark.line + 1


class YamlFile:
    """One parsed file plus the problems found while reading it."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.name = display_path(path)
        self.problems: list[Problem] = []
        self.root: Node | None = None
        self._parse()

    def _parse(self) -> None:
        try:
            text = self.path.read_text(encoding="utf-8")
        except UnicodeDecodeError as exc:
            self.error(1, f"file is not UTF-8 text ({exc.reason}); save it as UTF-8")
            return
        except OSError as exc:
            self.error(1, f"cannot read the file: {exc.strerror}")
            return
        try:
            self.root = yaml.compose(text, Loader=yaml.SafeLoader)
        except yaml.MarkedYAMLError as exc:
            mark = exc.problem_mark or exc.context_mark
            line = mark.line + 1 if mark else 1
            col = mark.column + 1 if mark else 1
            what = exc.problem or "invalid YAML"
            self.error(
                line,
                f"YAML syntax error at column {col}: {what}; check the indentation, "
                "colons and quotes on this line and the one before",
            )
        except yaml.YAMLError as exc:
            self.error(1, f"YAML error: {exc}")

    def error(self, where: Node | int, message: str) -> None:
        self._add(where, message, Severity.ERROR)

    def warning(self, where: Node | int, message: str) -> None:
        self._add(where, message, Severity.WARNING)

    def _add(self, where: Node | int, message: str, severity: Severity) -> None:
        line = where if isinstance(where, int) else line_of(where)
        self.problems.append(Problem(self.name, line, message, severity))

    # -- typed readers: each returns None (and records a problem) when the value is wrong

    def mapping(self, node: Node, what: str) -> dict[str, tuple[Node, Node]] | None:
        """Keys to (key node, value node); reports duplicate and non-text keys."""
        if not isinstance(node, MappingNode):
            self.error(node, f"{what} must be a set of 'key: value' lines")
            return None
        out: dict[str, tuple[Node, Node]] = {}
        for key_node, value_node in node.value:
            key = key_node.value if isinstance(key_node, ScalarNode) else None
            if not isinstance(key, str):
                self.error(key_node, f"{what} has a key that is not plain text")
                continue
            if key in out:
                first = line_of(out[key][0])
                self.error(
                    key_node,
                    f"duplicate key '{key}' (first given on line {first}); "
                    "YAML would silently keep only the last one, so remove one of them",
                )
                continue
            out[key] = (key_node, value_node)
        return out

    def text(self, node: Node, what: str, *, allow_empty: bool = False) -> str | None:
        if not isinstance(node, ScalarNode):
            self.error(node, f"{what} must be text, not a list or a block of keys")
            return None
        if node.tag != STR_TAG:
            if node.tag == "tag:yaml.org,2002:null":
                if allow_empty:
                    return ""
                self.error(node, f"{what} is empty; write the text after the colon")
                return None
            kind = _TYPE_NAMES.get(node.tag, "a non-text value")
            self.error(
                node,
                f"{what} '{node.value}' is read by YAML as {kind}, not text; "
                f'put it in quotes: "{node.value}"',
            )
            return None
        value = str(node.value).strip()
        if not value and not allow_empty:
            self.error(node, f"{what} is empty; write the text after the colon")
            return None
        return value

    def text_list(self, node: Node, what: str) -> list[tuple[str, Node]]:
        """A list of texts; a single text is accepted as a list of one."""
        if isinstance(node, ScalarNode) and node.tag == STR_TAG:
            value = self.text(node, what)
            return [(value, node)] if value else []
        if not isinstance(node, SequenceNode):
            self.error(node, f"{what} must be a list, one '- item' per line")
            return []
        out = []
        for item in node.value:
            value = self.text(item, f"an item of {what}")
            if value:
                out.append((value, item))
        return out

    def date(self, node: Node, what: str) -> dt.date | None:
        raw = node.value if isinstance(node, ScalarNode) else None
        try:
            return dt.date.fromisoformat(str(raw).strip())
        except ValueError:
            self.error(node, f"{what} '{raw}' is not a date; write it as YYYY-MM-DD")
            return None

    def flag(self, node: Node, what: str) -> bool | None:
        if node.tag != "tag:yaml.org,2002:bool":
            self.error(node, f"{what} must be true or false")
            return None
        return node.value.lower() in ("true", "yes", "on", "y")

    def number(self, node: Node, what: str) -> float | None:
        raw = node.value if isinstance(node, ScalarNode) else None
        try:
            value = float(str(raw))
        except ValueError:
            value = math.nan
        if not math.isfinite(value):  # float() also reads "inf", "-.inf" and "nan"
            self.error(node, f"{what} '{raw}' must be a number, such as 0.5")
            return None
        return value

    def unknown_keys(
        self, fields: dict[str, tuple[Node, Node]], known: set[str], what: str
    ) -> None:
        for key, (key_node, _) in fields.items():
            if key not in known:
                self.error(
                    key_node,
                    f"unknown key '{key}' in {what}; expected one of: {', '.join(sorted(known))}",
                )
