"""The web chat served for real (uvicorn on a free port, in this process) over the test
engine, and an HTTP client that registers what it sends with the leak check."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from bot.app.assembly import open_store
from bot.app.assistant import Assistant
from bot.matching.engine import Engine
from bot.matching.live import LiveContent
from bot.storage.queued import QueuedStore
from bot.web.server import beside
from tests.postgres_server import free_port
from tests.resident_data import RESIDENT_DATA
from tests.telegram_harness import SETTINGS

RESIDENT_ADDRESS = "198.51.100.23"  # a documentation address, claimed by X-Forwarded-For
STARTS_WITHIN = 60.0  # seconds: the machine running the tests is often busy


@dataclass
class WebChat:
    url: str
    store: QueuedStore


async def wait_until_serving(url: str, within: float = STARTS_WITHIN) -> None:
    async with httpx.AsyncClient(timeout=5) as http:
        for _ in range(int(within / 0.1)):
            with contextlib.suppress(httpx.TransportError):
                if (await http.get(url + "/")).status_code == 200:
                    return
            await asyncio.sleep(0.1)
    raise AssertionError(f"the web chat did not start at {url}")


@contextlib.asynccontextmanager
async def running_web_chat(engine: Engine, folder: Path, **settings: Any) -> AsyncIterator[WebChat]:
    """The web chat alone over ``engine`` with the test settings (and ``settings``)."""
    port = free_port()
    chosen = dataclasses.replace(
        SETTINGS, database=folder / "web.sqlite3", web_chat_port=port, **settings
    )
    store = open_store(chosen, engine.content)
    assistant = Assistant(chosen, LiveContent(engine), store)
    await store.open()
    try:
        async with beside(assistant):
            url = f"http://127.0.0.1:{port}"
            await wait_until_serving(url)
            yield WebChat(url, store)
    finally:
        await store.close()


class WebClient:
    """Calls the JSON API as a resident at ``address`` would; everything it sends is
    registered as resident data, so no log line may repeat it."""

    def __init__(self, url: str, address: str = RESIDENT_ADDRESS) -> None:
        RESIDENT_DATA.web(address=address)
        self.http = httpx.AsyncClient(
            base_url=url, headers={"X-Forwarded-For": address}, timeout=120
        )
        self.session: str | None = None

    async def __aenter__(self) -> WebClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.http.aclose()

    async def post(self, path: str, body: dict[str, Any]) -> httpx.Response:
        """``body`` with this client's session, as JSON; the session it is given is kept."""
        body = {"session": self.session, **body}
        RESIDENT_DATA.web(body.get("text"), body.get("session"))
        response = await self.http.post(
            path, content=json.dumps(body), headers={"Content-Type": "application/json"}
        )
        session = response.json().get("session") if response.status_code == 200 else None
        if session:
            RESIDENT_DATA.web(session=session)
            self.session = session
        return response

    async def ask(self, text: str) -> dict[str, Any]:
        """The message the page would show for ``text``."""
        response = await self.post("/api/message", {"text": text})
        assert response.status_code == 200, response.text
        message: dict[str, Any] = response.json()["message"]
        return message

    async def press(self, message: dict[str, Any], data: str) -> httpx.Response:
        return await self.post("/api/button", {"ref": message["ref"], "data": data})
