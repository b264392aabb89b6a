"""Starting the bot: settings are checked first, and the token never reaches the logs."""

import logging

from bot.entry import main
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
    assert main(["run"], env=env) == 2
    lines = capsys.readouterr().err.splitlines()
    assert lines == [
        "setting error: TELEGRAM_BOT_TOKEN does not look like a bot token (digits:letters); "
        "copy it again from @BotFather",
        "setting error: ADMIN_IDS: 'alice' is not a numeric Telegram user id (use "
        "comma-separated numbers, e.g. 12345,67890)",
        "setting error: LOG_LEVEL: 'LOUD' is not one of DEBUG, INFO, WARNING, ERROR",
        "setting error: WEBHOOK_URL must start with https:// (Telegram only calls HTTPS)",
        "setting error: RETENTION_DAYS: '-3' must be a number of at least 1",
        f"setting error: INTENTS_DIR: folder '{tmp_path / 'missing'}' does not exist",
        "setting error: WEBHOOK_SECRET must be set with WEBHOOK_URL: 8-256 characters of A-Z, "
        "a-z, 0-9, _ and -",
    ]


def test_settings_come_from_a_dotenv_file_too(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    (tmp_path / ".env").write_text("ADMIN_IDS=oops\n")
    assert main(["run"], env={"TELEGRAM_BOT_TOKEN": TOKEN}) == 2
    assert "ADMIN_IDS: 'oops'" in capsys.readouterr().err


def test_the_token_never_appears_in_the_logs(tmp_path, monkeypatch, caplog):
    monkeypatch.chdir(tmp_path)
    caplog.set_level(logging.DEBUG)
    fake = FakeBotAPI()
    fake.fail_next("getMe", 401, f"Unauthorized: bad token {TOKEN}")
    env = {"TELEGRAM_BOT_TOKEN": TOKEN, "LOG_LEVEL": "DEBUG"}
    env["DATABASE_PATH"] = str(tmp_path / "bot.sqlite3")
    assert main(["run"], env=env, request=fake) == 2
    logging.getLogger("httpx").info(
        "HTTP Request: POST https://api.telegram.org/bot%s/getMe", TOKEN
    )
    assert "rejected the bot token" in caplog.text
    assert "[token]" in caplog.text
    assert TOKEN not in caplog.text
    assert TOKEN.split(":")[1] not in caplog.text


def _webhook_settings():
    """Webhook settings on a free local port, and the port."""
    import dataclasses
    import socket

    from bot.settings import Settings

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    settings = dataclasses.replace(
        Settings(token=TOKEN),
        webhook_url="https://bot.example.org",
        webhook_secret="s3cret-token",
        webhook_listen="127.0.0.1",
        webhook_port=port,
    )
    return settings, port


async def test_webhook_mode_checks_the_secret_token_and_answers(engine):
    import json

    import httpx

    from bot.telegram.runner import ALLOWED_UPDATES
    from bot.telegram.webhook import set_webhook, webhook_server
    from tests.fake_telegram import message
    from tests.telegram_harness import running_bot

    settings, port = _webhook_settings()
    async with running_bot(engine) as (fake, _, app):
        await app.updater.stop()  # switch from polling to the webhook server
        server = webhook_server(app, settings)
        try:
            await set_webhook(app, settings, ALLOWED_UPDATES)
            (hook,) = fake.sent("setWebhook")
            assert hook.params["url"] == "https://bot.example.org/telegram"
            assert hook.params["secret_token"] == "s3cret-token"
            update = {"update_id": 1, **message(42, "beacon number")}
            async with httpx.AsyncClient() as client:
                url = f"http://127.0.0.1:{port}/telegram"
                for wrong in ({"X-Telegram-Bot-Api-Secret-Token": "nope"}, {}):
                    refused = await client.post(url, json=update, headers=wrong)
                    assert refused.status_code == 403
                right = await client.post(
                    url,
                    content=json.dumps(update),
                    headers={
                        "X-Telegram-Bot-Api-Secret-Token": "s3cret-token",
                        "Content-Type": "application/json",
                    },
                )
                assert right.status_code == 200
            await fake.wait_for(lambda: fake.sent(chat_id=42))
            assert "0300 011 55 55" in fake.sent(chat_id=42)[0].text
        finally:
            server.stop()


def test_a_webhook_address_telegram_refuses_stops_the_bot_with_one_line(tmp_path, caplog):
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    fake = FakeBotAPI()
    fake.fail_next("setWebhook", 400, "Bad Request: bad webhook: Failed to resolve host")
    env = {
        "TELEGRAM_BOT_TOKEN": TOKEN,
        "DATABASE_PATH": str(tmp_path / "bot.sqlite3"),
        "WATCH_CONTENT": "0",
        "WEBHOOK_URL": "https://no-such-host.example.org",
        "WEBHOOK_SECRET": "s3cret-token",
        "WEBHOOK_LISTEN": "127.0.0.1",
        "WEBHOOK_PORT": str(port),
    }
    assert main(["run"], env=env, request=fake) == 2
    errors = [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]
    assert errors == [
        "Telegram refused the webhook (Bad webhook: failed to resolve host); check WEBHOOK_URL"
    ]
    tries = [c.method for c in fake.calls if c.method.startswith("setWebhook")]
    assert tries == ["setWebhook:400"]  # not retried for ever


async def test_the_health_file_is_touched_while_the_bot_runs(engine, tmp_path):
    from tests.telegram_harness import running_bot

    health = tmp_path / "alive"
    async with running_bot(engine, health_file=health) as (fake, _, _):
        await fake.wait_for(health.exists)


async def test_an_unreachable_telegram_at_start_is_logged_and_retried(engine, caplog, tmp_path):
    from bot.app.assembly import open_store
    from bot.app.assistant import Assistant
    from bot.matching.live import LiveContent
    from bot.settings import Settings
    from bot.telegram.app import build_application
    from bot.telegram.runner import wait_for_telegram

    fake = FakeBotAPI()
    fake.fail_next("getMe", 502, "Bad Gateway")
    fake.fail_next("getMe", 502, "Bad Gateway")
    settings = Settings(token=TOKEN, database=tmp_path / "bot.sqlite3")
    assistant = Assistant(settings, LiveContent(engine), open_store(settings, engine.content))
    app = build_application(assistant, request=fake)
    await wait_for_telegram(app, "https://api.telegram.org", first_wait=0.01)
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert (
        warnings
        == ["cannot reach Telegram at https://api.telegram.org (Bad Gateway); retrying in 0 s"] * 2
    )
    assert [c.method for c in fake.calls] == ["getMe:502", "getMe:502", "getMe"]


async def test_the_webhook_refuses_big_or_secretless_bodies_unread_and_skips_deep_nesting(engine):
    import asyncio
    import json

    import httpx

    from bot.telegram.webhook import MAX_BODY_BYTES, webhook_server
    from tests.fake_telegram import message
    from tests.telegram_harness import running_bot

    settings, port = _webhook_settings()
    secret = {"X-Telegram-Bot-Api-Secret-Token": "s3cret-token"}
    async with running_bot(engine) as (fake, _, app):
        await app.updater.stop()
        server = webhook_server(app, settings)
        try:
            # Without the secret, the answer comes before the body is sent: the client
            # announces 50 MB and sends only the headers.
            reader, writer = await asyncio.open_connection("127.0.0.1", port)
            writer.write(
                b"POST /telegram HTTP/1.1\r\nHost: x\r\nContent-Length: 50000000\r\n\r\n"
            )
            await writer.drain()
            status = await asyncio.wait_for(reader.readline(), 5)
            assert status.startswith(b"HTTP/1.1 403")
            writer.close()
            async with httpx.AsyncClient() as client:
                url = f"http://127.0.0.1:{port}/telegram"
                try:  # tornado closes the connection on a body over the limit
                    too_big = await client.post(
                        url, content=b"x" * (MAX_BODY_BYTES + 1), headers=secret
                    )
                    assert too_big.status_code >= 400
                except (httpx.ReadError, httpx.RemoteProtocolError, httpx.WriteError):
                    pass
                deep = await client.post(url, content=b"[" * 200_000, headers=secret)
                assert deep.status_code == 200  # skipped, so Telegram does not send it again
                update = {"update_id": 7, **message(43, "beacon number")}
                right = await client.post(url, content=json.dumps(update), headers=secret)
                assert right.status_code == 200
            await fake.wait_for(lambda: fake.sent(chat_id=43))
            # A half-open connection (headers never finished) is closed after the idle limit.
            reader, writer = await asyncio.open_connection("127.0.0.1", port)
            writer.write(b"POST /telegram HTTP/1.1\r\n")
            await writer.drain()
            assert await asyncio.wait_for(reader.read(), 15) == b""
            writer.close()
        finally:
            server.stop()
