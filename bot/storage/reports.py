"""Admin reports built from the question log: unanswered groups and usage figures.

Plain text, shared by the Telegram admin commands and the staff command line.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from dataclasses import dataclass, field
from zoneinfo import ZoneInfo

from rapidfuzz import fuzz, process

from bot.storage.store import MessageOutcome, Question, Store
from bot.text import clean, plural

LOCAL_TIME = ZoneInfo("Europe/London")  # residents' (and staff's) clock, summer time included
SIMILAR = 75  # rapidfuzz token_set_ratio at which two questions count as the same


@dataclass
class Group:
    example: Question  # the most recent question of the group
    ids: list[int] = field(default_factory=list)
    closest: Counter[str] = field(default_factory=Counter)
    best_score: float | None = None

    @property
    def count(self) -> int:
        return len(self.ids)


def group_questions(questions: list[Question]) -> list[Group]:
    """Similar questions together (greedy, newest first), most frequent group first."""
    groups: list[Group] = []
    keys: list[str] = []
    for question in questions:
        key = clean(question.text)
        match = process.extractOne(key, keys, scorer=fuzz.token_set_ratio, score_cutoff=SIMILAR)
        if match is None:
            groups.append(Group(question))
            keys.append(key)
            group = groups[-1]
        else:
            group = groups[match[2]]
        group.ids.append(question.id)
        if question.closest_intent:
            group.closest[question.closest_intent] += 1
        if question.closest_score is not None:
            group.best_score = max(
                group.best_score or question.closest_score, question.closest_score
            )
    return sorted(groups, key=lambda g: (-g.count, -g.example.id))


async def unanswered_report(store: Store, days: int, limit: int = 20) -> tuple[str, list[Group]]:
    """The review inbox: unanswered groups, then answers rated 👎 ("answered, but not
    helpful"); returns the text and the groups in the order listed."""
    groups = group_questions(await store.questions(days))
    unhelpful = group_questions(await store.not_helpful(days))
    if not groups:
        lines = [f"No unanswered questions in the last {plural(days, 'day')}."]
    else:
        lines = [
            f"Unanswered questions, last {plural(days, 'day')} ({plural(len(groups), 'group')}):"
        ]
    for group in groups[:limit]:
        closest = group.closest.most_common(1)[0][0] if group.closest else "-"
        score = f"{group.best_score:.2f}" if group.best_score is not None else "-"
        lines.append(
            f'{group.count}× "{group.example.text}" [#{group.example.id}]'
            f" → closest: {closest} ({score})"
        )
    if len(groups) > limit:
        more = plural(len(groups) - limit, "more group")
        lines.append(f"… and {more} (./run review --csv)")
    if unhelpful:
        lines.append(f"Answered, but not helpful (👎), {plural(len(unhelpful), 'group')}:")
    for group in unhelpful[:limit]:
        lines.append(
            f'{group.count}× "{group.example.text}" [#{group.example.id}]'
            f" → answered: {group.example.intent}; {_wanted(group.example.wanted)}"
        )
    return "\n".join(lines), groups + unhelpful


def _wanted(wanted: str | None) -> str:
    if wanted is None:
        return "no topic chosen"
    return "wanted: something else" if wanted == "-" else f"wanted: {wanted}"


OUTCOMES = ("answer", "suggest", "fallback", "emergency", "crisis", "card")


def console_text(count: int) -> str:
    """The terminal chat's messages, which figures leave out: staff trying content there
    would otherwise inflate the topics residents ask about."""
    return f"{plural(count, 'message')} from the terminal chat (staff trying content)"


async def stats_report(store: Store, days: int) -> str:
    """Residents' usage figures (Telegram, the web chat), then the terminal chat's count."""
    figures = _figures(await store.outcomes(days), days)
    console = len(await store.outcomes(days, console=True))
    return figures + (f"\nNot counted: {console_text(console)}" if console else "")


def _figures(rows: list[MessageOutcome], days: int) -> str:
    if not rows:
        return f"No messages in the last {plural(days, 'day')}."
    total = len(rows)
    kinds = Counter(row.kind for row in rows)
    intents = Counter(row.intent for row in rows if row.intent and row.kind == "answer")
    hours = Counter(dt.datetime.fromtimestamp(row.at, LOCAL_TIME).hour for row in rows)
    helpful: dict[str, list[int]] = {}
    for row in rows:
        if row.intent and row.helpful is not None:
            helpful.setdefault(row.intent, []).append(row.helpful)
    lines = [f"Messages in the last {plural(days, 'day')}: {total}"]
    lines.append(" · ".join(f"{k} {kinds[k] / total:.0%}" for k in OUTCOMES))
    lines.append("Top topics:")
    lines += [f"  {intent}: {count}" for intent, count in intents.most_common(10)]
    if helpful:
        lines.append("Feedback (👍 share):")
        for intent, votes in sorted(helpful.items(), key=lambda kv: -len(kv[1])):
            lines.append(f"  {intent}: {sum(votes)}/{len(votes)} helpful")
    lines.append(
        "Busiest hours (UK time): "
        + ", ".join(f"{hour:02d}:00 ({count})" for hour, count in hours.most_common(3))
    )
    return "\n".join(lines)
