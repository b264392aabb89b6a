"""What every handler reaches through its context, typed: the services of this bot, and
the data of the update being handled (python-telegram-bot's ``CallbackContext.from_update``
builds one context per update)."""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from telegram import Update
from telegram.ext import Application, CallbackContext, ContextTypes, ExtBot

from bot.app.assistant import Assistant
from bot.app.flood import FloodGuard
from bot.storage.store import UpdateKey
from bot.telegram.inbox import inbox_kind, update_key

# Another channel served on the bot's event loop while it runs (the web chat, under `serve`).
Beside = Callable[[Assistant], contextlib.AbstractAsyncContextManager[None]]


@dataclass
class Services:
    assistant: Assistant  # answering, the question log, the settings and staff tasks
    flood: FloodGuard
    beside: Beside | None = None
    running_beside: contextlib.AsyncExitStack = field(default_factory=contextlib.AsyncExitStack)


class BotContext(CallbackContext[ExtBot[Any], dict[Any, Any], dict[Any, Any], dict[str, Any]]):
    """PTB's context with typed access to the services (kept in ``bot_data``) and, for an
    update the inbox keeps, its key (bot and update id), which the update's question-log
    record carries (so the record and the inbox's "done" commit together)."""

    def __init__(
        self,
        application: Application[Any, Any, Any, Any, Any, Any],
        chat_id: int | None = None,
        user_id: int | None = None,
    ) -> None:
        super().__init__(application, chat_id, user_id)
        self.inbox_update: UpdateKey | None = None

    @classmethod
    def from_update(
        cls, update: object, application: Application[Any, Any, Any, Any, Any, Any]
    ) -> BotContext:
        context: BotContext = super().from_update(update, application)
        if isinstance(update, Update) and inbox_kind(update) is not None:
            context.inbox_update = update_key(update)
        return context

    @property
    def services(self) -> Services:
        return services_of(self.application)


BotApplication = Application[Any, BotContext, Any, Any, Any, Any]
CONTEXT_TYPES = ContextTypes(context=BotContext)


def services_of(app: Application[Any, Any, Any, Any, Any, Any]) -> Services:
    found: Services = app.bot_data["services"]
    return found
