"""The safety check as residents meet it on Telegram: the real Application and polling
loop, the fake Bot API at the request layer."""

from __future__ import annotations

from bot.matching.engine import Engine
from tests.fake_telegram import FakeBotAPI, message
from tests.telegram_harness import running_bot

CAROL = 303
EMERGENCY_LINE = "🚨 <b>If you or someone else is in danger now, call"
DANGER_LINE = "🚨 <b>If you or anyone else is in danger now, call 999.</b>"  # the unsure band's
# A long, rambling message about ordinary worries (written for this test).
RAMBLE = (
    "Sorry this is long, I don't really know where to start. The parking on our road has "
    "been getting worse since the new flats went up, and the bins are left out all week. "
    "My neighbour says the council won't do anything and I should ask the police instead. "
    "I also wanted to know whether the street lights are meant to go off after midnight. "
)


async def _ask(fake: FakeBotAPI, text: str, user: int = CAROL) -> str:
    before = len(fake.sent())
    fake.push(message(user, text))
    await fake.wait_for(lambda: len(fake.sent()) > before)
    return fake.sent()[before].text


async def test_danger_at_character_3500_of_a_long_message_gets_999_first(engine: Engine):
    danger = "He is in my kitchen now and he won't leave, he's shouting and holding a knife."
    text = (RAMBLE * 20)[:3500] + " " + danger
    assert len(text) < 4096 and text.index(danger) >= 3500
    async with running_bot(engine) as (fake, _, _):
        assert (await _ask(fake, text)).startswith(EMERGENCY_LINE)


async def test_a_denial_early_in_a_long_message_does_not_hide_danger_told_after_it(
    engine: Engine,
):
    """ "If it's not an emergency" in the background speaks for the background; "I'm not in
    danger" at the end speaks for the whole story."""
    background = (
        "I wanted to ask how to report a car that keeps parking across our drive, since "
        "it's not an emergency and I didn't want to waste anyone's time. "
    )
    danger = "Now he is in my kitchen with a knife and he won't leave."
    text = background + RAMBLE * 3 + danger
    assert len(text) > 1000
    async with running_bot(engine) as (fake, _, _):
        assert (await _ask(fake, text)).startswith(EMERGENCY_LINE)
        denied = RAMBLE * 3 + danger + " That was last year, I'm safe now and not in danger."
        assert not (await _ask(fake, denied, CAROL + 1)).startswith(EMERGENCY_LINE)


async def test_a_long_message_with_no_danger_gets_no_999_reply(engine: Engine):
    async with running_bot(engine) as (fake, _, _):
        assert not (await _ask(fake, (RAMBLE * 20)[:4000])).startswith(EMERGENCY_LINE)


# A long account of past events, full of alarming sentences (written for this test).
PAST_STORY = (
    "I want to report something from the summer, I've put it off for weeks. "
    "We were walking back from the pub in Hitchin about eleven at night. "
    "A man we didn't know came out of an alley and started shouting at my brother. "
    "He pushed him into the road and a car had to swerve, I honestly thought he'd be killed. "
    "Then he punched him twice and ran off towards the station. "
    "My brother had a split lip and a black eye for a fortnight. "
    "I was shaking for days after and still can't walk down that street. "
    "We never reported it because my brother didn't want the fuss. "
    "Now he's changed his mind and would like it on record. "
    "There was a camera on the corner shop, if that helps. "
) * 3


async def test_a_long_story_about_the_past_gets_no_999_reply(engine: Engine):
    """Its sentences alone sound alarming; past 1,000 characters each is read on its own."""
    assert len(PAST_STORY) > 1500
    async with running_bot(engine) as (fake, _, _):
        reply = await _ask(fake, PAST_STORY)
        assert not reply.startswith(EMERGENCY_LINE)
        assert "Samaritans" not in reply


# A shopkeeper's story of a robbery two months ago, one sentence told as if it were now,
# the question at the end (written for this test).
ROBBERY_STORY = (
    "Good evening, I hope this is the right place to ask. "
    "My husband and I have run a little newsagent on the high street in Tring for nineteen years and we have never had trouble until this autumn. "
    "On a Tuesday in October, just as we were cashing up, a young man came in wearing a balaclava. "
    "He is standing at the counter with a hammer and he is screaming that he will smash my head in if I do not open the till. "
    "My husband came out from the back and the man ran off with about two hundred pounds. "
    "The officers who came were very kind, they took statements and the CCTV, and we were given a crime reference number. "
    "Since then we have heard nothing at all, which I understand, they must be very busy. "
    "My husband has not been sleeping well and I find I jump every time the door bell goes. "
    "Our daughter thinks we should put in one of those screens at the counter and perhaps a panic alarm, but we are not sure what is worth paying for and what is just a gimmick. "
    "We also wondered whether there is any help for small shops like ours, a grant or a visit from someone who can look at the layout and tell us what to change. "
    "The insurance company has been slow too, though that is not your problem. "
    "I also wanted to ask whether it is normal not to be told anything for two months, and who we should ring to find out whether the man was ever caught. "
    "We do not want to be a nuisance. "
    "Thank you for reading such a long message, and thank you to the officers who came out that night. "
)


async def test_a_frightening_sentence_in_the_middle_of_a_past_story_gets_no_999_line(
    engine: Engine,
):
    """A sentence the check would take for danger now alone, but doubts as part of a long
    message, leads the answer with the 999 line only near the message's end: told in the
    middle of a story about the autumn, it is the story, not a call for help."""
    assert len(ROBBERY_STORY) > 1000
    async with running_bot(engine) as (fake, _, _):
        reply = await _ask(fake, ROBBERY_STORY)
        assert not reply.startswith((EMERGENCY_LINE, DANGER_LINE))


# A long account of a past attack whose "now" is the aftermath, with the writer's own
# feelings about writing it (written for this test).
AFTERMATH_STORY = (
    "Apologies for the length of this, I've started it three times. "
    "Two summers back my niece was set upon by a group of girls outside the leisure centre. "
    "They pulled her to the ground, kicked her and one of them cut her arm with a blade. "
    "She needed surgery on her hand and was off school for a whole term. "
    "Two of the girls were charged and the case finished at the youth court in the spring. "
    "She's home now and mending, but she won't answer the door and jumps at every sound. "
    "Putting all of this into words has helped me more than I expected. "
    "My sister would like to know whether the family can ask for a review of the sentence, "
    "and whether there is any counselling for teenagers after something like this. "
) * 3


async def test_a_long_story_whose_now_is_the_aftermath_gets_no_999_or_crisis_reply(
    engine: Engine,
):
    """A story's "home now" is not "happening now": that sentence alone is held to the
    surer part threshold; and telling how writing it feels is not a crisis."""
    assert len(AFTERMATH_STORY) > 1500
    async with running_bot(engine) as (fake, _, _):
        reply = await _ask(fake, AFTERMATH_STORY)
        assert not reply.startswith(EMERGENCY_LINE)
        assert "Samaritans" not in reply


async def test_right_now_in_an_everyday_question_gets_no_999_reply(engine: Engine):
    async with running_bot(engine) as (fake, _, _):
        reply = await _ask(fake, "is the road by the hospital still shut right now")
        assert not reply.startswith(EMERGENCY_LINE)
        # "Right now" with danger the check suspects still gets the emergency reply.
        danger = await _ask(fake, "a man is smashing the bus shelter glass right now", CAROL + 1)
        assert danger.startswith(EMERGENCY_LINE)


async def test_a_found_grenade_and_a_drunk_driver_with_children_get_999_first(engine: Engine):
    dangers = [
        "we've found an old hand grenade in the flower bed while weeding",
        "my brother-in-law has had six pints and is buckling his kids into the car to drive",
    ]
    async with running_bot(engine) as (fake, _, _):
        for n, text in enumerate(dangers):
            assert (await _ask(fake, text, CAROL + 20 + n)).startswith(EMERGENCY_LINE), text


async def test_a_crisis_named_with_a_threat_gets_the_crisis_reply(engine: Engine):
    """A danger phrase ("is stalking me") the learned check doubts must not hide a crisis."""
    crises = [
        "my ex is stalking me every day and i have had enough of living, tonight i will end it",
        "they are threatening me over money and im going to end my life",
    ]
    async with running_bot(engine) as (fake, _, _):
        for n, text in enumerate(crises):
            assert "116 123" in await _ask(fake, text, CAROL + 30 + n), text


async def test_danger_clear_only_from_two_messages_together_gets_999_once(engine: Engine):
    async with running_bot(engine) as (fake, _, _):
        assert not (await _ask(fake, "im at the bus stop")).startswith(EMERGENCY_LINE)
        assert (await _ask(fake, "he wont leave")).startswith(EMERGENCY_LINE)
        then = await _ask(fake, "what do i do")  # the same burst: 999 first, not repeated
        assert then.startswith(DANGER_LINE) and not then.startswith(EMERGENCY_LINE)
        # Another resident's messages are never read with Carol's.
        alone = await _ask(fake, "he wont leave", user=CAROL + 1)
        assert not alone.startswith(EMERGENCY_LINE)


async def test_a_man_outside_then_a_knife_gets_999(engine: Engine):
    async with running_bot(engine) as (fake, _, _):
        await _ask(fake, "a man outside")
        assert (await _ask(fake, "he has a knife")).startswith(EMERGENCY_LINE)


async def test_a_pothole_being_locked_out_and_an_angry_boss_get_no_999(engine: Engine):
    calm = [
        "there's a pothole on the B road that nearly took my tyre off",
        "I'm locked out of my flat, what do I do",
        "my boss will kill me if I'm late again",
    ]
    async with running_bot(engine) as (fake, _, _):
        for n, text in enumerate(calm):  # each from its own resident: no burst
            reply = await _ask(fake, text, user=CAROL + 10 + n)
            assert not reply.startswith((EMERGENCY_LINE, DANGER_LINE)), text


async def test_danger_that_is_over_and_everyday_trouble_get_no_emergency_reply(engine: Engine):
    """The learned check alone took these for danger now: a fight the writer says is over
    ("all gone now", an 'ended' phrase), and everyday trouble whose nearest examples are
    everyday questions. The same fight happening now still gets 999 first."""
    calm = [
        "big fight outside my flat at 3am, theyre all gone now but theres blood on the steps",
        "a car went into the back of me at the lights and drove off",
    ]
    async with running_bot(engine) as (fake, _, _):
        for n, text in enumerate(calm):
            assert not (await _ask(fake, text, user=CAROL + 40 + n)).startswith(EMERGENCY_LINE)
        now = "big fight outside my flat right now and one of them has a knife"
        assert (await _ask(fake, now, user=CAROL + 50)).startswith(EMERGENCY_LINE)


async def test_someone_worried_about_another_person_gets_the_crisis_reply(engine: Engine):
    async with running_bot(engine) as (fake, _, _):
        reply = await _ask(fake, "my son said he wants to kill himself, what do i do")
        assert "116 123" in reply and "Worried about someone else?" in reply
        website = await _ask(fake, "i want to kill whoever designed this website", CAROL + 1)
        assert "116 123" not in website


async def test_card_languages_danger_words_count_across_a_burst_and_a_long_message(
    engine: Engine,
):
    async with running_bot(engine) as (fake, _, _):
        first = await _ask(fake, "Mój były jest pod drzwiami i ma")
        assert "Zadzwoń" in first and EMERGENCY_LINE not in first  # the Polish card
        reply = await _ask(fake, "nóż w ręku")  # "ma nóż": he has a knife
        assert reply.startswith("🚨") and EMERGENCY_LINE in reply
        polish = "Piszę w sprawie parkowania na naszej ulicy, które jest coraz gorsze. " * 60
        text = polish[:3500] + " Mój mąż ma nóż i krzyczy."
        long = await _ask(fake, text, user=CAROL + 1)
        assert long.startswith("🚨") and EMERGENCY_LINE in long


# Background first, what is happening now last, in under 1,000 characters (written for
# this test): the whole message reads as a neighbour dispute; its last sentence does not.
DISPUTE_THEN_DANGER = (
    "Not sure this is the right place. We've had trouble with the family across the road "
    "in Ware since the summer, mostly over parking and their dog, and the council told us "
    "to keep a diary, which we have. Their eldest has been rude to my wife a few times and "
    "once kicked our bin over. Tonight he came back from the pub and now he's in our front "
    "garden with a metal bar smashing the car windows and trying the front door handle, "
    "and my wife and the baby are in the front room."
)
# A past assault told at length, ending on what was said then and a question (written
# for this test): its last sentences are alarming, but nothing is happening now.
PAST_THREAT_THEN_QUESTION = (
    "Back in March a lad I used to work with at the warehouse in Hemel cornered me in the "
    "car park after a shift. He shoved me against my car and punched me in the stomach, "
    "then told me he would stab me if I went to the manager. I left that job in April and "
    "haven't seen him since. It still bothers me and I've been having trouble sleeping. "
    "Is it too late to report it to the police, and would he be told it was me?"
)


async def test_danger_in_the_last_sentence_of_a_medium_message_gets_999_first(engine: Engine):
    assert 300 < len(DISPUTE_THEN_DANGER) < 1000
    async with running_bot(engine) as (fake, _, _):
        assert (await _ask(fake, DISPUTE_THEN_DANGER)).startswith(EMERGENCY_LINE)


async def test_a_past_threat_told_last_with_a_question_gets_no_999_reply(engine: Engine):
    assert len(PAST_THREAT_THEN_QUESTION) > 300
    async with running_bot(engine) as (fake, _, _):
        assert not (await _ask(fake, PAST_THREAT_THEN_QUESTION)).startswith(EMERGENCY_LINE)
