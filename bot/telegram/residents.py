"""Resident-facing Telegram handlers: commands, questions, buttons. No matching here."""

from __future__ import annotations

import contextlib
import logging
import re

from telegram import BotCommand, InlineKeyboardButton, InlineKeyboardMarkup, Message, Update
from telegram.constants import ChatType, ParseMode
from telegram.error import BadRequest
from telegram.ext import ApplicationHandlerStop, ContextTypes, filters

from bot.matching.engine import Engine
from bot.matching.reply import Reply, ReplyKind
from bot.telegram import messages
from bot.telegram.sending import (
    NO_PREVIEW,
    FloodVerdict,
    record,
    send_html,
    services,
    split_message,
)

log = logging.getLogger(__name__)

RESIDENT_COMMANDS = [
    BotCommand("start", "Welcome and topics"),
    BotCommand("topics", "What I can help with"),
    BotCommand("help", "What I can help with"),
    BotCommand("privacy", "What is kept and how to delete it"),
    BotCommand("forget", "Delete everything kept about you"),
]

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
    if reply.kind is ReplyKind.SUGGEST:
        return suggestion_keyboard(reply, engine)
    if reply.kind in (ReplyKind.ANSWER, ReplyKind.EMERGENCY):
        return feedback_keyboard()
    return None


# -- handlers


async def guard(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """First for every update: ignore what has no user; stop floods per user."""
    user = update.effective_user
    if user is None or update.effective_chat is None:
        raise ApplicationHandlerStop
    if update.message is None and update.callback_query is None:
        return
    verdict = services(context).flood.check(user.id)
    if verdict is FloodVerdict.OK:
        return
    if verdict is FloodVerdict.WARN:
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
    engine = services(context).live.engine
    reply = engine.respond(_question_text(message, context))
    sent = await send_html(message, reply.html, keyboard_for(reply, engine))
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
    engine = services(context).live.engine
    payload = context.args[0] if context.args else ""
    if _PAYLOAD.match(payload):
        reply = engine.answer_for(payload)
        if reply is None:
            guess = engine.respond(payload.replace("_", " ").replace("-", " "))
            reply = engine.answer_for(guess.intent) if guess.kind is ReplyKind.ANSWER else None
        if reply is not None and reply.intent and engine.intents[reply.intent].menu:
            sent = await send_html(update.message, reply.html, feedback_keyboard())
            await record(context, update.effective_user.id, reply, sent.message_id)
            return
    await update.message.reply_text(
        messages.WELCOME,
        parse_mode=ParseMode.HTML,
        reply_markup=topics_keyboard(engine),
        do_quote=False,
    )


async def topics(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    engine = services(context).live.engine
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


async def unknown_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    if update.message and _addressed_to_bot(update.message, context):
        await update.message.reply_text(messages.UNKNOWN_COMMAND, do_quote=False)


async def on_button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    query = update.callback_query
    engine = services(context).live.engine
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
        reply = Reply(
            question="",
            kind=ReplyKind.FALLBACK,
            intent=None,
            confidence=0.0,
            decided_by="none of the suggestions",
        )
        await record(context, user_id, reply, message.message_id)
        return
    reply = engine.answer_for(value) if kind in ("s", "t") else None
    if reply is None or message is None:
        await query.answer(messages.EXPIRED, show_alert=True)
        return
    await query.answer()
    if kind == "s":  # replace the question, so old suggestion buttons can't be pressed again
        parts = split_message(reply.html)
        if len(parts) == 1:
            await query.edit_message_text(
                reply.html,
                parse_mode=ParseMode.HTML,
                link_preview_options=NO_PREVIEW,
                reply_markup=feedback_keyboard(),
            )
            await record(context, user_id, reply, message.message_id)
            return
        await _drop_keyboard(query)
    sent = await send_html(message, reply.html, feedback_keyboard())
    await record(context, user_id, reply, sent.message_id)


async def _drop_keyboard(query) -> None:
    with contextlib.suppress(BadRequest):  # already edited (a double tap): nothing to do
        await query.edit_message_reply_markup(reply_markup=None)
