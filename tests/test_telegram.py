"""End-to-end: real Application and polling loop, fake Bot API at the request layer."""

from __future__ import annotations

import asyncio
import logging
import time

import pytest
from telegram.error import TimedOut

from bot.content.loading import load_content
from bot.matching.engine import Engine
from bot.storage.store import MessageOutcome
from bot.telegram import messages
from tests.fake_telegram import BOT_ID, BOT_USERNAME, FakeBotAPI, callback, message
from tests.questions import AMBIGUOUS, ambiguous_other
from tests.telegram_harness import TOKEN, running_bot

ALICE, BOB = 101, 202


async def ask(fake: FakeBotAPI, update: dict, replies: int = 1, timeout: float = 5.0):
    """Push an update and wait until ``replies`` more messages have been sent."""
    before = len(fake.sent())
    fake.push(update)
    await fake.wait_for(lambda: len(fake.sent()) >= before + replies, timeout=timeout)
    return fake.sent()[before:]


async def test_start_welcomes_with_999_topics_and_registers_the_command_menu(engine):
    async with running_bot(engine) as (fake, _, _):
        (reply,) = await ask(fake, message(ALICE, "/start"))
        assert "999" in reply.text.splitlines()[0] and "automated" in reply.text
        titles = [t for t, _ in reply.buttons]
        assert titles == [i.title for i in engine.topics[:5]]  # nothing asked yet
        (groups,) = await ask(fake, message(ALICE, "/topics"))
        assert [t for t, _ in groups.buttons] == [g.title for g in engine.content.menu.groups]
        (commands,) = fake.sent("setMyCommands")
        names = [c["command"] for c in commands.params["commands"]]
        assert names == ["start", "topics", "help", "privacy", "forget"]


@pytest.mark.parametrize("command", ["/start", "/help"])
async def test_start_and_help_put_999_first_then_the_five_most_asked_then_just_ask(engine, command):
    async with running_bot(engine) as (fake, store, _):
        for text in ["beacon number", "beacon phone", "how do I report fly tipping"]:
            await ask(fake, message(BOB, text))
        assert await store.flush(timeout=10)
        (reply,) = await ask(fake, message(ALICE, command))
    first, *rest = reply.text.splitlines()
    assert "999" in first and "999" not in "\n".join(rest)
    titles = [t for t, _ in reply.buttons]
    assert len(titles) == 5
    assert titles[:2] == ["Support for victims of crime (Beacon)", "Report fly-tipping"]
    assert "or just ask" in rest[-1]


async def test_an_empty_or_spaces_only_message_is_asked_for_a_question_and_not_logged(engine):
    async with running_bot(engine, admin_ids=frozenset({ALICE})) as (fake, store, _):
        (reply,) = await ask(fake, message(BOB, "   "))
        assert reply.text.startswith("Type your question")
        assert "101" not in reply.text and not reply.buttons
        (mention,) = await ask(
            fake, message(BOB, f"@{BOT_USERNAME}", chat_type="group", chat_id=-5)
        )
        assert mention.text.startswith("Type your question")
        assert await store.flush(timeout=10)
        (inbox,) = await ask(fake, message(ALICE, "/unanswered"))
        assert "No unanswered questions" in inbox.text
        (stats,) = await ask(fake, message(ALICE, "/stats"))
        assert "No messages in the last 7 days." in stats.text


async def test_start_with_a_deep_link_opens_that_topic_and_junk_gets_the_welcome(engine):
    async with running_bot(engine) as (fake, _, _):
        (reply,) = await ask(fake, message(ALICE, "/start flytipping"))
        assert "www.contacthertspolice.uk/Report/Crime" in reply.text
        (reply,) = await ask(fake, message(ALICE, "/start victim_support_beacon"))
        assert "0300 011 55 55" in reply.text
        (reply,) = await ask(fake, message(ALICE, "/start %%<junk>"))
        assert reply.text == messages.WELCOME


async def test_a_question_gets_its_answer_in_html_with_feedback_buttons(engine):
    async with running_bot(engine) as (fake, _, _):
        (reply,) = await ask(fake, message(ALICE, "beacon numbr"))
        assert reply.params["parse_mode"] == "HTML"
        assert "<b>0300 011 55 55</b>" in reply.text
        assert [d for _, d in reply.buttons] == ["f:1", "f:0"]


def group_of(engine, intent: str) -> int:
    """The position of the menu group that lists ``intent``."""
    return next(n for n, g in enumerate(engine.content.menu.groups) if intent in g.intents)


async def edited(fake: FakeBotAPI, update: dict):
    """Push a button press and wait for the message it edits."""
    before = len(fake.sent("editMessageText"))
    fake.push(update)
    await fake.wait_for(lambda: len(fake.sent("editMessageText")) > before)
    return fake.sent("editMessageText")[-1]


async def test_topics_shows_groups_a_group_its_topics_and_a_topic_its_answer(engine):
    groups = engine.content.menu.groups
    async with running_bot(engine) as (fake, _, _):
        (menu,) = await ask(fake, message(ALICE, "/topics"))
        assert menu.text == messages.TOPICS
        pcc = group_of(engine, "contact_pcc")
        assert menu.buttons[pcc] == (groups[pcc].title, f"g:{pcc}")
        page = await edited(fake, callback(ALICE, f"g:{pcc}", menu.message_id))
        assert page.params["message_id"] == menu.message_id  # the menu turns its page
        assert groups[pcc].title in page.text
        assert [t for t, _ in page.buttons] == [
            *(engine.intents[i].title for i in groups[pcc].intents),
            messages.ALL_TOPICS,
        ]
        data = dict(page.buttons)["Contact the Police and Crime Commissioner"]
        (answer,) = await ask(fake, callback(ALICE, data, message_id=menu.message_id))
        assert "01707 806100" in answer.text
        back = await edited(fake, callback(ALICE, "g:-", menu.message_id))
        assert back.text == messages.TOPICS and back.buttons == menu.buttons


async def test_thumbs_down_offers_the_groups_then_a_groups_topics_and_something_else(engine):
    groups = engine.content.menu.groups
    async with running_bot(engine) as (fake, store, _):
        (answer,) = await ask(fake, message(ALICE, "how do I report fly tipping"))
        ref = answer.message_id
        (asked,) = await ask(fake, callback(ALICE, "f:0", ref))
        assert asked.buttons == [
            *((g.title, f"wg:{ref}:{n}") for n, g in enumerate(groups)),
            (messages.SOMETHING_ELSE, f"w:{ref}:-"),
        ]
        beacon = group_of(engine, "victim_support_beacon")
        page = await edited(fake, callback(ALICE, f"wg:{ref}:{beacon}", asked.message_id))
        assert page.text.startswith(messages.WHAT_WANTED) and groups[beacon].title in page.text
        assert page.buttons[-2:] == [
            (messages.ALL_TOPICS, f"wg:{ref}:-"),
            (messages.SOMETHING_ELSE, f"w:{ref}:-"),
        ]
        data = f"w:{ref}:victim_support_beacon"
        assert data in dict(page.buttons).values()
        (given,) = await ask(fake, callback(ALICE, data, asked.message_id))
        assert "0300 011 55 55" in given.text
        assert await store.flush(timeout=10)
        (unhelpful,) = await store.not_helpful(1)
        assert unhelpful.wanted == "victim_support_beacon"


async def test_every_menu_page_fits_telegram_and_forged_pages_have_expired(engine):
    """Every page of both menus, for the real content: under Telegram's 100 buttons and
    64 bytes of data (the fake Bot API refuses more, as Telegram does); every menu topic
    is on exactly one page."""
    groups = engine.content.menu.groups
    listed = [i for g in groups for i in g.intents]
    assert sorted(listed) == sorted(i.id for i in engine.topics)
    ref = 2**31 - 1  # the longest message id Telegram gives
    async with running_bot(engine, flood_messages=100) as (fake, _, _):  # a fast resident
        (menu,) = await ask(fake, message(ALICE, "/topics"))
        pages = [menu]
        for n in range(len(groups)):
            pages.append(await edited(fake, callback(ALICE, f"g:{n}", menu.message_id)))
            pages.append(await edited(fake, callback(ALICE, f"wg:{ref}:{n}", menu.message_id)))
        assert not [c for c in fake.calls if c.method.endswith(":rejected")]
        shown = {d.rpartition(":")[2] for p in pages for _, d in p.buttons if d.startswith("t:")}
        assert shown == set(listed)
        assert max(len(p.buttons) for p in pages) <= 100
        forged = ["g:99", "g:x", "g:1:2", "wg:1", "wg:x:0", f"wg:{ref}:{len(groups)}"]
        for data in forged:
            fake.push(callback(ALICE, data, message_id=menu.message_id))
        answered = 2 * len(groups) + len(forged)
        await fake.wait_for(lambda: len(fake.sent("answerCallbackQuery")) == answered)
        expired = fake.sent("answerCallbackQuery")[-len(forged) :]
        assert [c.params.get("text") for c in expired] == [messages.EXPIRED] * len(forged)


async def test_suggestions_are_buttons_and_choosing_one_replaces_them(engine):
    async with running_bot(engine) as (fake, _, _):
        (question,) = await ask(fake, message(ALICE, AMBIGUOUS))
        labels = [t for t, _ in question.buttons]
        other, _ = ambiguous_other(question.text)  # the likelier answer, at once
        assert labels == [other, "None of these"]
        choice = question.buttons[0][1]
        fake.push(callback(ALICE, choice, message_id=77))
        await fake.wait_for(lambda: fake.sent("editMessageText"))
        (edit,) = fake.sent("editMessageText")
        assert edit.params["message_id"] == 77
        assert [d for _, d in edit.buttons] == ["f:1", "f:0"]  # the suggestions are gone

        fake.push(callback(ALICE, "s:-", message_id=78))
        await fake.wait_for(lambda: len(fake.sent("editMessageText")) == 2)
        assert "101" in fake.sent("editMessageText")[1].text


async def test_unanswerable_question_gets_101_and_999_without_buttons(engine):
    async with running_bot(engine) as (fake, store, _):
        (reply,) = await ask(fake, message(ALICE, "how do I renew my library books online"))
        assert "<b>101</b>" in reply.text and "<b>999</b>" in reply.text
        assert reply.buttons == []
        (question,) = await store.questions(days=1)
        assert question.text == "how do I renew my library books online"


async def test_feedback_is_acknowledged_recorded_and_cannot_be_given_twice(engine):
    async with running_bot(engine) as (fake, store, _):
        (answer,) = await ask(fake, message(ALICE, "beacon number"))
        fake.push(callback(ALICE, "f:0", message_id=answer.message_id))
        await fake.wait_for(lambda: fake.sent("editMessageReplyMarkup"))
        (ack,) = fake.sent("answerCallbackQuery")
        assert ack.params["text"] == messages.FEEDBACK_THANKS
        (edit,) = fake.sent("editMessageReplyMarkup")
        assert edit.buttons == []  # the buttons are gone: no second vote
        (outcome,) = await store.outcomes(days=1)
        beacon = "victim_support_beacon"
        assert outcome == MessageOutcome(outcome.at, "answer", beacon, 0, closest=beacon)
        assert outcome.at == pytest.approx(time.time(), abs=60)


async def test_danger_gets_999_first_then_the_topic(engine):
    async with running_bot(engine) as (fake, _, _):
        (reply,) = await ask(fake, message(ALICE, "he is hitting me"))
        assert reply.text.index("999") < reply.text.index("0300 011 55 55")


async def test_stickers_photos_voice_locations_and_contacts_get_a_polite_text_only_reply(engine):
    media = [
        {
            "sticker": {
                "file_id": "s",
                "file_unique_id": "s",
                "width": 1,
                "height": 1,
                "is_animated": False,
                "is_video": False,
                "type": "regular",
            }
        },
        {"photo": [{"file_id": "p", "file_unique_id": "p", "width": 1, "height": 1}]},
        {"voice": {"file_id": "v", "file_unique_id": "v", "duration": 1}},
        {"location": {"latitude": 51.75, "longitude": -0.34}},
        {"contact": {"phone_number": "07700900123", "first_name": "Al"}},
        {"document": {"file_id": "d", "file_unique_id": "d"}},
    ]
    async with running_bot(engine) as (fake, store, _):
        for fields in media:
            (reply,) = await ask(fake, message(ALICE, **fields))
            assert "only read text" in reply.text
        await store.flush()
        stored = b"".join(p.read_bytes() for p in store.path.parent.glob("bot.sqlite3*"))
        assert b"07700900123" not in stored


async def test_a_photo_caption_is_read_as_the_question(engine):
    photo = [{"file_id": "p", "file_unique_id": "p", "width": 1, "height": 1}]
    async with running_bot(engine) as (fake, _, _):
        (reply,) = await ask(fake, message(ALICE, photo=photo, caption="rubbish dumped in lane"))
        assert "www.contacthertspolice.uk/Report/Crime" in reply.text


async def test_edited_messages_get_no_second_answer(engine):
    async with running_bot(engine) as (fake, _, _):
        await ask(fake, message(ALICE, "beacon number"))
        edited = message(ALICE, "beacon phone number")
        edited["edited_message"] = edited.pop("message")
        edited["edited_message"]["edit_date"] = edited["edited_message"]["date"]
        fake.push(edited)
        await fake.settle()
        assert len(fake.sent()) == 1


async def test_html_emoji_rtl_zero_width_and_huge_messages_are_answered_never_rejected(engine):
    texts = [
        "<b>beacon</b> & <script>alert('x')</script> number?",
        "🚓🚓 beacon 🚓 number",
        "\u202eرقم beacon\u200b\u200d",
        "fly tipping " * 900,  # ~10,000 characters
        "&amp; &lt;tag&gt; 5 < 6 > 2",
    ]
    async with running_bot(engine) as (fake, _, _):
        for text in texts:
            (reply,) = await ask(fake, message(ALICE, text))
            assert "<script>" not in reply.text
        assert not [c for c in fake.calls if c.method.endswith(":rejected")]


async def test_in_groups_only_mentions_replies_and_commands_are_answered(engine):
    group = {"chat_type": "group", "chat_id": -500}
    async with running_bot(engine) as (fake, _, _):
        fake.push(message(ALICE, "beacon number", **group))
        await fake.settle()
        assert fake.sent() == []
        (reply,) = await ask(fake, message(ALICE, f"@{BOT_USERNAME} beacon number", **group))
        assert "0300 011 55 55" in reply.text
        bot_message = {
            "message_id": 9,
            "date": 1,
            "chat": {"id": -500, "type": "group"},
            "from": {"id": BOT_ID, "is_bot": True, "first_name": "Bot"},
            "text": "x",
        }
        (reply,) = await ask(
            fake, message(ALICE, "what about fly tipping", reply_to_message=bot_message, **group)
        )
        assert "Report/Crime" in reply.text
        (reply,) = await ask(fake, message(ALICE, f"/privacy@{BOT_USERNAME}", **group))
        assert "/forget" in reply.text


async def test_channel_posts_and_updates_without_a_user_are_ignored(engine):
    post = {
        "channel_post": {
            "message_id": 1,
            "date": 1,
            "text": "beacon number",
            "chat": {"id": -100123, "type": "channel", "title": "News"},
        }
    }
    async with running_bot(engine) as (fake, _, _app):
        fake.push(post)
        await fake.settle()
        assert fake.sent() == []
        (reply,) = await ask(fake, message(ALICE, "beacon number"))  # still serving
        assert "0300" in reply.text


async def test_a_flood_from_one_user_gets_one_slow_down_and_others_are_unaffected(engine):
    async with running_bot(engine, flood_messages=12, flood_seconds=10) as (fake, _, _):
        fake.push(*[message(ALICE, f"beacon number {n}") for n in range(20)])
        # twelve different questions take a while to encode on a busy machine
        await fake.wait_for(lambda: len(fake.sent(chat_id=ALICE)) >= 13, timeout=30)
        await fake.settle()
        to_alice = fake.sent(chat_id=ALICE)
        assert len(to_alice) == 13
        assert sum(c.text == messages.SLOW_DOWN for c in to_alice) == 1
        (reply,) = await ask(fake, message(BOB, "beacon number"))
        assert "0300" in reply.text


async def test_stale_or_unknown_buttons_say_the_menu_has_expired(engine):
    async with running_bot(engine) as (fake, _, _):
        for data in ["t:no_such_topic", "s:retired_intent", "zzz", ""]:
            fake.push(callback(ALICE, data, message_id=3))
        await fake.wait_for(lambda: len(fake.sent("answerCallbackQuery")) == 4)
        assert {c.params.get("text") for c in fake.sent("answerCallbackQuery")} == {
            messages.EXPIRED
        }


async def test_a_handler_error_apologises_with_a_reference_and_keeps_serving(engine, caplog):
    async with running_bot(engine) as (fake, _, _):
        fake.fail_next("sendMessage", 500, "Internal Server Error")
        fake.push(message(ALICE, "my secret question about beacon"))
        await fake.wait_for(lambda: fake.sent(chat_id=ALICE))
        (apology,) = fake.sent(chat_id=ALICE)  # the failed reply was not delivered
        assert "reference" in apology.text
        ref = apology.text.split("reference ")[1][:8]
        assert ref in caplog.text
        assert "my secret question" not in caplog.text
        (reply,) = await ask(fake, message(BOB, "beacon number"))
        assert "0300" in reply.text


async def test_429_is_retried_and_the_reply_arrives_once(engine):
    async with running_bot(engine) as (fake, _, _):
        fake.fail_next("sendMessage", 429, "Too Many Requests: retry after 1", retry_after=1)
        fake.push(message(ALICE, "beacon number"))
        await fake.wait_for(lambda: fake.sent(), timeout=5)
        await fake.settle()
        assert len(fake.sent()) == 1
        assert [c.method for c in fake.calls if c.method.startswith("send")] == [
            "sendMessage:429",
            "sendMessage",
        ]


async def test_a_user_who_blocked_the_bot_is_logged_quietly(engine, caplog):
    caplog.set_level(logging.INFO)
    async with running_bot(engine) as (fake, _, _):
        fake.fail_next("sendMessage", 403, "Forbidden: bot was blocked by the user")
        fake.push(message(ALICE, "beacon number"))
        await fake.settle()
        assert "blocked the bot" in caplog.text
        assert not [r for r in caplog.records if r.levelno >= logging.ERROR]
        (reply,) = await ask(fake, message(BOB, "beacon number"))
        assert "0300" in reply.text


async def test_a_send_that_times_out_is_logged_and_the_bot_keeps_serving(engine, caplog):
    async with running_bot(engine) as (fake, _, _):
        fake.raise_next("sendMessage", TimedOut("Timed out"))
        fake.push(message(ALICE, "beacon number"))
        await fake.wait_for(lambda: "timed out on a reply" in caplog.text)
        assert fake.sent(chat_id=ALICE) == []  # no apology: the reply may have arrived
        (reply,) = await ask(fake, message(BOB, "beacon number"))
        assert "0300" in reply.text


async def test_polling_recovers_by_itself_after_a_502(engine):
    fake = FakeBotAPI()
    # PTB backs off 1.5x the poll interval after each failed poll (1 s from an interval of 0).
    async with running_bot(engine, fake=fake, poll_interval=0.01):
        for _ in range(2):
            fake.fail_next("getUpdates", 502, "Bad Gateway")
        await asyncio.sleep(0.1)
        (reply,) = await ask(fake, message(ALICE, "beacon number"))
        assert "0300" in reply.text


async def test_fifty_users_sending_ten_messages_at_once_each_get_one_reply_per_message(engine):
    async with running_bot(engine) as (fake, _, _):
        users = range(1000, 1050)
        fake.push(*[message(u, f"beacon number {n}") for n in range(10) for u in users])
        await fake.wait_for(lambda: len(fake.sent()) >= 500, timeout=30)
        await fake.settle()
        for u in users:
            assert len(fake.sent(chat_id=u)) == 10


async def test_replies_to_one_chat_are_paced(engine):
    async with running_bot(engine, pace_chat_per_second=20) as (fake, _, _):
        start = asyncio.get_running_loop().time()
        fake.push(*[message(ALICE, "beacon number") for _ in range(9)])
        await fake.wait_for(lambda: len(fake.sent()) == 9)
        # a burst of 3, then one every 1/20 s: at least 6 intervals of 0.05 s
        assert asyncio.get_running_loop().time() - start >= 0.25


async def test_updates_already_received_are_answered_on_shutdown(engine):
    async with running_bot(engine) as (fake, _, app):
        fake.push(*[message(2000 + n, "beacon number") for n in range(30)])
        await fake.wait_for(lambda: app.update_queue.qsize() > 0 or fake.sent(), timeout=5)
        await app.updater.stop()
        await app.stop()
        assert len(fake.sent()) == 30


async def test_privacy_and_forget(engine):
    async with running_bot(engine) as (fake, store, _):
        (reply,) = await ask(fake, message(ALICE, "/privacy"))
        assert "90 days" in reply.text and "/forget" in reply.text
        await ask(fake, message(ALICE, "what is the weather on mars"))
        await ask(fake, message(BOB, "what is the weather on mars"))
        assert len(await store.questions(days=1)) == 2
        (reply,) = await ask(fake, message(ALICE, "/forget"))
        assert reply.text == messages.FORGOTTEN.format(count=1)
        assert len(await store.questions(days=1)) == 1  # Bob's stays


async def test_unknown_commands_get_a_pointer_to_topics(engine):
    async with running_bot(engine) as (fake, _, _):
        (reply,) = await ask(fake, message(ALICE, "/stats"))
        assert reply.text == messages.UNKNOWN_COMMAND


async def test_a_self_hosted_bot_api_address_is_used(engine):
    async with running_bot(engine, api_url="http://127.0.0.1:8081") as (fake, _, _):
        await ask(fake, message(ALICE, "beacon number"))
        assert all(c.url.startswith("http://127.0.0.1:8081/bot") for c in fake.calls)
        assert TOKEN in fake.calls[0].url


async def test_crisis_gets_crisis_lines_without_rating_buttons(engine):
    async with running_bot(engine) as (fake, _, _):
        (reply,) = await ask(fake, message(ALICE, "i dont want to be alive anymore"))
        assert "116 123" in reply.text and "999" in reply.text
        assert reply.buttons == []


async def test_im_in_danger_button_under_an_unsure_reply_sends_the_emergency_reply(
    content_dir, encoder
):
    # Every message is "unsure", even a sure answer on a calm topic.
    content_dir.set_thresholds(danger=50, danger_unsure=-50, danger_unsure_answered=-50)
    content, problems = load_content(content_dir.intents, content_dir.knowledge)
    assert content is not None, problems
    async with running_bot(Engine(content, encoder)) as (fake, _, _):
        (reply,) = await ask(fake, message(ALICE, "beacon phone number"))
        assert reply.text.startswith("🚨 <b>If you or anyone else is in danger now, call 999.</b>")
        assert "0300 011 55 55" in reply.text
        assert reply.buttons[0] == ("🚨 I'm in danger now", "d:now")
        assert ("👍 Helpful", "f:1") in reply.buttons
        (emergency,) = await ask(fake, callback(ALICE, "d:now", message_id=reply.message_id))
        assert emergency.text.startswith("🚨 <b>If you or someone else is in danger now, call")
        assert "press <b>55</b>" in emergency.text
