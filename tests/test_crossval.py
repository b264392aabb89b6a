"""Safety floors, measured the only honest way: on messages the model did not train on."""

from __future__ import annotations

import dataclasses

from bot.content.safety import SafetyCorpus, SafetyLabel
from bot.entry import main
from bot.matching.crossval import cross_validate
from bot.matching.publishing import CRISIS_FLOOR, DANGER_LED_BY_999_FLOOR, FALSE_ALARM_CEILING
from tests.conftest import project_content


def test_cross_validated_safety_check_meets_its_floors(encoder):
    figures = cross_validate(project_content(), encoder, folds=5)
    report = {k: figures[k] for k in figures if k.startswith(("danger", "crisis"))}
    assert figures["danger_led_by_999"] >= DANGER_LED_BY_999_FLOOR, report
    assert figures["danger_false_alarm_rate"] <= FALSE_ALARM_CEILING, report
    assert figures["crisis_recall"] >= CRISIS_FLOOR, report
    assert figures["safety_cases"]["danger_now"] >= 400 and figures["safety_cases"]["crisis"] >= 150


def test_eval_cv_prints_per_topic_scores_and_the_safety_figures(capsys, tmp_path):
    cases = tmp_path / "cases.jsonl"
    cases.write_text('{"text": "beacon numbr", "expect": "victim_support_beacon"}\n')
    assert main(["eval", "--cv", "2", str(cases)]) == 0
    out = capsys.readouterr().out
    assert "2-fold cross-validation" in out and "1 case" in out
    assert "victim_support_beacon" in out and "precision" in out
    assert "danger now -> emergency reply:" in out and "false alarms" in out


def test_folds_trained_in_parallel_give_the_same_figures(encoder):
    content = project_content()
    few = dict(sorted(content.intents.items())[:6])
    safety = SafetyCorpus(
        {label: content.safety.of(label)[:40] for label in SafetyLabel}, content.safety.places
    )
    small = dataclasses.replace(content, intents=few, safety=safety)
    alone = cross_validate(small, encoder, folds=3)
    forked = cross_validate(small, encoder, folds=3, workers=2)
    assert forked == alone
    assert alone["safety_cases"]["danger_now"] > 0 and alone["per_topic"]
