"""Admins (Telegram) and staff (command line): reports, reload, review."""

from __future__ import annotations

import asyncio
import csv
import logging

from bot.content.loading import load_content
from bot.entry import main
from bot.matching.engine import Engine
from bot.matching.live import LiveContent
from bot.matching.reply import Reply, ReplyKind
from bot.storage.redact import Redactor
from bot.storage.sqlite import SqliteStore
from bot.telegram import messages
from tests.conftest import CACHE
from tests.fake_telegram import message
from tests.telegram_harness import running_bot
from tests.test_telegram import ask

ADMIN, RESIDENT = 900, 901


async def test_admin_commands_are_refused_to_non_admins_like_unknown_commands(engine, caplog):
    caplog.set_level(logging.WARNING)
    async with running_bot(engine, admin_ids=frozenset({ADMIN})) as (fake, _, _):
        for command in ("/stats", "/unanswered", "/why beacon", "/reload"):
            (reply,) = await ask(fake, message(RESIDENT, command))
            assert reply.text == messages.UNKNOWN_COMMAND
        assert caplog.text.count("refused: user is not in ADMIN_IDS") == 4


async def test_admin_reports_are_never_posted_in_a_group(engine):
    from bot.telegram.admin import ADMIN_PRIVATE_ONLY

    async with running_bot(engine, admin_ids=frozenset({ADMIN})) as (fake, _, _):
        await ask(fake, message(RESIDENT, "when is the bin collection"))
        group = {"chat_type": "supergroup", "chat_id": -77}
        (reply,) = await ask(fake, message(ADMIN, "/unanswered", **group))
        assert reply.text == ADMIN_PRIVATE_ONLY
        assert "bin collection" not in reply.text


async def test_only_admins_get_the_admin_command_menu(engine):
    async with running_bot(engine, admin_ids=frozenset({ADMIN})) as (fake, _, _):
        scoped = [c for c in fake.sent("setMyCommands") if "scope" in c.params]
        (menu,) = scoped
        assert menu.params["scope"] == {"type": "chat", "chat_id": ADMIN}
        assert "stats" in [c["command"] for c in menu.params["commands"]]
        (default,) = [c for c in fake.sent("setMyCommands") if "scope" not in c.params]
        assert "stats" not in [c["command"] for c in default.params["commands"]]


async def test_unanswered_groups_similar_questions_most_frequent_first(engine, database):
    admins = frozenset({ADMIN})
    async with running_bot(engine, admin_ids=admins, **database.settings()) as (fake, _, _):
        for text in (
            "when is my bin collection",
            "when is the bin collection day",
            "bin collection when",
            "what time does the garden centre close on sunday",
        ):
            await ask(fake, message(RESIDENT, text))
        report, _buttons = await ask(fake, message(ADMIN, "/unanswered 7"), replies=2)
        lines = report.text.splitlines()
        assert lines[0] == "Unanswered questions, last 7 days (2 groups):"
        assert lines[1].startswith('3× "bin collection when"')
        assert "closest:" in lines[1]
        assert lines[2].startswith('1× "what time does the garden centre close on sunday"')


async def test_stats_show_shares_top_topics_feedback_and_hours(engine, database):
    admins = frozenset({ADMIN})
    async with running_bot(engine, admin_ids=admins, **database.settings()) as (fake, _, _):
        for text in ("beacon number", "beacon phone", "he is hitting me", "when is bin day"):
            await ask(fake, message(RESIDENT, text))
        (report,) = await ask(fake, message(ADMIN, "/stats"))
        assert "Messages in the last 7 days: 4" in report.text
        assert "answer 50% · suggest 0% · fallback 25% · emergency 25%" in report.text
        assert "victim_support_beacon: 2" in report.text
        assert "Busiest hours (UK time)" in report.text


async def test_why_shows_scores_the_nearest_example_and_the_deciding_threshold(engine):
    async with running_bot(engine, admin_ids=frozenset({ADMIN})) as (fake, _, _):
        (report,) = await ask(fake, message(ADMIN, "/why beacon numbr"))
        assert "Outcome: answer → victim_support_beacon" in report.text
        assert "Decided by: score " in report.text
        assert f">= answer {engine.thresholds.answer}" in report.text
        assert 'nearest example: "beacon contact number"' in report.text
        assert len([ln for ln in report.text.splitlines() if ln.count(": ") and "." in ln]) >= 3


async def test_reload_with_a_syntax_error_keeps_the_old_answers_and_reports_the_line(
    content_dir, engine
):
    live = LiveContent(engine, content_dir.intents, content_dir.knowledge)
    async with running_bot(engine, live=live, admin_ids=frozenset({ADMIN})) as (fake, _, _):
        beacon = content_dir.intents / "victim_support_beacon.yaml"
        beacon.write_text(beacon.read_text().replace("keywords:", "keywords\n  oops: [", 1))
        # Reading every file again takes seconds on a busy 2-core machine.
        (report,) = await ask(fake, message(ADMIN, "/reload"), timeout=60)
        assert report.text.startswith("Content NOT reloaded: 1 error;")
        # The line missing its ':' (YAML notices on the line after it).
        assert "intents/victim_support_beacon.yaml:4: 'keywords' has no ':'" in report.text
        (reply,) = await ask(fake, message(RESIDENT, "beacon number"))
        assert "0300 011 55 55" in reply.text


async def test_changed_files_go_live_without_a_restart_and_admins_are_told(content_dir, encoder):
    content, _ = load_content(content_dir.intents, content_dir.knowledge)
    engine = Engine(content, encoder, CACHE)  # as the bot runs: the cache makes reloads quick
    live = LiveContent(engine, content_dir.intents, content_dir.knowledge)
    async with running_bot(engine, live=live, admin_ids=frozenset({ADMIN}), watch_content=True) as (
        fake,
        _,
        _,
    ):
        thanks = content_dir.intents / "thanks.yaml"
        thanks.write_text(thanks.read_text().replace("You're welcome.", "Glad to help!"))
        # a reload retrains the models: on a busy 2-core machine that can take tens of seconds
        await fake.wait_for(lambda: fake.sent(chat_id=ADMIN), timeout=60)
        assert fake.sent(chat_id=ADMIN)[0].text.startswith("Content reloaded:")
        (reply,) = await ask(fake, message(RESIDENT, "thank you very much"))
        assert reply.text.startswith("Glad to help!")


def _database_with(tmp_path, texts: list[str]) -> SqliteStore:
    """A question log holding these unanswered questions, as the bot would have logged them."""
    store = SqliteStore(tmp_path / "bot.sqlite3", "k" * 32, Redactor())

    async def fill() -> None:
        await store.open()
        for n, text in enumerate(texts):
            await store.log_message(
                n, Reply(question=text, kind=ReplyKind.FALLBACK, intent=None, confidence=-1.0), n
            )
        await store.close()

    asyncio.run(fill())
    return store


def test_review_lists_exports_adds_and_ignores(tmp_path, content_dir, capsys):
    store = _database_with(
        tmp_path, ["cheers mate you are a legend", "cheers you are a legend", "parking fines"]
    )
    db = ["--database", str(store.path)]
    dirs = ["--intents", str(content_dir.intents), "--knowledge", str(content_dir.knowledge)]
    assert main(["review", *db, "--csv", str(tmp_path / "out.csv")]) == 0
    out = capsys.readouterr().out
    assert '2× "cheers you are a legend" [#2]' in out
    rows = list(csv.DictReader((tmp_path / "out.csv").open()))
    assert [r["count"] for r in rows] == ["2", "1"]

    thanks = content_dir.intents / "thanks.yaml"
    before = "# Staff comment: keep these friendly\n" + thanks.read_text()
    thanks.write_text(before)
    assert main(["review", "add", "2", "thanks", *db, *dirs]) == 0
    assert "in the draft (2 questions reviewed)" in capsys.readouterr().out
    assert thanks.read_text() == before  # live only once published
    draft = tmp_path / "draft" / "intents" / "thanks.yaml"
    assert draft.read_text() == before + "  - cheers you are a legend  # from question #2\n"

    assert main(["review", "ignore", "3", *db]) == 0
    assert capsys.readouterr().out == "Ignored group #3 (1 question).\n"  # not "1 questions"
    assert main(["review", *db]) == 0
    out = capsys.readouterr().out
    assert "No unanswered questions" in out  # the whole group went with #2


def test_review_add_of_one_question_says_what_to_run_next_as_staff_run_it(
    tmp_path, content_dir, capsys
):
    """Staff follow the README's ./run: 'python -m bot publish' does not work outside
    .venv, and one question is not '1 questions'."""
    store = _database_with(tmp_path, ["cheers you are a legend"])
    db = ["--database", str(store.path)]
    dirs = ["--intents", str(content_dir.intents), "--knowledge", str(content_dir.knowledge)]
    assert main(["review", "add", "1", "thanks", *db, *dirs]) == 0
    assert capsys.readouterr().out == (
        'Added "cheers you are a legend" to thanks in the draft (1 question reviewed). Run '
        "'./run publish' to check it and make it live, or './run discard' to drop the draft.\n"
    )
    assert main(["review", "--days", "1", *db]) == 0
    assert capsys.readouterr().out == "No unanswered questions in the last 1 day.\n"
    assert main(["stats", "--days", "1", *db, *dirs]) == 0
    assert capsys.readouterr().out.startswith("Messages in the last 1 day: 1\n")
    assert main(["audit", *db]) == 0
    assert capsys.readouterr().out.startswith("Last 1 change (newest first):\n")


def test_review_add_refuses_an_unknown_intent_and_leaves_files_alone(tmp_path, content_dir, capsys):
    store = _database_with(tmp_path, ["some question"])
    before = {str(p): p.read_text() for p in content_dir.intents.rglob("*.yaml")}
    code = main(
        [
            "review",
            "add",
            "1",
            "no_such_intent",
            "--database",
            str(store.path),
            "--intents",
            str(content_dir.intents),
            "--knowledge",
            str(content_dir.knowledge),
        ]
    )
    assert code == 1
    assert "no intent 'no_such_intent'" in capsys.readouterr().err
    assert before == {str(p): p.read_text() for p in content_dir.intents.rglob("*.yaml")}


def test_stats_command_prints_the_same_figures(tmp_path, capsys):
    store = _database_with(tmp_path, ["a", "b"])
    assert main(["stats", "--database", str(store.path)]) == 0
    out = capsys.readouterr().out
    assert "Messages in the last 30 days: 2" in out and "fallback 100%" in out
