"""The whole test run's check that no log line carries resident data.

Every fake that hands the bot an update (``tests.fake_telegram``, ``tests.fake_bot_api_server``,
the webhook tests) registers what a resident would have sent in it: message text of 8
characters or more, first and last names and usernames, and user and chat ids of 5 digits
or more. The web chat's client (``tests.web_harness``) registers its message text, its
session ids and the address it claims through X-Forwarded-For. Every log line of the run, at
every level (the suite's root logger is at DEBUG, and so is the black-box tests' shared bot
process), is checked against what was registered before it: lines of this process through a
handler on the root logger, lines of the real bot processes (``BotProcess``) from their log
files. A leak is reported as the logger and
the kind of data, never the data itself: the failing test's teardown names it, and what
turns up outside any test fails the session (``conftest.py``; under pytest-xdist each
worker checks its own lines and hands its findings to the controller).
"""

from __future__ import annotations

import logging
import re
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

MIN_TEXT = 8
MIN_NAME = 4  # shorter names ("Al") would match inside ordinary words
MIN_ID_DIGITS = 5
_DIGITS = re.compile(r"(?<![0-9A-Za-z])\d{5,}(?![0-9A-Za-z])")
# A line of the bot's own log format: "2026-01-01 12:00:00,000 INFO logger.name: message"
_RECORD = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d+ (?P<level>[A-Z]+) (?P<name>\S+?): ")


@dataclass(frozen=True)
class Leak:
    where: str  # the logger, or the bot process's logger and log file
    kind: str  # "message text", "name or username", "user or chat id"
    when: str  # "during <test>", "after <test>" (a fixture's teardown, a thread)

    def describe(self) -> str:
        return f"{self.where} logged a resident's {self.kind} {self.when}"


@dataclass
class ResidentData:
    texts: set[str] = field(default_factory=set)
    names: set[str] = field(default_factory=set)
    ids: set[int] = field(default_factory=set)
    sessions: set[str] = field(default_factory=set)  # web chat session ids
    addresses: set[str] = field(default_factory=set)  # web residents' IP addresses
    leaks: list[Leak] = field(default_factory=list)
    when: str = "before the first test"  # what was running when a line was checked
    _words: re.Pattern[str] | None = None
    _logs: dict[Path, int] = field(default_factory=dict)  # bot process logs: bytes read
    _lock: threading.RLock = field(default_factory=threading.RLock)

    # -- what the fakes send

    def update(self, raw: Any) -> None:
        """Register the resident data in an update about to be given to the bot."""
        if not isinstance(raw, dict):
            return
        with self._lock:
            self._update(raw)

    def web(self, text: Any = None, session: Any = None, address: str | None = None) -> None:
        """Register what a web chat request carries: its text, session id and address."""
        with self._lock:
            if isinstance(text, str) and len(text) >= MIN_TEXT:
                self.texts.add(text)
                self._words = None
            if isinstance(session, str) and session:
                self.sessions.add(session)
            if address:
                self.addresses.add(address)

    def _update(self, raw: dict[str, Any]) -> None:
        for key in ("message", "edited_message"):
            message = raw.get(key)
            if isinstance(message, dict):
                self._message(message)
        query = raw.get("callback_query")
        if isinstance(query, dict):
            self._person(query.get("from"))
            under = query.get("message")  # the bot's own message: only its chat is theirs
            if isinstance(under, dict):
                self._person(under.get("chat"))

    def _message(self, message: dict[str, Any]) -> None:
        for key in ("text", "caption"):
            text = message.get(key)
            if isinstance(text, str) and len(text) >= MIN_TEXT:
                self.texts.add(text)
                self._words = None
        self._person(message.get("from"))
        self._person(message.get("chat"))

    def _person(self, person: Any) -> None:
        if not isinstance(person, dict) or person.get("is_bot"):
            return
        number = person.get("id")
        if isinstance(number, int) and len(str(abs(number))) >= MIN_ID_DIGITS:
            self.ids.add(abs(number))
        for key in ("first_name", "last_name", "username"):
            name = person.get(key)
            if isinstance(name, str) and len(name) >= MIN_NAME:
                self.names.add(name)
                self._words = None

    # -- what the logs say

    def check(self, line: str, where: str) -> None:
        """Record a leak for each kind of registered data that ``line`` repeats."""
        with self._lock:  # log lines come from other threads too
            self._check(line, where)

    def _check(self, line: str, where: str) -> None:
        kinds = []
        if any(int(digits) in self.ids for digits in _DIGITS.findall(line)):
            kinds.append("user or chat id")
        if any(session in line for session in self.sessions):
            kinds.append("web session id")
        if any(address in line for address in self.addresses):
            kinds.append("IP address")
        if self.texts or self.names:
            if self._words is None:
                texts = sorted(self.texts, key=len, reverse=True)
                names = sorted(self.names, key=len, reverse=True)
                self._words = re.compile(  # texts first: a name inside a text is the text
                    "|".join(
                        [re.escape(text) for text in texts]
                        + [rf"(?<!\w){re.escape(name)}(?!\w)" for name in names]
                    )
                )
            for found in self._words.finditer(line):
                kind = "message text" if found.group(0) in self.texts else "name or username"
                kinds.append(kind)
        for kind in dict.fromkeys(kinds):
            self.leaks.append(Leak(where, kind, self.when))

    def take_leaks(self, when: str | None = None) -> list[str]:
        """The leaks found so far (bot process logs read first), or only those found
        ``when``; each described once and forgotten."""
        self.scan()
        with self._lock:
            found = [leak for leak in self.leaks if when is None or leak.when == when]
            self.leaks = [leak for leak in self.leaks if leak not in found]
        return list(dict.fromkeys(leak.describe() for leak in found))

    def watch(self, log: Path) -> None:
        """Check a bot process's log file too (``scan`` reads what it has added)."""
        self._logs.setdefault(log, 0)

    def scan(self) -> None:
        """Check the lines the bot processes have written since the last scan."""
        for path, offset in list(self._logs.items()):
            try:
                with path.open("rb") as log:
                    log.seek(offset)
                    data = log.read()
            except FileNotFoundError:
                continue
            complete = data[: data.rfind(b"\n") + 1]  # a line being written waits
            self._logs[path] = offset + len(complete)
            name = "stderr"  # lines before the first record
            for line in complete.decode(errors="replace").splitlines():
                record = _RECORD.match(line)
                if record:  # a continuation line (a traceback) keeps its record's logger
                    name = record["name"]
                self.check(line, f"the bot process's {name} ({path.name})")


RESIDENT_DATA = ResidentData()


class LeakCheck(logging.Handler):
    """On the root logger for the whole run: checks each line as it is written, at every
    level, after the bot's own log filters have cleaned the record."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))

    def emit(self, record: logging.LogRecord) -> None:
        try:
            line = self.format(record)
        except Exception:  # noqa: BLE001 -- a broken record is not this check's business
            return
        RESIDENT_DATA.check(line, f"logger {record.name!r}")
