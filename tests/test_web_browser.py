"""The web chat in Debian's Chromium (through Playwright, no browser download), served
for real on a free port: what a resident sees and does, by mouse and by keyboard, the
quick exit, and axe-core's accessibility check of the page and of the open widget."""

from __future__ import annotations

import contextlib
import shutil
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from axe_playwright_python.async_playwright import Axe
from playwright.async_api import Browser, Page, async_playwright

from tests.questions import AMBIGUOUS, UNSURE
from tests.resident_data import RESIDENT_DATA
from tests.web_harness import running_web_chat

DOCS = Path(__file__).resolve().parents[1] / "docs"
EXIT_TO = "https://www.bbc.co.uk/weather"
WAIT_MS = 120_000  # the machine running the tests is often busy: replies may take a while


@contextlib.asynccontextmanager
async def chromium() -> AsyncIterator[Browser]:
    found = shutil.which("chromium")
    assert found, "headless Chromium is needed: apt-get install chromium (./test does when it may)"
    async with async_playwright() as driver:
        browser = await driver.chromium.launch(
            executable_path=found, args=["--no-sandbox", "--disable-gpu"]
        )
        try:
            yield browser
        finally:
            await browser.close()


@contextlib.asynccontextmanager
async def chat_page(
    engine, tmp_path, width: int = 1024, height: int = 800, zoom: float = 1
) -> AsyncIterator[tuple[Page, str]]:
    """A tab on the chat page; the neutral site it leaves to is answered locally. ``zoom``
    is the browser's zoom: CSS pixels shrink the viewport, device pixels stay the screen's."""
    async with running_web_chat(engine, tmp_path) as chat, chromium() as browser:
        context = await browser.new_context(
            viewport={"width": width, "height": height}, device_scale_factor=zoom
        )
        context.set_default_timeout(WAIT_MS)
        await context.route(
            "https://www.bbc.co.uk/**",
            lambda route: route.fulfill(
                content_type="text/html", body="<title>Weather</title><p>Sunny"
            ),
        )
        page = await context.new_page()
        await page.goto(chat.url + "/")
        yield page, chat.url


async def ask(page: Page, text: str) -> str:
    """Type ``text`` and send it with Enter; the text of the assistant's new message."""
    RESIDENT_DATA.web(text)
    before = await page.locator(".msg.bot").count()
    await page.locator("#text").fill(text)
    await page.keyboard.press("Enter")
    reply = page.locator(".msg.bot").nth(before)
    await reply.wait_for()
    return await reply.locator(".body").inner_text()


async def test_a_danger_message_shows_999_first_and_a_beacon_question_its_number(engine, tmp_path):
    async with chat_page(engine, tmp_path) as (page, _):
        log = page.locator("#log")
        assert await log.get_attribute("role") == "log"
        assert await log.get_attribute("aria-live") == "polite"
        assert await page.evaluate("document.activeElement.id") == "text"  # ready to type
        danger = await ask(page, "he has a knife and is outside my door right now")
        assert "999" in danger.splitlines()[0]
        assert await page.locator(".msg.bot.urgent").count() == 1
        beacon = await ask(page, "how do I contact beacon")
        assert "0300 011 55 55" in beacon
        you = page.locator(".msg.you .body")
        assert await you.all_inner_texts() == [
            "he has a knife and is outside my door right now",
            "how do I contact beacon",
        ]


async def test_did_you_mean_works_by_keyboard_alone(engine, tmp_path):
    async with chat_page(engine, tmp_path) as (page, _):
        await page.keyboard.type(AMBIGUOUS)
        RESIDENT_DATA.web(AMBIGUOUS)
        await page.keyboard.press("Enter")
        choices = page.locator(".choices .choice")
        await choices.first.wait_for()
        first = await choices.first.inner_text()
        for _ in range(10):  # back from the question box to the first suggestion
            await page.keyboard.press("Shift+Tab")
            if await page.evaluate("document.activeElement.textContent") == first:
                break
        else:
            pytest.fail("the first suggestion cannot be reached with the keyboard")
        await page.keyboard.press("Enter")
        answer = page.locator(".msg.bot").nth(2)
        await answer.wait_for()
        assert await answer.get_attribute("class") == "msg bot"
        assert await page.locator(".choices .choice", has_text=first).count() == 0
        assert await answer.locator("button", has_text="Helpful").count() == 2
        assert await page.evaluate("document.activeElement.id") == "text"


async def test_shift_three_times_leaves_with_no_way_back_and_no_chat_kept(engine, tmp_path):
    async with chat_page(engine, tmp_path) as (page, url):
        await page.goto(url + "/widget-demo")  # somewhere the tab was before the chat
        await page.goto(url + "/")
        await ask(page, "how do I contact beacon")
        assert await page.evaluate("sessionStorage.length") == 1
        for _ in range(3):
            await page.keyboard.press("Shift")
        await page.wait_for_url(EXIT_TO)
        await page.go_back()
        assert page.url == url + "/widget-demo"  # Back skips the chat
        await page.goto(url + "/")
        assert await page.evaluate("sessionStorage.length") == 0
        assert await page.locator(".msg").count() == 1  # the welcome only


@pytest.mark.parametrize(
    ("width", "height", "zoom"),
    [(320, 800, 1), (640, 360, 2)],  # a small phone; a 1280x720 laptop screen at 200% zoom
    ids=["320px", "200%-zoom"],
)
async def test_the_leave_button_is_always_in_view_and_the_page_fits(
    engine, tmp_path, width: int, height: int, zoom: float
):
    async with chat_page(engine, tmp_path, width, height, zoom) as (page, _):
        for question in ("how do I report fly tipping", "beacon phone number", "hello"):
            await ask(page, question)
        await page.evaluate("scrollTo(0, document.documentElement.scrollHeight)")
        leave = page.locator("#leave")
        box = await leave.bounding_box()
        assert box is not None and box["y"] >= 0 and box["y"] + box["height"] <= height
        assert box["height"] >= 44 and box["width"] >= 44
        assert await page.evaluate(
            "document.documentElement.scrollWidth <= document.documentElement.clientWidth"
        ), f"the page scrolls sideways at {width} CSS px"
        text_box = await page.locator("#text").bounding_box()
        assert text_box is not None and text_box["y"] + text_box["height"] <= height, (
            "the message box is out of view"
        )
        await leave.click()
        await page.wait_for_url(EXIT_TO)


async def scrolled(page: Page) -> None:
    """Until the page has stopped scrolling (smooth scrolling takes some frames)."""
    await page.evaluate(
        """() => new Promise((done) => {
            let last = NaN, still = 0;
            const frame = () => {
                still = scrollY === last ? still + 1 : 0;
                last = scrollY;
                if (still >= 10) done(); else requestAnimationFrame(frame);
            };
            requestAnimationFrame(frame);
        })"""
    )


@pytest.mark.parametrize(
    ("width", "height", "question"),
    [
        (390, 844, "there's a man at my door with a knife"),
        (320, 568, "how do I report fraud"),  # a small phone, one of the longest answers
        (1280, 600, "there's a man at my door with a knife"),  # a short laptop screen
    ],
    ids=["390px-danger", "320px-long", "desktop-danger"],
)
async def test_a_new_replys_first_line_shows_below_the_sticky_bar(
    engine, tmp_path, width: int, height: int, question: str
):
    """The reply scrolls into view with its first line (999 first, in danger) under the
    top bar with "Leave this site", not hidden behind it."""
    async with chat_page(engine, tmp_path, width, height) as (page, _):
        await ask(page, "how do I contact beacon")  # a conversation under way
        await ask(page, question)
        await scrolled(page)
        bar = await page.locator("header.top").bounding_box()
        reply = page.locator(".msg.bot").last
        first = await reply.locator(".body").evaluate(
            """(body) => {
                const words = document.createRange();
                words.selectNodeContents(body);
                const line = words.getClientRects()[0];
                return { y: line.top, height: line.height };
            }"""
        )
        assert bar is not None
        assert bar["y"] + bar["height"] <= first["y"], "the first line is under the top bar"
        assert first["y"] + first["height"] <= height, "the first line is below the screen"
        if "knife" in question:
            assert await reply.get_attribute("class") == "msg bot urgent"
            call = await reply.locator(".body b", has_text="999").first.bounding_box()
            assert call is not None
            assert bar["y"] + bar["height"] <= call["y"], "the 999 line is under the top bar"
            assert call["y"] + call["height"] <= height, "the 999 line is below the screen"
        assert await page.evaluate("document.activeElement.id") == "text"  # ready to type


async def test_after_a_thumbs_down_the_topics_open_by_group_from_the_keyboard(engine, tmp_path):
    async with chat_page(engine, tmp_path) as (page, _):
        await ask(page, "how do I report fly tipping")
        await page.get_by_role("button", name="👎 Not helpful").click()
        groups = page.locator(".groups details")
        await groups.first.wait_for()
        titles = [g.title for g in engine.content.menu.groups]
        assert await page.locator(".groups summary").all_inner_texts() == titles
        assert await page.locator(".groups .choice:visible").all_inner_texts() == [
            "Something else"
        ]  # the topics stay folded until their group is opened
        beacon = next(
            n
            for n, g in enumerate(engine.content.menu.groups)
            if "victim_support_beacon" in g.intents
        )
        await page.locator(".groups summary").nth(beacon).focus()
        await page.keyboard.press("Enter")  # opens the group
        topic = groups.nth(beacon).get_by_role("button", name="Support for victims of crime")
        assert await topic.is_visible()
        results = await Axe().run(page)
        assert results.violations_count == 0, results.generate_report()
        await topic.focus()
        await page.keyboard.press("Enter")
        answer = page.locator(".msg.bot").nth(3)
        await answer.wait_for()
        assert "0300 011 55 55" in await answer.inner_text()
        assert await page.locator(".groups").count() == 0  # chosen once, as on Telegram


async def test_axe_finds_no_violations_on_the_page_and_the_open_widget(engine, tmp_path):
    async with chat_page(engine, tmp_path) as (page, url):
        await ask(page, "speeding on my road")
        await ask(page, UNSURE)
        await ask(page, "Jak mogę zgłosić kradzież roweru?")
        assert await page.locator(".msg.bot .body[lang=pl]").count() == 1
        results = await Axe().run(page)
        assert results.violations_count == 0, results.generate_report()

        await page.goto(url + "/widget-demo")
        launcher = page.locator(".herts-chat-launcher")
        await launcher.focus()
        await page.keyboard.press("Enter")
        frame = page.frame_locator("iframe[title='Community safety chat']")
        await frame.locator("#text").wait_for()
        inside = page.frames[1]
        await inside.wait_for_function("document.activeElement.id === 'text'")
        for where in (page, inside):
            results = await Axe().run(where)
            assert results.violations_count == 0, results.generate_report()
        await page.keyboard.press("Escape")  # from inside the chat: closes, back to the button
        await page.wait_for_function("document.activeElement.className === 'herts-chat-launcher'")
        assert await page.locator(".herts-chat-panel").is_hidden()
        await launcher.click()
        await frame.locator("#leave").click()  # leaves the host page too, not just the frame
        await page.wait_for_url(EXIT_TO)


async def test_a_phone_screenshot_for_the_readme(engine, tmp_path):
    async with chat_page(engine, tmp_path, width=390) as (page, _):
        await ask(page, "speeding on my road")
        await ask(page, UNSURE)
        await page.evaluate("window.scrollTo(0, 0)")  # the sticky bar at the top
        png = await page.screenshot(full_page=True)
    path = DOCS / "web-chat-390.png"
    if not path.exists() or path.read_bytes() != png:
        path.write_bytes(png)
