"""The question log against real databases: each shared behaviour against a SQLite file
and a PostgreSQL database (the ``database`` fixture), then what only a file can suffer
(locked, read-only, full, corrupt, deleted)."""

from __future__ import annotations

import asyncio
import os
import sqlite3
import time

import aiosqlite
import pytest

from bot.matching.reply import Candidate, Reply, ReplyKind
from bot.storage.postgres import SCHEMA_VERSION as PG_SCHEMA_VERSION
from bot.storage.redact import Redactor
from bot.storage.sqlite import (
    MIGRATIONS,
    SCHEMA_VERSION,
    SqliteStore,
    load_or_create_secret,
    migrate,
)
from bot.storage.store import InboxEntry, StoreUnavailable
from tests.stores import Database

SERVICE_NUMBERS = ["101", "999", "0300 011 55 55", "01707 806100", "08000 121 700"]


def unanswered(text: str) -> Reply:
    return Reply(
        question=text,
        kind=ReplyKind.FALLBACK,
        intent=None,
        confidence=-0.9,
        ranked=(Candidate("report_crime", -0.9),),
    )


def answered(intent: str = "victim_support_beacon") -> Reply:
    return Reply(question="beacon number", kind=ReplyKind.ANSWER, intent=intent, confidence=0.8)


# Test-speed timing: a locked file or a silent server is given 0.5 s and writes are
# retried after 0.05 s (the bot gives 2 s or 10 s and retries after 0.5 s, doubling).
FAST = {"give_up": 0.5, "retry_first": 0.05, "retry_max": 0.2}
SQLITE_FAST = {"busy_timeout_ms": 100, "retry_first": 0.05, "retry_max": 0.2}


@pytest.fixture
async def store(database):
    store = database.store(Redactor(SERVICE_NUMBERS), **FAST)
    await store.open()
    yield store
    await store.close()


@pytest.fixture
async def sqlite_store(tmp_path):
    path = tmp_path / "data" / "bot.sqlite3"
    store = SqliteStore(path, "k" * 32, Redactor(SERVICE_NUMBERS), **SQLITE_FAST)
    await store.open()
    yield store
    await store.close()


async def test_the_file_and_its_folder_are_created_in_wal_mode(sqlite_store):
    store = sqlite_store
    await store.log_message(1, answered(), 10)
    assert await store.flush()
    assert store.path.exists()
    with sqlite3.connect(store.path) as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone() == ("wal",)
        assert conn.execute("PRAGMA user_version").fetchone() == (SCHEMA_VERSION,)


@pytest.mark.parametrize("start", range(SCHEMA_VERSION))
async def test_migrations_run_from_every_earlier_version(tmp_path, start):
    path = tmp_path / "old.sqlite3"
    async with aiosqlite.connect(path) as conn:
        await migrate(conn, target=start)
        if start >= 1:
            await conn.execute(
                "INSERT INTO messages (at, user_key, kind, intent, text) "
                "VALUES (1, 'u', 'fallback', NULL, 'kept through upgrades')"
            )
            await conn.commit()
    store = SqliteStore(path, "k" * 32, Redactor())
    await store.open()
    try:
        await store.log_message(5, unanswered("a new question"), 1)
        await store.flush()
        texts = {q.text for q in await store.questions(days=100_000)}
        expected = {"a new question"} | ({"kept through upgrades"} if start >= 1 else set())
        assert texts == expected
    finally:
        await store.close()
    with sqlite3.connect(path) as conn:
        assert conn.execute("PRAGMA user_version").fetchone() == (max(MIGRATIONS),)


REDACTION = [
    ("call me on 07700 900123", "call me on [phone]"),
    ("my mobile is +44 7700 900 123 thanks", "my mobile is [phone] thanks"),
    ("landline (01707) 123456", "landline [phone]"),
    ("02079460018 is my work", "[phone] is my work"),
    ("write to jo.bloggs@example.co.uk", "write to [email]"),
    ("I live at AL1 3AB", "I live at [postcode]"),
    ("postcode sg12 9xy please", "postcode [postcode] please"),
    ("my NI is AB 12 34 56 C", "my NI is [NI number]"),
    ("ni jg103759a", "ni [NI number]"),
    ("card 4111 1111 1111 1111 was used", "card [number] was used"),
    ("account 12345678 sort code 12-34-56", "account [number] sort code [number]"),
    ("the car was AB12 CDE", "the car was [vehicle]"),
    ("an old A123 BCD van", "an old [vehicle] van"),
    # must stay: emergency and non-emergency numbers, our own services, ordinary numbers
    ("is 101 the right number", "is 101 the right number"),
    ("should I call 999", "should I call 999"),
    ("is beacon 0300 011 55 55", "is beacon 0300 011 55 55"),
    ("pcc office 01707 806100 closed?", "pcc office 01707 806100 closed?"),
    ("helpline 08000 121 700", "helpline 08000 121 700"),
    ("speeding in a 20mph zone on the M25", "speeding in a 20mph zone on the M25"),
    ("burgled 3 times since 2023", "burgled 3 times since 2023"),
]


@pytest.mark.parametrize(("text", "stored"), REDACTION)
async def test_question_text_is_redacted_before_it_is_stored(store, text, stored):
    await store.log_message(1, unanswered(text), 1)
    (question,) = await store.questions(days=1)
    assert question.text == stored


async def test_text_of_answered_questions_and_user_ids_are_not_stored(database, store):
    await store.log_message(123456789, answered(), 1)
    await store.flush()
    rows = await database.rows("SELECT user_key, text, kind, intent FROM messages")
    assert rows == [(store.user_key(123456789), None, "answer", "victim_support_beacon")]
    assert "123456789" not in rows[0][0]


async def test_long_text_is_truncated(store):
    await store.log_message(1, unanswered("x " * 5000), 1)
    (question,) = await store.questions(days=1)
    assert len(question.text) == 500


async def test_feedback_is_linked_to_the_answer_it_rates(store):
    await store.log_message(1, answered("custody"), 50)
    await store.log_message(1, answered("thanks"), 51)
    await store.record_feedback(1, 50, helpful=True)
    await store.record_feedback(1, 50, helpful=False)  # changed their mind: one vote kept
    rows = sorted((row.intent, row.helpful) for row in await store.outcomes(days=1))
    assert rows == [("custody", 0), ("thanks", None)]


async def test_retention_deletes_old_question_text_but_keeps_the_counts(database, store):
    await store.log_message(1, unanswered("old question"), 1)
    await store.log_message(1, unanswered("new question"), 2)
    await store.flush()
    await database.execute(
        "UPDATE messages SET at = ? WHERE text = 'old question'", int(time.time()) - 91 * 86400
    )
    assert await store.purge_text(older_than_days=90) == 1
    assert [q.text for q in await store.questions(days=1000)] == ["new question"]
    assert len(await store.outcomes(days=1000)) == 2


async def test_forget_deletes_everything_for_that_user_only(store):
    await store.log_message(1, unanswered("mine"), 1)
    await store.log_message(1, answered(), 2)
    await store.record_feedback(1, 2, helpful=True)
    await store.log_message(2, unanswered("theirs"), 3)
    assert await store.forget_user(1) == 3
    assert [q.text for q in await store.questions(days=1)] == ["theirs"]


async def test_an_unusable_database_delays_records_and_they_are_written_when_it_works(
    database, store
):
    """SQLite: the file locked by another process; PostgreSQL: the connection lost."""
    await store.log_message(1, answered(), 1)
    await store.flush()
    with database.outage():
        await store.log_message(1, unanswered("while locked"), 2)
        assert not await store.flush(timeout=1.5)
        assert store.failures >= 1
        assert store.health().startswith("question log unavailable since ")
        started = time.monotonic()
        now = int(time.time())
        entry = InboxEntry(42, 7001, now, "message", 5, "private", 5, 1, now, "beacon number")
        assert await store.receive(entry)  # answered now, recorded later
        assert time.monotonic() - started < 0.2  # no reply waits for a known outage
    assert await store.flush(timeout=10)
    assert store.health() is None
    assert [q.text for q in await store.questions(days=1)] == ["while locked"]
    assert [e.update_id for e in await store.pending_updates(42)] == [7001]  # recorded after all


async def test_a_full_backlog_moves_the_oldest_to_the_fallback_file_and_back(
    database, store, monkeypatch, caplog
):
    monkeypatch.setattr("bot.storage.queued.MAX_PENDING", 3)
    await store.log_message(1, answered(), 1)
    await store.flush()
    with database.outage():
        for n in range(5):
            await store.log_message(1, unanswered(f"question {n}"), n)
        assert not await store.flush(timeout=1.5)
        name = store.fallback.name
        assert f"backlog full (3 records): the oldest go to {name}" in caplog.text
        assert store.health().startswith("question log unavailable since ")
        assert store.health().endswith(", 3 records waiting")
    assert await store.flush(timeout=5)
    assert f"2 records were moved to {name} and 0 lost" in caplog.text
    assert store.health() is None
    texts = sorted(q.text for q in await store.questions(days=1))
    assert texts == [f"question {n}" for n in range(5)]
    assert not store.fallback.exists()


async def test_records_unwritten_at_shutdown_are_saved_and_imported_at_the_next_start(
    database, caplog
):
    store = database.store(Redactor(SERVICE_NUMBERS), **FAST)
    await store.open()
    await store.log_message(1, answered(), 1)
    assert await store.flush()
    with database.outage():
        await store.log_message(1, unanswered("call me on 07700 900123"), 2)
        await store.close()
    assert f"1 records saved to {store.fallback.name}" in caplog.text
    assert "07700" not in store.fallback.read_text()  # saved redacted, like the database
    again = database.store(Redactor(SERVICE_NUMBERS), **FAST)
    await again.open()
    try:
        assert await again.flush()
        assert [q.text for q in await again.questions(days=1)] == ["call me on [phone]"]
        assert not again.fallback.exists()
    finally:
        await again.close()


async def test_a_read_only_file_is_survived_and_writing_resumes(sqlite_store):
    store = sqlite_store
    await store.log_message(1, answered(), 1)
    await store.flush()
    if os.geteuid() == 0:  # root writes through file permissions: make SQLite refuse instead
        await store._conn.execute("PRAGMA query_only = ON")
    else:
        await store.close()
        os.chmod(store.path, 0o444)
        await store.open()
    await store.log_message(1, unanswered("read only"), 2)
    for _ in range(100):
        if store.failures:
            break
        await asyncio.sleep(0.02)
    assert store.failures >= 1  # the write was refused, and the bot carried on
    if os.geteuid() != 0:
        os.chmod(store.path, 0o644)
    assert await store.flush(timeout=10)
    assert [q.text for q in await store.questions(days=1)] == ["read only"]


async def test_a_full_disk_is_survived_and_writing_resumes(sqlite_store):
    store = sqlite_store
    await store.log_message(1, answered(), 1)
    await store.flush()
    with sqlite3.connect(store.path) as conn:
        pages = conn.execute("PRAGMA page_count").fetchone()[0]
    conn = store._conn  # the store's own connection: max_page_count is per connection
    await conn.execute(f"PRAGMA max_page_count = {pages}")
    for n in range(200):
        await store.log_message(1, unanswered(f"filling the disk with question {n} " * 5), n)
    assert not await store.flush(timeout=0.3)
    assert store.failures >= 1
    await conn.execute("PRAGMA max_page_count = 1073741823")
    assert await store.flush(timeout=10)
    assert len(await store.questions(days=1)) == 200


async def test_a_corrupt_file_is_moved_aside_and_a_fresh_one_created(tmp_path, caplog):
    path = tmp_path / "bot.sqlite3"
    path.write_bytes(b"this is not a database" * 100)
    store = SqliteStore(path, "k" * 32, Redactor())
    await store.open()
    try:
        await store.log_message(1, unanswered("after corruption"), 1)
        assert [q.text for q in await store.questions(days=1)] == ["after corruption"]
    finally:
        await store.close()
    assert list(tmp_path.glob("bot.sqlite3.corrupt-*"))
    assert "corrupt" in caplog.text and "moved it to" in caplog.text


async def test_a_deleted_file_is_recreated(sqlite_store):
    store = sqlite_store
    await store.log_message(1, answered(), 1)
    await store.flush()
    store.path.unlink()
    await store.log_message(1, unanswered("after deletion"), 2)
    assert await store.flush(timeout=5)
    assert store.path.exists()
    assert [q.text for q in await store.questions(days=1)] == ["after deletion"]


async def test_reads_say_when_the_database_is_unusable(tmp_path):
    folder = tmp_path / "not-a-file"
    folder.mkdir()
    store = SqliteStore(folder, "k" * 32, Redactor())  # a folder where the file should be
    await store.open()
    try:
        with pytest.raises(StoreUnavailable):
            await store.questions(days=1)
    finally:
        await store.close()


async def test_many_writes_do_not_wait_for_each_other(store):
    await asyncio.gather(*[store.log_message(n, unanswered(f"q{n}"), n) for n in range(2000)])
    assert await store.flush(timeout=20)
    assert len(await store.questions(days=1)) == 2000


# -- PostgreSQL only: migrations under a lock, a server unreachable at start


@pytest.fixture
def pg(postgres, tmp_path):
    db = Database("postgresql", tmp_path, postgres)
    yield db
    db.close()


async def test_instances_starting_together_migrate_the_database_once(pg):
    stores = [pg.store(**FAST) for _ in range(4)]
    await asyncio.gather(*(s.open() for s in stores))
    try:
        await asyncio.gather(
            *(s.log_message(n, unanswered(f"q{n}"), n) for n, s in enumerate(stores))
        )
        for s in stores:
            assert await s.flush(timeout=5)
        versions = await pg.rows("SELECT version FROM schema_migrations ORDER BY version")
        assert versions == [(v,) for v in range(1, PG_SCHEMA_VERSION + 1)]
        assert len(await stores[0].questions(days=1)) == 4
        assert all(s.failures == 0 for s in stores)
    finally:
        await asyncio.gather(*(s.close() for s in stores))


async def test_a_server_unreachable_at_start_is_waited_for_and_reads_say_so(pg):
    store = pg.store(**FAST)
    with pg.outage():
        await store.open()
        try:
            await store.log_message(1, unanswered("before the server"), 1)
            with pytest.raises(StoreUnavailable):
                await store.questions(days=1)
            assert store.health().endswith(", 1 records waiting")
        except BaseException:
            await store.close()
            raise
    try:
        assert await store.flush(timeout=10)
        assert [q.text for q in await store.questions(days=1)] == ["before the server"]
    finally:
        await store.close()


def test_a_folder_that_cannot_be_written_still_gives_a_user_hash_key(tmp_path, caplog):
    """The question log's folder on a read-only disk (here: a path under a plain file,
    which fails the same way, for root too): the bot still starts, with a key for this
    run only, and says so."""
    blocked = tmp_path / "a-file"
    blocked.write_text("not a folder")
    first = load_or_create_secret(blocked / "data" / "hash-secret")
    assert len(first) == 64 and first != load_or_create_secret(blocked / "data" / "hash-secret")
    assert "a key for this run only" in caplog.text
    kept = tmp_path / "data" / "hash-secret"
    assert load_or_create_secret(kept) == load_or_create_secret(kept)  # normally kept
