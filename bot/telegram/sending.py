"""Everything the bot sends: splitting to Telegram's limit, keyboards, and logging outcomes.

Send options common to every message (HTML, no link previews, no quoting) are PTB
``Defaults`` set in ``bot.telegram.app``; plain-text sends (admin reports, which quote
residents' words) turn HTML off explicitly.
"""

from __future__ import annotations

import html
import logging
import re
from collections.abc import Sequence

from telegram import (
    CallbackQuery,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    LinkPreviewOptions,
    Message,
)
from telegram.constants import MessageLimit
from telegram.error import BadRequest

from bot.content.intents import Intent
from bot.content.menu import TopicGroup
from bot.matching.engine import Engine
from bot.matching.reply import Reply, ReplyKind
from bot.telegram.messages import ALL_TOPICS, SOMETHING_ELSE
from bot.telegram.services import BotContext

log = logging.getLogger(__name__)

NO_PREVIEW = LinkPreviewOptions(is_disabled=True)


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


_LINK = re.compile(r"""<a\s[^>]*href=["']([^"']*)["'][^>]*>(.*?)</a>""", re.IGNORECASE | re.DOTALL)
_TAG = re.compile(r"</?[a-zA-Z][^<>]*>")


def plain_from_html(text: str) -> str:
    """Telegram HTML as plain text: tags removed, each link's address kept after its words."""

    def link(match: re.Match[str]) -> str:
        words, url = match.group(2), match.group(1)
        return words if url in words else f"{words} ({url})"

    return html.unescape(_TAG.sub("", _LINK.sub(link, text)))


def is_entity_error(error: BadRequest) -> bool:
    return "can't parse entities" in error.message.lower()


async def send_html(
    message: Message,
    text: str,
    markup: InlineKeyboardMarkup | None = None,
    intent: str | None = None,
) -> Message:
    """Reply in HTML, split to Telegram's limit; the keyboard goes on the last part. HTML
    that Telegram refuses (a staff edit with a stray ``<``) is sent once more as plain text,
    so the resident still gets the answer, and a warning names ``intent`` for staff to fix."""
    parts = split_message(text)
    sent = message
    for n, part in enumerate(parts):
        last = n == len(parts) - 1
        try:
            sent = await message.reply_text(part, reply_markup=markup if last else None)
        except BadRequest as exc:
            if not is_entity_error(exc):
                raise
            log.warning(
                "Telegram could not read the HTML of the answer %s (%s); sent it as plain "
                "text: fix the answer's tags or write &lt; for <",
                intent or "(a fixed text)",
                exc.message,
            )
            sent = await message.reply_text(
                plain_from_html(part), reply_markup=markup if last else None, parse_mode=None
            )
    return sent


async def answer_query(
    query: CallbackQuery, text: str | None = None, show_alert: bool = False
) -> None:
    """Stop the button's spinner. A press answered after Telegram's window ("query is too
    old") cannot be answered any more, but the resident still gets what they asked for."""
    try:
        await query.answer(text, show_alert=show_alert)
    except BadRequest as exc:
        if "query is too old" not in exc.message.lower() and "query id is invalid" not in (
            exc.message.lower()
        ):
            raise
        log.info("a button press arrived too late to answer; carrying on")


async def send_plain(message: Message, text: str) -> None:
    """Plain text (reports quote residents' words, which must not be read as HTML)."""
    for part in split_message(text):
        await message.reply_text(part, parse_mode=None)


async def record(context: BotContext, user_id: int, reply: Reply, ref: int | None) -> None:
    """Log an outcome after the resident has been answered, with the update's id."""
    await context.services.assistant.record(user_id, reply, ref, context.inbox_update)


# -- keyboards


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


def topics_keyboard(topics: Sequence[Intent]) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        [[InlineKeyboardButton(i.title, callback_data=f"t:{i.id}")] for i in topics]
    )


def menu_page(engine: Engine, base: str, key: str) -> tuple[str, TopicGroup | None] | None:
    """The text of a menu page and its group: ``key`` ``-`` is the list of groups, a
    number one group's topics; None for a key no group has (an old or forged button)."""
    if key == "-":
        return base, None
    group = engine.content.menu.group(key)
    if group is None:
        return None
    return f"{base}\n\n<b>{html.escape(group.title)}</b>", group


def menu_keyboard(
    engine: Engine, group: TopicGroup | None, reply_ref: int | None = None
) -> InlineKeyboardMarkup:
    """The topic groups, or one group's topics and "◀ All topics". ``reply_ref`` (after a
    👎) makes each button name the rated answer and adds "Something else"."""
    topic, page = ("t:", "g:") if reply_ref is None else (f"w:{reply_ref}:", f"wg:{reply_ref}:")
    groups = engine.content.menu.groups
    if group is None:
        rows = [
            [InlineKeyboardButton(g.title, callback_data=f"{page}{n}")]
            for n, g in enumerate(groups)
        ]
    else:
        rows = [
            [InlineKeyboardButton(engine.intents[i].title, callback_data=f"{topic}{i}")]
            for i in group.intents
        ]
        rows.append([InlineKeyboardButton(ALL_TOPICS, callback_data=f"{page}-")])
    if reply_ref is not None:
        rows.append([InlineKeyboardButton(SOMETHING_ELSE, callback_data=f"{topic}-")])
    return InlineKeyboardMarkup(rows)


DANGER_BUTTON = InlineKeyboardButton("🚨 I'm in danger now", callback_data="d:now")


def keyboard_for(
    reply: Reply, engine: Engine, person: InlineKeyboardButton | None = None
) -> InlineKeyboardMarkup | None:
    """Suggestions, or 👍/👎 under an answer; the "I'm in danger now" button first when
    the safety check was unsure, then the choices of a question the reply asks (a button
    per district). A crisis reply carries no buttons: it is not a rating. ``person``
    ("Talk to a person") goes last, under a fallback or suggestions."""
    rows: list[Sequence[InlineKeyboardButton]] = [[DANGER_BUTTON]] if reply.danger_prompt else []
    choices = [InlineKeyboardButton(label, callback_data=data) for label, data in reply.choices]
    rows.extend(choices[n : n + 2] for n in range(0, len(choices), 2))  # two to a row
    if reply.kind is ReplyKind.SUGGEST:
        rows.extend(suggestion_keyboard(reply, engine).inline_keyboard)
    elif reply.kind in (ReplyKind.ANSWER, ReplyKind.EMERGENCY):
        rows.extend(feedback_keyboard().inline_keyboard)
    if person is not None and reply.kind in (ReplyKind.SUGGEST, ReplyKind.FALLBACK):
        rows.append([person])
    return InlineKeyboardMarkup(rows) if rows else None
