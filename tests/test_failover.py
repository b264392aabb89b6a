"""Two real bot processes on one PostgreSQL database and one fake Bot API: one serves,
the other waits as a standby and takes over when the first dies, with every question
answered once and logged once."""

from __future__ import annotations

import random
import signal
import time
from collections import Counter
from pathlib import Path
from urllib.parse import urlsplit

from bot.cli import main
from bot.telegram.standby import LOST_LOCK_EXIT
from tests.fake_bot_api_server import FakeBotAPIServer
from tests.fake_telegram import message
from tests.tcp_proxy import TcpProxy
from tests.test_blackbox import QUESTIONS, BotProcess, assert_no_resident_data

TAKEOVER_LIMIT = 10.0  # seconds from the active process's death to the standby serving


class Instance(BotProcess):
    """A bot process on PostgreSQL, with its own folder and health file."""

    def __init__(self, api: FakeBotAPIServer, folder: Path, url: str) -> None:
        folder.mkdir()
        self.health_file = folder / "health"
        super().__init__(
            api,
            folder,
            DATABASE_URL=url,
            HEALTH_FILE=str(self.health_file),
            PACE_CHAT_PER_SECOND="0",
            PACE_TOTAL_PER_SECOND="0",
        )

    def health(self) -> str:
        try:
            return self.health_file.read_text().strip()
        except FileNotFoundError:
            return ""

    def kill(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait()


def wait_until(condition, timeout: float) -> float:
    """Seconds until ``condition()`` held; fails after ``timeout``."""
    started = time.monotonic()
    while not condition():
        assert time.monotonic() - started < timeout, f"not within {timeout} s"
        time.sleep(0.05)
    return time.monotonic() - started


def rows(postgres, url: str, sql: str) -> list[str]:
    return postgres.sql(sql, database=urlsplit(url).path.lstrip("/")).split()


def test_a_standby_takes_over_a_killed_active_bot_and_every_question_is_answered_once(
    postgres, tmp_path, capsys
):
    """300 questions from 60 residents; the active process is killed (SIGKILL) midway."""
    url = postgres.create_database()
    api = FakeBotAPIServer()
    first = Instance(api, tmp_path / "first", url)
    second = Instance(api, tmp_path / "second", url)
    residents = [750000 + n for n in range(60)]
    stream = [message(r, QUESTIONS[n % len(QUESTIONS)]) for n in range(5) for r in residents]
    random.Random(20261124).shuffle(stream)
    try:
        first.start()
        wait_until(lambda: first.health() == "active", timeout=90)
        second.start()
        wait_until(lambda: second.health() == "standby", timeout=90)
        assert main(["health"], env={"HEALTH_FILE": str(second.health_file)}) == 0
        assert capsys.readouterr().out == "standby\n"
        assert main(["status"], env={"DATABASE_URL": url, "HASH_SECRET": "h" * 32}) == 0
        assert f":{first.process.pid}, since " in capsys.readouterr().out  # the active one

        api.kill_bot_at(first.process.pid, 60, revive=True)  # midway through the first half
        api.push(*stream[:150])
        assert first.process.wait(timeout=60) == -signal.SIGKILL
        killed = time.monotonic()
        answered_by_first = len(api.sent())
        takeover = wait_until(lambda: second.health().startswith("active"), TAKEOVER_LIMIT)
        api.push(*stream[150:])
        api.wait_for(lambda: len(api.sent()) >= 300, timeout=90)
        time.sleep(1)  # anything sent twice would arrive now
        assert second.stop() == 0
    finally:
        first.kill()
        second.kill()
        api.close()
    assert 0 < answered_by_first < 150  # the kill came midway
    first_reply_after = min(s.at for s in api.sent() if s.at > killed) - killed
    assert takeover <= TAKEOVER_LIMIT and first_reply_after <= TAKEOVER_LIMIT
    assert Counter(s.chat_id for s in api.sent()) == dict.fromkeys(residents, 5)
    assert rows(postgres, url, "SELECT COUNT(*), COUNT(DISTINCT update_id) FROM messages") == [
        "300|300"
    ]
    assert rows(postgres, url, "SELECT COUNT(*) FROM inbox WHERE state = 'pending'") == ["0"]
    assert "now the active one" in second.log()
    for process in (first, second):
        assert_no_resident_data(process.log(), *residents, *QUESTIONS)


def test_an_active_bot_that_loses_its_database_stops_and_the_standby_serves(postgres, tmp_path):
    url = postgres.create_database()
    proxy = TcpProxy(postgres.port)  # the first instance's only way to the database
    api = FakeBotAPIServer()
    first = Instance(api, tmp_path / "first", url.replace(f":{postgres.port}/", f":{proxy.port}/"))
    second = Instance(api, tmp_path / "second", url)
    try:
        first.start()
        wait_until(lambda: first.health() == "active", timeout=90)
        second.start()
        wait_until(lambda: second.health() == "standby", timeout=90)
        proxy.cut()
        cut = time.monotonic()
        assert first.process.wait(timeout=30) == LOST_LOCK_EXIT
        stopped = time.monotonic() - cut
        wait_until(lambda: second.health().startswith("active"), TAKEOVER_LIMIT)
        residents = [760000 + n for n in range(10)]
        api.push(*[message(r, "beacon number") for r in residents])
        api.wait_for(lambda: len(api.sent()) >= 10, timeout=30)
        time.sleep(0.5)
        assert second.stop() == 0
    finally:
        first.kill()
        second.kill()
        proxy.close()
        api.close()
    assert stopped < 6  # before the server would end its session and free the lock
    assert Counter(s.chat_id for s in api.sent()) == dict.fromkeys(residents, 1)
    log = first.log()
    assert "lost the connection that holds the active lock" in log
    assert "stopping now so that two instances never serve at once" in log


def test_a_reset_lock_connection_is_taken_again_and_a_standby_stops_cleanly(postgres, tmp_path):
    url = postgres.create_database()
    api = FakeBotAPIServer()
    first = Instance(api, tmp_path / "first", url)
    second = Instance(api, tmp_path / "second", url)
    try:
        first.start()
        wait_until(lambda: first.health() == "active", timeout=90)
        # The server ends the lock's session (as a restart or a proxy would); nobody else
        # wants the lock, so the active instance takes it again and goes on serving.
        ended = rows(
            postgres,
            url,
            "SELECT pg_terminate_backend(pid) FROM pg_locks WHERE locktype = 'advisory'"
            " AND granted",
        )
        assert ended == ["t"]
        wait_until(lambda: "took it again" in first.log(), timeout=10)
        api.push(message(770001, "beacon number"))
        api.wait_for(lambda: api.sent(chat_id=770001), timeout=15)
        assert first.process.poll() is None
        second.start()
        wait_until(lambda: second.health() == "standby", timeout=90)
        started = time.monotonic()
        assert second.stop() == 0  # a standby stops at once on SIGTERM
        assert time.monotonic() - started < 10
        assert first.stop() == 0
    finally:
        first.kill()
        second.kill()
        api.close()
    assert len(api.sent(chat_id=770001)) == 1
