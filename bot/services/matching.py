"""Who may be offered a gig, and why not: the rules in Python (`reasons_not`, for the few
experts somebody looks at) and the same rules as one SELECT (`fitting`, for ranking)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any, NamedTuple
from zoneinfo import ZoneInfo

from sqlalchemy import ColumnElement, Select, and_, func, or_, select, true
from sqlalchemy.ext.asyncio import AsyncSession

from bot.services import sessions
from storage import vocab
from storage.models import (
    AvailabilityBlock,
    ExpertProfile,
    ExpertStatus,
    Fee,
    Gig,
    GigStatus,
    Offer,
    OfferStatus,
    Role,
    User,
)
from storage.repo import UserRepo

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


def reasons_not(
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
    out += where_and_when(gig, profile, tz)
    return out + over_load(gig, profile.max_gigs_month, profile.max_earnings_cents, load)


def where_and_when(gig: Gig, profile: ExpertProfile, tz: ZoneInfo) -> list[str]:
    """The rules about the gig's place, audience and time against the expert's wishes."""
    out = []
    if gig.region not in profile.regions and not (gig.remote and profile.remote_ok):
        out.append("region")
    if profile.audiences and gig.audience not in profile.audiences:
        out.append("audience")
    if not available(gig, profile.unavailable_slots, profile.blocks, tz):
        out.append("unavailable")
    return out


def start_slot(gig: Gig, tz: ZoneInfo) -> tuple[date, int]:
    """The local day the gig starts on, and the weekly pattern's bit for its start."""
    local = gig.starts_at.astimezone(tz)
    return local.date(), vocab.slot_bit(local.weekday(), local.hour)


def available(
    gig: Gig, unavailable_slots: int, blocks: Iterable[AvailabilityBlock], tz: ZoneInfo
) -> bool:
    """Whether the gig's start is outside the expert's unavailable slots and away periods (a
    period with only a note is shown to coordinators, not enforced)."""
    day, bit = start_slot(gig, tz)
    if unavailable_slots & bit:
        return False
    return not any(b.away and b.starts_on <= day <= b.ends_on for b in blocks)


def available_clause(gig: Gig, tz: ZoneInfo) -> ColumnElement[bool]:
    """`available` in SQL, over the profile's pattern and the expert's blocks."""
    day, bit = start_slot(gig, tz)
    b = AvailabilityBlock
    # `NOT IN`, not `NOT EXISTS`: one look at the few away periods (a hashed subplan), where
    # PostgreSQL ran `NOT EXISTS` as a scan of them per expert (4 ms for 10,000 experts, with
    # none away). `user_id` is never NULL, so `NOT IN` means exactly "not away".
    away = select(b.user_id).where(b.away.is_(True), b.starts_on <= day, b.ends_on >= day)
    here = User.id.not_in(away)
    taken: ColumnElement[int] = ExpertProfile.unavailable_slots.op("&")(bit)
    # `<> bit`, not the same `= 0`: PostgreSQL guesses an expression's `=` matches 0.5 % of
    # rows, plans nested loops for the "50" experts and takes twice as long for 10,000.
    return and_(taken != bit, here) if bit else here


def over_load(
    gig: Gig, max_gigs_month: int | None, max_earnings_cents: int | None, load: Load
) -> list[str]:
    """The rules about the expert's confirmed work: a clash, and their own monthly limits."""
    out = []
    start, end = gig.starts_at - TRAVEL_BUFFER, gig_end(gig) + TRAVEL_BUFFER
    if any(b_start < end and start < b_end for b_start, b_end in load.busy):
        out.append("overlap")
    if max_gigs_month is not None and load.gigs_in_month >= max_gigs_month:
        out.append("gig_cap")
    if max_earnings_cents is not None and load.earnings_in_month >= max_earnings_cents:
        out.append("earnings_cap")
    return out


class Candidate(NamedTuple):
    """An expert whose profile fits a gig, with the limits still to check against the load."""

    id: int
    name: str
    max_gigs_month: int | None
    max_earnings_cents: int | None


def _has(mask: Any, kind: str, codes: Iterable[str]) -> ColumnElement[bool]:
    """Whether the mask column shares a bit with these codes."""
    bits: ColumnElement[int] = mask.op("&")(vocab.mask(kind, list(set(codes))))
    return bits != 0


def fits_in_sql(gig: Gig) -> bool:
    """Whether the gig's own codes are all in the vocabulary (else the masks cannot say)."""
    return (
        vocab.known("gig_types", gig.gig_type)
        and all(vocab.known("topics", t) for t in gig.topics)
        and vocab.known("languages", gig.language)
        and vocab.known("regions", gig.region)
        and vocab.known("audiences", gig.audience)
    )


def fitting_query(gig: Gig, today: date, tz: ZoneInfo) -> Select[int, str, int | None, int | None]:
    """Experts whose register entry fits the gig and whose own limits leave room with no work
    at all: `reasons_not` with an empty `Load`, as one SELECT over narrow columns (no ORM
    object, no JSON per expert). Only for a gig whose codes `fits_in_sql`."""
    return profile_query(gig, today, tz).where(available_clause(gig, tz))


def unavailable_query(gig: Gig, today: date, tz: ZoneInfo) -> Select[int, str]:
    """Experts who would fit the gig but for their availability (the ranking view says so)."""
    fits = profile_query(gig, today, tz).where(~available_clause(gig, tz)).subquery()
    return select(fits.c.id, fits.c.display_name).order_by(fits.c.id)


def profile_query(gig: Gig, today: date, tz: ZoneInfo) -> Select[int, str, int | None, int | None]:
    """Every rule of `fitting_query` but availability."""
    p = ExpertProfile
    region = _has(p.regions_mask, "regions", [gig.region])
    return (
        select(User.id, p.display_name, p.max_gigs_month, p.max_earnings_cents)
        .join(p, p.user_id == User.id)
        .where(
            User.role == Role.EXPERT,
            User.active.is_(True),
            User.reachable.is_(True),
            User.telegram_id.is_not(None),
            p.status == ExpertStatus.APPROVED,
            p.contract_until >= max(today, gig.starts_at.astimezone(tz).date()),
            or_(p.paused_until.is_(None), p.paused_until < today),
            _has(p.gig_types_mask, "gig_types", [gig.gig_type]),
            _has(p.topics_mask, "topics", gig.topics),
            _has(p.languages_mask, "languages", [gig.language]),
            or_(region, p.remote_ok.is_(True)) if gig.remote else region,
            or_(p.audiences_mask == 0, _has(p.audiences_mask, "audiences", [gig.audience])),
            or_(p.max_gigs_month.is_(None), p.max_gigs_month > 0),
            or_(p.max_earnings_cents.is_(None), p.max_earnings_cents > 0),
        )
    )


async def fitting(s: AsyncSession, gig: Gig, today: date, tz: ZoneInfo) -> list[Candidate]:
    """Experts who pass every rule for this gig as if they had no confirmed work: the rules
    about their work (`over_load`) are left for those who have some (see `loads`)."""
    if fits_in_sql(gig):
        query = fitting_query(gig, today, tz).where(sessions.trained(gig))
        return [Candidate(*row) for row in await s.execute(query)]
    trained = set((await s.scalars(select(User.id).where(sessions.trained(gig)))).all())
    # A gig with a code outside the vocabulary (an old row): the masks cannot say.
    return [
        Candidate(user.id, profile.display_name, profile.max_gigs_month, profile.max_earnings_cents)
        for user, profile in await UserRepo(s).experts_with_profiles()
        if not reasons_not(gig, user, profile, Load(), today, tz) and user.id in trained
    ]


async def loads(
    s: AsyncSession, gig: Gig, expert_ids: Iterable[int] | None, tz: ZoneInfo
) -> dict[int, Load]:
    """Month totals and overlapping confirmed gigs for these experts, or (None) for every
    expert who has any: only those are in the answer, so no list of ids goes into SQL."""
    ids = None if expert_ids is None else list(expert_ids)
    result = {i: Load() for i in ids or ()}
    if ids == []:
        return result
    who = true() if ids is None else Offer.expert_id.in_(ids)
    m_start, m_end = month_bounds(gig.starts_at, tz)

    def confirmed(since: datetime, until: datetime) -> ColumnElement[bool]:
        # Accepted offers of the other gigs on (or done) that start in [since, until): the
        # gigs are found first, by their (status, start) index, then their offers; SQLite
        # otherwise read every accepted offer of the year (2 ms a query for 12,000).
        gigs = select(Gig.id).where(
            Gig.status.in_(GigStatus.HAPPENING),
            Gig.starts_at >= since,
            Gig.starts_at < until,
            Gig.id != gig.id,
        )
        return and_(who, Offer.status == OfferStatus.ACCEPTED, Offer.gig_id.in_(gigs))

    month = await s.execute(
        # The agreed fee, as /myfees shows it (a refused or edited fee counts as it now is).
        select(Offer.expert_id, func.count(), func.coalesce(func.sum(Fee.amount_cents), 0))
        .outerjoin(Fee, (Fee.gig_id == Offer.gig_id) & (Fee.expert_id == Offer.expert_id))
        .where(confirmed(m_start, m_end))
        .group_by(Offer.expert_id)
    )
    for expert_id, count, cents in month:
        result.setdefault(expert_id, Load())
        result[expert_id].gigs_in_month = int(count)
        result[expert_id].earnings_in_month = int(cents or 0)
    window_start = gig.starts_at - timedelta(hours=13) - TRAVEL_BUFFER
    window_end = gig_end(gig) + TRAVEL_BUFFER
    near = await s.execute(
        select(Offer.expert_id, Gig.starts_at, Gig.duration_min)
        .join(Gig, Gig.id == Offer.gig_id)
        .where(confirmed(window_start, window_end))
    )
    for expert_id, starts_at, minutes in near:
        result.setdefault(expert_id, Load()).busy.append(
            (starts_at, starts_at + timedelta(minutes=minutes))
        )
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
