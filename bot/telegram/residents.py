"""Resident-facing Telegram handlers: commands, questions, buttons. No matching here:
the engine answers, ``bot.telegram.sending`` sends."""

from __future__ import annotations

import contextlib
import logging
import re

from telegram import BotCommand, CallbackQuery, InlineKeyboardMarkup, Message, Update, User
from telegram.constants import ChatType
from telegram.error import BadRequest
from telegram.ext import ApplicationHandlerStop, filters

from bot.app.assistant import NONE_OF_THESE
from bot.app.flood import FloodVerdict
from bot.app.handover import INTENT, SECOND_MISS
from bot.matching.language import ENGLISH
from bot.matching.reply import ReplyKind
from bot.telegram import messages
from bot.telegram.handover import (
    OFFER_BUTTON,
    end_for_forget,
    offered_here,
    relay_from_resident,
    send_offer,
)
from bot.telegram.inbox import is_delayed
from bot.telegram.sending import (
    answer_query,
    feedback_keyboard,
    is_entity_error,
    keyboard_for,
    menu_keyboard,
    menu_page,
    record,
    send_html,
    split_message,
    topics_keyboard,
)
from bot.telegram.services import BotContext

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


# -- handlers


async def guard(update: Update, context: BotContext) -> None:
    """First for every update: ignore what has no user; stop floods per user (not in the
    staff group)."""
    user = update.effective_user
    if user is None or update.effective_chat is None:
        raise ApplicationHandlerStop
    if update.message is None and update.callback_query is None:
        return
    if update.effective_chat.id == context.services.assistant.settings.handover_chat_id:
        return  # staff answering residents: every message is relayed, none dropped
    verdict = context.services.flood.check(user.id)
    if verdict is FloodVerdict.OK:
        return
    if verdict is FloodVerdict.WARN:
        log.info("flood: a user passed the message limit; dropping until they slow down")
        if update.callback_query is not None:
            await answer_query(update.callback_query, messages.SLOW_DOWN)
        elif update.message is not None and _addressed_to_bot(update.message, context):
            await update.message.reply_text(messages.SLOW_DOWN)
    elif update.callback_query is not None:
        await answer_query(update.callback_query)
    raise ApplicationHandlerStop


def _is_group(message: Message) -> bool:
    return message.chat.type in (ChatType.GROUP, ChatType.SUPERGROUP)


def _addressed_to_bot(message: Message, context: BotContext) -> bool:
    """In a group, only messages that mention the bot or reply to it are for us."""
    if not _is_group(message):
        return True
    if message.text and message.text.startswith("/"):  # a command: ours unless @another_bot
        _, at, addressee = message.text.split(maxsplit=1)[0].partition("@")
        return not at or addressee.lower() == (context.bot.username or "").lower()
    replied = message.reply_to_message
    if replied is not None and replied.from_user and replied.from_user.id == context.bot.id:
        return True
    username = (context.bot.username or "").lower()
    text = (message.text or message.caption or "").lower()
    return bool(username) and f"@{username}" in text


def _chat_key(message: Message, user: User) -> tuple[int, int]:
    """Whose conversation this is: in a group, each member has their own (for bursts of
    messages and the remembered place)."""
    return (message.chat_id, user.id)


def _question_text(message: Message, context: BotContext) -> str:
    text = message.text or message.caption or ""
    username = context.bot.username
    if username:
        text = re.sub(rf"@{re.escape(username)}\b", " ", text, flags=re.IGNORECASE)
    return text


async def on_text(update: Update, context: BotContext) -> None:
    message, user = update.message, update.effective_user
    if message is None or user is None or not _addressed_to_bot(message, context):
        return
    if await relay_from_resident(message, context, user.language_code):
        return  # talking to staff: relayed (after the safety check)
    assistant = context.services.assistant
    burst = _chat_key(message, user)
    question = _question_text(message, context)
    reply = await assistant.answer(question, user.language_code, burst)
    if reply.language not in (None, ENGLISH):
        log.info("reply %s to a message in language %s", reply.kind.value, reply.language)
    person = None
    text = reply.html
    if offered_here(message, context):
        if reply.intent == INTENT:  # they asked for a person
            await send_offer(message, context, reply)
            await record(context, user.id, reply, None)
            return
        person = OFFER_BUTTON
        if assistant.handovers.heard(message.chat_id, question, reply):
            text += SECOND_MISS
    text = f"{messages.DELAYED}\n\n{text}" if is_delayed(message) else text
    keyboard = keyboard_for(reply, assistant.engine, person)
    sent = await send_html(message, text, keyboard, reply.intent)
    await record(context, user.id, reply, sent.message_id)


async def on_media(update: Update, context: BotContext) -> None:
    message = update.message
    if message is None:
        return
    if message.caption:
        await on_text(update, context)
        return
    if _is_group(message) and not _addressed_to_bot(message, context):
        return
    await message.reply_text(messages.ONLY_TEXT)


async def start(update: Update, context: BotContext) -> None:
    message, user = update.message, update.effective_user
    if message is None or user is None:
        return
    assistant = context.services.assistant
    engine = assistant.engine
    payload = context.args[0] if context.args else ""
    if _PAYLOAD.match(payload):
        reply = assistant.topic(payload, _chat_key(message, user))
        if reply is None:
            guess = await assistant.answer(payload.replace("_", " ").replace("-", " "))
            if guess.kind is ReplyKind.ANSWER and guess.intent:
                reply = assistant.topic(guess.intent, _chat_key(message, user))
        if reply is not None and reply.intent and engine.intents[reply.intent].menu:
            keyboard = keyboard_for(reply, engine)
            sent = await send_html(message, reply.html, keyboard, reply.intent)
            await record(context, user.id, reply, sent.message_id)
            return
    keyboard = topics_keyboard(await assistant.most_asked())
    await message.reply_text(messages.WELCOME, reply_markup=keyboard)


async def help_menu(update: Update, context: BotContext) -> None:
    """999 first, then the most asked topics, then "or just ask"."""
    if update.message is not None:
        keyboard = topics_keyboard(await context.services.assistant.most_asked())
        await update.message.reply_text(messages.HELP, reply_markup=keyboard)


async def topics(update: Update, context: BotContext) -> None:
    """The topic groups; a group's button opens its topics (``on_menu_page``)."""
    if update.message is not None:
        keyboard = menu_keyboard(context.services.assistant.engine, None)
        await update.message.reply_text(messages.TOPICS, reply_markup=keyboard)


async def privacy(update: Update, context: BotContext) -> None:
    if update.message is not None:
        days = context.services.assistant.settings.retention_days
        await update.message.reply_text(messages.PRIVACY.format(days=days))


async def forget(update: Update, context: BotContext) -> None:
    message, user = update.message, update.effective_user
    if message is None or user is None:
        return
    context.services.assistant.forget_place(_chat_key(message, user))
    try:
        await end_for_forget(context, message.chat_id)
    except Exception:  # the records are deleted whatever happens to the handover
        log.exception("could not end a handover for /forget")
    try:
        count = await context.services.assistant.forget(user.id)
    except Exception:  # tell the resident rather than fail silently
        log.exception("could not forget a user")
        await message.reply_text(messages.FORGET_FAILED)
        return
    await message.reply_text(messages.FORGOTTEN.format(count=count))


async def unknown_command(update: Update, context: BotContext) -> None:
    if update.message and _addressed_to_bot(update.message, context):
        await update.message.reply_text(messages.UNKNOWN_COMMAND)


# -- buttons: one handler per family, routed by the callback data's prefix (BUTTONS)


async def _pressed(update: Update) -> tuple[CallbackQuery, User, Message] | None:
    """The press, its user and the message under the button; None (the resident told the
    menu has expired) for a press not tied to a message Telegram still has."""
    query, user = update.callback_query, update.effective_user
    if query is None or user is None:
        return None
    if not isinstance(query.message, Message):
        await answer_query(query, messages.EXPIRED, show_alert=True)
        return None
    return query, user, query.message


async def on_feedback(update: Update, context: BotContext) -> None:
    """``f:1`` 👍 or ``f:0`` 👎 under an answer; after a 👎, what were they looking for?"""
    pressed = await _pressed(update)
    if pressed is None:
        return
    query, user, message = pressed
    await answer_query(query, messages.FEEDBACK_THANKS)
    await _drop_keyboard(query)
    helpful = query.data == "f:1"
    try:
        store = context.services.assistant.store
        await store.record_feedback(user.id, message.message_id, helpful)
    except Exception:  # feedback is best effort
        log.exception("could not record feedback")
    if not helpful:  # once per answer: its buttons are gone now
        keyboard = menu_keyboard(context.services.assistant.engine, None, message.message_id)
        await message.reply_text(messages.WHAT_WANTED, reply_markup=keyboard)


async def on_wanted(update: Update, context: BotContext) -> None:
    """``w:REF:INTENT`` after a 👎: the topic the resident wanted."""
    pressed = await _pressed(update)
    if pressed is not None:
        query, user, message = pressed
        await _wanted(query, context, user.id, message, (query.data or "").partition(":")[2])


async def on_menu_page(update: Update, context: BotContext) -> None:
    """``g:N`` (a group of /topics), ``wg:REF:N`` (a group after a 👎 on the answer REF),
    ``g:-``/``wg:REF:-`` ("◀ All topics"): the menu message turns to that page."""
    pressed = await _pressed(update)
    if pressed is None:
        return
    query = pressed[0]
    family, _, value = (query.data or "").partition(":")
    ref, _, key = value.rpartition(":")
    engine = context.services.assistant.engine
    wanted = family == "wg"
    base = messages.WHAT_WANTED if wanted else messages.TOPICS
    page = menu_page(engine, base, key) if (ref.isdigit() if wanted else not ref) else None
    if page is None:
        await answer_query(query, messages.EXPIRED, show_alert=True)
        return
    await answer_query(query)
    text, group = page
    keyboard = menu_keyboard(engine, group, int(ref) if wanted else None)
    with contextlib.suppress(BadRequest):  # a double tap: the page is already shown
        await query.edit_message_text(text, reply_markup=keyboard)


async def on_danger_now(update: Update, context: BotContext) -> None:
    """``d:now``, "I'm in danger now" under an unsure reply: the emergency reply."""
    pressed = await _pressed(update)
    if pressed is None:
        return
    query, user, message = pressed
    engine = context.services.assistant.engine
    emergency = engine.answer_for(engine.emergency_id) if engine.emergency_id else None
    await answer_query(query)
    await _drop_keyboard(query)
    sent = await send_html(message, emergency.html if emergency else messages.DANGER_NOW)
    if emergency is not None:
        await record(context, user.id, emergency, sent.message_id)


async def on_suggestion(update: Update, context: BotContext) -> None:
    """``s:INTENT`` chosen from "Did you mean…?", replacing the question so its buttons
    can't be pressed again; ``s:-`` is "None of these"."""
    pressed = await _pressed(update)
    if pressed is None:
        return
    query, user, message = pressed
    value = (query.data or "").partition(":")[2]
    if value == "-":
        await answer_query(query)
        person = InlineKeyboardMarkup([[OFFER_BUTTON]]) if offered_here(message, context) else None
        await query.edit_message_text(messages.NONE_OF_THESE, reply_markup=person)
        await record(context, user.id, NONE_OF_THESE, message.message_id)
        return
    assistant = context.services.assistant
    chosen = assistant.topic(value, _chat_key(message, user))
    if chosen is None:
        await answer_query(query, messages.EXPIRED, show_alert=True)
        return
    await answer_query(query)
    keyboard = keyboard_for(chosen, assistant.engine)
    if len(split_message(chosen.html)) == 1:
        try:
            await query.edit_message_text(chosen.html, reply_markup=keyboard)
            await record(context, user.id, chosen, message.message_id)
            return
        except BadRequest as exc:  # unreadable HTML: send_html below sends it as text
            if not is_entity_error(exc):
                raise
    await _drop_keyboard(query)
    sent = await send_html(message, chosen.html, keyboard, chosen.intent)
    await record(context, user.id, chosen, sent.message_id)


async def on_topic(update: Update, context: BotContext) -> None:
    """``t:INTENT`` from a topic menu: that topic's answer."""
    pressed = await _pressed(update)
    if pressed is None:
        return
    query, user, message = pressed
    assistant = context.services.assistant
    chosen = assistant.topic((query.data or "").partition(":")[2], _chat_key(message, user))
    if chosen is None:
        await answer_query(query, messages.EXPIRED, show_alert=True)
        return
    await answer_query(query)
    keyboard = keyboard_for(chosen, assistant.engine)
    sent = await send_html(message, chosen.html, keyboard, chosen.intent)
    await record(context, user.id, chosen, sent.message_id)


async def on_place(update: Update, context: BotContext) -> None:
    """``p:COUNCIL:INTENT``, a district under "Which town or postcode?": that topic's
    answer for the district, remembered for the chat a while."""
    pressed = await _pressed(update)
    if pressed is None:
        return
    query, user, message = pressed
    assistant = context.services.assistant
    chosen = assistant.choose_place(query.data or "", _chat_key(message, user))
    if chosen is None:
        await answer_query(query, messages.EXPIRED, show_alert=True)
        return
    await answer_query(query)
    await _drop_keyboard(query)
    keyboard = keyboard_for(chosen, assistant.engine)
    sent = await send_html(message, chosen.html, keyboard, chosen.intent)
    await record(context, user.id, chosen, sent.message_id)


async def on_expired_button(update: Update, context: BotContext) -> None:
    """Any other press (an old menu, a button this version no longer makes)."""
    if update.callback_query is not None:
        await answer_query(update.callback_query, messages.EXPIRED, show_alert=True)


BUTTONS = (  # (callback data pattern, handler); the last takes whatever is left
    (re.compile(r"^f:[01]$"), on_feedback),
    (re.compile(r"^w:"), on_wanted),
    (re.compile(r"^d:"), on_danger_now),
    (re.compile(r"^s:"), on_suggestion),
    (re.compile(r"^t:"), on_topic),
    (re.compile(r"^w?g:"), on_menu_page),
    (re.compile(r"^p:"), on_place),
    (None, on_expired_button),
)


async def _wanted(
    query: CallbackQuery, context: BotContext, user_id: int, message: Message, value: str
) -> None:
    """Record the topic a resident wanted after a 👎 (for the review inbox), then give its
    answer, or for "Something else" the ways to get help."""
    ref, _, wanted = value.partition(":")
    engine = context.services.assistant.engine
    chosen = engine.answer_for(wanted) if wanted != "-" else None
    if not ref.isdigit() or (chosen is None and wanted != "-"):
        await query.answer(messages.EXPIRED, show_alert=True)
        return
    await query.answer(messages.FEEDBACK_THANKS)
    try:
        await context.services.assistant.store.record_wanted(user_id, int(ref), wanted)
    except Exception:  # feedback is best effort
        log.exception("could not record what a resident was looking for")
    if chosen is None:
        await query.edit_message_text(messages.WANTED_THANKS)
        return
    await _drop_keyboard(query)
    sent = await send_html(message, chosen.html, feedback_keyboard())
    await record(context, user_id, chosen, sent.message_id)


async def _drop_keyboard(query: CallbackQuery) -> None:
    with contextlib.suppress(BadRequest):  # already edited (a double tap): nothing to do
        await query.edit_message_reply_markup(reply_markup=None)
