"""The pure rules behind issue 16 items 1, 2 and 7: the weekly pattern's slots, typed periods,
interest as a tie-break only, and the cascade's waves by lead time."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from bot.parsing import InputError, parse_date_range
from bot.services.dispatch.ranking import (
    Ranked,
    order_key,
    prefer_interested,
    wave_plan,
    waves_left,
)
from storage import vocab

HEL = ZoneInfo("Europe/Helsinki")
NOW = datetime(2026, 11, 23, 8, 0, tzinfo=UTC)  # Monday 23.11.2026 at 10.00 in Helsinki


@pytest.mark.parametrize(
    ("hour", "slot"),
    [(5, None), (6, 0), (11, 0), (12, 1), (16, 1), (17, 2), (21, 2), (22, None), (0, None)],
)
def test_the_slots_cover_the_day_from_six_to_ten(hour: int, slot: int | None) -> None:
    assert vocab.slot_of(hour) == slot
    bit = vocab.slot_bit(3, hour)  # a Thursday
    assert bit == (0 if slot is None else 1 << (3 * 3 + slot))


@pytest.mark.parametrize(
    ("typed", "first", "last"),
    [
        ("24.12.–6.1.", date(2026, 12, 24), date(2027, 1, 6)),  # over the new year
        ("24.12. - 6.1.", date(2026, 12, 24), date(2027, 1, 6)),
        ("1.3.–31.3.", date(2027, 3, 1), date(2027, 3, 31)),
        ("24.12.", date(2026, 12, 24), date(2026, 12, 24)),
        ("23.11.2026—23.11.2026", date(2026, 11, 23), date(2026, 11, 23)),
        ("5.1.2027-7.1.27", date(2027, 1, 5), date(2027, 1, 7)),
    ],
)
def test_periods_are_read_the_finnish_way(typed: str, first: date, last: date) -> None:
    assert parse_date_range(typed, NOW, HEL) == (first, last)


@pytest.mark.parametrize(
    ("typed", "key"),
    [
        ("", "err.avail.range_format"),
        ("jouluna", "err.avail.range_format"),
        ("24.12.–x", "err.avail.range_format"),
        ("31.2.–3.3.", "err.date_invalid"),
        ("6.1.2027–24.12.2026", "err.avail.range_backwards"),
        ("1.11.2026–3.11.2026", "err.date_past"),
        ("1.1.2027–2.1.2028", "err.avail.range_long"),
    ],
)
def test_a_bad_period_names_what_is_wrong(typed: str, key: str) -> None:
    with pytest.raises(InputError) as err:
        parse_date_range(typed, NOW, HEL)
    assert err.value.key == key


def ranked(uid: int, gigs: int, minutes: int = 0, last: datetime | None = None) -> Ranked:
    return Ranked(uid, f"E{uid}", 0, order_key(gigs, minutes, last))


def test_interest_moves_an_expert_first_among_the_level_only() -> None:
    last = NOW - timedelta(days=10)
    order = [
        ranked(1, 0),
        ranked(2, 0),
        ranked(3, 0),
        ranked(4, 1, 60, last),
        ranked(5, 1, 60, last),
        ranked(6, 2),
    ]
    out = prefer_interested(order, {3, 5, 6})
    assert [r.expert_id for r in out] == [3, 1, 2, 5, 4, 6]
    assert [r.place for r in out] == [1, 2, 3, 4, 5, 6]
    assert [r.interested for r in out] == [True, False, False, True, False, True]


def test_without_interest_the_rotation_is_unchanged() -> None:
    order = [ranked(1, 0), ranked(2, 0), ranked(3, 1, 30, NOW)]
    assert [r.expert_id for r in prefer_interested(order, set())] == [1, 2, 3]


@dataclass
class Waves:
    wave_far_days: int = 14
    wave_far_size: int = 1
    wave_far_hours: int = 72
    wave_near_hours: int = 48


@pytest.mark.parametrize(
    ("lead", "band", "size", "hours"),
    [
        (timedelta(days=30), "far", 1, 72),
        (timedelta(days=14, minutes=1), "far", 1, 72),
        (timedelta(days=14), "medium", 3, 24),
        (timedelta(hours=48, minutes=1), "medium", 3, 24),
        (timedelta(hours=48), "near", None, 24),
        (timedelta(hours=2), "near", None, 24),
    ],
)
def test_the_wave_plan_follows_the_lead_time(
    lead: timedelta, band: str, size: int | None, hours: int
) -> None:
    plan = wave_plan(lead, 3, 24, Waves())
    assert (plan.band, plan.size, plan.hours) == (band, size, hours)


def test_waves_left_rounds_up() -> None:
    assert [waves_left(n, 3) for n in (0, 1, 3, 4, 7)] == [0, 1, 1, 2, 3]
    assert waves_left(10, None) == 0
