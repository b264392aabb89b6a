"""Run the real Application and its polling loop against the fake Bot API."""

from __future__ import annotations

import contextlib
import dataclasses
import tempfile
from collections.abc import AsyncIterator
from pathlib import Path

from bot.app.assembly import open_store
from bot.app.assistant import Assistant
from bot.content.opening_hours import Clock, uk_now
from bot.matching.engine import Engine
from bot.matching.live import LiveContent
from bot.settings import Settings
from bot.telegram.app import Timers, build_application
from bot.telegram.services import Beside
from tests.fake_telegram import FakeBotAPI

TOKEN = "123456789:AAH" + "x" * 32
SETTINGS = Settings(
    token=TOKEN,
    pace_chat_per_second=0,
    pace_total_per_second=0,
    hash_secret="test-secret-of-32-characters-abc",
    watch_content=False,
)


@contextlib.asynccontextmanager
async def running_bot(
    engine: Engine,
    fake: FakeBotAPI | None = None,
    live: LiveContent | None = None,
    database: Path | None = None,
    poll_interval: float = 0,
    give_up: float = 10.0,
    beside: Beside | None = None,
    clock: Clock = uk_now,
    **settings,
) -> AsyncIterator[tuple[FakeBotAPI, object, object]]:
    """Yields (fake Bot API, the store, the Application). Timers run at test speed:
    content is checked every 0.1 s and failed database writes are retried after 0.05 s;
    ``give_up``: how long a PostgreSQL statement may take; ``beside``: another channel
    served while the bot runs (the web chat, as ``serve`` runs it); ``clock``: the moment
    the assistant believes it is (a frozen one for opening hours and staffed hours)."""
    fake = fake or FakeBotAPI()
    with tempfile.TemporaryDirectory() as folder:
        settings = dataclasses.replace(
            SETTINGS, database=database or Path(folder) / "bot.sqlite3", **settings
        )
        store = open_store(
            settings, engine.content, retry_first=0.05, retry_max=0.2, give_up=give_up
        )
        timers = Timers(watch_content=0.1, heartbeat=0.1, handover=0.1)
        assistant = Assistant(settings, live or LiveContent(engine), store, clock)
        app = build_application(assistant, request=fake, timers=timers, beside=beside)
        async with app:
            await app.post_init(app)  # as run_polling() does after initialising
            await app.start()
            await app.updater.start_polling(poll_interval=poll_interval, timeout=0)
            try:
                yield fake, store, app
            finally:
                if app.updater.running:
                    await app.updater.stop()
                if app.running:
                    await app.stop()
                await app.post_shutdown(app)  # as run_polling() does before shutting down
