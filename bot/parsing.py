"""Parsers for what people type. Each returns a value or raises InputError with a catalog key."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal, InvalidOperation
from zoneinfo import ZoneInfo


@dataclass
class InputError(Exception):
    """Input that cannot be used; `key` names the message explaining why."""

    key: str
    params: dict[str, object] = field(default_factory=dict)


_DT_RE = re.compile(
    r"^(?P<d>\d{1,2})\.(?P<m>\d{1,2})\.?(?P<y>\d{4}|\d{2})?(?!\d)"
    r"(?:(?:\s*(?:klo|kl\.?|at|,)\s*|\s+)(?P<h>\d{1,2})(?:[.:](?P<mi>\d{2}))?)?$",
    re.IGNORECASE,
)

MAX_DAYS_AHEAD = 730


def parse_datetime(text: str, now: datetime, tz: ZoneInfo) -> datetime:
    """'24.12.2026 klo 14.30', '24.12. 14:30', '24.12.26 9' -> aware UTC datetime in the future."""
    cleaned = " ".join(text.strip().split())
    if len(cleaned) > 40:
        raise InputError("err.datetime_format")
    match = _DT_RE.match(cleaned)
    if not match:
        raise InputError("err.datetime_format")
    if match["h"] is None:
        raise InputError("err.datetime_no_time")
    local_now = now.astimezone(tz)
    day, month, hour = int(match["d"]), int(match["m"]), int(match["h"])
    minute = int(match["mi"]) if match["mi"] else 0
    if match["y"]:
        year = int(match["y"])
        year = year + 2000 if year < 100 else year
    else:
        year = local_now.year
    if not (0 <= hour <= 23 and 0 <= minute <= 59):
        raise InputError("err.time_invalid")
    try:
        local = datetime(year, month, day, hour, minute, tzinfo=tz)
    except ValueError:
        raise InputError("err.date_invalid", {"date": f"{day}.{month}."}) from None
    if not match["y"] and local < local_now:
        # "24.1." typed in December means next January.
        try:
            local = local.replace(year=year + 1)
        except ValueError:
            raise InputError("err.date_invalid", {"date": f"{day}.{month}."}) from None
    result = local.astimezone(UTC)
    if result <= now:
        raise InputError("err.datetime_past")
    if result > now + timedelta(days=MAX_DAYS_AHEAD):
        raise InputError("err.datetime_far")
    return result


_DATE_RE = re.compile(r"^(?P<d>\d{1,2})\.(?P<m>\d{1,2})\.?(?P<y>\d{4}|\d{2})?$")


def parse_date(text: str, now: datetime, tz: ZoneInfo, max_days: int = MAX_DAYS_AHEAD) -> date:
    """'31.12.2026' or '31.12.' -> a date from today on (a past day-month means next year)."""
    cleaned = "".join(text.split())
    match = _DATE_RE.match(cleaned) if len(cleaned) <= 12 else None
    if not match:
        raise InputError("err.date_format")
    today = now.astimezone(tz).date()
    day, month = int(match["d"]), int(match["m"])
    year = int(match["y"]) if match["y"] else today.year
    year = year + 2000 if year < 100 else year
    try:
        result = date(year, month, day)
        if not match["y"] and result < today:
            result = date(year + 1, month, day)
    except ValueError:
        raise InputError("err.date_invalid", {"date": f"{day}.{month}."}) from None
    if result < today:
        raise InputError("err.date_past")
    if result > today + timedelta(days=max_days):
        raise InputError("err.datetime_far")
    return result


def parse_int(text: str, low: int, high: int) -> int:
    cleaned = text.strip().replace(" ", "").replace("\u00a0", "")
    if not re.fullmatch(r"[+-]?\d{1,9}", cleaned):
        raise InputError("err.not_a_number", {"low": low, "high": high})
    value = int(cleaned)
    if not low <= value <= high:
        raise InputError("err.number_range", {"low": low, "high": high})
    return value


def parse_money_cents(text: str, high_euros: int = 100_000) -> int:
    """'150', '150,50 €', '1 200' -> cents."""
    cleaned = text.strip().lower().replace("\u00a0", "").replace(" ", "")
    cleaned = cleaned.removesuffix("€").removesuffix("eur").removesuffix("euroa")
    cleaned = cleaned.replace(",", ".")
    if not re.fullmatch(r"\d{1,7}(\.\d{1,2})?", cleaned):
        raise InputError("err.not_money")
    try:
        value = Decimal(cleaned)
    except InvalidOperation:
        raise InputError("err.not_money") from None
    if value > high_euros:
        raise InputError("err.money_range", {"high": high_euros})
    return int(value * 100)


def parse_duration_minutes(text: str) -> int:
    """'2', '1,5', '1,5 h', '90 min', '1.30' (h.mm) -> minutes, 15 min to 12 h."""
    cleaned = text.strip().lower().replace(" ", "")
    minutes: int
    if m := re.fullmatch(r"(\d{1,3})(min|minuuttia|minuter|minutes|m)", cleaned):
        minutes = int(m[1])
    elif m := re.fullmatch(r"(\d{1,2}):(\d{2})", cleaned):
        minutes = int(m[1]) * 60 + int(m[2])
    elif m := re.fullmatch(
        r"(\d{1,2})(?:[.,](\d{1,2}))?(h|t|tuntia|tunti|timmar|timme|hours|hour)?", cleaned
    ):
        whole = int(m[1])
        frac = m[2]
        if frac and len(frac) == 2 and "." in cleaned and not m[3]:
            # "1.30" is how Finns write a clock duration: 1 h 30 min ("1,5" is the decimal).
            if int(frac) >= 60:
                raise InputError("err.duration_format")
            minutes = whole * 60 + int(frac)
        else:
            minutes = whole * 60 + (round(float("0." + frac) * 60) if frac else 0)
    else:
        raise InputError("err.duration_format")
    if not 15 <= minutes <= 12 * 60:
        raise InputError("err.duration_range")
    return minutes


def clean_text(text: str, max_len: int, min_len: int = 1) -> str:
    """Trimmed free text within limits; control characters removed."""
    cleaned = "".join(ch for ch in text if ch == "\n" or ch >= " ").strip()
    if len(cleaned) > max_len:
        raise InputError("err.too_long", {"max": max_len, "length": len(cleaned)})
    if len(cleaned) < min_len:
        raise InputError("err.too_short", {"min": min_len})
    return cleaned
