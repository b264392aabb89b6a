"""Command line, the only entry point: ``python -m bot COMMAND``.

The settings are read here once (environment, then ``.env``, then flags, each winning over
the one before) and passed to the command; nothing else reads the environment.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from collections.abc import Awaitable, Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

from bot.content.facts import unchecked_sources
from bot.content.loading import load_content
from bot.content.problems import has_errors
from bot.content.report import validation_lines
from bot.matching.encoder import load_encoder
from bot.matching.engine import Engine
from bot.settings import Settings, load_settings, read_environment
from bot.storage.store import StoreUnavailable

if TYPE_CHECKING:
    from telegram.request import BaseRequest

    from bot.matching.reply import Reply
    from bot.storage.queued import QueuedStore

T = TypeVar("T")


def _add_common_options(parser: argparse.ArgumentParser) -> None:
    """The content and database options every command takes (they win over the settings)."""
    parser.add_argument(
        "--intents", type=Path, help="folder of intent YAML files (default: INTENTS_DIR)"
    )
    parser.add_argument(
        "--knowledge", type=Path, help="folder of fact YAML files (default: KNOWLEDGE_DIR)"
    )
    parser.add_argument("--database", type=Path, help="SQLite file (default: DATABASE_PATH)")


def load_engine(settings: Settings) -> Engine:
    """The engine for the content in the settings' folders; exit 2 when it is broken."""
    content, problems = load_content(settings.intents, settings.knowledge, settings.seeds)
    if content is None:
        for problem in problems:
            print(problem, file=sys.stderr)
        print("The content has errors; fix them (see 'python -m bot validate').", file=sys.stderr)
        raise SystemExit(2)
    encoder = load_encoder(settings.encoder_model, settings.cache_dir) if settings.encoder else None
    return Engine(content, encoder, settings.cache_dir)


def cmd_validate(args: argparse.Namespace, settings: Settings) -> int:
    content, problems = load_content(settings.intents, settings.knowledge, settings.seeds)
    problems += unchecked_sources(settings.knowledge, settings.seeds)
    print("\n".join(validation_lines(content, problems, verbose=args.verbose)))
    return 1 if has_errors(problems) else 0


def cmd_ask(args: argparse.Namespace, settings: Settings) -> int:
    engine = load_engine(settings)
    messages = [" ".join(args.text)] if args.text else (line.rstrip("\n") for line in sys.stdin)
    for message in messages:
        reply = engine.respond(message)
        if args.json or not args.text:
            print(json.dumps(reply.as_json(), ensure_ascii=False), flush=not args.text)
        else:
            from bot.console import to_terminal

            print(to_terminal(reply, engine))
    return 0


def cmd_eval(args: argparse.Namespace, settings: Settings) -> int:
    from bot.matching.evaluation import evaluate, format_report, read_cases
    from bot.matching.route_eval import is_route_file

    if args.cv is None and args.cases is None:
        print("eval needs a cases file, or --cv K for cross-validation", file=sys.stderr)
        return 2
    engine = load_engine(settings)
    if args.cases and args.cv is None and is_route_file(args.cases):
        return _eval_routes(args, engine.respond)
    cases = read_cases(args.cases) if args.cases else []
    if args.cv is not None:
        from bot.matching.crossval import cross_validate, format_cv_report

        if args.cv < 2:
            print("--cv needs at least 2 folds", file=sys.stderr)
            return 2
        figures = cross_validate(engine.content, engine.encoder, args.cv, cases)
        report = format_cv_report(figures)
    else:
        figures = evaluate(cases, engine.respond)
        report = format_report(figures)
    if args.json:
        print(json.dumps({k: v for k, v in figures.items() if k != "errors"}))
    else:
        print(report)
        if args.errors:
            for error in figures["errors"]:
                print(f"  {error['expected']:<28} got {error['got']:<28} {error['text']}")
    return 0


def _eval_routes(args: argparse.Namespace, respond: Callable[[str], Reply]) -> int:
    """Score a file of route cases: is the right route in the reply a resident sees?"""
    from bot.matching.route_eval import evaluate_routes, format_route_report, read_route_cases

    figures = evaluate_routes(read_route_cases(args.cases), respond)
    if args.json:
        print(json.dumps({k: v for k, v in figures.items() if k != "errors"}))
        return 0
    print(format_route_report(figures))
    if args.errors:
        for error in figures["errors"]:
            kind, topic, got = error["kind"], error["topic"], error["got"]
            print(f"  {kind:<12} {topic:<20} got {got:<24} {error['text']}")
    return 0


def cmd_calibrate(args: argparse.Namespace, settings: Settings) -> int:
    from bot.matching.evaluation import calibrate_answer_threshold, read_cases

    engine = load_engine(settings)
    scored = [(case, *engine.top_label(case.text)) for case in read_cases(args.cases)]
    result = calibrate_answer_threshold(scored, args.max_in_scope_loss)
    print(json.dumps(result, indent=2))
    threshold, suggest = result["answer_threshold"], engine.content.matching.thresholds.suggest
    where = settings.intents / "_matching.yaml"
    if threshold < suggest:
        print(
            f"Set 'thresholds: answer: {threshold}' in {where} to use it, and lower "
            f"'suggest' ({suggest}) to at most that: it may not be above 'answer'."
        )
    else:
        print(f"Set 'thresholds: answer: {threshold}' in {where} to use it.")
    return 0


def cmd_chat(args: argparse.Namespace, settings: Settings) -> int:
    """The terminal chat, logging its questions to the database as the Telegram bot does
    (marked as the console's), so staff can try the review loop without Telegram."""
    from bot.console import chat
    from bot.telegram.runner import open_store

    engine = load_engine(settings)
    store = open_store(settings, engine.content)

    async def talk() -> int:
        await store.open()
        loop = asyncio.get_running_loop()

        def record(reply: Reply) -> None:  # called from the chat's thread
            asyncio.run_coroutine_threadsafe(store.log_message(None, reply, None), loop).result()

        try:
            return await asyncio.to_thread(chat, engine, record)
        finally:
            await store.close()

    return asyncio.run(talk())


async def _with_store(settings: Settings, work: Callable[[QueuedStore], Awaitable[T]]) -> T:
    from bot.storage.postgres import PostgresStore
    from bot.storage.redact import Redactor
    from bot.storage.sqlite import SqliteStore

    # review and stats never hash a user id, so the key does not matter here
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
        return await work(store)
    finally:
        await store.close()


def cmd_review(args: argparse.Namespace, settings: Settings) -> int:
    from bot.storage.reports import Group, unanswered_report

    if args.action == "add":
        return _review_add(args, settings)
    if args.action == "ignore":
        question_id = _question_id(args)

        async def ignore(store: QueuedStore) -> bool:
            return await store.mark_reviewed(question_id)

        if not asyncio.run(_with_store(settings, ignore)):
            print(f"no question #{question_id}", file=sys.stderr)
            return 1
        print(f"Question #{question_id} is hidden from the review list.")
        return 0

    async def report(store: QueuedStore) -> tuple[str, list[Group]]:
        return await unanswered_report(store, args.days, limit=args.limit)

    text, groups = asyncio.run(_with_store(settings, report))
    print(text)
    if args.csv:
        import csv

        with args.csv.open("w", newline="", encoding="utf-8") as handle:
            writer = csv.writer(handle)
            writer.writerow(
                [
                    "count",
                    "example_id",
                    "example",
                    "closest_intent",
                    "closest_score",
                    "question_ids",
                ]
            )
            for g in groups:
                closest = g.closest.most_common(1)[0][0] if g.closest else ""
                writer.writerow(
                    [
                        g.count,
                        g.example.id,
                        g.example.text,
                        closest,
                        g.best_score,
                        " ".join(map(str, g.ids)),
                    ]
                )
        print(f"Wrote {len(groups)} groups to {args.csv}")
    return 0


def _question_id(args: argparse.Namespace) -> int:
    if not args.ids or not args.ids[0].lstrip("#").isdigit():
        raise ValueError("give the question's number, as shown by 'python -m bot review'")
    return int(args.ids[0].lstrip("#"))


def _review_add(args: argparse.Namespace, settings: Settings) -> int:
    from bot.content.review import ReviewError, append_example
    from bot.storage.store import Question

    if len(args.ids) != 2:
        raise ValueError("usage: python -m bot review add QUESTION_ID INTENT_ID")
    question_id, intent_id = _question_id(args), args.ids[1]

    async def fetch(store: QueuedStore) -> Question | None:
        return await store.question(question_id)

    question = asyncio.run(_with_store(settings, fetch))
    if question is None:
        print(f"no question #{question_id} with text (it may be past retention)", file=sys.stderr)
        return 1
    try:
        append_example(
            settings.intents, settings.knowledge, intent_id, question.text, settings.seeds
        )
    except ReviewError as exc:
        print(exc, file=sys.stderr)
        return 1

    async def done(store: QueuedStore) -> bool:
        return await store.mark_reviewed(question_id)

    asyncio.run(_with_store(settings, done))
    print(f'Added "{question.text}" to {intent_id}; the running bot picks it up by itself.')
    return 0


def cmd_stats(args: argparse.Namespace, settings: Settings) -> int:
    from bot.storage.reports import stats_report

    async def report(store: QueuedStore) -> str:
        return await stats_report(store, args.days)

    print(asyncio.run(_with_store(settings, report)))
    content, _ = load_content(settings.intents, settings.knowledge, settings.seeds)
    if content is not None and content.cards.review_note():
        print(content.cards.review_note())
    return 0


def cmd_report(args: argparse.Namespace, settings: Settings) -> int:
    from bot.storage.html_report import build_report

    content, _ = load_content(settings.intents, settings.knowledge, settings.seeds)
    titles = {i.id: i.title for i in content.intents.values()} if content else {}
    notes = [n for n in (content.cards.review_note(),) if n] if content else []

    async def report(store: QueuedStore) -> str:
        return await build_report(store, args.days, titles, notes=notes)

    page = asyncio.run(_with_store(settings, report))
    args.output.write_text(page, encoding="utf-8")
    print(f"Wrote the report for the last {args.days} days to {args.output}")
    return 0


def cmd_publish(args: argparse.Namespace, settings: Settings) -> int:
    from bot.telegram.admin_review import PUBLISH_RUNNING, draft_of, publish

    draft = draft_of(settings)
    if not draft.changes():
        print("The draft is empty: nothing to publish.")
        return 0
    print(PUBLISH_RUNNING)
    engine = load_engine(settings)

    async def run(store: QueuedStore) -> tuple[str, bool]:
        return await publish(draft, engine, settings, store, admin=0, folds=args.folds)

    summary, ok = asyncio.run(_with_store(settings, run))
    print(summary)
    if ok:
        print("A running bot picks the change up by itself (or send /reload).")
    return 0 if ok else 1


def cmd_discard(args: argparse.Namespace, settings: Settings) -> int:
    from bot.telegram.admin_review import draft_of

    draft = draft_of(settings)
    files = draft.changes()
    draft.discard()
    if files:

        async def audit(store: QueuedStore) -> None:
            await store.add_audit(0, "discard", ", ".join(files))

        asyncio.run(_with_store(settings, audit))
    print("Draft discarded." if files else "There was no draft to discard.")
    return 0


def cmd_audit(args: argparse.Namespace, settings: Settings) -> int:
    from bot.storage.store import AuditEntry
    from bot.telegram.admin_review import audit_text

    async def entries(store: QueuedStore) -> list[AuditEntry]:
        return await store.audit_entries(args.limit)

    print(audit_text(asyncio.run(_with_store(settings, entries))))
    return 0


def cmd_export_csv(args: argparse.Namespace, settings: Settings) -> int:
    from bot.content.spreadsheet import FACTS, TOPICS, export_csv

    topics, facts = export_csv(settings.intents, settings.knowledge, args.folder)
    print(f"Wrote {args.folder / TOPICS} ({topics} rows) and {args.folder / FACTS} ({facts} rows)")
    return 0


def cmd_import_csv(args: argparse.Namespace, settings: Settings) -> int:
    from bot.content.spreadsheet import ImportRefused, import_csv

    try:
        changed = import_csv(args.folder, settings.intents, settings.knowledge, settings.seeds)
    except ImportRefused as exc:
        for problem in exc.problems:
            print(problem, file=sys.stderr)
        print(f"Import refused: {exc}", file=sys.stderr)
        return 1
    print(f"Imported: {len(changed)} file(s) changed" + "".join(f"\n  {c}" for c in changed))
    return 0


def cmd_migrate(args: argparse.Namespace, settings: Settings) -> int:
    """Bring the database's schema up to this program's (the bot also does it at start-up)."""
    import sqlite3

    from bot.storage import postgres, sqlite

    failures: tuple[type[BaseException], ...] = (*postgres.ERRORS, sqlite3.Error)
    try:
        if settings.database_url:
            where = f"PostgreSQL {postgres.where(settings.database_url)}"
            before, after = asyncio.run(postgres.migrate_database(settings.database_url))
        else:
            where = f"SQLite {settings.database}"
            before, after = asyncio.run(sqlite.migrate_file(settings.database))
    except failures as exc:
        print(f"error: cannot migrate the database: {exc}", file=sys.stderr)
        return 1
    if before == after:
        print(f"{where}: schema already at version {after}")
    else:
        print(f"{where}: schema migrated from version {before} to {after}")
    return 0


def cmd_status(args: argparse.Namespace, settings: Settings) -> int:
    """The database at a glance; exit 1 when it cannot be read or its schema is behind."""
    import sqlite3
    import time

    from bot.storage import postgres, sqlite
    from bot.storage.store import DatabaseStatus

    failures: tuple[type[BaseException], ...] = (*postgres.ERRORS, sqlite3.Error)
    status: DatabaseStatus
    try:
        if settings.database_url:
            status = asyncio.run(postgres.inspect(settings.database_url))
        else:
            status = sqlite.inspect(settings.database)
    except failures as exc:
        print(f"error: cannot read the database: {exc}", file=sys.stderr)
        return 1
    print(f"store: {status.where}")
    behind = status.schema < status.expected
    advice = " (run 'python -m bot migrate', or start the bot)" if behind else ""
    print(f"schema: version {status.schema} of {status.expected}{advice}")
    if settings.database_url:
        if status.active is None:
            print("active instance: none (no bot is serving Telegram)")
        else:
            name, since = status.active
            print(f"active instance: {name}, since {time.strftime('%H:%M', time.localtime(since))}")
    print(f"inbox: {status.waiting} update(s) received and not answered yet")
    print(f"question log: {status.last_day} message(s) in the last 24 hours")
    return 1 if behind else 0


def cmd_health(args: argparse.Namespace, settings: Settings) -> int:
    """The container's health check: print the running bot's status line; exit 0 when
    the bot wrote it lately and is active or standby, else 1."""
    from bot.telegram.health import read_health

    if settings.health_file is None:
        print("error: HEALTH_FILE is not set, so the bot writes no health file", file=sys.stderr)
        return 1
    healthy, line = read_health(settings.health_file)
    print(line)
    return 0 if healthy else 1


def cmd_run(
    args: argparse.Namespace, settings: Settings, request: BaseRequest | None = None
) -> int:
    """The Telegram bot when there is a token (from the environment or ``.env``), else the
    terminal chat. ``request`` replaces the network (tests)."""
    if not settings.token:
        print("TELEGRAM_BOT_TOKEN is not set: starting a chat in the terminal instead.\n")
        return cmd_chat(args, settings)
    return cmd_serve(args, settings, request)


def cmd_serve(
    args: argparse.Namespace, settings: Settings, request: BaseRequest | None = None
) -> int:
    """Telegram only, for services and containers: without a token, one line and exit 2,
    never a terminal chat (which would read end-of-file, exit 0 and be restarted)."""
    if not settings.token:
        print(
            "error: TELEGRAM_BOT_TOKEN is not set; put the token from @BotFather in the "
            "environment or .env",
            file=sys.stderr,
        )
        return 2
    from bot.telegram.runner import run_bot

    return run_bot(settings, request=request)


DESCRIPTION = """\
The Hertfordshire community safety assistant. With no command: the Telegram bot when
TELEGRAM_BOT_TOKEN is set, otherwise a chat in the terminal. Settings come from the
environment, then .env, then the --intents, --knowledge and --database flags (each wins
over the one before). 'python -m bot COMMAND --help' describes one command."""


def _command(
    sub: argparse._SubParsersAction[argparse.ArgumentParser],
    name: str,
    text: str,
    func: Callable[..., int],
) -> argparse.ArgumentParser:
    """A command with the options every command takes (content folders, database)."""
    parser = sub.add_parser(name, help=text)
    _add_common_options(parser)
    parser.set_defaults(func=func)
    return parser


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m bot", description=DESCRIPTION)
    sub = parser.add_subparsers(dest="command", title="commands", metavar="COMMAND")
    _command(sub, "run", "the Telegram bot; a terminal chat without a token (default)", cmd_run)
    _command(sub, "serve", "the Telegram bot only: exit 2 without a token (Docker)", cmd_serve)
    _command(sub, "chat", "talk to the bot in the terminal", cmd_chat)
    p = _command(sub, "ask", "print the reply to one message (or one per stdin line)", cmd_ask)
    p.add_argument("text", nargs="*", help="the message; none: read lines from standard input")
    p.add_argument("--json", action="store_true", help="print the outcome as JSON")
    p = _command(sub, "eval", "accuracy on labelled cases (topic ids, or routes)", cmd_eval)
    p.add_argument("cases", type=Path, nargs="?", help="labelled cases (optional with --cv)")
    p.add_argument(
        "--cv",
        type=int,
        metavar="K",
        help="K-fold cross-validation over all examples (and the cases, if given)",
    )
    p.add_argument("--json", action="store_true", help="print the figures as one JSON object")
    p.add_argument("--errors", action="store_true", help="list every case that went wrong")
    p = _command(sub, "validate", "check all content; one line per problem", cmd_validate)
    p.add_argument(
        "--verbose",
        action="store_true",
        help="list every warning, and each answer's reading level",
    )
    p = _command(
        sub, "calibrate", "propose the answer threshold from labelled cases", cmd_calibrate
    )
    p.add_argument("cases", type=Path)
    p.add_argument(
        "--max-in-scope-loss",
        type=float,
        default=0.005,
        help="in-scope accuracy the threshold may cost (default: %(default)s)",
    )
    p = _command(sub, "review", "unanswered questions; 'add ID INTENT' or 'ignore ID'", cmd_review)
    p.add_argument("action", nargs="?", choices=["add", "ignore"], help="omit to list")
    p.add_argument("ids", nargs="*", help="QUESTION_ID [INTENT_ID]")
    p.add_argument("--days", type=int, default=30, help="how far back (default: %(default)s)")
    p.add_argument("--limit", type=int, default=50, help="groups to list (default: %(default)s)")
    p.add_argument("--csv", type=Path, help="also write the groups to this CSV file")
    p = _command(sub, "stats", "usage figures from the question log", cmd_stats)
    p.add_argument("--days", type=int, default=30, help="how far back (default: %(default)s)")
    p = _command(sub, "report", "the admins' report with charts, as one HTML file", cmd_report)
    p.add_argument("--days", type=int, default=30, help="how far back (default: %(default)s)")
    p.add_argument("-o", "--output", type=Path, default=Path("report.html"), help="the file")
    p = _command(sub, "publish", "check the draft (review additions) and make it live", cmd_publish)
    p.add_argument("--folds", type=int, default=5, help="cross-validation folds (default: 5)")
    _command(sub, "discard", "drop the draft", cmd_discard)
    p = _command(sub, "audit", "who changed content or the review inbox, and when", cmd_audit)
    p.add_argument("--limit", type=int, default=50, help="entries (default: %(default)s)")
    _command(sub, "migrate", "bring the database's schema up to date", cmd_migrate)
    _command(sub, "status", "the database: schema, active instance, waiting updates", cmd_status)
    _command(sub, "health", "the running bot's status (HEALTH_FILE); exit 1 if stale", cmd_health)
    p = _command(sub, "export-csv", "topics and facts to CSV for spreadsheets", cmd_export_csv)
    p.add_argument("folder", type=Path)
    p = _command(
        sub, "import-csv", "topics and facts back from CSV (all or nothing)", cmd_import_csv
    )
    p.add_argument("folder", type=Path)
    return parser


def main(
    argv: list[str] | None = None,
    *,
    env: Mapping[str, str] | None = None,
    request: BaseRequest | None = None,
) -> int:
    """Run one command. ``env`` replaces the process environment (``.env`` in the working
    directory is read either way) and ``request`` the network to Telegram (both for tests)."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        args = parser.parse_args(["run", *(argv if argv is not None else sys.argv[1:])])
    flags = {"intents": args.intents, "knowledge": args.knowledge, "database": args.database}
    settings, problems = load_settings(read_environment(env), flags)
    if problems:
        for problem in problems:
            print(f"setting error: {problem}", file=sys.stderr)
        return 2
    try:
        telegram = args.command in ("run", "serve")
        result: int = args.func(args, settings, request) if telegram else args.func(args, settings)
        return result
    except KeyboardInterrupt:
        return 130
    except StoreUnavailable as exc:  # the question log's database is down or unreachable
        print(f"error: the question log cannot be read now: {exc}", file=sys.stderr)
        return 1
    except (OSError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
