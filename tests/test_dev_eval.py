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
    labelled = tmp_path / "labelled.jsonl"  # alternate lines: each half has both kinds
    labelled.write_text(
        "".join(
            json.dumps({"text": t, "expect": e}) + "\n"
            for t, e in [
                ("how much money is in my account", "balance"),
                ("will it rain tomorrow", "weather"),
                ("play jazz music", "none"),
                ("book me a table for two", "none"),
            ]
        )
    )
    args = ["--train", str(train), "--labelled", str(labelled), "--rate", "100", "--json"]
    assert main([*args, "--encoders", "today,int8"]) == 0
    today, int8 = map(json.loads, capsys.readouterr().out.splitlines())
    assert (today["encoder"], int8["encoder"]) == ("today", "int8")
    assert today["in_scope"] == int8["in_scope"] == 1.0
    assert len(int8["thresholds"]) == 2  # calibrated on each half, measured on the other
    assert {"median_ms", "p99_ms", "unique_per_second", "peak_mb"} <= set(int8)
