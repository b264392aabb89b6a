"""A chat in the terminal on the same engine as the Telegram bot."""

from __future__ import annotations

import html
import re
from collections.abc import Callable

from bot.matching.engine import Engine
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
    if reply.kind is ReplyKind.SUGGEST:
        options = [f"  {n}. {engine.intents[i].title}" for n, i in enumerate(reply.suggestions, 1)]
        return "\n".join(
            ["I'm not sure I understood. Did you mean:", *options, "(type a number to choose)"]
        )
    return html_to_text(reply.html)


NO_LIST = (
    "There's no list to choose from just now. Ask your question in words, "
    "or type /topics to see what I can help with."
)


def chat(engine: Engine, record: Callable[[Reply], None] | None = None) -> int:
    """Talk in the terminal until 'quit' or end of input; ``record`` is given every reply
    the engine works out (the question log, as in Telegram)."""
    print("Hertfordshire community safety assistant (terminal). Type 'quit' to leave.")
    print("In an emergency, call 999.\n")
    pending: tuple[str, ...] = ()
    while True:
        try:
            text = input("you> ")
        except (EOFError, KeyboardInterrupt):
            print()
            return 0
        if text.strip().lower() in {"quit", "exit", "/quit"}:
            return 0
        choice = text.strip()
        if pending and choice.isdigit() and 1 <= int(choice) <= len(pending):
            reply = engine.answer_for(pending[int(choice) - 1]) or engine.respond(text)
        elif text.strip() in {"/topics", "/help", "/start"}:
            reply = engine.answer_for("help") or engine.respond("help")
        elif choice.isdigit() and len(choice) <= 2:  # a pick with no list open
            print("bot> " + NO_LIST + "\n")
            continue
        else:
            reply = engine.respond(text)
            if record is not None:
                record(reply)
        pending = reply.suggestions if reply.kind is ReplyKind.SUGGEST else ()
        print("bot> " + to_terminal(reply, engine).replace("\n", "\n     ") + "\n")
