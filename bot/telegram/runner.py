"""Start the Telegram bot: check settings, load content, then poll or serve a webhook."""

from __future__ import annotations

import asyncio
import logging

from telegram.error import BadRequest, InvalidToken, NetworkError
from telegram.request import BaseRequest

from bot.app.assembly import assemble_for_service
from bot.settings import Settings, configure_logging
from bot.telegram.app import build_application
from bot.telegram.services import Beside, BotApplication
from bot.telegram.supervision import ALLOWED_UPDATES
from bot.telegram.webhook import serve_webhook

log = logging.getLogger(__name__)

__all__ = ["ALLOWED_UPDATES", "create_application", "run_bot", "wait_for_telegram"]


def create_application(
    settings: Settings,
    *,
    request: BaseRequest | None = None,
    pacing: bool = True,
    beside: Beside | None = None,
) -> BotApplication | None:
    """Everything the bot needs, built once at start-up; None when the content is broken."""
    assistant = assemble_for_service(settings, log)
    if assistant is None:
        return None
    return build_application(assistant, request=request, pacing=pacing, beside=beside)


async def wait_for_telegram(app: BotApplication, api_url: str, first_wait: float = 2.0) -> None:
    """Before starting: while Telegram cannot be reached, say so in the log and retry,
    instead of a traceback or a silent wait. A rejected token is not retried."""
    wait = first_wait
    while True:
        try:
            await app.bot.initialize()  # asks Telegram who the bot is (getMe)
            break
        except InvalidToken:
            raise
        except NetworkError as exc:
            log.warning("cannot reach Telegram at %s (%s); retrying in %.0f s", api_url, exc, wait)
        await asyncio.sleep(wait)
        wait = min(wait * 2, 60.0)
    await app.bot.shutdown()  # the application initialises it again on its own loop


def run_bot(
    settings: Settings, request: BaseRequest | None = None, beside: Beside | None = None
) -> int:
    """Run until stopped (SIGINT/SIGTERM); ``request`` replaces the network in tests;
    ``beside`` is another channel served on the bot's loop (the web chat). The settings
    were checked by the command line."""
    if not settings.token:
        raise ValueError("TELEGRAM_BOT_TOKEN is not set; get one from @BotFather")
    configure_logging(settings)
    app = create_application(settings, request=request, beside=beside)
    if app is None:
        return 2
    try:
        if settings.webhook:
            asyncio.run(_webhook(app, settings))
        else:
            asyncio.run(wait_for_telegram(app, settings.api_url))
            log.info("starting long polling")
            app.run_polling(allowed_updates=ALLOWED_UPDATES, bootstrap_retries=-1)
    except InvalidToken as exc:
        log.error("Telegram rejected the bot token (%s); check TELEGRAM_BOT_TOKEN", exc)
        return 2
    except BadRequest as exc:  # only setting the webhook gets here
        log.error("Telegram refused the webhook (%s); check WEBHOOK_URL", exc.message)
        return 2
    return 0


async def _webhook(app: BotApplication, settings: Settings) -> None:
    """Both on one event loop: the rate limiter's clocks belong to the loop that uses them."""
    await wait_for_telegram(app, settings.api_url)
    log.info("starting the webhook server on port %s", settings.webhook_port)
    await serve_webhook(app, settings, ALLOWED_UPDATES)
