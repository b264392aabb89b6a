"""People's names in residents' questions: staff see them as [name] in `review` and the
HTML report, everyday words that are also names keep the question's meaning, public names
the content itself uses stay, and the names list is refused when its file is altered."""

from __future__ import annotations

import asyncio
import html
import importlib.util
import os
import subprocess
import sys
from pathlib import Path

import pytest

from bot.app.assembly import content_redactor
from bot.entry import main
from bot.storage.names import NAMES_FILE, NAMES_PACKAGE, read_names
from tests.conftest import project_content
from tests.fake_telegram import callback, message
from tests.telegram_harness import running_bot
from tests.test_telegram import ask

ROOT = Path(__file__).resolve().parents[1]
RESIDENT = 48151623
# Questions the bot cannot answer (so their text is kept), as staff then see them.
UNANSWERED = {
    "my landlord john keeps my deposit": "my landlord [name] keeps my deposit",
    "JOHN SMITH called sarah about the deposit": "[name] called [name] about the deposit",
    "Mrs Patel and PC Jones never got back about my neighbour dave": (
        "Mrs [name] and PC [name] never got back about my neighbour [name]"
    ),
    "will the police call me back about Grace Smith": ("will the police call me back about [name]"),
    "someone tried to rob me in Hatfield, my friend grace saw it": (
        "someone tried to rob me in [place], my friend [name] saw it"
    ),
    "can my landlord sue me, he says my neighbour Rose is lying": (
        "can my landlord sue me, he says my neighbour [name] is lying"
    ),
}
# Answered, then rated 👎, which keeps the question.
RATED = (
    "my ex Dave says clares law doesnt apply to him",
    "my ex [name] says clares law doesnt apply to him",
)


async def test_names_are_replaced_in_what_review_and_the_report_show(engine, tmp_path, capsys):
    database = tmp_path / "bot.sqlite3"
    async with running_bot(engine, database=database) as (fake, _, _):
        for text in UNANSWERED:
            await ask(fake, message(RESIDENT, text))
        (answer,) = await ask(fake, message(RESIDENT, RATED[0]))
        await ask(fake, callback(RESIDENT, "f:0", answer.message_id))

    db = ["--database", str(database)]
    assert await asyncio.to_thread(main, ["review", *db]) == 0
    review = capsys.readouterr().out
    out = tmp_path / "report.html"
    assert await asyncio.to_thread(main, ["report", "--days", "30", "-o", str(out), *db]) == 0
    page = html.unescape(out.read_text(encoding="utf-8"))
    for text, stored in UNANSWERED.items():
        assert f'"{stored}"' in review and stored in page
        assert text not in review and text not in page
    assert RATED[1] in page and RATED[0] not in page
    assert "a name it does not recognise can remain" in " ".join(page.split())  # the footer
    for name in ("john", "smith", "sarah", "patel", "jones", "dave", "grace", "rose"):
        assert name not in review.lower()


KEPT_WORDS = [
    (
        "will the police call me back? my son Will says they won't",
        "will the police call me back? my son [name] says they won't",
    ),
    (
        "someone tried to rob me in Hatfield, then Sue Patel ran off",
        "someone tried to rob me in [place], then [name] ran off",  # towns: as before
    ),
    (
        "can my landlord sue me? the letter is from Mr Hope",
        "can my landlord sue me? the letter is from Mr [name]",
    ),
    (
        "my son will mark the car jack so bill from the garage knows, says Dave",
        "my son will mark the car jack so bill from the garage knows, says [name]",
    ),
    (
        "may I chase it? rose bushes and grace period, ask Sarah",
        "may I chase it? rose bushes and grace period, ask [name]",
    ),
    (
        "herts police in watford, stevenage and hatfield, DC Khan said",
        "herts police in [place], [place] and [place], DC [name] said",
    ),
    (
        "my neighbours little dog bit me, Mrs O'Brien saw",
        "my neighbours little dog bit me, Mrs [name] saw",
    ),
    (
        "MY LANDLORD WILL NOT RETURN MY DEPOSIT, ASK KAREN",
        "MY LANDLORD WILL NOT RETURN MY DEPOSIT, ASK [name]",
    ),
    (
        "someone tried to nick my bike in may, a man named Wojciech",
        "someone tried to nick my bike in may, a man named [name]",
    ),
    ("Dave's car was keyed on Green Lane", "[name]'s car was keyed on Green Lane"),
    # names the content itself uses are public, unless they are someone's
    (
        "is charlie hall still chief constable? my mate Charlie Hall says so",
        "is charlie hall still chief constable? my mate [name] says so",
    ),
    ("is Clare's Law for me? my ex Mark", "is Clare's Law for me? my ex [name]"),
    (
        "sarahs law and the herbert protocol for my dad John",
        "sarahs law and the herbert protocol for my dad [name]",
    ),
]


@pytest.mark.parametrize(("text", "stored"), KEPT_WORDS)
def test_words_that_are_also_names_keep_their_meaning(text, stored):
    assert content_redactor(project_content())(text) == stored


def test_staff_commands_refuse_a_names_list_whose_file_is_not_the_pinned_one(tmp_path):
    """A copy of the package ahead of the installed one on the path: as shipped it is used,
    altered (one name taken out, which nothing else would notice) it is refused."""
    spec = importlib.util.find_spec(NAMES_PACKAGE)
    assert spec is not None and spec.submodule_search_locations
    shipped = Path(next(iter(spec.submodule_search_locations))) / NAMES_FILE
    copy = tmp_path / "packages" / NAMES_PACKAGE / NAMES_FILE
    copy.parent.mkdir(parents=True)
    (tmp_path / "packages" / NAMES_PACKAGE / "__init__.py").write_text("")
    database = tmp_path / "bot.sqlite3"
    database.touch()
    review = [sys.executable, "-m", "bot", "review", "--database", str(database)]
    env = {**os.environ, "PYTHONPATH": str(tmp_path / "packages")}

    copy.write_bytes(shipped.read_bytes())
    ran = subprocess.run(review, env=env, cwd=ROOT, capture_output=True, text=True, check=False)
    assert (ran.returncode, ran.stderr) == (0, "")
    assert "No unanswered questions" in ran.stdout

    copy.write_text(shipped.read_text(encoding="utf-8").replace('"Sarah",', ""))
    ran = subprocess.run(review, env=env, cwd=ROOT, capture_output=True, text=True, check=False)
    assert ran.returncode == 2
    assert (
        ran.stderr
        == f"error: {copy} does not have the pinned SHA-256 digest; reinstall the package faker\n"
    )
    assert "sarah" in read_names(shipped)
