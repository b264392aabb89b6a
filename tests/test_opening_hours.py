"""Opening hours as residents meet them: bank holidays, the minute of opening, clock changes."""

from __future__ import annotations

from datetime import datetime

import pytest

from bot.content.opening_hours import UK, is_open, next_opening, parse_hours, status_line

OFFICE = parse_hours("Mon-Fri 09:00-17:00")


def uk(year: int, month: int, day: int, hour: int = 12, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=UK)


def test_christmas_day_is_closed_until_the_next_working_day() -> None:
    # 25 December 2026 is a Friday; Boxing Day falls on Saturday, so Monday 28th is its
    # substitute bank holiday and the office next opens on Tuesday 29th.
    line = status_line(OFFICE, uk(2026, 12, 25, 3))
    assert "Christmas Day" in line
    assert "Opens Tuesday 29 December at 9am" in line or "Opens Tuesday at 9am" in line
    assert next_opening(OFFICE, uk(2026, 12, 25, 3)) == uk(2026, 12, 29, 9)


def test_easter_monday_is_a_bank_holiday() -> None:
    line = status_line(OFFICE, uk(2027, 3, 29, 10))
    assert line == "Closed now (Easter Monday, a bank holiday). Opens tomorrow at 9am."


@pytest.mark.parametrize(
    ("minute", "expected"),
    [((8, 59), "Closed now. Opens today at 9am."), ((9, 0), "Open now, until 5pm today.")],
)
def test_the_minute_the_office_opens(minute: tuple[int, int], expected: str) -> None:
    assert status_line(OFFICE, uk(2026, 12, 7, *minute)) == expected


@pytest.mark.parametrize("day", [uk(2026, 3, 29, 10), uk(2026, 10, 25, 10)])
def test_clock_change_sundays_give_monday_9am_local_time(day: datetime) -> None:
    opens = next_opening(OFFICE, day)
    assert opens is not None
    assert (opens.hour, opens.minute, opens.weekday()) == (9, 0, 0)
    assert opens.utcoffset() == uk(opens.year, opens.month, opens.day, 9).utcoffset()
    assert status_line(OFFICE, day) == "Closed now. Opens tomorrow at 9am."


def test_open_on_bank_holidays_and_always() -> None:
    helpline = parse_hours("Mon-Sun 08:00-20:00; open bank holidays")
    assert is_open(helpline, uk(2026, 12, 25, 10))
    assert status_line(parse_hours("24/7"), uk(2026, 12, 25, 3)).startswith("Open 24 hours")


@pytest.mark.parametrize(
    "spec",
    [
        "Mon-Fri 9-5",
        "Mon-Fri 17:00-09:00",
        "Fri-Mon 09:00-17:00",
        "Mon 09:00-17:00, Mon 10:00-12:00",
        "Mon-Fri 25:00-26:00",
        "weekdays 09:00-17:00",
    ],
)
def test_malformed_hours_are_refused_with_a_hint(spec: str) -> None:
    with pytest.raises(ValueError, match="hours"):
        parse_hours(spec)
