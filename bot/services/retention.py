"""How long money records are kept. The Finnish Accounting Act (Kirjanpitolaki 1336/1997,
chapter 2 section 10) requires vouchers (tositteet) to be kept at least six years from the end
of the year in which the financial period ended, and the books and financial statements ten
years. The fees, the expense claims and their receipts the bot holds are the vouchers of the
centre's payments; its books are kept in its bookkeeping system, not here. So the bot keeps
them six full years after the year of the gig and of its payment, and then deletes them (see
docs/operations.md). Everything else about a person goes on /forget at once."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy import delete, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import ClaimStatus, ExpenseClaim, Fee, Gig

VOUCHER_YEARS = (
    6  # Kirjanpitolaki 2:10 §: tositteet kuusi vuotta tilikauden päättymisvuoden lopusta
)


def cutoff(now: datetime, tz: ZoneInfo) -> datetime:
    """Records from before this moment are past their keeping time: the start of the year
    six years back (on 1.1.2033 everything of 2026 goes)."""
    return datetime(now.astimezone(tz).year - VOUCHER_YEARS, 1, 1, tzinfo=tz)


async def purge_expired(s: AsyncSession, now: datetime, tz: ZoneInfo) -> int:
    """Delete the fees (with their claims) of gigs before the cutoff whose payment, if any,
    was also before it, and claims rejected before it; returns how many fees went."""
    limit = cutoff(now, tz)
    fee_ids = list(
        (
            await s.scalars(
                select(Fee.id)
                .join(Gig, Gig.id == Fee.gig_id)
                .where(Gig.starts_at < limit, or_(Fee.paid_at.is_(None), Fee.paid_at < limit))
                .limit(10_000)  # a day's share; the rest go the next day
            )
        ).all()
    )
    if fee_ids:
        await s.execute(delete(ExpenseClaim).where(ExpenseClaim.fee_id.in_(fee_ids)))
        await s.execute(delete(Fee).where(Fee.id.in_(fee_ids)))
    await s.execute(
        delete(ExpenseClaim).where(
            ExpenseClaim.status == ClaimStatus.REJECTED, ExpenseClaim.decided_at < limit
        )
    )
    return len(fee_ids)
