"""Who may be offered a gig, and in which order: the fair rotation.

The rules over plain values (the rotation key, the order, who a wave asks, whom a hand-pick
may reach) are pure functions, unit-tested in tests/unit/test_ranking.py; `Ranking` gathers
the facts for them from the database.

Ranking 10,000 experts must take well under 50 ms (issue 15), so `Ranking` never loads an
ORM object or decodes JSON per expert: one SELECT over narrow columns does the profile rules
(`matching.reasons_not` says the same in Python, for the few experts a person looks at). The
list-valued fields are filtered through bit masks (`storage.vocab`, kept in step by the
model): one integer AND per rule and no join, where a tags table would need five indexed
look-ups per expert. The month caps and overlaps need only the few experts with confirmed
gigs near this one, and the rotation figures are two aggregates over the accepted offers
(index `ix_offers_status_gig_expert`); measured in bench.dispatch (docs/benchmarks.md), so
nothing has to keep running totals in step. No list of expert ids goes into SQL, so nothing
breaks past asyncpg's 32,767 parameters. tests/test_ranking_sql.py checks the result against
the Python rules on random data.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any, NamedTuple, Protocol

from sqlalchemy import Select, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.services import matching
from bot.services.dispatch.common import Deps
from bot.services.matching import Candidate, Load, over_load
from bot.services.sessions import trained
from storage.models import Gig, OfferStatus, TrainingRequirement, User
from storage.repo import InterestRepo, OfferRepo, UserRepo

ROTATION_DAYS = 90
# Offers that count as answered "no" for this gig: the expert is not asked again.
NOT_AGAIN = (
    OfferStatus.DECLINED,
    OfferStatus.WITHDRAWN,
    OfferStatus.EXPIRED,
    OfferStatus.CANCELLED,
)
# A wave skips these as well: they are waiting to answer, or already on the gig.
ASKED = (*NOT_AGAIN, OfferStatus.OPEN, OfferStatus.ACCEPTED)


class Rotation(NamedTuple):
    """One expert's facts for the rotation: the last 90 days, and the last gig ever."""

    gigs: int = 0
    minutes: int = 0
    last: datetime | None = None


@dataclass(slots=True)
class Ranked:
    """One eligible expert's place in the fair rotation, with the facts behind it."""

    expert_id: int
    name: str
    place: int
    gigs_90d: int
    minutes_90d: int
    last_gig: datetime | None
    interested: bool = False  # said "I'm interested" in /opengigs: first among the level


class WavePlan(NamedTuple):
    """How a cascade asks, by how far ahead the gig is: `band` far | medium | near; `size`
    experts at a time (None: everyone eligible at once), each offer waiting `hours`."""

    band: str
    size: int | None
    hours: int


def wave_plan(lead: timedelta, medium_size: int, medium_hours: int, s: WaveSettings) -> WavePlan:
    """Far ahead (more than `wave_far_days`): small waves, long waits; within
    `wave_near_hours`: everyone at once; between: the gig's own cascade size and wait."""
    if lead > timedelta(days=s.wave_far_days):
        return WavePlan("far", s.wave_far_size, s.wave_far_hours)
    if lead <= timedelta(hours=s.wave_near_hours):
        return WavePlan("near", None, medium_hours)
    return WavePlan("medium", medium_size, medium_hours)


class WaveSettings(Protocol):
    wave_far_days: int
    wave_far_size: int
    wave_far_hours: int
    wave_near_hours: int


def waves_left(still_to_ask: int, size: int | None) -> int:
    """How many more waves the experts not asked yet would take."""
    if size is None or still_to_ask <= 0:
        return 0
    return -(-still_to_ask // size)


def level_key(r: Ranked) -> tuple[int, int, float]:
    """The rotation's own figures: experts with the same key are level (the rotation has no
    reason to put one before the other; only the registration order would)."""
    return rotation_key(r.gigs_90d, r.minutes_90d, r.last_gig, 0)[:3]


def prefer_interested(ranked: Sequence[Ranked], interested: Iterable[int]) -> list[Ranked]:
    """Among experts the rotation puts level, those who said "I'm interested" come first;
    interest never moves anyone past a better-rotated expert. Places are numbered again."""
    keen = set(interested)
    for r in ranked:
        r.interested = r.expert_id in keen
    ordered = sorted(ranked, key=lambda r: (*level_key(r), not r.interested))
    for place, r in enumerate(ordered, start=1):
        r.place = place
    return ordered


def rotation_key(
    gigs: int, minutes: int, last: datetime | None, user_id: int
) -> tuple[int, int, float, int]:
    """Fewer gigs, then fewer hours in the last 90 days, then longest since the last gig
    (never had one: first), then the earlier registration. Declines never count."""
    # The earlier the last gig, the longer the wait: earlier sorts first; none at all, first.
    last_at = last.timestamp() if last is not None else float("-inf")
    return (gigs, minutes, last_at, user_id)


def rotation_order(stats: Mapping[int, Rotation]) -> list[int]:
    """Expert ids in fair rotation order."""
    return sorted(stats, key=lambda uid: rotation_key(*stats[uid], uid))


def rotation_stats(
    ids: Iterable[int],
    recent: Mapping[int, tuple[int, int]],
    last: Mapping[int, datetime],
) -> dict[int, Rotation]:
    """Each of `ids` with their facts; somebody with no gigs yet has zeros and no last gig."""
    return {i: Rotation(*recent.get(i, (0, 0)), last.get(i)) for i in ids}


def next_wave(
    ranked: Sequence[Ranked], states: Mapping[int, str], mode: str, cascade_k: int
) -> list[Ranked]:
    """Whom to ask now: everyone not asked yet (broadcast), or the next few in order so that
    `cascade_k` offers are open at a time (cascade). A "no" is never asked again."""
    fresh = [r for r in ranked if states.get(r.expert_id) not in ASKED]
    if mode == "cascade":
        waiting = sum(1 for st in states.values() if st == OfferStatus.OPEN)
        fresh = fresh[: max(0, cascade_k - waiting)]
    return fresh


def pickable(
    ranked: Sequence[Ranked], states: Mapping[int, str], user_ids: Iterable[int]
) -> list[Ranked]:
    """The coordinator's choice, once each, keeping only those still eligible and not asked
    before (an offer closed when the gig filled may be made again)."""
    by_id = {r.expert_id: r for r in ranked}
    return [
        by_id[uid]
        for uid in dict.fromkeys(user_ids)
        if uid in by_id and states.get(uid) in (None, OfferStatus.CLOSED)
    ]


def within_load(people: Iterable[Sequence[Any]], load_of: Mapping[int, Load], gig: Gig) -> set[int]:
    """Ids of those `matching.fitting` let through (rows that start id, name, max gigs a
    month, max earnings) whose confirmed work leaves no room for this gig
    (`matching.over_load`); only those with some work (`load_of`) can be among them."""
    return {
        row[0]
        for row in people
        if row[0] in load_of and over_load(gig, row[2], row[3], load_of[row[0]])
    }


def ranked_query(
    fits: Select[int, str, int | None, int | None], now: datetime
) -> Select[int, str, int | None, int | None, int, int, datetime]:
    """The fitting experts with their rotation figures, in `rotation_key` order, in SQL."""
    recent, last = OfferRepo.work_done_queries(now, now - timedelta(days=ROTATION_DAYS))
    r, ever, f = recent.subquery(), last.subquery(), fits.subquery()
    gigs, minutes = func.coalesce(r.c.gigs, 0), func.coalesce(r.c.minutes, 0)
    return (
        select(f.c.id, f.c.display_name, f.c.max_gigs_month, f.c.max_earnings_cents)
        .add_columns(gigs, minutes, ever.c.last)
        .outerjoin(r, r.c.expert_id == f.c.id)
        .outerjoin(ever, ever.c.expert_id == f.c.id)
        .order_by(gigs, minutes, ever.c.last.nulls_first(), f.c.id)
    )


class Ranking:
    def __init__(self, deps: Deps) -> None:
        self.d = deps

    async def eligible(self, s: AsyncSession, gig: Gig) -> list[Candidate]:
        """Experts who pass every rule, including their own limits, for this gig."""
        people = await matching.fitting(s, gig, self._today(), self.d.tz)
        out = within_load(people, await matching.loads(s, gig, None, self.d.tz), gig)
        return [c for c in people if c.id not in out]

    def _today(self) -> date:
        return self.d.clock.now().astimezone(self.d.tz).date()

    async def rotation(self, s: AsyncSession, ids: list[int]) -> dict[int, Rotation]:
        """Per expert: gigs and minutes done in the last 90 days, and the last gig ever."""
        if not ids:
            return {}
        now = self.d.clock.now()
        recent, last = await OfferRepo(s).work_done(now, now - timedelta(days=ROTATION_DAYS))
        return rotation_stats(ids, recent, last)

    async def ranked(self, s: AsyncSession, gig: Gig) -> list[Ranked]:
        """Eligible experts in fair rotation order, those interested first among the level
        (`prefer_interested`)."""
        ranked = await self._rotation_ranked(s, gig)
        return prefer_interested(ranked, await InterestRepo(s).of_gig(gig.id))

    async def unavailable(self, s: AsyncSession, gig: Gig) -> list[tuple[int, str]]:
        """Experts who would fit the gig but for their weekly pattern or an away period."""
        if not matching.fits_in_sql(gig):
            today = self._today()
            return [
                (u.id, p.display_name)
                for u, p in await UserRepo(s).experts_with_profiles()
                if matching.reasons_not(gig, u, p, matching.Load(), today, self.d.tz)
                == ["unavailable"]
            ]
        query = matching.unavailable_query(gig, self._today(), self.d.tz)
        return [(uid, name) for uid, name in await s.execute(query)]

    async def _rotation_ranked(self, s: AsyncSession, gig: Gig) -> list[Ranked]:
        """Eligible experts in fair rotation order: one SELECT does the rules, the figures and
        the order; Python only drops the few whose confirmed work leaves no room."""
        if not matching.fits_in_sql(gig):
            return await self._ranked_in_python(s, gig)
        fits = matching.fitting_query(gig, self._today(), self.d.tz).where(trained(gig))
        # Core, not the ORM's execute: plain rows, no per-row ORM loading machinery.
        conn = await s.connection()
        rows = (await conn.execute(ranked_query(fits, self.d.clock.now()))).all()
        out = within_load(rows, await matching.loads(s, gig, None, self.d.tz), gig)
        kept = (row for row in rows if row[0] not in out)
        return [
            Ranked(uid, name, place, gigs, minutes, last)
            for place, (uid, name, _, _, gigs, minutes, last) in enumerate(kept, start=1)
        ]

    async def untrained(self, s: AsyncSession, gig: Gig) -> tuple[str | None, list[str]]:
        """The training the gig's type requires (if any), and the names of the experts who
        fit the gig in every other way but have not attended it: shown with the ranking."""
        rows = await s.execute(
            select(TrainingRequirement.training).where(TrainingRequirement.gig_type == gig.gig_type)
        )
        required = rows.scalar()
        if required is None or not matching.fits_in_sql(gig):
            return required, []
        fits = matching.fitting_query(gig, self._today(), self.d.tz)
        f = fits.subquery()
        names = await s.scalars(
            select(f.c.display_name)
            .join(User, User.id == f.c.id)
            .where(~trained(gig))
            .order_by(f.c.display_name)
        )
        return required, list(names.all())

    async def _ranked_in_python(self, s: AsyncSession, gig: Gig) -> list[Ranked]:
        """The same for a gig with a code outside the vocabulary (`matching.fits_in_sql`)."""
        names = {c.id: c.name for c in await self.eligible(s, gig)}
        stats = await self.rotation(s, list(names))
        return [
            Ranked(uid, names[uid], place, *stats[uid])
            for place, uid in enumerate(rotation_order(stats), start=1)
        ]
