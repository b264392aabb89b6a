"""Right place, right time: the resident's town names their council, team or force, and a
frozen clock decides what is open now. Through the real Application and the fake Bot API."""

from __future__ import annotations

import re
import sqlite3
from datetime import UTC, datetime, timedelta

import pytest

from bot.content.loading import load_content
from bot.content.opening_hours import UK
from bot.settings import Settings
from tests.fake_telegram import FakeBotAPI, callback, message
from tests.telegram_harness import running_bot
from tests.web_harness import WebClient, running_web_chat

ALICE, BOB = 301, 302
DISTRICTS = [
    "Broxbourne",
    "Dacorum",
    "East Herts",
    "Hertsmere",
    "North Herts",
    "St Albans",
    "Stevenage",
    "Three Rivers",
    "Watford",
    "Welwyn Hatfield",
]


class FrozenClock:
    """The moment the bot believes it is; tests move it on."""

    def __init__(self, moment: datetime) -> None:
        self.moment = moment

    def __call__(self) -> datetime:
        return self.moment


async def ask(fake: FakeBotAPI, update: dict):
    before = len(fake.sent())
    fake.push(update)
    await fake.wait_for(lambda: len(fake.sent()) >= before + 1)
    (reply,) = fake.sent()[before:]
    return reply


# -- places


async def test_a_town_or_postcode_in_the_message_names_the_council_or_the_other_force(engine):
    async with running_bot(engine) as (fake, _, _):
        royston = await ask(fake, message(ALICE, "fly tipping in Royston"))
        assert "Royston</b>: North Herts Council" in royston.text
        assert "north-herts.gov.uk/index/environment_and_planning" in royston.text
        stevenage = await ask(fake, message(BOB, "noise stevenage"))
        assert "Stevenage Borough Council" in stevenage.text
        assert "stevenage.gov.uk/environment/pollution/noise" in stevenage.text
        enfield = await ask(fake, message(302_1, "I live in Enfield EN2"))
        assert "policed by <b>the Metropolitan Police</b>" in enfield.text
        assert "met.police.uk/report/how-to-report-a-crime" in enfield.text
        luton = await ask(fake, message(302_2, "LU1"))
        assert "policed by <b>Bedfordshire Police</b>" in luton.text
        assert "bedfordshire.police.uk" in luton.text


async def test_a_district_spanning_councils_asks_for_the_town_and_the_answer_follows(engine):
    async with running_bot(engine) as (fake, _, _):
        asked = await ask(fake, message(ALICE, "fly tipping SG3"))
        assert "SG3 covers more than one council area. Which town or postcode?" in asked.text
        assert [label for label, _ in asked.buttons][:10] == DISTRICTS
        answered = await ask(fake, message(ALICE, "Knebworth"))
        assert "Knebworth</b>: North Herts Council" in answered.text
        assert "Report fly-tipping to them" in answered.text
        assert "unlimited fine" in asked.text and "unlimited fine" not in answered.text  # once


async def test_no_place_asks_with_a_button_per_district_and_the_button_answers(engine):
    async with running_bot(engine) as (fake, _, _):
        asked = await ask(fake, message(ALICE, "someone dumped rubbish in our lane"))
        assert "Which town or postcode?" in asked.text
        buttons = dict(asked.buttons)
        assert list(buttons)[:10] == DISTRICTS
        dacorum = await ask(fake, callback(ALICE, buttons["Dacorum"], asked.message_id))
        assert "Dacorum</b>: Dacorum Borough Council" in dacorum.text
        assert "dacorum.gov.uk/home/environment-street-care/clean-safe-green/flytipping" in (
            dacorum.text
        )
        assert "unlimited fine" in asked.text and "unlimited fine" not in dacorum.text  # once


async def test_the_place_is_remembered_for_the_chat_until_forget_or_a_quiet_half_hour(engine):
    clock = FrozenClock(datetime(2026, 12, 7, 12, 0, tzinfo=UK))
    async with running_bot(engine, clock=clock) as (fake, _, _):
        await ask(fake, message(ALICE, "fly tipping in Royston"))
        graffiti = await ask(fake, message(ALICE, "graffiti on the bus shelter"))
        assert "Royston</b>: North Herts Council" in graffiti.text
        other = await ask(fake, message(BOB, "graffiti on the bus shelter"))
        assert "Which town or postcode?" in other.text  # another resident: not theirs
        clock.moment += timedelta(minutes=29)
        assert "North Herts" in (await ask(fake, message(ALICE, "dog fouling"))).text
        clock.moment += timedelta(minutes=31)
        quiet = await ask(fake, message(ALICE, "dog fouling"))
        assert "North Herts" not in quiet.text and "Which town or postcode?" in quiet.text
        await ask(fake, message(ALICE, "noise in Watford"))
        await ask(fake, message(ALICE, "/forget"))
        forgotten = await ask(fake, message(ALICE, "dog fouling"))
        assert "Watford" not in forgotten.text and "Which town or postcode?" in forgotten.text


async def test_the_place_never_reaches_the_question_log(engine):
    async with running_bot(engine) as (fake, store, _):
        await ask(fake, message(ALICE, "fly tipping"))
        await ask(fake, message(ALICE, "Royston"))  # answers "Which town?": no question
        await ask(fake, message(BOB, "who empties the bins in Bishops Stortford AL3"))
        assert await store.flush(timeout=10)
        kept = [q.text for q in await store.questions(30)]
    assert kept == ["who empties the bins in [place] [place]"]


def test_every_town_in_the_data_resolves_to_one_council_or_force():
    settings = Settings()
    content, problems = load_content(settings.intents, settings.knowledge)
    assert content is not None, problems
    places = content.places
    assert [b.label for b in places.councils.values()] == DISTRICTS
    assert len(places.towns) > 100
    for place in places.towns.values():
        assert place.body is not None, f"{place.name} asks; a town must name its council"
        assert places.body(place.body) is not None, place.name
    for code in ("SG3", "WD25", "AL3"):
        assert places.postcodes[code].body is None  # spans councils: ask
    assert places.postcodes["EN2"].body == "met" and places.postcodes["LU1"].body == "bedfordshire"


@pytest.mark.parametrize(
    ("entry", "complaint"),
    [
        ("  Royston:\n", "town 'Royston' has no council"),
        ("  Royston: north_hurts\n", "unknown council or force 'north_hurts'"),
    ],
)
def test_validate_refuses_a_town_with_no_council_or_an_unknown_one(content_dir, entry, complaint):
    path = content_dir.knowledge / "_places.yaml"
    text = path.read_text(encoding="utf-8").replace("  Royston: north_herts\n", entry)
    path.write_text(text, encoding="utf-8")
    line = text.splitlines().index(entry.rstrip("\n")) + 1
    found = [p for p in content_dir.problems() if complaint in p]
    assert found and found[0].startswith(f"knowledge/_places.yaml:{line}:"), found


def test_validate_refuses_a_malformed_postcode_district_and_a_place_given_twice(content_dir):
    path = content_dir.knowledge / "_places.yaml"
    text = path.read_text(encoding="utf-8")
    text = text.replace("  SG1: stevenage\n", "  SGX: stevenage\n  sg4: stevenage\n")
    path.write_text(text, encoding="utf-8")
    problems = "\n".join(content_dir.problems())
    assert "'SGX' is not a postcode district" in problems
    assert "postcode district 'SG4' is given twice (first on line 200)" in problems


def test_a_folder_where_the_places_file_should_be_is_a_problem_not_no_places(content_dir):
    path = content_dir.knowledge / "_places.yaml"
    path.unlink()
    path.mkdir()
    assert [p for p in content_dir.problems() if "_places.yaml" in p] == [
        "knowledge/_places.yaml:1: cannot read the file: Is a directory"
    ]


def test_validate_refuses_malformed_hours_with_file_and_line(content_dir):
    path = content_dir.knowledge / "safeguarding.yaml"
    good = "  opening_hours: Mon-Fri 10:00-16:00\n"
    text = path.read_text(encoding="utf-8").replace(good, "  opening_hours: weekdays 10-4\n")
    path.write_text(text, encoding="utf-8")
    line = text.splitlines().index("  opening_hours: weekdays 10-4") + 1
    (problem,) = [p for p in content_dir.problems() if "opening_hours" in p]
    assert problem.startswith(f"knowledge/safeguarding.yaml:{line}:")
    assert "write them like 'Mon-Fri 09:00-17:00'" in problem


def test_validate_refuses_an_unknown_local_route(content_dir):
    path = content_dir.intents / "noise_nuisance.yaml"
    path.write_text(
        path.read_text(encoding="utf-8").replace("local: noise", "local: bins"), "utf-8"
    )
    assert any(
        p.startswith("intents/noise_nuisance.yaml:") and "local 'bins' must be one of" in p
        for p in content_dir.problems()
    )


# -- hours, with a frozen clock

DA_HELPLINE = "Hertfordshire Domestic Abuse Helpline (free and confidential)</b>: "
REPORT_FRAUD = "Report Fraud (the national service for reporting fraud and cyber crime)</b>: "
NOW_INSTEAD = "Now: call <b>101</b> (24 hours)"


@pytest.mark.parametrize(
    ("moment", "question", "expected", "closed"),
    [
        # Christmas Day 2026, a Friday: closed, and Boxing Day's substitute Monday too.
        (
            datetime(2026, 12, 25, 10, 0, tzinfo=UK),
            "how do I report fraud",
            REPORT_FRAUD + "Closed now (Christmas Day, a bank holiday). Opens Tuesday at 8am.",
            True,
        ),
        # Easter Monday 2026 (6 April).
        (
            datetime(2026, 4, 6, 12, 0, tzinfo=UK),
            "domestic abuse helpline number",
            DA_HELPLINE + "Closed now (Easter Monday, a bank holiday). Opens tomorrow at 9am.",
            True,
        ),
        # A Monday at 8:59, then at 9:00.
        (
            datetime(2026, 12, 7, 8, 59, tzinfo=UK),
            "domestic abuse helpline number",
            DA_HELPLINE + "Closed now. Opens today at 9am.",
            True,
        ),
        (
            datetime(2026, 12, 7, 9, 0, tzinfo=UK),
            "domestic abuse helpline number",
            DA_HELPLINE + "Open now, until 9pm today.",
            False,
        ),
        # The Sundays the clocks change, given in UTC: 08:30 UTC is 09:30 in British
        # Summer Time (open) on 29 March, and 08:30 in GMT (not yet open) on 25 October.
        (
            datetime(2026, 3, 29, 8, 30, tzinfo=UTC),
            "domestic abuse helpline number",
            DA_HELPLINE + "Open now, until 4pm today.",
            False,
        ),
        (
            datetime(2026, 10, 25, 8, 30, tzinfo=UTC),
            "domestic abuse helpline number",
            DA_HELPLINE + "Closed now. Opens today at 9am.",
            True,
        ),
    ],
    ids=["christmas", "easter-monday", "monday-8.59", "monday-9.00", "bst-starts", "bst-ends"],
)
async def test_an_answer_naming_a_contact_with_hours_says_what_is_open_now(
    engine, moment, question, expected, closed
):
    async with running_bot(engine, clock=FrozenClock(moment)) as (fake, _, _):
        reply = await ask(fake, message(ALICE, question))
    assert expected in reply.text
    assert (NOW_INSTEAD in reply.text) is closed


# -- admins see places, never with a resident


async def test_the_report_counts_questions_by_district_without_any_resident(engine, tmp_path):
    database = tmp_path / "bot.sqlite3"
    admin = 900
    async with running_bot(engine, database=database, admin_ids=frozenset({admin})) as (
        fake,
        store,
        _,
    ):
        await ask(fake, message(ALICE, "fly tipping in Royston"))
        await ask(fake, message(ALICE, "graffiti on the bus shelter"))  # Royston, remembered
        await ask(fake, message(BOB, "noise stevenage"))
        await ask(fake, message(302_3, "LU1"))
        assert await store.flush(timeout=10)
        fake.push(message(admin, "/report 30"))
        await fake.wait_for(lambda: fake.sent("sendDocument"))
        (sent,) = fake.sent("sendDocument")
        ((_, content, _),) = sent.files.values()
    page = content.decode("utf-8")
    section = page[page.index("Questions by district or borough") :]
    assert re.search(r"North Herts</span>.*?<span class=\"value\">2</span>", section)
    assert re.search(r"Stevenage</span>.*?<span class=\"value\">1</span>", section)
    assert re.search(r"Bedfordshire Police</span>.*?<span class=\"value\">1</span>", section)
    with sqlite3.connect(database) as db:
        columns = [row[1] for row in db.execute("PRAGMA table_info(place_counts)")]
        assert columns == ["day", "place", "asked"]  # no user, no time of day


async def test_the_web_chat_shows_the_districts_as_buttons_and_clear_this_chat_forgets(
    engine, tmp_path
):
    async with running_web_chat(engine, tmp_path) as chat, WebClient(chat.url) as client:
        asked = await client.ask("someone dumped rubbish in our lane")
        assert "Which town or postcode?" in asked["html"]
        buttons = {b["label"]: b["data"] for b in asked["buttons"]}
        assert list(buttons)[:10] == DISTRICTS
        watford = (await client.press(asked, buttons["Watford"])).json()["message"]
        assert "Watford Borough Council" in watford["html"] and watford["feedback"]
        assert "Watford" in (await client.ask("graffiti on a wall"))["html"]  # remembered
        assert (await client.post("/api/forget", {})).status_code == 200
        again = await client.ask("graffiti on a wall")
        assert "Watford" not in again["html"] and "Which town or postcode?" in again["html"]
