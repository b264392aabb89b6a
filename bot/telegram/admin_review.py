"""Admins' review from Telegram: the HTML report, inbox buttons, the draft and its
publication, and the audit trail. Every change is written to the store's audit table."""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import re

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Message, Update

from bot.content.drafts import Draft, DraftConflict
from bot.content.review import ReviewError
from bot.matching.engine import Engine
from bot.matching.publishing import check_draft
from bot.settings import Settings
from bot.storage.html_report import build_report
from bot.storage.reports import LOCAL_TIME, Group, group_questions, unanswered_report
from bot.storage.store import AuditEntry, Store, StoreUnavailable
from bot.telegram import messages
from bot.telegram.admin import admin_only, days_argument, send_report
from bot.telegram.services import BotContext

log = logging.getLogger(__name__)

BUTTON_GROUPS = 10  # inbox groups that get "Add to topic…" / "Ignore" buttons
AUDIT_SHOWN = 20
REVIEW_BUTTON = re.compile(r"^r[ait]:")
PUBLISH_RUNNING = (
    "Checking the draft: validating, cross-validating the draft and the live content "
    "(a few minutes) and answering the logged questions with both…"
)


def draft_of(settings: Settings) -> Draft:
    """The draft lives beside the database, so it survives restarts with the question log."""
    return Draft(settings.database.parent / "draft", settings.intents, settings.knowledge)


def _when(at: int) -> str:
    return dt.datetime.fromtimestamp(at, LOCAL_TIME).strftime("%Y-%m-%d %H:%M")


# -- the report


@admin_only
async def admin_report(update: Update, context: BotContext) -> None:
    message = update.message
    if message is None:
        return
    days = days_argument(context, default=30)
    engine = context.services.live.engine
    titles = {i.id: i.title for i in engine.intents.values()}
    try:
        notes = [n for n in (engine.content.cards.review_note(),) if n]
        page = await build_report(context.services.store, days, titles, notes=notes)
    except StoreUnavailable as exc:
        await send_report(update, f"The database is unavailable just now: {exc}")
        return
    today = dt.datetime.now(LOCAL_TIME).date()
    await message.reply_document(
        page.encode("utf-8"),
        filename=f"report-{today:%Y-%m-%d}-{days}d.html",
        caption=f"Report for the last {days} days: open it in a browser.",
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
        report, groups = await unanswered_report(context.services.store, days_argument(context))
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


async def _group_of(store: Store, question_id: int, days: int) -> list[int]:
    """The ids of the inbox group holding ``question_id`` (just that id if none)."""
    for questions in (await store.questions(days), await store.not_helpful(days)):
        for group in group_questions(questions):
            if question_id in group.ids:
                return group.ids
    return [question_id]


async def on_review_button(update: Update, context: BotContext) -> None:
    """``ra:ID`` shows topic buttons, ``rt:ID:INTENT`` adds to the draft, ``ri:ID`` ignores."""
    query, user = update.callback_query, update.effective_user
    if query is None or user is None:
        return
    if user.id not in context.services.settings.admin_ids:
        log.warning("review button refused: user is not in ADMIN_IDS")
        await query.answer(messages.EXPIRED, show_alert=True)
        return
    kind, _, value = (query.data or "").partition(":")
    qid, _, intent = value.partition(":")
    services = context.services
    if not qid.isdigit() or not isinstance(query.message, Message):
        await query.answer()
        return
    question = await services.store.question(int(qid))
    if question is None:
        await query.answer("That question is no longer kept.", show_alert=True)
        return
    if kind == "ra":
        topics = [i for i in services.live.engine.intents.values() if i.examples or i.menu]
        rows = [
            [InlineKeyboardButton(i.title, callback_data=f"rt:{qid}:{i.id}")]
            for i in sorted(topics, key=lambda i: i.title)
        ]
        await query.answer()
        await query.message.reply_text(
            f'Which topic should "{question.text}" [#{qid}] be an example of?',
            reply_markup=InlineKeyboardMarkup(rows),
            parse_mode=None,
        )
        return
    ids = await _group_of(services.store, int(qid), services.settings.retention_days)
    if kind == "ri":
        for each in ids:
            await services.store.mark_reviewed(each)
        await services.store.add_audit(user.id, "ignore", f"#{qid} ({len(ids)} questions)")
        await query.answer("Ignored.")
        await query.message.reply_text(f"Ignored group #{qid} ({len(ids)} questions).")
        return
    settings = services.settings
    try:
        await asyncio.to_thread(
            draft_of(settings).add_example, intent, question.text, settings.seeds
        )
    except ReviewError as exc:
        await query.answer()
        await query.message.reply_text(f"Not added: {exc}", parse_mode=None)
        return
    for each in ids:
        await services.store.mark_reviewed(each)
    await services.store.add_audit(
        user.id, "add-example", f'#{qid} "{question.text}" → {intent} (draft)'
    )
    await query.answer("Added to the draft.")
    await query.edit_message_text(
        f'Added "{question.text}" to {intent} in the draft ({len(ids)} questions reviewed). '
        "Send /publish to check it and make it live, or /discard to drop the draft.",
        parse_mode=None,
    )


# -- the draft


@admin_only
async def admin_publish(update: Update, context: BotContext) -> None:
    services = context.services
    draft = draft_of(services.settings)
    files = draft.changes()
    if not files:
        await send_report(update, "The draft is empty: nothing to publish.")
        return
    lock: asyncio.Lock = context.bot_data.setdefault("publish-lock", asyncio.Lock())
    if lock.locked():
        await send_report(update, "A publication is being checked already; wait for its result.")
        return
    async with lock:
        await send_report(update, PUBLISH_RUNNING)
        admin = update.effective_user.id if update.effective_user else 0
        summary, ok = await publish(
            draft, services.live.engine, services.settings, services.store, admin
        )
        if ok:
            result = await services.live.reload()
            summary += f"\n{result.summary}"
        await send_report(update, summary)


async def publish(
    draft: Draft, engine: Engine, settings: Settings, store: Store, admin: int, folds: int = 5
) -> tuple[str, bool]:
    """Check the draft against the live engine; make it live only if every check passes.
    Returns what the admin reads and whether it went live (shared with the command line)."""
    files = draft.changes()
    days = settings.retention_days
    logged = await store.questions(days, reviewed=True) + await store.not_helpful(days)
    texts = list(dict.fromkeys(q.text for q in logged))
    check = await asyncio.to_thread(
        check_draft, engine, draft.intents, draft.knowledge, settings.seeds, texts, folds
    )
    summary = check.summary(files)
    if not check.ok:
        await store.add_audit(
            admin, "publish-refused", f"{', '.join(files)}: {check.safety or 'errors'}"
        )
        return summary, False
    try:
        changed = await asyncio.to_thread(draft.apply)
    except DraftConflict as exc:
        await store.add_audit(admin, "publish-refused", str(exc))
        return f"{summary}\nNOT published: {exc}", False
    before, after = check.before["accuracy"], check.after["accuracy"]
    await store.add_audit(
        admin, "publish", f"{', '.join(changed)}; accuracy {before:.1%} → {after:.1%}"
    )
    return f"{summary}\nPublished: the draft is live.", True


@admin_only
async def admin_discard(update: Update, context: BotContext) -> None:
    draft = draft_of(context.services.settings)
    files = draft.changes()
    draft.discard()
    admin = update.effective_user.id if update.effective_user else 0
    if files:
        await context.services.store.add_audit(admin, "discard", ", ".join(files))
    await send_report(update, "Draft discarded." if files else "There was no draft to discard.")


@admin_only
async def admin_audit(update: Update, context: BotContext) -> None:
    try:
        entries = await context.services.store.audit_entries(AUDIT_SHOWN)
    except StoreUnavailable as exc:
        await send_report(update, f"The database is unavailable just now: {exc}")
        return
    await send_report(update, audit_text(entries))


def audit_text(entries: list[AuditEntry]) -> str:
    if not entries:
        return "No changes recorded yet."
    lines = [f"Last {len(entries)} changes (newest first):"]
    lines += [
        f"{_when(e.at)} {'staff (command line)' if e.admin == 0 else f'admin {e.admin}'}: "
        f"{e.action} {e.detail}"
        for e in entries
    ]
    return "\n".join(lines)
