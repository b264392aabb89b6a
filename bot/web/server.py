"""The web chat's server: routes, security headers, static files, and uvicorn, alone
(``python -m bot web``) or beside the Telegram bot on its event loop (``serve``)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from collections.abc import AsyncIterator, Iterator
from importlib import resources

import uvicorn
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from bot.app.assembly import assemble_for_service
from bot.app.assistant import Assistant
from bot.app.flood import FloodGuard
from bot.matching.live import ReloadResult
from bot.settings import Settings, configure_logging
from bot.web.api import WebChat, guarded
from bot.web.requests import Limits

log = logging.getLogger(__name__)

DEFAULT_PORT = 8080
WATCH_EVERY = 2.0  # seconds between looks for changed content when standalone
STATIC = {  # path → (file in bot/web/static, media type)
    "/": ("index.html", "text/html; charset=utf-8"),
    "/chat.css": ("chat.css", "text/css; charset=utf-8"),
    "/chat.js": ("chat.js", "text/javascript; charset=utf-8"),
    "/widget.js": ("widget.js", "text/javascript; charset=utf-8"),
    "/widget.css": ("widget.css", "text/css; charset=utf-8"),
    "/widget-demo": ("widget-demo.html", "text/html; charset=utf-8"),
}


def content_security_policy(embed_origins: tuple[str, ...]) -> str:
    """Scripts, styles and calls from this server only, nothing inline; embedding by this
    site and ``embed_origins`` only."""
    ancestors = " ".join(("'self'", *embed_origins))
    return (
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; "
        "connect-src 'self'; frame-src 'self'; base-uri 'none'; form-action 'none'; "
        f"frame-ancestors {ancestors}"
    )


class SecurityHeaders:
    """Every response (pages, API, errors) gets the policy, is never cached, never sniffed,
    and sends no referrer."""

    def __init__(self, app: ASGIApp, csp: str) -> None:
        self.app = app
        self.headers = [
            (b"content-security-policy", csp.encode()),
            (b"cache-control", b"no-store"),
            (b"x-content-type-options", b"nosniff"),
            (b"referrer-policy", b"no-referrer"),
            (b"permissions-policy", b"camera=(), microphone=(), geolocation=()"),
        ]

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", []), *self.headers]
            await send(message)

        await self.app(scope, receive, with_headers)


def _static_route(path: str, name: str, media_type: str) -> Route:
    body = (resources.files("bot.web") / "static" / name).read_bytes()

    async def serve(request: Request) -> Response:
        return Response(body, media_type=media_type)

    return Route(path, serve, methods=["GET", "HEAD"])


async def _http_error(request: Request, exc: Exception) -> JSONResponse:
    """Unknown paths and methods as JSON, like every other refusal."""
    status = exc.status_code if isinstance(exc, HTTPException) else 500
    detail = exc.detail if isinstance(exc, HTTPException) else "error"
    return JSONResponse({"error": detail}, status)


def build_app(assistant: Assistant, *, standalone: bool) -> Starlette:
    """The web chat over ``assistant``. ``standalone``: it opens and closes the question
    log and reloads changed content itself (beside Telegram, the bot does both)."""
    settings = assistant.settings
    limits = Limits(
        FloodGuard(settings.flood_messages, settings.flood_seconds),
        FloodGuard(settings.web_chat_ip_messages, 60.0),
    )
    chat = WebChat(assistant, limits)
    routes = [_static_route(path, *found) for path, found in STATIC.items()]

    async def status(request: Request) -> JSONResponse:
        """For operators and a load balancer: "active", and what is wrong in this run."""
        return JSONResponse({"status": "active", "trouble": assistant.trouble()})

    routes.append(Route("/api/status", status, methods=["GET"]))
    for path, handler in (
        ("/api/message", chat.message),
        ("/api/button", chat.button),
        ("/api/feedback", chat.feedback),
        ("/api/forget", chat.forget),
    ):
        routes.append(Route(path, guarded(handler), methods=["POST"]))

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        if not standalone:
            yield
            return
        await assistant.store.open()
        watcher = None
        if settings.watch_content:
            watcher = asyncio.create_task(assistant.watcher.run(WATCH_EVERY, _log_reload))
        try:
            yield
        finally:
            if watcher is not None:
                watcher.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await watcher
            await assistant.store.close()

    app = Starlette(
        routes=routes, lifespan=lifespan, exception_handlers={HTTPException: _http_error}
    )
    app.add_middleware(
        SecurityHeaders, csp=content_security_policy(settings.web_chat_embed_origins)
    )
    return app


async def _log_reload(result: ReloadResult) -> None:
    log.info("content: %s", result.summary)


def _config(app: Starlette, settings: Settings) -> uvicorn.Config:
    return uvicorn.Config(
        app,
        host=settings.web_chat_listen,
        port=settings.web_chat_port or DEFAULT_PORT,
        access_log=False,  # an access line names the resident's address
        log_config=None,  # the bot's own logging (configure_logging)
        server_header=False,
        proxy_headers=True,
        forwarded_allow_ips=settings.web_chat_proxies,
        timeout_keep_alive=10,
        limit_concurrency=2000,
    )


def serve_web(settings: Settings) -> int:
    """The web chat alone until stopped (SIGINT/SIGTERM): no Telegram token needed."""
    configure_logging(settings)
    assistant = assemble_for_service(settings, log)
    if assistant is None:
        return 2
    server = _Server(_config(build_app(assistant, standalone=True), settings))
    log.info(
        "web chat on http://%s:%s", settings.web_chat_listen, settings.web_chat_port or DEFAULT_PORT
    )
    server.run()
    return 0


class _Server(uvicorn.Server):
    """uvicorn where SIGINT and SIGTERM end the server gracefully and the program with
    status 0 (uvicorn's own handling raises the signal again once it has stopped)."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, self.handle_exit, sig, None)
        try:
            yield
        finally:
            for sig in (signal.SIGINT, signal.SIGTERM):
                loop.remove_signal_handler(sig)


class _BesideServer(uvicorn.Server):
    """uvicorn inside another program's event loop, which handles the signals."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


@contextlib.asynccontextmanager
async def beside(assistant: Assistant) -> AsyncIterator[None]:
    """The web chat on the running loop while the block runs (the Telegram bot's)."""
    settings = assistant.settings
    server = _BesideServer(_config(build_app(assistant, standalone=False), settings))
    task = asyncio.create_task(server.serve())
    log.info("web chat on http://%s:%s", settings.web_chat_listen, settings.web_chat_port)
    try:
        yield
    finally:
        server.should_exit = True
        await task
