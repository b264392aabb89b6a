"""Telegram's side of "talk to a person" (``bot.app.handover`` decides; this carries):
the offer's buttons, a forum topic per handover in the staff group (or, without topics, a
thread of replies to the bot's opening message), and relaying both ways.

Relayed messages are updates like any other: recorded in the inbox before they are
handled and marked done once relayed, so each is relayed once through a restart.
"""

from __future__ import annotations

import contextlib
import logging
import re

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Message, ReplyParameters, Update
from telegram.constants import ChatType
from telegram.error import BadRequest, Forbidden, TelegramError

from bot.app.handover import (
    ALREADY_OPEN,
    CLOSED_BY,
    CONNECTED,
    ENDED_BY_RESIDENT,
    ENDED_BY_STAFF,
    GONE,
    INTENT,
    NOT_NOW,
    UNAVAILABLE,
    Handovers,
    escape,
)
from bot.matching.reply import Reply
from bot.storage.store import Handover, StoreUnavailable
from bot.telegram.sending import answer_query, keyboard_for, record, send_html, split_message
from bot.telegram.services import BotContext

log = logging.getLogger(__name__)

HANDOVER_BUTTON = re.compile(r"^h:")
OFFER_BUTTON = InlineKeyboardButton("🙋 Talk to a person", callback_data="h:offer")
CONFIRM = InlineKeyboardMarkup(
    [
        [InlineKeyboardButton("✅ Yes, pass it on", callback_data="h:yes")],
        [InlineKeyboardButton("No thanks", callback_data="h:no")],
    ]
)
END = InlineKeyboardMarkup(
    [[InlineKeyboardButton("End the chat with staff", callback_data="h:end")]]
)
ONLY_TEXT = "Only text is passed on to the resident."


def handovers_of(context: BotContext) -> Handovers:
    return context.services.assistant.handovers


def offered_here(message: Message, context: BotContext) -> bool:
    """A person is offered in private chats, when a staff group is set."""
    return message.chat.type == ChatType.PRIVATE and handovers_of(context).enabled


async def send_offer(message: Message, context: BotContext, routes: Reply | None) -> None:
    """Consent and its buttons while staffed; else what is open now (out-of-hours
    requests are counted)."""
    handovers = handovers_of(context)
    engine = context.services.assistant.engine
    routes = routes or engine.answer_for(INTENT)
    offer = handovers.offer(routes.html if routes else "")
    if offer.connect:
        await message.reply_text(offer.html, reply_markup=CONFIRM)
        return
    await send_html(message, offer.html, intent=INTENT)
    try:
        await handovers.refused()
    except StoreUnavailable:
        log.warning("could not count an out-of-hours request: the store is unavailable")


# -- the resident's buttons: h:offer, h:yes, h:no, h:end


async def on_handover_button(update: Update, context: BotContext) -> None:
    query = update.callback_query
    if query is None or not isinstance(query.message, Message):
        return
    message, choice = query.message, (query.data or "").partition(":")[2]
    await answer_query(query)
    handovers = handovers_of(context)
    if not offered_here(message, context):
        return
    if choice == "offer":
        await send_offer(message, context, None)
    elif choice == "no":
        await _edit(query.message, NOT_NOW)
    elif choice == "yes":
        await _drop_buttons(message)
        if not handovers.staffed():
            await send_offer(message, context, None)
            return
        async with handovers.opening(message.chat_id):
            await hand_over(message, context)
    elif choice == "end":
        handover = handovers.of_resident(message.chat_id)
        if handover is not None:
            await end(context, handover, "resident")


async def hand_over(message: Message, context: BotContext) -> None:
    """Open the handover, give it a topic (or a first message) in the staff group, and
    tell the resident."""
    handovers = handovers_of(context)
    existing = handovers.of_resident(message.chat_id)
    if existing is not None and (existing.thread or existing.root):
        await message.reply_text(handovers.text(ALREADY_OPEN, ref=existing.ref))
        return
    handover = existing or await handovers.open(message.chat_id)
    if handover is None:
        await message.reply_text(handovers.text(UNAVAILABLE))
        return
    try:
        await _place(context, handover)
    except TelegramError as exc:
        log.error("could not post a handover to the staff group (%s)", exc.__class__.__name__)
        await handovers.close(handover, "staff")
        await message.reply_text(handovers.text(UNAVAILABLE))
        return
    await message.reply_text(handovers.text(CONNECTED, ref=handover.ref), reply_markup=END)


async def _place(context: BotContext, handover: Handover) -> None:
    handovers = handovers_of(context)
    group = handovers.staff_group
    thread = None
    try:
        topic = await context.bot.create_forum_topic(group, handovers.topic_name(handover))
        thread = topic.message_thread_id
    except BadRequest as exc:  # topics off, or no right to manage them: thread by replies
        log.warning("no forum topic for a handover (%s); staff answer by replying", exc.message)
    sent = await context.bot.send_message(
        group, handovers.opening_post(handover), message_thread_id=thread
    )
    await handovers.placed(handover, thread, None if thread else sent.message_id)


async def post_to_staff(context: BotContext, handover: Handover, text: str) -> None:
    """A message in the handover's topic, or a reply to its first message."""
    handovers = handovers_of(context)
    handover = handovers.current(handover)
    group = handovers.staff_group
    reply_to = None if handover.thread or not handover.root else ReplyParameters(handover.root)
    for part in split_message(text):
        sent = await context.bot.send_message(
            group, part, message_thread_id=handover.thread, reply_parameters=reply_to
        )
        if handover.thread is None:
            await handovers.link(sent.message_id, handover.ref)


async def end(context: BotContext, handover: Handover, by: str) -> None:
    """Close it: the other side told, the topic closed, the resident's ids gone."""
    handovers = handovers_of(context)
    handover = handovers.current(handover)
    chat = handover.chat_id
    await handovers.close(handover, by)
    try:
        await post_to_staff(context, handover, CLOSED_BY[by])
        if handover.thread is not None:
            await context.bot.close_forum_topic(handovers.staff_group, handover.thread)
    except TelegramError as exc:
        log.warning("could not close a handover's topic (%s)", exc.__class__.__name__)
    if chat is not None and by != "forgotten":
        text = ENDED_BY_STAFF if by == "staff" else ENDED_BY_RESIDENT
        await context.bot.send_message(chat, text.format(ref=handover.ref))


async def end_for_forget(context: BotContext, chat_id: int) -> None:
    """``/forget`` during a handover: it ends, and staff are told why."""
    handovers = handovers_of(context)
    handover = handovers.of_resident(chat_id)
    if handover is not None:
        await end(context, handover, "forgotten")
    handovers.forget(chat_id)


# -- relaying


async def relay_from_resident(message: Message, context: BotContext, hint: str | None) -> bool:
    """A resident's message during a handover: safety first, then to staff. False when
    they have none open (the bot answers as usual)."""
    if message.chat.type != ChatType.PRIVATE:
        return False
    handovers = handovers_of(context)
    handover = handovers.of_resident(message.chat_id)
    if handover is None:
        return False
    async with handovers.lock(handover):
        relay = await handovers.from_resident(handover, message.text or message.caption or "", hint)
        engine = context.services.assistant.engine
        for reply in relay.to_resident:  # at once, before anything else
            sent = await send_html(message, reply.html, keyboard_for(reply, engine), reply.intent)
            await record(context, message.chat_id, reply, sent.message_id)
        for post in relay.to_staff:
            await post_to_staff(context, handover, post)
    return True


async def on_staff_message(update: Update, context: BotContext) -> None:
    """Any message in the staff group: from staff in a handover's topic (or a reply in
    its thread), relayed to the resident; ``/end`` ends it. Anyone else is ignored."""
    message, user = update.message, update.effective_user
    if message is None or user is None:
        return
    handovers = handovers_of(context)
    if not handovers.is_staff(user.id):
        log.info("ignored a message in the staff group from someone not on STAFF_IDS")
        return
    text = message.text or message.caption
    command = text.split(maxsplit=1)[0].split("@")[0] if text and text.startswith("/") else ""
    if command == "/name":
        words = text.partition(" ")[2] if text else ""
        await message.reply_text(escape(await handovers.name(user.id, words)))
        return
    replied = message.reply_to_message
    handover = handovers.of_staff_message(
        message.message_thread_id, replied.message_id if replied else None
    )
    if handover is None:
        to_bot = (
            replied is not None
            and replied.from_user is not None
            and (replied.from_user.id == context.bot.id)
        )
        if message.is_topic_message or to_bot:  # a handover's thread, now ended
            await message.reply_text(GONE)
        return
    if command == "/end":
        await end(context, handover, "staff")
        return
    if not text:
        await message.reply_text(ONLY_TEXT)
        return
    async with handovers.lock(handover):
        if not handovers.is_open(handover):
            await message.reply_text(GONE)
            return
        relayed = await handovers.from_staff(handovers.current(handover), user.id, text)
        try:
            for part in split_message(relayed):
                await context.bot.send_message(handover.chat_id or 0, part, reply_markup=END)
        except Forbidden:
            await message.reply_text("Not delivered: the resident has blocked the bot.")


async def check_waiting(context: BotContext) -> None:
    """A job: residents waiting past HANDOVER_WAIT_MINUTES with no reply are told, and
    given other routes; staff see how long they have waited."""
    handovers = handovers_of(context)
    for handover in handovers.overdue():
        try:
            to_resident, to_staff = await handovers.remind(handover)
        except StoreUnavailable:
            return  # told next time: never twice
        if handover.chat_id is not None:
            try:
                await context.bot.send_message(handover.chat_id, to_resident)
                await post_to_staff(context, handover, to_staff)
            except TelegramError as exc:
                log.warning("could not send a no-reply notice (%s)", exc.__class__.__name__)


async def _edit(message: Message, text: str) -> None:
    with contextlib.suppress(BadRequest):  # a double tap: already edited
        await message.edit_text(text, reply_markup=None)


async def _drop_buttons(message: Message) -> None:
    with contextlib.suppress(BadRequest):
        await message.edit_reply_markup(reply_markup=None)
