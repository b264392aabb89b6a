"""Telegram HTML (what the content writes) as HTML a browser may render: a small
allow-list of tags, every other character escaped."""

from __future__ import annotations

import html
import re
from html.parser import HTMLParser

ALLOWED = {"b", "i", "a", "br"}
_SAFE_HREF = re.compile(r"^(?:https?://|tel:|mailto:)[^\s\"'<>\\]+$", re.IGNORECASE)
_BOLD = {"strong": "b", "em": "i"}  # Telegram's synonyms


class _Sanitiser(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.out: list[str] = []
        self.open: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        tag = _BOLD.get(tag, tag)
        if tag == "br":
            self.out.append("<br>")
        elif tag in ("b", "i"):
            self.out.append(f"<{tag}>")
            self.open.append(tag)
        elif tag == "a":
            href = dict(attrs).get("href") or ""
            if _SAFE_HREF.match(href):
                self.out.append(f'<a href="{html.escape(href)}" rel="noopener" target="_blank">')
                self.open.append("a")
            else:
                self.open.append("")  # a link we will not follow: its words stay, as text
        else:
            self.out.append(html.escape(self.get_starttag_text() or f"<{tag}>"))

    def handle_endtag(self, tag: str) -> None:
        tag = _BOLD.get(tag, tag)
        if tag in ("b", "i", "a") and self.open:
            opened = self.open.pop()
            if opened:
                self.out.append(f"</{opened}>")
        elif tag != "br":
            self.out.append(html.escape(f"</{tag}>"))

    def handle_data(self, data: str) -> None:
        self.out.append(html.escape(data, quote=False).replace("\n", "<br>"))

    def handle_comment(self, data: str) -> None:
        return  # a comment shows nothing, and is never passed on

    def close(self) -> None:
        super().close()
        self.out.extend(f"</{tag}>" for tag in reversed(self.open) if tag)


def to_web_html(markup: str) -> str:
    """``markup`` with only <b>, <i>, <br> and links to http(s), tel: and mailto: kept as
    tags (closed in order); newlines become <br>; anything else is escaped text."""
    parser = _Sanitiser()
    parser.feed(markup)
    parser.close()
    return "".join(parser.out)
