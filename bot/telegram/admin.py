"""Admin commands (ADMIN_IDS only), live content reloads and the retention job."""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable, Coroutine
from typing import Any

from telegram import BotCommand, Update
from telegram.constants import ChatType
from telegram.error import TelegramError

from bot.app.staff import content_notes
from bot.matching.live import ReloadResult
from bot.storage.store import StoreUnavailable
from bot.telegram.residents import unknown_command
from bot.telegram.sending import send_plain, split_message
from bot.telegram.services import BotContext
from bot.telegram.supervision import trouble

log = logging.getLogger(__name__)

ADMIN_PRIVATE_ONLY = "Admin commands work only in a private chat with me."

ADMIN_COMMANDS = [
    BotCommand("unanswered", "Admin: questions I could not answer [days]"),
    BotCommand("stats", "Admin: usage figures [days]"),
    BotCommand("why", "Admin: how a question is matched"),
    BotCommand("reload", "Admin: reload content now"),
    BotCommand("report", "Admin: the report with charts, as an HTML file [days]"),
    BotCommand("publish", "Admin: check the draft and make it live"),
    BotCommand("discard", "Admin: drop the draft"),
    BotCommand("audit", "Admin: who changed what, and when"),
]


Handler = Callable[[Update, BotContext], Coroutine[Any, Any, None]]


def admin_only(handler: Handler) -> Handler:
    """Admin commands answer only ids in ADMIN_IDS, and only in a private chat (reports quote
    residents' questions); anyone else sees an unknown command."""

    @functools.wraps(handler)
    async def wrapper(update: Update, context: BotContext) -> None:
        message, user, chat = update.message, update.effective_user, update.effective_chat
        if message is None or user is None or chat is None:
            return
        command = (message.text or "").split(maxsplit=1)[0][:32] if message.text else "?"
        if user.id not in context.services.assistant.settings.admin_ids:
            log.warning("admin command %s refused: user is not in ADMIN_IDS", command)
            await unknown_command(update, context)
            return
        if chat.type != ChatType.PRIVATE:
            log.warning("admin command %s refused outside a private chat", command)
            await message.reply_text(ADMIN_PRIVATE_ONLY)
            return
        await handler(update, context)

    return wrapper


def days_argument(context: BotContext, default: int = 7) -> int:
    if context.args and context.args[0].isdigit():
        return max(1, min(int(context.args[0]), 3650))
    return default


async def send_report(update: Update, text: str) -> None:
    if update.message is not None:
        await send_plain(update.message, text)


@admin_only
async def admin_stats(update: Update, context: BotContext) -> None:
    assistant = context.services.assistant
    engine = assistant.engine
    notes = [engine.matching_mode, *content_notes(engine.content)]
    try:
        report = await assistant.staff.stats(days_argument(context), notes)
    except StoreUnavailable as exc:
        report = assistant.staff.unavailable(exc)
    warnings = [f"⚠️ {line}." for line in trouble(context.application)]
    await send_report(update, "\n".join([*warnings, report]))


@admin_only
async def admin_why(update: Update, context: BotContext) -> None:
    text = " ".join(context.args or [])
    if not text:
        await send_report(update, "Usage: /why <a question as a resident would ask it>")
        return
    await send_report(update, context.services.assistant.engine.explain(text))


@admin_only
async def admin_reload(update: Update, context: BotContext) -> None:
    result = await context.services.assistant.watcher.reload()
    await send_report(update, _reload_text(result))


def _reload_text(result: ReloadResult, limit: int = 20) -> str:
    lines = [result.summary, *[str(p) for p in result.problems[:limit]]]
    if len(result.problems) > limit:
        lines.append(f"… and {len(result.problems) - limit} more (./run validate)")
    return "\n".join(lines)


async def watch_content(context: BotContext) -> None:
    """One look of the content watcher (a job); admins are told what changed or failed."""
    result = await context.services.assistant.watcher.look()
    if result is not None:
        await notify_admins(context, _reload_text(result))


async def notify_admins(context: BotContext, text: str) -> None:
    for admin in context.services.assistant.settings.admin_ids:
        try:
            for part in split_message(text):
                await context.bot.send_message(admin, part, parse_mode=None)
        except TelegramError as exc:
            log.warning("could not notify an admin: %s", exc.__class__.__name__)


async def purge_old_text(context: BotContext) -> None:
    days = context.services.assistant.settings.retention_days
    try:
        count = await context.services.assistant.store.purge_text(days)
    except StoreUnavailable as exc:
        log.error("retention: could not delete old question text: %s", exc)
        return
    log.info("retention: deleted the text of %d questions older than %d days", count, days)
    await context.services.assistant.handovers.load()  # any left open that long have ended
