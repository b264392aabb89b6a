"""Problems found in staff-edited content, reported as ``path:line: message``."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path


class Severity(StrEnum):
    ERROR = "error"
    WARNING = "warning"


@dataclass(frozen=True, order=True)
class Problem:
    path: str
    line: int
    message: str
    severity: Severity = Severity.ERROR
    # A file YAML could not read: later problems (a missing fact, a missing intent) may
    # follow from it, so it is reported first.
    root_cause: bool = field(default=False, compare=False)
    # Warnings of one kind across many files ("card not reviewed") are shown as one line:
    # ``summary`` is that line, with {count} and {items}, and ``item`` this one's part.
    summary: str = field(default="", compare=False)
    item: str = field(default="", compare=False)

    def __str__(self) -> str:
        prefix = "warning: " if self.severity is Severity.WARNING else ""
        return f"{self.path}:{self.line}: {prefix}{self.message}"


def display_path(path: Path) -> str:
    """A path relative to the working directory when it is below it, else as given."""
    try:  # the link's own name, not its target's: staff fix the file they see
        return str(Path(os.path.abspath(path)).relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)


def causes_first(problems: list[Problem]) -> list[Problem]:
    """Files that did not parse first, then the rest by file and line."""
    return sorted(problems, key=lambda p: (not p.root_cause, p))


SUMMARISE_FROM = 3
"""Warnings of one kind are summarised when there are at least this many."""


def summarised(problems: list[Problem]) -> list[Problem]:
    """The problems with each kind of many warnings replaced by one line, where its first
    warning was: "12 language cards await a fluent reviewer: ar, bg, ..."."""
    kinds: dict[str, list[Problem]] = {}
    for problem in problems:
        if problem.summary:
            kinds.setdefault(problem.summary, []).append(problem)
    out = []
    for problem in problems:
        same = kinds.get(problem.summary, [])
        if len(same) < SUMMARISE_FROM:
            out.append(problem)
        elif problem is same[0]:
            items = ", ".join(dict.fromkeys(p.item for p in same))
            message = problem.summary.format(count=len(same), items=items)
            out.append(
                Problem(
                    problem.path,
                    problem.line,
                    f"{message} (validate --verbose lists each)",
                    Severity.WARNING,
                )
            )
    return out


def has_errors(problems: list[Problem]) -> bool:
    return any(p.severity is Severity.ERROR for p in problems)
