"""Moments in Helsinki time for the fast layer (pure rules: no database, no Application)."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

HEL = ZoneInfo("Europe/Helsinki")


def at(text: str) -> datetime:
    """'24.12.2026 14.30' in Helsinki time, as an aware datetime."""
    return datetime.strptime(text, "%d.%m.%Y %H.%M").replace(tzinfo=HEL)
