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


def has_errors(problems: list[Problem]) -> bool:
    return any(p.severity is Severity.ERROR for p in problems)
