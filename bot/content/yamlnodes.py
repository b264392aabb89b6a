"""Read staff YAML as node trees so every problem can name its file and line.

PyYAML's ``safe_load`` silently merges duplicate keys and turns ``0300 011 55 55``-like
values, ``no`` or ``yes`` into numbers and booleans. Working on the composed nodes keeps
the line of every value and the type YAML resolved, so both can be reported clearly.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from collections.abc import Mapping
from pathlib import Path

import yaml
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from bot.content import reading
from bot.content.problems import Problem, Severity, display_path

STR_TAG = "tag:yaml.org,2002:str"
_TYPE_NAMES = {
    "tag:yaml.org,2002:int": "a number",
    "tag:yaml.org,2002:float": "a number",
    "tag:yaml.org,2002:bool": "true/false",
    "tag:yaml.org,2002:null": "empty",
    "tag:yaml.org,2002:timestamp": "a date",
}


_KEY = re.compile(r"^\s*([A-Za-z_][A-Za-z0-9_]*):(?:\s|$)")
_KEY_WITH_VALUE = re.compile(r"^\s*([A-Za-z_][A-Za-z0-9_]*):\s+[^\s#]")


def _indent(line: str) -> str:
    return line[: len(line) - len(line.lstrip(" \t"))]


def line_of(node: Node) -> int:
    return node.start_mark.line + 1


def _quoted_value_before(text: str, problem: yaml.Mark | None) -> yaml.ScalarToken | None:
    """The quoted value just before a syntax error at ``problem``, when it runs over
    several lines and ends on the error's line: most likely a quote left open."""
    if problem is None:
        return None
    tokens = []
    try:
        for token in yaml.scan(text, Loader=yaml.SafeLoader):
            if token.start_mark.index >= problem.index:
                break
            tokens.append(token)
    except yaml.YAMLError:
        pass  # the error itself: the tokens before it are what matters
    last = tokens[-1] if tokens else None
    if not isinstance(last, yaml.ScalarToken) or last.style not in ('"', "'"):
        return None
    spans = last.start_mark.line < last.end_mark.line == problem.line
    return last if spans else None


class YamlFile:
    """One parsed file plus the problems found while reading it."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.name = display_path(path)
        self.problems: list[Problem] = []
        self.lines: list[str] = []
        self.root: Node | None = None
        self._parse()

    def _parse(self) -> None:
        try:
            text = reading.read_text(self.path)
        except reading.UnsafeFile as exc:
            self._add(1, f"not read: this file {exc}", root=True)
            return
        except UnicodeDecodeError as exc:
            self._add(1, f"file is not UTF-8 text ({exc.reason}); save it as UTF-8", root=True)
            return
        except OSError as exc:
            self._add(1, f"cannot read the file: {exc.strerror}", root=True)
            return
        self.lines = text.splitlines()
        tabs = [n for n, line in enumerate(self.lines, 1) if "\t" in _indent(line)]
        for number in tabs:
            self._add(number, "indented with a tab; YAML needs spaces: replace it", root=True)
        if tabs:
            return
        try:
            self.root = reading.compose(text)
        except reading.StructureRefused as exc:
            self._add(exc.line, str(exc), root=True)
        except yaml.MarkedYAMLError as exc:
            if exc.problem == "could not find expected ':'" and exc.context_mark:
                # A line without ':' where a key was expected: YAML notices on the line
                # after it, and names the line itself as the context.
                line = exc.context_mark.line + 1
                self._add(line, self._no_colon_message(line), root=True)
                return
            if exc.context == "while scanning a quoted scalar" and exc.context_mark:
                # YAML reads on to the end of the file (or to a '---') for the closing
                # quote and names where it gave up: the cause is where the value starts.
                line = exc.context_mark.line + 1
                self._add(line, self._unclosed_message(line, exc.context_mark.column), root=True)
                return
            late = _quoted_value_before(text, exc.problem_mark)
            if late is not None:
                # A quote left open is closed by the next quote, lines further on, and YAML
                # stumbles on what follows that: the cause is where the value starts.
                start, end = late.start_mark, late.end_mark
                line = start.line + 1
                self._add(
                    line, self._closed_late_message(line, start.column, end.line + 1), root=True
                )
                return
            mark = exc.problem_mark or exc.context_mark
            line = mark.line + 1 if mark else 1
            col = mark.column + 1 if mark else 1
            self._add(line, self._syntax_message(line, col, exc.problem), root=True)
        except yaml.YAMLError as exc:
            self._add(1, f"YAML error: {exc}", root=True)
        if self.root is not None:
            self._check_folded(self.root)

    def _no_colon_message(self, line: int) -> str:
        text = self.lines[line - 1].strip() if 0 < line <= len(self.lines) else ""
        return (
            f"'{text}' has no ':', so YAML cannot read it; if it continues the text above, "
            "indent it like that text's other lines; if it is a key, add the ':'"
        )

    def _quote_at(self, line: int, column: int) -> str:
        here = self.lines[line - 1] if 0 < line <= len(self.lines) else ""
        return here[column] if column < len(here) else '"'

    def _unclosed_message(self, line: int, column: int) -> str:
        quote = self._quote_at(line, column)
        return (
            f"a quoted value starting here (column {column + 1}) is never closed; end it "
            f"with {quote} on this line, or remove the opening {quote}"
        )

    def _closed_late_message(self, line: int, column: int, closed: int) -> str:
        quote = self._quote_at(line, column)
        return (
            f"a quoted value starting here (column {column + 1}) is not closed on this line: "
            f"the next {quote} on line {closed} closes it, so YAML cannot read what follows "
            f"there; end the value with {quote} on this line"
        )

    def _syntax_message(self, line: int, col: int, problem: str | None) -> str:
        here = self.lines[line - 1] if 0 < line <= len(self.lines) else ""
        above = self.lines[line - 2] if 1 < line <= len(self.lines) else ""
        if problem == "mapping values are not allowed here":
            key, above_key = _KEY.match(here), _KEY_WITH_VALUE.match(above)
            # The key's own colon, below a key that already has its value on its line.
            if key and above_key and here.index(":") == col - 1:
                return (
                    f"'{key.group(1)}:' is indented deeper than '{above_key.group(1)}:' on "
                    f"line {line - 1}, so YAML reads it as part of that value; give the two "
                    "keys the same indentation"
                )
            return (
                f"YAML syntax error at column {col}: a ':' followed by a space inside a "
                'value; put the whole value in quotes ("...")'
            )
        what = problem or "invalid YAML"
        return (
            f"YAML syntax error at column {col}: {what}; check the indentation, "
            "colons and quotes on this line and the one before"
        )

    def _check_folded(self, node: Node) -> None:
        """YAML silently joins a plain (unquoted) value with the more indented lines below
        it: '- beacon' then ' - victim care' is one item "beacon - victim care"."""
        if isinstance(node, MappingNode):
            for key, value in node.value:
                self._check_folded(key)
                self._check_folded(value)
        elif isinstance(node, SequenceNode):
            for item in node.value:
                self._check_folded(item)
        elif isinstance(node, ScalarNode) and node.style is None:
            for number in range(node.start_mark.line + 1, node.end_mark.line + 1):
                text = self.lines[number].strip() if number < len(self.lines) else ""
                if text == "-" or text.startswith("- "):
                    self.error(
                        number + 1,
                        f"'{text}' is indented deeper than the '-' above, so YAML joins it "
                        f"to that item ('{node.value}'); line up the dashes",
                    )
                    return

    def error(self, where: Node | int, message: str) -> None:
        self._add(where, message, Severity.ERROR)

    def warning(self, where: Node | int, message: str, summary: str = "", item: str = "") -> None:
        """A warning; ``summary`` and ``item`` let many of one kind read as one line."""
        self._add(where, message, Severity.WARNING, summary=summary, item=item)

    def _add(
        self,
        where: Node | int,
        message: str,
        severity: Severity = Severity.ERROR,
        *,
        root: bool = False,
        summary: str = "",
        item: str = "",
    ) -> None:
        line = where if isinstance(where, int) else line_of(where)
        self.problems.append(
            Problem(self.name, line, message, severity, root_cause=root, summary=summary, item=item)
        )

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
        self,
        fields: dict[str, tuple[Node, Node]],
        known: set[str],
        what: str,
        elsewhere: Mapping[str, str] | None = None,
    ) -> None:
        """Reports keys not in ``known``; ``elsewhere`` names where keys of another level
        belong ("under 'thresholds:'"), for a key indented at the wrong level."""
        for key, (key_node, _) in fields.items():
            if key in known:
                continue
            if elsewhere and key in elsewhere:
                self.error(
                    key_node,
                    f"'{key}' belongs {elsewhere[key]}, not in {what}; check its indentation",
                )
                continue
            self.error(
                key_node,
                f"unknown key '{key}' in {what}; expected one of: {', '.join(sorted(known))}",
            )
