"""Check-in times follow the Helsinki wall clock (bot/services/checkins.py): "48 hours before
a 10.00 gig" is 10.00 two days earlier even when the clocks change in between (Sunday
29 March 2026 forward, Sunday 25 October 2026 back)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from bot.clock import FakeClock
from bot.i18n import Texts
from bot.notify import Notifier
from bot.present import Presenter
from bot.services.checkins import CheckIns, wall_shift
from bot.settings import load_settings
from storage.models import CheckInKind, Gig
from tests.unit.moments import HEL, at

TOKEN = "123456789:AAFakeTokenForTestsOnly_abcdefghijklmno"


def hours_between(a: datetime, b: datetime) -> float:
    return (b.astimezone(UTC) - a.astimezone(UTC)) / timedelta(hours=1)


@pytest.mark.parametrize(
    ("start", "shift", "expected", "real_hours"),
    [
        ("30.3.2026 10.00", -48, "28.3.2026 10.00", 47),  # over the spring change
        ("26.10.2026 10.00", -48, "24.10.2026 10.00", 49),  # over the autumn change
        ("28.3.2026 22.00", 12, "29.3.2026 10.00", 11),
        ("24.10.2026 22.00", 12, "25.10.2026 10.00", 13),
        ("23.11.2026 10.00", -48, "21.11.2026 10.00", 48),  # no change: plain arithmetic
    ],
)
def test_shifts_keep_the_wall_clock(start: str, shift: int, expected: str, real_hours: int) -> None:
    moved = wall_shift(at(start).astimezone(UTC), timedelta(hours=shift), HEL)
    assert moved == at(expected)
    assert abs(hours_between(moved, at(start))) == real_hours


def test_a_shift_keeps_the_time_zone_it_was_given() -> None:
    moved = wall_shift(at("30.3.2026 10.00").astimezone(UTC), -timedelta(hours=48), HEL)
    assert moved.tzinfo is UTC


def test_a_wall_time_that_never_happened_is_read_as_the_clocks_jump_over_it() -> None:
    # 03.30 on 29 March 2026 does not exist in Helsinki: the clocks go from 03.00 to 04.00.
    # Gig times come from the database in UTC.
    moved = wall_shift(at("31.3.2026 03.30").astimezone(UTC), -timedelta(hours=48), HEL)
    local = moved.astimezone(HEL)
    assert (local.day, local.hour, local.minute) == (29, 4, 30)


def checkins() -> CheckIns:
    settings = load_settings(bot_token=TOKEN, database_url="sqlite+aiosqlite://", _env_file=None)
    presenter = Presenter(Texts(settings.default_language), settings.tz)
    clock = FakeClock(at("1.3.2026 12.00"))
    return CheckIns(presenter, Notifier(presenter, settings, clock), clock, settings)


def local_times(starts: str, minutes: int = 90) -> dict[CheckInKind, str]:
    gig = Gig(starts_at=at(starts).astimezone(UTC), duration_min=minutes, prep_hours=None)
    return {
        kind: f"{moment.astimezone(HEL):%d.%m. %H.%M}"
        for kind, moment in checkins().due_times(gig).items()
    }


def test_due_times_over_the_spring_change() -> None:
    # Monday 10.00 summer time: the prep on Saturday 10.00 winter time, 47 real hours before.
    assert local_times("30.3.2026 10.00") == {
        CheckInKind.PREP: "28.03. 10.00",
        CheckInKind.COMING: "29.03. 10.00",  # "still coming?" a day before on the wall clock
        CheckInKind.REMINDER: "30.03. 08.00",  # three hours before, but not before 08.00
        CheckInKind.DEBRIEF: "30.03. 13.30",
    }


def test_due_times_over_the_autumn_change() -> None:
    assert local_times("26.10.2026 14.00", minutes=60) == {
        CheckInKind.PREP: "24.10. 14.00",
        CheckInKind.COMING: "25.10. 14.00",
        CheckInKind.REMINDER: "26.10. 11.00",
        CheckInKind.DEBRIEF: "26.10. 17.00",
    }


def test_a_debrief_across_the_night_the_clocks_go_back() -> None:
    # A night shift ending at 02.30 summer time; two hours later on the wall is 04.30 winter
    # time, three real hours later.
    times = checkins().due_times(
        Gig(starts_at=at("24.10.2026 23.00").astimezone(UTC), duration_min=210, prep_hours=None)
    )
    end = at("24.10.2026 23.00").astimezone(UTC) + timedelta(minutes=210)
    assert f"{times[CheckInKind.DEBRIEF].astimezone(HEL):%d.%m. %H.%M}" == "25.10. 04.30"
    assert hours_between(end, times[CheckInKind.DEBRIEF]) == 3
