"""Turn an unanswered question into a new example of an intent, in the staff's YAML file.

The file is edited as text, one line inserted after the last example, so its comments
and layout stay as staff wrote them; the content is validated and the file restored if
the change would break it.
"""

from __future__ import annotations

import re
from pathlib import Path

import yaml

from bot.content.loading import load_content
from bot.content.problems import Problem


class ReviewError(Exception):
    pass


def yaml_scalar(text: str) -> str:
    """``text`` as one YAML scalar (quoted when YAML would misread it)."""
    dumped = yaml.safe_dump(text, allow_unicode=True, width=10**6, default_flow_style=True)
    return dumped.removesuffix("\n").removesuffix("\n...").strip()


def cited(question_id: int) -> str:
    """The comment after an example added from the question log: its question's number, so
    a resident's /forget can find their words again (``drafts.Draft.forget``)."""
    return f"  # from question #{question_id}"


CITED = re.compile(r"  # from question #(\d+)$")


def append_example(
    intents_dir: Path,
    knowledge_dir: Path,
    intent_id: str,
    text: str,
    seeds_dir: Path | None = None,
    question_id: int | None = None,
) -> list[Problem]:
    """Add ``text`` to the intent's examples, citing ``question_id`` when it came from the
    question log; returns warnings, raises ReviewError."""
    content, problems = load_content(intents_dir, knowledge_dir, seeds_dir)
    if content is None:
        raise ReviewError("the content has errors already; fix them first (./run validate)")
    intent = content.intents.get(intent_id)
    if intent is None:
        raise ReviewError(f"no intent '{intent_id}'; ids are: {', '.join(sorted(content.intents))}")
    path = Path(intent.path)
    original = path.read_text(encoding="utf-8")
    lines = original.splitlines(keepends=True)
    last = lines[intent.examples_end_line - 1] if intent.examples_end_line else ""
    stripped = last.lstrip()
    if not stripped.startswith("- "):
        raise ReviewError(f"{path}: the examples are not a '- item' list; add the example by hand")
    indent = last[: len(last) - len(stripped)]
    if not last.endswith("\n"):
        lines[intent.examples_end_line - 1] = last + "\n"
    citation = "" if question_id is None else cited(question_id)
    lines.insert(intent.examples_end_line, f"{indent}- {yaml_scalar(text)}{citation}\n")
    path.write_text("".join(lines), encoding="utf-8")
    content, problems = load_content(intents_dir, knowledge_dir, seeds_dir)
    if content is None:
        path.write_text(original, encoding="utf-8")
        raise ReviewError(
            "the new example would break the content, so it was not added:\n"
            + "\n".join(str(p) for p in problems)
        )
    return problems
