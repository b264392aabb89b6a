import pytest

from bot.content.loading import load_content
from bot.matching.engine import Engine
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


def test_a_danger_now_reply_leaves_off_advice_for_later(engine):
    """Someone with a knife at them needs 999 and the Silent Solution, not the law on
    blades or "report it online": only topics marked after_999 follow the 999 reply."""
    reply = engine.respond("hes got a knife and hes coming at me")
    assert reply.kind is ReplyKind.EMERGENCY
    assert reply.follow_up is None
    assert "blade" not in reply.html.lower() and "online" not in reply.html.lower()


def test_silent_solution_is_in_the_emergency_reply(engine):
    reply = engine.respond("I am in danger")
    assert reply.kind is ReplyKind.EMERGENCY
    assert "press <b>55</b>" in reply.html


# Written for these tests, unlike the safety examples: danger described without the words
# a phrase list would look for.
DESCRIBED_DANGER = [
    "theres 3 blokes in masks in my back garden trying the patio door",
    "my little boy was on the swings 2 mins ago and now i cant find him anywhere",
    "smoke pouring out the flat below and the old lady is still in there",
    "lorry all over the road on the a414 swerving into the other lane",
    "mate swallowed a load of pills and wont wake up",
]
CALM_WITH_ALARMING_WORDS = [
    "this traffic on the m25 is killing me",
    "when is the next knife amnesty in hertford",
    "my ex used to hit me but i left him years ago, can beacon still help",
    "i'm not in danger right now but i don't feel safe with my boyfriend",
]
CRISIS = [
    "i want to kill myself",
    "i feel suicidal",
    "everyone would be better off if i wasnt here, ive got the tablets ready",
]


@pytest.mark.parametrize("text", DESCRIBED_DANGER)
def test_danger_described_in_residents_own_words_gets_999_first(engine, text):
    reply = engine.respond(text)
    assert reply.kind is ReplyKind.EMERGENCY, reply.decided_by
    assert reply.html.index("999") < 80


@pytest.mark.parametrize("text", CALM_WITH_ALARMING_WORDS)
def test_alarming_words_without_danger_now_do_not_get_the_emergency_reply(engine, text):
    assert engine.respond(text).kind is not ReplyKind.EMERGENCY


@pytest.mark.parametrize("text", CRISIS)
def test_someone_in_crisis_gets_crisis_lines_never_a_did_you_mean(engine, text):
    reply = engine.respond(text)
    assert reply.kind is ReplyKind.CRISIS and not reply.suggestions
    assert "116 123" in reply.html  # Samaritans
    assert "<b>111</b>" in reply.html and "option 2" in reply.html  # NHS urgent mental health
    assert reply.html.index("999") < reply.html.index("116 123")  # 999 first, if at risk


def test_a_never_phrase_overrides_urgent_words(engine):
    reply = engine.respond("not an emergency but there was a fight outside right now")
    assert reply.kind is not ReplyKind.EMERGENCY
    assert "never phrase" in engine.explain("not an emergency, the fight ended")


def test_not_in_danger_does_not_hide_a_crisis(engine):
    reply = engine.respond("im not in danger right now but i have written my goodbye letters")
    assert reply.kind is ReplyKind.CRISIS and "116 123" in reply.html


def test_a_crisis_told_before_not_in_danger_in_a_long_message_gets_the_crisis_reply(engine):
    story = (
        "The last year has been hard. I lost my job at the depot in the spring and the "
        "bills kept coming, and my brother and I stopped speaking over our dad's house. "
    ) * 8
    text = (
        story
        + "i have written goodbye letters to my kids, i wont be here by the weekend. "
        + "I am not in any danger from anyone else, I just needed to tell someone."
    )
    assert len(text) > 1200
    reply = engine.respond(text)
    assert reply.kind is ReplyKind.CRISIS and "116 123" in reply.html


def test_a_danger_phrase_the_resident_denies_is_not_danger(engine):
    for text in (
        "he hasnt threatened to kill me, he just keeps turning up at my work",
        "im not being followed, i just want a personal alarm",
    ):
        reply = engine.respond(text)
        assert reply.kind is not ReplyKind.EMERGENCY, text
    assert engine.respond("my ex threatened to hurt me and hes outside").kind is (
        ReplyKind.EMERGENCY
    )


def test_when_unsure_the_reply_leads_with_999_and_keeps_the_answer(content_dir, encoder):
    # Every message is "unsure", even a sure answer on a calm topic.
    content_dir.set_thresholds(danger=50, danger_unsure=-50, danger_unsure_answered=-50)
    content, problems = load_content(content_dir.intents, content_dir.knowledge)
    assert content is not None, problems
    reply = Engine(content, encoder).respond("beacon phone number")
    assert reply.kind is ReplyKind.ANSWER and reply.intent == "victim_support_beacon"
    assert reply.danger_prompt
    assert reply.html.startswith("🚨 <b>If you or anyone else is in danger now, call 999.</b>")
    assert "0300 011 55 55" in reply.html


def test_when_unsure_a_past_event_gets_no_999_line_unless_it_is_happening_now(
    content_dir, encoder
):
    # Every message is "unsure": only the resident's own words decide the 999 line.
    content_dir.set_thresholds(danger=50, danger_unsure=-50, danger_unsure_answered=-50)
    content, problems = load_content(content_dir.intents, content_dir.knowledge)
    assert content is not None, problems
    engine = Engine(content, encoder)
    past = engine.respond("i was robbed at knifepoint two weeks ago, who can i talk to")
    assert not past.danger_prompt and "999" not in past.html.split("\n", 1)[0]
    now = engine.respond("i was robbed at knifepoint two weeks ago and hes outside now")
    assert now.danger_prompt or now.kind is ReplyKind.EMERGENCY


def test_when_unsure_an_answer_opening_with_999_is_not_given_a_second_999_line(
    content_dir, encoder
):
    content_dir.set_thresholds(danger=50, danger_unsure=-50)  # every message is "unsure"
    content, problems = load_content(content_dir.intents, content_dir.knowledge)
    assert content is not None, problems
    reply = Engine(content, encoder).respond("my partner controls all my money")
    assert reply.kind is ReplyKind.ANSWER and reply.intent == "domestic_abuse"
    assert reply.html.count("999") == 1 and "999" in reply.html.split("\n", 1)[0]
    assert reply.danger_prompt  # the "I'm in danger now" button stays


def test_a_sure_answer_on_a_calm_topic_low_in_the_unsure_band_has_no_999_line(
    content_dir, encoder
):
    """Low in the band the danger model's doubt is noise when the question surely belongs
    to a calm topic; a topic staff marked after_999 keeps the line and button."""
    content_dir.set_thresholds(danger=50, danger_unsure=-50)  # every message is "unsure"
    content, problems = load_content(content_dir.intents, content_dir.knowledge)
    assert content is not None, problems
    engine = Engine(content, encoder)
    calm = engine.respond("report an abandoned car on my road")
    assert calm.kind is ReplyKind.ANSWER and calm.intent == "abandoned_vehicles"
    assert not calm.danger_prompt and "999" not in calm.html.split("\n", 1)[0]
    abuse = engine.respond("my partner controls all my money")
    assert abuse.intent == "domestic_abuse" and abuse.danger_prompt


def test_a_staff_phrase_the_learned_check_rejects_gets_no_999(engine):
    """ "Hitting my shop" matches a staff danger phrase; the learned check is sure it is
    shoplifting, not violence now: the business crime answer with no 999 line (a line on
    every "threatening me" and "assaulted last year" taught residents to ignore it).
    Violence now still gets the emergency reply."""
    shop = engine.respond("a gang of shoplifters keeps hitting my corner shop every week")
    assert shop.kind is ReplyKind.ANSWER and shop.intent == "business_crime"
    assert not shop.danger_prompt and not shop.html.startswith("🚨")
    assert "danger phrase" not in engine.explain("a gang of shoplifters keeps hitting my shop")
    claim = engine.respond("how do i claim compensation, i was assaulted in town last year")
    assert claim.kind is not ReplyKind.EMERGENCY and not claim.danger_prompt
    assert engine.respond("hes hitting my mum in the kitchen").kind is ReplyKind.EMERGENCY


def test_a_crisis_told_in_the_last_sentence_of_a_short_message_gets_the_crisis_reply(engine):
    """Read as a whole, the troubles told first keep the message under the crisis
    threshold; its last sentence is also read alone, for crisis only."""
    text = "the whole group chat is laughing at my pics. ending it tonight b4 mum gets in"
    reply = engine.respond(text)
    assert reply.kind is ReplyKind.CRISIS and "116 123" in reply.html
    calm = engine.respond("my bike got nicked from the station. can i report it online tonight")
    assert calm.kind is ReplyKind.ANSWER


SENTENCES_ALARMING_ONLY_ALONE = [
    # A shop's repeat thieves: "they just walk out" alone reads like someone fleeing.
    "i manage the co op in hatfield and the same three blokes come in most afternoons and"
    " fill their coats with steak and spirits. they just walk out. the staff are mostly"
    " kids and scared to say anything and head office says dont chase them. weve got"
    " hours of cctv. is there some way to report it all in one go instead of ringing 101"
    " every time and waiting on hold",
    # A mother conned online: "she won't listen" reads like someone in his grip now.
    "my mum is 74 and lives alone in ware. since the summer shes been messaging a man who"
    " says hes a doctor with the army abroad, and shes sent him about six thousand pounds"
    " for his leave papers and a parcel fee. she wont hear a bad word about him and"
    " shouts at us if we bring it up. now he wants more for a flight. what can we do",
]


@pytest.mark.parametrize("text", SENTENCES_ALARMING_ONLY_ALONE)
def test_a_sentence_alarming_only_out_of_its_story_gets_no_emergency_reply(engine, text):
    """A medium message's last sentences are read alone too, for danger told last; one
    that reads as danger only out of its story ("they just walk out") needs the ending
    read together to agree, so the resident gets the topic's answer, not 999."""
    assert engine.respond(text).kind is not ReplyKind.EMERGENCY
