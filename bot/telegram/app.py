"""The Telegram bot: python-telegram-bot's Application assembled over the engine."""

from __future__ import annotations

import logging
import os
import secrets
from dataclasses import dataclass

from telegram import BotCommandScopeChat, Update
from telegram.constants import ParseMode
from telegram.error import Forbidden, TelegramError, TimedOut
from telegram.ext import (
    ApplicationBuilder,
    CallbackQueryHandler,
    CommandHandler,
    Defaults,
    MessageHandler,
    TypeHandler,
    filters,
)
from telegram.request import BaseRequest, HTTPXRequest

from bot.app.assistant import Assistant
from bot.app.flood import FloodGuard
from bot.telegram import logscrub, messages
from bot.telegram.admin import (
    ADMIN_COMMANDS,
    admin_reload,
    admin_stats,
    admin_why,
    purge_old_text,
    watch_content,
)
from bot.telegram.admin_review import (
    REVIEW_BUTTON,
    admin_audit,
    admin_discard,
    admin_publish,
    admin_report,
    admin_unanswered,
    on_review_button,
)
from bot.telegram.handover import (
    HANDOVER_BUTTON,
    check_waiting,
    on_handover_button,
    on_staff_message,
)
from bot.telegram.health import write_health
from bot.telegram.inbox import DurableQueue, InboxBot, answer_pending
from bot.telegram.ratelimit import PacingRateLimiter
from bot.telegram.residents import (
    BUTTONS,
    MEDIA,
    RESIDENT_COMMANDS,
    forget,
    guard,
    help_menu,
    on_media,
    on_text,
    privacy,
    start,
    topics,
    unknown_command,
)
from bot.telegram.sending import NO_PREVIEW, answer_query
from bot.telegram.services import (
    CONTEXT_TYPES,
    Beside,
    BotApplication,
    BotContext,
    Services,
    services_of,
)
from bot.telegram.standby import health_line, step_down, wait_until_active
from bot.telegram.stopping import StoppingApplication
from bot.telegram.supervision import supervise

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Timers:
    """Seconds between runs of the repeating jobs (tests shorten them)."""

    watch_content: float = 2.0  # look for changed content files
    supervise: float = 1.0  # see that polling still runs (bot.telegram.supervision)
    heartbeat: float = 30.0  # rewrite the health file
    retention: float = 86400.0  # delete question text past its retention
    handover: float = 30.0  # look for residents waiting for staff past the set time


# Every message is Telegram HTML without link previews, not quoting the resident's message.
DEFAULTS = Defaults(parse_mode=ParseMode.HTML, link_preview_options=NO_PREVIEW, do_quote=False)


async def on_error(update: object, context: BotContext) -> None:
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
            await answer_query(update.callback_query)
        await context.bot.send_message(update.effective_chat.id, messages.ERROR.format(ref=ref))
    except TelegramError as exc:
        log.warning("could not send the apology for error %s: %s", ref, exc.__class__.__name__)


async def heartbeat(context: BotContext) -> None:
    """Proves the event loop is alive, and says how the lock and the store are, for the
    container's health check (only the active instance runs jobs; a standby writes its own
    line)."""
    write_health(context.services.assistant.settings.health_file, health_line(context.application))


async def supervision(context: BotContext) -> None:
    await supervise(context.application)


async def post_init(app: BotApplication) -> None:
    svc = services_of(app)
    await svc.assistant.store.open()
    if svc.beside is not None:  # every instance serves it, a standby too: it needs no lock
        await svc.running_beside.enter_async_context(svc.beside(svc.assistant))
    await wait_until_active(app)  # a standby waits here, before polling starts
    await svc.assistant.handovers.load()  # after the lock: the other instance is gone
    if isinstance(app.update_queue, DurableQueue):
        missed_after = svc.assistant.settings.missed_after_hours * 3600
        await answer_pending(app, svc.assistant.store, app.update_queue, missed_after)
    await app.bot.set_my_commands(RESIDENT_COMMANDS)
    for (
        admin
    ) in svc.assistant.settings.admin_ids:  # admins see their commands too, nobody else does
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


async def post_shutdown(app: BotApplication) -> None:
    await services_of(app).running_beside.aclose()
    # the last half second of the stop's time is for saving what could not be written
    left = app.seconds_left() - 0.5 if isinstance(app, StoppingApplication) else 5.0
    await services_of(app).assistant.store.close(timeout=max(0.2, left))
    await step_down(app)


def build_application(
    assistant: Assistant,
    *,
    request: BaseRequest | None = None,
    updates_request: BaseRequest | None = None,
    pacing: bool = True,
    timers: Timers = Timers(),
    beside: Beside | None = None,
) -> BotApplication:
    """The bot over ``assistant``, ready to start; ``request`` replaces the network
    (tests, benchmarks); ``beside`` is another channel to serve while the bot runs."""
    settings, store = assistant.settings, assistant.store
    # Opt in to PTB's future behaviour (RetryAfter.retry_after as a timedelta, which the
    # rate limiter handles) instead of a deprecation warning on every 429. PTB reads this
    # variable when it builds each RetryAfter, so setting it here, before any request, is enough.
    os.environ.setdefault("PTB_TIMEDELTA", "1")
    limiter = PacingRateLimiter(
        settings.pace_chat_per_second if pacing else 0,
        settings.pace_total_per_second if pacing else 0,
    )
    queue = DurableQueue(wait_in_put=settings.webhook)
    bot = InboxBot(
        settings.token,
        base_url=f"{settings.api_url}/bot",
        base_file_url=f"{settings.api_url}/file/bot",
        request=request or HTTPXRequest(connection_pool_size=256),  # PTB's default
        get_updates_request=updates_request or request or HTTPXRequest(),
        rate_limiter=limiter,
        defaults=DEFAULTS,
        inbox=queue,
    )
    builder = (
        ApplicationBuilder()
        .application_class(StoppingApplication)
        .bot(bot)
        .update_queue(queue)
        .context_types(CONTEXT_TYPES)
        .concurrent_updates(256)
        .post_init(post_init)
        .post_shutdown(post_shutdown)
    )
    app: BotApplication = builder.build()
    if isinstance(app, StoppingApplication):
        app.shutdown_seconds = settings.shutdown_seconds
    queue.store = store
    if store is not None:  # (tests of start-up faults build the bot without one)
        logscrub.install(store.user_key)
    app.bot_data["services"] = Services(
        assistant, FloodGuard(settings.flood_messages, settings.flood_seconds), beside
    )
    app.add_handler(TypeHandler(Update, guard), group=-1)
    if settings.handover_chat_id is not None:  # the staff group: before every other handler
        staff_group = filters.Chat(settings.handover_chat_id) & filters.UpdateType.MESSAGE
        app.add_handler(MessageHandler(staff_group, on_staff_message))
    app.add_handler(CommandHandler("start", start))
    app.add_handler(CommandHandler("help", help_menu))
    app.add_handler(CommandHandler("topics", topics))
    app.add_handler(CommandHandler("privacy", privacy))
    app.add_handler(CommandHandler("forget", forget))
    app.add_handler(CommandHandler("unanswered", admin_unanswered))
    app.add_handler(CommandHandler("stats", admin_stats))
    app.add_handler(CommandHandler("why", admin_why))
    app.add_handler(CommandHandler("reload", admin_reload))
    app.add_handler(CommandHandler("report", admin_report))
    app.add_handler(CommandHandler("publish", admin_publish))
    app.add_handler(CommandHandler("discard", admin_discard))
    app.add_handler(CommandHandler("audit", admin_audit))
    incoming = filters.UpdateType.MESSAGE  # edited messages get no second answer
    app.add_handler(MessageHandler(incoming & filters.TEXT & ~filters.COMMAND, on_text))
    app.add_handler(MessageHandler(incoming & MEDIA, on_media))
    app.add_handler(MessageHandler(incoming & filters.COMMAND, unknown_command))
    app.add_handler(CallbackQueryHandler(on_review_button, pattern=REVIEW_BUTTON))
    app.add_handler(CallbackQueryHandler(on_handover_button, pattern=HANDOVER_BUTTON))
    for pattern, handler in BUTTONS:
        app.add_handler(CallbackQueryHandler(handler, pattern=pattern))
    app.add_error_handler(on_error)
    jobs = app.job_queue
    if jobs is None:  # the job-queue extra is a dependency: this is an installation fault
        raise RuntimeError("python-telegram-bot was installed without its job queue")
    jobs.run_repeating(purge_old_text, interval=timers.retention, first=60, name="retention")
    if settings.watch_content:
        every = timers.watch_content
        jobs.run_repeating(watch_content, interval=every, first=every, name="watch-content")
    if settings.handover_chat_id is not None:
        every = timers.handover
        jobs.run_repeating(check_waiting, interval=every, first=every, name="handover-waiting")
    jobs.run_repeating(supervision, interval=timers.supervise, first=timers.supervise)
    if settings.health_file is not None:
        jobs.run_repeating(heartbeat, interval=timers.heartbeat, first=0.1, name="heartbeat")
    return app
