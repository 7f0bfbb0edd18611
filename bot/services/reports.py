"""Reports for funders (STEA, ESR+) and for evaluating the work: figures over a period, a
chart (matplotlib), an Excel workbook (openpyxl) and a CSV. Only aggregates: no names of
experts, and feedback only where anonymity allows."""

from __future__ import annotations

import csv
import io
import re
import statistics
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.errors import Refuse
from bot.parsing import InputError, parse_year
from bot.present import Presenter
from bot.services.feedback import Feedback
from storage.models import (
    CheckIn,
    CheckInKind,
    CheckInStatus,
    Fee,
    FeeStatus,
    Gig,
    GigStatus,
    Offer,
    OfferStatus,
)


@dataclass
class Period:
    start: date  # inclusive
    end: date  # exclusive

    def label(self) -> str:
        last = self.end - timedelta(days=1)
        first = f"{self.start.day}.{self.start.month}.{self.start.year}"
        return f"{first}–{last.day}.{last.month}.{last.year}"


def parse_period(words: list[str], today: date) -> Period:
    """month | quarter | year (the current ones), 11.2026, 2026, or two dates (inclusive)."""
    text = " ".join(words).strip().lower()
    if text in ("", "month", "kuukausi", "kk", "månad"):
        start = today.replace(day=1)
        return Period(start, _next_month(start))
    if text in ("quarter", "neljännes", "q", "kvartal"):
        first = (today.month - 1) // 3 * 3 + 1
        start = date(today.year, first, 1)
        return Period(start, _next_month(_next_month(_next_month(start))))
    if text in ("year", "vuosi", "år"):
        return Period(date(today.year, 1, 1), date(today.year + 1, 1, 1))
    if m := re.fullmatch(r"(\d{4})", text):
        year = _year(m[1])
        return Period(date(year, 1, 1), date(year + 1, 1, 1))
    if m := re.fullmatch(r"(\d{1,2})\s*[./]\s*(\d{4})", text):
        if not 1 <= int(m[1]) <= 12:
            raise Refuse("report.bad_period")
        start = date(_year(m[2]), int(m[1]), 1)
        return Period(start, _next_month(start))
    dates = re.findall(r"(\d{1,2})\.(\d{1,2})\.(\d{4})", text)
    if len(dates) == 2:
        try:
            a, b = (date(_year(y), int(mo), int(d)) for d, mo, y in dates)
        except ValueError:
            raise Refuse("report.bad_period") from None
        if b < a:
            raise Refuse("report.bad_period")
        return Period(a, b + timedelta(days=1))
    raise Refuse("report.bad_period")


def _year(raw: str) -> int:
    """A year a report can cover ('0000' and '9999' are typing slips, not periods)."""
    try:
        return parse_year(raw)
    except InputError:
        raise Refuse("report.bad_period") from None


def _next_month(d: date) -> date:
    return date(d.year + (d.month == 12), d.month % 12 + 1, 1)


@dataclass
class Figures:
    period: Period
    orders: int = 0
    approved: int = 0
    rejected: int = 0
    gigs_done: int = 0
    cancelled: int = 0
    seats: int = 0
    seats_filled: int = 0
    hours_to_fill_median: float | None = None
    by_type: Counter[str] = field(default_factory=Counter)
    by_topic: Counter[str] = field(default_factory=Counter)
    by_region: Counter[str] = field(default_factory=Counter)
    by_orderer: Counter[str] = field(default_factory=Counter)
    reach: int = 0  # people reached: the audience sizes of the gigs held
    reach_by_type: Counter[str] = field(default_factory=Counter)
    reach_by_orderer: Counter[str] = field(default_factory=Counter)
    expert_hours: float = 0.0
    fees_paid_cents: int = 0
    expenses_paid_cents: int = 0
    fees_unpaid_cents: int = 0
    experts_active: int = 0
    gigs_per_expert: list[int] = field(default_factory=list)
    checkins: Counter[str] = field(default_factory=Counter)
    feedback_rounds_shown: int = 0
    feedback_answers: int = 0
    feedback_average: float | None = None

    @property
    def fill_rate(self) -> float | None:
        return self.seats_filled / self.seats if self.seats else None

    def spread(self) -> tuple[int, float, int] | None:
        """Min, median and max gigs per active expert: how evenly gigs were shared."""
        if not self.gigs_per_expert:
            return None
        g = self.gigs_per_expert
        return min(g), statistics.median(g), max(g)


async def _confirmed(s: AsyncSession, gig_ids: list[int]) -> dict[int, list[int]]:
    """The experts who took a seat (and came or not), per gig."""
    if not gig_ids:
        return {}
    accepted = (
        await s.execute(
            select(Offer.gig_id, Offer.expert_id).where(
                Offer.gig_id.in_(gig_ids),
                Offer.status.in_((OfferStatus.ACCEPTED, OfferStatus.NO_SHOW)),
            )
        )
    ).all()
    confirmed: dict[int, list[int]] = {}
    for gig_id, expert_id in accepted:
        confirmed.setdefault(gig_id, []).append(expert_id)
    return confirmed


def _count_gigs(
    f: Figures, gigs: Sequence[Gig], confirmed: dict[int, list[int]], now: datetime
) -> None:
    """Orders by outcome, seats, time to fill, and what the gigs already done reached."""
    fill_hours = []
    per_expert: Counter[int] = Counter()
    for g in gigs:
        if g.status == GigStatus.REJECTED:
            f.rejected += 1
            continue
        if g.status == GigStatus.PENDING:
            continue
        f.approved += 1
        if g.status == GigStatus.CANCELLED:
            f.cancelled += 1
            continue
        f.seats += g.seats
        f.seats_filled += g.seats_filled
        if g.filled_at is not None:
            fill_hours.append((g.filled_at - g.created_at).total_seconds() / 3600)
        experts = confirmed.get(g.id, [])
        if g.starts_at < now and experts:
            _count_done(f, g, experts)
            per_expert.update(experts)
    f.hours_to_fill_median = round(statistics.median(fill_hours), 1) if fill_hours else None
    f.experts_active = len(per_expert)
    f.gigs_per_expert = sorted(per_expert.values())


def _count_done(f: Figures, g: Gig, experts: list[int]) -> None:
    """A gig that took place: by type, topic, region and orderer, and whom it reached."""
    f.gigs_done += 1
    f.by_type[g.gig_type] += 1
    for topic in g.topics:
        f.by_topic[topic] += 1
    f.by_region[g.region] += 1
    f.by_orderer[g.organisation] += 1
    f.reach += g.audience_size
    f.reach_by_type[g.gig_type] += g.audience_size
    f.reach_by_orderer[g.organisation] += g.audience_size
    f.expert_hours += g.duration_min / 60 * len(experts)


async def _count_fees(s: AsyncSession, f: Figures, gig_ids: list[int]) -> None:
    for fee in (await s.scalars(select(Fee).where(Fee.gig_id.in_(gig_ids)))).all():
        if fee.status == FeeStatus.PAID:
            f.fees_paid_cents += fee.amount_cents
            f.expenses_paid_cents += fee.travel_cents + fee.other_cents
        else:
            f.fees_unpaid_cents += fee.amount_cents + fee.travel_cents + fee.other_cents


async def _count_checkins(s: AsyncSession, f: Figures, gig_ids: list[int]) -> None:
    """Check-ins that went out, by kind and answer (reminders ask nothing)."""
    checkins = (
        await s.execute(
            select(CheckIn.kind, CheckIn.status, CheckIn.answer, CheckIn.score).where(
                CheckIn.gig_id.in_(gig_ids)
            )
        )
    ).all()
    for kind, status, answer, score in checkins:
        if status in (CheckInStatus.SENT, CheckInStatus.ANSWERED) and kind != CheckInKind.REMINDER:
            if answer == "score" and score is not None:
                answer = _score_band(score)
            f.checkins[f"{kind}:{answer or 'no_answer'}"] += 1


def _score_band(score: int) -> str:
    """How it went, in three bands a coordinator can act on."""
    return "score_low" if score <= 2 else "score_mid" if score == 3 else "score_high"


class Reports:
    def __init__(self, presenter: Presenter, feedback: Feedback, tz: ZoneInfo) -> None:
        self.p = presenter
        self.feedback = feedback
        self.tz = tz

    def _bounds(self, period: Period) -> tuple[datetime, datetime]:
        return (
            datetime.combine(period.start, time(0), tzinfo=self.tz),
            datetime.combine(period.end, time(0), tzinfo=self.tz),
        )

    async def figures(self, s: AsyncSession, period: Period, now: datetime) -> Figures:
        start, end = self._bounds(period)
        f = Figures(period)
        f.orders = len(
            (
                await s.scalars(select(Gig.id).where(Gig.created_at >= start, Gig.created_at < end))
            ).all()
        )
        gigs = (
            await s.scalars(select(Gig).where(Gig.starts_at >= start, Gig.starts_at < end))
        ).all()
        gig_ids = [g.id for g in gigs]
        _count_gigs(f, gigs, await _confirmed(s, gig_ids), now)
        if gig_ids:
            await _count_fees(s, f, gig_ids)
            await _count_checkins(s, f, gig_ids)
            await self._count_feedback(s, f, gig_ids)
        return f

    async def _count_feedback(self, s: AsyncSession, f: Figures, gig_ids: list[int]) -> None:
        """Feedback rounds and answers, only as far as anonymity lets them be shown."""
        released = await self.feedback.in_report(s, gig_ids)
        per, pooled = released.per, released.pooled
        answers = [(sm.average or 0, sm.count) for sm in per.values()]
        if pooled.shown and pooled.average is not None:
            answers.append((pooled.average, pooled.count))
        f.feedback_rounds_shown = len(per)
        f.feedback_answers = sum(c for _, c in answers)
        if f.feedback_answers:
            f.feedback_average = round(sum(a * c for a, c in answers) / f.feedback_answers, 2)

    # ----- files ------------------------------------------------------------------------------

    def rows(self, f: Figures, lang: str) -> list[Row]:
        """(section, item, value, kind): the one table every file is built from. Values stay
        numbers; each file writes them its own way (see `figure`)."""
        t = self.p.t
        out: list[Row] = []
        summary = t(lang, "report.s_summary")
        spread = f.spread()
        for key, value, kind in (
            # Funders ask first how many people the work reached.
            ("reach", f.reach, "int"),
            ("gigs_done", f.gigs_done, "int"),
            ("orders", f.orders, "int"),
            ("approved", f.approved, "int"),
            ("rejected", f.rejected, "int"),
            ("cancelled", f.cancelled, "int"),
            ("fill_rate", f.fill_rate, "pct"),
            ("hours_to_fill", f.hours_to_fill_median, "dec1"),
            ("expert_hours", round(f.expert_hours, 1), "dec1"),
            ("fees_paid", f.fees_paid_cents / 100, "eur"),
            ("expenses_paid", f.expenses_paid_cents / 100, "eur"),
            ("fees_unpaid", f.fees_unpaid_cents / 100, "eur"),
            ("experts_active", f.experts_active, "int"),
            (
                "spread",
                " / ".join((str(spread[0]), figure(lang, "dec1", spread[1]), str(spread[2])))
                if spread
                else None,
                "text",
            ),
            ("feedback_answers", f.feedback_answers, "int"),
            ("feedback_average", f.feedback_average, "dec2"),
        ):
            out.append(Row(summary, t(lang, f"report.m_{key}"), value, kind))
        for section, counter, prefix in (
            ("s_type", f.by_type, "gig_type"),
            ("s_reach_type", f.reach_by_type, "gig_type"),
            ("s_topic", f.by_topic, "topic"),
            ("s_region", f.by_region, "region"),
            ("s_orderer", f.by_orderer, None),
            ("s_reach_orderer", f.reach_by_orderer, None),
        ):
            for key, count in counter.most_common():
                label = self.p.label(lang, prefix, key) if prefix else key
                out.append(Row(t(lang, f"report.{section}"), label, count, "int"))
        for key, count in sorted(f.checkins.items()):
            kind, answer = key.split(":")
            said = (
                f"report.a_{answer}" if self.p.texts.has(f"report.a_{answer}") else "report.a_other"
            )
            item = f"{t(lang, f'checkin_kind.{kind}')}: {t(lang, said)}"
            out.append(Row(t(lang, "report.s_checkins"), item, count, "int"))
        return out

    def text_rows(self, f: Figures, lang: str) -> list[tuple[str, str, str]]:
        """The table with every figure written the reader's way (the message and the CSV)."""
        return [(r.section, r.item, figure(lang, r.kind, r.value)) for r in self.rows(f, lang)]

    def file_name(self, period: Period, lang: str) -> str:
        """raportti-20261201-20261231 in Finnish, rapport-… in Swedish, report-… in English."""
        last = period.end - timedelta(days=1)
        return f"{self.p.t(lang, 'report.file')}-{period.start:%Y%m%d}-{last:%Y%m%d}"

    def csv_bytes(self, f: Figures, lang: str) -> bytes:
        buf = io.StringIO()
        writer = csv.writer(buf, delimiter=";")  # Finnish Excel expects semicolons
        writer.writerow(
            [
                self.p.t(lang, "report.h_section"),
                self.p.t(lang, "report.h_item"),
                self.p.t(lang, "report.h_value"),
            ]
        )
        writer.writerows([inert(c) for c in row] for row in self.text_rows(f, lang))
        return buf.getvalue().encode("utf-8-sig")

    def xlsx_bytes(self, f: Figures, lang: str) -> bytes:
        from openpyxl import Workbook
        from openpyxl.styles import Font

        wb = Workbook()
        ws = wb.active
        assert ws is not None
        title = self.p.t(lang, "report.title", period=f.period.label())
        wb.properties.title = title
        ws.title = self.p.t(lang, "report.s_summary")[:31]
        ws.append([title])
        ws["A1"].font = Font(bold=True, size=14)
        header = [self.p.t(lang, "report.h_item"), self.p.t(lang, "report.h_value")]
        ws.append(header)
        ws["A2"].font = ws["B2"].font = Font(bold=True)
        ws.freeze_panes = "A3"
        sheets = {ws.title: ws}
        for row in self.rows(f, lang):
            sheet = sheets.get(row.section[:31])
            if sheet is None:
                sheet = wb.create_sheet(row.section[:31])
                sheet.append(header)
                sheet["A1"].font = sheet["B1"].font = Font(bold=True)
                sheet.freeze_panes = "A2"
                sheets[row.section[:31]] = sheet
            value: object = "–" if row.value is None else row.value
            sheet.append([row.item, value])
            # An item can be a name people typed (an organisation): text, never a formula.
            sheet.cell(sheet.max_row, 1).data_type = "s"
            if row.value is not None and row.kind in XLSX_FORMATS:
                sheet.cell(sheet.max_row, 2).number_format = XLSX_FORMATS[row.kind]
        for sheet in sheets.values():
            sheet.column_dimensions["A"].width = 44
            sheet.column_dimensions["B"].width = 18
        out = io.BytesIO()
        wb.save(out)
        return out.getvalue()

    def chart_png(self, f: Figures, lang: str) -> bytes:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
        from matplotlib.ticker import FuncFormatter, MaxNLocator

        t = self.p.t
        whole = FuncFormatter(lambda v, _: figure(lang, "int", round(v)))
        fig, (gigs, reach, spread_ax) = plt.subplots(
            1, 3, figsize=(14, 5), gridspec_kw={"width_ratios": [1, 1, 1.1]}
        )
        # Gigs and people reached share the task axis: labelled once, on the left.
        reach.sharey(gigs)
        reach.tick_params(axis="y", labelleft=False)
        types = f.by_type.most_common(8)[::-1]
        names = [self.p.label(lang, "gig_type", k) for k, _ in types]
        gigs.barh(names, [v for _, v in types], color="#4a7c59")
        gigs.set_title(t(lang, "report.s_type"))
        gigs.set_xlabel(t(lang, "report.chart_gigs"))
        gigs.set_ylabel(t(lang, "report.chart_task"))
        reach.barh(names, [f.reach_by_type.get(k, 0) for k, _ in types], color="#3a6ea5")
        reach.set_title(t(lang, "report.s_reach_type"))
        reach.set_xlabel(t(lang, "report.chart_people"))
        counts = Counter(f.gigs_per_expert)
        # Every count from the fewest to the most, so a gap in the sharing shows as a gap.
        span = list(range(min(counts), max(counts) + 1)) if counts else []
        spread_ax.bar(span, [counts[k] for k in span], color="#c97b3a")
        spread_ax.set_title(t(lang, "report.chart_spread"))
        spread_ax.set_xlabel(t(lang, "report.chart_spread_x"))
        spread_ax.set_ylabel(t(lang, "report.chart_experts"))
        for axis in (gigs.xaxis, reach.xaxis, spread_ax.xaxis, spread_ax.yaxis):
            axis.set_major_locator(MaxNLocator(nbins=5, integer=True))
            axis.set_major_formatter(whole)
        if span and len(span) <= 12:
            spread_ax.set_xticks(span)
            spread_ax.set_xlim(span[0] - 1, span[-1] + 1)
        if not types:
            gigs.set_xlim(0, 1)
            reach.set_xlim(0, 1)
            gigs.set_yticks([])
            spread_ax.set_ylim(0, 1)
            spread_ax.set_xticks([])
            for ax in (gigs, reach, spread_ax):
                ax.text(
                    0.5,
                    0.5,
                    t(lang, "report.chart_empty"),
                    ha="center",
                    va="center",
                    transform=ax.transAxes,
                    color="#666666",
                    wrap=True,
                )
        fig.suptitle(t(lang, "report.title", period=f.period.label()))
        fig.tight_layout()
        out = io.BytesIO()
        fig.savefig(out, format="png", dpi=110)
        plt.close(fig)
        return out.getvalue()


@dataclass
class Row:
    """One figure of a report: where it goes, what it is, its value (None: not available) and
    how it is written (int, dec1, dec2, pct, eur, text)."""

    section: str
    item: str
    value: float | int | str | None
    kind: str


# How the workbook shows each kind; Excel applies the reader's own separators.
XLSX_FORMATS = {
    "int": "#,##0",
    "dec1": "#,##0.0",
    "dec2": "#,##0.00",
    "pct": "0%",
    "eur": '#,##0.00 "€"',
}


def figure(lang: str, kind: str, value: object) -> str:
    """A report figure the way the reader writes numbers: 1 234,5 · 80 % · 1 234,50 € in
    Finnish and Swedish; 1,234.5 · 80% · €1,234.50 in English. None is a dash."""
    if value is None:
        return "–"
    if kind == "text" or isinstance(value, str):
        return str(value)
    number = float(value)  # type: ignore[arg-type]
    pattern = {"int": ",.0f", "dec1": ",.1f", "dec2": ",.2f", "pct": ",.0f", "eur": ",.2f"}[kind]
    text = format(number * 100 if kind == "pct" else number, pattern)
    en = lang == "en"
    if not en:
        text = text.replace(",", "\u00a0").replace(".", ",")
    if kind == "pct":
        return text + ("%" if en else "\u00a0%")
    if kind == "eur":
        return "€" + text if en else text + "\u00a0€"
    return text


FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def inert(cell: object) -> object:
    """A CSV cell a spreadsheet will not run: text that would start a formula gets a leading
    apostrophe (what Excel itself shows for text typed that way); numbers stay numbers."""
    if isinstance(cell, str) and cell.startswith(FORMULA_START):
        return "'" + cell
    return cell
