"""The entry point (``python -m bot``, ``./run``): the staff command line (``bot.cli``)
with the channels that serve residents: Telegram (``run``, ``serve``, ``health``), the web
chat (``web``, and beside Telegram under ``serve`` when WEB_CHAT_PORT is set) and the
terminal chat (``chat``). The only module that knows every channel."""

from __future__ import annotations

import argparse
import asyncio
import functools
import sys
from collections.abc import Mapping
from typing import TYPE_CHECKING

from bot import cli
from bot.app.assembly import ContentBroken, assemble
from bot.settings import Settings

if TYPE_CHECKING:
    from telegram.request import BaseRequest


def cmd_chat(args: argparse.Namespace, settings: Settings) -> int:
    """The terminal chat, logging its questions to the database as the Telegram bot does
    (marked as the console's), so staff can try the review loop without Telegram."""
    from bot.console import chat

    try:
        assistant, _ = assemble(settings, cli.show_progress)
    except ContentBroken as exc:
        cli.show_broken(exc)
        return 2

    async def talk() -> int:
        await assistant.store.open()
        try:
            return await chat(assistant)
        finally:
            await assistant.store.close()

    return asyncio.run(talk())


def cmd_health(args: argparse.Namespace, settings: Settings) -> int:
    """The container's health check: print the running bot's status line; exit 0 when
    the bot wrote it lately and is active or standby, else 1."""
    from bot.telegram.health import read_health

    if settings.health_file is None:
        print("error: HEALTH_FILE is not set, so the bot writes no health file", file=sys.stderr)
        return 1
    healthy, line = read_health(settings.health_file)
    print(line)
    return 0 if healthy else 1


def cmd_run(
    args: argparse.Namespace, settings: Settings, request: BaseRequest | None = None
) -> int:
    """The Telegram bot when there is a token (from the environment or ``.env``), else the
    terminal chat. ``request`` replaces the network (tests)."""
    if not settings.token:
        print("TELEGRAM_BOT_TOKEN is not set: starting a chat in the terminal instead.\n")
        return cmd_chat(args, settings)
    return cmd_serve(args, settings, request)


def cmd_serve(
    args: argparse.Namespace, settings: Settings, request: BaseRequest | None = None
) -> int:
    """Telegram, for services and containers, with the web chat beside it when
    WEB_CHAT_PORT is set: without a token, one line and exit 2, never a terminal chat
    (which would read end-of-file, exit 0 and be restarted)."""
    if not settings.token:
        print(
            "error: TELEGRAM_BOT_TOKEN is not set; put the token from @BotFather in the "
            "environment or .env",
            file=sys.stderr,
        )
        return 2
    from bot.telegram.runner import run_bot

    if settings.web_chat_port is None:
        return run_bot(settings, request=request)
    from bot.web.server import beside

    return run_bot(settings, request=request, beside=beside)


def cmd_web(args: argparse.Namespace, settings: Settings) -> int:
    """The web chat alone, on WEB_CHAT_LISTEN:WEB_CHAT_PORT (127.0.0.1:8080): no token."""
    from bot.web.server import serve_web

    return serve_web(settings)


def build_parser(request: BaseRequest | None = None) -> argparse.ArgumentParser:
    """Every command; ``request`` replaces the network to Telegram (tests)."""

    def channels(sub: cli.Subcommands) -> None:
        run = functools.partial(cmd_run, request=request)
        serve = functools.partial(cmd_serve, request=request)
        cli.command(sub, "run", "the Telegram bot; a terminal chat without a token (default)", run)
        cli.command(sub, "serve", "the Telegram bot only: exit 2 without a token (Docker)", serve)
        cli.command(sub, "chat", "talk to the bot in the terminal", cmd_chat)
        cli.command(sub, "web", "the web chat on http://127.0.0.1:8080 (WEB_CHAT_PORT)", cmd_web)
        cli.command(
            sub, "health", "the running bot's status (HEALTH_FILE); exit 1 if stale", cmd_health
        )

    return cli.build_parser(channels)


def main(
    argv: list[str] | None = None,
    *,
    env: Mapping[str, str] | None = None,
    request: BaseRequest | None = None,
) -> int:
    """Run one command. ``env`` replaces the process environment (``.env`` in the working
    directory is read either way) and ``request`` the network to Telegram (both for tests)."""
    return cli.execute(build_parser(request), argv, env, default="run")
