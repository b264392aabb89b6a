"""An installed package (pip install .) answers from the content it ships, anywhere."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from bot.settings import VARIABLES
from tests.conftest import CACHE
from tests.test_settings import ROOT

BUILD_INPUTS = ["pyproject.toml", "setup.py", "MANIFEST.in", "README.md"]
BUILD_FOLDERS = ["bot", "intents", "knowledge"]


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The package built and installed as pip does it, from a copy of the checkout (so the
    build leaves nothing behind in it); offline: the test tools include setuptools."""
    work = tmp_path_factory.mktemp("install")
    source = work / "source"
    source.mkdir()
    for name in BUILD_INPUTS:
        shutil.copy2(ROOT / name, source / name)
    for name in BUILD_FOLDERS:
        shutil.copytree(ROOT / name, source / name, ignore=shutil.ignore_patterns("__pycache__"))
    target = work / "site"
    offline = ["--no-deps", "--no-index", "--no-build-isolation", "--disable-pip-version-check"]
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "--quiet", *offline, "--target", target, source],
        check=True,
        capture_output=True,
        timeout=300,
    )
    return target


def run_installed(target: Path, home: Path, args: list[str]) -> subprocess.CompletedProcess[str]:
    """``python ARGS`` in an empty folder, with only the installed copy of the bot importable
    and ``home`` as the user's home."""
    env = {k: v for k, v in os.environ.items() if k not in VARIABLES and k != "PYTHONPATH"}
    env.update(PYTHONPATH=str(target), HOME=str(home), CACHE_DIR=str(CACHE))
    env.pop("XDG_DATA_HOME", None)
    folder = home / "empty"
    folder.mkdir(parents=True, exist_ok=True)
    result = subprocess.run(
        [sys.executable, *args], cwd=folder, env=env, capture_output=True, text=True, timeout=120
    )
    assert list(folder.iterdir()) == []  # nothing is written where it was run
    return result


def test_the_installed_bot_answers_from_an_empty_folder(installed, tmp_path):
    result = run_installed(installed, tmp_path, ["-m", "bot", "ask", "--json", "beacon number"])
    assert result.returncode == 0, result.stderr
    reply = json.loads(result.stdout)
    assert reply["intent"] == "victim_support_beacon" and "0300 011 55 55" in reply["reply"]


def test_the_package_ships_the_safety_corpus_and_facts_and_keeps_the_database_outside(
    installed, tmp_path
):
    probe = (
        "import json, bot; from bot.settings import load_settings, read_environment; "
        "s, problems = load_settings(read_environment()); "
        "print(json.dumps([bot.__file__, str(s.intents), str(s.knowledge), str(s.database), "
        "problems]))"
    )
    result = run_installed(installed, tmp_path, ["-c", probe])
    assert result.returncode == 0, result.stderr
    module, intents, knowledge, database, problems = json.loads(result.stdout)
    assert problems == []
    assert Path(module).is_relative_to(installed)  # the installed copy, not the checkout
    assert Path(intents, "_safety", "danger_now.yaml").is_file()
    assert Path(knowledge, "support.yaml").is_file()
    assert Path(database) == tmp_path / ".local/share/herts-safety-bot/bot.sqlite3"


def test_validate_passes_on_the_shipped_content(installed, tmp_path):
    result = run_installed(installed, tmp_path, ["-m", "bot", "validate"])
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.splitlines()[-1].startswith(("Content OK", "0 errors"))
