"""Quiet hours (bot/notify.py `next_allowed`): a push to an expert held in the night goes at
the end of quiet hours on the Helsinki wall clock, whatever daylight saving does meanwhile.
In 2026 the clocks go forward on Sunday 29 March (03.00 -> 04.00) and back on Sunday
25 October (04.00 -> 03.00)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from bot.notify import next_allowed
from bot.settings import Settings, load_settings
from tests.unit.moments import HEL, at

TOKEN = "123456789:AAFakeTokenForTestsOnly_abcdefghijklmno"


def quiet(start: int = 21, end: int = 8) -> Settings:
    return load_settings(
        bot_token=TOKEN,
        database_url="sqlite+aiosqlite://",
        quiet_hours_start=start,
        quiet_hours_end=end,
        _env_file=None,
    )


def utc(year: int, month: int, day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=UTC)


@pytest.mark.parametrize(
    ("moment", "expected"),
    [
        ("23.11.2026 10.00", "23.11.2026 10.00"),  # the day: at once
        ("23.11.2026 08.00", "23.11.2026 08.00"),  # quiet hours end at 08.00 sharp
        ("23.11.2026 20.59", "23.11.2026 20.59"),
        ("23.11.2026 21.00", "24.11.2026 08.00"),  # and start at 21.00 sharp
        ("23.11.2026 23.30", "24.11.2026 08.00"),
        ("24.11.2026 00.10", "24.11.2026 08.00"),  # after midnight: the same morning
        ("24.11.2026 07.59", "24.11.2026 08.00"),
        ("31.12.2026 22.00", "1.1.2027 08.00"),  # over the new year
    ],
)
def test_quiet_hours_hold_until_eight(moment: str, expected: str) -> None:
    assert next_allowed(at(moment), quiet()) == at(expected)


def test_the_night_the_clocks_go_forward_is_an_hour_shorter() -> None:
    evening = at("28.3.2026 22.00")  # EET, UTC+2
    morning = next_allowed(evening, quiet())
    assert morning == at("29.3.2026 08.00")  # EEST, UTC+3
    assert morning.astimezone(UTC) == utc(2026, 3, 29, 5)
    # Same-zone subtraction is wall-clock arithmetic; the time that passes is in UTC.
    assert morning.astimezone(UTC) - evening.astimezone(UTC) == timedelta(hours=9)


def test_the_night_the_clocks_go_back_is_an_hour_longer() -> None:
    evening = at("24.10.2026 22.00")  # EEST, UTC+3
    morning = next_allowed(evening, quiet())
    assert morning == at("25.10.2026 08.00")  # EET, UTC+2
    assert morning.astimezone(UTC) == utc(2026, 10, 25, 6)
    assert morning.astimezone(UTC) - evening.astimezone(UTC) == timedelta(hours=11)


@pytest.mark.parametrize(
    "moment",
    [
        utc(2026, 3, 29, 0, 30),  # 02.30 EET, just before the clocks go forward
        utc(2026, 3, 29, 1, 30),  # 04.30 EEST, just after (03.30 never happened)
    ],
)
def test_around_the_missing_hour_the_morning_is_eight_summer_time(moment: datetime) -> None:
    assert next_allowed(moment, quiet()) == utc(2026, 3, 29, 5)


@pytest.mark.parametrize(
    "moment",
    [
        utc(2026, 10, 25, 0, 30),  # 03.30 EEST, the first time round
        utc(2026, 10, 25, 1, 30),  # 03.30 EET, the second time round
    ],
)
def test_the_repeated_hour_wakes_once_at_eight_winter_time(moment: datetime) -> None:
    assert moment.astimezone(HEL).hour == 3
    assert next_allowed(moment, quiet()) == utc(2026, 10, 25, 6)


def test_the_answer_keeps_the_time_zone_it_was_given() -> None:
    moment = at("23.11.2026 23.00").astimezone(UTC)
    morning = next_allowed(moment, quiet())
    assert morning.tzinfo is UTC and morning == at("24.11.2026 08.00")


def test_quiet_hours_within_one_day_and_switched_off() -> None:
    early = quiet(start=1, end=6)  # not across midnight
    assert next_allowed(at("23.11.2026 00.30"), early) == at("23.11.2026 00.30")
    assert next_allowed(at("23.11.2026 03.00"), early) == at("23.11.2026 06.00")
    assert next_allowed(at("23.11.2026 06.00"), early) == at("23.11.2026 06.00")
    off = quiet(start=8, end=8)
    assert next_allowed(at("23.11.2026 03.00"), off) == at("23.11.2026 03.00")
