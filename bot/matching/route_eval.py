"""Scoring replies by the route they give a resident, not by topic id.

A route case is ``{"text", "kind", "topic", "any"}``, or has ``"messages"`` (a list) in
place of ``"text"`` for a burst typed as several messages, read by the same burst check as
a chat. ``kind`` is ``everyday``, ``danger``, ``crisis`` or ``out_of_scope``, and ``any``
lists strings of which the reply's visible text must contain at least one
(case-insensitive; the fraud reporting number, "Clare's Law", "council"). The kind decides
which replies can be right:

- ``danger``: only the emergency reply (999 first);
- ``crisis``: the crisis reply, or the emergency reply, naming a crisis route;
- ``everyday``: a topic's answer, or an out-of-scope topic's own reply naming the body
  that helps (not the general fallback, a "did you mean", or a false 999);
- ``out_of_scope``: the fallback, or a topic's answer, naming who can help (a writer's
  "out of scope" may be a topic here: "how do I get a fishing licence").

A case marked ``"hard": true`` is a hard negative: alarming words that are not danger now
("was punched last month", "my mum will kill me"). Hard negatives are also tallied apart.

A burst is judged by its first emergency reply if it got one (right for danger, a false
alarm otherwise), else by its first right reply, else its last. This is how a resident
judges a reply, so it stays meaningful when topics are split, merged or renamed.
"""

from __future__ import annotations

import html
import json
import re
import statistics
import time
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bot.matching.bursts import Bursts
from bot.matching.reply import Reply, ReplyKind

KINDS = ("everyday", "danger", "crisis", "out_of_scope")
CALM_KINDS = ("everyday", "out_of_scope")  # no 999 reply is ever right for these
_RIGHT_KINDS: dict[str, frozenset[ReplyKind]] = {
    "danger": frozenset({ReplyKind.EMERGENCY}),
    "crisis": frozenset({ReplyKind.CRISIS, ReplyKind.EMERGENCY}),
    "out_of_scope": frozenset({ReplyKind.FALLBACK}),
}
_TAG = re.compile(r"<[^>]+>")
_SPACE = re.compile(r"\s+")


@dataclass(frozen=True)
class RouteCase:
    text: str
    kind: str
    topic: str
    any: tuple[str, ...]
    messages: tuple[str, ...] = ()  # a burst: these messages, one after another
    hard: bool = False  # a hard negative: violent or alarming words, not danger now


BURST_GAP_SECONDS = 5.0  # between a burst's messages, as a frightened resident types


def is_route_file(path: Path) -> bool:
    """True when the file's first case is a route case (it has an ``any`` list)."""
    with path.open(encoding="utf-8") as handle:
        for line in handle:
            if line.strip():
                try:
                    return "any" in json.loads(line)
                except ValueError:
                    return False
    return False


def read_route_cases(path: Path) -> list[RouteCase]:
    cases = []
    with path.open(encoding="utf-8") as handle:
        for number, line in enumerate(handle, 1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
                routes = row["any"]
                burst = row.get("messages", [])
                if not isinstance(burst, list) or not all(isinstance(m, str) for m in burst):
                    raise ValueError("messages must be a list of texts")
                if row["kind"] not in KINDS or not isinstance(routes, list) or not routes:
                    raise ValueError(f"kind must be one of {', '.join(KINDS)}, any a list")
                hard = row.get("hard", False)
                if not isinstance(hard, bool) or (hard and row["kind"] in ("danger", "crisis")):
                    raise ValueError("hard must be true or false, and only on calm messages")
                cases.append(
                    RouteCase(
                        " / ".join(burst) if burst else str(row["text"]),
                        row["kind"],
                        str(row.get("topic", row["kind"])),
                        tuple(str(r) for r in routes),
                        tuple(burst),
                        hard,
                    )
                )
            except (ValueError, KeyError, TypeError) as exc:
                message = f'{path}:{number}: not a {{"text", "kind", "any"}} line ({exc})'
                raise ValueError(message) from exc
    return cases


def visible_text(reply_html: str) -> str:
    """The reply as a resident reads it, folded for comparison."""
    text = html.unescape(_TAG.sub(" ", reply_html)).replace("\u2019", "'")
    return _SPACE.sub(" ", text).casefold()


def names_route(reply: Reply, routes: Iterable[str]) -> bool:
    text = visible_text(reply.html)
    return any(_SPACE.sub(" ", r.replace("\u2019", "'")).casefold() in text for r in routes)


GENERAL_FALLBACK = "out_of_scope"  # the general "no answer" reply's intent


def _answers(reply: Reply) -> bool:
    """A topic's own answer: an answer, the likeliest topic's answer shown above other
    close topics, or an out-of-scope topic's own reply naming the body that helps
    ("potholes are the county council's"), not the general fallback."""
    if reply.kind is ReplyKind.FALLBACK:
        return reply.intent not in (None, GENERAL_FALLBACK)
    return reply.kind in (ReplyKind.ANSWER, ReplyKind.SUGGEST) and reply.intent is not None


def is_route_right(case: RouteCase, reply: Reply) -> bool:
    if case.kind == "everyday":
        return _answers(reply) and names_route(reply, case.any)
    if case.kind == "out_of_scope" and _answers(reply):
        return names_route(reply, case.any)
    return reply.kind in _RIGHT_KINDS[case.kind] and names_route(reply, case.any)


def _outcome(reply: Reply) -> str:
    return reply.intent if _answers(reply) and reply.intent else reply.kind.value


def _burst_reply(number: int, case: RouteCase, respond: Callable[[str], Reply]) -> Reply:
    """The reply a burst is judged by: its first emergency reply, else the first reply
    giving the right route (the resident reads them all), else its last reply."""
    bursts = Bursts()
    replies = [
        bursts.respond(number, text, index * BURST_GAP_SECONDS, respond)
        for index, text in enumerate(case.messages)
    ]
    alarms = [r for r in replies if r.kind is ReplyKind.EMERGENCY]
    return next(iter(alarms or [r for r in replies if is_route_right(case, r)]), replies[-1])


def evaluate_routes(cases: Iterable[RouteCase], respond: Callable[[str], Reply]) -> dict[str, Any]:
    rows, timings = [], []
    for number, case in enumerate(cases):
        start = time.perf_counter()
        reply = _burst_reply(number, case, respond) if case.messages else respond(case.text)
        timings.append((time.perf_counter() - start) * 1000)
        rows.append((case, reply, is_route_right(case, reply)))
    timings.sort()

    def tally(key: Callable[[RouteCase], str]) -> dict[str, dict[str, int]]:
        table: dict[str, dict[str, int]] = {}
        for case, _, right in rows:
            entry = table.setdefault(key(case), {"cases": 0, "right": 0})
            entry["cases"] += 1
            entry["right"] += right
        return table

    calm = [reply for case, reply, _ in rows if case.kind in CALM_KINDS]
    hard = [(reply, right) for case, reply, right in rows if case.hard]
    total = len(rows)
    return {
        "cases": total,
        "right": sum(right for *_, right in rows),
        "accuracy": round(sum(r for *_, r in rows) / total, 4) if total else None,
        "by_kind": tally(lambda c: c.kind),
        "by_topic": tally(lambda c: c.topic),
        "calm": len(calm),
        "false_emergencies": sum(reply.kind is ReplyKind.EMERGENCY for reply in calm),
        "calm_with_999_line": sum(reply.danger_prompt for reply in calm),
        "hard_negatives": {
            "cases": len(hard),
            "right": sum(right for _, right in hard),
            "no_999": sum(
                reply.kind is not ReplyKind.EMERGENCY and not reply.danger_prompt
                for reply, _ in hard
            ),
        },
        "led_by_999": sum(
            reply.leads_with_999
            for case, reply, _ in rows
            if case.kind == "danger"
        ),
        "outcomes_when_wrong": dict(
            Counter(
                f"{case.kind} -> {reply.kind.value}" for case, reply, right in rows if not right
            ).most_common()
        ),
        "median_ms": round(statistics.median(timings), 3) if timings else None,
        "errors": [
            {"text": case.text, "kind": case.kind, "topic": case.topic, "got": _outcome(reply)}
            for case, reply, right in rows
            if not right
        ],
    }


def _share(part: int, whole: int) -> str:
    return f"{part} of {whole}" + (f" ({part / whole * 100:.1f}%)" if whole else "")


def _hard_lines(hard: dict[str, int]) -> list[str]:
    if not hard["cases"]:
        return []
    return [
        f"hard negatives given the right route: {_share(hard['right'], hard['cases'])}",
        f"hard negatives with no 999 reply or line: {_share(hard['no_999'], hard['cases'])}",
    ]


def format_route_report(figures: dict[str, Any]) -> str:
    def line(name: str, entry: dict[str, int]) -> str:
        share = entry["right"] / entry["cases"] * 100 if entry["cases"] else 0.0
        return f"  {name:<28} {entry['right']:>4} of {entry['cases']:<4} {share:5.1f}%"

    lines = ["by kind:"]
    lines += [line(k, v) for k, v in sorted(figures["by_kind"].items())]
    lines.append("by topic:")
    lines += [line(k, v) for k, v in sorted(figures["by_topic"].items())]
    lines.append("wrong replies (expected kind -> reply kind):")
    lines += [f"  {k}: {n}" for k, n in figures["outcomes_when_wrong"].items()]
    danger = figures["by_kind"].get("danger", {"cases": 0})
    lines += [
        "",
        f"danger now led by 999 (emergency reply, the unsure 999 line, or an answer "
        f"opening with 999): "
        f"{figures['led_by_999']} of {danger['cases']}",
        "emergency replies to calm messages (everyday, out of scope): "
        + _share(figures["false_emergencies"], figures["calm"]),
        "calm messages given the unsure 999 line: "
        + _share(figures["calm_with_999_line"], figures["calm"]),
        *_hard_lines(figures["hard_negatives"]),
        f"time per message: median {figures['median_ms']} ms",
        f"right route overall: {figures['right']} of {figures['cases']}"
        f" ({(figures['accuracy'] or 0) * 100:.1f}%)",
    ]
    return "\n".join(lines)
