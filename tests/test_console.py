"""The terminal chat: closings, a stray number, empty input, a question log staff can
review, and content changes picked up while it runs."""

from __future__ import annotations

import asyncio
import dataclasses
import io
import logging
import sqlite3
import time
from collections.abc import Iterator

import pytest

from bot import console
from bot.app.assembly import open_store
from bot.app.assistant import Assistant
from bot.content.loading import load_content
from bot.entry import main
from bot.matching.engine import Engine
from bot.matching.live import LiveContent
from tests.conftest import CACHE
from tests.telegram_harness import SETTINGS


def chat(monkeypatch, capsys, database, *lines: str) -> str:
    monkeypatch.setattr("sys.stdin", io.StringIO("".join(f"{line}\n" for line in lines)))
    assert main(["chat", "--database", str(database)]) == 0
    return capsys.readouterr().out


def test_the_terminal_chat_logs_its_questions_for_review_but_not_in_residents_figures(
    monkeypatch, capsys, tmp_path
):
    """Staff try an edit in ./run chat, as the README says: review can be tried on those
    questions, but stats and the report count residents' channels (Telegram, the web chat)
    and give the terminal chat's count apart: staff's test questions inflated the topics."""
    from tests.test_admin import _database_with

    database = _database_with(tmp_path, ["parking fines in my street"]).path  # a resident's
    chat(monkeypatch, capsys, database, "can you book me a table for two", "beacon number", "quit")
    assert main(["review", "--database", str(database)]) == 0
    assert '"can you book me a table for two"' in capsys.readouterr().out
    assert main(["stats", "--database", str(database)]) == 0
    stats = capsys.readouterr().out
    assert "Messages in the last 30 days: 1\n" in stats
    assert "victim_support_beacon" not in stats  # staff's "beacon number" is no top topic
    assert "\nNot counted: 2 messages from the terminal chat (staff trying content)\n" in stats
    report = tmp_path / "report.html"
    assert main(["report", "--database", str(database), "-o", str(report)]) == 0
    assert (
        "1 message from residents (Telegram and the web chat); not counted: 2 messages from "
        "the terminal chat (staff trying content)"
    ) in report.read_text()
    with sqlite3.connect(database) as conn:
        users = [row[0] for row in conn.execute("SELECT user_key FROM messages ORDER BY id")]
    assert users[1:] == ["console", "console"]


@pytest.mark.parametrize("closing", ["bye", "goodbye", "see you later", "cya", "goodnight"])
def test_closings_get_a_short_friendly_reply(monkeypatch, capsys, tmp_path, closing):
    out = chat(monkeypatch, capsys, tmp_path / "bot.sqlite3", closing, "quit")
    reply = out.split("bot> ", 1)[1].split("\n\n", 1)[0]
    assert reply.startswith("You're welcome. Stay safe")
    assert "Did you mean" not in out and len(reply) < 120


def test_a_number_with_no_list_open_says_so_instead_of_asking_for_a_number(
    monkeypatch, capsys, tmp_path
):
    out = chat(monkeypatch, capsys, tmp_path / "bot.sqlite3", "1", "quit")
    assert "There's no list to choose from just now" in out
    assert "type a number" not in out and "Sorry, I don't have an answer" not in out


def test_topics_lists_the_groups_with_numbered_topics_to_pick_from(
    monkeypatch, capsys, tmp_path, engine
):
    groups = engine.content.menu.groups
    listed = [i for g in groups for i in g.intents]
    beacon = listed.index("victim_support_beacon") + 1
    out = chat(monkeypatch, capsys, tmp_path / "bot.sqlite3", "/topics", str(beacon), "quit")
    menu, answer = out.split("bot> ")[1:3]
    assert [
        line.strip() for line in menu.splitlines() if line.strip() in {g.title for g in groups}
    ] == [g.title for g in groups]
    assert f"  {beacon}. Support for victims of crime (Beacon)" in menu
    assert f"  {len(listed)}. " in menu and f"  {len(listed) + 1}. " not in menu
    assert "0300 011 55 55" in answer


def test_empty_or_spaces_only_input_is_asked_for_a_question_and_not_logged(
    monkeypatch, capsys, tmp_path
):
    database = tmp_path / "bot.sqlite3"
    out = chat(monkeypatch, capsys, database, "   ", "", "quit")
    replies = [part.split("\n\n", 1)[0] for part in out.split("bot> ")[1:]]
    assert len(replies) == 2
    assert all(reply.startswith("Type your question") for reply in replies)
    assert main(["review", "--database", str(database)]) == 0
    assert "No unanswered questions" in capsys.readouterr().out
    assert main(["stats", "--database", str(database)]) == 0
    assert "No messages in the last 30 days." in capsys.readouterr().out


def _edit_thanks_while_chatting(
    content_dir, encoder, tmp_path, capsys, caplog, broken: bool = False
) -> tuple[str, str]:
    """Ask, let staff edit the thanks answer, ask again once the edit is live (or 90 s
    have passed); the chat's output before and after the second question. ``broken``:
    folders nested too deep to list (reading the content raises) are there while the edit
    is made, and removed once the chat has said the reload failed."""
    content, _ = load_content(content_dir.intents, content_dir.knowledge)
    live = LiveContent(Engine(content, encoder, CACHE), content_dir.intents, content_dir.knowledge)
    settings = dataclasses.replace(
        SETTINGS,
        intents=content_dir.intents,
        knowledge=content_dir.knowledge,
        database=tmp_path / "bot.sqlite3",
        watch_content=True,
    )
    assistant = Assistant(settings, live, open_store(settings, content))
    first_engine = live.engine
    thanks = content_dir.intents / "thanks.yaml"

    def lines() -> Iterator[str]:
        yield "thank you very much"
        if broken:
            content_dir.nest_folders()
        thanks.write_text(thanks.read_text().replace("You're welcome.", "Glad to help!"))
        deadline = time.monotonic() + 90  # a reload retrains the models: slow on a busy machine
        while broken and "watcher failed" not in caplog.text and time.monotonic() < deadline:
            time.sleep(0.05)
        content_dir.remove_nested_folders()
        while live.engine is first_engine and time.monotonic() < deadline:
            time.sleep(0.05)
        yield "thank you very much"

    typed = lines()

    def read() -> str:
        line = next(typed, None)
        if line is None:
            raise EOFError
        return line

    async def talk() -> int:
        await assistant.store.open()
        try:
            return await console.chat(assistant, read, watch_every=0.1)
        finally:
            await assistant.store.close()

    assert asyncio.run(talk()) == 0
    before, after = capsys.readouterr().out.split("bot> ")[1:]
    return before, after


def test_the_terminal_chat_picks_up_changed_content_files_as_telegram_does(
    content_dir, encoder, tmp_path, capsys, caplog
):
    """Staff edit an answer and try it in the terminal chat they already have open; the
    content's many warnings of one kind are one line each, as validate shows them (each
    reload printed every language card's warning before the next prompt)."""
    content_dir.with_cards()
    before, after = _edit_thanks_while_chatting(content_dir, encoder, tmp_path, capsys, caplog)
    assert before.startswith("You're welcome.")
    assert "Content reloaded:" in before and " warnings.)" in before  # between the turns
    assert after.startswith("Glad to help!")
    warned = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert (
        "content: intents/_languages/ar.yaml:5: warning: 12 language cards await a fluent "
        "reviewer: ar, bg, bn, el, es, it, lt, pl, pt, ro, tr, ur (validate --verbose lists each)"
    ) in warned
    assert all(w.endswith("(validate --verbose lists each)") for w in warned)


def test_a_failed_reload_is_said_and_the_watcher_goes_on_to_the_fixed_content(
    content_dir, encoder, tmp_path, capsys, caplog
):
    """Reading the content raised (folders nested too deep to list): the watcher was a
    bare task that this ended for good, so the fixed content never went live in the chat."""
    before, after = _edit_thanks_while_chatting(
        content_dir, encoder, tmp_path, capsys, caplog, broken=True
    )
    assert "Content NOT reloaded: reading the files failed (RecursionError)" in before
    assert "the content watcher failed (RecursionError at " in caplog.text
    assert "Content reloaded:" in before
    assert after.startswith("Glad to help!")
