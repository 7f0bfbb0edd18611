"""Parsers for what people type. Each returns a value or raises InputError with a catalog key."""

from __future__ import annotations

import re
import unicodedata
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
    r"(?:(?:\s*(?:kello|klo|kl\.?|at|,)\s*|\s+)(?P<h>\d{1,2})(?:[.:](?P<mi>\d{2}))?)?$",
    re.IGNORECASE,
)

MAX_DAYS_AHEAD = 730


def parse_datetime(text: str, now: datetime, tz: ZoneInfo) -> datetime:
    """'24.12.2026 klo 14.30', '24.12. 14:30', '24.12.26 9' -> aware UTC datetime in the future."""
    match = _match_datetime(text)
    local_now = now.astimezone(tz)
    day, month = int(match["d"]), int(match["m"])
    year_given = bool(match["y"])
    year = _full_year(int(match["y"])) if year_given else local_now.year
    # A day that is not in the calendar is the first thing to say ("31.2." has no time either,
    # but fixing the time would not help). Without a year, 29.2. is fine if next year has it.
    if not any(_day_exists(y, month, day) for y in ((year,) if year_given else (year, year + 1))):
        raise _no_such_day(day, month)
    hour, minute = _time_of_day(match)
    try:
        local = datetime(year, month, day, hour, minute, tzinfo=tz)
        if not year_given and local < local_now:
            # "24.1." typed in December means next January.
            local = local.replace(year=year + 1)
    except ValueError:
        raise _no_such_day(day, month) from None
    return _within_reach(local.astimezone(UTC), now)


def _match_datetime(text: str) -> re.Match[str]:
    cleaned = " ".join(text.strip().split())
    match = _DT_RE.match(cleaned) if len(cleaned) <= 40 else None
    if not match:
        raise InputError("err.datetime_format")
    return match


def _full_year(year: int) -> int:
    """'26' is 2026."""
    return year + 2000 if year < 100 else year


def _no_such_day(day: int, month: int) -> InputError:
    return InputError("err.date_invalid", {"date": f"{day}.{month}."})


def _time_of_day(match: re.Match[str]) -> tuple[int, int]:
    if match["h"] is None:
        raise InputError("err.datetime_no_time")
    hour = int(match["h"])
    minute = int(match["mi"]) if match["mi"] else 0
    if not (0 <= hour <= 23 and 0 <= minute <= 59):
        raise InputError("err.time_invalid")
    return hour, minute


def _within_reach(moment: datetime, now: datetime) -> datetime:
    """`moment` if it is in the future but not too far in it."""
    if moment <= now:
        raise InputError("err.datetime_past")
    if moment > now + timedelta(days=MAX_DAYS_AHEAD):
        raise InputError("err.datetime_far")
    return moment


def _day_exists(year: int, month: int, day: int) -> bool:
    try:
        date(year, month, day)
    except ValueError:
        return False
    return True


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


_RANGE_SPLIT = re.compile(r"\s*(?:[\u2013\u2014\u2212]|-{1,2})\s*")
MAX_RANGE_DAYS = 366


def parse_date_range(text: str, now: datetime, tz: ZoneInfo) -> tuple[date, date]:
    """'24.12.–6.1.' (also with a hyphen, years, or one day alone) -> the first and last day,
    both included. Without a year the first day is the next such day from today on, and the
    last the first such day on or after it (so 24.12.–6.1. crosses the new year)."""
    parts = [p for p in _RANGE_SPLIT.split(text.strip(), maxsplit=1) if p]
    if not 1 <= len(parts) <= 2:
        raise InputError("err.avail.range_format")
    try:
        first = parse_date(parts[0], now, tz)
    except InputError as err:
        raise InputError(
            "err.avail.range_format" if err.key == "err.date_format" else err.key, err.params
        ) from None
    if len(parts) == 1:
        return first, first
    cleaned = "".join(parts[1].split())
    match = _DATE_RE.match(cleaned) if len(cleaned) <= 12 else None
    if not match:
        raise InputError("err.avail.range_format")
    day, month = int(match["d"]), int(match["m"])
    year = _full_year(int(match["y"])) if match["y"] else first.year
    try:
        last = date(year, month, day)
        if not match["y"] and last < first:
            last = date(year + 1, month, day)
    except ValueError:
        raise InputError("err.date_invalid", {"date": f"{day}.{month}."}) from None
    if last < first:
        raise InputError("err.avail.range_backwards")
    if (last - first).days >= MAX_RANGE_DAYS:
        raise InputError("err.avail.range_long")
    return first, last


SERIES_MAX = 52  # dates in one series: a year of weekly gigs


def parse_dates(text: str, now: datetime, tz: ZoneInfo, most: int = SERIES_MAX - 1) -> list[date]:
    """'10.3.2027, 17.3. 24.3.2027' -> the days in time order, each once. Commas, semicolons,
    spaces and "ja"/"och"/"and" between them are all fine; a day that cannot be read is named."""
    tokens = [t for t in re.split(r"[\s,;]+", text.strip()) if t]
    tokens = [t for t in tokens if t.lower() not in ("ja", "och", "and", "&")]
    if not tokens:
        raise InputError("series.err_dates_none")
    days: set[date] = set()
    for token in tokens:
        try:
            days.add(parse_date(token, now, tz))
        except InputError as err:
            if err.key == "err.date_past":
                raise InputError("series.err_dates_past", {"date": token}) from None
            raise InputError("series.err_dates_bad", {"date": token[:20]}) from None
    if len(days) > most:
        raise InputError("series.err_cap", {"high": most + 1})
    return sorted(days)


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


def has_words(text: str, *, digits: bool = False) -> bool:
    """True if the text has a letter (or, with `digits`, a digit): a name or a place cannot be
    only emoji or punctuation."""
    return any(
        unicodedata.category(ch).startswith("L") or (digits and ch in "0123456789") for ch in text
    )


def clean_text(text: str, max_len: int, min_len: int = 1) -> str:
    """Trimmed free text within limits; control characters removed."""
    cleaned = "".join(ch for ch in text if ch == "\n" or ch >= " ").strip()
    if len(cleaned) > max_len:
        raise InputError("err.too_long", {"max": max_len, "length": len(cleaned)})
    if len(cleaned) < min_len:
        raise InputError("err.too_short", {"min": min_len})
    return cleaned


DB_INT_MAX = 2**31 - 1
"""The largest record number: ids are INTEGER columns (PostgreSQL's int4)."""

MIN_YEAR, MAX_YEAR = 2000, 2100
"""Years a report period may name; outside this nothing was or will be recorded."""


def parse_id(text: str) -> int:
    """'12' or '#12' -> a record number: ASCII digits only (a superscript '²' passes isdigit
    but is no number), from 1 to the database's largest integer."""
    cleaned = text.strip().removeprefix("#")
    if not re.fullmatch(r"[0-9]{1,10}", cleaned) or not 1 <= int(cleaned) <= DB_INT_MAX:
        raise InputError("err.not_an_id")
    return int(cleaned)


def parse_year(text: str) -> int:
    """'2026' -> 2026, within MIN_YEAR..MAX_YEAR."""
    if not re.fullmatch(r"[0-9]{4}", text) or not MIN_YEAR <= int(text) <= MAX_YEAR:
        raise InputError("err.year_range", {"low": MIN_YEAR, "high": MAX_YEAR})
    return int(text)


ELLIPSIS = "…"


def shorten(text: str, limit: int = 200) -> str:
    """Echoed user input, at most `limit` characters: longer text ends in '…'."""
    return text if len(text) <= limit else text[: limit - 1].rstrip() + ELLIPSIS


TEXT_LIMIT = 4096
CAPTION_LIMIT = 1024
CALLBACK_DATA_LIMIT = 64


def split_text(text: str, limit: int = TEXT_LIMIT) -> list[str]:
    """A long message as parts Telegram accepts: cut between paragraphs where possible, then
    between lines, and a single overlong line by characters."""
    if len(text) <= limit:
        return [text]
    parts: list[str] = []
    for paragraph in text.split("\n\n"):
        for chunk in _chunks(paragraph.split("\n"), "\n", limit):
            if parts and len(parts[-1]) + 2 + len(chunk) <= limit:
                parts[-1] += "\n\n" + chunk
            else:
                parts.append(chunk)
    return [part for part in parts if part.strip()] or [text[:limit]]


def _chunks(lines: list[str], sep: str, limit: int) -> list[str]:
    out: list[str] = []
    for line in lines:
        pieces = [line[i : i + limit] for i in range(0, len(line), limit)] or [""]
        for piece in pieces:
            if out and len(out[-1]) + len(sep) + len(piece) <= limit:
                out[-1] += sep + piece
            else:
                out.append(piece)
    return out
