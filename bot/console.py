"""The terminal chat: a channel over the application layer, as Telegram is. It answers
through ``Assistant.answer``, logs its questions (marked as the console's) and reloads
content when staff change the files, so staff can try an edit where they made it."""

from __future__ import annotations

import asyncio
import contextlib
import html
import re
import threading
from collections.abc import Callable

from bot.app.assistant import Assistant
from bot.matching.engine import Engine
from bot.matching.live import ReloadResult
from bot.matching.reply import Reply, ReplyKind

_LINK = re.compile(r'<a href="([^"]*)">(.*?)</a>', re.DOTALL)
_TAG = re.compile(r"</?[a-z][^>]*>")


def html_to_text(markup: str) -> str:
    """Telegram HTML as plain terminal text; links show their address."""

    def link(match: re.Match[str]) -> str:
        href, label = html.unescape(match.group(1)), match.group(2)
        bare = re.sub(r"^https?://", "", href).rstrip("/")
        return label if html.unescape(label) in (href, bare) else f"{label} ({href})"

    return html.unescape(_TAG.sub("", _LINK.sub(link, markup)))


def to_terminal(reply: Reply, engine: Engine) -> str:
    if reply.kind is ReplyKind.SUGGEST and reply.suggestions:
        options = [f"  {n}. {engine.intents[i].title}" for n, i in enumerate(reply.suggestions, 1)]
        return "\n".join([html_to_text(reply.html), *options, "(type a number to choose)"])
    if reply.choices:
        options = [f"  {n}. {label}" for n, (label, _) in enumerate(reply.choices, 1)]
        return "\n".join([html_to_text(reply.html), *options, "(type a number, or your town)"])
    return html_to_text(reply.html)


def topics_text(engine: Engine) -> tuple[str, tuple[str, ...]]:
    """/topics: each group's title, then its topics, numbered in one run to pick from;
    the text and the topics' ids in the order of their numbers."""
    lines = ["What I can help with (type a number to choose, or ask in your own words):"]
    ids: list[str] = []
    for group in engine.content.menu.groups:
        lines.append(group.title)
        for intent in group.intents:
            ids.append(intent)
            lines.append(f"  {len(ids)}. {engine.intents[intent].title}")
    return "\n".join(lines), tuple(ids)


PLACE_KEY = "console"  # the terminal chat's remembered place


NO_LIST = (
    "There's no list to choose from just now. Ask your question in words, "
    "or type /topics to see what I can help with."
)


def _prompted_input() -> str:
    return input("you> ")


async def _next_line(read: Callable[[], str]) -> str:
    """One line from ``read``, run in a daemon thread: the event loop (and the content
    watcher) runs meanwhile, and Ctrl-C at the prompt does not wait for the thread."""
    loop = asyncio.get_running_loop()
    line: asyncio.Future[str] = loop.create_future()

    def settle(value: str | None, error: BaseException | None) -> None:
        if line.done():
            return
        if error is not None:
            line.set_exception(error)
        else:
            line.set_result(value or "")

    def work() -> None:
        try:
            value = read()
        except BaseException as exc:  # noqa: BLE001 - handed to the waiting chat
            loop.call_soon_threadsafe(settle, None, exc)
        else:
            loop.call_soon_threadsafe(settle, value, None)

    threading.Thread(target=work, daemon=True).start()
    return await line


async def _say_reload(result: ReloadResult) -> None:
    """Between turns: what a content change did."""
    print(f"\n({result.summary})")


async def chat(
    assistant: Assistant, read: Callable[[], str] = _prompted_input, watch_every: float = 2.0
) -> int:
    """Talk in the terminal until 'quit' or end of input; every question is logged as the
    Telegram bot logs its own. ``read`` gives one line (``input`` by default)."""
    print("Hertfordshire community safety assistant (terminal). Type 'quit' to leave.")
    print("In an emergency, call 999.\n")
    watcher = None
    if assistant.settings.watch_content:
        watcher = asyncio.create_task(assistant.watcher.run(watch_every, _say_reload))
    pending: tuple[str, ...] = ()  # suggested or /topics' topics, or district buttons' data
    try:
        while True:
            try:
                text = await _next_line(read)
            except (EOFError, KeyboardInterrupt):
                print()
                return 0
            choice = text.strip()
            if choice.lower() in {"quit", "exit", "/quit"}:
                return 0
            engine = assistant.engine
            if pending and choice.isdigit() and 1 <= int(choice) <= len(pending):
                picked = pending[int(choice) - 1]
                chosen = assistant.choose_place(picked, PLACE_KEY)
                chosen = chosen or assistant.topic(picked, PLACE_KEY)
                reply = chosen or await assistant.answer(text, place_key=PLACE_KEY)
            elif choice == "/topics":
                shown, pending = topics_text(engine)
                print("bot> " + shown.replace("\n", "\n     ") + "\n")
                continue
            elif choice in {"/help", "/start"}:
                reply = engine.answer_for("help") or await assistant.answer("help")
            elif choice.isdigit() and len(choice) <= 2:  # a pick with no list open
                print("bot> " + NO_LIST + "\n")
                continue
            else:
                reply = await assistant.answer(text, place_key=PLACE_KEY)
                await assistant.record(None, reply, None)
            pending = reply.suggestions if reply.kind is ReplyKind.SUGGEST else ()
            pending = pending or tuple(data for _, data in reply.choices)
            print("bot> " + to_terminal(reply, engine).replace("\n", "\n     ") + "\n")
    finally:
        if watcher is not None:
            watcher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await watcher
