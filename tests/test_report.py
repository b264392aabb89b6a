"""The admins' HTML report: what it shows from a real question log (numbers to review,
topic titles, correct refusals apart from gaps, emergency apart from crisis, per-topic
trends, escaped resident text), and how it lays out in Chromium at phone and desktop width."""

from __future__ import annotations

import datetime as dt
import itertools
import random
import shutil
import sqlite3
from html.parser import HTMLParser
from pathlib import Path

import pytest
from playwright.async_api import async_playwright

from bot.matching.reply import Candidate, Reply, ReplyKind
from bot.storage.html_report import Findings, Period, build_report, render
from bot.storage.redact import Redactor
from bot.storage.reports import LOCAL_TIME, group_questions
from bot.storage.sqlite import SqliteStore
from bot.storage.store import MessageOutcome, Question
from tests.conftest import project_content

DOCS = Path(__file__).resolve().parents[1] / "docs"
TITLES = {i.id: i.title for i in project_content().intents.values()}
DAY = 86400
GAPS = "We should answer these: unanswered questions, similar ones grouped"
REFUSALS = "Out of scope, answered correctly"
TRENDS = "Answered questions per topic, this period and the one before"
HOSTILE = '<script>alert("x")</script> & <b>bold</b> lost property'


def reply(text: str, kind: ReplyKind, intent: str | None = None, closest: str = "") -> Reply:
    ranked = (Candidate(closest or intent or "report_crime", 0.3),)
    return Reply(question=text, kind=kind, intent=intent, confidence=0.3, ranked=ranked)


# (reply, how many, days ago): a week now and the week before it
LOG = [
    (reply("beacon number", ReplyKind.ANSWER, "victim_support_beacon"), 5, 1),
    (reply("beacon number", ReplyKind.ANSWER, "victim_support_beacon"), 2, 9),
    (reply("report a burglary", ReplyKind.ANSWER, "report_crime"), 3, 2),
    (reply("report a burglary", ReplyKind.ANSWER, "report_crime"), 6, 10),
    (reply("fly tipping in my lane", ReplyKind.ANSWER, "fly_tipping_report"), 2, 1),
    (reply("someone scammed me online", ReplyKind.FALLBACK, closest="report_crime"), 2, 1),
    (reply(HOSTILE, ReplyKind.FALLBACK, closest="report_crime"), 1, 1),
    (reply("what is the weather tomorrow", ReplyKind.FALLBACK, "out_of_scope"), 1, 2),
    (reply("   ", ReplyKind.FALLBACK), 1, 1),
    (reply("👍👍", ReplyKind.FALLBACK, closest="thanks"), 1, 1),
    (reply("🙏 !", ReplyKind.FALLBACK, closest="thanks"), 1, 1),
    (reply("he is hitting me", ReplyKind.EMERGENCY, "emergency"), 2, 1),
    (reply("I want to end it all", ReplyKind.CRISIS, "crisis"), 1, 3),
]


@pytest.fixture
async def page(tmp_path: Path, engine) -> str:
    """The 7-day report of a question log filled through the store (and the engine, for
    an out-of-scope question), some of it moved into the week before."""
    path = tmp_path / "bot.sqlite3"
    store = SqliteStore(path, "k" * 32, Redactor())
    await store.open()
    ages: list[int] = []
    for n, (logged, times, age) in enumerate(LOG):
        for m in range(times):
            await store.log_message(1000 + n, logged, reply_ref=100 * n + m)
            ages.append(age)
    passport = engine.respond("who won the football last night")
    assert (passport.kind, passport.intent) == (ReplyKind.FALLBACK, "out_of_scope")
    await store.log_message(2000, passport, reply_ref=1)
    ages.append(0)
    await store.flush()
    with sqlite3.connect(path) as conn:  # each message on its day
        conn.executemany(
            "UPDATE messages SET at = at - ? WHERE id = ?",
            [(age * DAY, n + 1) for n, age in enumerate(ages)],
        )
    try:
        # the store keeps the refusing intent with the question, for the report to read
        kept = {q.text: q.intent for q in await store.questions(30)}
        assert kept["who won the football last night"] == "out_of_scope"
        assert kept["someone scammed me online"] is None
        return await build_report(store, 7, TITLES)
    finally:
        await store.close()


class Tables(HTMLParser):
    """Each section's table rows as lists of cell text, by the section's heading."""

    def __init__(self, page: str) -> None:
        super().__init__()
        self.sections: dict[str, list[list[str]]] = {}
        self._heading: str | None = None
        self._in: str | None = None
        self._text = ""
        self.feed(page)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "h2":
            self._in, self._text = "h2", ""
        elif tag == "tr" and self._heading:
            self.sections[self._heading].append([])
        elif tag in ("td", "th"):
            self._in, self._text = "cell", ""

    def handle_endtag(self, tag: str) -> None:
        if tag == "h2":
            self._heading, self._in = self._text, None
            self.sections[self._heading] = []
        elif tag in ("td", "th") and self._heading:
            self.sections[self._heading][-1].append(self._text.strip())
            self._in = None

    def handle_data(self, data: str) -> None:
        if self._in:
            self._text += data


async def test_unanswered_rows_have_their_number_and_topic_title_and_no_blank_or_emoji(page):
    rows = Tables(page).sections[GAPS][1:]
    numbers = [row[0] for row in rows]
    assert all(n.startswith("#") and n[1:].isdigit() for n in numbers), numbers
    scam = next(row for row in rows if row[2] == "someone scammed me online")
    assert scam[1] == "2"  # asked twice, one group
    assert scam[0] == "#20"  # the latest of the two (after 18 answers): `review add 20 …`
    assert scam[3] == TITLES["report_crime"]  # the title, not the id
    assert "report_crime" not in page.split(GAPS)[1]
    assert {row[2] for row in rows} == {"someone scammed me online", HOSTILE}  # no 👍, 🙏, blank


async def test_correct_refusals_are_listed_apart_from_the_gaps(page):
    tables = Tables(page).sections
    refused = {row[2]: row[3] for row in tables[REFUSALS][1:]}
    assert refused == {
        "who won the football last night": TITLES["out_of_scope"],
        "what is the weather tomorrow": TITLES["out_of_scope"],
    }
    assert not {row[2] for row in tables[GAPS][1:]} & set(refused)
    figures = {row[0]: row[1] for row in tables["Compared with the previous period"][1:]}
    assert figures["Out of scope"] == "2 (10%)"
    assert figures["No answer"] == "6 (29%)"  # blank and emoji messages are counted here


async def test_emergency_and_crisis_are_counted_apart(page):
    figures = {
        row[0]: row[1:] for row in Tables(page).sections["Compared with the previous period"]
    }
    assert figures["Messages"] == ["21", "8", "+162%"]
    assert figures["Emergency"] == ["2 (10%)", "0 (0%)", "+10 pts"]
    assert figures["Crisis"] == ["1 (5%)", "0 (0%)", "+5 pts"]


async def test_each_topic_is_compared_with_the_period_before(page):
    rows = Tables(page).sections[TRENDS]
    assert rows[0] == ["topic", "last 7 days", "7 days before", "change"]
    assert rows[1:] == [
        [TITLES["victim_support_beacon"], "5", "2", "+3 (+150%)"],
        [TITLES["report_crime"], "3", "6", "-3 (-50%)"],
        [TITLES["fly_tipping_report"], "2", "0", "new"],
    ]


async def test_resident_text_is_escaped(page):
    assert "<script" not in page and "<b>bold" not in page
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; &lt;b&gt;bold" in page


# -- in Chromium

ASKED_UNANSWERED = [
    "lost property at the station",
    "someone scammed me on facebook marketplace",
    "how do i get a crime reference number",
    "my neighbours are noisy every night",
    "can I see the police station front counter opening hours",
    "is www.marketplace.example/item/1234567890123456789012345678 a scam",  # one long word
]
ASKED_OUT_OF_SCOPE = ["when are the bins collected", "who won the football last night", "weather?"]


def _findings(today: dt.date, days: int = 30) -> Findings:
    """A busy month and the one before it, made up but shaped like the real thing."""
    chance = random.Random(20)
    topics = [t for t in TITLES if t not in ("out_of_scope", "emergency", "crisis")]
    end = dt.datetime.combine(today, dt.time(23, 59), LOCAL_TIME).timestamp()
    rows, questions = [], []
    for n in range(2400):
        at = int(end - chance.random() * 2 * days * DAY)
        at -= int((chance.random() < 0.4) * ((at // 3600) % 24 < 8) * 9 * 3600)  # days busier
        kind = chance.choices(
            ["answer", "suggest", "refused", "fallback", "emergency", "crisis", "card"],
            [60, 10, 12, 10, 3, 2, 3],
        )[0]
        topic = chance.choice(topics[: 12 if n % 2 else 30])
        intent = topic if kind == "answer" else "out_of_scope" if kind == "refused" else None
        kind = "fallback" if kind == "refused" else kind
        helpful = chance.choice([None, None, 1, 1, 0]) if kind == "answer" else None
        rows.append(MessageOutcome(at, kind, intent, helpful, topic))
        if kind == "fallback" and n % 5 == 0:
            text = chance.choice(ASKED_OUT_OF_SCOPE if intent else ASKED_UNANSWERED)
            questions.append(Question(n, at, kind, text, topic, 0.3, intent))
    # one topic always answered, with the longest title: its label and "100% of 120"
    rows += [
        MessageOutcome(int(end) - k * 20000, "answer", "volunteer_scrutiny_panel", 1)
        for k in range(120)
    ]
    cutoff = end - days * DAY
    questions.sort(key=lambda q: -q.id)
    return Findings(
        current=Period([r for r in rows if r.at >= cutoff]),
        previous=Period([r for r in rows if r.at < cutoff]),
        gaps=group_questions([q for q in questions if q.intent is None]),
        refusals=group_questions([q for q in questions if q.intent]),
        unhelpful=[Question(5, int(end), "answer", HOSTILE, None, None, "report_crime", "-")],
    )


# For every piece of text on the page: its size as shown, whether its box is cut off, and
# (column charts' SVG) whether it lies inside its chart and apart from its neighbours.
MEASURE = r"""() => {
  const found = [];
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  while (walker.nextNode()) {
    const node = walker.currentNode;
    const el = node.parentElement;
    if (!node.textContent.trim() || !el.getClientRects().length) continue;  // not shown
    const style = getComputedStyle(el);
    const svg = el.closest('svg');
    const scale = svg ? svg.getScreenCTM().a : 1;
    const box = el.getBoundingClientRect();
    let cut = false;
    if (svg) {
      const frame = svg.getBoundingClientRect();
      cut = box.left < frame.left - 0.5 || box.right > frame.right + 0.5;
    } else {
      for (let e = el; e && e !== document.body; e = e.parentElement) {
        if (e.scrollWidth > e.clientWidth + 1 && getComputedStyle(e).overflowX !== 'visible') {
          cut = true;
        }
      }
      cut = cut || el.scrollWidth > el.clientWidth + 1 && style.display !== 'inline';
    }
    let broken = false;  // a word split over two lines (resident text may be, in td.q)
    for (const word of svg || el.closest('td.q') ? [] : node.textContent.matchAll(/\S+/g)) {
      const range = document.createRange();
      range.setStart(node, word.index);
      range.setEnd(node, word.index + word[0].length);
      broken = broken || range.getClientRects().length > 1;
    }
    found.push({text: node.textContent.trim(), size: parseFloat(style.fontSize) * scale,
                cut, broken, svg: !!svg, left: box.left, right: box.right, top: box.top});
  }
  return {found, page: document.documentElement.scrollWidth,
          view: document.documentElement.clientWidth};
}"""


@pytest.mark.parametrize("width", [390, 1280])
async def test_the_report_in_chromium_shows_every_label_whole_and_readable(width, tmp_path):
    today = dt.date(2026, 11, 30)
    report = tmp_path / "report.html"
    report.write_text(render(_findings(today), TITLES, 30, today), encoding="utf-8")
    async with async_playwright() as driver:
        browser = await driver.chromium.launch(
            executable_path=_chromium(), args=["--no-sandbox", "--disable-gpu"]
        )
        try:
            view = await browser.new_page(viewport={"width": width, "height": 900})
            await view.goto(report.as_uri())
            measured = await view.evaluate(MEASURE)
            png = await view.screenshot(full_page=True)
        finally:
            await browser.close()
    assert measured["page"] <= measured["view"], "the page scrolls sideways"
    texts = measured["found"]
    assert not [t["text"] for t in texts if t["cut"]], "labels cut off"
    assert not [t["text"] for t in texts if t["broken"]], "words broken over two lines"
    assert not [(t["text"], t["size"]) for t in texts if t["size"] < 12], "labels under 12 px"
    shown = {t["text"] for t in texts}
    assert "100% of 120" in shown  # the scrutiny panel: every one answered
    assert TITLES["volunteer_scrutiny_panel"] in shown  # its full name, 52 characters
    ticks = sorted((t for t in texts if t["svg"]), key=lambda t: (t["top"], t["left"]))
    for a, b in itertools.pairwise(ticks):
        assert a["top"] != b["top"] or a["right"] + 2 <= b["left"], (a["text"], b["text"])
    _keep(DOCS / f"report-{width}.png", png)


def _chromium() -> str:
    found = shutil.which("chromium")
    assert found, "headless Chromium is needed: apt-get install chromium (./test does when it may)"
    return found


def _keep(path: Path, png: bytes) -> None:
    """The screenshot for the docs, rewritten only when it changed."""
    if not path.exists() or path.read_bytes() != png:
        path.write_bytes(png)
