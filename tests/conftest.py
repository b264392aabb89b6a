from __future__ import annotations

import shutil
import textwrap
from pathlib import Path

import pytest

from bot.content.loading import load_content
from bot.matching.engine import Engine
from bot.settings import VARIABLES, Settings

SHARED = Path(__file__).resolve().parents[2] / "shared"
DEFAULTS = Settings()  # the project's own content folders


@pytest.fixture(autouse=True)
def no_outside_settings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Tests see neither the developer's environment nor a ``.env`` in the project."""
    for name in VARIABLES:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)


@pytest.fixture(scope="session")
def engine() -> Engine:
    content, problems = load_content(DEFAULTS.intents, DEFAULTS.knowledge, DEFAULTS.seeds)
    assert content is not None, "\n".join(map(str, problems))
    return Engine(content)


class ContentDir:
    """A copy of the project's content in a temporary folder, to break on purpose."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.intents = root / "intents"
        self.knowledge = root / "knowledge"
        shutil.copytree(DEFAULTS.intents, self.intents)
        shutil.copytree(DEFAULTS.knowledge, self.knowledge)

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
