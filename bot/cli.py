"""Command line: ``python -m bot [chat|run|ask|eval|validate|calibrate] ...``."""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

from bot.content import DEFAULT_INTENTS, DEFAULT_KNOWLEDGE, DEFAULT_SEEDS, load_content
from bot.engine import Engine
from bot.problems import Severity


def _add_content_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--intents",
        type=Path,
        default=DEFAULT_INTENTS,
        help="folder of intent YAML files (default: %(default)s)",
    )
    parser.add_argument(
        "--knowledge",
        type=Path,
        default=DEFAULT_KNOWLEDGE,
        help="folder of fact YAML files (default: %(default)s)",
    )


def _seeds() -> Path:
    return Path(os.environ.get("SEEDS_DIR", DEFAULT_SEEDS))


def load_engine(args: argparse.Namespace) -> Engine:
    """The engine for the content named on the command line; exit 2 when it is broken."""
    content, problems = load_content(args.intents, args.knowledge, _seeds())
    if content is None:
        for problem in problems:
            print(problem, file=sys.stderr)
        print("The content has errors; fix them (see 'python -m bot validate').", file=sys.stderr)
        raise SystemExit(2)
    return Engine(content)


def cmd_validate(args: argparse.Namespace) -> int:
    _, problems = load_content(args.intents, args.knowledge, _seeds())
    for problem in problems:
        print(problem)
    errors = sum(p.severity is Severity.ERROR for p in problems)
    warnings = len(problems) - errors
    print(f"{errors} error(s), {warnings} warning(s)" if problems else "Content OK: no problems.")
    return 1 if errors else 0


def cmd_ask(args: argparse.Namespace) -> int:
    engine = load_engine(args)
    messages = [" ".join(args.text)] if args.text else (line.rstrip("\n") for line in sys.stdin)
    for message in messages:
        reply = engine.respond(message)
        if args.json or not args.text:
            print(json.dumps(reply.as_json(), ensure_ascii=False), flush=not args.text)
        else:
            from bot.console import to_terminal

            print(to_terminal(reply, engine))
    return 0


def cmd_eval(args: argparse.Namespace) -> int:
    from bot.evaluation import evaluate, format_report, read_cases

    engine = load_engine(args)
    figures = evaluate(read_cases(args.cases), engine.respond)
    if args.json:
        print(json.dumps({k: v for k, v in figures.items() if k != "errors"}))
    else:
        print(format_report(figures))
        if args.errors:
            for error in figures["errors"]:
                print(f"  {error['expected']:<28} got {error['got']:<28} {error['text']}")
    return 0


def cmd_calibrate(args: argparse.Namespace) -> int:
    from bot.evaluation import calibrate_answer_threshold, read_cases

    engine = load_engine(args)
    scored = [(case, *engine.top_label(case.text)) for case in read_cases(args.cases)]
    result = calibrate_answer_threshold(scored, args.max_in_scope_loss)
    print(json.dumps(result, indent=2))
    print(
        f"Set 'thresholds: answer: {result['answer_threshold']}' in "
        f"{args.intents / '_matching.yaml'} to use it."
    )
    return 0


def cmd_chat(args: argparse.Namespace) -> int:
    from bot.console import chat

    return chat(load_engine(args))


def cmd_run(args: argparse.Namespace) -> int:
    if not os.environ.get("TELEGRAM_BOT_TOKEN"):
        print("TELEGRAM_BOT_TOKEN is not set: starting a chat in the terminal instead.\n")
        return cmd_chat(args)
    from bot.runner import run_bot

    return run_bot()


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m bot", description=__doc__)
    sub = parser.add_subparsers(dest="command")
    p = sub.add_parser("run", help="run the Telegram bot (a terminal chat without a token)")
    _add_content_options(p)
    p.set_defaults(func=cmd_run)
    p = sub.add_parser("chat", help="talk to the bot in the terminal")
    _add_content_options(p)
    p.set_defaults(func=cmd_chat)
    p = sub.add_parser("ask", help="print the reply to one message (or one per stdin line)")
    p.add_argument("text", nargs="*", help="the message; none: read lines from standard input")
    p.add_argument("--json", action="store_true", help="print the outcome as JSON")
    _add_content_options(p)
    p.set_defaults(func=cmd_ask)
    p = sub.add_parser("eval", help="accuracy on labelled cases (JSON lines: text, expect)")
    p.add_argument("cases", type=Path)
    p.add_argument("--json", action="store_true", help="print the figures as one JSON object")
    p.add_argument("--errors", action="store_true", help="list every case that went wrong")
    _add_content_options(p)
    p.set_defaults(func=cmd_eval)
    p = sub.add_parser("validate", help="check all content; one line per problem")
    _add_content_options(p)
    p.set_defaults(func=cmd_validate)
    p = sub.add_parser("calibrate", help="propose the answer threshold from labelled cases")
    p.add_argument("cases", type=Path)
    p.add_argument(
        "--max-in-scope-loss",
        type=float,
        default=0.01,
        help="in-scope accuracy the threshold may cost (default: %(default)s)",
    )
    _add_content_options(p)
    p.set_defaults(func=cmd_calibrate)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        args = parser.parse_args(["run", *(argv if argv is not None else sys.argv[1:])])
    try:
        return args.func(args)
    except KeyboardInterrupt:
        return 130
    except (OSError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
