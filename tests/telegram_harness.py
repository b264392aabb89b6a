"""Run the real Application and its polling loop against the fake Bot API."""

from __future__ import annotations

import contextlib
import dataclasses
from collections.abc import AsyncIterator

from bot.engine import Engine
from bot.settings import Settings
from bot.storage import MemoryStore, Store
from bot.telegram_app import EngineRef, build_application
from tests.fake_telegram import FakeBotAPI

TOKEN = "123456789:AAH" + "x" * 32
SETTINGS = Settings(token=TOKEN, pace_chat_per_second=0, pace_total_per_second=0)


@contextlib.asynccontextmanager
async def running_bot(
    engine: Engine, store: Store | None = None, fake: FakeBotAPI | None = None, **settings
) -> AsyncIterator[tuple[FakeBotAPI, Store, object]]:
    fake = fake or FakeBotAPI()
    store = store if store is not None else MemoryStore()
    app = build_application(
        dataclasses.replace(SETTINGS, **settings), EngineRef(engine), store, request=fake
    )
    async with app:
        await app.post_init(app)  # as run_polling() does after initialising
        await app.start()
        await app.updater.start_polling(poll_interval=0, timeout=0)
        try:
            yield fake, store, app
        finally:
            if app.updater.running:
                await app.updater.stop()
            if app.running:
                await app.stop()
