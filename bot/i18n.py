"""Per-language message catalogs (bot/texts/<lang>.toml) and Finnish-style dates."""

from __future__ import annotations

import string
import tomllib
from collections.abc import Mapping
from datetime import date, datetime
from decimal import Decimal
from functools import cache
from pathlib import Path
from zoneinfo import ZoneInfo

from bot.settings import LANGUAGES

TEXTS_DIR = Path(__file__).parent / "texts"

# Languages that write dates and durations out in words, with the weekday and month names of
# their catalog's [selko] section: "maanantaina 24. joulukuuta 2026 kello 14.30", "1 tunti 30
# minuuttia". Plain Finnish (selkosuomi) is for readers to whom "ma 24.12. klo 14.30" is a
# code to decipher; the other languages keep the short form people type.
WRITTEN_DATES = frozenset({"selko"})


def _flatten(prefix: str, node: Mapping[str, object], out: dict[str, str]) -> None:
    for key, value in node.items():
        name = f"{prefix}.{key}" if prefix else key
        if isinstance(value, Mapping):
            _flatten(name, value, out)
        elif isinstance(value, str):
            out[name] = value
        else:
            raise TypeError(f"catalog entry {name} must be text")


@cache
def load_catalog(lang: str) -> dict[str, str]:
    with (TEXTS_DIR / f"{lang}.toml").open("rb") as fh:
        data = tomllib.load(fh)
    out: dict[str, str] = {}
    _flatten("", data, out)
    return out


def placeholders(template: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(template) if name}


class Texts:
    """Looks up named messages; a missing key is a bug, so it raises."""

    def __init__(self, default_language: str = "fi") -> None:
        self.default = default_language
        self.catalogs = {lang: load_catalog(lang) for lang in LANGUAGES}

    def lang(self, code: str | None) -> str:
        """The supported language closest to a Telegram language code."""
        if code:
            base = code.split("-")[0].lower()
            if base in self.catalogs:
                return base
        return self.default

    def template(self, lang: str, key: str) -> str:
        return self.catalogs[self.lang(lang)][key]

    def get(self, lang: str, key: str, **kwargs: object) -> str:
        template = self.catalogs[self.lang(lang)][key]
        return template.format(**kwargs) if kwargs or "{" in template else template

    def has(self, key: str) -> bool:
        return key in self.catalogs[self.default]

    def dt(self, lang: str, moment: datetime, tz: ZoneInfo) -> str:
        code = self.lang(lang)
        if code not in WRITTEN_DATES:
            return fmt_datetime(moment, tz, self.get(code, "common.clock_word"))
        local = moment.astimezone(tz)
        return self.get(
            code,
            "selko.datetime",
            date=self.day(code, local.date()),
            time=f"{local.hour}.{local.minute:02d}",
        )

    def day(self, lang: str, day: date) -> str:
        """A calendar day: 31.12.2026, or in words where the language writes it so."""
        code = self.lang(lang)
        if code not in WRITTEN_DATES:
            return fmt_day(day)
        return self.get(
            code,
            "selko.date",
            weekday=self.get(code, f"selko.weekday_{day.isoweekday()}"),
            day=day.day,
            month=self.get(code, f"selko.month_{day.month}"),
            year=day.year,
        )

    def duration(self, lang: str, minutes: int) -> str:
        """How long something lasts: 1 h 30 min, or in words (1 tunti 30 minuuttia)."""
        code = self.lang(lang)
        if code not in WRITTEN_DATES:
            return fmt_hours(minutes)
        hours, rest = divmod(minutes, 60)
        parts = []
        if hours:
            parts.append(
                self.get(code, "selko.hour_one")
                if hours == 1
                else self.get(code, "selko.hours", n=hours)
            )
        if rest or not hours:
            parts.append(
                self.get(code, "selko.minute_one")
                if rest == 1
                else self.get(code, "selko.minutes", n=rest)
            )
        return " ".join(parts)

    def all_variants(self, key: str) -> set[str]:
        """The text of one key in every language (to recognise menu buttons)."""
        return {cat[key] for cat in self.catalogs.values()}


def fmt_datetime(moment: datetime, tz: ZoneInfo, word: str = "klo") -> str:
    """24.12.2026 klo 14.30; `word` comes from the catalog (klo, kl., at)."""
    local = moment.astimezone(tz)
    return f"{local.day}.{local.month}.{local.year} {word} {local.hour:02d}.{local.minute:02d}"


def fmt_date(moment: datetime, tz: ZoneInfo) -> str:
    local = moment.astimezone(tz)
    return f"{local.day}.{local.month}.{local.year}"


def fmt_day(day: date) -> str:
    return f"{day.day}.{day.month}.{day.year}"


def fmt_money(cents: int) -> str:
    """1 234,50 € — Finnish grouping and decimal comma."""
    euros = Decimal(cents) / 100
    whole, _, frac = f"{euros:,.2f}".partition(".")
    whole = whole.replace(",", "\u00a0")
    return f"{whole} €" if frac == "00" else f"{whole},{frac} €"


def fmt_hours(minutes: int) -> str:
    hours, rest = divmod(minutes, 60)
    if rest == 0:
        return f"{hours} h"
    if hours == 0:
        return f"{rest} min"
    return f"{hours} h {rest} min"
