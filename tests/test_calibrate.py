"""calibrate proposes a finite answer threshold, or says why the cases cannot give one."""

from __future__ import annotations

import json
import math
import re

import pytest

from bot.entry import main
from bot.matching.evaluation import CalibrationError, Case, calibrate_answer_threshold

INF = math.inf


def case(expect: str) -> Case:
    return Case("a question", frozenset({expect}))


@pytest.mark.parametrize(
    ("out_of_scope", "expected"),
    [
        # All turned away by the out-of-scope topic (as with our dev set): just below the
        # lowest right answer, not halfway to minus infinity.
        ([("none", -INF), ("none", -INF)], 0.15),
        # One reached topic matching: halfway between it and the lowest right answer.
        ([("none", -INF), ("beacon", -0.9)], -0.35),
    ],
)
def test_cases_decided_by_the_safety_check_or_the_out_of_scope_topic_give_a_finite_threshold(
    out_of_scope, expected
):
    # What the engine gives: emergencies +inf, the out-of-scope topic -inf, topics a score.
    scored = [
        (case("emergency"), "emergency", INF),
        *((case("none"), label, score) for label, score in out_of_scope),
        (case("beacon"), "beacon", 0.2),
        (case("beacon"), "beacon", 0.8),
        (case("custody"), "custody", 1.4),
    ]
    result = calibrate_answer_threshold(scored, max_in_scope_loss=0.0)
    assert result["answer_threshold"] == pytest.approx(expected)
    assert result["in_scope_accuracy"] == result["in_scope_accuracy_without_threshold"] == 1.0
    assert result["out_of_scope_recall"] == 1.0


def test_cases_with_no_topic_score_are_refused_with_the_reason():
    scored = [(case("emergency"), "emergency", INF), (case("crisis"), "crisis", INF)]
    with pytest.raises(CalibrationError, match="no case reached topic matching"):
        calibrate_answer_threshold(scored)


def test_the_command_proposes_a_number_for_content_like_ours(tmp_path, capsys):
    cases = tmp_path / "cases.jsonl"
    rows = [
        ("beacon number", "victim_support_beacon"),
        ("how do I report fly tipping", "fly_tipping_report|report_crime"),
        ("he is hitting me right now", "emergency"),
        ("what is the weather tomorrow", "none"),
        ("who won the football", "none"),
    ]
    cases.write_text("".join(json.dumps({"text": t, "expect": e}) + "\n" for t, e in rows))
    assert main(["calibrate", str(cases)]) == 0
    out = capsys.readouterr().out
    proposal = json.loads(out[: out.rindex("}") + 1])
    assert math.isfinite(proposal["answer_threshold"])
    assert "inf" not in out.lower() and "nan" not in out.lower()
    assert f"'thresholds: answer: {proposal['answer_threshold']}'" in out


def test_the_command_says_why_when_the_cases_cannot_support_a_threshold(tmp_path, capsys):
    cases = tmp_path / "cases.jsonl"
    cases.write_text('{"text": "he is hitting me right now", "expect": "emergency"}\n')
    assert main(["calibrate", str(cases)]) == 2
    captured = capsys.readouterr()
    assert "Set 'thresholds" not in captured.out
    assert "no case reached topic matching" in captured.err


@pytest.mark.parametrize("value", ["-inf", "-.inf", ".nan", "inf"])
def test_validate_rejects_a_threshold_that_is_not_a_finite_number(content_dir, value):
    path = content_dir.intents / "_matching.yaml"
    text, replaced = re.subn(r"(?m)^  answer: \S+", f"  answer: {value}", path.read_text(), count=1)
    assert replaced == 1
    path.write_text(text)
    assert any(
        f"thresholds.answer '{value}' must be a number" in problem
        for problem in content_dir.problems()
    )


def test_a_negative_nearest_weight_is_refused_on_its_line(content_dir):
    """Below 0 it would reward a question for being unlike every example."""
    path = content_dir.intents / "_matching.yaml"
    text, replaced = re.subn(r"(?m)^nearest_weight: \S+", "nearest_weight: -1", path.read_text())
    assert replaced == 1
    path.write_text(text)
    line = next(n for n, row in enumerate(text.splitlines(), 1) if row.startswith("nearest_weight"))
    assert f"intents/_matching.yaml:{line}: nearest_weight must not be below 0" in (
        content_dir.problems()
    )
