"""iCalendar (.ics) files for confirmed gigs: Europe/Helsinki times, a stable UID per gig so a
changed gig updates the same calendar entry (SEQUENCE grows with each change)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

# Finland's rules since 1996 (EU summer time); calendar apps need them to place TZID times.
_VTIMEZONE = [
    "BEGIN:VTIMEZONE",
    "TZID:Europe/Helsinki",
    "BEGIN:STANDARD",
    "DTSTART:19701025T040000",
    "TZOFFSETFROM:+0300",
    "TZOFFSETTO:+0200",
    "TZNAME:EET",
    "RRULE:FREQ=YEARLY;BYMONTH=10;BYDAY=-1SU",
    "END:STANDARD",
    "BEGIN:DAYLIGHT",
    "DTSTART:19700329T030000",
    "TZOFFSETFROM:+0200",
    "TZOFFSETTO:+0300",
    "TZNAME:EEST",
    "RRULE:FREQ=YEARLY;BYMONTH=3;BYDAY=-1SU",
    "END:DAYLIGHT",
    "END:VTIMEZONE",
]


def escape(text: str) -> str:
    return (
        text.replace("\\", "\\\\")
        .replace(";", "\\;")
        .replace(",", "\\,")
        .replace("\r\n", "\\n")
        .replace("\n", "\\n")
    )


def fold(line: str) -> list[str]:
    """Split a content line into pieces of at most 75 octets (RFC 5545, 3.1)."""
    out: list[str] = []
    current = ""
    for ch in line:
        limit = 75 if not out else 74  # continuation lines start with a space
        if len((current + ch).encode()) > limit:
            out.append(current)
            current = ch
        else:
            current += ch
    out.append(current)
    return [out[0], *(" " + part for part in out[1:])]


def gig_uid(gig_id: int) -> str:
    return f"gig-{gig_id}@kokemusvalitys"


def calendar(events: list[list[str]], *, method: str | None = None, name: str = "") -> str:
    """A whole VCALENDAR: one file's event, or a subscription feed's every event (a feed has
    no METHOD; its name shows in the calendar app)."""
    lines = [
        "BEGIN:VCALENDAR",
        "VERSION:2.0",
        "PRODID:-//Kokemusvalitys//Keikat//FI",
        "CALSCALE:GREGORIAN",
        *([f"METHOD:{method}"] if method else []),
        *([f"X-WR-CALNAME:{escape(name)}"] if name else []),
        *_VTIMEZONE,
        *(line for event in events for line in event),
        "END:VCALENDAR",
    ]
    return "\r\n".join(part for line in lines for part in fold(line)) + "\r\n"


def vevent(
    *,
    gig_id: int,
    revision: int,
    starts_at: datetime,
    minutes: int,
    summary: str,
    location: str,
    description: str,
    url: str | None,
    cancelled: bool,
    tz: ZoneInfo,
    now: datetime,
    uid: str | None = None,
) -> list[str]:
    """One gig's event: the same UID in every file and feed, SEQUENCE its revision (or,
    with its own `uid`, an event about the gig, such as its preparation call)."""
    local_start = starts_at.astimezone(tz)
    local_end = (starts_at + timedelta(minutes=minutes)).astimezone(tz)
    lines = [
        "BEGIN:VEVENT",
        f"UID:{uid or gig_uid(gig_id)}",
        f"SEQUENCE:{revision}",
        f"DTSTAMP:{now.astimezone(UTC):%Y%m%dT%H%M%SZ}",
        f"DTSTART;TZID=Europe/Helsinki:{local_start:%Y%m%dT%H%M%S}",
        f"DTEND;TZID=Europe/Helsinki:{local_end:%Y%m%dT%H%M%S}",
        f"SUMMARY:{escape(summary)}",
        f"LOCATION:{escape(location)}",
        f"DESCRIPTION:{escape(description)}",
        f"STATUS:{'CANCELLED' if cancelled else 'CONFIRMED'}",
    ]
    if url:
        lines.append(f"URL:{url}")
    return [*lines, "END:VEVENT"]
