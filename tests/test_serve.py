"""Running as a service: `serve` is Telegram only, and the container is built to run it."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

from bot.settings import VARIABLES
from tests.conftest import ContentDir
from tests.telegram_harness import TOKEN
from tests.test_settings import ROOT, run_script


def run_cli(args: list[str], folder: Path, **env: str) -> subprocess.CompletedProcess[str]:
    """``python -m bot ARGS`` as a separate process, without the developer's settings."""
    clean = {k: v for k, v in os.environ.items() if k not in VARIABLES}
    clean.update(PYTHONPATH=str(ROOT), **env)
    return subprocess.run(
        [sys.executable, "-m", "bot", *args],
        cwd=folder,
        env=clean,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_serve_without_a_token_exits_2_with_one_line_naming_the_setting(tmp_path):
    result = run_cli(["serve"], tmp_path)
    assert result.returncode == 2
    assert result.stdout == ""
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and "TELEGRAM_BOT_TOKEN is not set" in lines[0]


def test_serve_with_a_token_polls_telegram_and_answers(content_dir: ContentDir):
    database = content_dir.root / "bot.sqlite3"
    (content_dir.root / ".env").write_text(
        f"TELEGRAM_BOT_TOKEN={TOKEN}\nWATCH_CONTENT=0\nDATABASE_PATH={database}\n"
    )
    outcome = run_script(content_dir.root, ["serve"])
    assert outcome["code"] == 0 and outcome["token_used"]
    assert outcome["replies"][0].startswith("You're welcome.")
    assert database.exists()


def test_help_lists_every_command_in_plain_words(tmp_path):
    result = run_cli(["--help"], tmp_path)
    assert result.returncode == 0
    commands = ["run", "serve", "chat", "ask", "eval", "validate", "calibrate", "review", "stats"]
    for command in commands:
        assert re.search(rf"^\s+{command}\b", result.stdout, re.MULTILINE), command
    assert "``" not in result.stdout and "[run|" not in result.stdout


def dockerfile_instructions() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) per Dockerfile instruction, continuation lines joined."""
    text = re.sub(r"\\\n", " ", (ROOT / "Dockerfile").read_text())
    lines = [line.strip() for line in text.splitlines()]
    return [
        (line.split(None, 1)[0].upper(), line.split(None, 1)[1])
        for line in lines
        if line and not line.startswith("#")
    ]


def test_the_image_runs_serve_exposes_the_webhook_port_and_checks_health():
    instructions = dockerfile_instructions()
    commands = [args for op, args in instructions if op == "CMD"]
    assert commands == ['["python", "-m", "bot", "serve"]']
    env = " ".join(args for op, args in instructions if op == "ENV")
    port = re.search(r"WEBHOOK_PORT=(\d+)", env)
    assert port and ("EXPOSE", port.group(1)) in instructions
    [check] = [args for op, args in instructions if op == "HEALTHCHECK"]
    assert check.endswith('CMD ["python", "-m", "bot", "health"]')
    assert "HEALTH_FILE=" in env and "DATABASE_PATH=/data/" in env
    assert ("USER", "bot") in instructions


def test_the_build_context_leaves_out_secrets_and_local_state():
    patterns = {
        line.strip().rstrip("/")
        for line in (ROOT / ".dockerignore").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    }
    assert {".env", ".venv", ".git", "data"} <= patterns
    copied = [args.split()[0] for op, args in dockerfile_instructions() if op == "COPY"]
    assert not any(name.startswith((".env", ".venv", ".git", "data")) for name in copied)
