"""What every handler reaches through its context: the services of this bot, typed."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from telegram.ext import Application, CallbackContext, ContextTypes, ExtBot

from bot.matching.live import LiveContent
from bot.settings import Settings
from bot.storage.store import Store
from bot.telegram.ratelimit import FloodGuard


@dataclass
class Services:
    live: LiveContent  # the engine in use (live.engine), swapped whole on reload
    store: Store
    settings: Settings
    flood: FloodGuard


class BotContext(CallbackContext[ExtBot[Any], dict[Any, Any], dict[Any, Any], dict[str, Any]]):
    """PTB's context with typed access to the services (kept in ``bot_data``)."""

    @property
    def services(self) -> Services:
        return services_of(self.application)


BotApplication = Application[Any, BotContext, Any, Any, Any, Any]
CONTEXT_TYPES = ContextTypes(context=BotContext)


def services_of(app: Application[Any, Any, Any, Any, Any, Any]) -> Services:
    found: Services = app.bot_data["services"]
    return found
