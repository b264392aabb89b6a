import pytest

from bot.matching.reply import ReplyKind

DANGER_NOW = [
    "a man is breaking into my neighbours house",
    "my dad is hitting my mum",
    "there's someone outside with a machete",
    "he says he is going to kill me",
    "there's a fight going on outside right now",
    "my friend is bleeding badly after being stabbed",
    "I'm being chased by a group of lads",
    "I've been assaulted and I'm bleeding",
    "a man is following me home",
    "my friend has collapsed outside the club",
]
NOT_DANGER = [
    "my bike was stolen last week",
    "how do I report a burglary",
    "someone broke into my car yesterday",
    "what is a hate crime",
    "I was attacked two years ago and still feel scared",
    "how do I report someone being threatened online",
    "advice if you are being followed",
    "what should I do if someone is following me",
    "I was stabbed last year and I'm still struggling",
]


@pytest.mark.parametrize("text", DANGER_NOW)
def test_danger_now_gets_the_emergency_reply_with_999_first(engine, text):
    reply = engine.respond(text)
    assert reply.kind is ReplyKind.EMERGENCY
    assert reply.html.index("999") < 80


@pytest.mark.parametrize("text", NOT_DANGER)
def test_past_events_and_general_questions_are_not_emergencies(engine, text):
    assert engine.respond(text).kind is not ReplyKind.EMERGENCY


def test_emergency_is_followed_by_the_matching_topic(engine):
    reply = engine.respond("my husband is hitting me")
    assert reply.kind is ReplyKind.EMERGENCY
    assert reply.follow_up == "domestic_abuse"
    emergency, _, rest = reply.html.partition("\n\n")
    assert "999" in emergency and "55" in emergency
    assert "0300 011 55 55" in rest  # Beacon's specialist support after the 999 advice


def test_silent_solution_is_in_the_emergency_reply(engine):
    reply = engine.respond("I am in danger")
    assert reply.kind is ReplyKind.EMERGENCY
    assert "press <b>55</b>" in reply.html
