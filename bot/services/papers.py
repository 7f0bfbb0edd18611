"""Papers people need from the centre, as PDFs in the reader's language: the expert's yearly
statement of fees and expenses (for taxes and benefit earnings limits) and the orderer's
confirmation of a filled gig. Money is kept in cents (integers) throughout."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.clock import Clock
from bot.i18n import fmt_date, fmt_hours
from bot.notify import Notifier
from bot.pdf import Column, Paper
from bot.present import Presenter
from bot.settings import Settings
from storage.models import (
    ExpertProfile,
    Fee,
    FeeType,
    Gig,
    GigStatus,
    Offer,
    OfferStatus,
    User,
)

# Kinds of money on a statement, in the order shown: fees are taxable income, reimbursed
# expenses are not.
FEE_KINDS = (FeeType.PALKKIO, FeeType.TYOKORVAUS)


@dataclass(frozen=True)
class StatementRow:
    gig: Gig
    fee: Fee

    @property
    def expenses(self) -> int:
        return self.fee.travel_cents + self.fee.other_cents


class Papers:
    def __init__(
        self, presenter: Presenter, clock: Clock, settings: Settings, notifier: Notifier
    ) -> None:
        self.p = presenter
        self.clock = clock
        self.settings = settings
        self.notify = notifier

    async def confirm(self, s: AsyncSession, gig: Gig, orderer: User) -> None:
        """Send the orderer the gig's confirmation (an updated one after a change)."""
        lang = orderer.language
        names = await confirmed_names(s, gig.id)
        pdf = self.confirmation(gig, names, lang)
        key = "papers.confirmation_updated" if gig.revision else "papers.confirmation_caption"
        await self.notify.push_document(
            s,
            orderer,
            self.p.t(lang, "papers.confirmation_file", id=gig.id, version=gig.revision + 1),
            pdf,
            caption=self.p.t(lang, key, title=self.p.gig_title(lang, gig)),
        )

    def confirmation(self, gig: Gig, names: list[str], lang: str) -> bytes:
        """What, when, where, who (chosen names only), the fee and the cancellation terms."""
        t, p, tz = self._t(lang), self.p, self.settings.tz
        title = "papers.confirmation_title_updated" if gig.revision else "papers.confirmation_title"
        footer = t("papers.confirmation_footer", centre=self.settings.centre_name)
        paper = Paper(t(title, id=gig.id), footer)
        made = fmt_date(self.clock.now(), tz)
        paper.line(t("papers.confirmation_intro", centre=self.settings.centre_name, made=made))
        paper.gap()
        rows = [
            (t("label.organisation"), gig.organisation),
            (t("papers.l_what"), p.label(lang, "gig_type", gig.gig_type)),
            (t("label.topics"), p.labels(lang, "topic", gig.topics)),
            (t("papers.l_when"), f"{p.when(lang, gig.starts_at)} ({fmt_hours(gig.duration_min)})"),
            (t("papers.l_where"), self._where(gig, lang)),
            (t("papers.l_who"), ", ".join(names) or "–"),
            (t("label.fee"), self._fee(gig, lang)),
            (t("label.contact"), gig.contact),
        ]
        if gig.order_ref:
            rows.append((t("label.order_ref"), gig.order_ref))
        paper.pairs(rows)
        paper.heading(t("papers.h_cancel"))
        paper.line(t("papers.cancel_terms", days=self.settings.cancellation_free_days))
        return paper.bytes()

    def _where(self, gig: Gig, lang: str) -> str:
        fmt = self.p.label(lang, "format", "remote" if gig.remote else "onsite")
        return f"{gig.place} ({fmt})"

    def _fee(self, gig: Gig, lang: str) -> str:
        if not gig.fee_cents:
            return self.p.t(lang, "common.unpaid")
        money = self.p.money
        return self.p.t(
            lang,
            "papers.fee_each",
            fee=money(lang, gig.fee_cents),
            seats=gig.seats,
            total=money(lang, gig.fee_cents * gig.seats),
        )

    def _year_bounds(self, year: int) -> tuple[datetime, datetime]:
        tz = self.settings.tz
        return datetime(year, 1, 1, tzinfo=tz), datetime(year + 1, 1, 1, tzinfo=tz)

    async def statement_rows(
        self, s: AsyncSession, expert_id: int, year: int
    ) -> list[StatementRow]:
        """The expert's fees for gigs held (not cancelled) in the year, oldest first."""
        since, until = self._year_bounds(year)
        rows = await s.execute(
            select(Fee, Gig)
            .join(Gig, Gig.id == Fee.gig_id)
            .where(
                Fee.expert_id == expert_id,
                Gig.starts_at >= since,
                Gig.starts_at < until,
                Gig.status != GigStatus.CANCELLED,
            )
            .order_by(Gig.starts_at, Gig.id)
        )
        return [StatementRow(g, f) for f, g in rows]

    async def statement(self, s: AsyncSession, expert_id: int, year: int, lang: str) -> bytes:
        """The yearly statement: every gig, totals by kind, and months against the limit."""
        rows = await self.statement_rows(s, expert_id, year)
        profile = await s.get(ExpertProfile, expert_id)
        t = self._t(lang)
        paper = Paper(t("papers.statement_title", year=year), t("papers.statement_footer"))
        paper.pairs(
            [
                (t("papers.l_name"), profile.display_name if profile else "–"),
                (t("papers.l_centre"), self.settings.centre_name),
                (t("papers.l_made"), fmt_date(self.clock.now(), self.settings.tz)),
            ]
        )
        paper.heading(t("papers.h_gigs"))
        paper.table(self._gig_columns(lang), [self._gig_cells(lang, r) for r in rows])
        paper.heading(t("papers.h_totals"))
        paper.table(
            [Column(t("papers.c_kind"), 0.7), Column(t("papers.c_sum"), 0.3, "R")],
            self._totals(lang, rows),
            total=True,
        )
        limit = profile.max_earnings_cents if profile else None
        paper.heading(t("papers.h_months"))
        paper.line(
            t("papers.limit", limit=self.p.money(lang, limit))
            if limit is not None
            else t("papers.no_limit")
        )
        paper.table(self._month_columns(lang), self._months(lang, year, rows, limit))
        return paper.bytes()

    def _t(self, lang: str) -> _Lang:
        return _Lang(self.p, lang)

    def _gig_columns(self, lang: str) -> list[Column]:
        t = self._t(lang)
        return [
            Column(t("papers.c_date"), 0.13),
            Column(t("papers.c_gig"), 0.33),
            Column(t("papers.c_hours"), 0.09, "R"),
            Column(t("papers.c_fee"), 0.16, "R"),
            Column(t("papers.c_expenses"), 0.14, "R"),
            Column(t("papers.c_paid"), 0.15, "R"),
        ]

    def _gig_cells(self, lang: str, row: StatementRow) -> list[str]:
        tz, p = self.settings.tz, self.p
        fee, gig = row.fee, row.gig
        kind = p.label(lang, "fee_type", fee.fee_type)
        return [
            fmt_date(gig.starts_at, tz),
            f"#{gig.id} {p.label(lang, 'gig_type', gig.gig_type)} ({kind})",
            p.hours(lang, gig.duration_min),
            p.money(lang, fee.amount_cents),
            p.money(lang, row.expenses),
            fmt_date(fee.paid_at, tz) if fee.paid_at else "–",
        ]

    def _totals(self, lang: str, rows: list[StatementRow]) -> list[list[str]]:
        t, money = self._t(lang), self.p.money
        by_kind = {kind: 0 for kind in FEE_KINDS}
        for row in rows:
            if row.fee.fee_type in by_kind:
                by_kind[row.fee.fee_type] += row.fee.amount_cents
        travel = sum(r.fee.travel_cents for r in rows)
        other = sum(r.fee.other_cents for r in rows)
        hours = sum(r.gig.duration_min for r in rows)
        return [
            *([t(f"papers.k_{kind}"), money(lang, cents)] for kind, cents in by_kind.items()),
            [t("papers.k_travel"), money(lang, travel)],
            [t("papers.k_other"), money(lang, other)],
            [t("papers.k_hours", count=len(rows)), self.p.hours(lang, hours)],
            [t("papers.k_all"), money(lang, sum(by_kind.values()) + travel + other)],
        ]

    def _month_columns(self, lang: str) -> list[Column]:
        t = self._t(lang)
        return [
            Column(t("papers.c_month"), 0.3),
            Column(t("papers.c_earned"), 0.25, "R"),
            Column(t("papers.c_expenses"), 0.2, "R"),
            Column(t("papers.c_limit"), 0.25, "R"),
        ]

    def _months(
        self, lang: str, year: int, rows: list[StatementRow], limit: int | None
    ) -> list[list[str]]:
        """Fees (the figure an earnings limit counts) and expenses month by month."""
        t, money, tz = self._t(lang), self.p.money, self.settings.tz
        earned: dict[int, int] = defaultdict(int)
        spent: dict[int, int] = defaultdict(int)
        for row in rows:
            month = row.gig.starts_at.astimezone(tz).month
            earned[month] += row.fee.amount_cents
            spent[month] += row.expenses
        out = []
        for month in range(1, 13):
            if limit is None:
                state = "–"
            else:
                state = t("papers.over" if earned[month] > limit else "papers.under")
            name = f"{t(f'papers.m{month}')} {year}"
            out.append([name, money(lang, earned[month]), money(lang, spent[month]), state])
        return out


class _Lang:
    """Catalog texts in one language, called like a function."""

    def __init__(self, presenter: Presenter, lang: str) -> None:
        self.p, self.lang = presenter, lang

    def __call__(self, key: str, **kwargs: object) -> str:
        return self.p.t(self.lang, key, **kwargs)


async def confirmed_names(s: AsyncSession, gig_id: int) -> list[str]:
    """The chosen names of the experts confirmed for a gig (the only names an orderer sees)."""
    rows = await s.scalars(
        select(ExpertProfile.display_name)
        .join(Offer, Offer.expert_id == ExpertProfile.user_id)
        .where(Offer.gig_id == gig_id, Offer.status == OfferStatus.ACCEPTED)
        .order_by(Offer.id)
    )
    return list(rows.all())
