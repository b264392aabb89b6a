"""One assembly for every channel: settings → content → encoder → engine → question log."""

from __future__ import annotations

import contextlib
import gc
import logging
from collections.abc import AsyncIterator, Callable

from tqdm import tqdm

from bot.app.assistant import Assistant
from bot.content.facts import FactKind, recorded
from bot.content.loading import Content, load_content
from bot.content.problems import Problem, summarised
from bot.matching.encoder import load_encoder
from bot.matching.engine import Engine
from bot.matching.live import LiveContent
from bot.settings import Settings
from bot.storage.postgres import PostgresStore
from bot.storage.queued import QueuedStore
from bot.storage.redact import Redactor
from bot.storage.sqlite import SqliteStore, load_or_create_secret


class ContentBroken(Exception):
    """The content has errors, so nothing can answer from it."""

    def __init__(self, problems: list[Problem]) -> None:
        super().__init__("the content has errors; fix them (see './run validate')")
        self.problems = problems


Progress = Callable[[str], None]  # shows a line to whoever waits (a terminal, the log)
SHOWN_FROM = 100  # examples to encode before it is worth a line (a reload adds a few)


def load_engine(
    settings: Settings, progress: Progress | None = None
) -> tuple[Engine, list[Problem]]:
    """The engine for the content in the settings' folders, and the content's warnings;
    raises ContentBroken. ``progress`` is told when examples must be encoded first (no
    cache holds them yet: a fresh clone, a new model), which takes a while."""
    content, problems = load_content(settings.intents, settings.knowledge, settings.seeds)
    if content is None:
        raise ContentBroken(problems)
    encoder = load_encoder(settings.encoder_model, settings.cache_dir) if settings.encoder else None
    if encoder is not None and progress is not None:
        show = progress

        def encoding(count: int) -> None:
            encoder.on_progress = None
            if count < SHOWN_FROM:
                return
            show(f"Preparing answers: encoding {count:,} examples (once: later starts reuse them)…")
            # A bar on standard error; tqdm leaves it out when that is not a terminal.
            bar = tqdm(total=count, unit=" examples", disable=None, leave=False)

            def advance(done: int) -> None:
                bar.update(done - bar.n)
                if done >= count:
                    bar.close()

            encoder.on_progress = advance

        encoder.on_encoding = encoding
    return Engine(content, encoder, settings.cache_dir), problems


def content_redactor(content: Content) -> Redactor:
    """Redaction for the question log: public service numbers are kept, places and people's
    names are removed (names the content itself uses, such as "Clare's Law", are kept)."""
    places = content.places
    return Redactor(
        ["101", "999", *recorded(content.facts, FactKind.PHONE)],
        [p.name for p in (*places.towns.values(), *places.postcodes.values())],
        [
            *(t for i in content.intents.values() for t in (i.title, i.answer, *i.examples)),
            *(v.value for fact in content.facts.values() for v in fact.values.values()),
        ],
    )


def open_store(
    settings: Settings,
    content: Content,
    *,
    retry_first: float = 0.5,
    retry_max: float = 30.0,
    give_up: float = 10.0,
) -> QueuedStore:
    """The question log (PostgreSQL when DATABASE_URL is set, else the SQLite file), its
    question text redacted by ``content_redactor``. A failed write is retried after
    ``retry_first`` seconds, doubling to ``retry_max``; a PostgreSQL statement that takes
    ``give_up`` seconds has failed."""
    redactor = content_redactor(content)
    if settings.database_url:  # the settings require HASH_SECRET with it
        fallback = settings.database.parent / "postgresql.unwritten.jsonl"
        return PostgresStore(
            settings.database_url,
            settings.hash_secret,
            redactor,
            fallback,
            retry_first=retry_first,
            retry_max=retry_max,
            timeout=give_up,
        )
    secret = settings.hash_secret or load_or_create_secret(settings.database.parent / "hash-secret")
    return SqliteStore(
        settings.database, secret, redactor, retry_first=retry_first, retry_max=retry_max
    )


@contextlib.asynccontextmanager
async def staff_store(settings: Settings) -> AsyncIterator[QueuedStore]:
    """The question log, open, for staff commands (which never hash a user id, so the key
    does not matter). An SQLite file must exist already: staff read what the bot logged."""
    key = "staff-read-only"
    store: QueuedStore
    if settings.database_url:
        fallback = settings.database.parent / "postgresql.unwritten.jsonl"
        store = PostgresStore(settings.database_url, key, Redactor(), fallback)
    else:
        path = settings.database
        if not path.exists():
            raise OSError(f"no database at {path} (set DATABASE_PATH or pass --database)")
        store = SqliteStore(path, secret=key, redactor=Redactor())
    await store.open()
    try:
        yield store
    finally:
        await store.close()


def assemble(
    settings: Settings, progress: Progress | None = None
) -> tuple[Assistant, list[Problem]]:
    """The assistant every channel talks to, with the content's warnings; raises
    ContentBroken. The store is built, not opened: the channel opens it on its loop."""
    engine, problems = load_engine(settings, progress)
    live = LiveContent(engine, settings.intents, settings.knowledge, settings.seeds)
    return Assistant(settings, live, open_store(settings, engine.content)), problems


def assemble_for_service(settings: Settings, log: logging.Logger) -> Assistant | None:
    """``assemble`` for a long-running service: the content's problems go to ``log``, and
    None when it is broken. The engine's tables live for the whole run: they are kept out
    of the garbage collector's full scans, which otherwise stall the event loop now and then."""
    try:
        assistant, warnings = assemble(settings, log.info)
    except ContentBroken as exc:
        for problem in summarised(exc.problems):
            log.warning("content: %s", problem)
        log.error("the content has errors; fix them (./run validate) and start again")
        return None
    for problem in summarised(warnings):  # many of one kind as one line, as validate does
        log.warning("content: %s", problem)
    gc.collect()
    gc.freeze()
    return assistant
