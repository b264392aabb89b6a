"""Receiving updates by webhook: Telegram calls ``WEBHOOK_URL/telegram`` over HTTPS (a proxy
in front of us ends the HTTPS), with the secret token in a header.

Our own small handler replaces PTB's because of bodies it cannot read: PTB answers an update
it cannot parse with 400 and a body that is not JSON with 500, and logs the whole body at
CRITICAL; Telegram then sends it again and again, while the updates behind it wait. Here
such a body is answered 200 and logged once at WARNING, by ``update_id`` and reason (the
same rule as polling's, ``bot.telegram.inbox.read_update``); every readable update is put
on the application's queue, which records it in the inbox before the 200 goes back.
"""

from __future__ import annotations

import asyncio
import hmac
import json
import logging
import signal
from collections.abc import Sequence
from types import TracebackType

import tornado.web
from telegram.error import BadRequest, NetworkError, RetryAfter
from tornado.httpserver import HTTPServer

from bot.settings import Settings
from bot.telegram.inbox import count_unreadable, read_update, safe_reason
from bot.telegram.services import BotApplication

log = logging.getLogger(__name__)

PATH = "/telegram"
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"  # noqa: S105 -- a header name


# Telegram's updates are a few KB; a body over this is refused before it is read whole.
MAX_BODY_BYTES = 1_000_000
# A connection that sends no complete headers, or no body, for this long is closed.
IDLE_SECONDS = 10.0


@tornado.web.stream_request_body
class TelegramCall(tornado.web.RequestHandler):
    """One call from Telegram: one update in a JSON body. The secret is checked as soon as
    the headers arrive, so a caller without it never gets its body read or buffered."""

    SUPPORTED_METHODS = ("POST",)

    def initialize(self, app: BotApplication, secret: str) -> None:
        self.app, self.secret = app, secret
        self.body = bytearray()

    def prepare(self) -> None:
        given = self.request.headers.get(SECRET_HEADER, "")
        if not hmac.compare_digest(given.encode(), self.secret.encode()):
            raise tornado.web.HTTPError(403)  # not Telegram

    def data_received(self, chunk: bytes) -> None:
        self.body += chunk  # the server's max_body_size caps it

    async def post(self) -> None:
        try:
            raw = json.loads(bytes(self.body))
        except RecursionError:  # nested thousands deep: no update Telegram would send
            log.warning("skipped a webhook call: its body is nested too deeply")
            count_unreadable(self.app.bot)
            return
        except ValueError as exc:  # also a body that is not UTF-8
            log.warning("skipped a webhook call: its body is not JSON (%s)", safe_reason(exc))
            count_unreadable(self.app.bot)
            return
        update = read_update(raw, self.app.bot)
        if update is not None:
            await self.app.update_queue.put(update)  # recorded in the inbox before the 200

    def log_exception(
        self,
        typ: type[BaseException] | None,
        value: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        """A refused caller (403) is not worth a line; anything else is logged without the
        request (tornado's own line would describe it)."""
        if not isinstance(value, tornado.web.HTTPError):
            log.error("a webhook call failed; Telegram will send it again", exc_info=value)


def webhook_server(app: BotApplication, settings: Settings) -> HTTPServer:
    """Listening at ``WEBHOOK_LISTEN:WEBHOOK_PORT`` from now on, on the running loop."""
    routes = tornado.web.Application(
        [(rf"{PATH}/?", TelegramCall, {"app": app, "secret": settings.webhook_secret})],
        log_function=lambda _handler: None,  # no access log: it would name the callers
    )
    server = HTTPServer(
        routes,
        max_body_size=MAX_BODY_BYTES,
        idle_connection_timeout=IDLE_SECONDS,
        body_timeout=IDLE_SECONDS,
    )
    server.listen(settings.webhook_port, address=settings.webhook_listen)
    return server


async def set_webhook(
    app: BotApplication,
    settings: Settings,
    allowed_updates: Sequence[str],
    first_wait: float = 2.0,
) -> None:
    """Tell Telegram where to call; while it cannot be reached, retry with a growing wait.
    An address Telegram refuses (``BadRequest``) or a rejected token is not retried."""
    url = settings.webhook_url.rstrip("/") + PATH
    wait = first_wait
    while True:
        try:
            await app.bot.set_webhook(
                url, secret_token=settings.webhook_secret, allowed_updates=allowed_updates
            )
            return
        except BadRequest:
            raise
        except (NetworkError, RetryAfter) as exc:
            log.warning("cannot set the webhook (%s); retrying in %.0f s", exc, wait)
        await asyncio.sleep(wait)
        wait = min(wait * 2, 60.0)


async def serve_webhook(
    app: BotApplication, settings: Settings, allowed_updates: Sequence[str]
) -> None:
    """Run the bot on the webhook until SIGINT or SIGTERM, in the order PTB's
    ``run_webhook`` uses: start-up hook, server, webhook, application; then the reverse."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    try:
        async with app:  # initialises, and at the end shuts down, the bot and its network
            if app.post_init is not None:
                await app.post_init(app)
            server = webhook_server(app, settings)
            try:
                await set_webhook(app, settings, allowed_updates)
                await app.start()
                await stop.wait()
            finally:
                server.stop()  # no new calls; those in flight finish before the queue drains
                await server.close_all_connections()
                if app.running:
                    await app.stop()  # answers what was received, then stops
    finally:  # the question log is written out even when the start failed
        if app.post_shutdown is not None:
            await app.post_shutdown(app)
