"""Billing the ordering organisations: a month's held gigs per organisation, with the fees and
the reimbursed expenses apart (fees are taxable income to the experts, expenses are not), the
contact and the orderer's own order number, as an Excel workbook for invoicing."""

from __future__ import annotations

import io
import re
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal

from openpyxl import Workbook
from openpyxl.cell import Cell
from openpyxl.styles import Font
from openpyxl.worksheet.worksheet import Worksheet
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.i18n import fmt_date
from bot.present import Presenter
from bot.settings import Settings
from storage.models import Fee, Gig, GigStatus

MONTH = re.compile(r"(\d{1,2})\s*[./]\s*(\d{4})")
EUROS = '#,##0.00 "€"'
HOURS = "0.0"


class NotAMonth(ValueError):
    """What was typed is not a month such as 3/2027 or 3.2027."""


def parse_month(text: str) -> date:
    """3/2027, 3.2027 or 03 / 2027 → the first day of that month."""
    found = MONTH.fullmatch(text.strip())
    if found is None or not text.isascii():
        raise NotAMonth(text)
    month, year = int(found.group(1)), int(found.group(2))
    if not 1 <= month <= 12 or not 2000 <= year <= 2999:
        raise NotAMonth(text)
    return date(year, month, 1)


def next_month(first: date) -> date:
    return date(first.year + (first.month == 12), first.month % 12 + 1, 1)


@dataclass
class BilledGig:
    gig: Gig
    experts: int
    fees: int  # cents
    expenses: int  # cents


@dataclass
class Organisation:
    name: str
    gigs: list[BilledGig] = field(default_factory=list)

    @property
    def fees(self) -> int:
        return sum(g.fees for g in self.gigs)

    @property
    def expenses(self) -> int:
        return sum(g.expenses for g in self.gigs)

    @property
    def contacts(self) -> str:
        return "; ".join(dict.fromkeys(g.gig.contact for g in self.gigs))


def euros(cents: int) -> Decimal:
    return Decimal(cents) / 100


def text_cell(cell: Cell, value: str) -> None:
    """Text typed by people is stored as text: "=…" never becomes a formula."""
    cell.value = value
    cell.data_type = "s"


class Billing:
    def __init__(self, presenter: Presenter, settings: Settings) -> None:
        self.p = presenter
        self.settings = settings

    async def held(self, s: AsyncSession, first: date) -> list[Organisation]:
        """The gigs held in the month starting `first`, per organisation, with their money."""
        tz = self.settings.tz
        since = datetime(first.year, first.month, first.day, tzinfo=tz)
        end = next_month(first)
        until = datetime(end.year, end.month, end.day, tzinfo=tz)
        money = (
            select(
                Fee.gig_id,
                func.count(Fee.id).label("experts"),
                func.coalesce(func.sum(Fee.amount_cents), 0).label("fees"),
                func.coalesce(func.sum(Fee.travel_cents + Fee.other_cents), 0).label("costs"),
            )
            .group_by(Fee.gig_id)
            .subquery()
        )
        rows = await s.execute(
            select(Gig, money.c.experts, money.c.fees, money.c.costs)
            .outerjoin(money, money.c.gig_id == Gig.id)
            .where(Gig.status == GigStatus.DONE, Gig.starts_at >= since, Gig.starts_at < until)
            .order_by(Gig.organisation, Gig.starts_at, Gig.id)
        )
        orgs: dict[str, Organisation] = {}
        for gig, experts, fees, costs in rows:
            org = orgs.setdefault(gig.organisation, Organisation(gig.organisation))
            org.gigs.append(BilledGig(gig, int(experts or 0), int(fees or 0), int(costs or 0)))
        return list(orgs.values())

    def xlsx(self, orgs: list[Organisation], first: date, lang: str) -> bytes:
        wb = Workbook()
        summary = wb.active
        assert summary is not None
        title = self.p.t(lang, "billing.title", month=f"{first.month}/{first.year}")
        wb.properties.title = title
        summary.title = self.p.t(lang, "billing.sheet_summary")[:31]
        self._summary(summary, orgs, title, lang)
        self._gigs(wb.create_sheet(self.p.t(lang, "billing.sheet_gigs")[:31]), orgs, lang)
        out = io.BytesIO()
        wb.save(out)
        return out.getvalue()

    def _header(self, ws: Worksheet, keys: list[str], lang: str) -> None:
        ws.append([self.p.t(lang, f"billing.h_{key}") for key in keys])
        for cell in ws[ws.max_row]:
            cell.font = Font(bold=True)
        ws.freeze_panes = f"A{ws.max_row + 1}"

    def _summary(self, ws: Worksheet, orgs: list[Organisation], title: str, lang: str) -> None:
        ws.append([title])
        ws["A1"].font = Font(bold=True, size=14)
        self._header(ws, ["organisation", "contact", "gigs", "fees", "expenses", "total"], lang)
        for org in orgs:
            ws.append([None, None, len(org.gigs), euros(org.fees), euros(org.expenses)])
            row = ws.max_row
            text_cell(ws.cell(row, 1), org.name)
            text_cell(ws.cell(row, 2), org.contacts)
            ws.cell(row, 6, euros(org.fees + org.expenses))
        total = ws.max_row + 1
        ws.append([self.p.t(lang, "billing.total"), None, sum(len(o.gigs) for o in orgs)])
        for col, cents in ((4, sum(o.fees for o in orgs)), (5, sum(o.expenses for o in orgs))):
            ws.cell(total, col, euros(cents))
        ws.cell(total, 6, euros(sum(o.fees + o.expenses for o in orgs)))
        for cell in ws[total]:
            cell.font = Font(bold=True)
        for row in ws.iter_rows(min_row=3, min_col=4, max_col=6):
            for cell in row:
                cell.number_format = EUROS
        for letter, width in zip("ABCDEF", (44, 36, 8, 14, 14, 14), strict=True):
            ws.column_dimensions[letter].width = width

    def _gigs(self, ws: Worksheet, orgs: list[Organisation], lang: str) -> None:
        keys = ["organisation", "order_ref", "gig", "date", "type", "hours", "experts"]
        self._header(ws, [*keys, "fees", "expenses", "total", "contact"], lang)
        tz = self.settings.tz
        for org in orgs:
            for billed in org.gigs:
                gig = billed.gig
                ws.append(
                    [
                        None,
                        None,
                        gig.id,
                        fmt_date(gig.starts_at, tz),
                        self.p.label(lang, "gig_type", gig.gig_type),
                        Decimal(gig.duration_min) / 60,
                        billed.experts,
                        euros(billed.fees),
                        euros(billed.expenses),
                        euros(billed.fees + billed.expenses),
                    ]
                )
                row = ws.max_row
                text_cell(ws.cell(row, 1), org.name)
                text_cell(ws.cell(row, 2), gig.order_ref)
                text_cell(ws.cell(row, 11), gig.contact)
                ws.cell(row, 6).number_format = HOURS
                for col in (8, 9, 10):
                    ws.cell(row, col).number_format = EUROS
        for letter, width in zip(
            "ABCDEFGHIJK", (40, 18, 8, 12, 26, 8, 10, 12, 12, 12, 36), strict=True
        ):
            ws.column_dimensions[letter].width = width
