"""The admins' report as one self-contained HTML page: bars in HTML, columns in SVG.

No script, font, style sheet or image is fetched: the file opens offline on a phone or a
desktop and can be forwarded as it is. The charts are hand-written (no dependency, tens of
kilobytes). Their labels and numbers are page text at the page's size: bar charts are HTML,
and the column charts' SVG is laid out in percentages of its width rather than scaled, so
no label is shrunk on a phone or cut off on a desktop (tests/test_report.py measures both in
Chromium). Only counts, topic titles and already-redacted question text appear; no
resident identifier is read.
"""

from __future__ import annotations

import datetime as dt
import re
import time
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from html import escape

from bot.storage.reports import LOCAL_TIME, Group, console_text, group_questions
from bot.storage.store import MessageOutcome, Question, Store
from bot.text import plural

_HYPHENATED = re.compile(r"\S+-\S+")  # a word a browser may break at its hyphen

REFUSED = "refused"  # a fallback that an out-of-scope intent decided: answered correctly
# The outcomes as the report counts them, in the order charts stack them.
KINDS = ("answer", "suggest", REFUSED, "fallback", "emergency", "crisis", "card")
OUTCOME_NAMES = {
    "answer": "answered",
    "suggest": "did you mean",
    REFUSED: "out of scope",
    "fallback": "no answer",
    "emergency": "emergency",
    "crisis": "crisis",
    "card": "language card",
}
# Colour-blind-safe (Okabe–Ito, and grey); every chart also gives its numbers in text.
COLOURS = {
    "answer": "#009E73",
    "suggest": "#0072B2",
    REFUSED: "#999999",
    "fallback": "#E69F00",
    "emergency": "#D55E00",
    "crisis": "#CC79A7",
    "card": "#56B4E9",
}
UP, DOWN = "#009E73", "#D55E00"
GAPS_OR_ANSWERS = ("answer", "suggest", "fallback")  # what an answer rate is a share of
TOP_TOPICS = 12
SAMPLES = 30  # question groups and 👎 answers listed
AXIS = 40  # px: the y axis's labels, left of a column chart
TitleOf = Callable[[str | None], str]  # a topic's title from its id


def refused(kind: str, intent: str | None) -> bool:
    """A fallback an out-of-scope intent decided ("bins are the council's") is a correct
    refusal; a fallback from low confidence (no intent) is a gap in the content."""
    return kind == "fallback" and intent is not None


def outcome_of(row: MessageOutcome) -> str:
    """The row's outcome as the report counts it: ``refused`` apart from ``fallback``."""
    return REFUSED if refused(row.kind, row.intent) else row.kind


def has_words(text: str) -> bool:
    """Whether a question has a letter or a digit: blank and emoji-only ones are left out."""
    return any(char.isalnum() for char in text)


@dataclass(frozen=True)
class Period:
    """The messages of one period, with the figures the report compares."""

    rows: list[MessageOutcome]

    @property
    def total(self) -> int:
        return len(self.rows)

    def count(self, kind: str) -> int:
        return sum(outcome_of(r) == kind for r in self.rows)

    def share(self, kind: str) -> float | None:
        return self.count(kind) / self.total if self.rows else None

    def answered(self) -> Counter[str]:
        """Answered messages per topic."""
        return Counter(r.intent for r in self.rows if r.kind == "answer" and r.intent)

    @property
    def helpful_share(self) -> float | None:
        votes = [r.helpful for r in self.rows if r.helpful is not None]
        return sum(votes) / len(votes) if votes else None


@dataclass(frozen=True)
class Findings:
    """What the report shows: the period, the one before it, and the questions to review."""

    current: Period
    previous: Period
    gaps: list[Group]  # unanswered or "did you mean": we should answer these
    refusals: list[Group]  # out of scope, answered correctly
    unhelpful: list[Question]
    # Questions per council or force (knowledge/_places.yaml), counted without any user.
    places: Mapping[str, int] = field(default_factory=dict)
    # The terminal chat's messages in the period (staff trying content): not in the figures.
    console: int = 0


async def build_report(
    store: Store,
    days: int,
    titles: Mapping[str, str],
    now: float | None = None,
    notes: Sequence[str] = (),
    places: Mapping[str, str] | None = None,
) -> str:
    """The report of the last ``days`` days, compared with the ``days`` before them;
    ``notes`` are lines for staff about the content (e.g. unreviewed translations);
    ``places`` names the councils and forces questions are counted by (id -> name)."""
    now = time.time() if now is None else now
    cutoff = now - days * 86400
    rows = await store.outcomes(days * 2)
    questions = [q for q in await store.questions(days) if q.at >= cutoff and has_words(q.text)]
    findings = Findings(
        current=Period([r for r in rows if r.at >= cutoff]),
        previous=Period([r for r in rows if r.at < cutoff]),
        gaps=group_questions([q for q in questions if not refused(q.kind, q.intent)]),
        refusals=group_questions([q for q in questions if refused(q.kind, q.intent)]),
        unhelpful=[
            q for q in await store.not_helpful(days) if q.at >= cutoff and has_words(q.text)
        ],
        places={
            (places or {}).get(place, place): count
            for place, count in (await store.place_counts(days)).items()
        },
        console=sum(r.at >= cutoff for r in await store.outcomes(days, console=True)),
    )
    today = dt.datetime.fromtimestamp(now, LOCAL_TIME).date()
    return render(findings, titles, days, today, notes)


def render(
    findings: Findings,
    titles: Mapping[str, str],
    days: int,
    today: dt.date,
    notes: Sequence[str] = (),
) -> str:
    """The page: every figure in text, charts as HTML bars or inline SVG."""

    def title(intent: str | None) -> str:
        return titles.get(intent or "", intent or "—")

    current, previous = findings.current, findings.previous
    first = today - dt.timedelta(days=days - 1)
    sections = [
        _section("Compared with the previous period", _comparison(current, previous, days)),
        _section(
            "Questions per day by outcome",
            _legend() + _per_day(current.rows, first, today),
        ),
        _section(
            "Answered questions per topic, this period and the one before",
            _trends(current.answered(), previous.answered(), days, title),
        ),
        _section("Answer rate per topic", _answer_rates(current.rows, title)),
        _section("Was the answer helpful? Votes per topic", _feedback(current.rows, title)),
        _section("Busiest hours (UK time)", _hours(current.rows)),
        _section("Questions by district or borough", _places(findings.places)),
        _section(
            "We should answer these: unanswered questions, similar ones grouped",
            _groups(findings.gaps, title, ("closest topic", _closest), "No unanswered questions"),
        ),
        _section(
            "Out of scope, answered correctly",
            _groups(
                findings.refusals,
                title,
                ("answered with", _refused_by),
                "No out-of-scope questions",
            ),
        ),
        _section(
            "Answers rated not helpful, with the question", _unhelpful(findings.unhelpful, title)
        ),
    ]
    if notes:
        items = "".join(f"<li>{escape(note)}</li>" for note in notes)
        sections.append(_section("For staff: content to check", f"<ul>{items}</ul>"))
    period = f"{first:%-d %b %Y} – {today:%-d %b %Y}"
    return PAGE.format(
        title=f"Community safety assistant: report, last {plural(days, 'day')}",
        period=escape(period),
        total=f"{plural(current.total, 'message')} from residents (Telegram and the web chat)"
        + (f"; not counted: {console_text(findings.console)}" if findings.console else ""),
        body="\n".join(sections),
    )


# -- sections


def _section(heading: str, body: str) -> str:
    return f"<section><h2>{escape(heading)}</h2>\n{body}\n</section>"


def _whole(label: str) -> str:
    """A label escaped, each hyphenated word kept on one line: "tip-offs" never splits
    over two lines on a phone."""
    return _HYPHENATED.sub(r'<span class="whole">\g<0></span>', escape(label))


def _empty(text: str = "Nothing in this period.") -> str:
    return f'<p class="empty">{escape(text)}</p>'


def _comparison(current: Period, previous: Period, days: int) -> str:
    """Counts and shares of each outcome, now and before, and the change in points."""

    def pct(value: float | None) -> str:
        return "—" if value is None else f"{value:.0%}"

    def points(now: float | None, before: float | None) -> str:
        return "—" if now is None or before is None else f"{(now - before) * 100:+.0f} pts"

    def counted(period: Period, kind: str) -> str:
        return f"{period.count(kind)} ({pct(period.share(kind))})" if period.total else "—"

    change = f"{(current.total - previous.total) / previous.total:+.0%}" if previous.total else "—"
    rows = [("Messages", f"{current.total}", f"{previous.total or '—'}", change)]
    rows += [
        (
            OUTCOME_NAMES[kind].capitalize(),
            counted(current, kind),
            counted(previous, kind),
            points(current.share(kind), previous.share(kind)),
        )
        for kind in KINDS
    ]
    rows.append(
        (
            "Rated helpful (of votes)",
            pct(current.helpful_share),
            pct(previous.helpful_share),
            points(current.helpful_share, previous.helpful_share),
        )
    )
    body = "".join(
        f"<tr><th>{_whole(name)}</th><td>{now}</td><td>{before}</td><td>{delta}</td></tr>"
        for name, now, before, delta in rows
    )
    return (
        f'<table class="figures"><thead><tr><th></th><th>last {plural(days, "day")}</th>'
        f"<th>{plural(days, 'day')} before</th><th>change</th></tr></thead>"
        f"<tbody>{body}</tbody></table>"
    )


def _legend() -> str:
    items = "".join(
        f'<span><i style="background:{COLOURS[k]}"></i>{OUTCOME_NAMES[k]}</span>' for k in KINDS
    )
    return f'<p class="legend">{items}</p>'


def _per_day(rows: Sequence[MessageOutcome], first: dt.date, last: dt.date) -> str:
    """A stacked column per day, outcomes stacked in the legend's order."""
    span = (last - first).days + 1
    days = [first + dt.timedelta(days=n) for n in range(span)]
    counts: dict[dt.date, Counter[str]] = {day: Counter() for day in days}
    for row in rows:
        day = dt.datetime.fromtimestamp(row.at, LOCAL_TIME).date()
        if day in counts:
            counts[day][outcome_of(row)] += 1
    columns = [
        (
            [
                (
                    COLOURS[k],
                    counts[day][k],
                    f"{day:%a %-d %b}: {counts[day][k]} {OUTCOME_NAMES[k]}",
                )
                for k in KINDS
                if counts[day][k]
            ],
            f"{day:%-d %b}",
        )
        for day in days
    ]
    return _columns(columns, 2 * -(-span // 12), "Questions per day, stacked by outcome")


def _hours(rows: Sequence[MessageOutcome]) -> str:
    hours = Counter(dt.datetime.fromtimestamp(r.at, LOCAL_TIME).hour for r in rows)
    colour = COLOURS["suggest"]
    columns = [
        ([(colour, hours[h], f"{h:02d}:00–{h:02d}:59: {hours[h]}")], f"{h:02d}:00")
        for h in range(24)
    ]
    return _columns(columns, 6, "Messages by hour of the day, UK time")


def _places(counts: Mapping[str, int]) -> str:
    """Questions that named a town or postcode, or were answered for a remembered one."""
    if not counts:
        return _empty("No questions named a place in this period.")
    most = max(counts.values())
    colour = COLOURS["answer"]
    ranked = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))
    return _bars([(name, _bar(count / most, colour), str(count)) for name, count in ranked])


def _trends(now: Counter[str], before: Counter[str], days: int, title: TitleOf) -> str:
    """Per topic: answered questions in this period and the one before, with small bars."""
    topics = sorted(set(now) | set(before), key=lambda t: (-now[t], -before[t], title(t)))
    if not topics:
        return _empty()
    most = max(max(now.values(), default=0), max(before.values(), default=0))

    def cell(count: int, colour: str) -> str:
        return (
            f'<td class="n">{count}<span class="mini" style="width:{count / most:.1%};'
            f'background:{colour}"></span></td>'
        )

    def change(topic: str) -> str:
        if not before[topic]:
            return "new"
        difference = now[topic] - before[topic]
        return f"{difference:+d} ({difference / before[topic]:+.0%})"

    rows = "".join(
        f"<tr><th>{_whole(title(t))}</th>{cell(now[t], COLOURS['answer'])}"
        f'{cell(before[t], COLOURS[REFUSED])}<td class="n">{change(t)}</td></tr>'
        for t in topics[:TOP_TOPICS]
    )
    period = plural(days, "day")
    return (
        f'<table class="trends"><thead><tr><th>topic</th><th class="n">last {period}</th>'
        f'<th class="n">{period} before</th><th class="n">change</th></tr></thead>'
        f"<tbody>{rows}</tbody></table>"
    )


def _answer_rates(rows: Sequence[MessageOutcome], title: TitleOf) -> str:
    """Per topic: of the messages it scored best on, the share answered directly. Correct
    refusals, and topics that only refuse, are left out."""
    out_of_scope = {r.intent for r in rows if refused(r.kind, r.intent)}
    reached: Counter[str] = Counter()
    answered: Counter[str] = Counter()
    for row in rows:
        topic = row.intent if row.kind == "answer" else row.closest
        if topic and topic not in out_of_scope and outcome_of(row) in GAPS_OR_ANSWERS:
            reached[topic] += 1
            answered[topic] += row.kind == "answer"
    if not reached:
        return _empty()
    return _bars(
        [
            (
                title(topic),
                _bar(answered[topic] / n, COLOURS["suggest"]),
                f"{answered[topic] / n:.0%} of {n}",
            )
            for topic, n in reached.most_common(TOP_TOPICS)
        ]
    )


def _feedback(rows: Sequence[MessageOutcome], title: TitleOf) -> str:
    """Not helpful to the left of a centre line, helpful to the right, per topic. Words,
    not emoji: a browser without an emoji font would show empty boxes."""
    votes: dict[str, Counter[int]] = {}
    for row in rows:
        if row.intent and row.helpful is not None:
            votes.setdefault(row.intent, Counter())[row.helpful] += 1
    if not votes:
        return _empty("No votes in this period.")
    ranked = sorted(votes.items(), key=lambda kv: -sum(kv[1].values()))[:TOP_TOPICS]
    most = max(max(c[0], c[1]) for _, c in ranked)
    return _bars(
        [
            (
                title(intent),
                f'<span class="split">{_bar(count[0] / most, DOWN)}</span>'
                f'<span class="split">{_bar(count[1] / most, UP)}</span>',
                f"{count[0]} no · {count[1]} yes",
            )
            for intent, count in ranked
        ]
    )


def _closest(group: Group) -> str | None:
    """The topic that scored best on most of the group's questions."""
    return group.closest.most_common(1)[0][0] if group.closest else None


def _refused_by(group: Group) -> str | None:
    """The out-of-scope topic that answered the group's latest question."""
    return group.example.intent


def _groups(
    groups: Sequence[Group],
    title: TitleOf,
    topic: tuple[str, Callable[[Group], str | None]],
    none: str,
) -> str:
    """Question groups, each with the number of its latest question (``review add N``)
    and a topic: ``topic`` is its column's heading and how it is found."""
    if not groups:
        return _empty(f"{none} in this period.")
    heading, topic_of = topic
    rows = "".join(
        f'<tr><td class="n">#{g.example.id}</td><td class="n">{g.count}</td>'
        f'<td class="q">{escape(g.example.text)}</td><td>{_whole(title(topic_of(g)))}</td></tr>'
        for g in groups[:SAMPLES]
    )
    more = f"<p>… and {len(groups) - SAMPLES} more groups.</p>" if len(groups) > SAMPLES else ""
    return (
        '<table><thead><tr><th class="n">number</th><th class="n">asked</th>'
        f"<th>question</th><th>{escape(heading)}</th></tr></thead>"
        f"<tbody>{rows}</tbody></table>{more}"
        '<p class="hint">Personal details are removed from questions. The number is the one'
        " to give <code>review add</code>.</p>"
    )


def _unhelpful(questions: Sequence[Question], title: TitleOf) -> str:
    if not questions:
        return _empty("No answers were rated not helpful in this period.")

    def wanted(q: Question) -> str:
        if q.wanted is None:
            return "—"
        return "something else" if q.wanted == "-" else title(q.wanted)

    rows = "".join(
        f'<tr><td class="n">#{q.id}</td><td class="q">{escape(q.text)}</td>'
        f"<td>{_whole(title(q.intent))}</td><td>{escape(wanted(q))}</td></tr>"
        for q in questions[:SAMPLES]
    )
    return (
        '<table><thead><tr><th class="n">number</th><th>question (personal details removed)'
        "</th><th>answer given</th><th>they were looking for</th></tr></thead>"
        f"<tbody>{rows}</tbody></table>"
    )


# -- drawing: labels and numbers are HTML text or unscaled SVG text, never shrunk or cut


def _bar(share: float, colour: str) -> str:
    return f'<span class="bar" style="width:{share:.1%};background:{colour}"></span>'


def _bars(items: Sequence[tuple[str, str, str]]) -> str:
    """Rows of (label, bar markup, value as shown): the label wraps, and stands above its
    bar on a narrow screen."""
    rows = "".join(
        f'<span class="label">{_whole(label)}</span><span class="track">{bar}</span>'
        f'<span class="value">{escape(value)}</span>'
        for label, bar, value in items
    )
    return f'<div class="bars">{rows}</div>'


Column = tuple[list[tuple[str, int, str]], str]  # stacked (colour, count, tooltip); its label


def _columns(columns: Sequence[Column], every: int, label: str) -> str:
    """A column chart: the columns are placed in percentages of the width, so the chart
    fills any screen while its text keeps its size. Every ``every``-th column is labelled,
    and on a wide screen the ones halfway between too (``every`` is even)."""
    peak = max((sum(n for _, n, _ in stack) for stack, _ in columns), default=0)
    if not peak:
        return _empty()
    height, top, bottom = 200, 8, 24
    plot = height - top - bottom
    axis, parts = [], []
    for value in sorted({0, peak // 2, peak}):
        y = top + plot - value / peak * plot
        axis.append(f'<text x="{AXIS - 6}" y="{y + 4:.1f}" text-anchor="end">{value}</text>')
        parts.append(f'<line x1="0" x2="100%" y1="{y:.1f}" y2="{y:.1f}" class="grid"/>')
    step = 100 / len(columns)
    for n, (stack, tick) in enumerate(columns):
        x, y = n * step, float(top + plot)
        for colour, count, tip in stack:
            h = count / peak * plot
            y -= h
            parts.append(
                f'<rect x="{x + step * 0.12:.2f}%" y="{y:.1f}" width="{step * 0.76:.2f}%"'
                f' height="{h:.1f}" fill="{colour}"><title>{escape(tip)}</title></rect>'
            )
        if n % (every // 2) == 0:
            # at the edges, the label starts or ends with its column: never cut off
            at, anchor = x + step / 2, "middle"
            if at < 6:
                at, anchor = x, "start"
            elif at > 94:
                at, anchor = x + step, "end"
            wide = "" if n % every == 0 else ' class="wide"'  # not on a phone
            parts.append(
                f'<text x="{at:.2f}%" y="{height - 6}" text-anchor="{anchor}"{wide}>'
                f"{escape(tick)}</text>"
            )
    return (
        f'<div class="columns" role="img" aria-label="{escape(label)}">'
        f'<svg class="axis" width="{AXIS}" height="{height}">{"".join(axis)}</svg>'
        f'<svg class="plot" width="100%" height="{height}">{"".join(parts)}</svg></div>'
    )


PAGE = """<!DOCTYPE html>
<html lang="en-GB">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'">
<title>{title}</title>
<style>
body {{ font: 15px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif;
  margin: 0 auto; max-width: 860px; padding: 12px 14px 40px; color: #1d1d1f;
  background: #fff; }}
td.q {{ overflow-wrap: anywhere; }}
header {{ border-bottom: 3px solid #0072B2; margin-bottom: 8px; }}
h1 {{ font-size: 1.35em; margin: .3em 0 .1em; }}
h2 {{ font-size: 1.08em; margin: 1.6em 0 .5em; }}
.meta, .hint {{ color: #555; margin: 0 0 .7em; }}
.hint {{ font-size: .87em; margin-top: .4em; }}
.columns {{ display: flex; }}
.columns svg {{ display: block; flex: none; font-size: 12px; }}
.columns svg.plot {{ flex: 1 1 auto; min-width: 0; }}
svg text {{ fill: #555; }}
svg .grid {{ stroke: #e3e3e3; }}
table {{ border-collapse: collapse; width: 100%; font-size: .93em; }}
th, td {{ text-align: left; padding: 5px 6px; border-bottom: 1px solid #e3e3e3;
  vertical-align: top; }}
.n, .figures td {{ text-align: right; font-variant-numeric: tabular-nums;
  white-space: nowrap; }}
.figures th {{ font-weight: normal; }}
.figures thead th, table thead th {{ font-weight: 600; }}
.mini {{ display: block; height: 5px; margin: 3px 0 0 auto; border-radius: 1px; }}
.bars {{ display: grid; grid-template-columns: minmax(9em, 17em) minmax(0, 1fr) auto;
  gap: 6px 10px; align-items: center; }}
.bars .track {{ display: flex; height: 18px; }}
.bars .split {{ flex: 1 1 0; display: flex; }}
.bars .split:first-child {{ justify-content: flex-end; border-right: 1px solid #999; }}
.bars .bar {{ display: block; min-width: 1px; height: 100%; border-radius: 2px; }}
.bars .value {{ white-space: nowrap; font-variant-numeric: tabular-nums; text-align: right; }}
.legend span {{ margin-right: 12px; white-space: nowrap; }}
.whole {{ white-space: nowrap; }}
.legend i {{ display: inline-block; width: 11px; height: 11px; margin-right: 4px;
  border-radius: 2px; vertical-align: -1px; }}
.empty {{ color: #666; font-style: italic; }}
footer {{ margin-top: 2em; color: #666; font-size: .9em; }}
@media (max-width: 560px) {{
  body {{ font-size: 14px; padding: 10px 10px 32px; }}
  .bars {{ grid-template-columns: minmax(0, 1fr) auto; gap: 2px 8px; }}
  .bars .label {{ grid-column: 1 / -1; margin-top: 6px; }}
  th, td {{ padding: 4px 4px; }}
  svg .wide {{ display: none; }}
  .trends tr {{ display: grid; grid-template-columns: repeat(3, minmax(0, 1fr)); }}
  .trends tr > :first-child {{ grid-column: 1 / -1; border-bottom: 0; padding-bottom: 0; }}
  .trends thead tr > :first-child {{ display: none; }}
}}
</style>
</head>
<body>
<header>
<h1>{title}</h1>
<p class="meta">{period} · {total} · times in UK time</p>
</header>
{body}
<footer>Made by the community safety assistant. Question text has phone numbers, emails,
postcodes, towns and similar details removed, and people's names replaced by [name]: those
on a list of common UK first names and surnames, and words that context shows to be a name
(“my neighbour …”, “called …”, “Mrs …”, beside another name); a name it does not
recognise can remain.
Usernames and ids are never kept.</footer>
</body>
</html>
"""
