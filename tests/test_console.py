"""The terminal chat: closings, a stray number, and a question log staff can review."""

from __future__ import annotations

import io
import sqlite3

import pytest

from bot.entry import main


def chat(monkeypatch, capsys, database, *lines: str) -> str:
    monkeypatch.setattr("sys.stdin", io.StringIO("".join(f"{line}\n" for line in lines)))
    assert main(["chat", "--database", str(database)]) == 0
    return capsys.readouterr().out


def test_the_terminal_chat_logs_its_questions_for_review_marked_as_the_console(
    monkeypatch, capsys, tmp_path
):
    database = tmp_path / "bot.sqlite3"
    chat(monkeypatch, capsys, database, "can you book me a table for two", "beacon number", "quit")
    assert main(["review", "--database", str(database)]) == 0
    assert '"can you book me a table for two"' in capsys.readouterr().out
    assert main(["stats", "--database", str(database)]) == 0
    assert "Messages in the last 30 days: 2" in capsys.readouterr().out
    with sqlite3.connect(database) as conn:
        users = {row[0] for row in conn.execute("SELECT user_key FROM messages")}
    assert users == {"console"}


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
