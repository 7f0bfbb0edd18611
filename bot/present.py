"""Turn stored values into readable text in one language. No Telegram here."""

from __future__ import annotations

import html
from collections.abc import Callable
from datetime import date, datetime
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from bot.i18n import WRITTEN_DATES, Texts, fmt_day
from storage.models import Gig, GigSeries

Button = tuple[str, str]  # (already rendered label, callback data)


class Html(str):
    """Telegram HTML that is already safe: inserted into a message as it is, not escaped."""


def words(text: str) -> int:
    """Words as a reader counts them: runs of text with a letter or digit in them."""
    return sum(1 for w in text.split() if any(ch.isalnum() for ch in w))


def gig_values(gig: Gig) -> dict[str, Any]:
    """A gig as the same dict an order form fills."""
    return {
        "organisation": gig.organisation,
        "gig_type": gig.gig_type,
        "topics": gig.topics,
        "starts_at": gig.starts_at.isoformat(),
        "duration": gig.duration_min,
        "remote": "remote" if gig.remote else "onsite",
        "place": gig.place,
        "region": gig.region,
        "audience": gig.audience,
        "audience_size": gig.audience_size,
        "seats": gig.seats,
        "language": gig.language,
        "fee": gig.fee_cents,
        "contact": gig.contact,
        "notes": gig.notes or None,
        "order_ref": gig.order_ref or None,
        "companion": gig.companion or None,
        "content_themes": list(gig.content_themes or []),
        "content_note": gig.content_note or None,
    }


# Answers stored as a catalog code: the field's name -> the catalog prefix of its labels.
_LABELLED = {
    "region": "region",
    "audience": "audience",
    "language": "language_name",
    "remote": "format",
    "fee_type": "fee_type",
    "kind": "session_kind",
    "repeat": "repeat",
    "series_take": "series_take",
}
# Answers stored as a list of codes, shown as one comma-separated line.
_LABELLED_LISTS = {
    "topics": "topic",
    "regions": "region",
    "languages": "language_name",
    "content_themes": "content_theme",
}


class Presenter:
    def __init__(self, texts: Texts, tz: ZoneInfo) -> None:
        self.texts = texts
        self.tz = tz

    def t(self, lang: str, key: str, **kwargs: object) -> str:
        return self.texts.get(lang, key, **kwargs)

    def num(self, lang: str, value: float, digits: int = 1) -> str:
        """A decimal number the way the language writes it (4,5 in Finnish and Swedish)."""
        text = f"{value:.{digits}f}"
        return text if lang == "en" else text.replace(".", ",")

    def decimal_text(self, lang: str, typed: str) -> str:
        """A number as typed in a catalog-neutral form ("1,5") the way `lang` writes it."""
        return typed.replace(",", ".") if lang == "en" else typed.replace(".", ",")

    def money(self, lang: str, cents: int) -> str:
        """150 € or 1 234,50 € (Finnish and Swedish); 1,234.50 € in English; 150 euroa in
        plain Finnish, which writes the currency out."""
        whole, _, frac = f"{Decimal(cents) / 100:,.2f}".partition(".")
        if lang == "en":
            return f"{whole} €" if frac == "00" else f"{whole}.{frac} €"
        whole = whole.replace(",", "\u00a0")
        unit = self.t(lang, "selko.euros") if lang in WRITTEN_DATES else "€"
        return f"{whole} {unit}" if frac == "00" else f"{whole},{frac} {unit}"

    def hours(self, lang: str, minutes: int) -> str:
        """Hours with one decimal, for totals such as "4,5 h" in the rotation."""
        return f"{self.num(lang, minutes / 60)} h"

    def html(self, lang: str, key: str, **kwargs: object) -> str:
        """A catalog text as Telegram HTML: the text and every value escaped, except values
        that are `Html` already (a link)."""
        template = html.escape(self.texts.template(lang, key), quote=False)
        return template.format(
            **{
                k: v if isinstance(v, Html) else html.escape(str(v), quote=False)
                for k, v in kwargs.items()
            }
        )

    @staticmethod
    def mention(name: str, telegram_id: int | None) -> Html:
        """A person's name that opens a chat with them (when Telegram knows them)."""
        if telegram_id is None:
            return Html(html.escape(name, quote=False))
        shown = html.escape(name, quote=False)
        return Html(f'<a href="tg://user?id={int(telegram_id)}">{shown}</a>')

    def filename(self, lang: str, key: str, **kwargs: object) -> str:
        """A file name in the reader's language (file.ics → gig-12.ics)."""
        return self.t(lang, f"file.{key}", **kwargs)

    def when(self, lang: str, moment: datetime) -> str:
        return self.texts.dt(lang, moment, self.tz)

    def day(self, lang: str, day: date) -> str:
        return self.texts.day(lang, day)

    def label(self, lang: str, prefix: str, code: str) -> str:
        return self.t(lang, f"{prefix}.{code}")

    def labels(self, lang: str, prefix: str, codes: list[str]) -> str:
        return ", ".join(self.label(lang, prefix, c) for c in codes)

    def value(self, lang: str, name: str, value: Any) -> str:
        """One answer of an order or profile, readable."""
        if value is None or (name == "content_themes" and not value):
            return self.t(lang, {"fee": "common.unpaid"}.get(name, "common.none"))
        if name in _LABELLED:
            return self.label(lang, _LABELLED[name], value)
        if name in _LABELLED_LISTS:
            # None picked (a call for interest's topics or regions): any.
            listed = self.labels(lang, _LABELLED_LISTS[name], value)
            return listed if value else self.t(lang, "common.any")
        match name:
            case "gig_type" | "gig_types":
                return self.labels(lang, "gig_type", value if isinstance(value, list) else [value])
            case "audiences":
                return self.labels(lang, "audience", value) if value else self.t(lang, "common.any")
            case "remote_ok":
                return self.t(lang, "common.yes" if value else "common.no")
            case "starts_at" | "deadline":
                return self.when(lang, datetime.fromisoformat(value))
            case "duration":
                return self.texts.duration(lang, int(value))
            case "fee" | "amount" | "travel" | "other":
                return self.money(lang, int(value))
        return self._series_value(lang, name, value)

    def _series_value(self, lang: str, name: str, value: Any) -> str:
        """How often a series repeats, or its listed dates (anything else as it is)."""
        if name == "repeat_count":
            return self.t(lang, "series.times", count=int(value))
        if name == "repeat_dates":
            return ", ".join(fmt_day(date.fromisoformat(d)) for d in value)
        return str(value)

    def gig(
        self,
        lang: str,
        values: dict[str, Any],
        *,
        contact: bool = True,
        only: tuple[str, ...] | None = None,
    ) -> str:
        """The facts of a gig, one per line, as the expert or orderer needs them (`only`:
        just these, in the usual order)."""
        lines = []
        for name in (
            "organisation",
            "gig_type",
            "topics",
            "starts_at",
            "repeat",
            "repeat_count",
            "repeat_dates",
            "series_take",
            "duration",
            "remote",
            "place",
            "region",
            "audience",
            "audience_size",
            "seats",
            "language",
            "fee",
            "contact",
            "notes",
            "content_themes",
            "order_ref",
            "companion",
        ):
            if name not in values or (name == "contact" and not contact):
                continue
            if only is not None and name not in only:
                continue
            if name == "content_themes":
                lines += self._content_line(lang, values)
                continue
            if name in ("notes", "order_ref", "companion") and not values.get(name):
                continue
            if name == "repeat" and values[name] == "once":
                continue
            lines.append(f"{self.t(lang, 'label.' + name)}: {self.value(lang, name, values[name])}")
        return "\n".join(lines)

    def content(self, lang: str, themes: list[str] | None, note: str | None) -> str:
        """A gig's content note in one line: the heavy themes named, and the free line."""
        named = self.labels(lang, "content_theme", list(themes or []))
        return " – ".join(part for part in (named, note or "") if part)

    def _content_line(self, lang: str, values: dict[str, Any]) -> list[str]:
        note = self.content(lang, values.get("content_themes"), values.get("content_note"))
        return [f"⚠️ {self.t(lang, 'lifecycle.content_label')}: {note}"] if note else []

    def offer_brief(self, lang: str, values: dict[str, Any]) -> str:
        """What an expert needs to decide on an offer; the rest is behind "All details"."""
        return self.gig(
            lang,
            values,
            contact=False,
            only=(
                "organisation",
                "gig_type",
                "topics",
                "starts_at",
                "duration",
                "remote",
                "place",
                "fee",
                "content_themes",
            ),
        )

    def confirmed_brief(self, lang: str, values: dict[str, Any]) -> str:
        """Where to go and whom to ask, for a confirmed gig (the title says what and when)."""
        return self.gig(lang, values, only=("place", "contact", "companion"))

    def gig_title(self, lang: str, gig: Gig) -> str:
        """#12 Talk, 24.12.2026 klo 14.30: enough to recognise a gig in a list or alert."""
        return self.t(
            lang,
            "gig.title",
            id=gig.id,
            type=self.label(lang, "gig_type", gig.gig_type),
            when=self.when(lang, gig.starts_at),
        )

    def series(self, lang: str, series: GigSeries, dates: list[datetime]) -> str:
        """A series in one line: "Tuesdays 6× from 3.3.2027", "every other Tuesday 4× from
        …", "5 dates 3.3.2027–12.5.2027" (`dates`: its gigs' times, in order)."""
        first, last = (d.astimezone(self.tz) for d in (dates[0], dates[-1]))
        weekday = first.weekday()
        return self.t(
            lang,
            f"series.{series.repeat}",
            days=self.t(lang, f"weekdays.d{weekday}"),
            day=self.t(lang, f"weekday.d{weekday}"),
            count=len(dates),
            first=fmt_day(first.date()),
            last=fmt_day(last.date()),
        )

    def title_args(self, gig: Gig | None, **numbers: float) -> Callable[[str], dict[str, Any]]:
        """Per-language arguments for an alert about a gig: its title, and decimal numbers
        written the way each language writes them."""

        def render(lang: str) -> dict[str, Any]:
            out: dict[str, Any] = {"title": self.gig_title(lang, gig) if gig is not None else ""}
            out.update({k: self.num(lang, v) for k, v in numbers.items()})
            return out

        return render

    def profile(self, lang: str, values: dict[str, Any]) -> str:
        lines = []
        for name in (
            "display_name",
            "gig_types",
            "topics",
            "languages",
            "regions",
            "remote_ok",
            "audiences",
            "coord_notes",
        ):
            if name in values:
                label = self.t(lang, "label." + name)
                lines.append(f"{label}: {self.value(lang, name, values[name])}")
        return "\n".join(lines)

    def call(self, lang: str, values: dict[str, Any]) -> str:
        """A call for interest as its form fills it: the role, then whom it is sent to."""
        return "\n".join(
            f"{self.t(lang, 'call.label.' + name)}: {self.value(lang, name, values[name])}"
            for name in (
                "title",
                "involves",
                "commitment",
                "fee",
                "seats",
                "deadline",
                "gig_type",
                "topics",
                "regions",
            )
            if name in values
        )

    def session(self, lang: str, values: dict[str, Any]) -> str:
        """A support session as its form fills it."""
        names = ("kind", "training", "starts_at", "duration", "place", "capacity")
        return "\n".join(
            f"{self.t(lang, 'label.' + name)}: {self.value(lang, name, values[name])}"
            for name in names
            if name in values
        )
