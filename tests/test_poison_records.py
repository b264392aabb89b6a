"""One bad update or record never stops the question log or polling (issue 23, items 1-4):
each attack is followed by a normal question, which must be answered and logged, also
after a restart, on SQLite and on PostgreSQL."""

from __future__ import annotations

import contextlib

import pytest

from bot.storage.redact import Redactor
from tests.fake_telegram import callback, message
from tests.stores import Database
from tests.tcp_proxy import UNPARSED_VERSION
from tests.telegram_harness import running_bot
from tests.test_database import unanswered
from tests.test_telegram import ask

FAST = {"give_up": 0.5, "retry_first": 0.05, "retry_max": 0.2}
ALICE, BOB, ADMIN = 4101, 4202, 900
FORGED = "w:99999999999999999999:-"  # 24 bytes: Telegram allows 64


async def logged_texts(database) -> list[str]:
    store = database.store(Redactor(), **FAST)  # a new store, as after a restart
    await store.open()
    try:
        return sorted(q.text for q in await store.questions(days=1))
    finally:
        await store.close()


@pytest.mark.parametrize(
    ("text", "stored"),
    [("nul\x00byte in it", "nulbyte in it"), ("lone \ud800 surrogate", "lone \ufffd surrogate")],
)
async def test_text_no_database_can_hold_is_repaired_and_logged(database, text, stored):
    store = database.store(Redactor(), **FAST)
    await store.open()
    await store.log_message(1, unanswered(text), 1)
    await store.log_message(2, unanswered("after it"), 2)
    assert await store.flush()
    await store.close()
    assert await logged_texts(database) == sorted([stored, "after it"])


async def test_a_number_too_big_for_the_database_is_set_aside_and_the_log_goes_on(database, caplog):
    store = database.store(Redactor(), **FAST)
    await store.open()
    await store.log_message(1, unanswered("first question"), 7)
    await store.record_wanted(1, 99999999999999999999, "-")
    await store.log_message(2, unanswered("second question"), 8)
    assert await store.flush()
    assert store.refused == 1
    await store.close()
    assert "set aside: reply_ref is outside the 64-bit range" in caplog.text
    assert await logged_texts(database) == ["first question", "second question"]


async def test_a_forged_button_and_a_numeric_text_leave_the_bot_answering_and_logging(
    engine, database
):
    numeric = message(ALICE, "placeholder")
    numeric["message"]["text"] = 12345  # a JSON number where Telegram sends a string
    async with running_bot(engine, **database.settings()) as (fake, store, _):
        fake.push(callback(ALICE, FORGED, message_id=3), numeric)
        fake.push(message(BOB, "what is the weather on mars"))
        await fake.wait_for(lambda: fake.sent(chat_id=BOB))
        assert "101" in fake.sent(chat_id=BOB)[0].text
        assert await store.flush()
        assert [q.text for q in await store.questions(days=1)] == ["what is the weather on mars"]
    # The forged press was confirmed, not left to poison the next start.
    async with running_bot(engine, fake, **database.settings()) as (_, store, _):
        fake.push(message(BOB, "is there life on venus"))
        await fake.wait_for(lambda: len(fake.sent(chat_id=BOB)) == 2)
        assert await store.flush()
        assert len(await store.questions(days=1)) == 2


async def test_a_nul_byte_and_a_lone_surrogate_from_telegram_are_answered_and_logged(
    engine, database
):
    """Items 2 and 3 of issue 23 through the real Application: PostgreSQL refused the NUL
    for good, and the surrogate stopped SQLite's writer. Both are repaired and logged (the
    log keeps the text of questions without an answer)."""
    async with running_bot(engine, **database.settings()) as (fake, store, _):
        fake.push(
            message(ALICE, "the weather\x00 on mars"), message(BOB, "the weather \ud800 on mars")
        )
        await fake.wait_for(lambda: fake.sent(chat_id=ALICE) and fake.sent(chat_id=BOB))
        assert await store.flush()
    async with running_bot(engine, fake, **database.settings()) as (_, store, _):  # restarted
        fake.push(message(BOB, "is there life on venus"))
        await fake.wait_for(lambda: len(fake.sent(chat_id=BOB)) == 2)
        assert await store.flush()
        assert store.refused == 0
        assert sorted(q.text for q in await store.questions(days=1)) == [
            "is there life on venus",
            "the weather on mars",
            "the weather \ufffd on mars",
        ]


async def test_at_debug_level_no_log_line_repeats_a_residents_words(engine, database, caplog):
    """The database drivers print statements with their parameters at DEBUG. A text that is
    a number, remembered as a word to scrub, made every later log call raise."""
    import dataclasses
    import logging

    from bot.settings import configure_logging
    from tests.telegram_harness import SETTINGS

    levels = {name: logging.getLogger(name).level for name in ("", "aiosqlite", "asyncpg")}
    configure_logging(dataclasses.replace(SETTINGS, log_level="DEBUG"))
    caplog.handler.setLevel(logging.DEBUG)
    try:
        numeric = message(BOB, "placeholder")
        numeric["message"]["text"] = 12345
        async with running_bot(engine, **database.settings()) as (fake, store, _):
            fake.push(numeric, message(ALICE, "my neighbour's cat\nkeeps weeing on my car"))
            await fake.wait_for(lambda: fake.sent(chat_id=ALICE))
            assert await store.flush()
        assert any(r.levelno == logging.DEBUG for r in caplog.records)  # DEBUG was on
        assert "weeing" not in caplog.text
    finally:
        for name, level in levels.items():
            logging.getLogger(name).setLevel(level)


async def test_a_server_whose_answer_cannot_be_read_is_waited_for_not_taken_for_poison(
    postgres, tmp_path
):
    """The database's address answered by a server asyncpg cannot read (here its version
    string): connecting raised ValueError, which the writer took for a record the database
    refused, so every record waiting was set aside for good."""
    database = Database("postgresql", tmp_path, postgres)
    store = database.store(Redactor(), **FAST)
    await store.open()
    try:
        database.proxy.impersonate(UNPARSED_VERSION)
        await store.log_message(1, unanswered("while the server is replaced"), 1)
        assert not await store.flush(timeout=2)
        assert store.refused == 0
        assert store.health().endswith(", 1 records waiting")
        database.proxy.restore()
        assert await store.flush(timeout=10)
        assert store.refused == 0
        await store.close()
        assert await logged_texts(database) == ["while the server is replaced"]  # restarted
    finally:
        await store.close()
        database.close()


@pytest.mark.parametrize("database", ["postgresql"], indirect=True)
async def test_a_row_postgresql_refuses_is_never_quoted_in_the_log(engine, database, caplog):
    """PostgreSQL's error for a row it refuses quotes the row ("Failing row contains (…)"),
    and asyncpg's text of the error includes it. Here a constraint a database administrator
    added (a reviewed question must have had its text cleared) refuses marking a question
    reviewed: the error went up as the text of ``StoreUnavailable``, chained, and the error
    handler's traceback printed the resident's words at ERROR. The log scrubber did not
    catch them: stored redacted, they differ from what the resident sent."""
    words = "which crayon tastes best"
    admin = {"admin_ids": frozenset({ADMIN})}
    async with running_bot(engine, **admin, **database.settings()) as (fake, store, _):
        await ask(fake, message(ALICE, f"{words}, my number is 07700 900123"))
        assert await store.flush()
        (question,) = await store.questions(days=1)
        assert question.text == f"{words}, my number is [phone]"
        await database.execute(
            "ALTER TABLE messages ADD CONSTRAINT reviewed_text_cleared"
            " CHECK (reviewed = 0 OR text IS NULL)"
        )
        (apology,) = await ask(fake, callback(ADMIN, f"ri:{question.id}", message_id=1))
        assert apology.text.startswith("Sorry")
        (answer,) = await ask(fake, message(BOB, "beacon phone number"))
        assert "0300 011 55 55" in answer.text
        assert await store.flush()
        assert len(await store.outcomes(days=1)) == 2
    assert words not in caplog.text
    assert "CheckViolationError, SQLSTATE 23514" in caplog.text  # what it was, and no more


async def test_a_fallback_file_torn_by_a_full_disk_is_imported_and_the_bot_starts(
    engine, database, caplog
):
    """Records the database cannot take at shutdown go to the fallback file; a disk that
    fills up while they are appended leaves the last line cut short, here inside a
    character. Read as text, the file raised UnicodeDecodeError out of opening the store
    (and out of the writer, when imported after an outage): the bot could not start, at
    any restart, until someone deleted the file and its records. Read as text, too, a line
    separator (U+2028) in a resident's question split its record in two, and it was lost."""
    words = "which crayon\u2028tastes best"
    settings = {"admin_ids": frozenset({ADMIN}), "give_up": 0.5, **database.settings()}
    with contextlib.ExitStack() as outage:
        async with running_bot(engine, **settings) as (fake, store, _):
            outage.enter_context(database.outage())
            await ask(fake, message(ALICE, words))  # answered; its record waits, then is saved
    record = store.fallback.read_bytes().splitlines()[0]  # its message, then "answered"
    assert "\u2028".encode() in record
    with store.fallback.open("ab") as file:  # the next save, cut short by the full disk
        file.write(record[: record.index("\u2028".encode()) + 1])

    async with running_bot(engine, **settings) as (fake, store, _):
        (answer,) = await ask(fake, message(BOB, "beacon phone number"))
        assert "0300 011 55 55" in answer.text
        assert await store.flush()
        assert [q.text for q in await store.questions(days=1)] == [words]
        (stats,) = await ask(fake, message(ADMIN, "/stats"))
        assert "1 question-log records set aside" in stats.text
    assert f"1 unreadable lines in {store.fallback.name} were set aside" in caplog.text
