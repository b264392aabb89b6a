"""The admins' report as one self-contained HTML page: charts drawn as inline SVG.

No script, font, style sheet or image is fetched: the file opens offline on a phone or a
desktop and can be forwarded as it is. The charts are small hand-written SVG (bars only),
which needs no dependency and keeps the file to tens of kilobytes. Only counts, topic ids
and titles, and already-redacted question text appear; no resident identifier is read.
"""

from __future__ import annotations

import datetime as dt
import time
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from html import escape

from bot.storage.reports import LOCAL_TIME, OUTCOMES, Group, group_questions
from bot.storage.store import MessageOutcome, Question, Store

OUTCOME_NAMES = {
    "answer": "answered",
    "suggest": "did you mean",
    "fallback": "fallback",
    "emergency": "emergency",
    "crisis": "crisis",
    "card": "language card",
}
# Colour-blind-safe (Okabe–Ito); every chart also labels its bars in text.
COLOURS = {
    "answer": "#009E73",
    "suggest": "#0072B2",
    "fallback": "#E69F00",
    "emergency": "#D55E00",
    "crisis": "#CC79A7",
    "card": "#56B4E9",
}
UP, DOWN = "#009E73", "#D55E00"
WIDTH = 640  # the SVG coordinate width; the charts scale to the screen
LABEL = 190  # room for topic names left of horizontal bars
TOP_TOPICS = 12
SAMPLES = 30  # unanswered groups and 👎 answers listed
TitleOf = Callable[[str | None], str]  # a topic's title from its id


@dataclass(frozen=True)
class Period:
    """The messages of one period, with the figures the report compares."""

    rows: list[MessageOutcome]

    @property
    def total(self) -> int:
        return len(self.rows)

    def share(self, *kinds: str) -> float:
        return sum(r.kind in kinds for r in self.rows) / self.total if self.rows else 0.0

    @property
    def helpful_share(self) -> float | None:
        votes = [r.helpful for r in self.rows if r.helpful is not None]
        return sum(votes) / len(votes) if votes else None


async def build_report(
    store: Store,
    days: int,
    titles: Mapping[str, str],
    now: float | None = None,
    notes: Sequence[str] = (),
) -> str:
    """The report of the last ``days`` days, compared with the ``days`` before them;
    ``notes`` are lines for staff about the content (e.g. unreviewed translations)."""
    now = time.time() if now is None else now
    cutoff = now - days * 86400
    rows = await store.outcomes(days * 2)
    current = Period([r for r in rows if r.at >= cutoff])
    previous = Period([r for r in rows if r.at < cutoff])
    unanswered = group_questions([q for q in await store.questions(days) if q.at >= cutoff])
    unhelpful = [q for q in await store.not_helpful(days) if q.at >= cutoff]
    today = dt.datetime.fromtimestamp(now, LOCAL_TIME).date()
    return render(current, previous, unanswered, unhelpful, titles, days, today, notes)


def render(
    current: Period,
    previous: Period,
    unanswered: list[Group],
    unhelpful: list[Question],
    titles: Mapping[str, str],
    days: int,
    today: dt.date,
    notes: Sequence[str] = (),
) -> str:
    def title(intent: str | None) -> str:
        return titles.get(intent or "", intent or "—")

    first = today - dt.timedelta(days=days - 1)
    sections = [
        _section("Compared with the previous period", _comparison(current, previous, days)),
        _section(
            "Questions per day by outcome",
            _legend() + _per_day(current.rows, first, today),
        ),
    ]
    answered = Counter(r.intent for r in current.rows if r.kind == "answer" and r.intent)
    top = answered.most_common(TOP_TOPICS)
    sections.append(
        _section(
            "Top topics (answered questions)",
            _hbars([(title(i), n, f"{n}") for i, n in top], COLOURS["answer"]) if top else _empty(),
        )
    )
    sections.append(_section("Answer rate per topic", _answer_rates(current.rows, title)))
    sections.append(
        _section("Was the answer helpful? Votes per topic", _feedback(current.rows, title))
    )
    sections.append(_section("Busiest hours (UK time)", _hours(current.rows)))
    sections.append(_section("Unanswered questions, similar ones grouped", _groups(unanswered)))
    sections.append(
        _section("Answers rated not helpful, with the question", _unhelpful(unhelpful, title))
    )
    if notes:
        items = "".join(f"<li>{escape(note)}</li>" for note in notes)
        sections.append(_section("For staff: content to check", f"<ul>{items}</ul>"))
    period = f"{first:%-d %b %Y} – {today:%-d %b %Y}"
    return PAGE.format(
        title=f"Community safety assistant: report, last {days} days",
        period=escape(period),
        total=current.total,
        body="\n".join(sections),
    )


# -- sections


def _section(heading: str, body: str) -> str:
    return f"<section><h2>{escape(heading)}</h2>\n{body}\n</section>"


def _empty(text: str = "Nothing in this period.") -> str:
    return f'<p class="empty">{escape(text)}</p>'


def _comparison(current: Period, previous: Period, days: int) -> str:
    def pct(value: float | None) -> str:
        return "—" if value is None else f"{value:.0%}"

    def change(now: float | None, before: float | None, points: bool) -> str:
        if now is None or before is None or (not points and not before):
            return "—"
        if points:
            return f"{(now - before) * 100:+.0f} pts"
        return f"{(now - before) / before:+.0%}"

    figures: list[tuple[str, float | None, float | None, bool, bool]] = [
        ("Messages", current.total, previous.total, False, False),
        ("Answered", current.share("answer"), previous.share("answer"), True, True),
        ("Did you mean", current.share("suggest"), previous.share("suggest"), True, True),
        ("Fallback", current.share("fallback"), previous.share("fallback"), True, True),
        (
            "Emergency or crisis",
            current.share("emergency", "crisis"),
            previous.share("emergency", "crisis"),
            True,
            True,
        ),
        ("Rated helpful (of votes)", current.helpful_share, previous.helpful_share, True, True),
    ]
    rows = []
    for name, now, before, is_share, points in figures:
        shown_now = pct(now) if is_share else f"{int(now or 0)}"
        shown_before = pct(before) if is_share else f"{int(before or 0)}"
        if not previous.total:
            shown_before, delta = "—", "—"
        else:
            delta = change(now, before, points)
        rows.append(
            f"<tr><th>{escape(name)}</th><td>{shown_now}</td><td>{shown_before}</td>"
            f"<td>{escape(delta)}</td></tr>"
        )
    return (
        f'<table class="figures"><thead><tr><th></th><th>last {days} days</th>'
        f"<th>{days} days before</th><th>change</th></tr></thead>"
        f"<tbody>{''.join(rows)}</tbody></table>"
    )


def _legend() -> str:
    items = "".join(
        f'<span><i style="background:{COLOURS[k]}"></i>{OUTCOME_NAMES[k]}</span>' for k in OUTCOMES
    )
    return f'<p class="legend">{items}</p>'


def _per_day(rows: Sequence[MessageOutcome], first: dt.date, last: dt.date) -> str:
    """A stacked column per day, outcomes stacked in the legend's order."""
    span = (last - first).days + 1
    counts: dict[dt.date, Counter[str]] = {
        first + dt.timedelta(days=n): Counter() for n in range(span)
    }
    for row in rows:
        day = dt.datetime.fromtimestamp(row.at, LOCAL_TIME).date()
        if day in counts:
            counts[day][row.kind] += 1
    peak = max((sum(c.values()) for c in counts.values()), default=0)
    if not peak:
        return _empty()
    height, left, bottom = 220, 34, 24
    plot_w, plot_h = WIDTH - left - 6, height - bottom - 10
    step = plot_w / span
    parts = _y_axis(peak, left, plot_h, 10)
    for n, (day, counter) in enumerate(sorted(counts.items())):
        x = left + n * step + step * 0.1
        y = 10.0 + plot_h
        for kind in OUTCOMES:
            if counter[kind]:
                h = counter[kind] / peak * plot_h
                y -= h
                parts.append(
                    f'<rect x="{x:.1f}" y="{y:.1f}" width="{step * 0.8:.1f}" height="{h:.1f}"'
                    f' fill="{COLOURS[kind]}"><title>{day:%a %-d %b}: {counter[kind]} '
                    f"{OUTCOME_NAMES[kind]}</title></rect>"
                )
        if span <= 14 or n % max(1, span // 10) == 0:
            parts.append(
                f'<text x="{x + step * 0.4:.1f}" y="{height - 6}" text-anchor="middle"'
                f' class="tick">{day:%-d %b}</text>'
            )
    return _svg(height, parts, "Questions per day, stacked by outcome")


def _y_axis(peak: int, left: int, plot_h: float, top: int) -> list[str]:
    parts = []
    for value in sorted({0, peak // 2, peak}):
        y = top + plot_h - value / peak * plot_h
        parts.append(
            f'<line x1="{left}" x2="{WIDTH - 6}" y1="{y:.1f}" y2="{y:.1f}" class="grid"/>'
            f'<text x="{left - 4}" y="{y + 4:.1f}" text-anchor="end" class="tick">{value}</text>'
        )
    return parts


def _hbars(items: Sequence[tuple[str, float, str]], colour: str, scale: float = 0.0) -> str:
    """Horizontal bars: (label, value, value as shown); ``scale`` is the full-width value."""
    if not items:
        return _empty()
    full: float = scale or max(value for _, value, _ in items) or 1.0
    row = 26
    parts = []
    for n, (label, value, shown) in enumerate(items):
        y = n * row + 4
        w = value / full * (WIDTH - LABEL - 60)
        parts.append(
            f'<text x="{LABEL - 8}" y="{y + 15}" text-anchor="end">{escape(_short(label))}'
            f"<title>{escape(label)}</title></text>"
            f'<rect x="{LABEL}" y="{y + 2}" width="{max(w, 1):.1f}" height="18" rx="2"'
            f' fill="{colour}"/>'
            f'<text x="{LABEL + w + 6:.1f}" y="{y + 15}">{escape(shown)}</text>'
        )
    return _svg(len(items) * row + 8, parts, "bar chart")


def _answer_rates(rows: Sequence[MessageOutcome], title: TitleOf) -> str:
    """Per topic: of the messages it scored best on, the share answered directly."""
    reached: Counter[str] = Counter()
    answered: Counter[str] = Counter()
    for row in rows:
        topic = row.intent if row.kind == "answer" else row.closest
        if topic and row.kind in ("answer", "suggest", "fallback"):
            reached[topic] += 1
            answered[topic] += row.kind == "answer"
    items = [
        (title(topic), answered[topic] / n, f"{answered[topic] / n:.0%} of {n}")
        for topic, n in reached.most_common(TOP_TOPICS)
    ]
    return _hbars(items, COLOURS["suggest"], scale=1.0)


def _feedback(rows: Sequence[MessageOutcome], title: TitleOf) -> str:
    """Helpful votes to the right, not helpful to the left of a centre line, per topic.
    Words, not emoji: a browser without an emoji font would show empty boxes."""
    votes: dict[str, Counter[int]] = {}
    for row in rows:
        if row.intent and row.helpful is not None:
            votes.setdefault(row.intent, Counter())[row.helpful] += 1
    if not votes:
        return _empty("No votes in this period.")
    ranked = sorted(votes.items(), key=lambda kv: -sum(kv[1].values()))[:TOP_TOPICS]
    most = max(max(c[0], c[1]) for _, c in ranked)
    centre, half, row_h = LABEL + (WIDTH - LABEL) / 2, (WIDTH - LABEL) / 2 - 30, 26
    bottom = len(ranked) * row_h + 4
    parts = [f'<line x1="{centre}" x2="{centre}" y1="0" y2="{bottom}" class="axis"/>']
    for n, (intent, count) in enumerate(ranked):
        y = n * row_h + 4
        up, down = count[1] / most * half, count[0] / most * half
        parts.append(
            f'<text x="{LABEL - 8}" y="{y + 15}" text-anchor="end">{escape(_short(title(intent)))}'
            f"<title>{escape(title(intent))}</title></text>"
            f'<rect x="{centre - down:.1f}" y="{y + 2}" width="{down:.1f}" height="18"'
            f' fill="{DOWN}"><title>{count[0]} not helpful</title></rect>'
            f'<rect x="{centre:.1f}" y="{y + 2}" width="{up:.1f}" height="18"'
            f' fill="{UP}"><title>{count[1]} helpful</title></rect>'
            f'<text x="{centre - down - 4:.1f}" y="{y + 15}" text-anchor="end">{count[0]} no</text>'
            f'<text x="{centre + up + 4:.1f}" y="{y + 15}">{count[1]} yes</text>'
        )
    return _svg(len(ranked) * row_h + 8, parts, "Helpful and not helpful votes per topic")


def _hours(rows: Sequence[MessageOutcome]) -> str:
    hours = Counter(dt.datetime.fromtimestamp(r.at, LOCAL_TIME).hour for r in rows)
    peak = max(hours.values(), default=0)
    if not peak:
        return _empty()
    height, left, bottom = 180, 34, 22
    plot_h, step = height - bottom - 10, (WIDTH - left - 6) / 24
    parts = _y_axis(peak, left, plot_h, 10)
    for hour in range(24):
        h = hours[hour] / peak * plot_h
        x = left + hour * step + step * 0.12
        parts.append(
            f'<rect x="{x:.1f}" y="{10 + plot_h - h:.1f}" width="{step * 0.76:.1f}"'
            f' height="{h:.1f}" fill="{COLOURS["suggest"]}">'
            f"<title>{hour:02d}:00–{hour:02d}:59: {hours[hour]}</title></rect>"
        )
        if hour % 3 == 0:
            parts.append(
                f'<text x="{x + step * 0.38:.1f}" y="{height - 6}" text-anchor="middle"'
                f' class="tick">{hour:02d}:00</text>'
            )
    return _svg(height, parts, "Messages by hour of the day, UK time")


def _groups(groups: Sequence[Group]) -> str:
    if not groups:
        return _empty("No unanswered questions in this period.")
    rows = "".join(
        f"<tr><td class=n>{g.count}</td><td>{escape(g.example.text)}</td>"
        f"<td>{escape(g.closest.most_common(1)[0][0] if g.closest else '—')}</td></tr>"
        for g in groups[:SAMPLES]
    )
    more = f"<p>… and {len(groups) - SAMPLES} more groups.</p>" if len(groups) > SAMPLES else ""
    return (
        "<table><thead><tr><th>asked</th><th>a sample (personal details removed)</th>"
        f"<th>closest topic</th></tr></thead><tbody>{rows}</tbody></table>{more}"
    )


def _unhelpful(questions: Sequence[Question], title: TitleOf) -> str:
    if not questions:
        return _empty("No answers were rated not helpful in this period.")

    def wanted(q: Question) -> str:
        if q.wanted is None:
            return "—"
        return "something else" if q.wanted == "-" else title(q.wanted)

    rows = "".join(
        f"<tr><td>{escape(q.text)}</td><td>{escape(title(q.intent))}</td>"
        f"<td>{escape(wanted(q))}</td></tr>"
        for q in questions[:SAMPLES]
    )
    return (
        "<table><thead><tr><th>question (personal details removed)</th><th>answer given</th>"
        f"<th>they were looking for</th></tr></thead><tbody>{rows}</tbody></table>"
    )


# -- drawing


def _short(label: str, limit: int = 28) -> str:
    return label if len(label) <= limit else label[: limit - 1] + "…"


def _svg(height: int, parts: list[str], label: str) -> str:
    return (
        f'<svg viewBox="0 0 {WIDTH} {height}" role="img" aria-label="{escape(label)}"'
        f' xmlns="http://www.w3.org/2000/svg">{"".join(parts)}</svg>'
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
  margin: 0 auto; max-width: 760px; padding: 12px 14px 40px; color: #1d1d1f;
  background: #fff; }}
header {{ border-bottom: 3px solid #0072B2; margin-bottom: 8px; }}
h1 {{ font-size: 1.35em; margin: .3em 0 .1em; }}
h2 {{ font-size: 1.08em; margin: 1.6em 0 .5em; }}
.meta {{ color: #555; margin: 0 0 .7em; }}
svg {{ width: 100%; height: auto; display: block; font-size: 12px; }}
svg text {{ fill: #1d1d1f; }}
svg .tick {{ fill: #555; font-size: 11px; }}
svg .grid {{ stroke: #e3e3e3; }}
svg .axis {{ stroke: #999; }}
table {{ border-collapse: collapse; width: 100%; font-size: .93em; }}
th, td {{ text-align: left; padding: 5px 6px; border-bottom: 1px solid #e3e3e3;
  vertical-align: top; }}
td.n, .figures td {{ text-align: right; font-variant-numeric: tabular-nums; }}
.legend span {{ margin-right: 12px; white-space: nowrap; }}
.legend i {{ display: inline-block; width: 11px; height: 11px; margin-right: 4px;
  border-radius: 2px; vertical-align: -1px; }}
.empty {{ color: #666; font-style: italic; }}
footer {{ margin-top: 2em; color: #666; font-size: .85em; }}
</style>
</head>
<body>
<header>
<h1>{title}</h1>
<p class="meta">{period} · {total} messages · times in UK time</p>
</header>
{body}
<footer>Made by the community safety assistant. Question text has phone numbers, emails,
postcodes and similar details removed; no names, usernames or ids are kept.</footer>
</body>
</html>
"""
