"""Opening hours in UK time, with England's bank holidays: what is open now, and when next.

Hours are written by staff as one line, for example ``Mon-Fri 09:00-17:00``,
``Mon-Thu 09:00-17:00, Fri 09:00-16:30`` or ``always``. Places with hours are closed on
bank holidays unless the line ends ``; open bank holidays``. Every function takes the
moment to judge, so tests can freeze the clock; only :func:`uk_now` reads the real one.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

import holidays

UK = ZoneInfo("Europe/London")
DAY_NAMES = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
_DAYS = {name[:3].lower(): index for index, name in enumerate(DAY_NAMES)}
_CLAUSE = re.compile(
    r"^(?P<first>[a-z]{3})(?:\s*-\s*(?P<last>[a-z]{3}))?\s+"
    r"(?P<open>\d{1,2}:\d{2})\s*-\s*(?P<close>\d{1,2}:\d{2})$"
)
_ALWAYS = {"always", "24/7"}
_BANK_HOLIDAYS_OPEN = "open bank holidays"
# How far ahead to look for the next opening: past any run of holidays (Christmas to
# New Year) with a margin.
_HORIZON_DAYS = 21


@dataclass(frozen=True)
class OpeningHours:
    """When a contact is staffed: one opening per weekday (Monday first), or always."""

    days: tuple[tuple[time, time] | None, ...] = (None,) * 7
    always: bool = False
    open_on_bank_holidays: bool = False

    def opening_on(self, day: date) -> tuple[time, time] | None:
        """The day's opening and closing times, or None when closed all day."""
        if self.always:
            return (time(0, 0), time(23, 59, 59))
        if not self.open_on_bank_holidays and bank_holiday(day):
            return None
        return self.days[day.weekday()]


def parse_hours(spec: str) -> OpeningHours:
    """Read one line of hours; ValueError says what is wrong in staff's terms."""
    text = " ".join(spec.lower().split())
    if text in _ALWAYS:
        return OpeningHours(always=True)
    head, _, tail = text.rpartition(";")
    bank_open = bool(head) and tail.strip() == _BANK_HOLIDAYS_OPEN
    if bank_open:
        text = head.strip()
    days: list[tuple[time, time] | None] = [None] * 7
    for clause in (part.strip() for part in text.split(",")):
        found = _CLAUSE.match(clause)
        if not found:
            raise ValueError(
                f"hours {spec!r}: write them like 'Mon-Fri 09:00-17:00' (days, then 24-hour "
                f"times), clauses separated by commas, or 'always'"
            )
        first, last = found["first"], found["last"] or found["first"]
        if first not in _DAYS or last not in _DAYS:
            raise ValueError(f"hours {spec!r}: days are Mon, Tue, Wed, Thu, Fri, Sat, Sun")
        opens, closes = _clock(found["open"], spec), _clock(found["close"], spec)
        if closes <= opens:
            raise ValueError(f"hours {spec!r}: {found['close']} is not after {found['open']}")
        start, end = _DAYS[first], _DAYS[last]
        if end < start:
            raise ValueError(f"hours {spec!r}: {first.title()}-{last.title()} runs backwards")
        for index in range(start, end + 1):
            if days[index] is not None:
                raise ValueError(f"hours {spec!r}: {DAY_NAMES[index]} is given twice")
            days[index] = (opens, closes)
    return OpeningHours(days=tuple(days), open_on_bank_holidays=bank_open)


def _clock(value: str, spec: str) -> time:
    hours, minutes = (int(part) for part in value.split(":"))
    if hours > 23 or minutes > 59:
        raise ValueError(f"hours {spec!r}: {value} is not a time of day")
    return time(hours, minutes)


@lru_cache(maxsize=64)
def _england_holidays(year: int) -> holidays.HolidayBase:
    return holidays.country_holidays("GB", subdiv="ENG", years=year)


def bank_holiday(day: date) -> str | None:
    """The name of England's bank holiday on ``day``, or None."""
    name = _england_holidays(day.year).get(day)
    return str(name) if name else None


def uk_now() -> datetime:
    """The current moment in UK local time (GMT or BST)."""
    return datetime.now(UK)


def _local(when: datetime) -> datetime:
    return when.astimezone(UK) if when.tzinfo else when.replace(tzinfo=UK)


def is_open(hours: OpeningHours, when: datetime) -> bool:
    """Whether the contact is staffed at ``when``."""
    local = _local(when)
    opening = hours.opening_on(local.date())
    return opening is not None and opening[0] <= local.time() < opening[1]


def next_opening(hours: OpeningHours, when: datetime) -> datetime | None:
    """The next moment the contact opens after ``when`` (None if never within three weeks)."""
    local = _local(when)
    for offset in range(_HORIZON_DAYS):
        day = local.date() + timedelta(days=offset)
        opening = hours.opening_on(day)
        if opening is None:
            continue
        starts = datetime.combine(day, opening[0], tzinfo=UK)
        if starts > local:
            return starts
    return None


def spoken_time(moment: time) -> str:
    """``9am``, ``5:30pm``, ``12pm``: how the UK writes times in plain English."""
    hour = moment.hour % 12 or 12
    suffix = "am" if moment.hour < 12 else "pm"
    return f"{hour}{suffix}" if moment.minute == 0 else f"{hour}:{moment.minute:02d}{suffix}"


def spoken_day(moment: datetime, now: datetime) -> str:
    """``today``, ``tomorrow``, ``Tuesday``, or ``Tuesday 29 December`` beyond a week."""
    days = (moment.date() - _local(now).date()).days
    if days == 0:
        return "today"
    if days == 1:
        return "tomorrow"
    name = DAY_NAMES[moment.weekday()]
    return name if days < 7 else f"{name} {moment.day} {moment:%B}"


def status_line(hours: OpeningHours, when: datetime) -> str:
    """One plain sentence on whether it is open now: for answers and the handover offer."""
    local = _local(when)
    if hours.always:
        return "Open 24 hours a day, every day."
    opening = hours.opening_on(local.date())
    if opening is not None and opening[0] <= local.time() < opening[1]:
        return f"Open now, until {spoken_time(opening[1])} today."
    reopens = next_opening(hours, local)
    holiday = bank_holiday(local.date())
    reason = f" ({holiday}, a bank holiday)" if holiday and not hours.open_on_bank_holidays else ""
    if reopens is None:
        return f"Closed now{reason}."
    when_next = f"{spoken_day(reopens, local)} at {spoken_time(reopens.time())}"
    return f"Closed now{reason}. Opens {when_next}."
