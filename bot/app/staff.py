"""Staff's work on the question log and the content, the same from every surface (the
command line, Telegram's admin commands): the review inbox, the draft and its
publication, the audit trail, usage figures and the report.

One review policy: an example added from a reviewed question goes to the draft (live only
once published), the whole group of similar questions is marked reviewed, and every
change is written to the audit trail.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from dataclasses import dataclass

from bot.app.handover import handover_figures
from bot.content.drafts import Draft, DraftConflict
from bot.content.loading import Content
from bot.content.places import ASK
from bot.matching.engine import Engine
from bot.matching.publishing import check_draft
from bot.settings import Settings
from bot.storage.html_report import build_report
from bot.storage.reports import LOCAL_TIME, Group, group_questions, stats_report, unanswered_report
from bot.storage.store import AuditEntry, Question, Store, StoreUnavailable
from bot.text import plural

COMMAND_LINE = 0  # the audit trail's "admin" for staff at the command line
PUBLISH_RUNNING = (
    "Checking the draft: validating, cross-validating the draft and the live content "
    "(a few minutes) and answering the logged questions with both…"
)


class NoSuchQuestion(Exception):
    """No question with this number is kept (wrong number, or past retention)."""

    def __init__(self, question_id: int) -> None:
        super().__init__(f"no question #{question_id} with text (it may be past retention)")


@dataclass(frozen=True)
class Reviewed:
    """A review action's result: the question acted on and its group's ids."""

    question: Question
    ids: list[int]


class Staff:
    """Staff tasks on one question log; ``admin`` arguments are Telegram ids, or
    COMMAND_LINE."""

    def __init__(self, settings: Settings, store: Store) -> None:
        self.settings = settings
        self.store = store
        self.publishing = asyncio.Lock()  # one publication checked at a time

    def draft(self) -> Draft:
        return draft_of(self.settings)

    async def unanswered(self, days: int, limit: int = 20) -> tuple[str, list[Group]]:
        """The review inbox as text, and its groups in the order listed."""
        return await unanswered_report(self.store, days, limit=limit)

    async def add_example(self, question_id: int, intent_id: str, admin: int) -> Reviewed:
        """Add the question to the intent's examples in the draft and mark its group
        reviewed; raises NoSuchQuestion, or ReviewError when the example is refused."""
        question = await self._question(question_id)
        await asyncio.to_thread(
            self.draft().add_example, intent_id, question.text, self.settings.seeds, question_id
        )
        ids = await self._mark_group(question_id)
        # The question's number, never its words: /forget must leave none in the audit.
        await self.store.add_audit(admin, "add-example", f"#{question_id} → {intent_id} (draft)")
        return Reviewed(question, ids)

    async def ignore(self, question_id: int, admin: int) -> Reviewed:
        """Hide the question's group from the review inbox; raises NoSuchQuestion."""
        question = await self._question(question_id)
        ids = await self._mark_group(question_id)
        group = plural(len(ids), "question")
        await self.store.add_audit(admin, "ignore", f"#{question_id} ({group})")
        return Reviewed(question, ids)

    async def _question(self, question_id: int) -> Question:
        question = await self.store.question(question_id)
        if question is None:
            raise NoSuchQuestion(question_id)
        return question

    async def _mark_group(self, question_id: int) -> list[int]:
        """Mark reviewed every question of the inbox group holding ``question_id``."""
        days = self.settings.retention_days
        ids = [question_id]
        for questions in (await self.store.questions(days), await self.store.not_helpful(days)):
            found = [g.ids for g in group_questions(questions) if question_id in g.ids]
            if found:
                ids = found[0]
                break
        for each in ids:
            await self.store.mark_reviewed(each)
        return ids

    async def publish(self, engine: Engine, admin: int, folds: int = 5) -> tuple[str, bool]:
        """Check the draft against the live engine; make it live only if every check
        passes. Returns what staff read and whether it went live."""
        draft, store = self.draft(), self.store
        files = draft.changes()
        days = self.settings.retention_days
        logged = await store.questions(days, reviewed=True) + await store.not_helpful(days)
        texts = list(dict.fromkeys(q.text for q in logged))
        check = await asyncio.to_thread(
            check_draft, engine, draft.intents, draft.knowledge, self.settings.seeds, texts, folds
        )
        summary = check.summary(files)
        if not check.ok:
            await store.add_audit(
                admin,
                "publish-refused",
                f"{', '.join(files)}: {check.verdict.failures or 'errors'}",
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

    async def discard(self, admin: int) -> str:
        """Drop the draft; what staff read."""
        draft = self.draft()
        files = draft.changes()
        draft.discard()
        if not files:
            return "There was no draft to discard."
        await self.store.add_audit(admin, "discard", ", ".join(files))
        return "Draft discarded."

    async def audit(self, limit: int) -> str:
        """The last ``limit`` changes, newest first."""
        return audit_text(await self.store.audit_entries(limit))

    async def stats(self, days: int, notes: list[str]) -> str:
        """Usage figures, followed by ``notes`` about the content (see ``content_notes``);
        raises StoreUnavailable."""
        report = await stats_report(self.store, days)
        handovers = handover_figures(await self.store.handovers(days), days)
        return self._led_by_trouble("\n".join([report, *handovers, *notes]))

    def unavailable(self, error: StoreUnavailable) -> str:
        """What staff read when the question log cannot be read just now."""
        return self._led_by_trouble(f"The database is unavailable just now: {error}")

    def _led_by_trouble(self, text: str) -> str:
        """``text`` after the question log's trouble, if it has any (records not yet
        written are not counted in the figures)."""
        health = self.store.health()
        return text if health is None else f"⚠️ {health}.\n{text}"

    async def report(self, days: int, content: Content | None) -> str:
        """The admins' HTML report of the last ``days`` days."""
        titles = {i.id: i.title for i in content.intents.values()} if content else {}
        notes = handover_figures(await self.store.handovers(days), days) + content_notes(content)
        places = content.places if content else None
        bodies = [*places.councils.values(), *places.forces.values()] if places else []
        names = {body.id: body.label for body in bodies}
        names[ASK] = "Asked for the town (spans several councils)"
        return await build_report(self.store, days, titles, notes=notes, places=names)


def draft_of(settings: Settings) -> Draft:
    """The draft lives beside the database, so it survives restarts with the log."""
    return Draft(settings.database.parent / "draft", settings.intents, settings.knowledge)


def content_notes(content: Content | None) -> list[str]:
    """Lines for staff about the content: language cards awaiting a fluent reviewer."""
    note = content.cards.review_note() if content is not None else None
    return [note] if note else []


def audit_text(entries: list[AuditEntry]) -> str:
    if not entries:
        return "No changes recorded yet."
    lines = [f"Last {plural(len(entries), 'change')} (newest first):"]
    lines += [
        f"{_when(e.at)} "
        f"{'staff (command line)' if e.admin == COMMAND_LINE else f'admin {e.admin}'}: "
        f"{e.action} {e.detail}"
        for e in entries
    ]
    return "\n".join(lines)


def _when(at: int) -> str:
    return dt.datetime.fromtimestamp(at, LOCAL_TIME).strftime("%Y-%m-%d %H:%M")
