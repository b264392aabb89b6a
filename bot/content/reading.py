"""Reading one staff file safely, before YAML sees it.

A content folder is written by people and by deploy tools, so it can hold what no YAML
reader should follow: a FIFO (reading blocks for ever, holding the reload), a device or a
symlink to one (``/dev/zero`` fills memory), a symlink out of the folder, a file of tens
of megabytes, a YAML alias "bomb" whose nested references expand to billions of nodes, or
brackets nested thousands deep (YAML's reader recurses once per level, and slows with the
square of the depth). Each of these becomes a one-line problem for the file instead.

Symlinks that stay inside the file's own folder are followed: a Kubernetes ConfigMap mounts
each file as a link into a hidden folder beside it.
"""

from __future__ import annotations

import errno
import os
import stat
from pathlib import Path

import yaml
from yaml.nodes import Node

MAX_FILE_BYTES = 1_000_000  # the largest topic file is about 20 KB
MAX_TOTAL_BYTES = 20_000_000  # every content file together: about 1.5 MB today
MAX_DEPTH = 50  # lists and maps inside each other; content needs four or five


class UnsafeFile(ValueError):
    """The file was not read; the message says why, for staff."""


class StructureRefused(ValueError):
    """YAML that content never needs and that could exhaust the reader, on ``line``
    (1-based): an alias, or nesting past ``MAX_DEPTH``."""

    def __init__(self, message: str, line: int) -> None:
        super().__init__(message)
        self.line = line


def read_text(path: Path) -> str:
    """The file's text; ``UnsafeFile`` for anything but a regular file within its folder
    and the size cap. ``OSError`` (a link to itself among them) and ``UnicodeDecodeError``
    pass through."""
    if path.is_symlink():
        try:
            target = path.resolve()
        except RuntimeError as exc:  # Python before 3.13 says a link loop so, not as OSError
            raise OSError(errno.ELOOP, os.strerror(errno.ELOOP), str(path)) from exc
        if not target.is_relative_to(path.parent.resolve()):
            raise UnsafeFile("is a link to a file outside its folder; copy the file in instead")
    # Non-blocking: opening a FIFO for reading would otherwise wait for a writer.
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
    with os.fdopen(fd, "rb") as file:
        info = os.fstat(file.fileno())
        if not stat.S_ISREG(info.st_mode):
            raise UnsafeFile("is not a regular file (a pipe, device or folder); remove it")
        if info.st_size > MAX_FILE_BYTES:
            raise UnsafeFile(
                f"is {info.st_size:,} bytes; content files must be under {MAX_FILE_BYTES:,}"
            )
        data = file.read(MAX_FILE_BYTES + 1)
    if len(data) > MAX_FILE_BYTES:  # it grew while being read
        raise UnsafeFile(f"is over {MAX_FILE_BYTES:,} bytes; content files must be smaller")
    return data.decode("utf-8")


def total_bytes(*folders: Path) -> int:
    """The size of the YAML files in ``folders`` and below, links followed, what is not a
    regular file (a FIFO, a device) left out: without reading any of them."""
    total = 0
    for folder in folders:
        for path in folder.rglob("*.y*ml") if folder.is_dir() else ():
            try:
                info = path.stat()
            except OSError:
                continue  # a dangling link: its own reading says so
            if stat.S_ISREG(info.st_mode):
                total += info.st_size
    return total


def compose(text: str) -> Node | None:
    """YAML's node tree, refusing aliases (``*name``: nested aliases are how a small file
    expands to exhaust memory) and deep nesting, before the tree is built."""
    depth = 0
    for event in yaml.parse(text, Loader=yaml.SafeLoader):
        line = event.start_mark.line + 1 if event.start_mark else 1
        if isinstance(event, yaml.AliasEvent):
            raise StructureRefused(
                "an alias (*name) is not allowed in content files; write the value out", line
            )
        if isinstance(event, yaml.CollectionStartEvent):
            depth += 1
            if depth > MAX_DEPTH:
                raise StructureRefused(
                    f"lists or sections are nested more than {MAX_DEPTH} deep; "
                    "check the brackets and indentation",
                    line,
                )
        elif isinstance(event, yaml.CollectionEndEvent):
            depth -= 1
    return yaml.compose(text, Loader=yaml.SafeLoader)
