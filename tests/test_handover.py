"""Talk to a person: the real Application hands a conversation to staff in a forum
supergroup through the fake Bot API, and relays both ways, safely and once."""

from __future__ import annotations

import datetime as dt
import logging

import pytest

from bot.content.opening_hours import UK
from bot.entry import main
from tests.fake_telegram import BOT_ID, FakeBotAPI, callback, message
from tests.questions import AMBIGUOUS
from tests.telegram_harness import running_bot

RESIDENT, STAFF, STRANGER, ADMIN = 4101, 4202, 4303, 4404
GROUP = -1001234567890
WEDNESDAY = dt.datetime(2026, 12, 9, 11, 0, tzinfo=UK)  # staffed
CHRISTMAS = dt.datetime(2026, 12, 25, 11, 0, tzinfo=UK)  # a Friday, and a bank holiday
DESK = {
    "handover_chat_id": GROUP,
    "staff_ids": frozenset({STAFF}),
    "admin_ids": frozenset({ADMIN}),
}


class Clock:
    """The UK time the bot sees; tests move it."""

    def __init__(self, now: dt.datetime) -> None:
        self.now = now

    def __call__(self) -> dt.datetime:
        return self.now


async def said(fake: FakeBotAPI, update: dict, chat: int, count: int = 1) -> list:
    """Push an update; the next ``count`` messages sent to ``chat``."""
    before = len(fake.sent(chat_id=chat))
    fake.push(update)
    await fake.wait_for(lambda: len(fake.sent(chat_id=chat)) >= before + count)
    return fake.sent(chat_id=chat)[before:]


def staff_says(text: str, thread: int | None, user: int = STAFF, **fields) -> dict:
    if thread is not None:
        fields |= {"message_thread_id": thread, "is_topic_message": True}
    update = message(user, text, chat_type="supergroup", chat_id=GROUP, **fields)
    update["message"]["chat"]["title"] = "PCC staff desk"
    return update


async def handed_over(fake: FakeBotAPI) -> tuple[int | None, str]:
    """The resident asks for a person and confirms: the topic's thread and name."""
    await said(fake, message(RESIDENT, "someone used my card online in stevenage"), RESIDENT)
    (consent,) = await said(fake, message(RESIDENT, "can i speak to a human"), RESIDENT)
    assert ("✅ Yes, pass it on", "h:yes") in consent.buttons
    yes = callback(RESIDENT, "h:yes", consent.message_id)
    double_tap = callback(RESIDENT, "h:yes", consent.message_id)
    fake.push(yes, double_tap)  # a double tap: one handover
    await fake.wait_for(lambda: len(fake.sent(chat_id=RESIDENT)) >= 4)
    await fake.settle()
    told = [s.text for s in fake.sent(chat_id=RESIDENT)[-2:]]
    assert "Passed on" in told[0] and "already talking to staff" in told[1]
    assert len(fake.sent("createForumTopic") + fake.sent("createForumTopic:400")) == 1
    await fake.wait_for(lambda: fake.sent(chat_id=GROUP))
    topics = fake.sent("createForumTopic")
    if topics:
        return topics[0].message_id, topics[0].params["name"]
    return None, ""


async def test_a_full_handover_both_ways_in_a_forum_topic(engine):
    clock = Clock(WEDNESDAY)
    async with running_bot(engine, clock=clock, **DESK) as (fake, store, _):
        await said(fake, message(RESIDENT, "someone used my card online in stevenage"), RESIDENT)
        (consent,) = await said(fake, message(RESIDENT, "real person pls"), RESIDENT)
        # Honest before anything is shared: who reads it, how soon, no emergencies.
        assert "A member of staff at the Police and Crime Commissioner's office" in consent.text
        assert "within 15 minutes" in consent.text and "999" in consent.text
        assert not fake.sent(chat_id=GROUP)  # nothing shared before the resident confirms
        (connected,) = await said(fake, callback(RESIDENT, "h:yes", consent.message_id), RESIDENT)
        await fake.wait_for(lambda: fake.sent(chat_id=GROUP))
        (topic,) = fake.sent("createForumTopic")
        ref = topic.params["name"].split(" · ")[0]
        assert topic.params["chat_id"] == GROUP
        assert topic.params["name"].endswith(" · Stevenage") and ref.startswith("#")
        assert f"Resident{RESIDENT}" not in topic.params["name"]
        assert ref in connected.text and ("End the chat with staff", "h:end") in connected.buttons
        thread = topic.message_id
        (opening,) = fake.sent(chat_id=GROUP)
        assert opening.params["message_thread_id"] == thread
        assert "someone used my card online in stevenage" in opening.text  # the last messages
        assert "Bot:" in opening.text  # ... and the bot's replies

        posted = await said(fake, message(RESIDENT, "they took £300 <yesterday>"), GROUP)
        assert posted[0].params["message_thread_id"] == thread
        assert "they took £300 &lt;yesterday&gt;" in posted[0].text and "waiting" in posted[0].text

        clock.now += dt.timedelta(minutes=4)
        (relayed,) = await said(
            fake, staff_says("Hello, I'm sorry <that> happened", thread), RESIDENT
        )
        assert relayed.text.startswith("<b>A member of staff</b>")
        assert "I'm sorry &lt;that&gt; happened" in relayed.text
        (back,) = await said(fake, message(RESIDENT, "thank you"), GROUP)
        assert "thank you" in back.text and "waiting" not in back.text

        (ended,) = await said(fake, staff_says("/end", thread), RESIDENT)
        assert "ended the conversation" in ended.text
        await fake.wait_for(lambda: fake.sent("closeForumTopic"))
        assert fake.sent("closeForumTopic")[0].params["message_thread_id"] == thread
        # Afterwards the bot answers the resident again.
        (answer,) = await said(fake, message(RESIDENT, "beacon phone number"), RESIDENT)
        assert "Beacon" in answer.text
        assert len(fake.sent(chat_id=GROUP)) == 4  # opening, two relays, the end notice

        audit = await store.audit_entries(10)
        assert [(a.admin, a.action, a.detail) for a in audit] == [(STAFF, "handover-reply", ref)]
        (row,) = await store.handovers(1)
        assert row.state == "closed" and row.chat_id is None and row.user_key is None
        assert row.first_reply_at - row.opened_at == 240


async def test_stats_show_handovers_first_reply_unanswered_and_out_of_hours(engine):
    clock = Clock(WEDNESDAY)
    async with running_bot(engine, clock=clock, **DESK) as (fake, _, app):
        thread, _ = await handed_over(fake)
        clock.now += dt.timedelta(minutes=6)
        await said(fake, staff_says("hello", thread), RESIDENT)
        await said(fake, staff_says("/end", thread), RESIDENT)
        clock.now = CHRISTMAS
        await said(fake, message(RESIDENT, "can i talk to someone real"), RESIDENT)
        stats = await app.bot_data["services"].assistant.staff.stats(7, [])
    assert (
        "Talk to a person: 1 handover (0.1 a day), median first staff reply 6 min, "
        "0 ended with no staff reply, 1 request out of hours"
    ) in stats


async def test_out_of_hours_on_a_bank_holiday_says_what_is_open_and_takes_no_message(engine):
    async with running_bot(engine, clock=Clock(CHRISTMAS), **DESK) as (fake, store, _):
        (reply,) = await said(fake, message(RESIDENT, "can i speak to a human"), RESIDENT)
        assert "Closed now (Christmas Day, a bank holiday)" in reply.text
        for route in ("101", "999", "Beacon", "contacthertspolice.uk"):
            assert route in reply.text
        assert "can't take a message" in reply.text
        assert not [b for b in reply.buttons if b[1] == "h:yes"]
        # A confirmation from an earlier offer, pressed now, still connects nobody.
        (again,) = await said(fake, callback(RESIDENT, "h:yes", reply.message_id), RESIDENT)
        assert "Closed now" in again.text
        assert not fake.sent("createForumTopic") and not fake.sent(chat_id=GROUP)
        assert [h.state for h in await store.handovers(1)] == ["out_of_hours"] * 2


async def test_a_fallback_offers_a_person_and_two_misses_in_a_row_say_so(engine):
    async with running_bot(engine, clock=Clock(WEDNESDAY), **DESK) as (fake, _, _):
        (first,) = await said(fake, message(RESIDENT, "purple elephants quantum soup"), RESIDENT)
        assert ("🙋 Talk to a person", "h:offer") in first.buttons
        assert "Would you like to talk to a person?" not in first.text
        await said(fake, message(RESIDENT, "beacon number"), RESIDENT)  # an answer: not a miss
        (suggested,) = await said(fake, message(RESIDENT, AMBIGUOUS), RESIDENT)
        assert suggested.buttons[-1] == ("🙋 Talk to a person", "h:offer")  # "Did you mean"
        assert "Would you like to talk to a person?" not in suggested.text
        (second,) = await said(fake, message(RESIDENT, "zxq blorf wibble"), RESIDENT)
        assert "Would you like to talk to a person?" in second.text  # two misses in a row
        (offer,) = await said(fake, callback(RESIDENT, "h:offer", second.message_id), RESIDENT)
        assert "Shall I pass it on?" in offer.text
        fake.push(callback(RESIDENT, "h:no", offer.message_id))
        await fake.wait_for(lambda: fake.sent("editMessageText"))
        assert "I won't pass it on" in fake.sent("editMessageText")[-1].text
    async with running_bot(engine, clock=Clock(WEDNESDAY)) as (fake, _, _):  # no staff group
        (plain,) = await said(fake, message(RESIDENT, "purple elephants quantum soup"), RESIDENT)
        assert "h:offer" not in [data for _, data in plain.buttons]


async def test_someone_not_on_the_staff_list_is_ignored_and_logged_without_content(engine, caplog):
    caplog.set_level(logging.INFO)
    async with running_bot(engine, clock=Clock(WEDNESDAY), **DESK) as (fake, _, _):
        thread, _ = await handed_over(fake)
        before = len(fake.calls)
        fake.push(staff_says("Secret Intruder Words", thread, user=STRANGER))
        (relayed,) = await said(
            fake, staff_says("an admin can answer too", thread, ADMIN), RESIDENT
        )
        assert "an admin can answer too" in relayed.text
        assert not [c for c in fake.calls[before:] if "Secret Intruder" in c.text]
    ignored = [r for r in caplog.records if "not on STAFF_IDS" in r.getMessage()]
    assert len(ignored) == 1
    assert "Secret Intruder" not in caplog.text and str(STRANGER) not in caplog.text


@pytest.mark.parametrize(
    ("text", "expected", "alert"),
    [
        ("he has a knife and is breaking in right now", "999", "Danger now"),
        ("i want to end my life tonight", "💙", "Crisis"),
    ],
)
async def test_danger_now_or_a_crisis_during_a_handover_is_answered_at_once_and_alerts_staff(
    engine, text, expected, alert
):
    async with running_bot(engine, clock=Clock(WEDNESDAY), **DESK) as (fake, _, _):
        thread, _ = await handed_over(fake)
        before = len(fake.sent(chat_id=GROUP))
        (reply,) = await said(fake, message(RESIDENT, text), RESIDENT)
        assert expected in reply.text.split("\n", 1)[0]
        await fake.wait_for(lambda: len(fake.sent(chat_id=GROUP)) >= before + 2)
        warning, relayed = fake.sent(chat_id=GROUP)[before:]
        assert warning.text.startswith(f"🚨 <b>{alert}</b>")
        assert warning.params["message_thread_id"] == thread
        assert text in relayed.text


async def test_a_message_the_safety_check_is_unsure_of_reminds_of_999_and_warns_staff(engine):
    async with running_bot(engine, clock=Clock(WEDNESDAY), **DESK) as (fake, _, _):
        await handed_over(fake)
        before = len(fake.sent(chat_id=GROUP))
        (reminder,) = await said(fake, message(RESIDENT, "theres a man who keeps staring at me"), RESIDENT)
        assert reminder.text.startswith("🚨 If you or someone else is in danger now, call")
        assert reminder.buttons == [("🚨 I'm in danger now", "d:now")]
        await fake.wait_for(lambda: len(fake.sent(chat_id=GROUP)) >= before + 2)
        warning, relayed = fake.sent(chat_id=GROUP)[before:]
        assert warning.text.startswith("⚠️") and "theres a man who keeps staring at me" in relayed.text
        to_resident = len(fake.sent(chat_id=RESIDENT))
        (calm,) = await said(fake, message(RESIDENT, "it was last tuesday"), GROUP)
        assert "it was last tuesday" in calm.text and not calm.text.startswith("⚠️")
        assert len(fake.sent(chat_id=RESIDENT)) == to_resident  # nothing for the resident


def test_staffed_hours_that_cannot_be_read_stop_the_start(capsys):
    assert main(["validate"], env={"HANDOVER_HOURS": "nine to five"}) == 2
    assert "HANDOVER_HOURS: hours 'nine to five': write them like" in capsys.readouterr().err


async def test_a_staff_reply_after_the_resident_sent_forget_reaches_no_one(engine, database):
    settings = DESK | database.settings()
    async with running_bot(engine, clock=Clock(WEDNESDAY), **settings) as (fake, store, _):
        thread, _ = await handed_over(fake)
        (done,) = await said(fake, message(RESIDENT, "/forget"), RESIDENT)
        assert done.text.startswith("Done")
        await fake.wait_for(lambda: fake.sent("closeForumTopic"))
        assert "asked for their data to be deleted" in fake.sent(chat_id=GROUP)[-1].text
        to_resident = len(fake.sent(chat_id=RESIDENT))
        (gone,) = await said(fake, staff_says("are you still there?", thread), GROUP)
        assert "ended" in gone.text and "will not see this" in gone.text
        assert len(fake.sent(chat_id=RESIDENT)) == to_resident
        (row,) = await store.handovers(1)
        assert row.state == "forgotten" and row.chat_id is None and not row.subject


async def test_without_topics_staff_answer_by_replying_to_the_bot(engine):
    fake = FakeBotAPI()
    fake.fail_next("createForumTopic", 400, "Bad Request: the chat is not a forum")
    async with running_bot(engine, fake, clock=Clock(WEDNESDAY), **DESK) as (fake, _, _):
        thread, _ = await handed_over(fake)
        assert thread is None
        (opening,) = fake.sent(chat_id=GROUP)
        posted = await said(fake, message(RESIDENT, "are you there"), GROUP)
        assert posted[0].params["reply_parameters"]["message_id"] == opening.message_id
        bot = {"message_id": posted[0].message_id, "date": 0, "chat": {"id": GROUP,
               "type": "supergroup"}, "from": {"id": BOT_ID, "is_bot": True,
               "first_name": "Herts Safety"}}  # fmt: skip
        (relayed,) = await said(
            fake, staff_says("yes, hello", None, reply_to_message=bot), RESIDENT
        )
        assert "yes, hello" in relayed.text
        chatter = staff_says("lunch anyone?", None)
        fake.push(chatter)
        await fake.settle()
        assert len(fake.sent(chat_id=RESIDENT)) == 5  # nothing more


async def test_no_staff_reply_in_time_tells_the_resident_the_other_routes(engine):
    clock = Clock(WEDNESDAY)
    async with running_bot(engine, clock=clock, handover_wait_minutes=10, **DESK) as (fake, _, _):
        await handed_over(fake)
        before = len(fake.sent(chat_id=GROUP))
        clock.now += dt.timedelta(minutes=11)
        await fake.wait_for(lambda: len(fake.sent(chat_id=GROUP)) > before)
        told = fake.sent(chat_id=RESIDENT)[-1]
        assert "no one has replied yet" in told.text
        assert "101" in told.text and "contacthertspolice.uk" in told.text
        assert "waiting 11 min" in fake.sent(chat_id=GROUP)[-1].text
        await fake.settle()
        assert len([s for s in fake.sent(chat_id=RESIDENT) if "no one has" in s.text]) == 1


async def test_staff_may_sign_with_a_first_name_they_set(engine):
    async with running_bot(engine, clock=Clock(WEDNESDAY), **DESK) as (fake, _, _):
        thread, _ = await handed_over(fake)
        (named,) = await said(fake, staff_says("/name Sam Smith", None), GROUP)
        assert "Sam, a member of staff" in named.text and "Smith" not in named.text
        (relayed,) = await said(fake, staff_says("Hi, Sam here", thread), RESIDENT)
        assert relayed.text.startswith("<b>Sam, a member of staff</b>:")
        await said(fake, staff_says("/name", None), GROUP)
        (unnamed,) = await said(fake, staff_says("still here", thread), RESIDENT)
        assert unnamed.text.startswith("<b>A member of staff</b>:")
        # Staff writing fast are not a flood: every message reaches the resident.
        before = len(fake.sent(chat_id=RESIDENT))
        fake.push(*[staff_says(f"line {n} of a long answer", thread) for n in range(20)])
        await fake.wait_for(lambda: len(fake.sent(chat_id=RESIDENT)) == before + 20)


async def test_retention_ends_a_handover_left_open_and_removes_the_resident(engine, database):
    clock = Clock(WEDNESDAY - dt.timedelta(weeks=14))  # a Wednesday in September
    settings = DESK | database.settings()
    async with running_bot(engine, clock=clock, **settings) as (fake, store, _):
        await handed_over(fake)
        assert await store.purge_text(90) >= 1
        (row,) = await store.handovers(365)
        assert (row.state, row.chat_id, row.user_key) == ("expired", None, None)
        assert await store.open_handovers() == ([], {})


async def test_the_resident_can_end_it_with_a_button_and_the_topic_closes(engine):
    async with running_bot(engine, clock=Clock(WEDNESDAY), **DESK) as (fake, store, _):
        thread, _ = await handed_over(fake)
        (ended,) = await said(fake, callback(RESIDENT, "h:end", 1), RESIDENT)
        assert "ended" in ended.text
        await fake.wait_for(lambda: fake.sent("closeForumTopic"))
        assert fake.sent(chat_id=GROUP)[-1].text.startswith("The resident ended")
        assert fake.sent(chat_id=GROUP)[-1].params["message_thread_id"] == thread
        (row,) = await store.handovers(1)
        assert row.state == "closed" and row.first_reply_at is None


async def test_a_burst_is_relayed_in_the_order_it_was_written(engine):
    async with running_bot(engine, clock=Clock(WEDNESDAY), **DESK) as (fake, _, _):
        thread, _ = await handed_over(fake)
        before = len(fake.sent(chat_id=GROUP))
        notes = [f"part {n} of what happened" for n in range(8)]
        fake.push(*[message(RESIDENT, note) for note in notes])
        replies = [f"question {n} from staff" for n in range(8)]
        fake.push(*[staff_says(reply, thread) for reply in replies])
        await fake.wait_for(lambda: len(fake.sent(chat_id=GROUP)) == before + 8)
        await fake.wait_for(lambda: fake.sent(chat_id=RESIDENT)[-1].text.endswith(replies[-1]))
        posted = [s.text.rsplit("\n", 1)[-1] for s in fake.sent(chat_id=GROUP)[before:]]
        relayed = [s.text.rsplit("\n", 1)[-1] for s in fake.sent(chat_id=RESIDENT)[-8:]]
    assert posted == notes and relayed == replies


async def test_staff_are_told_when_the_resident_has_blocked_the_bot(engine):
    async with running_bot(engine, clock=Clock(WEDNESDAY), **DESK) as (fake, _, _):
        thread, _ = await handed_over(fake)
        fake.fail_next("sendMessage", 403, "Forbidden: bot was blocked by the user")
        (told,) = await said(fake, staff_says("are you there?", thread), GROUP)
        assert told.text == "Not delivered: the resident has blocked the bot."
        assert told.params["message_thread_id"] == thread
