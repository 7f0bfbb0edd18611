"""Series: the dates an order for several dates stands for, and how a series reads.

Pure rules (no database): the orders service stores what `starts` returns, one gig per date.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from bot.forms import SERIES_REPEATS

STEP_DAYS = {"weekly": 7, "biweekly": 14}


def is_series(values: dict[str, Any]) -> bool:
    return values.get("repeat") in SERIES_REPEATS


def starts(values: dict[str, Any], tz: ZoneInfo) -> list[datetime]:
    """Every date of the order at the first date's local time of day, in time order, each
    once (local time: a weekly 13.00 stays 13.00 across the change to summer time)."""
    first = datetime.fromisoformat(values["starts_at"]).astimezone(tz)
    repeat = values.get("repeat")
    if repeat in STEP_DAYS:
        step = timedelta(days=STEP_DAYS[repeat])
        days = [first.date() + step * k for k in range(int(values["repeat_count"]))]
    elif repeat == "dates":
        days = sorted({first.date(), *(date.fromisoformat(d) for d in values["repeat_dates"])})
    else:
        days = [first.date()]
    return [datetime.combine(day, first.timetz()) for day in days]


def shifted(moment: datetime, old_first: datetime, new_first: datetime, tz: ZoneInfo) -> datetime:
    """`moment` moved as the first date moved, in local wall-clock time (a change from
    Tuesday 13.00 to Wednesday 14.00 moves every later Tuesday the same way)."""
    wall = new_first.astimezone(tz).replace(tzinfo=None) - old_first.astimezone(tz).replace(
        tzinfo=None
    )
    local = moment.astimezone(tz).replace(tzinfo=None) + wall
    return local.replace(tzinfo=tz)
