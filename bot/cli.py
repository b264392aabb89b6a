"""The staff command line: each command parses its arguments, asks the application layer
(``bot.app``) and prints the result. ``bot.entry`` adds the channels that serve residents.

The settings are read here once (environment, then ``.env``, then flags, each winning over
the one before) and passed to the command; nothing else reads the environment.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
from collections.abc import Awaitable, Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, TypeAlias, TypeVar

from tqdm import tqdm

from bot.app import assembly, database
from bot.app.assembly import ContentBroken, staff_store
from bot.app.handover import hours_problem
from bot.app.staff import COMMAND_LINE, PUBLISH_RUNNING, NoSuchQuestion, Staff, draft_of
from bot.content.facts import unchecked_sources
from bot.content.loading import load_content
from bot.content.problems import has_errors, summarised
from bot.content.report import validation_lines
from bot.matching.engine import Engine
from bot.settings import Settings, load_settings, read_environment
from bot.storage.names import NamesUnavailable
from bot.storage.store import StoreUnavailable
from bot.text import plural

if TYPE_CHECKING:
    from bot.matching.reply import Reply

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


def show_progress(line: str) -> None:
    """A line on standard error while the user waits (standard output is the result)."""
    print(line, file=sys.stderr, flush=True)


def show_broken(exc: ContentBroken) -> None:
    """Why the content cannot be used: every error, and many warnings of one kind as one
    line (as ``validate`` shows them)."""
    for problem in summarised(exc.problems):
        print(problem, file=sys.stderr)
    print(f"The {exc}.", file=sys.stderr)


def load_engine(settings: Settings) -> Engine:
    """The engine for the content in the settings' folders; exit 2 when it is broken."""
    try:
        engine, _ = assembly.load_engine(settings, show_progress)
    except ContentBroken as exc:
        show_broken(exc)
        raise SystemExit(2) from exc
    return engine


def cmd_validate(args: argparse.Namespace, settings: Settings) -> int:
    content, problems = load_content(settings.intents, settings.knowledge, settings.seeds)
    problems += unchecked_sources(settings.knowledge, settings.seeds)
    print("\n".join(validation_lines(content, problems, verbose=args.verbose)))
    return 1 if has_errors(problems) else 0


def cmd_prepare(args: argparse.Namespace, settings: Settings) -> int:
    """Build the engine once, so the next start finds the encoder's int8 graph, the example
    vectors and the trained models in CACHE_DIR and answers at once (the install runs it)."""
    engine = load_engine(settings)
    print(f"Ready: {len(engine.intents)} topics; {engine.matching_mode}", file=sys.stderr)
    return 0


def resident_view(engine: Engine) -> Callable[[str], Reply]:
    """A message's reply as a resident gets it on any channel: with the council or force
    of a place it names and what is open now (no memory: each message stands alone)."""
    from bot.app.places import Localiser
    from bot.content.opening_hours import uk_now

    local = Localiser(uk_now)
    return lambda text: local.localise(engine, engine.respond(text), text, None)


def cmd_ask(args: argparse.Namespace, settings: Settings) -> int:
    engine = load_engine(settings)
    respond = resident_view(engine)
    messages = [" ".join(args.text)] if args.text else (line.rstrip("\n") for line in sys.stdin)
    for message in messages:
        reply = respond(message)
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
        return _eval_routes(args, resident_view(engine))
    cases = read_cases(args.cases) if args.cases else []
    if args.cv is not None:
        from bot.matching.crossval import cross_validate, format_cv_report

        if args.cv < 2:
            print("--cv needs at least 2 folds", file=sys.stderr)
            return 2
        # One step a fold; tqdm shows nothing when standard error is not a terminal.
        with tqdm(total=args.cv, desc="cross-validation", unit=" folds", disable=None) as bar:
            figures = cross_validate(
                engine.content,
                engine.encoder,
                args.cv,
                cases,
                done=bar.update,
                workers=os.cpu_count() or 1,
            )
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


def _staff(settings: Settings, work: Callable[[Staff], Awaitable[T]]) -> T:
    """Run one staff task on the question log (opened for it, closed after)."""

    async def run() -> T:
        async with staff_store(settings) as store:
            return await work(Staff(settings, store))

    return asyncio.run(run())


def cmd_review(args: argparse.Namespace, settings: Settings) -> int:
    if args.action in ("add", "ignore"):
        return _review_one(args, settings)
    text, groups = _staff(settings, lambda staff: staff.unanswered(args.days, limit=args.limit))
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
        print(f"Wrote {plural(len(groups), 'group')} to {args.csv}")
    return 0


def _review_one(args: argparse.Namespace, settings: Settings) -> int:
    """``review add QUESTION INTENT`` (to the draft) or ``review ignore QUESTION``: the
    question's whole group, with an audit entry, as from Telegram's buttons."""
    from bot.content.review import ReviewError

    adding = args.action == "add"
    if len(args.ids) != (2 if adding else 1) or not args.ids[0].lstrip("#").isdigit():
        usage = "QUESTION_ID INTENT_ID" if adding else "QUESTION_ID"
        raise ValueError(
            f"usage: ./run review {args.action} {usage} (the question's number, as "
            "shown by './run review')"
        )
    question_id = int(args.ids[0].lstrip("#"))
    try:
        if adding:
            intent_id = args.ids[1]
            done = _staff(
                settings, lambda staff: staff.add_example(question_id, intent_id, COMMAND_LINE)
            )
            print(
                f'Added "{done.question.text}" to {intent_id} in the draft '
                f"({plural(len(done.ids), 'question')} reviewed). Run './run publish' to check "
                "it and make it live, or './run discard' to drop the draft."
            )
        else:
            done = _staff(settings, lambda staff: staff.ignore(question_id, COMMAND_LINE))
            print(f"Ignored group #{question_id} ({plural(len(done.ids), 'question')}).")
    except (NoSuchQuestion, ReviewError) as exc:
        print(exc, file=sys.stderr)
        return 1
    return 0


def cmd_stats(args: argparse.Namespace, settings: Settings) -> int:
    from bot.app.staff import content_notes

    content, _ = load_content(settings.intents, settings.knowledge, settings.seeds)
    notes = content_notes(content)
    print(_staff(settings, lambda staff: staff.stats(args.days, notes)))
    return 0


def cmd_report(args: argparse.Namespace, settings: Settings) -> int:
    content, _ = load_content(settings.intents, settings.knowledge, settings.seeds)
    page = _staff(settings, lambda staff: staff.report(args.days, content))
    args.output.write_text(page, encoding="utf-8")
    print(f"Wrote the report for the last {plural(args.days, 'day')} to {args.output}")
    return 0


def cmd_publish(args: argparse.Namespace, settings: Settings) -> int:
    if not draft_of(settings).changes():
        print("The draft is empty: nothing to publish.")
        return 0
    print(PUBLISH_RUNNING)
    engine = load_engine(settings)
    summary, ok = _staff(settings, lambda staff: staff.publish(engine, COMMAND_LINE, args.folds))
    print(summary)
    if ok:
        print("A running bot picks the change up by itself (or send /reload).")
    return 0 if ok else 1


def cmd_discard(args: argparse.Namespace, settings: Settings) -> int:
    print(_staff(settings, lambda staff: staff.discard(COMMAND_LINE)))
    return 0


def cmd_audit(args: argparse.Namespace, settings: Settings) -> int:
    print(_staff(settings, lambda staff: staff.audit(args.limit)))
    return 0


def cmd_export_csv(args: argparse.Namespace, settings: Settings) -> int:
    from bot.content.spreadsheet import FACTS, TOPICS, export_csv

    topics, facts = export_csv(settings.intents, settings.knowledge, args.folder)
    print(
        f"Wrote {args.folder / TOPICS} ({plural(topics, 'row')}) and "
        f"{args.folder / FACTS} ({plural(facts, 'row')})"
    )
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
    changes = "".join(f"\n  {c}" for c in changed)
    print(f"Imported: {plural(len(changed), 'file')} changed{changes}")
    return 0


def cmd_migrate(args: argparse.Namespace, settings: Settings) -> int:
    """Bring the database's schema up to this program's (the bot also does it at start-up)."""
    try:
        where, before, after = asyncio.run(database.migrate(settings))
    except database.DatabaseError as exc:
        print(f"error: cannot migrate the database: {exc}", file=sys.stderr)
        return 1
    if before == after:
        print(f"{where}: schema already at version {after}")
    else:
        print(f"{where}: schema migrated from version {before} to {after}")
    return 0


def cmd_status(args: argparse.Namespace, settings: Settings) -> int:
    """The database at a glance; exit 1 when it cannot be read or its schema is behind."""
    import time

    try:
        status = asyncio.run(database.inspect(settings))
    except database.DatabaseError as exc:
        print(f"error: cannot read the database: {exc}", file=sys.stderr)
        return 1
    print(f"store: {status.where}")
    behind = status.schema < status.expected
    advice = " (run './run migrate', or start the bot)" if behind else ""
    print(f"schema: version {status.schema} of {status.expected}{advice}")
    if settings.database_url:
        if status.active is None:
            print("active instance: none (no bot is serving Telegram)")
        else:
            name, since = status.active
            print(f"active instance: {name}, since {time.strftime('%H:%M', time.localtime(since))}")
    print(f"inbox: {plural(status.waiting, 'update')} received and not answered yet")
    print(f"question log: {plural(status.last_day, 'message')} in the last 24 hours")
    return 1 if behind else 0


DESCRIPTION = """\
The Hertfordshire community safety assistant. With no command: the Telegram bot when
TELEGRAM_BOT_TOKEN is set, otherwise a chat in the terminal. Settings come from the
environment, then .env, then the --intents, --knowledge and --database flags (each wins
over the one before). 'python -m bot COMMAND --help' describes one command."""

Subcommands: TypeAlias = "argparse._SubParsersAction[argparse.ArgumentParser]"


def command(
    sub: Subcommands,
    name: str,
    text: str,
    func: Callable[..., int],
) -> argparse.ArgumentParser:
    """A command with the options every command takes (content folders, database)."""
    parser = sub.add_parser(name, help=text)
    _add_common_options(parser)
    parser.set_defaults(func=func)
    return parser


def build_parser(
    channels: Callable[[Subcommands], None] | None = None,
) -> argparse.ArgumentParser:
    """The staff commands; ``channels`` adds the commands that serve residents first."""
    parser = argparse.ArgumentParser(prog="python -m bot", description=DESCRIPTION)
    sub = parser.add_subparsers(dest="command", title="commands", metavar="COMMAND")
    if channels is not None:
        channels(sub)
    p = command(sub, "ask", "print the reply to one message (or one per stdin line)", cmd_ask)
    p.add_argument("text", nargs="*", help="the message; none: read lines from standard input")
    p.add_argument("--json", action="store_true", help="print the outcome as JSON")
    command(sub, "prepare", "train and cache what answering needs (install runs it)", cmd_prepare)
    p = command(sub, "eval", "accuracy on labelled cases (topic ids, or routes)", cmd_eval)
    p.add_argument("cases", type=Path, nargs="?", help="labelled cases (optional with --cv)")
    p.add_argument(
        "--cv",
        type=int,
        metavar="K",
        help="K-fold cross-validation over all examples (and the cases, if given)",
    )
    p.add_argument("--json", action="store_true", help="print the figures as one JSON object")
    p.add_argument("--errors", action="store_true", help="list every case that went wrong")
    p = command(sub, "validate", "check all content; one line per problem", cmd_validate)
    p.add_argument(
        "--verbose",
        action="store_true",
        help="list every warning, and each answer's reading level",
    )
    p = command(sub, "calibrate", "propose the answer threshold from labelled cases", cmd_calibrate)
    p.add_argument("cases", type=Path)
    p.add_argument(
        "--max-in-scope-loss",
        type=float,
        default=0.005,
        help="in-scope accuracy the threshold may cost (default: %(default)s)",
    )
    p = command(sub, "review", "unanswered questions; 'add ID INTENT' or 'ignore ID'", cmd_review)
    p.add_argument("action", nargs="?", choices=["add", "ignore"], help="omit to list")
    p.add_argument("ids", nargs="*", help="QUESTION_ID [INTENT_ID]")
    p.add_argument("--days", type=int, default=30, help="how far back (default: %(default)s)")
    p.add_argument("--limit", type=int, default=50, help="groups to list (default: %(default)s)")
    p.add_argument("--csv", type=Path, help="also write the groups to this CSV file")
    p = command(sub, "stats", "usage figures from the question log", cmd_stats)
    p.add_argument("--days", type=int, default=30, help="how far back (default: %(default)s)")
    p = command(sub, "report", "the admins' report with charts, as one HTML file", cmd_report)
    p.add_argument("--days", type=int, default=30, help="how far back (default: %(default)s)")
    p.add_argument("-o", "--output", type=Path, default=Path("report.html"), help="the file")
    p = command(sub, "publish", "check the draft (review additions) and make it live", cmd_publish)
    p.add_argument("--folds", type=int, default=5, help="cross-validation folds (default: 5)")
    command(sub, "discard", "drop the draft", cmd_discard)
    p = command(sub, "audit", "who changed content or the review inbox, and when", cmd_audit)
    p.add_argument("--limit", type=int, default=50, help="entries (default: %(default)s)")
    command(sub, "migrate", "bring the database's schema up to date", cmd_migrate)
    command(sub, "status", "the database: schema, active instance, waiting updates", cmd_status)
    p = command(sub, "export-csv", "topics and facts to CSV for spreadsheets", cmd_export_csv)
    p.add_argument("folder", type=Path)
    p = command(
        sub, "import-csv", "topics and facts back from CSV (all or nothing)", cmd_import_csv
    )
    p.add_argument("folder", type=Path)
    return parser


def execute(
    parser: argparse.ArgumentParser,
    argv: list[str] | None,
    env: Mapping[str, str] | None,
    default: str,
) -> int:
    """Run one command (``default`` when none is given). ``env`` replaces the process
    environment (``.env`` in the working directory is read either way; tests)."""
    args = parser.parse_args(argv)
    if args.command is None:
        args = parser.parse_args([default, *(argv if argv is not None else sys.argv[1:])])
    flags = {"intents": args.intents, "knowledge": args.knowledge, "database": args.database}
    settings, problems = load_settings(read_environment(env), flags)
    problems += filter(None, [hours_problem(settings)])
    if problems:
        for problem in problems:
            print(f"setting error: {problem}", file=sys.stderr)
        return 2
    try:
        result: int = args.func(args, settings)
        return result
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:  # the reader stopped early (`./run ask ... | head`): not an error
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # no flush error at exit
        return 0
    except StoreUnavailable as exc:  # the question log's database is down or unreachable
        print(f"error: the question log cannot be read now: {exc}", file=sys.stderr)
        return 1
    except NamesUnavailable as exc:  # no question is stored with the names in it
        print(f"error: {exc}; reinstall the package faker", file=sys.stderr)
        return 2
    except (OSError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
