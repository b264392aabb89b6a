"""Packs the default content into the package, so an installed bot answers out of the box.

Everything else is in pyproject.toml. ``intents/`` and ``knowledge/`` stay at the top of
the checkout, where staff edit them; a built wheel carries a copy in
``bot/default_content/``, which the settings use when the bot runs without a checkout.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

HERE = Path(__file__).resolve().parent


class BuildWithContent(build_py):
    def run(self) -> None:
        super().run()
        if self.editable_mode:  # an editable install reads the checkout's own folders
            return
        for name in ("intents", "knowledge"):
            shutil.copytree(
                HERE / name,
                Path(self.build_lib) / "bot" / "default_content" / name,
                dirs_exist_ok=True,
                ignore=shutil.ignore_patterns("__pycache__", "*.pyc", ".*"),
            )


setup(cmdclass={"build_py": BuildWithContent})
