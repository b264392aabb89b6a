"""Residents who write in another language get the safety numbers in their language."""

from __future__ import annotations

import json
import logging
from collections import Counter
from html.parser import HTMLParser
from pathlib import Path

import pytest

from bot.entry import main
from bot.matching.reply import ReplyKind
from tests.fake_telegram import message
from tests.telegram_harness import running_bot

DATA = Path(__file__).parent / "data" / "languages.jsonl"
ROWS = [json.loads(line) for line in DATA.read_text(encoding="utf-8").splitlines()]
CARD_LANGUAGES = sorted({row["language"] for row in ROWS} - {"en"})


@pytest.fixture(scope="module")
def replies(engine):
    return engine.respond_many([row["text"] for row in ROWS])


def test_the_labelled_file_covers_every_card_language_and_english_with_names():
    counts = Counter(row["language"] for row in ROWS)
    assert len(CARD_LANGUAGES) >= 12 and {"ar", "ur"} <= set(CARD_LANGUAGES)
    assert all(counts[code] >= 20 for code in CARD_LANGUAGES)
    assert counts["en"] >= 100
    kinds = {(row["language"], row["kind"]) for row in ROWS}
    for code in CARD_LANGUAGES:
        assert {(code, "question"), (code, "danger"), (code, "greeting")} <= kinds


def test_the_card_languages_are_the_ones_with_cards(engine):
    assert sorted(engine.cards) == CARD_LANGUAGES


def test_language_is_chosen_right_for_at_least_95_percent(replies):
    right = sum(reply.language == row["language"] for row, reply in zip(ROWS, replies, strict=True))
    assert right / len(ROWS) >= 0.95


def test_no_english_message_gets_a_card(replies, engine):
    cards = set(engine.cards.values())
    for row, reply in zip(ROWS, replies, strict=True):
        if row["language"] == "en":
            assert reply.kind is not ReplyKind.CARD, row["text"]
            assert reply.language in ("en", None), row["text"]
            assert not any(card in reply.html for card in cards), row["text"]


def test_every_danger_message_gets_the_card_with_999_first_then_the_english_emergency(
    replies, engine
):
    english = engine.rendered[engine.emergency_id]
    for row, reply in zip(ROWS, replies, strict=True):
        if row["kind"] != "danger":
            continue
        assert reply.kind is ReplyKind.EMERGENCY, row["text"]
        card = engine.cards[reply.language]
        assert reply.html.startswith(card.split("\n")[0]), row["text"]
        assert "<b>999</b>" in reply.html.split("\n")[0]
        assert reply.html.endswith(english)


def test_questions_and_greetings_told_apart_get_their_card_not_an_alarm(replies, engine):
    for row, reply in zip(ROWS, replies, strict=True):
        if (
            row["language"] != "en"
            and row["kind"] != "danger"
            and reply.language == row["language"]
        ):
            assert reply.kind is ReplyKind.CARD, row["text"]
            assert reply.html == engine.cards[row["language"]]


def test_a_short_message_is_not_guessed_unless_telegrams_language_agrees(engine):
    for text in ("ok", "Cześć", "Merhaba"):
        assert engine.respond(text).language is None
        assert engine.respond(text).kind is not ReplyKind.CARD
    assert (
        engine.respond("Cześć", hint="pl").kind,
        engine.respond("Merhaba", hint="tr-TR").language,
    ) == (
        ReplyKind.CARD,
        "tr",
    )
    assert engine.respond("hello", hint="pl").kind is not ReplyKind.CARD


def test_a_short_cry_for_help_gets_999_first_even_when_the_language_is_unsure(engine):
    reply = engine.respond("Ratunku!")
    assert (reply.language, reply.kind) == ("pl", ReplyKind.EMERGENCY)
    assert reply.html.startswith(engine.cards["pl"])


def test_telegrams_language_does_not_turn_an_english_question_into_a_card(engine):
    reply = engine.respond("how do I contact beacon", hint="pl")
    assert (reply.language, reply.kind, reply.intent) == (
        "en",
        ReplyKind.ANSWER,
        "victim_support_beacon",
    )


def test_mixed_messages_with_a_few_foreign_words_are_answered_in_english(engine):
    reply = engine.respond("dzień dobry, what is the beacon phone number")
    assert (reply.language, reply.kind, reply.intent) == (
        "en",
        ReplyKind.ANSWER,
        "victim_support_beacon",
    )


def test_cards_give_the_same_numbers_as_the_english_card(engine):
    for code, card in engine.cards.items():
        for number in ("<b>999</b>", "<b>101</b>", "0300 011 55 55", "08000 121 700"):
            assert number in card, (code, number)


def test_ask_json_reports_the_language_and_the_card(capsys):
    assert main(["ask", "--json", "gdzie zgłosić przestępstwo"]) == 0
    polish = json.loads(capsys.readouterr().out)
    assert (polish["language"], polish["kind"], polish["intent"]) == ("pl", "card", None)
    assert polish["reply"].startswith("🚨 <b>Zagrożenie teraz?")
    assert main(["ask", "--json", "on ma nóż, pomocy"]) == 0
    danger = json.loads(capsys.readouterr().out)
    assert (danger["language"], danger["kind"]) == ("pl", "emergency")
    assert danger["reply"].startswith(polish["reply"].split("\n")[0])
    assert main(["ask", "--json", "beacon phone number"]) == 0
    english = json.loads(capsys.readouterr().out)
    assert (english["language"], english["kind"]) == ("en", "answer")
    assert set(english) == {
        "text",
        "kind",
        "intent",
        "confidence",
        "suggestions",
        "reply",
        "language",
    }


# -- validate


def _card_problems(content_dir):
    return [p for p in content_dir.problems() if "_languages" in p and "not been reviewed" not in p]


def test_validate_catches_a_card_whose_number_differs_from_the_english_one(content_dir):
    content_dir.with_cards()
    path = content_dir.intents / "_languages" / "pl.yaml"
    text = path.read_text(encoding="utf-8")
    line = next(n for n, t in enumerate(text.splitlines(), 1) if "{beacon.phone}" in t)
    card_line = next(n for n, t in enumerate(text.splitlines(), 1) if t.startswith("card:"))
    path.write_text(text.replace("{beacon.phone}", "{crimestoppers.phone}"), encoding="utf-8")
    assert _card_problems(content_dir) == [
        f"intents/_languages/pl.yaml:{card_line}: {{beacon.phone}} is on the English card "
        "(intents/_languages/en.yaml) but missing here; add it so this card gives the same numbers",
        f"intents/_languages/pl.yaml:{line}: {{crimestoppers.phone}} is not on the English card "
        "(intents/_languages/en.yaml); every card carries exactly the English card's numbers",
    ]


def test_validate_rejects_a_typed_number_and_a_missing_999_line(content_dir):
    content_dir.with_cards()
    path = content_dir.intents / "_languages" / "ro.yaml"
    text = path.read_text(encoding="utf-8")
    line = next(n for n, t in enumerate(text.splitlines(), 1) if "{beacon.phone}" in t)
    text = text.replace("{beacon.phone}", "{beacon.phone} (0300 011 55 55)")
    path.write_text(text, encoding="utf-8")
    assert _card_problems(content_dir) == [
        f"intents/_languages/ro.yaml:{line}: a card must not type digits; refer to the fact, "
        "e.g. {beacon.phone}",
    ]


def test_unreviewed_cards_are_warnings_in_validate(content_dir):
    content_dir.with_cards()
    warnings = [p for p in content_dir.problems() if "not been reviewed" in p]
    assert len(warnings) == len(CARD_LANGUAGES)
    assert "intents/_languages/ar.yaml:5: warning: the 'ar' card" in "\n".join(warnings)
    path = content_dir.intents / "_languages" / "ar.yaml"
    path.write_text(path.read_text(encoding="utf-8").replace("reviewed: false", "reviewed: true"))
    assert (
        len([p for p in content_dir.problems() if "not been reviewed" in p])
        == len(CARD_LANGUAGES) - 1
    )


async def test_admins_stats_list_the_unreviewed_cards(engine):
    async with running_bot(engine, admin_ids=frozenset({900})) as (fake, _, _):
        before = len(fake.sent())
        fake.push(message(900, "/stats"))
        await fake.wait_for(lambda: len(fake.sent()) > before)
        report = fake.sent()[-1].text
    assert f"Language cards not yet reviewed by a fluent speaker ({len(CARD_LANGUAGES)})" in report
    assert "Polski (pl)" in report and "العربية (ar)" in report
    assert "Translated by: machine-assisted draft, engineering team." in report


# -- Telegram


class _Tags(HTMLParser):
    """Telegram's HTML: every tag closed in order."""

    def __init__(self) -> None:
        super().__init__()
        self.open: list[str] = []

    def handle_starttag(self, tag, attrs):
        self.open.append(tag)

    def handle_endtag(self, tag):
        assert self.open.pop() == tag


async def test_polish_and_arabic_messages_get_their_cards_through_the_bot_api(engine, caplog):
    caplog.set_level(logging.INFO)
    polish = message(101, "gdzie zgłosić przestępstwo")
    arabic = message(202, "أين يمكنني الإبلاغ عن جريمة؟")
    arabic["message"]["from"]["language_code"] = "ar"
    async with running_bot(engine) as (fake, _, _):
        for update, code in ((polish, "pl"), (arabic, "ar")):
            before = len(fake.sent())
            fake.push(update)
            await fake.wait_for(lambda b=before: len(fake.sent()) > b)
            (reply,) = fake.sent()[before:]
            assert reply.params["parse_mode"] == "HTML"
            assert reply.text == engine.cards[code]  # RTL text arrives exactly as written
            tags = _Tags()
            tags.feed(reply.text)
            assert tags.open == []
        assert not [c for c in fake.calls if c.method.endswith(":rejected")]
    logged = [r.getMessage() for r in caplog.records]
    assert "reply card to a message in language pl" in logged
    assert "reply card to a message in language ar" in logged
    assert not any("جريمة" in line or "przestępstwo" in line for line in logged)
