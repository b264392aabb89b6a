"""The health file and ``python -m bot health``: what the container's health check sees."""

from __future__ import annotations

import logging
import os
import re
import time

from bot.entry import main
from bot.telegram.health import write_health
from tests.fake_telegram import message
from tests.telegram_harness import running_bot

ADMIN = 4242


def check(path, capsys) -> tuple[int, str]:
    code = main(["health"], env={"HEALTH_FILE": str(path)})
    return code, capsys.readouterr().out.strip()


def test_a_fresh_active_or_standby_line_is_healthy(tmp_path, capsys):
    path = tmp_path / "health"
    for line in (
        "active",
        "standby",
        "active; question log unavailable since 10:42, 3 records waiting",
    ):
        path.write_text(line + "\n")
        assert check(path, capsys) == (0, line)


def test_a_stale_or_missing_file_is_unhealthy(tmp_path, capsys):
    path = tmp_path / "health"
    code, out = check(path, capsys)
    assert code == 1 and out.startswith(f"no health file at {path}")
    path.write_text("active\n")
    old = time.time() - 600
    os.utime(path, (old, old))
    code, out = check(path, capsys)
    assert code == 1 and re.fullmatch(r"stale: active, last written 6\d\d s ago", out)


def test_without_a_health_file_setting_the_check_fails_and_says_why(capsys):
    assert main(["health"], env={}) == 1
    assert "HEALTH_FILE is not set" in capsys.readouterr().err


async def test_the_running_bot_says_active_and_when_its_question_log_fails(
    engine, database, tmp_path
):
    """The health line and /stats both say so while the question log cannot be written."""
    health = tmp_path / "alive"
    admins = frozenset({ADMIN})
    bot = running_bot(
        engine, health_file=health, give_up=0.5, admin_ids=admins, **database.settings()
    )
    async with bot as (fake, store, _):
        await fake.wait_for(lambda: health.exists() and health.read_text() == "active\n")
        async with database.blocked():
            fake.push(message(5001, "my shed was broken into"))
            await fake.wait_for(lambda: fake.sent(chat_id=5001))  # the reply does not wait
            await fake.wait_for(lambda: health.read_text().startswith("active;"), timeout=10)
            line = health.read_text().strip()
            degraded = r"question log unavailable since \d\d:\d\d, [1-9]\d* records waiting"
            assert re.fullmatch(f"active; {degraded}", line)
            fake.push(message(ADMIN, "/stats"))
            await fake.wait_for(lambda: fake.sent(chat_id=ADMIN), timeout=10)
            assert re.match(f"⚠️ {degraded}", fake.sent(chat_id=ADMIN)[0].text)
        assert await store.flush(timeout=10)
        await fake.wait_for(lambda: health.read_text() == "active\n", timeout=5)


def test_a_health_file_that_cannot_be_written_is_reported_once_until_it_works(tmp_path, caplog):
    """On a read-only disk the heartbeat would otherwise warn twice a minute for ever."""
    blocked = tmp_path / "a-file"
    blocked.write_text("not a folder")
    path = blocked / "alive"
    with caplog.at_level(logging.INFO):
        for _ in range(3):
            write_health(path, "active")
    assert caplog.text.count("cannot write the health file") == 1
    blocked.unlink()
    blocked.mkdir()
    write_health(path, "active")
    assert path.read_text() == "active\n" and "written again" in caplog.text
    write_health(blocked / "gone" / "alive", "active")  # another file fails: said again
    assert caplog.text.count("cannot write the health file") == 2
