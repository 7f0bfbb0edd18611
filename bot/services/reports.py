"""Reports for funders (STEA, ESR+) and for evaluating the work: figures over a period, a
chart (matplotlib), an Excel workbook (openpyxl) and a CSV. Only aggregates: no names of
experts, and feedback only where anonymity allows."""

from __future__ import annotations

import contextlib
import csv
import io
import re
import statistics
from collections import Counter
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
    CheckInStatus,
    Fee,
    FeedbackRound,
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
        accepted = (
            (
                await s.execute(
                    select(Offer.gig_id, Offer.expert_id).where(
                        Offer.gig_id.in_(gig_ids),
                        Offer.status.in_((OfferStatus.ACCEPTED, OfferStatus.NO_SHOW)),
                    )
                )
            ).all()
            if gig_ids
            else []
        )
        confirmed: dict[int, list[int]] = {}
        for gig_id, expert_id in accepted:
            confirmed.setdefault(gig_id, []).append(expert_id)
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
                f.gigs_done += 1
                f.by_type[g.gig_type] += 1
                for topic in g.topics:
                    f.by_topic[topic] += 1
                f.by_region[g.region] += 1
                f.by_orderer[g.organisation] += 1
                f.expert_hours += g.duration_min / 60 * len(experts)
                per_expert.update(experts)
        f.hours_to_fill_median = round(statistics.median(fill_hours), 1) if fill_hours else None
        f.experts_active = len(per_expert)
        f.gigs_per_expert = sorted(per_expert.values())
        if gig_ids:
            fees = (await s.scalars(select(Fee).where(Fee.gig_id.in_(gig_ids)))).all()
            for fee in fees:
                if fee.status == FeeStatus.PAID:
                    f.fees_paid_cents += fee.amount_cents
                    f.expenses_paid_cents += fee.travel_cents + fee.other_cents
                else:
                    f.fees_unpaid_cents += fee.amount_cents + fee.travel_cents + fee.other_cents
            checkins = (
                await s.execute(
                    select(CheckIn.kind, CheckIn.status, CheckIn.answer).where(
                        CheckIn.gig_id.in_(gig_ids)
                    )
                )
            ).all()
            for kind, status, answer in checkins:
                if status in (CheckInStatus.SENT, CheckInStatus.ANSWERED) and kind != "reminder":
                    f.checkins[f"{kind}:{answer or 'no_answer'}"] += 1
            rounds = list(
                (
                    await s.scalars(
                        select(FeedbackRound.gig_id).where(FeedbackRound.gig_id.in_(gig_ids))
                    )
                ).all()
            )
            per, pooled = await self.feedback.for_gigs(s, rounds)
            answers = [(sm.average or 0, sm.count) for sm in per.values()]
            if pooled.shown and pooled.average is not None:
                answers.append((pooled.average, pooled.count))
            f.feedback_rounds_shown = len(per)
            f.feedback_answers = sum(c for _, c in answers)
            if f.feedback_answers:
                f.feedback_average = round(sum(a * c for a, c in answers) / f.feedback_answers, 2)
        return f

    # ----- files ------------------------------------------------------------------------------

    def rows(self, f: Figures, lang: str) -> list[tuple[str, str, str]]:
        """(section, item, value): the one table every file is built from."""
        t = self.p.t
        out: list[tuple[str, str, str]] = []
        summary = t(lang, "report.s_summary")
        spread = f.spread()
        for key, value in (
            ("orders", f.orders),
            ("approved", f.approved),
            ("rejected", f.rejected),
            ("gigs_done", f.gigs_done),
            ("cancelled", f.cancelled),
            ("fill_rate", f"{f.fill_rate:.0%}" if f.fill_rate is not None else "–"),
            (
                "hours_to_fill",
                f.hours_to_fill_median if f.hours_to_fill_median is not None else "–",
            ),
            ("expert_hours", round(f.expert_hours, 1)),
            ("fees_paid", f.fees_paid_cents / 100),
            ("expenses_paid", f.expenses_paid_cents / 100),
            ("fees_unpaid", f.fees_unpaid_cents / 100),
            ("experts_active", f.experts_active),
            (
                "spread",
                f"{spread[0]} / {self.p.num(lang, spread[1])} / {spread[2]}" if spread else "–",
            ),
            ("feedback_answers", f.feedback_answers),
            ("feedback_average", f.feedback_average if f.feedback_average is not None else "–"),
        ):
            shown = self.p.num(lang, value) if isinstance(value, float) else str(value)
            out.append((summary, t(lang, f"report.m_{key}"), shown))
        for section, counter, prefix in (
            ("s_type", f.by_type, "gig_type"),
            ("s_topic", f.by_topic, "topic"),
            ("s_region", f.by_region, "region"),
            ("s_orderer", f.by_orderer, None),
        ):
            for key, count in counter.most_common():
                label = self.p.label(lang, prefix, key) if prefix else key
                out.append((t(lang, f"report.{section}"), label, str(count)))
        for key, count in sorted(f.checkins.items()):
            kind, answer = key.split(":")
            out.append(
                (
                    t(lang, "report.s_checkins"),
                    f"{t(lang, f'checkin_kind.{kind}')}: {answer}",
                    str(count),
                )
            )
        return out

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
        writer.writerows(self.rows(f, lang))
        return buf.getvalue().encode("utf-8-sig")

    def xlsx_bytes(self, f: Figures, lang: str) -> bytes:
        from openpyxl import Workbook
        from openpyxl.styles import Font

        wb = Workbook()
        ws = wb.active
        assert ws is not None
        ws.title = self.p.t(lang, "report.s_summary")[:31]
        ws.append([self.p.t(lang, "report.title", period=f.period.label())])
        ws["A1"].font = Font(bold=True, size=14)
        sheets = {ws.title: ws}
        for section, item, value in self.rows(f, lang):
            sheet = sheets.get(section[:31])
            if sheet is None:
                sheet = wb.create_sheet(section[:31])
                sheet.append([self.p.t(lang, "report.h_item"), self.p.t(lang, "report.h_value")])
                sheet["A1"].font = sheet["B1"].font = Font(bold=True)
                sheets[section[:31]] = sheet
            number: float | str = value
            with contextlib.suppress(ValueError):
                plain = value.replace(",", ".")  # numbers are written the language's way
                number = float(plain) if "." in plain else int(plain)
            sheet.append([item, number])
        for sheet in sheets.values():
            sheet.column_dimensions["A"].width = 42
            sheet.column_dimensions["B"].width = 16
        out = io.BytesIO()
        wb.save(out)
        return out.getvalue()

    def chart_png(self, f: Figures, lang: str) -> bytes:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        fig, (left, right) = plt.subplots(1, 2, figsize=(11, 4.5))
        types = f.by_type.most_common(8)
        left.barh(
            [self.p.label(lang, "gig_type", k) for k, _ in types][::-1],
            [v for _, v in types][::-1],
            color="#4a7c59",
        )
        left.set_title(self.p.t(lang, "report.s_type"))
        spread = Counter(f.gigs_per_expert)
        right.bar(
            [str(k) for k in sorted(spread)], [spread[k] for k in sorted(spread)], color="#c97b3a"
        )
        right.set_title(self.p.t(lang, "report.chart_spread"))
        right.set_xlabel(self.p.t(lang, "report.chart_spread_x"))
        fig.suptitle(self.p.t(lang, "report.title", period=f.period.label()))
        fig.tight_layout()
        out = io.BytesIO()
        fig.savefig(out, format="png", dpi=110)
        plt.close(fig)
        return out.getvalue()
