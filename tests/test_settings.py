"""One Settings for every command: environment over ``.env``, flags over both."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from bot.entry import main
from bot.settings import VARIABLES, load_settings
from tests.conftest import ContentDir
from tests.telegram_harness import TOKEN
from tests.test_admin import _database_with

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def changed(content_dir: ContentDir) -> ContentDir:
    """A copy of the content that answers thanks differently and under another id, so a
    command shows which folder it read."""
    thanks = content_dir.intents / "thanks.yaml"
    text = thanks.read_text().replace("You're welcome.", "Glad to help!")
    thanks.write_text(text.replace("id: thanks\n", "id: thanks_copy\n", 1))
    return content_dir


def test_flags_win_over_the_environment_which_wins_over_dotenv(tmp_path):
    (tmp_path / ".env").write_text(f"INTENTS_DIR={tmp_path}\nDATABASE_PATH=from-dotenv.db\n")
    from bot.settings import read_environment

    env = read_environment({"DATABASE_PATH": "from-env.db"})
    settings, problems = load_settings(env)
    assert problems == []
    assert settings.intents == tmp_path and settings.database == Path("from-env.db")
    settings, _ = load_settings(env, {"intents": ROOT, "database": Path("flag.db")})
    assert settings.intents == ROOT and settings.database == Path("flag.db")


@pytest.mark.parametrize("text", ["off", "OFF", "0", "false", "no"])
def test_watch_content_off_turns_watching_off_as_encoder_off_does(text):
    settings, problems = load_settings({"WATCH_CONTENT": text, "ENCODER": text})
    assert problems == []
    assert settings.watch_content is False and settings.encoder is False
    assert load_settings({"WATCH_CONTENT": "on"})[0].watch_content is True


def test_every_variable_is_declared_once_with_its_setting():
    from bot.settings import TABLE, Settings

    fields = [field for _, field, _ in TABLE]
    assert len(set(VARIABLES)) == len(VARIABLES) and len(set(fields)) == len(fields)
    assert set(fields) == set(Settings.__dataclass_fields__)


def test_intents_dir_in_dotenv_is_honoured_by_validate_ask_chat_eval_and_calibrate(
    changed, capsys, monkeypatch
):
    (changed.root / ".env").write_text(f"INTENTS_DIR={changed.intents}\n")
    assert main(["ask", "thank you very much"]) == 0
    assert "Glad to help!" in capsys.readouterr().out

    monkeypatch.setattr("sys.stdin", io.StringIO("thank you very much\nquit\n"))
    assert main(["chat", "--database", str(changed.root / "bot.sqlite3")]) == 0
    assert "Glad to help!" in capsys.readouterr().out

    cases = changed.root / "cases.jsonl"
    cases.write_text('{"text": "thank you very much", "expect": "thanks_copy"}\n')
    assert main(["eval", str(cases), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["accuracy"] == 1.0

    assert main(["calibrate", str(cases)]) == 0
    assert f"in {changed.intents / '_matching.yaml'} to use it" in capsys.readouterr().out

    changed.write("intents/broken.yaml", "id: [\n")
    assert main(["validate"]) == 1
    assert "intents/broken.yaml:" in capsys.readouterr().out


def test_database_path_in_dotenv_is_honoured_by_review_and_stats(tmp_path, content_dir, capsys):
    store = _database_with(tmp_path, ["parking fines in my street", "parking fines"])
    (tmp_path / ".env").write_text(f"DATABASE_PATH={store.path}\n")
    assert main(["stats"]) == 0
    assert "Messages in the last 30 days: 2" in capsys.readouterr().out
    assert main(["review"]) == 0
    assert '2× "parking fines" [#2]' in capsys.readouterr().out
    assert main(["review", "ignore", "2"]) == 0
    dirs = ["--intents", str(content_dir.intents), "--knowledge", str(content_dir.knowledge)]
    assert main(["review", "add", "1", "report_crime", *dirs]) == 0
    capsys.readouterr()
    assert main(["review"]) == 0
    assert "No unanswered questions" in capsys.readouterr().out


def test_every_command_takes_the_content_and_database_options():
    from bot.entry import build_parser

    parser = build_parser()
    common = ["--intents", "i", "--knowledge", "k", "--database", "d"]
    positional = {"eval": ["cases.jsonl"], "calibrate": ["cases.jsonl"]}
    commands = ("run", "serve", "chat", "ask", "eval", "validate", "calibrate", "review", "stats")
    for command in commands:
        args = parser.parse_args([command, *positional.get(command, []), *common])
        assert (args.intents, args.knowledge, args.database) == (Path("i"), Path("k"), Path("d"))


# ./run with the token only in .env: the real entry point, the real Application, a fake
# Bot API; the first reply asks the process to stop (SIGTERM), as in test_shutdown.
SCRIPT = textwrap.dedent(
    """
    import asyncio, json, os, signal, sys
    from tests.fake_telegram import FakeBotAPI, message
    from bot.entry import main

    class OneReply(FakeBotAPI):
        async def _sendMessage(self, params):
            os.kill(os.getpid(), signal.SIGTERM)
            return await super()._sendMessage(params)

    fake = OneReply()
    fake.push(message(5000, "thank you very much"))
    code = main(json.loads(sys.argv[1]), request=fake)
    print(json.dumps({"code": code, "replies": [c.text for c in fake.sent()],
                      "token_used": any(os.environ.get("T", "") in c.url for c in fake.calls)}))
    """
)


def run_script(folder: Path, argv: list[str]) -> dict:
    env = {k: v for k, v in os.environ.items() if k not in VARIABLES}
    env.update(PYTHONPATH=str(ROOT), T=TOKEN)
    result = subprocess.run(
        [sys.executable, "-c", SCRIPT, json.dumps(argv)],
        cwd=folder,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_a_token_only_in_dotenv_starts_telegram_with_its_folders_and_database(changed):
    database = changed.root / "db" / "bot.sqlite3"
    (changed.root / ".env").write_text(
        f"TELEGRAM_BOT_TOKEN={TOKEN}\nWATCH_CONTENT=0\nINTENTS_DIR={changed.intents}\n"
        f"DATABASE_PATH={database}\n"
    )
    outcome = run_script(changed.root, [])  # ./run with no arguments
    assert outcome["code"] == 0 and outcome["token_used"]
    assert outcome["replies"][0].startswith("Glad to help!")
    assert database.exists()


def test_run_honours_the_content_flags_in_telegram_mode(changed):
    database = changed.root / "flag.sqlite3"
    (changed.root / ".env").write_text(f"TELEGRAM_BOT_TOKEN={TOKEN}\nWATCH_CONTENT=0\n")
    argv = ["run", "--intents", str(changed.intents), "--database", str(database)]
    outcome = run_script(changed.root, argv)
    assert outcome["replies"][0].startswith("Glad to help!")
    assert database.exists()


def test_a_postgresql_address_needs_the_shared_hash_key_and_anything_else_is_refused():
    url = "postgresql://herts:pw@db.internal:5432/herts"
    settings, problems = load_settings({"DATABASE_URL": url, "HASH_SECRET": "s" * 32})
    assert problems == [] and settings.database_url == url
    _, problems = load_settings({"DATABASE_URL": url})
    assert problems == [
        "HASH_SECRET must be set with DATABASE_URL: every instance must hash Telegram ids "
        "with the same key (16 or more characters)"
    ]
    _, problems = load_settings({"DATABASE_URL": "mysql://db/herts", "HASH_SECRET": "s" * 32})
    assert problems == [
        "DATABASE_URL must be a PostgreSQL address: postgresql://user:password@host/db"
    ]


def test_the_web_chat_settings_read_a_port_and_the_sites_that_may_embed_it():
    settings, problems = load_settings(
        {
            "WEB_CHAT_PORT": "8090",
            "WEB_CHAT_EMBED_ORIGINS": "https://www.hertscommissioner.gov.uk/, http://localhost:3000",
        }
    )
    assert problems == []
    assert settings.web_chat_port == 8090
    assert settings.web_chat_embed_origins == (
        "https://www.hertscommissioner.gov.uk",
        "http://localhost:3000",
    )
    assert load_settings({})[0].web_chat_port is None  # `web` then uses 8080, `serve` none
    _, problems = load_settings({"WEB_CHAT_EMBED_ORIGINS": "https://x.uk/page; script-src *"})
    assert problems == [
        "WEB_CHAT_EMBED_ORIGINS: 'https://x.uk/page;' is not a site's origin (scheme and host, "
        "e.g. https://www.hertscommissioner.gov.uk)"
    ]
