"""Two real bot processes on one PostgreSQL database and one fake Bot API: one serves,
the other waits as a standby and takes over when the first dies, with every question
answered once and logged once."""

from __future__ import annotations

import random
import re
import signal
import socket
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from http.client import HTTPConnection
from pathlib import Path
from urllib.parse import urlsplit

import httpx

from bot.entry import main
from bot.telegram.standby import LOST_LOCK_EXIT
from tests.fake_bot_api_server import FakeBotAPIServer
from tests.fake_telegram import message
from tests.tcp_proxy import LATIN1_ERROR, TcpProxy
from tests.telegram_harness import TOKEN
from tests.test_blackbox import QUESTIONS, BotProcess, assert_no_resident_data

TAKEOVER_LIMIT = 10.0  # seconds from the active process's death to the standby serving


class Instance(BotProcess):
    """A bot process on PostgreSQL, with its own folder and health file."""

    def __init__(self, api: FakeBotAPIServer, folder: Path, url: str, **env: str) -> None:
        folder.mkdir()
        self.health_file = folder / "health"
        super().__init__(
            api,
            folder,
            DATABASE_URL=url,
            HEALTH_FILE=str(self.health_file),
            PACE_CHAT_PER_SECOND="0",
            PACE_TOTAL_PER_SECOND="0",
            **env,
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


def start_active_then_standby(first: Instance, second: Instance) -> None:
    first.start()
    wait_until(lambda: first.health() == "active", timeout=90)
    second.start()
    wait_until(lambda: second.health() == "standby", timeout=90)


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
        start_active_then_standby(first, second)
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


def through(proxy: TcpProxy, url: str, postgres) -> str:
    """``url`` reached through ``proxy`` (which a test can cut)."""
    return url.replace(f":{postgres.port}/", f":{proxy.port}/")


def pending(postgres, url: str) -> str:
    return rows(postgres, url, "SELECT COUNT(*) FROM inbox WHERE state = 'pending'")[0]


def logged(postgres, url: str) -> str:
    return rows(postgres, url, "SELECT COUNT(*) || '/' || COUNT(DISTINCT update_id) FROM messages")[
        0
    ]


def test_an_active_bot_cut_off_from_its_database_serves_until_a_standby_polls(postgres, tmp_path):
    """The active instance loses PostgreSQL and goes on answering; once a standby that can
    reach it takes the lock and polls, Telegram's 409 stops the old one (exit 75, its
    records saved to its fallback file, written when it is restarted as a standby)."""
    url = postgres.create_database()
    first_proxy, second_proxy = TcpProxy(postgres.port), TcpProxy(postgres.port)
    api = FakeBotAPIServer()
    first = Instance(api, tmp_path / "first", through(first_proxy, url, postgres))
    second = Instance(api, tmp_path / "second", through(second_proxy, url, postgres))
    residents = [760000 + n for n in range(60)]
    before, during, after = residents[:20], residents[20:40], residents[40:]
    try:
        start_active_then_standby(first, second)
        api.push(*[message(r, QUESTIONS[0]) for r in before])
        api.wait_for(lambda: len(api.sent()) >= 20, timeout=30)
        wait_until(lambda: pending(postgres, url) == "0", timeout=10)
        second_proxy.cut()  # the standby cannot take the lock yet: see the first go on
        first_proxy.cut()
        wait_until(lambda: first.health().startswith("active; lock lost since"), timeout=10)
        api.push(*[message(r, QUESTIONS[1]) for r in during])
        api.wait_for(lambda: len(api.sent()) >= 40 and api.unconfirmed() == 0, timeout=30)
        assert first.process.poll() is None and second.health() == "standby"
        second_proxy.restore()
        restored = time.monotonic()
        takeover = wait_until(lambda: second.health().startswith("active"), TAKEOVER_LIMIT)
        assert first.process.wait(timeout=30) == LOST_LOCK_EXIT
        stopped = time.monotonic() - restored
        api.push(*[message(r, QUESTIONS[2]) for r in after])
        api.wait_for(lambda: len(api.sent()) >= 60, timeout=30)
        first_proxy.restore()
        first.start()  # as the restart policy would: it waits as a standby
        wait_until(lambda: first.health() == "standby", timeout=90)
        wait_until(lambda: logged(postgres, url) == "60/60", timeout=30)
        time.sleep(1)  # anything sent twice would arrive now
        assert second.stop() == 0
        assert first.stop() == 0
    finally:
        first.kill()
        second.kill()
        first_proxy.close()
        second_proxy.close()
        api.close()
    assert takeover <= TAKEOVER_LIMIT and stopped <= TAKEOVER_LIMIT
    assert Counter(s.chat_id for s in api.sent()) == dict.fromkeys(residents, 1)
    assert all(s.at < restored for s in api.sent() if s.chat_id in during)
    assert api.state.conflicts >= 1  # the old active was told by Telegram
    assert pending(postgres, url) == "0"
    log = first.log()
    assert log.count("still serving while no other instance polls") == 1
    assert "another instance polls Telegram (409 Conflict)" in log
    saved = re.search(r"stopping now .* \((\d+) question-log records saved", log)
    assert saved and int(saved[1]) >= 20  # the outage's answers, waiting in memory
    assert f"imported {saved[1]} question-log records" in log
    for process in (first, second):
        assert_no_resident_data(process.log(), *residents, *QUESTIONS)


def test_while_no_instance_reaches_postgresql_residents_are_answered_and_nothing_is_lost(
    postgres, tmp_path
):
    """A full outage: neither instance reaches PostgreSQL. The active one answers every
    question meanwhile (the standby never polls), takes the lock back when PostgreSQL
    returns, and writes what waited in memory: each question logged once."""
    url = postgres.create_database()
    first_proxy, second_proxy = TcpProxy(postgres.port), TcpProxy(postgres.port)
    api = FakeBotAPIServer()
    first = Instance(api, tmp_path / "first", through(first_proxy, url, postgres))
    second = Instance(api, tmp_path / "second", through(second_proxy, url, postgres))
    residents = [780000 + n for n in range(40)]
    stream = [message(r, QUESTIONS[n % len(QUESTIONS)]) for n in range(2) for r in residents]
    random.Random(20261125).shuffle(stream)
    try:
        start_active_then_standby(first, second)
        first_proxy.cut()
        second_proxy.cut()
        for n in range(0, len(stream), 5):  # questions keep coming during the outage
            api.push(*stream[n : n + 5])
            time.sleep(0.1)
        api.wait_for(lambda: len(api.sent()) >= 80, timeout=30)
        lost_line = first.health()
        assert second.health() == "standby" and first.process.poll() is None
        first_proxy.restore()
        wait_until(lambda: "took the active lock again" in first.log(), timeout=10)
        second_proxy.restore()
        wait_until(lambda: logged(postgres, url) == "80/80", timeout=60)
        wait_until(lambda: first.health() == "active", timeout=40)  # the next heartbeat
        time.sleep(1)  # anything sent twice would arrive now
        conflicts = api.state.conflicts  # (stopping, PTB's last call ends its long poll)
        assert second.stop() == 0
        assert first.stop() == 0
    finally:
        first.kill()
        second.kill()
        first_proxy.close()
        second_proxy.close()
        api.close()
    assert re.match(r"active; lock lost since \d\d:\d\d", lost_line)
    assert Counter(s.chat_id for s in api.sent()) == dict.fromkeys(residents, 2)
    assert conflicts == 0  # the standby never polled
    assert pending(postgres, url) == "0"
    log = first.log()
    assert log.count("still serving while no other instance polls") == 1
    assert "stopping now" not in log and "now the active one" not in second.log()
    for process in (first, second):
        assert_no_resident_data(process.log(), *residents, *QUESTIONS)


def test_the_fake_telegram_lets_one_client_poll_and_tells_the_other_with_409():
    """As Telegram does: a newer poller ends the older one's long poll with 409, and the
    replaced connection gets 409 while the new poller is active."""
    api = FakeBotAPIServer()
    address = urlsplit(api.url).netloc
    old, new = HTTPConnection(address), HTTPConnection(address)
    try:
        assert poll(old, timeout=0)[0] == 200
        waiting = ThreadPoolExecutor(1).submit(poll, old, 0.5)
        wait_until(lambda: api.state.polling, timeout=5)
        assert poll(new, timeout=0)[0] == 200
        status, body = waiting.result(timeout=5)
        assert status == 409 and "terminated by other getUpdates request" in body
        assert poll(old, timeout=0)[0] == 409
        api.push(message(790001, QUESTIONS[0]))
        assert '"update_id": 1' in poll(new, timeout=0)[1]
    finally:
        old.close()
        new.close()
        api.close()


def poll(connection: HTTPConnection, timeout: float) -> tuple[int, str]:
    connection.request("POST", f"/bot{TOKEN}/getUpdates", body=f"timeout={timeout}")
    response = connection.getresponse()
    return response.status, response.read().decode()


def end_the_lock_session(postgres, url: str) -> list[str]:
    """The server ends the session holding the lock (as a restart or a proxy would)."""
    return rows(
        postgres,
        url,
        "SELECT pg_terminate_backend(pid) FROM pg_locks WHERE locktype = 'advisory' AND granted",
    )


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
        assert end_the_lock_session(postgres, url) == ["t"]
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


def test_a_lock_watch_that_fails_is_counted_and_still_notices_a_lost_lock(postgres, tmp_path):
    """The lock's connection got a server error whose text is not UTF-8 (a server with its
    messages in a Latin-1 locale): asyncpg raised UnicodeDecodeError, which ended the lock's
    watch silently. Health and /stats said nothing, and a lock lost later went unnoticed."""
    url = postgres.create_database()
    proxy, api, admin, resident = TcpProxy(postgres.port), FakeBotAPIServer(), 770900, 770003
    first = Instance(api, tmp_path / "first", through(proxy, url, postgres), ADMIN_IDS=str(admin))
    try:
        first.start()
        wait_until(lambda: first.health() == "active", timeout=90)
        api.push(message(resident, "beacon number"))
        api.wait_for(lambda: api.sent(chat_id=resident), timeout=15)
        wait_until(lambda: logged(postgres, url) == "1/1", timeout=10)  # then the store rests
        proxy.answer_next(LATIN1_ERROR)  # the next reply: to the lock's check, once a second
        # Taken as lost, since the connection's state is unknown, and taken again at once.
        wait_until(lambda: first.health() == "active; restarted: active-lock watch 1×", 15)
        # The watch goes on: the server ends the lock's session, and it is taken again.
        assert end_the_lock_session(postgres, url) == ["t"]
        wait_until(lambda: "took it again" in first.log(), timeout=10)
        api.push(message(admin, "/stats"), message(resident, "what is the beacon number"))
        api.wait_for(lambda: api.sent(chat_id=admin) and len(api.sent(chat_id=resident)) == 2, 15)
        assert api.sent(chat_id=admin)[0].text.startswith("⚠️ restarted: active-lock watch 1×.")
        assert "0300 011 55 55" in api.sent(chat_id=resident)[1].text
        assert first.stop() == 0
    finally:
        first.kill()
        api.close()
        proxy.close()
    assert logged(postgres, url) == "2/2"
    log = first.log()
    assert "the active-lock watch failed (UnicodeDecodeError at " in log
    assert "Verbindung" not in log  # the server's words are not logged either


def test_a_webhook_instance_whose_lock_watch_fails_stops_and_serves_again_restarted(
    postgres, tmp_path
):
    """With a webhook nothing fences two instances: a watch that fails unexpectedly leaves
    the lock's state unknown, so the instance stops (exit 75) as on any loss of the lock,
    saving its records; restarted, it takes the lock and serves."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    url = postgres.create_database()
    proxy, api, secret = TcpProxy(postgres.port), FakeBotAPIServer(), "webhook-secret-0123456789"
    hook = {"WEBHOOK_URL": "https://bot.example.org", "WEBHOOK_SECRET": secret}
    hook |= {"WEBHOOK_LISTEN": "127.0.0.1", "WEBHOOK_PORT": str(port)}
    first = Instance(api, tmp_path / "first", through(proxy, url, postgres), **hook)

    def post(update_id: int, text: str) -> None:
        call = {"update_id": update_id, **message(770100 + update_id, text)}
        headers = {"X-Telegram-Bot-Api-Secret-Token": secret}
        answer = httpx.post(f"http://127.0.0.1:{port}/telegram", json=call, headers=headers)
        assert answer.status_code == 200
        api.wait_for(lambda: api.sent(chat_id=770100 + update_id), timeout=15)

    try:
        first.start()
        api.wait_for(lambda: api.state.calls.count("setWebhook") == 1, timeout=90)
        post(1, "beacon number")
        wait_until(lambda: logged(postgres, url) == "1/1", timeout=10)  # then the store rests
        proxy.answer_next(LATIN1_ERROR)  # the next reply: to the lock's check, once a second
        assert first.process.wait(timeout=15) == LOST_LOCK_EXIT
        first.start()  # as its supervisor would
        api.wait_for(lambda: api.state.calls.count("setWebhook") == 2, timeout=90)
        post(2, "what is the beacon number")
        wait_until(lambda: logged(postgres, url) == "2/2", timeout=10)
        assert first.stop() == 0
    finally:
        first.kill()
        api.close()
        proxy.close()
    log = first.log()
    assert "the active-lock watch failed (UnicodeDecodeError at " in log
    assert "stopping now so that two instances never serve at once" in log
