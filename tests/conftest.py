from __future__ import annotations

import shutil
import textwrap
from pathlib import Path

import pytest

from bot.content.loading import DEFAULT_INTENTS, DEFAULT_KNOWLEDGE, load_content
from bot.matching.engine import Engine

SHARED = Path(__file__).resolve().parents[2] / "shared"


@pytest.fixture(scope="session")
def engine() -> Engine:
    content, problems = load_content()
    assert content is not None, "\n".join(map(str, problems))
    return Engine(content)


class ContentDir:
    """A copy of the project's content in a temporary folder, to break on purpose."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.intents = root / "intents"
        self.knowledge = root / "knowledge"
        shutil.copytree(DEFAULT_INTENTS, self.intents)
        shutil.copytree(DEFAULT_KNOWLEDGE, self.knowledge)

    def write(self, relative: str, text: str) -> Path:
        path = self.root / relative
        path.write_text(textwrap.dedent(text).lstrip("\n"), encoding="utf-8")
        return path

    def problems(self, seeds: Path | None = None) -> list[str]:
        _, problems = load_content(self.intents, self.knowledge, seeds)
        return [str(p) for p in problems]


@pytest.fixture
def content_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> ContentDir:
    monkeypatch.chdir(tmp_path)  # problems name files relative to the working directory
    return ContentDir(tmp_path)
