"""The Telegram adapter: python-telegram-bot handlers over the engine. No matching here."""

from __future__ import annotations

import contextlib
import logging
import re
import secrets
import time
from collections import deque
from dataclasses import dataclass, field

from telegram import (
    BotCommand,
    BotCommandScopeChat,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    LinkPreviewOptions,
    Message,
    Update,
)
from telegram.constants import ChatType, MessageLimit, ParseMode
from telegram.error import BadRequest, Forbidden, TelegramError, TimedOut
from telegram.ext import (
    Application,
    ApplicationBuilder,
    ApplicationHandlerStop,
    CallbackQueryHandler,
    CommandHandler,
    ContextTypes,
    MessageHandler,
    TypeHandler,
    filters,
)
from telegram.request import BaseRequest

from bot import messages
from bot.database import SqliteStore, StoreUnavailable
from bot.engine import Engine, Kind, Reply
from bot.live import LiveContent
from bot.ratelimit import PacingRateLimiter
from bot.reports import stats_report, unanswered_report
from bot.settings import Settings

log = logging.getLogger(__name__)

ADMIN_COMMANDS = [
    BotCommand("unanswered", "Admin: questions I could not answer [days]"),
    BotCommand("stats", "Admin: usage figures [days]"),
    BotCommand("why", "Admin: how a question is matched"),
    BotCommand("reload", "Admin: reload content now"),
]
RESIDENT_COMMANDS = [
    BotCommand("start", "Welcome and topics"),
    BotCommand("topics", "What I can help with"),
    BotCommand("help", "What I can help with"),
    BotCommand("privacy", "What is kept and how to delete it"),
    BotCommand("forget", "Delete everything kept about you"),
]
NO_PREVIEW = LinkPreviewOptions(is_disabled=True)
_PAYLOAD = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
MEDIA = (
    filters.Sticker.ALL
    | filters.PHOTO
    | filters.VIDEO
    | filters.VIDEO_NOTE
    | filters.VOICE
    | filters.AUDIO
    | filters.Document.ALL
    | filters.LOCATION
    | filters.VENUE
    | filters.CONTACT
    | filters.ANIMATION
    | filters.POLL
    | filters.Dice.ALL
    | filters.GAME
    | filters.STORY
)


@dataclass
class FloodGuard:
    """Per-user sliding window: past the limit, one "slow down" and the rest dropped."""

    limit: int
    seconds: float
    _seen: dict[int, deque[float]] = field(default_factory=dict)
    _warned: set[int] = field(default_factory=set)

    def check(self, user_id: int, now: float | None = None) -> str:
        """'ok', 'warn' (first message over the limit) or 'drop'."""
        now = time.monotonic() if now is None else now
        if len(self._seen) > 50_000:  # forget users who have been quiet for a window
            self._seen = {u: w for u, w in self._seen.items() if w and now - w[-1] <= self.seconds}
            self._warned &= set(self._seen)
        window = self._seen.setdefault(user_id, deque())
        while window and now - window[0] > self.seconds:
            window.popleft()
        if len(window) < self.limit:
            window.append(now)
            self._warned.discard(user_id)
            return "ok"
        if user_id in self._warned:
            return "drop"
        self._warned.add(user_id)
        return "warn"


@dataclass
class Services:
    engine: LiveContent
    store: SqliteStore
    settings: Settings
    flood: FloodGuard


def services(context: ContextTypes.DEFAULT_TYPE) -> Services:
    return context.application.bot_data["services"]


# -- sending


def split_message(text: str, limit: int = MessageLimit.MAX_TEXT_LENGTH) -> list[str]:
    """Split at blank lines or line ends so no part exceeds Telegram's limit (UTF-16 units)."""

    def size(part: str) -> int:
        return len(part.encode("utf-16-le")) // 2

    parts: list[str] = []
    current = ""
    for line in text.split("\n"):
        candidate = f"{current}\n{line}" if current else line
        if size(candidate) <= limit:
            current = candidate
            continue
        if current:
            parts.append(current)
        while size(line) > limit:  # a single overlong line: hard cut
            parts.append(line[: limit // 2])
            line = line[limit // 2 :]
        current = line
    if current:
        parts.append(current)
    return parts or [text[:1]]


def feedback_keyboard() -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        [
            [
                InlineKeyboardButton("👍 Helpful", callback_data="f:1"),
                InlineKeyboardButton("👎 Not helpful", callback_data="f:0"),
            ]
        ]
    )


def suggestion_keyboard(reply: Reply, engine: Engine) -> InlineKeyboardMarkup:
    rows = [
        [InlineKeyboardButton(engine.intents[i].title, callback_data=f"s:{i}")]
        for i in reply.suggestions
    ]
    rows.append([InlineKeyboardButton("None of these", callback_data="s:-")])
    return InlineKeyboardMarkup(rows)


def topics_keyboard(engine: Engine) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        [[InlineKeyboardButton(i.title, callback_data=f"t:{i.id}")] for i in engine.topics]
    )


def keyboard_for(reply: Reply, engine: Engine) -> InlineKeyboardMarkup | None:
    if reply.kind is Kind.SUGGEST:
        return suggestion_keyboard(reply, engine)
    if reply.kind in (Kind.ANSWER, Kind.EMERGENCY):
        return feedback_keyboard()
    return None


async def send_html(message: Message, text: str, markup=None) -> Message:
    """Reply in HTML, split to Telegram's limit; the keyboard goes on the last part."""
    parts = split_message(text)
    sent = message
    for n, part in enumerate(parts):
        last = n == len(parts) - 1
        sent = await message.reply_text(
            part,
            parse_mode=ParseMode.HTML,
            link_preview_options=NO_PREVIEW,
            reply_markup=markup if last else None,
            do_quote=False,
        )
    return sent


async def record(context: ContextTypes.DEFAULT_TYPE, user_id: int, reply: Reply, ref: int | None):
    """Log an outcome after the resident has been answered; a failing store is logged only."""
    try:
        await services(context).store.log_message(user_id, reply, ref)
    except Exception:  # storage must never break a conversation
        log.exception("could not record an outcome")


# -- handlers


async def guard(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """First for every update: ignore what has no user; stop floods per user."""
    user = update.effective_user
    if user is None or update.effective_chat is None:
        raise ApplicationHandlerStop
    if update.message is None and update.callback_query is None:
        return
    verdict = services(context).flood.check(user.id)
    if verdict == "ok":
        return
    if verdict == "warn":
        log.info("flood: a user passed the message limit; dropping until they slow down")
        if update.callback_query is not None:
            await update.callback_query.answer(messages.SLOW_DOWN)
        elif _addressed_to_bot(update.message, context):
            await update.message.reply_text(messages.SLOW_DOWN, do_quote=False)
    elif update.callback_query is not None:
        await update.callback_query.answer()
    raise ApplicationHandlerStop


def _is_group(message: Message) -> bool:
    return message.chat.type in (ChatType.GROUP, ChatType.SUPERGROUP)


def _addressed_to_bot(message: Message | None, context: ContextTypes.DEFAULT_TYPE) -> bool:
    """In a group, only messages that mention the bot or reply to it are for us."""
    if message is None:
        return False
    if not _is_group(message):
        return True
    if message.text and message.text.startswith("/"):
        return True
    replied = message.reply_to_message
    if replied is not None and replied.from_user and replied.from_user.id == context.bot.id:
        return True
    username = (context.bot.username or "").lower()
    text = (message.text or message.caption or "").lower()
    return bool(username) and f"@{username}" in text


def _question_text(message: Message, context: ContextTypes.DEFAULT_TYPE) -> str:
    text = message.text or message.caption or ""
    username = context.bot.username
    if username:
        text = re.sub(rf"@{re.escape(username)}\b", " ", text, flags=re.I)
    return text


async def on_text(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    message = update.message
    if not _addressed_to_bot(message, context):
        return
    engine = services(context).engine.engine
    reply = engine.respond(_question_text(message, context))
    sent = await send_html(message, reply.reply, keyboard_for(reply, engine))
    await record(context, update.effective_user.id, reply, sent.message_id)


async def on_media(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    message = update.message
    if message.caption:
        await on_text(update, context)
        return
    if _is_group(message) and not _addressed_to_bot(message, context):
        return
    await message.reply_text(messages.ONLY_TEXT, parse_mode=ParseMode.HTML, do_quote=False)


async def start(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    engine = services(context).engine.engine
    payload = context.args[0] if context.args else ""
    if _PAYLOAD.match(payload):
        reply = engine.answer_for(payload)
        if reply is None:
            guess = engine.respond(payload.replace("_", " ").replace("-", " "))
            reply = engine.answer_for(guess.intent) if guess.kind is Kind.ANSWER else None
        if reply is not None and reply.intent and engine.intents[reply.intent].menu:
            sent = await send_html(update.message, reply.reply, feedback_keyboard())
            await record(context, update.effective_user.id, reply, sent.message_id)
            return
    await update.message.reply_text(
        messages.WELCOME,
        parse_mode=ParseMode.HTML,
        reply_markup=topics_keyboard(engine),
        do_quote=False,
    )


async def topics(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    engine = services(context).engine.engine
    await update.message.reply_text(
        messages.TOPICS, reply_markup=topics_keyboard(engine), do_quote=False
    )


async def privacy(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    days = services(context).settings.retention_days
    await update.message.reply_text(
        messages.PRIVACY.format(days=days), parse_mode=ParseMode.HTML, do_quote=False
    )


async def forget(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    try:
        count = await services(context).store.forget_user(update.effective_user.id)
    except Exception:  # tell the resident rather than fail silently
        log.exception("could not forget a user")
        await update.message.reply_text(messages.FORGET_FAILED, do_quote=False)
        return
    await update.message.reply_text(messages.FORGOTTEN.format(count=count), do_quote=False)


def admin_only(handler):
    """Admin commands answer only ids in ADMIN_IDS; anyone else sees an unknown command."""

    async def wrapper(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        if update.effective_user.id not in services(context).settings.admin_ids:
            command = (update.message.text or "").split()[0][:32] if update.message else "?"
            log.warning("admin command %s refused: user is not in ADMIN_IDS", command)
            await unknown_command(update, context)
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
    await _send_report(update, services(context).engine.engine.explain(text))


@admin_only
async def admin_reload(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    result = await services(context).engine.reload()
    await _send_report(update, _reload_text(result))


def _reload_text(result, limit: int = 20) -> str:
    lines = [result.summary, *[str(p) for p in result.problems[:limit]]]
    if len(result.problems) > limit:
        lines.append(f"… and {len(result.problems) - limit} more (python -m bot validate)")
    return "\n".join(lines)


async def watch_content(context: ContextTypes.DEFAULT_TYPE) -> None:
    """Reload when staff change files; tell the admins what happened."""
    svc = services(context)
    if not svc.engine.changed_and_settled():
        return
    result = await svc.engine.reload()
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


async def unknown_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    if update.message and _addressed_to_bot(update.message, context):
        await update.message.reply_text(messages.UNKNOWN_COMMAND, do_quote=False)


async def on_button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    query = update.callback_query
    engine = services(context).engine.engine
    kind, _, value = (query.data or "").partition(":")
    user_id = update.effective_user.id
    message = query.message if isinstance(query.message, Message) else None
    if kind == "f" and value in ("0", "1") and message is not None:
        await query.answer(messages.FEEDBACK_THANKS)
        await _drop_keyboard(query)
        try:
            await services(context).store.record_feedback(user_id, message.message_id, value == "1")
        except Exception:  # feedback is best effort
            log.exception("could not record feedback")
        return
    if kind == "s" and value == "-" and message is not None:
        await query.answer()
        await query.edit_message_text(messages.NONE_OF_THESE, parse_mode=ParseMode.HTML)
        reply = Reply("", Kind.FALLBACK, None, 0.0, decided_by="none of the suggestions")
        await record(context, user_id, reply, message.message_id)
        return
    reply = engine.answer_for(value) if kind in ("s", "t") else None
    if reply is None or message is None:
        await query.answer(messages.EXPIRED, show_alert=True)
        return
    await query.answer()
    if kind == "s":  # replace the question, so old suggestion buttons can't be pressed again
        parts = split_message(reply.reply)
        if len(parts) == 1:
            await query.edit_message_text(
                reply.reply,
                parse_mode=ParseMode.HTML,
                link_preview_options=NO_PREVIEW,
                reply_markup=feedback_keyboard(),
            )
            await record(context, user_id, reply, message.message_id)
            return
        await _drop_keyboard(query)
    sent = await send_html(message, reply.reply, feedback_keyboard())
    await record(context, user_id, reply, sent.message_id)


async def _drop_keyboard(query) -> None:
    with contextlib.suppress(BadRequest):  # already edited (a double tap): nothing to do
        await query.edit_message_reply_markup(reply_markup=None)


async def on_error(update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
    error = context.error
    if isinstance(error, Forbidden):
        log.info("a user has blocked the bot; reply not delivered")
        return
    if isinstance(error, TimedOut):  # the reply may well have arrived: no apology, no resend
        log.warning(
            "Telegram timed out on a reply (update %s); it may not have arrived",
            update.update_id if isinstance(update, Update) else None,
        )
        return
    ref = secrets.token_hex(4)
    update_id = update.update_id if isinstance(update, Update) else None
    log.error("error %s while handling update %s", ref, update_id, exc_info=error)
    if not isinstance(update, Update) or update.effective_chat is None:
        return
    try:
        if update.callback_query is not None:
            await update.callback_query.answer()
        await context.bot.send_message(
            update.effective_chat.id, messages.ERROR.format(ref=ref), parse_mode=ParseMode.HTML
        )
    except TelegramError as exc:
        log.warning("could not send the apology for error %s: %s", ref, exc.__class__.__name__)


async def heartbeat(context: ContextTypes.DEFAULT_TYPE) -> None:
    """Proves the event loop is alive, for the container's health check."""
    path = services(context).settings.health_file
    try:
        path.touch()
    except OSError as exc:
        log.warning("cannot touch the health file %s: %s", path, exc.strerror)


async def post_init(app: Application) -> None:
    svc: Services = app.bot_data["services"]
    await svc.store.open()
    await app.bot.set_my_commands(RESIDENT_COMMANDS)
    for admin in svc.settings.admin_ids:  # admins see their commands too, nobody else does
        try:
            await app.bot.set_my_commands(
                RESIDENT_COMMANDS + ADMIN_COMMANDS, scope=BotCommandScopeChat(admin)
            )
        except TelegramError as exc:
            log.warning(
                "could not set the admin command menu for an admin (%s); they may "
                "need to start the bot first",
                exc.__class__.__name__,
            )


async def post_shutdown(app: Application) -> None:
    await app.bot_data["services"].store.close()


def build_application(
    settings: Settings,
    engine: LiveContent,
    store: SqliteStore,
    *,
    request: BaseRequest | None = None,
    updates_request: BaseRequest | None = None,
    pacing: bool = True,
) -> Application:
    """The bot, ready to start; ``request`` replaces the network (tests, benchmarks)."""
    limiter = PacingRateLimiter(
        settings.pace_chat_per_second if pacing else 0,
        settings.pace_total_per_second if pacing else 0,
    )
    builder = (
        ApplicationBuilder()
        .token(settings.token)
        .base_url(f"{settings.api_url}/bot")
        .base_file_url(f"{settings.api_url}/file/bot")
        .rate_limiter(limiter)
        .concurrent_updates(256)
        .post_init(post_init)
        .post_shutdown(post_shutdown)
    )
    if request is not None:
        builder = builder.request(request).get_updates_request(updates_request or request)
    app = builder.build()
    app.bot_data["services"] = Services(
        engine, store, settings, FloodGuard(settings.flood_messages, settings.flood_seconds)
    )
    app.add_handler(TypeHandler(Update, guard), group=-1)
    app.add_handler(CommandHandler("start", start))
    app.add_handler(CommandHandler(["help", "topics"], topics))
    app.add_handler(CommandHandler("privacy", privacy))
    app.add_handler(CommandHandler("forget", forget))
    app.add_handler(CommandHandler("unanswered", admin_unanswered))
    app.add_handler(CommandHandler("stats", admin_stats))
    app.add_handler(CommandHandler("why", admin_why))
    app.add_handler(CommandHandler("reload", admin_reload))
    incoming = filters.UpdateType.MESSAGE  # edited messages get no second answer
    app.add_handler(MessageHandler(incoming & filters.TEXT & ~filters.COMMAND, on_text))
    app.add_handler(MessageHandler(incoming & MEDIA, on_media))
    app.add_handler(MessageHandler(incoming & filters.COMMAND, unknown_command))
    app.add_handler(CallbackQueryHandler(on_button))
    app.add_error_handler(on_error)
    jobs = app.job_queue
    jobs.run_repeating(purge_old_text, interval=86400, first=60, name="retention")
    if settings.watch_content:
        jobs.run_repeating(watch_content, interval=2, first=2, name="watch-content")
    if settings.health_file is not None:
        jobs.run_repeating(heartbeat, interval=30, first=0.1, name="heartbeat")
    return app
