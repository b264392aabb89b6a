"""A fake Telegram Bot API at the request layer: canned JSON in, what the bot sent recorded.

Faults are injected per method as a queue of (HTTP status, body) answers, which PTB turns
into its own exceptions (429 with retry_after -> RetryAfter, 403 -> Forbidden, ...); a
refused call is recorded as ``method:status`` so ``sent()`` lists only delivered ones.
Messages sent with parse_mode HTML are checked as Telegram does: an unescaped ``<`` or
``&`` fails with 400 "can't parse entities" (recorded as ``sendMessage:rejected``).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import re
import time
from collections import defaultdict, deque
from dataclasses import dataclass
from html.parser import HTMLParser
from typing import Any

from telegram.request import BaseRequest, RequestData

from tests.resident_data import RESIDENT_DATA

BOT_ID = 7000001
BOT_USERNAME = "HertsSafetyBot"
BOT_USER = {  # what getMe answers
    "id": BOT_ID,
    "is_bot": True,
    "first_name": "Herts Safety",
    "username": BOT_USERNAME,
    "can_join_groups": True,
}
TELEGRAM_TAGS = {
    "b",
    "strong",
    "i",
    "em",
    "u",
    "ins",
    "s",
    "strike",
    "del",
    "a",
    "code",
    "pre",
    "tg-spoiler",
    "span",
    "blockquote",
    "tg-emoji",
}


@dataclass
class Call:
    method: str
    params: dict[str, Any]
    url: str
    message_id: int | None = None  # of the message the call created or edited
    files: dict[str, Any] | None = None  # uploads: part name -> (file name, bytes, type)

    @property
    def text(self) -> str:
        return str(self.params.get("text", ""))

    @property
    def buttons(self) -> list[tuple[str, str]]:
        markup = self.params.get("reply_markup") or {}
        if isinstance(markup, str):
            markup = json.loads(markup)
        return [
            (b["text"], b.get("callback_data", ""))
            for row in markup.get("inline_keyboard", [])
            for b in row
        ]


class _EntityCheck(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.ok = True
        self.stack: list[str] = []

    def handle_starttag(self, tag, attrs):
        if tag not in TELEGRAM_TAGS:
            self.ok = False
        self.stack.append(tag)

    def handle_endtag(self, tag):
        if not self.stack or self.stack.pop() != tag:
            self.ok = False


def keyboard_refusal(markup: object) -> str | None:
    """Why the Bot API refuses an inline keyboard (over 100 buttons, callback data over 64
    bytes), or None."""
    if isinstance(markup, str):
        markup = json.loads(markup)
    if not isinstance(markup, dict):
        return None
    buttons = [b for row in markup.get("inline_keyboard", []) for b in row]
    if len(buttons) > 100:
        return "Bad Request: reply markup is too long"
    if any(len(b.get("callback_data", "").encode()) > 64 for b in buttons):
        return "Bad Request: BUTTON_DATA_INVALID"
    return None


def parses_as_telegram_html(text: str) -> bool:
    bare = re.sub(r"</?[a-zA-Z][^<>]*>", "", text)
    if "<" in bare or ">" in bare:
        return False
    if re.search(r"&(?!(?:[a-zA-Z]+|#\d+|#x[0-9a-fA-F]+);)", bare):
        return False
    checker = _EntityCheck()
    checker.feed(text)
    checker.close()
    return checker.ok and not checker.stack


class FakeBotAPI(BaseRequest):
    def __init__(self, keep_calls: bool = True) -> None:
        # Off for benchmarks: no record of calls and no HTML check, so that memory and time
        # measure the bot rather than the fake.
        self.keep_calls = keep_calls
        self.calls: list[Call] = []
        self.faults: dict[str, deque[tuple[int, dict] | BaseException]] = defaultdict(deque)
        self._updates: list[dict] = []
        self._next_update = 1
        self._next_message = 1000
        self._arrived = asyncio.Event()
        self._changed = asyncio.Event()

    # -- BaseRequest

    async def initialize(self) -> None:
        return None

    async def shutdown(self) -> None:
        return None

    @property
    def read_timeout(self) -> float:
        return 1.0

    async def do_request(
        self,
        url,
        method,
        request_data: RequestData | None = None,
        read_timeout=None,
        write_timeout=None,
        connect_timeout=None,
        pool_timeout=None,
    ) -> tuple[int, bytes]:
        name = url.rsplit("/", 1)[-1]
        params = dict(request_data.parameters) if request_data else {}
        if name != "getUpdates" and self.keep_calls:
            files = dict(request_data.multipart_data) if request_data else {}
            self.calls.append(Call(name, params, url, files=files or None))
        self._changed.set()
        if self.faults[name] and isinstance(self.faults[name][0], BaseException):
            if name != "getUpdates" and self.keep_calls:
                self.calls[-1].method = f"{name}:raised"
            raise self.faults[name].popleft()
        if self.faults[name]:
            status, body = self.faults[name].popleft()
            if name != "getUpdates" and self.keep_calls:
                self.calls[-1].method = f"{name}:{status}"  # refused: not delivered
            return status, json.dumps(body).encode()
        if (
            name in ("sendMessage", "editMessageText")
            and params.get("parse_mode") == "HTML"
            and not parses_as_telegram_html(str(params.get("text", "")))
        ):
            self.calls[-1].method = name + ":rejected"
            return 400, json.dumps(
                {"ok": False, "error_code": 400, "description": "Bad Request: can't parse entities"}
            ).encode()
        refused = keyboard_refusal(params.get("reply_markup"))
        if refused:
            self.calls[-1].method = name + ":rejected"
            return 400, json.dumps({"ok": False, "error_code": 400, "description": refused}).encode()
        result = await getattr(self, "_" + name, self._default)(params)
        return 200, json.dumps({"ok": True, "result": result}).encode()

    # -- Bot API methods

    async def _default(self, params: dict) -> Any:
        return True

    async def _getMe(self, params: dict) -> dict:
        return BOT_USER

    async def _getUpdates(self, params: dict) -> list[dict]:
        offset = int(params.get("offset", 0) or 0)
        self._updates = [u for u in self._updates if u["update_id"] >= offset]
        if not self._updates:
            self._arrived.clear()
            try:
                await asyncio.wait_for(self._arrived.wait(), 0.05)
            except TimeoutError:
                return []
        return self._updates[:100]

    async def _sendMessage(self, params: dict) -> dict:
        return self._message(params)

    async def _sendDocument(self, params: dict) -> dict:
        sent = self._message(params)
        sent["document"] = {"file_id": f"doc{sent['message_id']}", "file_unique_id": "u"}
        return sent

    async def _editMessageText(self, params: dict) -> dict:
        return self._message(params, params.get("message_id"))

    async def _createForumTopic(self, params: dict) -> dict:
        self._next_message += 1  # a topic's id is the id of the service message opening it
        if self.keep_calls:
            self.calls[-1].message_id = self._next_message
        return forum_topic(self._next_message, params)

    def _message(self, params: dict, message_id: int | None = None) -> dict:
        if message_id is None:
            self._next_message += 1
            message_id = self._next_message
        if self.keep_calls:
            self.calls[-1].message_id = message_id
        return sent_message(message_id, params)

    # -- what tests use

    def push(self, *updates: dict) -> None:
        for update in updates:
            RESIDENT_DATA.update(update)  # as changed since it was built
            update["update_id"] = self._next_update
            self._next_update += 1
            self._updates.append(update)
        self._arrived.set()

    def sent(self, method: str = "sendMessage", chat_id: int | None = None) -> list[Call]:
        return [
            c
            for c in self.calls
            if c.method == method and (chat_id is None or c.params.get("chat_id") == chat_id)
        ]

    async def wait_for(self, condition, timeout: float = 5.0) -> None:
        deadline = time.monotonic() + timeout
        while not condition():
            if time.monotonic() > deadline:
                raise AssertionError(f"timed out; calls so far: {[c.method for c in self.calls]}")
            self._changed.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._changed.wait(), 0.05)

    async def settle(self, quiet: float = 0.2) -> None:
        """Wait until nothing has been sent for ``quiet`` seconds."""
        count = -1
        while count != len(self.calls):
            count = len(self.calls)
            await asyncio.sleep(quiet)

    def raise_next(self, method: str, error: BaseException) -> None:
        """The next call of ``method`` fails in transport (a timeout, a dropped connection)."""
        self.faults[method].append(error)

    def fail_next(self, method: str, status: int, description: str, **extra: Any) -> None:
        body = {"ok": False, "error_code": status, "description": description}
        if extra:
            body["parameters"] = extra
        self.faults[method].append((status, body))


def sent_message(message_id: int, params: dict) -> dict:
    """The message Telegram answers a send with: in a group's topic when one was named."""
    chat_id = int(params.get("chat_id", 1))
    sent = {
        "message_id": message_id,
        "date": int(time.time()),
        "chat": {"id": chat_id, "type": "supergroup" if chat_id < 0 else "private"},
        "text": params.get("text", ""),
        "from": {"id": BOT_ID, "is_bot": True, "first_name": "Herts Safety"},
    }
    if params.get("message_thread_id"):
        sent |= {"message_thread_id": int(params["message_thread_id"]), "is_topic_message": True}
    return sent


def forum_topic(thread: int, params: dict) -> dict:
    return {"message_thread_id": thread, "name": params.get("name", ""), "icon_color": 7322096}


_ids = iter(range(1, 10**9))


def user(user_id: int) -> dict:
    return {"id": user_id, "is_bot": False, "first_name": f"Resident{user_id}"}


def message(
    user_id: int,
    text: str | None = None,
    *,
    chat_type: str = "private",
    chat_id: int | None = None,
    **fields: Any,
) -> dict:
    """An update carrying a new message (``fields`` add sticker, photo, caption, ...)."""
    chat = {"id": chat_id if chat_id is not None else user_id, "type": chat_type}
    if chat_type != "private":
        chat["title"] = "Residents group"
    body: dict[str, Any] = {
        "message_id": next(_ids),
        "date": int(time.time()),
        "chat": chat,
        "from": user(user_id),
        **fields,
    }
    if text is not None:
        body["text"] = text
        if text.startswith("/"):
            command = text.split()[0]
            body["entities"] = [{"type": "bot_command", "offset": 0, "length": len(command)}]
    update = {"message": body}
    RESIDENT_DATA.update(update)
    return update


def callback(
    user_id: int,
    data: str,
    message_id: int,
    text: str = "...",
    *,
    chat_type: str = "private",
    chat_id: int | None = None,
) -> dict:
    """A button press under the bot's message ``message_id`` (in a private chat unless
    ``chat_type`` says otherwise)."""
    chat = {"id": chat_id if chat_id is not None else user_id, "type": chat_type}
    if chat_type != "private":
        chat["title"] = "Residents group"
    update = {
        "callback_query": {
            "id": str(next(_ids)),
            "from": user(user_id),
            "chat_instance": "ci",
            "data": data,
            "message": {
                "message_id": message_id,
                "date": int(time.time()),
                "text": text,
                "chat": chat,
                "from": {"id": BOT_ID, "is_bot": True, "first_name": "Herts Safety"},
            },
        }
    }
    RESIDENT_DATA.update(update)
    return update
