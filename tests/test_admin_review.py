"""Admins and staff: the HTML report, 👎 into the inbox, review buttons with a draft and
an audit trail, and the CSV round trip."""

from __future__ import annotations

import asyncio
import csv
import shutil
import struct
import subprocess
import zlib
from pathlib import Path

import numpy as np
import pytest

from bot.entry import main
from bot.telegram import messages
from bot.telegram.admin import ADMIN_PRIVATE_ONLY
from tests.fake_telegram import callback, message
from tests.telegram_harness import running_bot
from tests.test_telegram import ask

ADMIN, RESIDENT = 900, 48151623
UNANSWERED = "when is the bin collection in my street"


def _document(fake) -> str:
    (sent,) = fake.sent("sendDocument")
    ((name, content, mime),) = sent.files.values()
    assert name.endswith(".html") and mime == "text/html"
    return content.decode("utf-8")


async def test_report_is_one_html_file_for_admins_only_and_the_cli_writes_the_same(
    engine, tmp_path
):
    database = tmp_path / "bot.sqlite3"
    async with running_bot(engine, database=database, admin_ids=frozenset({ADMIN})) as (
        fake,
        _,
        _,
    ):
        for text in ("beacon number", "beacon phone", "he is hitting me", UNANSWERED):
            await ask(fake, message(RESIDENT, text))
        (answer,) = await ask(fake, message(RESIDENT, "how do I report fly tipping"))
        await ask(fake, callback(RESIDENT, "f:0", answer.message_id))  # asks what they wanted

        (refused,) = await ask(fake, message(RESIDENT, "/report"))
        assert refused.text == messages.UNKNOWN_COMMAND
        assert not fake.sent("sendDocument")

        fake.push(message(ADMIN, "/report 30"))
        await fake.wait_for(lambda: fake.sent("sendDocument"))
        page = _document(fake)
    assert page.count("<svg") >= 3
    assert UNANSWERED in page and "how do I report fly tipping" in page
    assert "Support for victims of crime (Beacon)" in page  # top topics by title
    assert "not yet reviewed by a fluent speaker" in page  # language cards to check
    for forbidden in ("<script", "http://", "https://", "@import", str(RESIDENT), "Resident"):
        assert forbidden not in page.replace('xmlns="http://www.w3.org/2000/svg"', "")

    out = tmp_path / "report.html"
    cli = ["report", "--days", "30", "-o", str(out), "--database", str(database)]
    assert await asyncio.to_thread(main, cli) == 0  # the CLI runs its own event loop
    assert out.read_text(encoding="utf-8") == page

    png = await asyncio.to_thread(_screenshot, out, tmp_path)
    pixels = _png_pixels(png)
    assert pixels.shape[0] > 1000  # the whole page, not an error page
    colours = {tuple(p) for p in pixels[::7, ::7].reshape(-1, pixels.shape[2])[:, :3]}
    assert len(colours) > 20  # text, five outcome colours, bars, anti-aliasing
    # the chart colours are drawn: answered (green) and emergency (vermilion)
    assert (0, 158, 115) in colours and (213, 94, 0) in colours


def _screenshot(page: Path, folder: Path) -> Path:
    chromium = shutil.which("chromium")
    assert chromium, (
        "headless Chromium is needed: apt-get install chromium (./test does when it may)"
    )
    png = folder / "report.png"
    subprocess.run(
        [
            chromium,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--no-first-run",
            f"--user-data-dir={folder / 'chromium-profile'}",
            "--hide-scrollbars",
            "--window-size=800,2600",
            f"--screenshot={png}",
            page.as_uri(),
        ],
        check=True,
        capture_output=True,
        timeout=120,
    )
    return png


def _png_pixels(path: Path) -> np.ndarray:
    """Decode an 8-bit RGB(A) PNG (what Chromium writes) into rows of pixels."""
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    pos, idat, width = 8, b"", 0
    while pos < len(data):
        length, kind = struct.unpack(">I4s", data[pos : pos + 8])
        body = data[pos + 8 : pos + 8 + length]
        if kind == b"IHDR":
            width, height, depth, colour = struct.unpack(">IIBB", body[:10])
            assert depth == 8 and colour in (2, 6)
            channels = 3 if colour == 2 else 4
        elif kind == b"IDAT":
            idat += body
        pos += 12 + length
    raw = zlib.decompress(idat)
    stride = width * channels
    rows = np.zeros((height, stride), dtype=np.int32)
    previous = np.zeros(stride, dtype=np.int32)
    for y in range(height):
        kind = raw[y * (stride + 1)]
        line = np.frombuffer(raw, np.uint8, stride, y * (stride + 1) + 1).astype(np.int32)
        if kind == 2:
            line = (line + previous) % 256
        elif kind in (1, 3, 4):
            out = line.copy()
            for x in range(stride):
                left = out[x - channels] if x >= channels else 0
                up, corner = previous[x], previous[x - channels] if x >= channels else 0
                if kind == 1:
                    guess = left
                elif kind == 3:
                    guess = (left + up) // 2
                else:
                    p = left + up - corner
                    pa, pb, pc = abs(p - left), abs(p - up), abs(p - corner)
                    guess = left if pa <= pb and pa <= pc else up if pb <= pc else corner
                out[x] = (out[x] + guess) % 256
            line = out
        rows[y] = line
        previous = line
    return rows.reshape(height, width, channels)


async def test_thumbs_down_asks_what_was_wanted_and_feeds_the_inbox(engine, database):
    admins = frozenset({ADMIN})
    async with running_bot(engine, admin_ids=admins, **database.settings()) as (fake, _, _):
        (liked,) = await ask(fake, message(RESIDENT, "beacon phone number"))
        await ask(fake, callback(RESIDENT, "f:1", liked.message_id), replies=0)
        (answer,) = await ask(fake, message(RESIDENT, "how do I report fly tipping"))
        (question,) = await ask(fake, callback(RESIDENT, "f:0", answer.message_id))
        assert question.text == messages.WHAT_WANTED
        buttons = dict(question.buttons)
        assert buttons["Something else"] == f"w:{answer.message_id}:-"
        crime = next(
            n for n, g in enumerate(engine.content.menu.groups) if "report_crime" in g.intents
        )
        fake.push(callback(RESIDENT, buttons[engine.content.menu.groups[crime].title], 0))
        await fake.wait_for(lambda: fake.sent("editMessageText"))
        (group,) = fake.sent("editMessageText")
        assert f"w:{answer.message_id}:report_crime" in dict(group.buttons).values()

        (given,) = await ask(fake, callback(RESIDENT, f"w:{answer.message_id}:report_crime", 0))
        assert given.text == engine.answer_for("report_crime").html

        report, *_ = await ask(fake, message(ADMIN, "/unanswered"), replies=2)
        assert "Answered, but not helpful (👎), 1 group:" in report.text
        assert '"how do I report fly tipping"' in report.text
        assert "answered: fly_tipping_report; wanted: report_crime" in report.text
        assert "beacon phone number" not in report.text  # a 👍 keeps no text


async def test_review_buttons_add_to_a_draft_that_only_publish_makes_live_all_audited(
    engine, content_dir, tmp_path
):
    dirs = {"intents": content_dir.intents, "knowledge": content_dir.knowledge}
    scope = content_dir.intents / "out_of_scope.yaml"
    live_before = scope.read_text()
    async with running_bot(engine, admin_ids=frozenset({ADMIN}), **dirs) as (fake, store, _):
        await ask(fake, message(RESIDENT, "what time does the tip open"))
        await ask(fake, message(RESIDENT, UNANSWERED))
        report, buttons = await ask(fake, message(ADMIN, "/unanswered"), replies=2)
        assert '1× "what time does the tip open" [#1]' in report.text
        by_data = {data: text for text, data in buttons.buttons}
        (tip_id,) = [d[3:] for d, t in by_data.items() if d.startswith("ra:") and "#1 " in t]
        assert f"ri:{tip_id}" in by_data

        # a resident cannot use an admin's buttons
        fake.push(callback(RESIDENT, f"rt:{tip_id}:out_of_scope", buttons.message_id))
        await fake.settle()
        assert not (store.path.parent / "draft").exists()

        (pages,) = await ask(fake, callback(ADMIN, f"ra:{tip_id}", buttons.message_id))
        groups = engine.content.menu.groups
        assert [t for t, _ in pages.buttons[:-1]] == [g.title for g in groups]
        other, data = pages.buttons[-1]  # the topics no menu shows, out_of_scope among them
        assert other.startswith("Not on the menus") and data == f"ra:{tip_id}:{len(groups)}"
        fake.push(callback(ADMIN, data, pages.message_id))
        await fake.wait_for(lambda: fake.sent("editMessageReplyMarkup"))
        (topics,) = fake.sent("editMessageReplyMarkup")
        assert f"rt:{tip_id}:out_of_scope" in dict(topics.buttons).values()
        assert topics.buttons[-1] == ("◀ All topics", f"ra:{tip_id}:-")
        answered = len(fake.sent("answerCallbackQuery"))
        fake.push(callback(ADMIN, f"ra:{tip_id}:99", pages.message_id))  # no such page
        await fake.wait_for(lambda: len(fake.sent("answerCallbackQuery")) > answered)
        assert fake.sent("answerCallbackQuery")[-1].params["text"] == messages.EXPIRED
        fake.push(callback(ADMIN, f"rt:{tip_id}:out_of_scope", pages.message_id))
        # adding validates the content twice: seconds on a busy machine
        await fake.wait_for(lambda: fake.sent("editMessageText"), timeout=30)
        assert "to out_of_scope in the draft" in fake.sent("editMessageText")[-1].text
        assert scope.read_text() == live_before  # not live yet
        draft = store.path.parent / "draft" / "intents" / "out_of_scope.yaml"
        # the example cites its question, so the resident's /forget can find it again
        assert draft.read_text().endswith(
            f"  - what time does the tip open  # from question #{tip_id}\n"
        )

        tip = next(d for d in by_data if d.startswith("ri:") and d != f"ri:{tip_id}")
        await ask(fake, callback(ADMIN, tip, buttons.message_id))
        (after,) = await ask(fake, message(ADMIN, "/unanswered"))
        assert "No unanswered questions" in after.text

        (done,) = await ask(fake, message(ADMIN, "/discard"))
        assert done.text == "Draft discarded."
        assert not draft.exists() and scope.read_text() == live_before
        (audit,) = await ask(fake, message(ADMIN, "/audit"))
    lines = audit.text.splitlines()
    assert lines[1].endswith(f"admin {ADMIN}: discard intents/out_of_scope.yaml")
    assert f"admin {ADMIN}: ignore #2 (1 question)" in lines[2]
    assert f"admin {ADMIN}: add-example #{tip_id} → out_of_scope (draft)" in lines[3]
    assert "tip open" not in audit.text  # the number, never the resident's words


@pytest.mark.parametrize("surface", ["command line", "Telegram button"])
async def test_review_add_from_either_surface_drafts_marks_the_group_and_audits(
    surface, engine, content_dir, tmp_path, capsys
):
    """One review policy: the example waits in the draft, the whole group of similar
    questions leaves the inbox, and the audit trail says who added what."""
    dirs = {"intents": content_dir.intents, "knowledge": content_dir.knowledge}
    scope = content_dir.intents / "out_of_scope.yaml"
    live_before = scope.read_text()
    database = tmp_path / "bot.sqlite3"
    admins = frozenset({ADMIN})
    async with running_bot(engine, database=database, admin_ids=admins, **dirs) as (fake, store, _):
        await ask(fake, message(RESIDENT, "what time does the tip open"))
        await ask(fake, message(RESIDENT, "what time does the tip open today"))
        report, buttons = await ask(fake, message(ADMIN, "/unanswered"), replies=2)
        assert '2× "what time does the tip open today" [#2]' in report.text
        if surface == "Telegram button":
            fake.push(callback(ADMIN, "rt:2:out_of_scope", buttons.message_id))
            await fake.wait_for(lambda: fake.sent("editMessageText"), timeout=30)
            said = fake.sent("editMessageText")[-1].text
        else:
            assert await store.flush(timeout=10)
            flags = ["--database", str(database), "--intents", str(content_dir.intents)]
            flags += ["--knowledge", str(content_dir.knowledge)]
            review = ["review", "add", "2", "out_of_scope", *flags]
            assert await asyncio.to_thread(main, review) == 0
            said = capsys.readouterr().out
        assert "to out_of_scope in the draft (2 questions reviewed)" in said
        (after,) = await ask(fake, message(ADMIN, "/unanswered"))
        assert "No unanswered questions" in after.text
        (audit,) = await ask(fake, message(ADMIN, "/audit"))
    draft = tmp_path / "draft" / "intents" / "out_of_scope.yaml"
    assert draft.read_text().endswith("  - what time does the tip open today  # from question #2\n")
    assert scope.read_text() == live_before  # live only once published
    assert "add-example #2 → out_of_scope (draft)" in audit.text
    assert "tip open" not in audit.text  # the number, never the resident's words


def test_cli_publish_checks_the_draft_shows_the_changes_and_makes_it_live(
    content_dir, tmp_path, capsys
):
    from bot.content.drafts import Draft

    database = tmp_path / "bot.sqlite3"
    from tests.test_admin import _database_with

    _database_with(tmp_path, ["what time does the tip open"])
    flags = ["--database", str(database), "--intents", str(content_dir.intents)]
    flags += ["--knowledge", str(content_dir.knowledge)]
    draft = Draft(tmp_path / "draft", content_dir.intents, content_dir.knowledge)
    draft.add_example("thanks", "cheers pal you are a legend")
    thanks = content_dir.intents / "thanks.yaml"
    assert "legend" not in thanks.read_text()

    assert main(["publish", "--folds", "2", *flags]) == 0
    out = capsys.readouterr().out
    assert "Files changed: intents/thanks.yaml" in out
    assert "Accuracy (cross-validated): " in out and " → " in out
    assert "Published: the draft is live." in out
    assert thanks.read_text().endswith("  - cheers pal you are a legend\n")
    assert not draft.exists
    assert main(["audit", "--database", str(database)]) == 0
    assert "staff (command line): publish intents/thanks.yaml; accuracy" in capsys.readouterr().out


def test_csv_export_then_import_without_edits_leaves_every_yaml_file_byte_identical(
    content_dir, tmp_path, capsys
):
    flags = ["--intents", str(content_dir.intents), "--knowledge", str(content_dir.knowledge)]
    before = {p: p.read_bytes() for p in content_dir.root.rglob("*.yaml")}
    assert main(["export-csv", str(tmp_path / "csv"), *flags]) == 0
    topics = (tmp_path / "csv" / "topics.csv").read_bytes()
    assert topics.startswith(b"\xef\xbb\xbfid,title,answer,keywords,example\r\n")
    assert main(["import-csv", str(tmp_path / "csv"), *flags]) == 0
    assert "0 files changed" in capsys.readouterr().out
    assert {p: p.read_bytes() for p in content_dir.root.rglob("*.yaml")} == before


def _edit_csv(path: Path, change) -> None:
    with path.open(encoding="utf-8-sig", newline="") as handle:
        rows = list(csv.reader(handle))
    change(rows)
    with path.open("w", encoding="utf-8-sig", newline="") as handle:
        csv.writer(handle).writerows(rows)


def test_csv_import_applies_edits_keeping_comments_and_refuses_any_error(
    content_dir, tmp_path, capsys
):
    flags = ["--intents", str(content_dir.intents), "--knowledge", str(content_dir.knowledge)]
    thanks = content_dir.intents / "thanks.yaml"
    thanks.write_text("# Staff: keep these friendly\n" + thanks.read_text())
    folder = tmp_path / "csv"
    assert main(["export-csv", str(folder), *flags]) == 0
    before = {p: p.read_bytes() for p in content_dir.root.rglob("*.yaml")}

    added_at = []

    def bad(rows):
        rows.append(["no_such_topic", "", "", "", "an example"])
        added_at.append(len(rows))  # the spreadsheet's row number (the header is row 1)
        first = next(r for r in rows if r[0] == "thanks" and r[1])
        first[1] = "Saying thanks"

    _edit_csv(folder / "topics.csv", bad)
    assert main(["import-csv", str(folder), *flags]) == 1
    err = capsys.readouterr().err
    assert f"topics.csv row {added_at[0]}: the first row of topic 'no_such_topic'" in err
    assert "Import refused" in err
    assert {p: p.read_bytes() for p in content_dir.root.rglob("*.yaml")} == before

    _edit_csv(folder / "topics.csv", lambda rows: rows.pop())  # the bad row goes
    _edit_csv(
        folder / "topics.csv",
        lambda rows: rows.insert(
            [i for i, r in enumerate(rows) if r[0] == "thanks"][-1] + 1,
            ["thanks", "", "", "", "ta very much"],
        ),
    )
    _edit_csv(
        folder / "facts.csv",
        lambda rows: next(r for r in rows if r[1:3] == ["beacon", "phone"]).__setitem__(
            3, "0300 011 55 56"
        ),
    )
    assert main(["import-csv", str(folder), *flags]) == 0
    text = thanks.read_text()
    assert text.startswith("# Staff: keep these friendly\n") and "title: Saying thanks\n" in text
    assert text.endswith("  - ta very much\n")
    changed = {p for p in before if p.read_bytes() != before[p]}
    assert {p.name for p in changed} == {"thanks.yaml", "support.yaml"}
    assert "0300 011 55 56" in (content_dir.knowledge / "support.yaml").read_text()
    assert main(["validate", *flags]) == 0


def test_csv_rows_with_misplaced_titles_are_refused_with_their_row_number(
    content_dir, tmp_path, capsys
):
    flags = ["--intents", str(content_dir.intents), "--knowledge", str(content_dir.knowledge)]
    folder = tmp_path / "csv"
    assert main(["export-csv", str(folder), *flags]) == 0

    def misplace(rows):
        index = [i for i, r in enumerate(rows) if r[0] == "thanks"][1]
        rows[index][2] = "a second answer"

    _edit_csv(folder / "topics.csv", misplace)
    assert main(["import-csv", str(folder), *flags]) == 1
    err = capsys.readouterr().err
    assert "topics.csv row " in err and "belong on its first row" in err


def test_a_draft_that_lowers_safety_below_a_floor_is_held_back_and_one_that_keeps_it_is_not():
    from bot.matching.publishing import PublishCheck

    live = {"danger_led_by_999": 0.968, "danger_false_alarm_rate": 0.01, "crisis_recall": 0.9}
    same = dict(live, danger_led_by_999=0.966)  # a quick check's noise, both under 97%
    worse = dict(live, danger_led_by_999=0.95, crisis_recall=0.8)
    assert PublishCheck([], live, same).ok
    refused = PublishCheck([], live, worse)
    assert not refused.ok
    assert refused.summary(["intents/thanks.yaml"]).endswith(
        "NOT published: the draft misses the safety floors:\n"
        "  danger now led by 999 95.0% (must be at least 97%)\n"
        "  crisis recall 80.0% (must be at least 85%)"
    )


def test_publish_says_plainly_when_it_accepts_a_figure_below_its_floor_and_why():
    """The reviewer's case: 97.1% → 96.9% then "Published", with nothing saying that 96.9%
    is under the 97% floor and was let through as noise."""
    from bot.matching.publishing import PublishCheck

    live = {"danger_led_by_999": 0.971, "danger_false_alarm_rate": 0.02, "crisis_recall": 0.9}
    draft = dict(live, danger_led_by_999=0.969, danger_false_alarm_rate=0.031)
    check = PublishCheck([], live, draft)
    assert check.ok  # the rule itself is unchanged: within 1.5 points of live
    summary = check.summary(["intents/thanks.yaml"])
    assert "Danger now led by 999: 97.1% → 96.9%" in summary
    assert summary.endswith(
        "Below a safety floor, but within noise of the live content:\n"
        "  danger now led by 999 96.9% (must be at least 97%): accepted, because the live "
        "content scores 97.1% on the same folds, and a draft at most 1.5 points worse than "
        "live is within cross-validation's noise\n"
        "  false alarms 3.1% (must be at most 3%): accepted, because the live content scores "
        "2.0% on the same folds, and a draft at most 1.5 points worse than live is within "
        "cross-validation's noise"
    )
    # 1.6 points worse than live: held back, whatever the live figure
    assert not PublishCheck([], live, dict(live, danger_led_by_999=0.955)).ok


async def test_an_admins_review_button_in_a_group_never_posts_a_residents_question_there(
    engine, content_dir
):
    """A forged press on a message in a group, by an admin: refused like the admin commands
    (the replies quote the resident's question), and nothing is reviewed."""
    group = -100987
    dirs = {"intents": content_dir.intents, "knowledge": content_dir.knowledge}
    async with running_bot(engine, admin_ids=frozenset({ADMIN}), **dirs) as (fake, store, _):
        await ask(fake, message(RESIDENT, UNANSWERED))
        assert await store.flush()
        (question,) = await store.questions(days=1)
        for data in (f"ra:{question.id}", f"rt:{question.id}:out_of_scope", f"ri:{question.id}"):
            fake.push(callback(ADMIN, data, 5, chat_type="supergroup", chat_id=group))
        await fake.wait_for(lambda: len(fake.sent("answerCallbackQuery")) == 3)
        await fake.settle()
        assert [c.params.get("text") for c in fake.sent("answerCallbackQuery")] == [
            ADMIN_PRIVATE_ONLY
        ] * 3
        assert not fake.sent(chat_id=group) and not fake.sent("editMessageText")
        assert not (store.path.parent / "draft").exists()
        # still waiting for review, and a normal question is answered and logged
        assert [q.id for q in await store.questions(days=1)] == [question.id]
        (answer,) = await ask(fake, message(RESIDENT, "beacon phone number"))
        assert "0300 011 55 55" in answer.text
        assert await store.flush()
        assert len(await store.outcomes(days=1)) == 2
