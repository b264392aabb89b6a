"""The labelled resident questions in ../shared/eval/dev.jsonl must meet the targets."""

import json

import pytest

from bot.matching.evaluation import evaluate, read_cases
from tests.conftest import SHARED

DEV = SHARED / "eval" / "dev.jsonl"


@pytest.mark.skipif(not DEV.exists(), reason="../shared/eval/dev.jsonl is not beside the project")
def test_dev_set_meets_the_accuracy_targets(engine):
    figures = evaluate(read_cases(DEV), engine.respond)
    report = json.dumps({k: figures[k] for k in ("accuracy", "errors")}, indent=1)
    assert figures["accuracy"] >= 0.95, report
    assert figures["emergency_recall"] == 1.0, report
    assert figures["out_of_scope_recall"] >= 0.90, report


def test_benchmark_script_runs_end_to_end_on_a_small_data_set(tmp_path, capsys):
    from benchmarks.clinc150 import main

    rows = {
        "balance": ["what is my balance", "how much money do i have", "check my account balance"],
        "weather": ["is it going to rain", "weather forecast today", "will it be sunny"],
    }
    train = tmp_path / "train.jsonl"
    train.write_text(
        "".join(
            json.dumps({"text": t, "expect": k}) + "\n" for k, texts in rows.items() for t in texts
        )
    )
    test = tmp_path / "test.jsonl"
    test.write_text(
        json.dumps({"text": "how much money is in my account", "expect": "balance"})
        + "\n"
        + json.dumps({"text": "play jazz music", "expect": "none"})
        + "\n"
    )
    assert (
        main(["--train", str(train), "--calibrate", str(test), "--test", str(test), "--json"]) == 0
    )
    result = json.loads(capsys.readouterr().out)
    assert result["intents"] == 2 and result["in_scope_accuracy"] == 1.0
    assert {"median_ms", "p99_ms", "build_seconds", "peak_memory_mb"} <= set(result)
