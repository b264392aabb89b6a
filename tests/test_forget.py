"""/forget and retention leave none of a resident's words behind (issue 23, item 7): not in
any table of either store, not in the audit trail, not in the draft an admin added their
question to. The tables' columns are read from the database itself, so a column added
later that can hold text fails here until it is classified (and, if it can hold a
resident's words, emptied)."""

from __future__ import annotations

import time

from bot.storage.store import InboxEntry
from tests.fake_telegram import callback, message
from tests.telegram_harness import running_bot
from tests.test_telegram import ask

ADMIN, RESIDENT, NEIGHBOUR = 900, 48151623, 42424242
WORD = "quillfeather"  # in each of the resident's messages, and nowhere in the content
ASKED = f"what time does the {WORD} tip open"  # unanswered: its text is kept for review
RATED = f"how do I report fly tipping near {WORD} farm"  # answered, then rated 👎
KEPT = "what time does the marrowby tip open"  # another resident's, which must stay

# Every column that can hold text, by what it holds. A new one fails the tests until it
# is put in one of these sets (and, if it can hold a resident's words, /forget and the
# retention job empty it).
RESIDENT_TEXT = {
    ("messages", "text"),  # unanswered and 👎 questions, redacted
    ("inbox", "text"),  # an update's text until it is answered
    ("audit", "detail"),  # versions before 2026-12-05 quoted the question added
}
NOT_RESIDENT_TEXT = {
    ("messages", "user_key"),  # a keyed hash
    ("messages", "kind"),
    ("messages", "intent"),
    ("messages", "suggestions"),  # topic ids
    ("messages", "closest_intent"),
    ("messages", "wanted"),  # a topic id, or "-"
    ("feedback", "user_key"),
    ("audit", "action"),
    ("inbox", "state"),
    ("inbox", "kind"),
    ("inbox", "chat_type"),
    ("handovers", "ref"),  # a short random reference
    ("handovers", "state"),
    ("handovers", "subject"),  # the topic's title and a town from knowledge/_places.yaml
    ("handovers", "user_key"),  # a keyed hash, deleted by /forget
    ("handovers", "staff"),  # who of the staff answered
    ("handover_links", "ref"),
    ("staff_names", "name"),  # the first name a member of staff signs with
    ("place_counts", "day"),
    ("place_counts", "place"),  # a council or force id, never with a user
}


async def text_columns(database) -> set[tuple[str, str]]:
    """Every (table, column) of the database whose type is not a number."""
    if database.url is None:
        tables = await database.rows(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'"
        )
        return {
            (table, column)
            for (table,) in tables
            for _, column, kind, *_ in await database.rows(f"PRAGMA table_info({table})")
            if kind.upper() not in ("INTEGER", "REAL")
        }
    rows = await database.rows(
        "SELECT table_name, column_name FROM information_schema.columns"
        " WHERE table_schema = 'public' AND data_type NOT IN"
        " ('integer', 'bigint', 'smallint', 'real', 'double precision', 'numeric', 'boolean')"
    )
    return {(table, column) for table, column in rows}


async def holding(database, word: str) -> set[tuple[str, str]]:
    """The text columns in which some row holds ``word``."""
    columns = await text_columns(database)
    assert columns == RESIDENT_TEXT | NOT_RESIDENT_TEXT, (
        f"classify the new columns above: {sorted(columns - RESIDENT_TEXT - NOT_RESIDENT_TEXT)}"
    )
    found = set()
    for table, column in sorted(columns):
        sql = f"SELECT COUNT(*) FROM {table} WHERE {column} LIKE ?"  # noqa: S608 -- introspected
        if (await database.rows(sql, f"%{word}%"))[0][0]:
            found.add((table, column))
    return found


async def speak(fake, store, resident: int = RESIDENT) -> None:
    """The resident's unanswered question, and an answer they rate 👎."""
    await ask(fake, message(resident, ASKED))
    (answer,) = await ask(fake, message(resident, RATED))
    await ask(fake, callback(resident, "f:0", answer.message_id))  # "what were you looking for?"
    assert await store.flush()


async def test_forget_leaves_none_of_the_residents_words_in_any_table_or_the_draft(
    engine, database, content_dir
):
    dirs = {"intents": content_dir.intents, "knowledge": content_dir.knowledge}
    admins = frozenset({ADMIN})
    async with running_bot(engine, admin_ids=admins, **dirs, **database.settings()) as (
        fake,
        store,
        _,
    ):
        await speak(fake, store)
        await ask(fake, message(NEIGHBOUR, KEPT))
        assert await store.flush()
        (asked,) = [q for q in await store.questions(days=1) if q.text == ASKED]
        fake.push(callback(ADMIN, f"rt:{asked.id}:out_of_scope", 1))
        # adding validates the content twice: seconds on a busy machine
        await fake.wait_for(lambda: fake.sent("editMessageText"), timeout=30)
        # as versions before 2026-12-05 wrote the entry, quoting the question
        await store.add_audit(ADMIN, "add-example", f'#{asked.id} "{ASKED}" → thanks (draft)')
        draft = database.path.parent / "draft" / "intents" / "out_of_scope.yaml"
        assert f"- {ASKED}  # from question #{asked.id}\n" in draft.read_text()
        # the inbox keeps an update's text only until it is answered
        assert await holding(database, WORD) == RESIDENT_TEXT - {("inbox", "text")}

        (forgotten,) = await ask(fake, message(RESIDENT, "/forget"))
        assert "deleted" in forgotten.text.lower()
        assert await store.flush()
        assert await holding(database, WORD) == set()
        assert draft.read_text() == (content_dir.intents / "out_of_scope.yaml").read_text()
        assert await holding(database, "marrowby") == {("messages", "text")}
        (audit,) = await ask(fake, message(ADMIN, "/audit"))
        assert WORD not in audit.text
        assert f"add-example #{asked.id} → thanks (draft)" in audit.text

        # and the bot goes on answering and logging
        (answer,) = await ask(fake, message(RESIDENT, "beacon phone number"))
        assert "0300 011 55 55" in answer.text
        assert await store.flush()
        outcomes = await store.outcomes(days=1)
        assert len(outcomes) == 2  # the neighbour's question, and this one
        assert "victim_support_beacon" in [o.intent for o in outcomes]


async def test_retention_empties_every_column_that_holds_resident_text(engine, database):
    async with running_bot(engine, **database.settings()) as (fake, store, _):
        await speak(fake, store)
        await store.add_audit(ADMIN, "add-example", f'#1 "{ASKED}" → thanks (draft)')
        # an update received just before a crash, never answered
        now = int(time.time())
        entry = InboxEntry(123456789, 999, now, "message", 7, "private", 7, 3, now, RATED)
        assert await store.receive(entry)
        assert await store.flush()
        assert await holding(database, WORD) == RESIDENT_TEXT

        assert await store.purge_text(90) == 0  # all of it is recent
        assert await holding(database, WORD) == RESIDENT_TEXT
        old = 91 * 86400
        await database.execute("UPDATE messages SET at = at - ?", old)
        await database.execute("UPDATE audit SET at = at - ?", old)
        await database.execute("UPDATE inbox SET received = received - ?", old)
        assert await store.purge_text(90) == 4  # two questions, an update, an audit entry
        assert await holding(database, WORD) == set()
        assert [e.detail for e in await store.audit_entries(5)] == ["#1 → thanks (draft)"]

        (answer,) = await ask(fake, message(RESIDENT, "beacon phone number"))
        assert "0300 011 55 55" in answer.text
        assert await store.flush()
        assert len(await store.outcomes(days=1)) == 1  # the old ones are out of the window
