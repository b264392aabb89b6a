"""A fake Telegram Bot API over real HTTP, for driving the real bot process (``python -m
bot run`` with TELEGRAM_API_URL pointing here).

It keeps Telegram's update queue (``getUpdates`` honours ``offset``: confirmed updates are
gone for good), records what the bot sends, answers faults queued per method, and can
``kill -9`` the bot when a given request arrives, or a set time after it accepted a reply.
From that moment it answers nothing more: requests in flight at the kill never reach
"Telegram", as when a process dies before its request leaves the machine; replies answered
before it count as delivered.

Like Telegram, it lets one client poll at a time, and tells the others with 409 Conflict.
The poller is the HTTP connection of the newest ``getUpdates`` from a connection not seen
polling before: its arrival ends the long poll the previous poller has pending, with 409;
and a connection that was replaced so gets 409 at once while the new poller is active
(polling, or done with its last ``getUpdates`` less than ``POLLER_ACTIVE`` seconds ago).
The ``offset`` of every ``getUpdates`` that arrives confirms updates, a refused one's too.
"""

from __future__ import annotations

import contextlib
import itertools
import json
import os
import signal
import threading
import time
from collections import defaultdict, deque
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl

from tests.fake_telegram import (
    BOT_USER,
    forum_topic,
    keyboard_refusal,
    parses_as_telegram_html,
    sent_message,
)
from tests.resident_data import RESIDENT_DATA

POLLER_ACTIVE = 2.0  # seconds after its last getUpdates that a poller still counts as active
CONFLICT = (
    409,
    {
        "ok": False,
        "error_code": 409,
        "description": "Conflict: terminated by other getUpdates request; make sure that only "
        "one bot instance is running",
    },
)


@dataclass
class Sent:
    method: str
    params: dict[str, Any]
    at: float = field(default_factory=time.monotonic)

    @property
    def chat_id(self) -> int | None:
        value = self.params.get("chat_id")
        return int(value) if value is not None else None

    @property
    def text(self) -> str:
        return str(self.params.get("text", ""))


@dataclass
class BotAPIState:
    updates: list[dict[str, Any]] = field(default_factory=list)
    next_update: int = 1
    next_message: int = 5000
    sent: list[Sent] = field(default_factory=list)
    calls: list[str] = field(default_factory=list)  # every method called, in order
    faults: dict[str, deque[tuple[int, dict[str, Any]]]] = field(
        default_factory=lambda: defaultdict(deque)
    )
    kill_at: int | None = None  # kill the bot when this request (counted from 1) arrives
    kill_after_reply: float | None = None  # kill the bot this long after the next reply
    pid: int | None = None
    revive: bool = False  # answer again once the killed bot is dead (a standby takes over)
    requests: int = 0
    dead: bool = False
    poller: int | None = None  # the connection that polls, and whether it waits for updates
    polling: bool = False
    polled_at: float = 0.0  # when the poller's last getUpdates ended
    replaced: set[int] = field(default_factory=set)  # connections that polled before it
    conflicts: int = 0  # getUpdates answered with 409


class FakeBotAPIServer:
    def __init__(self) -> None:
        self.state = BotAPIState()
        self.lock = threading.Condition()
        ThreadingHTTPServer.request_queue_size = 256  # the bot opens many connections at once
        server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        server.daemon_threads = True
        self._server = server
        self.url = f"http://127.0.0.1:{server.server_address[1]}"
        threading.Thread(target=server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    # -- what tests use

    def push(self, *updates: dict[str, Any]) -> list[int]:
        with self.lock:
            ids = []
            for update in updates:
                RESIDENT_DATA.update(update)  # as changed since it was built
                update["update_id"] = self.state.next_update
                ids.append(self.state.next_update)
                self.state.next_update += 1
                self.state.updates.append(update)
            self.lock.notify_all()
            return ids

    def fail_next(self, method: str, status: int, description: str, **extra: Any) -> None:
        body: dict[str, Any] = {"ok": False, "error_code": status, "description": description}
        if extra:
            body["parameters"] = extra
        with self.lock:
            self.state.faults[method].append((status, body))

    def kill_bot_at(self, pid: int, request_number: int, *, revive: bool = False) -> None:
        """``kill -9`` the bot when its ``request_number``-th request from now arrives;
        ``revive``: answer other processes' requests again as soon as it is dead."""
        with self.lock:
            self.state.pid, self.state.dead, self.state.revive = pid, False, revive
            self.state.kill_at = self.state.requests + request_number

    def kill_bot_after_reply(self, pid: int, seconds: float) -> None:
        """``kill -9`` the bot ``seconds`` after the next ``sendMessage`` is accepted (the
        bot goes on meanwhile): how soon must a sent reply be marked sent?"""
        with self.lock:
            self.state.pid, self.state.dead = pid, False
            self.state.kill_after_reply = seconds

    def _kill_now(self) -> None:
        with self.lock:
            self.state.dead = True
            if self.state.pid is not None:
                os.kill(self.state.pid, signal.SIGKILL)

    def revive(self) -> None:
        with self.lock:
            self.state.dead, self.state.kill_at = False, None
            self.state.kill_after_reply = None

    def sent(self, method: str = "sendMessage", chat_id: int | None = None) -> list[Sent]:
        with self.lock:
            return [
                s
                for s in self.state.sent
                if s.method == method and (chat_id is None or s.chat_id == chat_id)
            ]

    def unconfirmed(self) -> int:
        with self.lock:
            return len(self.state.updates)

    def wait_for(self, condition: Any, timeout: float = 30.0) -> None:
        deadline = time.monotonic() + timeout
        while not condition():
            if time.monotonic() > deadline:
                raise AssertionError(f"timed out; calls so far: {self.state.calls[-30:]}")
            time.sleep(0.05)

    # -- the HTTP side

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        api = self

        connections = itertools.count(1)

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"  # keep-alive, as PTB's connection pool expects

            def setup(self) -> None:
                super().setup()
                self.connection_number = next(connections)

            def log_message(self, format: str, *args: Any) -> None:
                return None

            def do_POST(self) -> None:
                with contextlib.suppress(BrokenPipeError, ConnectionResetError):  # killed bot
                    self._answer()

            def _answer(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length).decode()
                params = {k: _value(v) for k, v in parse_qsl(body, keep_blank_values=True)}
                if self.headers.get("Content-Type", "").startswith("application/json"):
                    params = json.loads(body or "{}")
                method = self.path.rsplit("/", 1)[-1]
                answer = api._answer(method, params, self.connection_number)
                if answer is None:  # the bot is being killed: never answer
                    time.sleep(5)
                    return
                status, result = answer
                data = json.dumps(result).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        return Handler

    def _answer(
        self, method: str, params: dict[str, Any], connection: int = 0
    ) -> tuple[int, dict[str, Any]] | None:
        state = self.state
        with self.lock:
            state.requests += 1
            state.calls.append(method)
            if method == "getUpdates":  # Telegram forgets confirmed updates on receipt
                offset = int(params.get("offset") or 0)
                state.updates = [u for u in state.updates if u["update_id"] >= offset]
            if state.dead:
                return None
            if state.kill_at is not None and state.requests >= state.kill_at:
                state.dead = True
                pid = state.pid
                # A moment for replies already answered to be processed, then the kill.
                threading.Timer(1.0, self._kill, (pid, state.revive)).start()
                return None
            if state.faults[method]:
                status, body = state.faults[method].popleft()
                return status, body
            if method == "getUpdates":
                return self._poll(connection, min(float(params.get("timeout") or 0), 0.5))
            if (
                method in ("sendMessage", "editMessageText")
                and params.get("parse_mode") == "HTML"
                and not parses_as_telegram_html(str(params.get("text", "")))
            ):
                return 400, {
                    "ok": False,
                    "error_code": 400,
                    "description": "Bad Request: can't parse entities",
                }
            refused = keyboard_refusal(params.get("reply_markup"))
            if refused is not None:  # over 100 buttons, or button data over 64 bytes
                return 400, {"ok": False, "error_code": 400, "description": refused}
            state.sent.append(Sent(method, params))
            if method == "sendMessage" and state.kill_after_reply is not None:
                threading.Timer(state.kill_after_reply, self._kill_now).start()
                state.kill_after_reply = None
            return 200, {"ok": True, "result": self._result(method, params)}

    def _poll(self, connection: int, timeout: float) -> tuple[int, dict[str, Any]]:
        """``getUpdates`` from ``connection`` (called holding the lock): one poller at a time."""
        state = self.state
        if state.poller != connection:
            active = state.polling or time.monotonic() - state.polled_at < POLLER_ACTIVE
            if connection in state.replaced and active:
                state.conflicts += 1
                return CONFLICT
            if state.poller is not None:
                state.replaced.add(state.poller)
            state.poller, state.polling = connection, False
            self.lock.notify_all()  # the previous poller's long poll ends with 409
        state.polling = True
        deadline = time.monotonic() + timeout
        while not state.updates and state.poller == connection:
            left = deadline - time.monotonic()
            if left <= 0:
                break
            self.lock.wait(left)
        if state.poller != connection:
            state.conflicts += 1
            return CONFLICT
        state.polling, state.polled_at = False, time.monotonic()
        return 200, {"ok": True, "result": state.updates[:100]}

    def _kill(self, pid: int, revive: bool) -> None:
        os.kill(pid, signal.SIGKILL)
        if revive:
            deadline = time.monotonic() + 5
            while _alive(pid) and time.monotonic() < deadline:  # no request can come now
                time.sleep(0.01)
            self.revive()

    def _result(self, method: str, params: dict[str, Any]) -> Any:
        if method == "getMe":
            return BOT_USER
        if method in ("sendMessage", "editMessageText"):
            self.state.next_message += 1
            return sent_message(params.get("message_id") or self.state.next_message, params)
        if method == "createForumTopic":
            self.state.next_message += 1
            return forum_topic(self.state.next_message, params)
        return True


def _alive(pid: int) -> bool:
    """Running (not yet a zombie waiting to be reaped)."""
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().rsplit(")", 1)[1].split()[0] != "Z"
    except FileNotFoundError:
        return False


def _value(raw: str) -> Any:
    try:
        return json.loads(raw)
    except ValueError:
        return raw
