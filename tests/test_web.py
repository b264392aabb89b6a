"""The web chat over HTTP: the real server on a free port, called as a page would call it.
Answers, buttons and votes; the same answers as Telegram; limits, headers and hostile
input (never a 500, never a stopped server)."""

from __future__ import annotations

import asyncio
import contextlib
import html
import json
import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx

from bot.web.markup import to_web_html
from bot.web.server import beside
from tests.fake_telegram import message
from tests.postgres_server import free_port
from tests.questions import AMBIGUOUS, UNSURE
from tests.resident_data import RESIDENT_DATA
from tests.telegram_harness import running_bot
from tests.web_harness import WebClient, running_web_chat, wait_until_serving

ROOT = Path(__file__).resolve().parents[1]
BEACON = "0300 011 55 55"


def as_text(markup: str) -> str:
    """What a reader sees of Telegram or web HTML: the words, without tags."""
    return html.unescape(re.sub(r"<[^>]+>", "", markup.replace("<br>", "\n"))).strip()


async def test_a_question_gets_the_engines_answer_with_feedback_and_a_session(engine, tmp_path):
    async with running_web_chat(engine, tmp_path) as chat, WebClient(chat.url) as client:
        beacon = await client.ask("how do I contact beacon")
        assert beacon["kind"] == "answer" and BEACON in beacon["html"]
        assert beacon["feedback"] and beacon["buttons"] == []
        assert re.fullmatch(r"[0-9a-f]{32}", client.session or "")
        danger = await client.ask("he has a knife and is outside my door right now")
        assert danger["kind"] == "emergency"
        assert "999" in as_text(danger["html"]).splitlines()[0]


async def test_did_you_mean_buttons_answer_and_none_of_these_is_logged(engine, tmp_path):
    async with running_web_chat(engine, tmp_path) as chat, WebClient(chat.url) as client:
        unsure = await client.ask(AMBIGUOUS)
        assert unsure["kind"] == "suggest"
        *topics, none = unsure["buttons"]
        assert none == {"label": "None of these", "data": "s:-"}
        assert [b["label"] for b in topics] == [engine.intents[b["data"][2:]].title for b in topics]
        chosen = (await client.press(unsure, topics[0]["data"])).json()["message"]
        assert chosen["kind"] == "answer" and chosen["feedback"]
        assert chosen["html"] == to_web_html(engine.answer_for(topics[0]["data"][2:]).html)
        again = await client.ask(AMBIGUOUS)
        gave_up = (await client.press(again, "s:-")).json()["message"]
        assert "Try asking in other words" in gave_up["html"] and not gave_up["feedback"]
        expired = await client.press(again, "s:no_such_topic")
        assert expired.status_code == 400 and "expired" in expired.json()["error"]
        assert await chat.store.flush(timeout=30)
        kinds = [o.kind for o in await chat.store.outcomes(1)]
    assert sorted(kinds) == ["answer", "fallback", "suggest", "suggest"]


async def test_the_danger_button_of_an_unsure_reply_sends_the_emergency_reply(engine, tmp_path):
    async with running_web_chat(engine, tmp_path) as chat, WebClient(chat.url) as client:
        unsure = await client.ask(UNSURE)
        assert as_text(unsure["html"]).startswith("🚨 If you or anyone else is in danger now")
        assert unsure["buttons"][0] == {
            "label": "🚨 I'm in danger now",
            "data": "d:now",
            "danger": True,
        }
        emergency = (await client.press(unsure, "d:now")).json()["message"]
        assert emergency["kind"] == "emergency"
        assert "999" in as_text(emergency["html"]).splitlines()[0]


async def test_a_thumbs_down_asks_what_was_wanted_and_clear_forgets_the_session(engine, tmp_path):
    async with running_web_chat(engine, tmp_path) as chat, WebClient(chat.url) as client:
        answer = await client.ask("how do I report fly tipping")
        liked = await client.post("/api/feedback", {"ref": answer["ref"], "helpful": True})
        assert liked.json() == {
            "session": client.session,
            "message": None,
            "notice": "Thanks for your feedback!",
        }
        disliked = await client.post("/api/feedback", {"ref": answer["ref"], "helpful": False})
        asked = disliked.json()["message"]
        assert "What were you looking for?" in asked["html"]
        groups = engine.content.menu.groups
        assert [g["title"] for g in asked["groups"]] == [g.title for g in groups]
        assert asked["buttons"] == [{"label": "Something else", "data": f"w:{answer['ref']}:-"}]
        listed = [b for g in asked["groups"] for b in g["buttons"]]
        assert sorted(b["data"] for b in listed) == sorted(
            f"w:{answer['ref']}:{i.id}" for i in engine.topics
        )  # every topic once, in its group
        beacon = next(b for b in listed if b["data"].endswith(":victim_support_beacon"))
        wanted = (await client.press(asked, beacon["data"])).json()["message"]
        assert BEACON in wanted["html"]
        assert await chat.store.flush(timeout=30)
        (unhelpful,) = await chat.store.not_helpful(1)
        assert unhelpful.wanted == "victim_support_beacon"
        forgotten = await client.post("/api/forget", {})
        assert forgotten.status_code == 200
        assert re.match(r"Done: .* the [1-9]\d* records", forgotten.json()["notice"])
        assert await chat.store.flush(timeout=30)
        assert await chat.store.outcomes(1) == []


async def test_topics_lists_every_topic_by_group_where_help_and_the_fallback_point(
    engine, tmp_path
):
    """The fallback and the help answer say "Send /topics": on the web it lists the topics
    as Telegram's /topics does, not the help answer again; the help answer leads with 999."""
    async with running_web_chat(engine, tmp_path) as chat, WebClient(chat.url) as client:
        fallback = await client.ask("best pizza near me")
        helped = await client.ask("/help")
        assert "Send /topics" in as_text(fallback["html"]) and "Send /topics" in helped["html"]
        assert "999" in as_text(helped["html"]).splitlines()[0]
        listed = await client.ask("/topics")
        assert as_text(listed["html"]) == "Pick a topic, or type your question:"
        groups = engine.content.menu.groups
        assert [g["title"] for g in listed["groups"]] == [g.title for g in groups]
        buttons = [b for g in listed["groups"] for b in g["buttons"]]
        assert sorted(b["data"] for b in buttons) == sorted(f"t:{i.id}" for i in engine.topics)
        assert listed["buttons"] == [] and not listed["feedback"]
        beacon = next(b for b in buttons if b["data"] == "t:victim_support_beacon")
        assert beacon["label"] == engine.intents["victim_support_beacon"].title
        chosen = (await client.press(listed, beacon["data"])).json()["message"]
        assert chosen["kind"] == "answer" and BEACON in chosen["html"] and chosen["feedback"]


QUESTIONS = [
    "beacon phone number",
    "how do I report fly tipping",
    "speeding on my road",
    "he has a knife and is outside my door right now",
    "I want to end my life",
    UNSURE,
    "Jak mogę zgłosić kradzież roweru?",
    "what time does the garden centre close on sunday",
    "my car was broken into last night",
    "who is the police and crime commissioner",
]


async def test_telegram_and_the_web_give_the_same_answers(engine, tmp_path):
    """``serve`` with WEB_CHAT_PORT: both channels over one assistant, asked the same."""
    port = free_port()
    async with running_bot(
        engine, database=tmp_path / "both.sqlite3", beside=beside, web_chat_port=port
    ) as (fake, _, _):
        url = f"http://127.0.0.1:{port}"
        await wait_until_serving(url)
        async with WebClient(url) as client:
            for n, question in enumerate(QUESTIONS):
                before = len(fake.sent())
                fake.push(
                    message(401 + n, question)
                )  # ids under 5 digits: no timestamp looks like one
                await fake.wait_for(lambda b=before: len(fake.sent()) > b, timeout=60)
                (telegram,) = fake.sent()[before:]
                web = await client.ask(question)
                assert as_text(web["html"]) == as_text(telegram.text), question
                choices = [
                    (label, data)
                    for label, data in telegram.buttons
                    if data[:2] in ("s:", "d:", "p:")
                ]
                assert [(b["label"], b["data"]) for b in web["buttons"]] == choices, question
                assert web["feedback"] == (("👍 Helpful", "f:1") in telegram.buttons), question


# -- hardening


async def test_every_response_is_uncached_under_a_strict_policy(engine, tmp_path):
    origin = "https://www.hertscommissioner.gov.uk"
    async with (
        running_web_chat(engine, tmp_path, web_chat_embed_origins=(origin,)) as chat,
        httpx.AsyncClient(base_url=chat.url, timeout=60) as http,
    ):
        responses = [
            await http.get("/"),
            await http.get("/widget.js"),
            await http.get("/no-such-page"),
            await http.post("/api/message", json={"text": "hi"}),
        ]
    assert [r.status_code for r in responses] == [200, 200, 404, 200]
    assert responses[2].json() == {"error": "Not Found"}
    for response in responses:
        policy = response.headers["content-security-policy"]
        assert "script-src 'self';" in policy and "style-src 'self';" in policy
        assert "unsafe-inline" not in policy and "default-src 'none'" in policy
        assert policy.endswith(f"frame-ancestors 'self' {origin}")
        assert response.headers["cache-control"] == "no-store"
        assert response.headers["x-content-type-options"] == "nosniff"
        assert response.headers["referrer-policy"] == "no-referrer"
        assert "set-cookie" not in response.headers
    page = responses[0].text
    assert '<script src="/chat.js" defer></script>' in page
    assert not re.search(r"<script>|<style|style=\"| on[a-z]+=", page)


HOSTILE = [
    "<script>alert(1)</script><img src=x onerror=alert(1)> beacon",
    "beacon\0 number with a NUL",
    "beacon \ud800 number with a lone surrogate",
    "\udfff",
    "",
    "   ",
    "🚨" * 1000,
]


async def test_hostile_text_is_answered_politely_and_never_echoed_as_markup(engine, tmp_path):
    async with running_web_chat(engine, tmp_path) as chat, WebClient(chat.url) as client:
        for text in HOSTILE:
            response = await client.post("/api/message", {"text": text})
            assert response.status_code == 200, text
            shown = response.json()["message"]["html"]
            assert "<script" not in shown and "<img" not in shown and "onerror" not in shown
        long = await client.post("/api/message", {"text": "beacon " * 1500})
        assert long.status_code == 400
        assert long.json() == {
            "error": "Your message is too long: please keep it under 4,096 characters."
        }
        assert (await client.ask("beacon phone number"))["kind"] == "answer"


async def test_bad_requests_get_a_clear_json_error_and_the_server_keeps_answering(engine, tmp_path):
    async with (
        running_web_chat(engine, tmp_path) as chat,
        httpx.AsyncClient(base_url=chat.url, timeout=60) as http,
    ):
        json_type = {"Content-Type": "application/json"}

        async def chunks():
            yield b'{"text": "'
            for _ in range(40):
                yield b"x" * 1024

        refusals = [
            (await http.post("/api/message", content=b"{not json", headers=json_type), 400),
            (await http.post("/api/message", content=b"[1, 2]", headers=json_type), 400),
            (await http.post("/api/message", content=b"\xff\xfe", headers=json_type), 400),
            (await http.post("/api/message", content=b"[" * 20000, headers=json_type), 413),
            (
                await http.post(
                    "/api/message", content=b"[" * 15000 + b"]" * 15000, headers=json_type
                ),
                413,
            ),
            (
                await http.post(
                    "/api/message", content=b"[" * 8000 + b"]" * 8000, headers=json_type
                ),
                400,
            ),
            (
                await http.post("/api/message", content=json.dumps({"text": 5}), headers=json_type),
                400,
            ),
            (await http.post("/api/message", data={"text": "beacon"}), 415),
            (await http.post("/api/message", content=chunks(), headers=json_type), 413),
            (await http.post("/api/button", json={"session": "x", "ref": 1, "data": "d:now"}), 400),
            (
                await http.post(
                    "/api/button", json={"session": "a" * 32, "ref": 2**70, "data": "d:now"}
                ),
                400,
            ),
            (
                await http.post(
                    "/api/feedback", json={"session": "a" * 32, "ref": 5, "helpful": "yes"}
                ),
                400,
            ),
            (await http.get("/api/message"), 405),
        ]
        for response, status in refusals:
            assert response.status_code == status, response.text
            assert response.headers["content-type"] == "application/json"
            assert response.json()["error"]
        answered = await http.post("/api/message", json={"text": "beacon phone number"})
        assert BEACON in answered.json()["message"]["html"]


async def test_limits_per_session_and_per_address(engine, tmp_path):
    async with running_web_chat(engine, tmp_path, flood_messages=3, web_chat_ip_messages=5) as chat:
        async with WebClient(chat.url) as one, WebClient(chat.url) as two:
            statuses = [
                (await one.post("/api/message", {"text": "beacon"})).status_code for _ in range(4)
            ]
            assert statuses == [200, 200, 200, 429]
            slow = await one.post("/api/message", {"text": "beacon"})
            assert "very quickly" in slow.json()["error"] and int(slow.headers["retry-after"]) >= 1
            # the address has sent 5 (429s count too): a new session there is refused ...
            assert (await two.post("/api/message", {"text": "beacon"})).status_code == 429
        async with WebClient(chat.url, address="203.0.113.9") as elsewhere:
            # ... and one at another address is answered
            assert (await elsewhere.post("/api/message", {"text": "beacon"})).status_code == 200


def test_to_web_html_keeps_only_the_allow_list():
    assert to_web_html('<b>Call</b> <i>now</i>\n<a href="https://x.uk/a?b=1&amp;c=2">x</a>') == (
        '<b>Call</b> <i>now</i><br><a href="https://x.uk/a?b=1&amp;c=2" rel="noopener" target="_blank">x</a>'
    )
    assert (
        to_web_html('<a href="tel:999">999</a> <a href="mailto:a@b.uk">mail</a>').count("<a ") == 2
    )
    assert to_web_html('<a href="javascript:alert(1)">click</a>') == "click"
    assert to_web_html("<script>alert(1)</script>") == "&lt;script&gt;alert(1)&lt;/script&gt;"
    assert to_web_html('<b onclick="x()">bold') == "<b>bold</b>"
    assert to_web_html("<u>under</u> <img src=x>") == "&lt;u&gt;under&lt;/u&gt; &lt;img src=x&gt;"
    assert to_web_html("<b><i>crossed</b></i>") == "<b><i>crossed</i></b>"


@contextlib.contextmanager
def web_process(folder: Path, **env: str) -> Iterator[tuple[subprocess.Popen[bytes], str, Path]]:
    """``python -m bot web`` on a free port, as a newcomer runs it (no token); yields the
    process, its address and its log (which the leak check reads too)."""
    port = free_port()
    log_path = folder / "web.log"
    RESIDENT_DATA.watch(log_path)
    variables = {
        "PATH": "/usr/bin:/bin",
        "HOME": str(folder),
        "PYTHONPATH": str(ROOT),
        "DATABASE_PATH": str(folder / "bot.sqlite3"),
        "CACHE_DIR": str(ROOT / ".pytest_cache" / "herts-safety-bot"),
        "WEB_CHAT_PORT": str(port),
        **env,
    }
    with log_path.open("ab") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "bot", "web"],
            cwd=folder,
            env=variables,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    try:
        url = f"http://127.0.0.1:{port}"
        asyncio.run(wait_until_serving(url, within=240))
        yield process, url, log_path
    finally:
        if process.poll() is None:
            process.kill()


def ask_once(url: str, text: str) -> dict:
    """One question from a new session, registered with the leak check."""
    RESIDENT_DATA.web(text)
    reply = httpx.post(f"{url}/api/message", json={"text": text}, timeout=60).json()
    RESIDENT_DATA.web(session=reply["session"])
    return reply["message"]


def test_python_m_bot_web_serves_without_a_token_and_stops_cleanly(tmp_path):
    with web_process(tmp_path, WATCH_CONTENT="0") as (process, url, log_path):
        assert BEACON in ask_once(url, "beacon phone number please")["html"]
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=60) == 0
    log = log_path.read_text()
    assert f"web chat on {url}" in log
    # The shipped content's many warnings of one kind are one line each, as validate shows
    # them: the start logged 34 WARNING lines, one per language card and per answer.
    assert log.count("language cards await a fluent reviewer") == 1
    assert "card has not been reviewed" not in log
    warnings = [line for line in log.splitlines() if " WARNING " in line]
    assert warnings and all("(validate --verbose lists each)" in line for line in warnings)


def test_the_web_chat_alone_reloads_changed_content_as_telegram_does(tmp_path, content_dir):
    content = {"INTENTS_DIR": str(content_dir.intents), "KNOWLEDGE_DIR": str(content_dir.knowledge)}
    with web_process(tmp_path, **content) as (_, url, _):
        assert "free support service" in ask_once(url, "beacon phone number please")["html"]
        beacon = content_dir.intents / "victim_support_beacon.yaml"
        text = beacon.read_text(encoding="utf-8")
        beacon.write_text(
            text.replace("free support service", "FREE support service"), encoding="utf-8"
        )
        deadline = time.monotonic() + 180  # settles, then reloads, on a busy machine
        while "FREE support service" not in ask_once(url, "beacon phone number please")["html"]:
            assert time.monotonic() < deadline, "the web chat never picked up the change"
            time.sleep(1)


def _status(url: str) -> list[str]:
    response = httpx.get(f"{url}/api/status", timeout=30)
    assert response.status_code == 200 and response.json()["status"] == "active"
    trouble: list[str] = response.json()["trouble"]
    return trouble


def _until(check, what: str, within: float = 180) -> None:
    deadline = time.monotonic() + within  # a reload retrains the models: slow on a busy machine
    while not check():
        assert time.monotonic() < deadline, what
        time.sleep(0.5)


def test_a_content_watcher_failure_is_shown_and_a_later_fix_still_goes_live(tmp_path, content_dir):
    """Folders nested too deep to list make reading the content raise (not a problem in a
    file: an exception). The web chat's watcher was a bare task, ended by it
    for good: no later edit went live until a restart, and nobody was told."""
    content = {"INTENTS_DIR": str(content_dir.intents), "KNOWLEDGE_DIR": str(content_dir.knowledge)}
    with web_process(tmp_path, **content) as (_, url, log_path):
        assert _status(url) == []
        content_dir.nest_folders()
        beacon = content_dir.intents / "victim_support_beacon.yaml"
        text = beacon.read_text(encoding="utf-8")
        beacon.write_text(
            text.replace("free support service", "FREE support service"), encoding="utf-8"
        )
        _until(lambda: _status(url), "the status never showed the watcher's failure")
        assert _status(url)[0].startswith("content watcher failed")
        assert "failing" in _status(url)[0]
        assert "free support service" in ask_once(url, "beacon phone number please")["html"]

        content_dir.remove_nested_folders()  # staff fix it: the edit made meanwhile goes live
        _until(
            lambda: "FREE" in ask_once(url, "beacon phone number please")["html"],
            "the web chat never picked up the change after the fix",
        )
        _until(lambda: "working again" in _status(url)[0], "the status never recovered")
    logged = log_path.read_text()
    assert "the content watcher failed (RecursionError at " in logged
    assert logged.count("the content watcher failed") == 1  # once per run of failures
    assert "the content watcher works again" in logged
    assert "FREE support service" not in logged  # no content in the log
