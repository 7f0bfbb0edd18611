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
gigs near this one.

The rotation figures are kept per expert (`ExpertRotation`), not aggregated over a year of
offers at every ranking: whatever changes an expert's seats (`Seats.accept`, `release_seat`,
`Changes.cancel_gig`, `change_gig`, `no_show`) calls `touch`, and the figures of the touched
experts are recomputed by `figures` once, before the ranking reads them or before the unit of
work commits (`refresh_touched`, a before-commit hook). Time moves them too: a gig that starts
counts from then on, and one 90 days old drops out; each row says until when its figures hold
(`fresh_until`), and a ranking first recomputes the rows past it (`refresh`). So the figures a
ranking reads are always exactly what `OfferRepo.work_done` would aggregate
(tests/test_ranking_sql.py checks this after fills, step-backs, cancellations, moves,
no-shows and time passing). No list of expert ids goes into SQL unsliced, so nothing breaks
past asyncpg's 32,767 parameters. tests/test_ranking_sql.py checks the result against the
Python rules on random data.

Each row also keeps its figures packed in one integer that sorts as they do (`order_key`):
the SELECT hands over one plain number per expert, Python sorts plain numbers
(`by_rotation`), and `Ranked` reads the figures back from it.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from operator import itemgetter
from typing import Any, NamedTuple, Protocol

from sqlalchemy import Select, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.services import matching
from bot.services.dispatch.common import Deps
from bot.services.matching import Candidate, Load, over_load
from bot.services.sessions import trained
from storage.models import ExpertRotation, Gig, OfferStatus, TrainingRequirement, User
from storage.repo import InterestRepo, RotationRepo, UserRepo

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
TOUCHED = "rotation:touched"  # session.info key: experts whose figures this unit of work changed


# `order_key`'s fields, high to low: gigs, minutes, the last gig's second since KEY_EPOCH
# (plus one; 0 is "never"). 10 + 20 + 33 bits fit a signed 64-bit column, good until 2272.
GIGS_BITS, MINUTES_BITS, LAST_BITS = 10, 20, 33
GIGS_MAX, MINUTES_MAX, LAST_MAX = ((1 << n) - 1 for n in (GIGS_BITS, MINUTES_BITS, LAST_BITS))
KEY_EPOCH = datetime(2000, 1, 1, tzinfo=UTC)


class Rotation(NamedTuple):
    """One expert's facts for the rotation: the last 90 days, and the last gig ever."""

    gigs: int = 0
    minutes: int = 0
    last: datetime | None = None


@dataclass(slots=True)
class Ranked:
    """One eligible expert's place in the fair rotation, with the facts behind it: `key` is
    their figures as `order_key` packs them, read back by the properties."""

    expert_id: int
    name: str
    place: int
    key: int
    interested: bool = False  # said "I'm interested" in /opengigs: first among the level

    @property
    def gigs_90d(self) -> int:
        return self.key >> (MINUTES_BITS + LAST_BITS)

    @property
    def minutes_90d(self) -> int:
        return (self.key >> LAST_BITS) & MINUTES_MAX

    @property
    def last_gig(self) -> datetime | None:
        seconds = self.key & LAST_MAX
        return KEY_EPOCH + timedelta(seconds=seconds - 1) if seconds else None


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


def prefer_interested(ranked: Sequence[Ranked], interested: Iterable[int]) -> list[Ranked]:
    """Among experts the rotation puts level, those who said "I'm interested" come first;
    interest never moves anyone past a better-rotated expert. Places are numbered again."""
    keen = set(interested)
    ordered = list(ranked)
    for r in ordered:
        r.interested = r.expert_id in keen
    if keen:  # nobody interested: the rotation's order stands
        # Experts with the same key are level: the rotation has no reason to put one before
        # the other (only the registration order would).
        ordered.sort(key=lambda r: (r.key, not r.interested))
    for place, r in enumerate(ordered, start=1):
        r.place = place
    return ordered


def order_key(gigs: int, minutes: int, last: datetime | None) -> int:
    """The rotation's figures in one integer that sorts as they do: fewer gigs, then fewer
    minutes in the last 90 days, then the longest since the last gig (never had one: first;
    to the whole second, as gigs start on the minute). Kept per expert with the figures
    (`ExpertRotation.order_key`), so a ranking sorts 10,000 plain integers. Beyond the fields'
    widths a figure counts as their largest: 1,023 gigs or 728 days of minutes in 90 days."""
    if last is None:
        since = 0
    else:
        since = min(max(int((last - KEY_EPOCH).total_seconds()) + 1, 1), LAST_MAX)
    return (
        min(gigs, GIGS_MAX) << (MINUTES_BITS + LAST_BITS)
        | min(minutes, MINUTES_MAX) << LAST_BITS
        | since
    )


def rotation_key(gigs: int, minutes: int, last: datetime | None, user_id: int) -> tuple[int, int]:
    """Fewer gigs, then fewer hours in the last 90 days, then longest since the last gig
    (never had one: first), then the earlier registration. Declines never count. The one
    definition of the order: the ranking sorts by its parts (`order_key`, then the id), SQL
    does not sort."""
    return order_key(gigs, minutes, last), user_id


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


def figures(
    gigs: Iterable[tuple[datetime, int]], now: datetime
) -> tuple[Rotation, datetime | None]:
    """One expert's rotation at `now` from their confirmed gigs (start, minutes), held or to
    come, and until when it holds: the next of those gigs to start, or the first of the last
    90 days' to fall out of the window (None: time alone never changes it)."""
    since = now - timedelta(days=ROTATION_DAYS)
    count = minutes = 0
    last: datetime | None = None
    changes: list[datetime] = []
    for starts_at, duration in gigs:
        if starts_at >= now:
            changes.append(starts_at)  # counts once it has started
            continue
        last = starts_at if last is None else max(last, starts_at)
        if starts_at >= since:
            count, minutes = count + 1, minutes + duration
            changes.append(starts_at + timedelta(days=ROTATION_DAYS))
    return Rotation(count, minutes, last), min(changes, default=None)


def touch(s: AsyncSession, *expert_ids: int) -> None:
    """These experts' seats changed in this unit of work: their rotation figures are
    recomputed before anything reads them, at the latest just before the commit."""
    touched: set[int] = s.info.setdefault(TOUCHED, set())
    touched.update(expert_ids)


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
    fits: Select[int, str, int | None, int | None],
) -> Select[int, str, int | None, int | None, int]:
    """The fitting experts with their kept `order_key` (0: no confirmed gig ever), in no
    order: Python sorts them (`by_rotation`). PostgreSQL's sort of 10,000 rows took 8 ms,
    Python's two passes over one integer each take under 3."""
    f, r = fits.subquery(), ExpertRotation
    return (
        select(f.c.id, f.c.display_name, f.c.max_gigs_month, f.c.max_earnings_cents)
        .add_columns(func.coalesce(r.order_key, 0))
        .outerjoin(r, r.expert_id == f.c.id)
    )


def by_rotation(rows: list[Any]) -> None:
    """Sort `ranked_query` rows (id, name, cap, cap, order key) in place by `rotation_key`:
    by id, then stably by the key, so equal keys stay in registration order. Two sorts on
    one integer each take half the time of one sort on a pair."""
    rows.sort(key=itemgetter(0))
    rows.sort(key=itemgetter(4))


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

    async def refresh_touched(self, s: AsyncSession) -> None:
        """The before-commit hook: the touched experts' figures, once (no SQL when none)."""
        touched: set[int] = s.info.pop(TOUCHED, set())
        if touched:
            await self._recompute(s, touched)

    async def refresh(self, s: AsyncSession) -> None:
        """Bring every figure up to date: the touched experts', and those time has moved."""
        touched: set[int] = s.info.pop(TOUCHED, set())
        await self._recompute(s, touched | set(await RotationRepo(s).due(self.d.clock.now())))

    async def _recompute(self, s: AsyncSession, ids: Collection[int]) -> None:
        if not ids:
            return
        now, repo = self.d.clock.now(), RotationRepo(s)
        gigs = await repo.facts(sorted(ids))
        rows = []
        for uid in ids:
            (count, minutes, last), fresh_until = figures(gigs.get(uid, ()), now)
            rows.append(
                {
                    "expert_id": uid,
                    "gigs_90d": count,
                    "minutes_90d": minutes,
                    "last_gig": last,
                    "order_key": order_key(count, minutes, last),
                    "fresh_until": fresh_until,
                }
            )
        await repo.put(rows)

    async def forget(self, s: AsyncSession, expert_id: int) -> None:
        """An erased expert's figures go with the rest (their offers stay, anonymous)."""
        s.info.get(TOUCHED, set()).discard(expert_id)
        await RotationRepo(s).drop(expert_id)

    async def rotation(self, s: AsyncSession, ids: list[int]) -> dict[int, Rotation]:
        """Per expert: gigs and minutes done in the last 90 days, and the last gig ever."""
        if not ids:
            return {}
        await self.refresh(s)
        kept = await RotationRepo(s).of(ids)
        return {i: Rotation(*kept[i]) if i in kept else Rotation() for i in ids}

    async def ranked(self, s: AsyncSession, gig: Gig) -> list[Ranked]:
        """Eligible experts in fair rotation order, those interested first among the level
        (`prefer_interested`)."""
        ranked = await self._rotation_ranked(s, gig)
        keen = await InterestRepo(s).of_gig(gig.id)
        return prefer_interested(ranked, keen) if keen else ranked  # none: already in order

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
        """Eligible experts in fair rotation order: one SELECT does the rules and the figures;
        Python drops the few whose confirmed work leaves no room, and sorts (`by_rotation`)."""
        if not matching.fits_in_sql(gig):
            return await self._ranked_in_python(s, gig)
        await self.refresh(s)
        fits = matching.fitting_query(gig, self._today(), self.d.tz).where(trained(gig))
        # Core, not the ORM's execute: plain rows, no per-row ORM loading machinery.
        conn = await s.connection()
        rows = (await conn.execute(ranked_query(fits))).all()
        out = within_load(rows, await matching.loads(s, gig, None, self.d.tz), gig)
        kept = [row for row in rows if row[0] not in out] if out else list(rows)
        by_rotation(kept)
        return [
            Ranked(uid, name, place, key)
            for place, (uid, name, _, _, key) in enumerate(kept, start=1)
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
            Ranked(uid, names[uid], place, order_key(*stats[uid]))
            for place, uid in enumerate(rotation_order(stats), start=1)
        ]
