"""Files in a content folder that no reader should follow (issue 23, item 5): each is one
problem on its file, found at once, and a reload through Telegram tells the admin why and
keeps the previous answers; a later good edit still goes live."""

from __future__ import annotations

import asyncio
import os
import time

import pytest

from bot.content.reading import MAX_FILE_BYTES, MAX_TOTAL_BYTES
from bot.matching.live import LiveContent
from tests.fake_telegram import message
from tests.telegram_harness import running_bot
from tests.test_telegram import ask

ADMIN, RESIDENT = 5101, 5202
# Nine levels of nine aliases: about 387 million strings if expanded.
ALIAS_BOMB = "a: &a [x, x, x, x, x, x, x, x, x]\n" + "".join(
    f"{chr(98 + n)}: &{chr(98 + n)} [{', '.join(['*' + chr(97 + n)] * 9)}]\n" for n in range(8)
)


async def problems_within(content_dir, seconds: float = 10.0) -> list[str]:
    """The content's problems, failing (not hanging) if reading takes too long."""
    return await asyncio.wait_for(asyncio.to_thread(content_dir.problems), seconds)


async def test_a_fifo_is_named_and_never_blocks_reading(content_dir):
    os.mkfifo(content_dir.intents / "pipe.yaml")
    assert await problems_within(content_dir) == [
        "intents/pipe.yaml:1: not read: this file is not a regular file (a pipe, device or "
        "folder); remove it"
    ]


async def test_an_alias_bomb_is_refused_on_its_line(content_dir):
    content_dir.write("intents/bomb.yaml", ALIAS_BOMB)
    started = time.monotonic()
    assert await problems_within(content_dir) == [
        "intents/bomb.yaml:2: an alias (*name) is not allowed in content files; write the value out"
    ]
    assert time.monotonic() - started < 5


async def test_links_out_of_the_folder_and_huge_files_are_not_read(content_dir, tmp_path):
    (content_dir.intents / "zero.yaml").symlink_to("/dev/zero")
    outside = tmp_path / "elsewhere.yaml"
    outside.write_text("id: elsewhere\n")
    (content_dir.intents / "elsewhere.yaml").symlink_to(outside)
    content_dir.write("intents/huge.yaml", "# padding\n" * (MAX_FILE_BYTES // 10 + 1))
    found = await problems_within(content_dir)
    outside_folder = "not read: this file is a link to a file outside its folder"
    assert len(found) == 3
    assert any(
        p.endswith(f"intents/elsewhere.yaml:1: {outside_folder}; copy the file in instead")
        for p in found
    )
    assert any(
        p.endswith(f"intents/zero.yaml:1: {outside_folder}; copy the file in instead")
        for p in found
    )
    assert (
        f"intents/huge.yaml:1: not read: this file is {MAX_FILE_BYTES + 10:,} bytes; content "
        f"files must be under {MAX_FILE_BYTES:,}"
    ) in found


async def test_files_each_under_the_cap_are_refused_together_before_any_is_read(content_dir):
    """A deploy tool's stray copies can each pass the file cap and still add up."""
    padding = "# padding\n" * (MAX_FILE_BYTES // 10 - 1)
    for n in range(MAX_TOTAL_BYTES // len(padding) + 1):
        content_dir.write(f"intents/copy{n:02d}.yaml", padding)
    found = await problems_within(content_dir)
    assert len(found) == 1 and "allowed; remove the files that do not belong there" in found[0]
    assert found[0].startswith(str(content_dir.intents))


LINKED_TO_ITSELF = "cannot read the file: Too many levels of symbolic links"


async def test_a_file_linked_to_itself_is_a_problem_on_that_file(content_dir):
    """Reading it raised (Python's link loop ``RuntimeError``), so no reload could say
    which file was wrong."""
    (content_dir.knowledge / "loop.yaml").symlink_to("loop.yaml")
    assert await problems_within(content_dir) == [f"knowledge/loop.yaml:1: {LINKED_TO_ITSELF}"]


async def test_the_watcher_names_a_file_linked_to_itself_and_goes_live_once_it_is_gone(
    content_dir, engine
):
    """The last good answers stay live, the watcher keeps looking (a link it cannot follow
    counts as a file, so removing it is a change), and the edit made meanwhile goes live."""
    live = LiveContent(engine, content_dir.intents, content_dir.knowledge)
    settings = {"admin_ids": frozenset({ADMIN}), "watch_content": True}
    async with running_bot(engine, live=live, **settings) as (fake, _, _):
        loop = content_dir.intents / "zz_loop.yaml"
        loop.symlink_to(loop.name)
        thanks = content_dir.intents / "thanks.yaml"
        thanks.write_text(thanks.read_text().replace("You're welcome.", "Glad to help!"))
        await fake.wait_for(lambda: fake.sent(chat_id=ADMIN), timeout=60)
        assert fake.sent(chat_id=ADMIN)[0].text.splitlines() == [
            "Content NOT reloaded: 1 error; the bot keeps the previous answers.",
            f"intents/zz_loop.yaml:1: {LINKED_TO_ITSELF}",
        ]
        (reply,) = await ask(fake, message(RESIDENT, "thank you very much"))
        assert reply.text.startswith("You're welcome.")
        (stats,) = await ask(fake, message(ADMIN, "/stats"))
        assert "watcher" not in stats.text  # a problem in a file, not a failing watcher

        loop.unlink()
        await fake.wait_for(lambda: len(fake.sent(chat_id=ADMIN)) == 3, timeout=90)
        assert fake.sent(chat_id=ADMIN)[2].text.startswith("Content reloaded:")
        (reply,) = await ask(fake, message(RESIDENT, "thank you very much"))
        assert reply.text.startswith("Glad to help!")


def test_a_link_within_its_folder_is_followed_as_a_configmap_mounts_files(content_dir):
    hidden = content_dir.intents / "..data"
    hidden.mkdir()
    beacon = content_dir.intents / "victim_support_beacon.yaml"
    beacon.rename(hidden / beacon.name)
    beacon.symlink_to(hidden / beacon.name)
    assert content_dir.problems() == []


@pytest.mark.parametrize("make", ["fifo", "bomb"])
async def test_a_reload_refuses_the_file_says_why_and_the_next_edit_goes_live(
    content_dir, engine, make
):
    live = LiveContent(engine, content_dir.intents, content_dir.knowledge)
    async with running_bot(engine, live=live, admin_ids=frozenset({ADMIN})) as (fake, _, _):
        if make == "fifo":
            os.mkfifo(content_dir.intents / "bad.yaml")
        else:
            content_dir.write("intents/bad.yaml", ALIAS_BOMB)
        report = await reload(fake)
        assert report.startswith("Content NOT reloaded: 1 error")
        assert "intents/bad.yaml" in report
        (reply,) = await ask(fake, message(RESIDENT, "beacon number"))
        assert "0300 011 55 55" in reply.text
        (content_dir.intents / "bad.yaml").unlink()
        assert (await reload(fake)).startswith("Content reloaded:")


async def test_a_reload_over_its_time_limit_keeps_the_content_and_the_next_one_goes_live(
    content_dir, engine, tmp_path
):
    """RELOAD_SECONDS far below what reading the files and training take: the reload is
    abandoned, the admin is told why, the last good answers stay live and /stats and the
    health line say so; a second /reload is answered (the lock was not left held). Then a
    bot with the default limit, on the same live content (its lock, the abandoned
    thread), takes the edit made meanwhile. Before, only reading had a limit (30 s, not a
    setting): training the models ran under the lock without one, and no status said so."""
    live = LiveContent(engine, content_dir.intents, content_dir.knowledge)
    thanks = content_dir.intents / "thanks.yaml"
    thanks.write_text(thanks.read_text().replace("You're welcome.", "Glad to help!"))
    health = tmp_path / "health"
    settings = {"admin_ids": frozenset({ADMIN}), "health_file": health}
    async with running_bot(engine, live=live, reload_seconds=0.001, **settings) as (fake, _, _):
        told = (
            "Content NOT reloaded: reloading took longer than 0.001 s; the last good content "
            "is still live. Send /reload to try again; if reloads often take this long, "
            "raise RELOAD_SECONDS."
        )
        assert await reload(fake) == told
        (reply,) = await ask(fake, message(RESIDENT, "thank you very much"))
        assert reply.text.startswith("You're welcome.")
        (stats,) = await ask(fake, message(ADMIN, "/stats"))
        status = "took longer than 0.001 s; the last good content is still live"
        assert stats.text.startswith("⚠️ content reload at ") and status in stats.text
        await fake.wait_for(lambda: health.exists() and status in health.read_text(), timeout=10)
        assert await reload(fake) == told

    async with running_bot(engine, live=live, **settings) as (fake, _, _):
        assert (await reload(fake)).startswith("Content reloaded:")
        (reply,) = await ask(fake, message(RESIDENT, "thank you very much"))
        assert reply.text.startswith("Glad to help!")
        (stats,) = await ask(fake, message(ADMIN, "/stats"))
        assert "took longer" not in stats.text


async def reload(fake) -> str:
    """The admin's /reload report; a reload retrains the models, which on a busy 2-core
    machine can take tens of seconds."""
    before = len(fake.sent(chat_id=ADMIN))
    fake.push(message(ADMIN, "/reload"))
    await fake.wait_for(lambda: len(fake.sent(chat_id=ADMIN)) > before, timeout=90)
    return fake.sent(chat_id=ADMIN)[before].text


@pytest.mark.parametrize("depth", [500, 50_000])
async def test_brackets_nested_thousands_deep_are_refused_at_once(content_dir, depth):
    started = time.monotonic()
    assert await problems_within(content_dir) == []
    usual = time.monotonic() - started  # reading the content as shipped, on this machine
    content_dir.write("intents/deep.yaml", "id: deep\nexamples: " + "[" * depth + "]" * depth)
    started = time.monotonic()
    assert await problems_within(content_dir) == [
        "intents/deep.yaml:2: lists or sections are nested more than 50 deep; "
        "check the brackets and indentation"
    ]
    assert time.monotonic() - started < 2 * usual + 2
