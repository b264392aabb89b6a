"""Reading a request safely: its size, its JSON, its session and its limits. Every
refusal is an ``ApiError``: a status and a sentence for the resident."""

from __future__ import annotations

import json
import re
import secrets
from dataclasses import dataclass

from starlette.requests import Request

from bot.app.flood import FloodGuard, FloodVerdict
from bot.web import texts

MAX_BODY = 16 * 1024  # bytes: a question of 4,096 characters fits, in any script
MAX_TEXT = 4096  # characters, as Telegram's own limit
_SESSION = re.compile(r"^[0-9a-f]{32}$")
# Web sessions as user ids for the question log (which keeps only their keyed hash): from
# 2**128 up, so they never meet a Telegram id.
WEB_IDS = 1 << 128
MAX_REF = (1 << 63) - 1


class ApiError(Exception):
    """A refused request: ``status`` and the sentence the page shows."""

    def __init__(self, status: int, message: str, retry_after: int | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.retry_after = retry_after


async def read_json(request: Request) -> dict[str, object]:
    """The request's JSON object; refused when over MAX_BODY bytes (counted as it arrives,
    whatever Content-Length says), not JSON, or not an object."""
    if not request.headers.get("content-type", "").startswith("application/json"):
        raise ApiError(415, texts.NOT_JSON)
    declared = request.headers.get("content-length", "")
    if declared and (not declared.isdigit() or int(declared) > MAX_BODY):
        raise ApiError(413, texts.TOO_BIG)
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_BODY:
            raise ApiError(413, texts.TOO_BIG)
    try:
        data = json.loads(body)
    except (ValueError, RecursionError):  # not UTF-8, not JSON, or nested too deep
        raise ApiError(400, texts.NOT_JSON) from None
    if not isinstance(data, dict):
        raise ApiError(400, texts.NOT_JSON)
    return data


def resident_text(data: dict[str, object]) -> str:
    """The message's text, repaired for storage (NUL dropped, lone surrogates replaced)."""
    text = data.get("text")
    if not isinstance(text, str):
        raise ApiError(400, texts.NOT_JSON)
    if len(text) > MAX_TEXT:
        raise ApiError(400, texts.TOO_LONG.format(limit=MAX_TEXT))
    return text.replace("\0", "").encode("utf-8", "replace").decode("utf-8")


def session_of(data: dict[str, object], *, new: bool = False) -> str:
    """The chat's session id; a new one when it has none and ``new`` allows it."""
    session = data.get("session")
    if isinstance(session, str) and _SESSION.match(session):
        return session
    if new:
        return secrets.token_hex(16)
    raise ApiError(400, texts.EXPIRED)


def user_id(session: str) -> int:
    """The question log's user id of a web session (hashed there with its key)."""
    return WEB_IDS + int(session, 16)


def ref_of(data: dict[str, object]) -> int:
    """The ``ref`` of the message a button sits under."""
    ref = data.get("ref")
    if isinstance(ref, int) and not isinstance(ref, bool) and 0 < ref <= MAX_REF:
        return ref
    raise ApiError(400, texts.EXPIRED)


def address(request: Request) -> str:
    """The resident's address (from a trusted proxy's X-Forwarded-For, as uvicorn reads it)."""
    return request.client.host if request.client else "unknown"


@dataclass
class Limits:
    """Messages per session (as per Telegram user) and per address (offices share one)."""

    per_session: FloodGuard
    per_address: FloodGuard

    def check(self, request: Request, session: str | None) -> None:
        for guard, key in ((self.per_address, address(request)), (self.per_session, session)):
            if key is not None and guard.check(key) is not FloodVerdict.OK:
                raise ApiError(429, texts.SLOW_DOWN, retry_after=int(guard.seconds) or 1)
