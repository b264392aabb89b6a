"""The JSON API: a message, a button, a vote, "clear this chat". Each answers with the
reply as the page shows it: sanitised HTML, its language, and its buttons."""

from __future__ import annotations

import itertools
import logging
import secrets
import time
import traceback
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse

from bot.app.assistant import NONE_OF_THESE, Assistant
from bot.matching.language import ENGLISH
from bot.matching.reply import Reply, ReplyKind
from bot.web import texts
from bot.web.markup import to_web_html
from bot.web.requests import (
    ApiError,
    Limits,
    read_json,
    ref_of,
    resident_text,
    session_of,
    user_id,
)

log = logging.getLogger(__name__)

DANGER_LABEL = "🚨 I'm in danger now"
NONE_OF_THESE_LABEL = "None of these"
TOPICS_COMMAND = "/topics"  # what the fallback and the help answer tell residents to send
Handler = Callable[[Request], Awaitable[JSONResponse]]


def _refs() -> itertools.count[int]:
    """Reply references, increasing across restarts (microseconds at start, then one by one):
    a vote joins its answer in the question log by session and reference."""
    return itertools.count(time.time_ns() // 1000)


@dataclass
class WebChat:
    """The API's handlers over one assistant."""

    assistant: Assistant
    limits: Limits
    _refs: itertools.count[int] = field(default_factory=_refs)

    def shown(self, reply: Reply) -> dict[str, Any]:
        """A reply as the page shows it: a new reference, its HTML, language and buttons."""
        engine = self.assistant.engine
        buttons: list[dict[str, Any]] = []
        if reply.danger_prompt:
            buttons.append({"label": DANGER_LABEL, "data": "d:now", "danger": True})
        buttons += [{"label": label, "data": data} for label, data in reply.choices]
        if reply.kind is ReplyKind.SUGGEST:
            buttons += [
                {"label": engine.intents[i].title, "data": f"s:{i}"} for i in reply.suggestions
            ]
            buttons.append({"label": NONE_OF_THESE_LABEL, "data": "s:-"})
        return {
            "ref": next(self._refs),
            "kind": reply.kind.value,
            "html": to_web_html(reply.html),
            "lang": reply.language if reply.kind is ReplyKind.CARD else None,
            "buttons": buttons,
            "feedback": reply.kind in (ReplyKind.ANSWER, ReplyKind.EMERGENCY),
        }

    async def _answered(
        self, session: str, reply: Reply, notice: str | None = None
    ) -> JSONResponse:
        """Show ``reply``, then log it under the session, as Telegram logs a sent reply."""
        message = self.shown(reply)
        await self.assistant.record(user_id(session), reply, message["ref"])
        return _ok(session, message, notice)

    async def message(self, request: Request) -> JSONResponse:
        """``{text, session}``: the engine's reply (a new session when it has none)."""
        data = await read_json(request)
        session = session_of(data, new=True)
        self.limits.check(request, session)
        text = resident_text(data)
        if text.strip().lower() == TOPICS_COMMAND:
            return _ok(session, self._menu(texts.TOPICS, "t:"))
        reply = await self.assistant.answer(text, _language(request), place_key=_place_key(session))
        if reply.language not in (None, ENGLISH):
            log.info("web reply %s to a message in language %s", reply.kind.value, reply.language)
        return await self._answered(session, reply)

    def _menu(self, html: str, prefix: str) -> dict[str, Any]:
        """``html`` with the topics by group (``groups``: a title and its buttons each),
        each button's data ``prefix`` and the topic's id, as Telegram's menu."""
        engine = self.assistant.engine
        message = _fixed(self, html)
        message["groups"] = [
            {
                "title": group.title,
                "buttons": [
                    {"label": engine.intents[i].title, "data": f"{prefix}{i}"}
                    for i in group.intents
                ],
            }
            for group in engine.content.menu.groups
        ]
        return message

    async def button(self, request: Request) -> JSONResponse:
        """``{session, ref, data}``: a button under the message ``ref``; ``data`` as on
        Telegram: ``d:now``, ``s:INTENT``, ``s:-``, ``t:INTENT`` (a topic of /topics),
        ``w:REF:INTENT``, ``w:REF:-``, ``p:COUNCIL:INTENT`` (a district under "Which town
        or postcode?")."""
        data = await read_json(request)
        session = session_of(data)
        self.limits.check(request, session)
        ref, pressed = ref_of(data), data.get("data")
        engine = self.assistant.engine
        family, _, value = pressed.partition(":") if isinstance(pressed, str) else ("", "", "")
        if family == "d":
            emergency = engine.answer_for(engine.emergency_id) if engine.emergency_id else None
            if emergency is None:
                return _ok(session, _fixed(self, texts.DANGER_NOW))
            return await self._answered(session, emergency)
        if family == "s" and value == "-":
            await self.assistant.record(user_id(session), NONE_OF_THESE, ref)
            return _ok(session, _fixed(self, texts.NONE_OF_THESE))
        if family in ("s", "t") and (chosen := self.assistant.topic(value, _place_key(session))):
            return await self._answered(session, chosen)
        place = self.assistant.choose_place(str(pressed), _place_key(session))
        if family == "p" and place is not None:
            return await self._answered(session, place)
        if family == "w":
            return await self._wanted(session, value)
        raise ApiError(400, texts.EXPIRED)

    async def _wanted(self, session: str, value: str) -> JSONResponse:
        """After a 👎, the topic the resident wanted (kept for review), then its answer."""
        rated, _, wanted = value.partition(":")
        chosen = self.assistant.engine.answer_for(wanted) if wanted != "-" else None
        if not rated.isdigit() or (chosen is None and wanted != "-"):
            raise ApiError(400, texts.EXPIRED)
        try:
            await self.assistant.store.record_wanted(user_id(session), int(rated), wanted)
        except Exception:  # feedback is best effort
            log.exception("could not record what a web resident was looking for")
        if chosen is None:
            return _ok(session, _fixed(self, texts.WANTED_THANKS), texts.FEEDBACK_THANKS)
        return await self._answered(session, chosen, texts.FEEDBACK_THANKS)

    async def feedback(self, request: Request) -> JSONResponse:
        """``{session, ref, helpful}``: 👍 or 👎 on the answer ``ref``; after 👎, the
        topics by group, to say what was wanted."""
        data = await read_json(request)
        session = session_of(data)
        self.limits.check(request, session)
        ref, helpful = ref_of(data), data.get("helpful")
        if not isinstance(helpful, bool):
            raise ApiError(400, texts.EXPIRED)
        try:
            await self.assistant.store.record_feedback(user_id(session), ref, helpful)
        except Exception:  # feedback is best effort
            log.exception("could not record web feedback")
        if helpful:
            return _ok(session, None, texts.FEEDBACK_THANKS)
        asked = self._menu(texts.WHAT_WANTED, f"w:{ref}:")
        asked["buttons"] = [{"label": texts.SOMETHING_ELSE, "data": f"w:{ref}:-"}]
        return _ok(session, asked, texts.FEEDBACK_THANKS)

    async def forget(self, request: Request) -> JSONResponse:
        """``{session}``: "Clear this chat", the web's /forget: every record of the
        session is deleted (the page clears its own copy)."""
        data = await read_json(request)
        session = session_of(data)
        self.limits.check(request, session)
        self.assistant.forget_place(_place_key(session))
        try:
            count = await self.assistant.forget(user_id(session))
        except Exception:  # tell the resident rather than fail silently
            log.exception("could not forget a web session")
            raise ApiError(503, texts.FORGET_FAILED) from None
        return _ok(None, None, texts.FORGOTTEN.format(count=count))


def _fixed(chat: WebChat, html: str) -> dict[str, Any]:
    """A fixed text as a message (never logged: it answers no question)."""
    text = Reply(question="", kind=ReplyKind.PROMPT, intent=None, confidence=0.0, html=html)
    return chat.shown(text)


def _ok(
    session: str | None, message: dict[str, Any] | None, notice: str | None = None
) -> JSONResponse:
    return JSONResponse({"session": session, "message": message, "notice": notice})


def _place_key(session: str) -> tuple[str, str]:
    """Where a web session's place is remembered (apart from Telegram's chats)."""
    return ("web", session)


def _language(request: Request) -> str | None:
    """The browser's first language (``pl-PL`` → ``pl``), as Telegram passes the app's."""
    first = request.headers.get("accept-language", "").split(",")[0].split(";")[0].strip()
    code = first.split("-")[0].lower()
    return code if code.isalpha() and 2 <= len(code) <= 3 else None


def guarded(handler: Handler) -> Handler:
    """``handler`` with refusals as JSON errors, and any fault as a 500 with a reference,
    logged without its message (which could quote the resident)."""

    async def run(request: Request) -> JSONResponse:
        try:
            return await handler(request)
        except ApiError as exc:
            headers = {"Retry-After": str(exc.retry_after)} if exc.retry_after else None
            return JSONResponse({"error": exc.message}, exc.status, headers=headers)
        except Exception as exc:  # noqa: BLE001 -- the server keeps running; the log says where
            ref = secrets.token_hex(4)
            frames = "".join(traceback.format_tb(exc.__traceback__))
            log.error("web chat error %s: %s\n%s", ref, type(exc).__name__, frames)
            return JSONResponse({"error": texts.ERROR.format(ref=ref)}, 500)

    return run
