"""Admin commands (ADMIN_IDS only), live content reloads and the retention job."""

from __future__ import annotations

import logging

from telegram import BotCommand, Update
from telegram.constants import ChatType
from telegram.error import TelegramError
from telegram.ext import ContextTypes

from bot.matching.live import ReloadResult
from bot.storage.reports import stats_report, unanswered_report
from bot.storage.store import StoreUnavailable
from bot.telegram.residents import unknown_command
from bot.telegram.sending import services, split_message

log = logging.getLogger(__name__)

ADMIN_PRIVATE_ONLY = "Admin commands work only in a private chat with me."

ADMIN_COMMANDS = [
    BotCommand("unanswered", "Admin: questions I could not answer [days]"),
    BotCommand("stats", "Admin: usage figures [days]"),
    BotCommand("why", "Admin: how a question is matched"),
    BotCommand("reload", "Admin: reload content now"),
]


def admin_only(handler):
    """Admin commands answer only ids in ADMIN_IDS, and only in a private chat (reports quote
    residents' questions); anyone else sees an unknown command."""

    async def wrapper(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        command = (update.message.text or "").split()[0][:32] if update.message else "?"
        if update.effective_user.id not in services(context).settings.admin_ids:
            log.warning("admin command %s refused: user is not in ADMIN_IDS", command)
            await unknown_command(update, context)
            return
        if update.effective_chat.type != ChatType.PRIVATE:
            log.warning("admin command %s refused outside a private chat", command)
            await update.message.reply_text(ADMIN_PRIVATE_ONLY, do_quote=False)
            return
        await handler(update, context)

    return wrapper


def _days(context: ContextTypes.DEFAULT_TYPE, default: int = 7) -> int:
    if context.args and context.args[0].isdigit():
        return max(1, min(int(context.args[0]), 3650))
    return default


async def _send_report(update: Update, text: str) -> None:
    for part in split_message(text):  # plain text: it quotes residents' words
        await update.message.reply_text(part, do_quote=False)


@admin_only
async def admin_unanswered(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    try:
        report, _ = await unanswered_report(services(context).store, _days(context))
    except StoreUnavailable as exc:
        report = f"The database is unavailable just now: {exc}"
    await _send_report(update, report)


@admin_only
async def admin_stats(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    try:
        report = await stats_report(services(context).store, _days(context))
    except StoreUnavailable as exc:
        report = f"The database is unavailable just now: {exc}"
    await _send_report(update, report)


@admin_only
async def admin_why(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    text = " ".join(context.args or [])
    if not text:
        await _send_report(update, "Usage: /why <a question as a resident would ask it>")
        return
    await _send_report(update, services(context).live.engine.explain(text))


@admin_only
async def admin_reload(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    result = await services(context).live.reload()
    await _send_report(update, _reload_text(result))


def _reload_text(result: ReloadResult, limit: int = 20) -> str:
    lines = [result.summary, *[str(p) for p in result.problems[:limit]]]
    if len(result.problems) > limit:
        lines.append(f"… and {len(result.problems) - limit} more (python -m bot validate)")
    return "\n".join(lines)


async def watch_content(context: ContextTypes.DEFAULT_TYPE) -> None:
    """Reload when staff change files; tell the admins what happened."""
    svc = services(context)
    if not svc.live.changed_and_settled():
        return
    result = await svc.live.reload()
    await notify_admins(context, _reload_text(result))


async def notify_admins(context: ContextTypes.DEFAULT_TYPE, text: str) -> None:
    for admin in services(context).settings.admin_ids:
        try:
            for part in split_message(text):
                await context.bot.send_message(admin, part)
        except TelegramError as exc:
            log.warning("could not notify an admin: %s", exc.__class__.__name__)


async def purge_old_text(context: ContextTypes.DEFAULT_TYPE) -> None:
    days = services(context).settings.retention_days
    try:
        count = await services(context).store.purge_text(days)
    except StoreUnavailable as exc:
        log.error("retention: could not delete old question text: %s", exc)
        return
    log.info("retention: deleted the text of %d questions older than %d days", count, days)
