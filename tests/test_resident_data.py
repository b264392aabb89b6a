"""The whole run's log check (tests/resident_data.py) finds what a fake sent, by kind, and
only that: a check that never fires, or fires on every id-like number, protects nobody."""

from tests.fake_telegram import callback, message
from tests.resident_data import ResidentData


def sent(*updates: dict) -> ResidentData:
    data = ResidentData()
    for update in updates:
        data.update(update)
    return data


def kinds(data: ResidentData, line: str) -> list[str]:
    data.check(line, "logger 'x'")
    found = [leak.kind for leak in data.leaks]
    data.leaks.clear()
    return found


def test_text_names_usernames_and_ids_a_resident_sent_are_leaks_when_logged():
    update = message(7301234, "someone keeps trying car doors on our road")
    update["message"]["from"] |= {"last_name": "Okonkwo-Smith", "username": "night_owl_77"}
    data = sent(update, message(7305555, "hi", chat_type="group", chat_id=-1009876543))
    assert kinds(data, "question: someone keeps trying car doors on our road") == ["message text"]
    assert kinds(data, "from Okonkwo-Smith") == ["name or username"]
    assert kinds(data, "user @night_owl_77 blocked the bot") == ["name or username"]
    assert kinds(data, "update for user 7301234 failed") == ["user or chat id"]
    assert kinds(data, "sent to chat -1009876543") == ["user or chat id"]
    assert kinds(data, "7301234 wrote: someone keeps trying car doors on our road") == [
        "user or chat id",
        "message text",
    ]


def test_what_the_bot_itself_logs_about_residents_is_not_a_leak():
    data = sent(
        message(7301234, "beacon number"),
        callback(7309999, "t:victim_support_beacon", message_id=5, text="Our answer text"),
    )
    assert data.ids == {7301234, 7309999}
    for line in (
        "reply answer for id:3fa9c2e1b07d (intent victim_support_beacon)",
        "short texts and commands are not registered: hi /start",
        "an id inside other digits or hex is not one: 173012345 0x7301234af",
        "the bot's own message under a button is not theirs: Our answer text",
        "[resident] asked something",
    ):
        assert kinds(data, line) == [], line


def test_a_bot_process_log_is_read_at_every_level_from_where_it_was_left(tmp_path):
    data = sent(message(7301234, "my neighbour's dog bit me"))
    log = tmp_path / "bot.log"
    log.write_text(
        "2026-01-01 10:00:00,001 DEBUG telegram.ext.Application: my neighbour's dog bit me\n"
        "2026-01-01 10:00:00,002 ERROR telegram.ext.Application: error handling an update\n"
        "Traceback (most recent call last):\n"
        "ValueError: user 7301234\n"
    )
    data.watch(log)
    assert data.take_leaks() == [
        "the bot process's telegram.ext.Application (bot.log) logged a resident's message "
        "text before the first test",
        "the bot process's telegram.ext.Application (bot.log) logged a resident's user or chat "
        "id before the first test",
    ]
    with log.open("a") as more:
        more.write("2026-01-01 10:00:01,000 INFO bot.x: answered my neighbour's dog bit me\n")
    data.when = "during test_y"
    assert data.take_leaks() == [
        "the bot process's bot.x (bot.log) logged a resident's message text during test_y"
    ]
    assert data.take_leaks() == []  # each line is read once


def test_the_runs_own_lines_are_checked_at_debug_too():
    """The suite's root logger is at DEBUG (conftest.py), and its check reads DEBUG lines."""
    import logging

    from tests.resident_data import RESIDENT_DATA, LeakCheck

    assert logging.getLogger().getEffectiveLevel() == logging.DEBUG
    (check,) = [h for h in logging.getLogger().handlers if isinstance(h, LeakCheck)]
    assert check.level == logging.DEBUG
    RESIDENT_DATA.update(message(7302468, "a van with no plates parks on our verge"))
    logging.getLogger("tests.debug").debug("a van with no plates parks on our verge")
    assert RESIDENT_DATA.take_leaks(RESIDENT_DATA.when) == [
        "logger 'tests.debug' logged a resident's message text " + RESIDENT_DATA.when
    ]
