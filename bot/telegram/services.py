"""What every handler reaches through its context: the services of this bot, typed."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from telegram.ext import Application, CallbackContext, ContextTypes, ExtBot

from bot.app.assistant import Assistant
from bot.telegram.ratelimit import FloodGuard


@dataclass
class Services:
    assistant: Assistant  # answering, the question log, the settings and staff tasks
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
