import dataclasses
import json
import re

import pytest

from bot.content.loading import load_content
from bot.matching.engine import Engine
from bot.matching.evaluation import outcome_label
from bot.matching.reply import ReplyKind
from tests.questions import AMBIGUOUS

BAD_INPUT = [
    "",
    "   \n\t ",
    "🚓🚓🚓",
    "x" * 10_000,
    "beacon " * 2_000,
    "\u0000\u0007\u200b\u200e\ufeff",
    "<script>alert(1)</script> & <b>beacon</b> number",
    "مرحبا كيف حالك",
    "\ud83d",  # a lone surrogate, as broken clients can send
]


def test_every_intent_answers_its_own_examples(engine):
    wrong = []
    for intent in engine.intents.values():
        for example in intent.examples:
            label = outcome_label(engine.respond(example))
            expected = {"emergency": "emergency", "fallback": "none"}.get(
                intent.outcome.value, intent.id
            )
            if label != expected:
                wrong.append(f"{intent.id}: {example!r} -> {label}")
    assert not wrong, "\n".join(wrong)


def test_a_clear_question_gets_an_answer_with_the_right_facts(engine):
    reply = engine.respond("beacon numbr")
    assert reply.kind is ReplyKind.ANSWER
    assert reply.intent == "victim_support_beacon"
    assert "0300 011 55 55" in reply.html
    assert "info@hertfordshirebeacon.org" in reply.html


def test_typos_word_order_and_slang_still_match(engine):
    assert engine.respond("how do i reprot flytipping").intent == "fly_tipping_report"
    assert engine.respond("fly tipping report how").intent == "fly_tipping_report"
    assert engine.respond("the cops non emergency numbr").intent == "report_crime"


def test_a_long_story_is_answered_by_the_question_at_its_end(engine):
    # Residents tell the background first and ask last; past the first 1,000 characters
    # the question used to be unread, and the reply was the fallback.
    story = (
        "We moved to the village about six years ago and it has always been lovely. "
        "My husband walks the dog along the lane every morning and evening, and we know "
        "most of the neighbours by name. The lane runs between two fields down to the "
        "old farm, and in summer the children from the school ride their bikes there. "
    ) * 4
    question = (
        "Anyway, this week someone has tipped a whole van load of rubble, old carpets "
        "and a broken fridge across the lane by the gate. Who do I report the fly "
        "tipping to?"
    )
    text = story + question
    assert len(story) > 1000
    reply = engine.respond(text)
    assert reply.kind in (ReplyKind.ANSWER, ReplyKind.SUGGEST)
    assert reply.intent == "fly_tipping_report"


def test_an_unrelated_question_falls_back_with_101_and_999(engine):
    reply = engine.respond("what time does the garden centre close on sunday")
    assert reply.kind is ReplyKind.FALLBACK
    assert "<b>101</b>" in reply.html and "<b>999</b>" in reply.html


def test_an_out_of_scope_topic_replies_with_who_can_help(content_dir, encoder, tmp_path):
    content_dir.write(
        "intents/bee_swarm_elsewhere.yaml",
        """
        id: bee_swarm_elsewhere
        title: Bee swarms are for a beekeeper
        outcome: fallback
        menu: false
        checked: 2026-12-05
        answer: A swarm of honey bees is collected by a local beekeeper, not the police.
        examples:
          - swarm of bees in my garden
          - bees swarming on the fence who comes
          - theres a big clump of bees on my tree
          - honey bees nesting in the hedge
          - who removes a bee swarm
          - load of bees settled on my car
        """,
    )
    content, _ = load_content(content_dir.intents, content_dir.knowledge)
    engine = Engine(content, encoder, tmp_path / "cache")
    swarm = engine.respond("a swarm of bees has landed on our shed")
    assert (swarm.kind, swarm.intent) == (ReplyKind.FALLBACK, "bee_swarm_elsewhere")
    assert "local beekeeper" in swarm.html
    general = engine.respond("what time does the garden centre close on sunday")
    assert general.kind is ReplyKind.FALLBACK and "beekeeper" not in general.html


def test_an_unsure_match_shows_the_likeliest_answer_and_offers_the_others(engine):
    # "complaint help": complaining about the police, or asking for a review of a
    # complaint's outcome, both fit; the likelier answer comes first, the other below it.
    reply = engine.respond(AMBIGUOUS)
    assert reply.kind is ReplyKind.SUGGEST
    assert {reply.intent, *reply.suggestions} == {"complaint_review", "complaint_about_police"}
    chosen = engine.answer_for(reply.intent or "")
    assert chosen is not None and reply.html.startswith(chosen.html)
    assert "Not what you needed?" in reply.html


@pytest.mark.parametrize("text", BAD_INPUT)
def test_bad_input_gets_a_sane_outcome(engine, text):
    reply = engine.respond(text)
    assert reply.kind in set(ReplyKind)
    assert reply.html
    json.dumps(reply.as_json())


def test_user_text_never_appears_in_a_reply(engine):
    reply = engine.respond("<script>alert(1)</script> & <b>beacon</b> number")
    assert "<script>" not in reply.html


def test_answers_contain_only_telegram_html(engine):
    for intent_id, markup in engine.rendered.items():
        tags = set(re.findall(r"</?([a-z]+)", markup))
        assert tags <= {"b", "i", "a", "u", "s", "code"}, intent_id
        assert len(markup) < 4096, intent_id


def test_dated_answers_show_when_they_were_checked(engine):
    reply = engine.respond("what is the police precept")
    assert reply.intent == "police_precept"
    assert "£265" in reply.html and "Last checked 6 December 2026" in reply.html


def test_every_brief_topic_has_an_intent_with_ten_examples(engine):
    content = engine.content
    brief_ids = {
        "emergency",
        "report_crime",
        "hate_crime",
        "victim_support_beacon",
        "domestic_abuse",
        "modern_slavery",
        "fly_tipping_report",
        "fly_tipping_fund",
        "rural_crime",
        "business_crime",
        "streetsafe",
        "speed_camera_van",
        "community_drivesafe",
        "speeding_20mph",
        "safer_neighbourhood_team",
        "hertsmere_police_station",
        "custody",
        "volunteer_custody_visitor",
        "volunteer_scrutiny_panel",
        "special_constables",
        "employer_supported_policing",
        "join_police",
        "contact_pcc",
        "about_pcc",
        "have_your_say",
        "police_precept",
        "complaint_about_police",
        "forensic_review",
        "personal_safety",
        "greeting",
        "thanks",
        "bot_identity",
        "help",
    }
    assert brief_ids <= set(content.intents)
    for intent_id in brief_ids:
        assert len(content.intents[intent_id].examples) >= 10, intent_id


def test_help_names_the_areas_and_the_full_list_in_one_message_999_first(engine):
    reply = engine.respond("what can you help me with")
    assert reply.intent == "help"
    assert "999" in reply.html.splitlines()[0]  # every channel's help: someone in danger reads it first
    assert "hate crime" in reply.html and "Police and Crime Commissioner" in reply.html
    assert "/topics" in reply.html and len(reply.html) < 1200  # one phone screen


def test_the_emergency_and_out_of_scope_topics_are_never_plain_answers_or_suggestions(engine):
    texts = [
        "someone is sending me threatening messages online",
        "my neighbour's tree is overhanging my garden",
        "i need a plumber",
        "is it going to snow",
        "threats",
        "danger",
    ]
    for text in texts:
        reply = engine.respond(text)
        shown = [*reply.suggestions, *([reply.intent] if reply.kind is ReplyKind.ANSWER else [])]
        assert all(engine.intents[i].outcome.value == "answer" for i in shown), (text, reply)


def test_a_pasted_web_address_or_number_leads_to_the_topic_that_gives_it(engine):
    assert engine.respond("hertfordshirebeacon.org is this legit").intent == "victim_support_beacon"
    assert engine.respond("who is 08000 121 700").intent == "modern_slavery"


def test_a_repeated_question_gets_the_same_reply_and_new_thresholds_take_effect(engine):
    """Repeats are answered from the recent replies; changing the thresholds (calibration,
    benchmarks) must not leave replies decided by the old ones."""
    question = "beacon numbr"
    first = engine.respond(question)
    again = engine.respond(question)
    assert again == first and again.question == question and first.kind is ReplyKind.ANSWER
    assert engine.respond("BEACON numbr").question == "BEACON numbr"
    saved = engine.thresholds
    try:
        engine.thresholds = dataclasses.replace(saved, answer=1e9, suggest=1e9)
        assert engine.respond(question).kind is ReplyKind.FALLBACK
    finally:
        engine.thresholds = saved
    assert engine.respond(question) == first
