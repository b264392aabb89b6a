"""Starting the bot: settings are checked first, and the token never reaches the logs."""

import logging

from bot.runner import run_bot
from tests.fake_telegram import FakeBotAPI
from tests.telegram_harness import TOKEN


def test_bad_settings_are_listed_one_per_line_and_stop_the_start(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    env = {
        "TELEGRAM_BOT_TOKEN": "not-a-token",
        "ADMIN_IDS": "12345, alice",
        "LOG_LEVEL": "LOUD",
        "WEBHOOK_URL": "http://example.org/hook",
        "INTENTS_DIR": str(tmp_path / "missing"),
        "RETENTION_DAYS": "-3",
    }
    assert run_bot(env) == 2
    lines = capsys.readouterr().err.splitlines()
    assert lines == [
        "setting error: TELEGRAM_BOT_TOKEN does not look like a bot token (digits:letters); "
        "copy it again from @BotFather",
        "setting error: ADMIN_IDS: 'alice' is not a numeric Telegram user id (use "
        "comma-separated numbers, e.g. 12345,67890)",
        f"setting error: INTENTS_DIR: folder '{tmp_path / 'missing'}' does not exist",
        "setting error: LOG_LEVEL: 'LOUD' is not one of DEBUG, INFO, WARNING, ERROR",
        "setting error: WEBHOOK_URL must start with https:// (Telegram only calls HTTPS)",
        "setting error: WEBHOOK_SECRET must be set with WEBHOOK_URL: 8-256 characters of A-Z, "
        "a-z, 0-9, _ and -",
        "setting error: RETENTION_DAYS: '-3' must be a number of at least 1",
    ]


def test_settings_come_from_a_dotenv_file_too(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    (tmp_path / ".env").write_text("ADMIN_IDS=oops\n")
    assert run_bot({"TELEGRAM_BOT_TOKEN": TOKEN}) == 2
    assert "ADMIN_IDS: 'oops'" in capsys.readouterr().err


def test_the_token_never_appears_in_the_logs(tmp_path, monkeypatch, caplog):
    monkeypatch.chdir(tmp_path)
    caplog.set_level(logging.DEBUG)
    fake = FakeBotAPI()
    fake.fail_next("getMe", 401, f"Unauthorized: bad token {TOKEN}")
    assert run_bot({"TELEGRAM_BOT_TOKEN": TOKEN, "LOG_LEVEL": "DEBUG"}, request=fake) == 2
    logging.getLogger("httpx").info(
        "HTTP Request: POST https://api.telegram.org/bot%s/getMe", TOKEN
    )
    assert "rejected the bot token" in caplog.text
    assert "[token]" in caplog.text
    assert TOKEN not in caplog.text
    assert TOKEN.split(":")[1] not in caplog.text
