"""The draft: a copy of intents/ and knowledge/ where review additions wait until an admin
publishes them, so an example added from Telegram never goes live unchecked.

The draft records a digest of every live file when it is made; publishing copies over only
the files the draft changed, and refuses if one of them was also changed live since (staff
editing by hand), rather than silently undoing that edit.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from pathlib import Path

from bot.content.problems import Problem
from bot.content.review import CITED, append_example

FOLDERS = ("intents", "knowledge")


class DraftConflict(Exception):
    """A file the draft changes was also changed live after the draft was made."""


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _cites(line: str, question_ids: set[int]) -> bool:
    found = CITED.search(line.rstrip("\r\n"))
    return found is not None and int(found[1]) in question_ids


def _files(folder: Path) -> dict[str, Path]:
    return {p.relative_to(folder).as_posix(): p for p in sorted(folder.rglob("*")) if p.is_file()}


class Draft:
    """The draft kept in ``root`` for the live folders ``intents`` and ``knowledge``."""

    def __init__(self, root: Path, intents: Path, knowledge: Path) -> None:
        self.root = root
        self.live = {"intents": intents, "knowledge": knowledge}
        self.intents, self.knowledge = root / "intents", root / "knowledge"
        self._base = root / "base.json"

    @property
    def exists(self) -> bool:
        return self._base.exists()

    def _ensure(self) -> None:
        if self.exists:
            return
        self.discard()
        for name in FOLDERS:
            shutil.copytree(self.live[name], self.root / name)
        base = {
            f"{name}/{rel}": _digest(path)
            for name in FOLDERS
            for rel, path in _files(self.live[name]).items()
        }
        self._base.write_text(json.dumps(base, indent=1), encoding="utf-8")

    def add_example(
        self,
        intent_id: str,
        text: str,
        seeds: Path | None = None,
        question_id: int | None = None,
    ) -> list[Problem]:
        """Append ``text`` to the intent's examples in the draft (made on first use), citing
        the question it came from; raises ReviewError, leaving the draft as it was."""
        fresh = not self.exists
        self._ensure()
        try:
            return append_example(self.intents, self.knowledge, intent_id, text, seeds, question_id)
        except Exception:
            if fresh:
                self.discard()
            raise

    def forget(self, question_ids: set[int]) -> int:
        """Remove the examples added from these questions (a resident's /forget); returns
        how many. Only lines the review added carry a citation, so staff's own are kept."""
        if not self.exists or not question_ids:
            return 0
        removed = 0
        for path in sorted(self.intents.rglob("*.yaml")):
            lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
            kept = [line for line in lines if not _cites(line, question_ids)]
            if len(kept) != len(lines):
                removed += len(lines) - len(kept)
                path.write_text("".join(kept), encoding="utf-8")
        return removed

    def changes(self) -> list[str]:
        """The files (``intents/x.yaml``) the draft adds, changes or deletes."""
        if not self.exists:
            return []
        changed: list[str] = []
        for name in FOLDERS:
            draft, live = _files(self.root / name), _files(self.live[name])
            changed.extend(
                f"{name}/{rel}"
                for rel in sorted(draft.keys() | live.keys())
                if rel not in draft or rel not in live or _digest(draft[rel]) != _digest(live[rel])
            )
        return changed

    def conflicts(self) -> list[str]:
        """Changed files whose live copy differs from when the draft was made."""
        base: dict[str, str] = json.loads(self._base.read_text(encoding="utf-8"))
        found = []
        for rel in self.changes():
            name, _, inner = rel.partition("/")
            live = self.live[name] / inner
            now = _digest(live) if live.exists() else None
            if now != base.get(rel):
                found.append(rel)
        return found

    def apply(self) -> list[str]:
        """Copy the draft's changes over the live files (each replaced whole, atomically),
        drop the draft, and return the files changed."""
        conflicts = self.conflicts()
        if conflicts:
            raise DraftConflict(
                "changed live since the draft was made: "
                + ", ".join(conflicts)
                + "; discard the draft and add the examples again"
            )
        changed = self.changes()
        for rel in changed:
            name, _, inner = rel.partition("/")
            source, target = self.root / name / inner, self.live[name] / inner
            if not source.exists():
                target.unlink(missing_ok=True)
                continue
            target.parent.mkdir(parents=True, exist_ok=True)
            temporary = target.with_name(f".{target.name}.publishing")
            shutil.copyfile(source, temporary)
            os.replace(temporary, target)
        self.discard()
        return changed

    def discard(self) -> None:
        shutil.rmtree(self.root, ignore_errors=True)
