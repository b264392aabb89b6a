"""The staff command line: ask (one message, JSON, or one JSON line per input line), eval."""

import io
import json
import os
import shutil
import subprocess
from pathlib import Path

from bot.entry import main
from tests.conftest import DEFAULTS
from tests.questions import AMBIGUOUS, ambiguous_other

PROJECT = Path(__file__).resolve().parents[1]


def test_ask_prints_the_reply_as_plain_text(capsys):
    assert main(["ask", "beacon", "numbr"]) == 0
    out = capsys.readouterr().out
    assert "0300 011 55 55" in out and "<b>" not in out


def test_ask_json_has_the_documented_fields(capsys):
    assert main(["ask", "--json", "how do I report fly tipping"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert set(result) == {
        "text",
        "kind",
        "intent",
        "confidence",
        "suggestions",
        "reply",
        "language",
    }
    assert result["kind"] == "answer" and result["intent"] == "fly_tipping_report"
    assert result["language"] == "en"


def test_ask_without_text_answers_each_input_line_as_json(capsys, monkeypatch):
    monkeypatch.setattr("sys.stdin", io.StringIO("beacon number\nwhat is the weather\n\n"))
    assert main(["ask"]) == 0
    rows = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [r["kind"] for r in rows] == ["answer", "fallback", "fallback"]


def test_eval_json_reports_the_figures(tmp_path, capsys):
    cases = tmp_path / "cases.jsonl"
    cases.write_text(
        '{"text": "beacon number", "expect": "victim_support_beacon"}\n'
        '{"text": "he is hitting me", "expect": "emergency"}\n'
        '{"text": "what is the weather", "expect": "none"}\n'
        '{"text": "how do I report fly tipping", "expect": "report_crime|fly_tipping_report"}\n'
        '{"text": "beacon number", "expect": "custody"}\n'
    )
    assert main(["eval", str(cases), "--json"]) == 0
    figures = json.loads(capsys.readouterr().out)
    assert figures["accuracy"] == 0.8
    assert figures["emergency_recall"] == 1.0 and figures["out_of_scope_recall"] == 1.0
    assert figures["confusions"] == [
        {"expected": "custody", "got": "victim_support_beacon", "count": 1}
    ]


def test_eval_scores_route_cases_by_what_the_reply_names(tmp_path, capsys):
    cases = tmp_path / "routes.jsonl"
    rows = [
        # Right: the Beacon number is in the answer.
        {"text": "beacon numbr", "kind": "everyday", "topic": "victims", "any": ["0300 011 55 55"]},
        # Wrong: the answer is Beacon's, but it never names this route.
        {"text": "beacon number", "kind": "everyday", "topic": "victims", "any": ["Crimestoppers"]},
        # Right: danger now needs the emergency reply.
        {"text": "he is hitting me right now", "kind": "danger", "topic": "danger", "any": ["999"]},
        # Wrong: the fallback names 999, but an everyday question needs an answer.
        {"text": "whats the capital of france", "kind": "everyday", "topic": "x", "any": ["999"]},
        # Right: not the police's job, but the reply names the body that fixes it.
        {
            "text": "pothole in our road",
            "kind": "everyday",
            "topic": "roads",
            "any": ["county council"],
        },
        # Right: out of scope to its writer, but a topic's answer names who helps.
        {"text": "pothole", "kind": "out_of_scope", "topic": "roads", "any": ["county council"]},
        # Wrong: the fallback, but it does not name the route.
        {"text": "whats the capital of france", "kind": "out_of_scope", "any": ["Ofsted"]},
    ]
    cases.write_text("".join(json.dumps(row) + "\n" for row in rows))
    assert main(["eval", str(cases), "--json"]) == 0
    figures = json.loads(capsys.readouterr().out)
    assert (figures["right"], figures["cases"]) == (4, 7)
    assert figures["by_kind"]["danger"] == {"cases": 1, "right": 1}
    assert figures["by_kind"]["out_of_scope"] == {"cases": 2, "right": 1}
    assert figures["outcomes_when_wrong"] == {
        "everyday -> answer": 1,
        "everyday -> fallback": 1,
        "out_of_scope -> fallback": 1,
    }


def test_a_broken_cases_file_is_reported_with_its_line(tmp_path, capsys):
    cases = tmp_path / "cases.jsonl"
    cases.write_text('{"text": "ok", "expect": "none"}\nnot json\n')
    assert main(["eval", str(cases)]) == 2
    assert f"{cases}:2: not a" in capsys.readouterr().err


def test_the_terminal_chat_answers_and_lets_you_pick_a_suggestion(capsys, monkeypatch, tmp_path):
    monkeypatch.setattr("sys.stdin", io.StringIO(f"beacon numbr\n{AMBIGUOUS}\n1\n/topics\nquit\n"))
    assert main(["chat", "--database", str(tmp_path / "bot.sqlite3")]) == 0
    out = capsys.readouterr().out
    assert "0300 011 55 55" in out and "<b>" not in out
    shown, chosen = out.split("It may be one of these:", 1)
    other, number = ambiguous_other(shown.split("0300 011 55 55", 1)[1])  # shown at once
    assert chosen.lstrip().startswith(f"1. {other}")
    assert number in chosen  # the other topic, chosen by number
    assert "What I can help with (type a number" in out  # /topics: the groups


def test_run_reads_relative_paths_from_where_staff_run_it(tmp_path):
    """A member of staff checking a copy of the content: ./run validate --intents intents."""
    shutil.copytree(DEFAULTS.intents, tmp_path / "intents")
    shutil.copytree(DEFAULTS.knowledge, tmp_path / "knowledge")
    beacon = tmp_path / "intents" / "victim_support_beacon.yaml"
    beacon.write_text(
        beacon.read_text().replace("  - beacon contact number\n", "  - beacon: contact number\n")
    )
    result = subprocess.run(
        [str(PROJECT / "run"), "validate", "--intents", "intents", "--knowledge", "knowledge"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 1
    assert "victim_support_beacon.yaml:" in result.stdout
    assert "an item of examples must be text" in result.stdout


def test_staff_commands_say_in_one_line_when_the_database_cannot_be_reached(capsys):
    from tests.postgres_server import free_port

    env = {"DATABASE_URL": f"postgresql://bot@127.0.0.1:{free_port()}/bot", "HASH_SECRET": "s" * 32}
    for command in (["stats"], ["review"]):
        assert main(command, env=env) == 1
        err = capsys.readouterr().err
        assert (
            err.startswith("error: the question log cannot be read now") and "Traceback" not in err
        )


def test_eval_reads_a_burst_of_messages_as_a_chat_does(tmp_path, capsys):
    cases = tmp_path / "bursts.jsonl"
    rows = [
        # Right: no message alone is danger now, the three together are.
        {
            "messages": ["my ex turned up", "he wont go away", "the kids are upstairs"],
            "kind": "danger",
            "topic": "burst",
            "any": ["999"],
        },
        # Right: an everyday burst keeps its own answer, with no 999 reply.
        {
            "messages": ["lost my wallet", "think it was on the bus"],
            "kind": "everyday",
            "topic": "lost",
            "any": ["lost"],
        },
    ]
    cases.write_text("".join(json.dumps(row) + "\n" for row in rows))
    assert main(["eval", str(cases), "--json"]) == 0
    figures = json.loads(capsys.readouterr().out)
    assert figures["by_kind"] == {
        "danger": {"cases": 1, "right": 1},
        "everyday": {"cases": 1, "right": 1},
    }
    assert figures["false_emergencies"] == 0


def test_eval_tallies_hard_negatives_apart(tmp_path, capsys):
    """Alarming words that are not danger now are scored on their own: no 999 reply."""
    cases = tmp_path / "hard.jsonl"
    rows = [
        {
            "text": "i was punched outside a pub last month",
            "kind": "everyday",
            "hard": True,
            "topic": "past",
            "any": ["101"],
        },
        {
            "text": "my mum will kill me, i lost my phone on the bus",
            "kind": "everyday",
            "hard": True,
            "topic": "figure",
            "any": ["lost"],
        },
        {"text": "lost my wallet", "kind": "everyday", "topic": "lost", "any": ["lost"]},
    ]
    cases.write_text("".join(json.dumps(row) + "\n" for row in rows))
    assert main(["eval", str(cases)]) == 0
    report = capsys.readouterr().out
    assert "hard negatives given the right route: 2 of 2 (100.0%)" in report
    assert "hard negatives with no 999 reply or line: 2 of 2" in report
    assert "emergency replies to calm messages (everyday, out of scope): 0 of 3" in report


def test_eval_refuses_a_hard_negative_marked_on_a_danger_line(tmp_path, capsys):
    cases = tmp_path / "bad.jsonl"
    row = {"text": "he has a knife", "kind": "danger", "hard": True, "any": ["999"]}
    cases.write_text(json.dumps(row) + "\n")
    assert main(["eval", str(cases)]) == 2
    assert f"{cases}:1:" in capsys.readouterr().err


def test_ask_names_the_council_of_a_town_in_the_question(capsys):
    """What `ask` prints is what a resident gets on any channel, place notes included."""
    assert main(["ask", "fly tipping in royston"]) == 0
    assert "North Herts Council" in capsys.readouterr().out


def test_ask_piped_into_a_reader_that_stops_early_prints_no_error():
    """`./run ask "..." | head -1`: a reader that stops early is not an error, and the
    terminal shows no 'Broken pipe'. Here the reader has gone before the reply is written."""
    read_end, write_end = os.pipe()
    os.close(read_end)
    try:
        result = subprocess.run(
            [str(PROJECT / "run"), "ask", "my bike was stolen from the station"],
            stdout=write_end,
            stderr=subprocess.PIPE,
            text=True,
            timeout=300,
        )
    finally:
        os.close(write_end)
    assert "Broken pipe" not in result.stderr and "error" not in result.stderr.lower()
