"""Answer templates: ``{fact.field}`` references expanded into Telegram HTML, and checks.

The checks make sure a staff-written answer renders in Telegram (only its HTML subset,
escaped ``&`` and ``<``) and that every phone number, email address and link in it is a
recorded fact, so nothing unsourced reaches a resident.
"""

from __future__ import annotations

import re
from html.parser import HTMLParser

from bot.content.facts import Fact, FactKind, link_key, recorded
from bot.text import digits

REFERENCE = re.compile(r"\{([a-z][a-z0-9_]*)\.([a-z][a-z0-9_]*)\}")
TOPICS_PLACEHOLDER = "{topics}"
ALLOWED_TAGS = {"b", "strong", "i", "em", "u", "s", "a", "code"}
TELEGRAM_LIMIT = 4096
PHONE_SCREEN_CHARS = 1200

_EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
_URL = re.compile(
    r"(?:https?://|www\.)[^\s<>\"']+|\b[a-z0-9-]+(?:\.[a-z0-9-]+)*\."
    r"(?:uk|org|com|net|gov)\b(?:/[^\s<>\"']*)?",
    re.IGNORECASE,
)
_LONG_NUMBER = re.compile(r"(?<![\w£$.,/])\d[\d \-]{5,}\d(?![\w%])")
_SHORT_NUMBER = re.compile(r"\b(?:call|dial|ring|phone|text|press|on)\s+(\d{2,4})\b", re.IGNORECASE)
_HREF = re.compile(r"""href\s*=\s*["']([^"']*)["']""", re.IGNORECASE)
_START_TAG = re.compile(r"<([a-zA-Z][a-zA-Z0-9]*)(\s[^<>]*)>")
_QUOTED = re.compile(r"\"[^\"]*\"|'[^']*'")
_ENTITY = re.compile(r"&(?:[a-zA-Z]+|#\d+|#x[0-9a-fA-F]+);")


def render(template: str, facts: dict[str, Fact], topics_html: str = "") -> str:
    """Expand references; unknown ones are left as written (validation reports them)."""

    def expand(match: re.Match[str]) -> str:
        fact = facts.get(match.group(1))
        value = fact.values.get(match.group(2)) if fact else None
        return value.html() if value else match.group(0)

    return REFERENCE.sub(expand, template).replace(TOPICS_PLACEHOLDER, topics_html).strip()


class _TagChecker(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=False)
        self.errors: list[tuple[int, str]] = []
        self.open: list[tuple[str, int]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        line = self.getpos()[0]
        if tag not in ALLOWED_TAGS:
            self.errors.append(
                (
                    line,
                    f"tag <{tag}> is not shown by Telegram; use only "
                    '<b>, <i>, <u>, <s>, <code> and <a href="...">',
                )
            )
            return
        if tag == "a" and not dict(attrs).get("href"):
            self.errors.append((line, '<a> needs an address: <a href="https://...">text</a>'))
        self.open.append((tag, line))

    def handle_endtag(self, tag: str) -> None:
        if tag not in ALLOWED_TAGS:
            return
        if not self.open or self.open[-1][0] != tag:
            self.errors.append((self.getpos()[0], f"</{tag}> closes a tag that is not open"))
            return
        self.open.pop()


def check(template: str, facts: dict[str, Fact], *, numbers: bool = True) -> list[tuple[int, str]]:
    """Problems as (line within the template, 0-based; message). ``numbers=False`` leaves
    typed phone numbers to a stricter rule of the caller's (cards type no digit at all)."""
    out: list[tuple[int, str]] = []
    phones = _phone_references(facts)
    recorded_values = (
        {v.lower() for v in recorded(facts, FactKind.EMAIL)},
        {link_key(v) for v in recorded(facts, FactKind.WEB)},
    )
    lines = template.split("\n")
    for number, text in enumerate(lines):
        for match in REFERENCE.finditer(text):
            fact_id, field_name = match.groups()
            fact = facts.get(fact_id)
            if fact is None:
                out.append(
                    (
                        number,
                        f"{{{fact_id}.{field_name}}} refers to a fact '{fact_id}' "
                        "that does not exist; add it under knowledge/ or fix the name",
                    )
                )
            elif field_name not in fact.values:
                known = ", ".join(sorted(fact.values))
                out.append(
                    (number, f"fact '{fact_id}' has no field '{field_name}' (it has: {known})")
                )
        literal = REFERENCE.sub(" ", text)
        out.extend((number, msg) for msg in _unsourced(literal, *recorded_values))
        if numbers:
            out.extend((number, msg) for msg in _typed_numbers(literal, phones))
        out.extend((number, msg) for msg in _bad_characters(literal))
    markup, unclosed = _close_quotes(REFERENCE.sub(" ", template))
    out.extend(unclosed)
    checker = _TagChecker()
    checker.feed(markup)
    checker.close()
    out.extend((line - 1, msg) for line, msg in checker.errors)
    out.extend((line - 1, f"<{tag}> is never closed; add </{tag}>") for tag, line in checker.open)
    return out


def _close_quotes(markup: str) -> tuple[str, list[tuple[int, str]]]:
    """Tags with an attribute's quote left open, as (line, message), and the markup with
    those quotes closed. Left open, ``<a href="https://x>text</a>`` reads to an HTML
    parser as no tag at all, and only the ``</a>`` would be reported."""
    problems: list[tuple[int, str]] = []

    def close(match: re.Match[str]) -> str:
        tag, attributes = match.group(1), match.group(2)
        left = _QUOTED.sub("", attributes)
        quote = next((c for c in left if c in "\"'"), None)
        if quote is None:
            return match.group(0)
        line = markup.count("\n", 0, match.start())
        problems.append(
            (
                line,
                f"the quote opened in <{tag}{attributes}> is never closed; end the address "
                f"with {quote} before the >, as in <a href={quote}https://...{quote}>",
            )
        )
        return f"<{tag}{attributes}{quote}>"

    return _START_TAG.sub(close, markup), problems


def _bad_characters(text: str) -> list[str]:
    bare = re.sub(r"</?[a-zA-Z][^<>]*>", "", text)
    out = []
    if "<" in bare or ">" in bare:
        out.append("a bare '<' or '>' makes Telegram reject the message; write &lt; or &gt;")
    if "&" in _ENTITY.sub("", bare):
        out.append("a bare '&' makes Telegram reject the message; write 'and' or &amp;")
    return out


def _unsourced(text: str, emails: set[str], links: set[str]) -> list[str]:
    """Email addresses and links written out that are not recorded facts."""
    hrefs = _HREF.findall(text)
    text_without_tags = re.sub(r"<[^<>]*>", " ", text)
    out = [
        f"email address '{email}' is not a recorded fact; add it under "
        "knowledge/ with its source and refer to it as {fact.email}"
        for email in _EMAIL.findall(text_without_tags)
        if email.lower() not in emails
    ]
    for url in [*hrefs, *_URL.findall(_EMAIL.sub(" ", text_without_tags))]:
        url = url.rstrip(".,;:!?)")
        if url.lower().startswith("mailto:"):
            continue
        if link_key(url) not in links:
            out.append(
                f"link '{url}' is not a recorded fact; add it under knowledge/ "
                "with its source and refer to it as {fact.web}"
            )
    return out


def _typed_numbers(text: str, phones: dict[str, list[str]]) -> list[str]:
    """Phone numbers written out: each must come from a fact, through a reference."""
    out = []
    for typed in _numbers_in(re.sub(r"<[^<>]*>", " ", text)):
        references = phones.get(digits(typed))
        if references:  # recorded, but the answer would not follow when it changes
            out.append(
                f"phone number '{typed}' is typed in; write {' or '.join(references)} "
                "instead, so every number comes from its fact and changes with it"
            )
        else:
            out.append(
                f"phone number '{typed}' is not a recorded fact; add it under knowledge/ as "
                "a fact's phone: (with its source), then refer to it as {that_fact.phone}"
            )
    return out


def _phone_references(facts: dict[str, Fact]) -> dict[str, list[str]]:
    """Digits of each recorded phone number -> the references that hold it."""
    out: dict[str, list[str]] = {}
    for fact in facts.values():
        for name, value in fact.values.items():
            if value.kind is FactKind.PHONE:
                out.setdefault(digits(value.value), []).append(f"{{{fact.id}.{name}}}")
    return out


def _numbers_in(text: str) -> list[str]:
    """Phone numbers as typed: long digit runs, and short ones after "call", "ring"...
    unless they begin a long one ("Ring 0300 011 55 55" is one number, not '0300')."""
    long_numbers = list(_LONG_NUMBER.finditer(text))
    short_numbers = [
        m.group(1)
        for m in _SHORT_NUMBER.finditer(text)
        if not any(n.start() <= m.start(1) < n.end() for n in long_numbers)
    ]
    return [m.group(0).strip() for m in long_numbers] + short_numbers
