"""Admins' review from Telegram: the HTML report, inbox buttons, the draft and its
publication, and the audit trail, over the staff service (``bot.app.staff``), which
writes every change to the audit trail."""

from __future__ import annotations

import datetime as dt
import logging
import re

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Message, Update
from telegram.constants import ChatType

from bot.app.staff import PUBLISH_RUNNING, NoSuchQuestion
from bot.content.review import ReviewError
from bot.storage.reports import LOCAL_TIME, Group
from bot.storage.store import StoreUnavailable
from bot.telegram import messages
from bot.telegram.admin import ADMIN_PRIVATE_ONLY, admin_only, days_argument, send_report
from bot.telegram.services import BotContext
from bot.text import plural

log = logging.getLogger(__name__)

BUTTON_GROUPS = 10  # inbox groups that get "Add to topic…" / "Ignore" buttons
AUDIT_SHOWN = 20
OTHER_TOPICS = "Not on the menus (greetings, out of scope…)"
REVIEW_BUTTON = re.compile(r"^r[ait]:")


# -- the report


@admin_only
async def admin_report(update: Update, context: BotContext) -> None:
    message = update.message
    if message is None:
        return
    days = days_argument(context, default=30)
    assistant = context.services.assistant
    try:
        page = await assistant.staff.report(days, assistant.engine.content)
    except StoreUnavailable as exc:
        await send_report(update, f"The database is unavailable just now: {exc}")
        return
    today = dt.datetime.now(LOCAL_TIME).date()
    await message.reply_document(
        page.encode("utf-8"),
        filename=f"report-{today:%Y-%m-%d}-{days}d.html",
        caption=f"Report for the last {plural(days, 'day')}: open it in a browser.",
        parse_mode=None,
    )


# -- the inbox, with buttons


def review_keyboard(groups: list[Group]) -> InlineKeyboardMarkup | None:
    rows = [
        [
            InlineKeyboardButton(
                f"➕ #{g.example.id} Add to topic…", callback_data=f"ra:{g.example.id}"
            ),
            InlineKeyboardButton(f"🚫 #{g.example.id} Ignore", callback_data=f"ri:{g.example.id}"),
        ]
        for g in groups[:BUTTON_GROUPS]
    ]
    return InlineKeyboardMarkup(rows) if rows else None


@admin_only
async def admin_unanswered(update: Update, context: BotContext) -> None:
    message = update.message
    if message is None:
        return
    try:
        report, groups = await context.services.assistant.staff.unanswered(days_argument(context))
    except StoreUnavailable as exc:
        await send_report(update, f"The database is unavailable just now: {exc}")
        return
    await send_report(update, report)
    keyboard = review_keyboard(groups)
    if keyboard is not None:
        await message.reply_text(
            "Add a group's question to a topic (it goes to the draft; /publish makes it "
            "live), or ignore the group:",
            reply_markup=keyboard,
            parse_mode=None,
        )


async def on_review_button(update: Update, context: BotContext) -> None:
    """``ra:ID`` shows the pages of topic buttons (``ra:ID:PAGE`` one page, ``ra:ID:-``
    them all), ``rt:ID:INTENT`` adds to the draft, ``ri:ID`` ignores."""
    query, user, chat = update.callback_query, update.effective_user, update.effective_chat
    if query is None or user is None:
        return
    assistant = context.services.assistant
    if user.id not in assistant.settings.admin_ids:
        log.warning("review button refused: user is not in ADMIN_IDS")
        await query.answer(messages.EXPIRED, show_alert=True)
        return
    if chat is None or chat.type != ChatType.PRIVATE:  # its replies quote residents
        log.warning("review button refused outside a private chat")
        await query.answer(ADMIN_PRIVATE_ONLY, show_alert=True)
        return
    kind, _, value = (query.data or "").partition(":")
    qid, _, intent = value.partition(":")
    if not qid.isdigit() or not isinstance(query.message, Message):
        await query.answer()
        return
    try:
        if kind == "ra" and intent:  # a page of the topic buttons
            keyboard = _topic_keyboard(context, qid, intent)
            if keyboard is None:
                await query.answer(messages.EXPIRED, show_alert=True)
                return
            await query.answer()
            await query.edit_message_reply_markup(reply_markup=keyboard)
        elif kind == "ra":
            question = await assistant.store.question(int(qid))
            if question is None:
                raise NoSuchQuestion(int(qid))
            await query.answer()
            await query.message.reply_text(
                f'Which topic should "{question.text}" [#{qid}] be an example of?',
                reply_markup=_topic_keyboard(context, qid, "-"),
                parse_mode=None,
            )
        elif kind == "ri":
            ignored = await assistant.staff.ignore(int(qid), user.id)
            await query.answer("Ignored.")
            ids = plural(len(ignored.ids), "question")
            await query.message.reply_text(f"Ignored group #{qid} ({ids}).")
        else:
            added = await assistant.staff.add_example(int(qid), intent, user.id)
            await query.answer("Added to the draft.")
            await query.edit_message_text(
                f'Added "{added.question.text}" to {intent} in the draft ({len(added.ids)} '
                "questions reviewed). Send /publish to check it and make it live, or /discard "
                "to drop the draft.",
                parse_mode=None,
            )
    except NoSuchQuestion:
        await query.answer("That question is no longer kept.", show_alert=True)
    except ReviewError as exc:
        await query.answer()
        await query.message.reply_text(f"Not added: {exc}", parse_mode=None)


def _topic_keyboard(context: BotContext, qid: str, page: str) -> InlineKeyboardMarkup | None:
    """For question ``qid``: a button per page of topics (``page`` ``-``), the menu's
    groups then the topics no menu shows; or a page's topics and "◀ All topics". None for
    a page there is not. Telegram shows at most 100 buttons under a message."""
    engine = context.services.assistant.engine
    pages = [(g.title, list(g.intents)) for g in engine.content.menu.groups]
    others = [i for i in engine.intents.values() if i.examples and not i.menu]
    pages.append((OTHER_TOPICS, [i.id for i in sorted(others, key=lambda i: i.title)]))
    if page == "-":
        rows = [
            [InlineKeyboardButton(title, callback_data=f"ra:{qid}:{n}")]
            for n, (title, _) in enumerate(pages)
        ]
    elif page.isdigit() and int(page) < len(pages):
        rows = [
            [InlineKeyboardButton(engine.intents[i].title, callback_data=f"rt:{qid}:{i}")]
            for i in pages[int(page)][1]
        ]
        rows.append([InlineKeyboardButton(messages.ALL_TOPICS, callback_data=f"ra:{qid}:-")])
    else:
        return None
    return InlineKeyboardMarkup(rows)


# -- the draft


@admin_only
async def admin_publish(update: Update, context: BotContext) -> None:
    assistant = context.services.assistant
    staff = assistant.staff
    if not staff.draft().changes():
        await send_report(update, "The draft is empty: nothing to publish.")
        return
    if staff.publishing.locked():
        await send_report(update, "A publication is being checked already; wait for its result.")
        return
    async with staff.publishing:
        await send_report(update, PUBLISH_RUNNING)
        admin = update.effective_user.id if update.effective_user else 0
        summary, ok = await staff.publish(assistant.engine, admin)
        if ok:
            result = await assistant.watcher.reload()
            summary += f"\n{result.summary}"
        await send_report(update, summary)


@admin_only
async def admin_discard(update: Update, context: BotContext) -> None:
    admin = update.effective_user.id if update.effective_user else 0
    await send_report(update, await context.services.assistant.staff.discard(admin))


@admin_only
async def admin_audit(update: Update, context: BotContext) -> None:
    try:
        text = await context.services.assistant.staff.audit(AUDIT_SHOWN)
    except StoreUnavailable as exc:
        text = f"The database is unavailable just now: {exc}"
    await send_report(update, text)
