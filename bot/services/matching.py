"""Who may be offered a gig, and why not. Pure rules over data loaded in two queries."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import (
    ExpertProfile,
    ExpertStatus,
    Fee,
    Gig,
    GigStatus,
    Offer,
    OfferStatus,
    User,
)

TRAVEL_BUFFER = timedelta(minutes=60)


@dataclass
class Load:
    """An expert's confirmed work around one gig: in its month, and overlapping it."""

    gigs_in_month: int = 0
    earnings_in_month: int = 0
    busy: list[tuple[datetime, datetime]] = field(default_factory=list)


def month_bounds(moment: datetime, tz: ZoneInfo) -> tuple[datetime, datetime]:
    """The local calendar month around `moment`, as aware datetimes."""
    local = moment.astimezone(tz)
    start = datetime(local.year, local.month, 1, tzinfo=tz)
    end = datetime(local.year + (local.month == 12), local.month % 12 + 1, 1, tzinfo=tz)
    return start, end


def gig_end(gig: Gig) -> datetime:
    return gig.starts_at + timedelta(minutes=gig.duration_min)


# A flat list of independent eligibility rules reads best as it is, one `if` per rule.
def reasons_not(  # noqa: C901
    gig: Gig, user: User, profile: ExpertProfile, load: Load, today: date, tz: ZoneInfo
) -> list[str]:
    """Every rule this expert fails for this gig (empty: eligible). Codes name catalog texts."""
    out = []
    if not user.active or user.telegram_id is None or not user.reachable:
        out.append("inactive")
    if profile.status != ExpertStatus.APPROVED:
        out.append("not_approved")
    gig_day = gig.starts_at.astimezone(tz).date()
    if profile.contract_until is None or profile.contract_until < max(today, gig_day):
        out.append("contract")
    if profile.paused_until is not None and profile.paused_until >= today:
        out.append("paused")
    if gig.gig_type not in profile.gig_types:
        out.append("gig_type")
    if not set(gig.topics) & set(profile.topics):
        out.append("topic")
    if gig.language not in profile.languages:
        out.append("language")
    if gig.region not in profile.regions and not (gig.remote and profile.remote_ok):
        out.append("region")
    if profile.audiences and gig.audience not in profile.audiences:
        out.append("audience")
    start, end = gig.starts_at - TRAVEL_BUFFER, gig_end(gig) + TRAVEL_BUFFER
    if any(b_start < end and start < b_end for b_start, b_end in load.busy):
        out.append("overlap")
    if profile.max_gigs_month is not None and load.gigs_in_month >= profile.max_gigs_month:
        out.append("gig_cap")
    if (
        profile.max_earnings_cents is not None
        and load.earnings_in_month >= profile.max_earnings_cents
    ):
        out.append("earnings_cap")
    return out


async def loads(
    s: AsyncSession, gig: Gig, expert_ids: Iterable[int], tz: ZoneInfo
) -> dict[int, Load]:
    """Month totals and overlapping confirmed gigs for many experts at once."""
    ids = list(expert_ids)
    result = {i: Load() for i in ids}
    if not ids:
        return result
    m_start, m_end = month_bounds(gig.starts_at, tz)
    confirmed = (
        Offer.status == OfferStatus.ACCEPTED,
        Gig.status.in_(GigStatus.HAPPENING),
        Gig.id != gig.id,
    )
    month = await s.execute(
        # The agreed fee, as /myfees shows it (a refused or edited fee counts as it now is).
        select(Offer.expert_id, func.count(), func.coalesce(func.sum(Fee.amount_cents), 0))
        .join(Gig, Gig.id == Offer.gig_id)
        .outerjoin(Fee, (Fee.gig_id == Offer.gig_id) & (Fee.expert_id == Offer.expert_id))
        .where(
            Offer.expert_id.in_(ids), Gig.starts_at >= m_start, Gig.starts_at < m_end, *confirmed
        )
        .group_by(Offer.expert_id)
    )
    for expert_id, count, cents in month:
        result[expert_id].gigs_in_month = int(count)
        result[expert_id].earnings_in_month = int(cents or 0)
    window_start = gig.starts_at - timedelta(hours=13) - TRAVEL_BUFFER
    window_end = gig_end(gig) + TRAVEL_BUFFER
    near = await s.execute(
        select(Offer.expert_id, Gig.starts_at, Gig.duration_min)
        .join(Gig, Gig.id == Offer.gig_id)
        .where(
            Offer.expert_id.in_(ids),
            Gig.starts_at >= window_start,
            Gig.starts_at < window_end,
            *confirmed,
        )
    )
    for expert_id, starts_at, minutes in near:
        result[expert_id].busy.append((starts_at, starts_at + timedelta(minutes=minutes)))
    return result


def eligible(
    gig: Gig,
    people: Sequence[tuple[User, ExpertProfile]],
    load_of: dict[int, Load],
    today: date,
    tz: ZoneInfo,
) -> list[tuple[User, ExpertProfile]]:
    return [
        (u, p)
        for u, p in people
        if not reasons_not(gig, u, p, load_of.get(u.id, Load()), today, tz)
    ]
