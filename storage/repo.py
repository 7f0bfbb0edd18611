"""Repositories: queries and writes over one session. They never commit."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any, cast

from sqlalchemy import (
    ColumnElement,
    CursorResult,
    Result,
    Select,
    Table,
    and_,
    bindparam,
    case,
    delete,
    exists,
    func,
    insert,
    literal,
    null,
    or_,
    select,
    text,
    update,
)
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from storage.db import INSTANCE_CLASS
from storage.models import (
    AvailabilityBlock,
    CheckIn,
    Draft,
    ExpertProfile,
    ExpertRotation,
    ExpertStatus,
    Gig,
    GigSeries,
    GigStatus,
    Inbox,
    Interest,
    Invite,
    Offer,
    OfferStatus,
    Outbox,
    OutboxStatus,
    Role,
    User,
    UTCDateTime,
)

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)  # a time every `now` is past
IN_FLIGHT_NOTE = "in flight at a restart"  # a row that may have reached Telegram already


def _rows(result: Result[Any]) -> int:
    """How many rows an UPDATE or DELETE changed (what a conditional UPDATE's race turns on)."""
    return int(cast(CursorResult[Any], result).rowcount)


# Ids per IN list: asyncpg refuses more than 32,767 parameters in one statement.
ID_SLICE = 10_000


# The hot path's statements (every update asks who is asking and claims its inbox row;
# /mygigs is the commonest command) are built once: building a select() costs more CPU than
# SQLite takes to run it, and a built statement also keeps its cache key.
_USER_BY_TELEGRAM_ID = select(User).where(User.telegram_id == bindparam("telegram_id"))


class UserRepo:
    def __init__(self, session: AsyncSession) -> None:
        self.s = session

    async def by_telegram_id(self, telegram_id: int) -> User | None:
        return await self.s.scalar(_USER_BY_TELEGRAM_ID, {"telegram_id": telegram_id})

    async def get(self, user_id: int) -> User | None:
        return await self.s.get(User, user_id)

    async def add(
        self, telegram_id: int, role: str, language: str, name: str, now: datetime
    ) -> User:
        user = User(
            telegram_id=telegram_id,
            role=role,
            language=language,
            name=name[:200],
            active=True,
            reachable=True,
            created_at=now,
        )
        self.s.add(user)
        await self.s.flush()
        return user

    async def coordinators(self) -> Sequence[User]:
        rows = await self.s.scalars(
            select(User)
            .where(
                User.role == Role.COORDINATOR, User.active.is_(True), User.telegram_id.is_not(None)
            )
            .order_by(User.id)
        )
        return rows.all()

    async def profile(self, user_id: int) -> ExpertProfile | None:
        return await self.s.get(ExpertProfile, user_id)

    async def save_profile(
        self, user_id: int, values: dict[str, Any], now: datetime
    ) -> ExpertProfile:
        """Write the expert's own answers; coordinator fields are left as they are."""
        profile = await self.profile(user_id)
        if profile is None:
            profile = ExpertProfile(
                user_id=user_id,
                consent_at=now,
                status=ExpertStatus.PENDING,
                basic_training=False,
                paikko=False,
                youth=False,
            )
            self.s.add(profile)
        profile.display_name = values["display_name"]
        profile.gig_types = list(values["gig_types"])
        profile.topics = list(values["topics"])
        profile.languages = list(values["languages"])
        profile.regions = list(values["regions"])
        profile.remote_ok = bool(values["remote_ok"])
        profile.audiences = list(values.get("audiences") or [])
        profile.notes = values.get("coord_notes") or ""
        profile.updated_at = now
        await self.s.flush()
        return profile

    async def by_ids(self, ids: Sequence[int]) -> dict[int, User]:
        """These users by id, asked in slices that stay under asyncpg's 32,767 parameters."""
        out: dict[int, User] = {}
        for start in range(0, len(ids), ID_SLICE):
            part = ids[start : start + ID_SLICE]
            users = await self.s.scalars(select(User).where(User.id.in_(part)))
            out.update((u.id, u) for u in users)
        return out

    async def experts_with_profiles(self) -> Sequence[tuple[User, ExpertProfile]]:
        rows = await self.s.execute(
            select(User, ExpertProfile)
            .join(ExpertProfile, ExpertProfile.user_id == User.id)
            .where(
                User.role == Role.EXPERT,
                User.active.is_(True),
                User.reachable.is_(True),
                User.telegram_id.is_not(None),
                ExpertProfile.status == ExpertStatus.APPROVED,
            )
            .order_by(User.id)
        )
        return [(u, p) for u, p in rows]

    async def mark_unreachable(self, telegram_id: int) -> None:
        await self.s.execute(
            update(User).where(User.telegram_id == telegram_id).values(reachable=False)
        )


class InviteRepo:
    def __init__(self, session: AsyncSession) -> None:
        self.s = session

    async def add(self, invite: Invite) -> None:
        self.s.add(invite)
        await self.s.flush()

    async def claim(self, code: str, user_id: int, now: datetime) -> bool:
        """Use an invite once: true only for the one caller that claimed it in time."""
        result = await self.s.execute(
            update(Invite)
            .where(Invite.code == code, Invite.used_by.is_(None), Invite.expires_at > now)
            .values(used_by=user_id, used_at=now)
        )
        return _rows(result) == 1

    async def get(self, code: str) -> Invite | None:
        return await self.s.get(Invite, code)

    async def purge_expired(self, now: datetime) -> int:
        rows = await self.s.scalars(
            select(Invite).where(Invite.used_by.is_(None), Invite.expires_at <= now)
        )
        count = 0
        for inv in rows.all():
            await self.s.delete(inv)
            count += 1
        return count


class GigRepo:
    def __init__(self, session: AsyncSession) -> None:
        self.s = session

    async def add(self, gig: Gig) -> Gig:
        self.s.add(gig)
        await self.s.flush()
        return gig

    async def get(self, gig_id: int) -> Gig | None:
        return await self.s.get(Gig, gig_id)

    async def lock(self, gig_id: int) -> Gig | None:
        """Read a gig and hold its row until commit (PostgreSQL), so every answer to its offers
        queues up in one order and two answers can never deadlock. SQLite's write lock, taken at
        BEGIN, already serialises them."""
        return await self.s.scalar(
            select(Gig)
            .where(Gig.id == gig_id)
            .with_for_update()
            .execution_options(populate_existing=True)
        )

    async def decide(
        self, gig_id: int, new_status: str, by: int, now: datetime, reason: str = ""
    ) -> bool:
        """Move a pending order to approved (open) or rejected; false if someone was first."""
        result = await self.s.execute(
            update(Gig)
            .where(Gig.id == gig_id, Gig.status == GigStatus.PENDING)
            .values(status=new_status, decided_by=by, decided_at=now, reject_reason=reason)
        )
        return _rows(result) == 1

    async def take_seat(self, gig_id: int, now: datetime) -> bool:
        """Atomically take one free seat; the database decides who gets the last one."""
        will_fill = Gig.seats_filled + 1 >= Gig.seats
        result = await self.s.execute(
            update(Gig)
            .where(Gig.id == gig_id, Gig.status == GigStatus.OPEN, Gig.seats_filled < Gig.seats)
            .values(
                seats_filled=Gig.seats_filled + 1,
                status=case((will_fill, GigStatus.FILLED), else_=Gig.status),
                filled_at=case((will_fill, now), else_=Gig.filled_at),
            )
            .execution_options(synchronize_session=False)
        )
        return _rows(result) == 1

    async def refresh(self, gig: Gig) -> Gig:
        await self.s.refresh(gig)
        return gig

    async def pending(self) -> Sequence[Gig]:
        rows = await self.s.scalars(
            select(Gig).where(Gig.status == GigStatus.PENDING).order_by(Gig.created_at, Gig.id)
        )
        return rows.all()

    async def of_orderer(self, user_id: int, since: datetime) -> Sequence[Gig]:
        rows = await self.s.scalars(
            select(Gig)
            .where(Gig.orderer_id == user_id, Gig.starts_at >= since)
            .order_by(Gig.starts_at, Gig.id)
        )
        return rows.all()

    async def earlier_orders(self, user_id: int, limit: int) -> Sequence[Gig]:
        """The orderer's latest orders of any time and status, newest first: one per series
        (its first date), so "order again" lists each order once."""
        first = (
            select(func.min(Gig.id))
            .where(Gig.orderer_id == user_id, Gig.series_id.is_not(None))
            .group_by(Gig.series_id)
        )
        rows = await self.s.scalars(
            select(Gig)
            .where(Gig.orderer_id == user_id, (Gig.series_id.is_(None)) | Gig.id.in_(first))
            .order_by(Gig.created_at.desc(), Gig.id.desc())
            .limit(limit)
        )
        return rows.all()

    async def past_deadline(self, now: datetime) -> Sequence[Gig]:
        """Open upcoming gigs past their fill deadline that nobody has been alerted about."""
        rows = await self.s.scalars(
            select(Gig).where(
                Gig.status == GigStatus.OPEN,
                Gig.deadline <= now,
                Gig.deadline_alerted.is_(False),
                Gig.starts_at > now,
            )
        )
        return rows.all()

    async def cascades_turning_near(self, now: datetime, near: datetime) -> Sequence[Gig]:
        """Open cascades that now start before `near` with more waves planned: their next wave
        asks everyone at once, without waiting for the offers out to run out."""
        rows = await self.s.scalars(
            select(Gig)
            .where(
                Gig.status == GigStatus.OPEN,
                Gig.dispatch_mode == "cascade",
                Gig.starts_at > now,
                Gig.starts_at <= near,
                Gig.waves_planned > Gig.waves_sent,
            )
            .order_by(Gig.id)
        )
        return rows.all()

    async def listing(
        self, view: GigView, org: str, offset: int, limit: int
    ) -> tuple[int, Sequence[Gig]]:
        """One page of the coordinator's gig list in time order, and how many there are in
        all: a view (upcoming, needs, today, week, or a status) and an organisation's name
        or part of it, in any case."""
        conditions = view.conditions()
        if org:
            # lower() on both sides: SQLite's is made Unicode-aware in storage/db.py, so
            # "äänekoski" finds "Äänekosken kaupunki" on either database.
            conditions.append(func.lower(Gig.organisation).contains(org.lower(), autoescape=True))
        total = await self.s.scalar(select(func.count()).select_from(Gig).where(*conditions))
        rows = await self.s.scalars(
            select(Gig)
            .where(*conditions)
            .order_by(Gig.starts_at, Gig.id)
            .offset(offset)
            .limit(limit)
        )
        return total or 0, rows.all()

    def set_mode(self, gig: Gig, mode: str) -> None:
        """How the gig's offers go out from now on (broadcast, cascade, handpick)."""
        gig.dispatch_mode = mode


class SeriesRepo:
    """Orders for several dates (GigSeries) and their dates."""

    def __init__(self, session: AsyncSession) -> None:
        self.s = session

    async def add(self, series: GigSeries) -> GigSeries:
        self.s.add(series)
        await self.s.flush()
        return series

    async def get(self, series_id: int) -> GigSeries | None:
        return await self.s.get(GigSeries, series_id)

    async def dates(self, series_id: int, *, since: datetime | None = None) -> Sequence[Gig]:
        """The series' gigs in time order (from `since` on, if given)."""
        query = select(Gig).where(Gig.series_id == series_id)
        if since is not None:
            query = query.where(Gig.starts_at >= since)
        rows = await self.s.scalars(query.order_by(Gig.starts_at, Gig.id))
        return rows.all()


_OF_EXPERT = (
    select(Offer, Gig)
    .join(Gig, Gig.id == Offer.gig_id)
    .where(
        Offer.expert_id == bindparam("expert_id"),
        or_(
            and_(
                Offer.status == OfferStatus.ACCEPTED,
                Gig.starts_at >= bindparam("since"),
                # Not `in_`: an IN list is written out again at every execution (0.05 ms of
                # CPU on asyncpg), this is compiled once.
                or_(*(Gig.status == status for status in GigStatus.UPCOMING)),
            ),
            Offer.status == OfferStatus.OPEN,
        ),
    )
    .order_by(Gig.starts_at, Gig.id)
)


class OfferRepo:
    def __init__(self, session: AsyncSession) -> None:
        self.s = session

    async def add(self, gig_id: int, expert_id: int, now: datetime) -> Offer:
        offer = Offer(gig_id=gig_id, expert_id=expert_id, status=OfferStatus.OPEN, created_at=now)
        self.s.add(offer)
        await self.s.flush()
        return offer

    async def get(self, offer_id: int) -> Offer | None:
        return await self.s.get(Offer, offer_id)

    async def answer(self, offer_id: int, new_status: str, now: datetime) -> bool:
        """Answer an open offer once; a repeated press finds it answered and changes nothing."""
        result = await self.s.execute(
            update(Offer)
            .where(Offer.id == offer_id, Offer.status == OfferStatus.OPEN)
            .values(status=new_status, answered_at=now)
            .execution_options(synchronize_session=False)
        )
        return _rows(result) == 1

    async def close_open(self, gig_id: int, now: datetime) -> list[Offer]:
        """Close every unanswered offer of a gig; returns them (to tell their experts)."""
        rows = (
            await self.s.scalars(
                select(Offer)
                .where(Offer.gig_id == gig_id, Offer.status == OfferStatus.OPEN)
                .order_by(Offer.id)
            )
        ).all()
        for offer in rows:
            offer.status = OfferStatus.CLOSED
            offer.answered_at = now
        await self.s.flush()
        return list(rows)

    async def count_open(self, gig_id: int) -> int:
        return int(
            await self.s.scalar(
                select(func.count())
                .select_from(Offer)
                .where(Offer.gig_id == gig_id, Offer.status == OfferStatus.OPEN)
            )
            or 0
        )

    async def accepted_names(self, gig_id: int) -> list[str]:
        rows = await self.s.scalars(
            select(ExpertProfile.display_name)
            .join(Offer, Offer.expert_id == ExpertProfile.user_id)
            .where(Offer.gig_id == gig_id, Offer.status == OfferStatus.ACCEPTED)
            .order_by(Offer.answered_at, Offer.id)
        )
        return list(rows.all())

    async def accepted_gigs(self, expert_id: int, since: datetime) -> Sequence[Gig]:
        return [g for _, g in await self.confirmed_upcoming(expert_id, since)]

    async def of_expert(
        self, expert_id: int, since: datetime
    ) -> tuple[list[tuple[Offer, Gig]], list[tuple[Offer, Gig]]]:
        """An expert's confirmed gigs still to come (from `since`) and offers still open, each
        soonest first: one statement, as /mygigs is the commonest thing experts do."""
        rows = await self.s.execute(_OF_EXPERT, {"expert_id": expert_id, "since": since})
        pairs = [(o, g) for o, g in rows]
        return (
            [(o, g) for o, g in pairs if o.status == OfferStatus.ACCEPTED],
            [(o, g) for o, g in pairs if o.status == OfferStatus.OPEN],
        )

    async def states(self, gig_id: int) -> dict[int, str]:
        """Each expert asked about this gig, and where their offer stands."""
        rows = await self.s.execute(
            select(Offer.expert_id, Offer.status).where(Offer.gig_id == gig_id)
        )
        return {expert_id: status for expert_id, status in rows}

    async def by_expert(self, gig_id: int) -> dict[int, Offer]:
        """This gig's offers, by expert (no list of ids: a broadcast may ask 40,000)."""
        rows = await self.s.scalars(select(Offer).where(Offer.gig_id == gig_id))
        return {o.expert_id: o for o in rows.all()}

    async def due(self, now: datetime) -> Sequence[tuple[Offer, Gig]]:
        """Open offers whose time is up, with their gigs, gig by gig."""
        rows = await self.s.execute(
            select(Offer, Gig)
            .join(Gig, Gig.id == Offer.gig_id)
            .where(Offer.status == OfferStatus.OPEN, Offer.expires_at <= now)
            .order_by(Offer.gig_id, Offer.id)
        )
        return [(o, g) for o, g in rows]

    async def live(self, gig_id: int) -> Sequence[Offer]:
        """This gig's offers still waiting for an answer or accepted."""
        rows = await self.s.scalars(
            select(Offer).where(
                Offer.gig_id == gig_id,
                Offer.status.in_((OfferStatus.OPEN, OfferStatus.ACCEPTED)),
            )
        )
        return rows.all()

    async def accepted(self, gig_id: int) -> Sequence[Offer]:
        rows = await self.s.scalars(
            select(Offer).where(Offer.gig_id == gig_id, Offer.status == OfferStatus.ACCEPTED)
        )
        return rows.all()

    async def awaiting_companion(self, gig_id: int) -> Sequence[Offer]:
        """Accepted offers of young experts still waiting for a named adult companion."""
        rows = await self.s.scalars(
            select(Offer).where(
                Offer.gig_id == gig_id,
                Offer.status == OfferStatus.ACCEPTED,
                Offer.awaiting_companion.is_(True),
            )
        )
        return rows.all()

    async def with_names(self, gig_id: int) -> list[tuple[Offer, str]]:
        """Everyone offered this gig, best first, with their chosen names."""
        rows = await self.s.execute(
            select(Offer, ExpertProfile.display_name)
            .outerjoin(ExpertProfile, ExpertProfile.user_id == Offer.expert_id)
            .where(Offer.gig_id == gig_id)
            .order_by(Offer.rank, Offer.id)
        )
        return [(o, name or "–") for o, name in rows]

    async def confirmed_upcoming(self, expert_id: int, since: datetime) -> list[tuple[Offer, Gig]]:
        """An expert's accepted offers of gigs still to come (from `since`), soonest first."""
        rows = await self.s.execute(
            select(Offer, Gig)
            .join(Gig, Gig.id == Offer.gig_id)
            .where(
                Offer.expert_id == expert_id,
                Offer.status == OfferStatus.ACCEPTED,
                Gig.starts_at >= since,
                Gig.status.in_(GigStatus.UPCOMING),
            )
            .order_by(Gig.starts_at, Gig.id)
        )
        return [(o, g) for o, g in rows]

    @staticmethod
    def work_done_queries(
        now: datetime, since: datetime
    ) -> tuple[Select[int, int, int], Select[int, datetime]]:
        """`work_done`'s two aggregates, per expert_id: (gigs, minutes) and last."""
        done = (
            Offer.status == OfferStatus.ACCEPTED,
            Gig.status.in_(GigStatus.HAPPENING),
            Gig.starts_at < now,
        )
        recent = (
            select(
                Offer.expert_id,
                func.count().label("gigs"),
                func.coalesce(func.sum(Gig.duration_min), 0).label("minutes"),
            )
            .join(Gig, Gig.id == Offer.gig_id)
            .where(*done, Gig.starts_at >= since)
            .group_by(Offer.expert_id)
        )
        last = (
            select(Offer.expert_id, func.max(Gig.starts_at).label("last"))
            .join(Gig, Gig.id == Offer.gig_id)
            .where(*done)
            .group_by(Offer.expert_id)
        )
        return recent, last

    async def work_done(
        self, now: datetime, since: datetime
    ) -> tuple[dict[int, tuple[int, int]], dict[int, datetime]]:
        """Per expert: gigs and minutes of accepted gigs held between `since` and `now`, and
        the start of their latest gig held before `now` (the facts of the fair rotation)."""
        recent_query, last_query = self.work_done_queries(now, since)
        recent = await self.s.execute(recent_query)
        last = await self.s.execute(last_query)
        return (
            {e: (int(count), int(minutes or 0)) for e, count, minutes in recent},
            {e: when for e, when in last},
        )


class RotationRepo:
    """The fair rotation's figures kept per expert (`ExpertRotation`); the rules that compute
    them are bot.services.dispatch.ranking's."""

    def __init__(self, session: AsyncSession) -> None:
        self.s = session

    async def due(self, now: datetime) -> list[int]:
        """Experts whose figures time has moved: a gig of theirs started, or left the window."""
        rows = await self.s.scalars(
            select(ExpertRotation.expert_id).where(ExpertRotation.fresh_until <= now)
        )
        return list(rows.all())

    async def facts(self, expert_ids: Sequence[int]) -> dict[int, list[tuple[datetime, int]]]:
        """Each of these experts' confirmed gigs, held or to come: (start, minutes)."""
        found: dict[int, list[tuple[datetime, int]]] = {}
        for i in range(0, len(expert_ids), ID_SLICE):
            rows = await self.s.execute(
                select(Offer.expert_id, Gig.starts_at, Gig.duration_min)
                .join(Gig, Gig.id == Offer.gig_id)
                .where(
                    Offer.expert_id.in_(expert_ids[i : i + ID_SLICE]),
                    Offer.status == OfferStatus.ACCEPTED,
                    Gig.status.in_(GigStatus.HAPPENING),
                )
            )
            for expert_id, starts_at, minutes in rows:
                found.setdefault(expert_id, []).append((starts_at, minutes))
        return found

    async def put(self, rows: Sequence[dict[str, Any]]) -> None:
        """Write these experts' figures (insert or replace, one statement for all)."""
        if not rows:
            return
        upsert = pg_insert if self.s.get_bind().dialect.name == "postgresql" else sqlite_insert
        stmt = upsert(cast(Table, ExpertRotation.__table__))
        kept = ("gigs_90d", "minutes_90d", "last_gig", "order_key", "fresh_until")
        # Core on the connection: one executemany, not the ORM's bulk path row by row.
        conn = await self.s.connection()
        await conn.execute(
            stmt.on_conflict_do_update(
                index_elements=["expert_id"], set_={c: stmt.excluded[c] for c in kept}
            ),
            list(rows),
        )

    async def of(self, expert_ids: Sequence[int]) -> dict[int, tuple[int, int, datetime | None]]:
        """These experts' kept figures (gigs, minutes, last gig); plain rows, never a stale
        object from the session (`put` writes past the identity map)."""
        r = ExpertRotation
        found: dict[int, tuple[int, int, datetime | None]] = {}
        for i in range(0, len(expert_ids), ID_SLICE):
            rows = await self.s.execute(
                select(r.expert_id, r.gigs_90d, r.minutes_90d, r.last_gig).where(
                    r.expert_id.in_(expert_ids[i : i + ID_SLICE])
                )
            )
            found.update((uid, (gigs, minutes, last)) for uid, gigs, minutes, last in rows)
        return found

    async def drop(self, expert_id: int) -> None:
        await self.s.execute(delete(ExpertRotation).where(ExpertRotation.expert_id == expert_id))

    async def mark_all_due(self) -> None:
        """A row, due now, for every expert with a confirmed gig: after rows were written past
        the services (bench seeding, tests' history), the next ranking computes them all."""
        await self.s.execute(delete(ExpertRotation))
        await self.s.execute(
            insert(ExpertRotation).from_select(
                ["expert_id", "gigs_90d", "minutes_90d", "fresh_until"],
                select(Offer.expert_id, literal(0), literal(0), literal(EPOCH, UTCDateTime()))
                .where(Offer.status == OfferStatus.ACCEPTED)
                .distinct(),
            )
        )


class AvailabilityRepo:
    """An expert's weekly pattern lives on the profile; these are their dated blocks."""

    def __init__(self, session: AsyncSession) -> None:
        self.s = session

    async def blocks(self, user_id: int) -> list[AvailabilityBlock]:
        rows = await self.s.scalars(
            select(AvailabilityBlock)
            .where(AvailabilityBlock.user_id == user_id)
            .order_by(AvailabilityBlock.starts_on, AvailabilityBlock.id)
        )
        return list(rows.all())

    async def remove(self, user_id: int, block_id: int) -> bool:
        """Remove one of the person's own blocks; somebody else's is the same as none."""
        result = await self.s.execute(
            delete(AvailabilityBlock).where(
                AvailabilityBlock.id == block_id, AvailabilityBlock.user_id == user_id
            )
        )
        return _rows(result) > 0

    async def notes_on(self, day: date) -> dict[int, list[AvailabilityBlock]]:
        """Every block (away or a note) covering a day, by expert: few, so no id list."""
        rows = await self.s.scalars(
            select(AvailabilityBlock)
            .where(AvailabilityBlock.starts_on <= day, AvailabilityBlock.ends_on >= day)
            .order_by(AvailabilityBlock.id)
        )
        found: dict[int, list[AvailabilityBlock]] = {}
        for b in rows:
            found.setdefault(b.user_id, []).append(b)
        return found

    async def drop_past(self, today: date) -> int:
        """Blocks that ended before today say nothing any more: deleted (data minimisation)."""
        result = await self.s.execute(
            delete(AvailabilityBlock).where(AvailabilityBlock.ends_on < today)
        )
        return _rows(result)


class InterestRepo:
    def __init__(self, session: AsyncSession) -> None:
        self.s = session

    async def of_gig(self, gig_id: int) -> set[int]:
        rows = await self.s.scalars(select(Interest.expert_id).where(Interest.gig_id == gig_id))
        return set(rows.all())

    async def of_expert(self, expert_id: int) -> set[int]:
        rows = await self.s.scalars(select(Interest.gig_id).where(Interest.expert_id == expert_id))
        return set(rows.all())

    async def set(self, gig_id: int, expert_id: int, on: bool, now: datetime) -> None:
        """Mark or withdraw interest; a second tap of either changes nothing."""
        await self.s.execute(
            delete(Interest).where(Interest.gig_id == gig_id, Interest.expert_id == expert_id)
        )
        if on:
            self.s.add(Interest(gig_id=gig_id, expert_id=expert_id, created_at=now))
            await self.s.flush()


# Where an update's chat (or, without one, its sender) is, in Telegram's JSON: the same
# order as python-telegram-bot's effective_chat / effective_user.
_CHAT_PATHS = (("chat",), ("message", "chat"), ("from",), ("user",))


def payload_chat(payload: dict[str, Any] | None) -> int | None:
    """The chat whose updates must stay in order, read from an update's JSON; None when the
    update has neither chat nor sender (it then stands alone)."""
    if not payload:
        return None
    for key, body in payload.items():
        if key == "update_id" or not isinstance(body, dict):
            continue
        for path in _CHAT_PATHS:
            node: Any = body
            for step in path:
                node = node.get(step) if isinstance(node, dict) else None
            if isinstance(node, dict) and isinstance(node.get("id"), int):
                return int(node["id"])
    return None


# On the table, not the mapped class: a Core UPDATE skips the ORM's bulk-update machinery
# (matching the identity map), and no Inbox object lives in a handler's session.
_INBOX = cast(Table, Inbox.__table__)
_CLAIM = (
    update(_INBOX)
    .where(_INBOX.c.update_id == bindparam("claimed"), _INBOX.c.done.is_(False))
    .values(done=True, payload=null(), chat_key=None)
)


PRUNE_EVERY = 64  # update ids between two prunings of the inbox's handled rows


class InboxRepo:
    def __init__(self, session: AsyncSession) -> None:
        self.s = session

    async def store(self, updates: Sequence[tuple[int, dict[str, Any]]]) -> int:
        """Keep updates not seen before (Telegram may deliver one twice; two pollers may race):
        insert-or-ignore on the update id. Returns how many were new."""
        if not updates:
            return 0
        insert = pg_insert if self.s.get_bind().dialect.name == "postgresql" else sqlite_insert
        rows = [
            {"update_id": u, "payload": p, "done": False, "chat_key": payload_chat(p)}
            for u, p in updates
        ]
        stmt = insert(Inbox).values(rows).on_conflict_do_nothing(index_elements=["update_id"])
        result = await self.s.execute(stmt)
        return max(0, int(_rows(result)))

    async def pending(self, limit: int = 100) -> Sequence[Inbox]:
        rows = await self.s.scalars(
            select(Inbox).where(Inbox.done.is_(False)).order_by(Inbox.update_id).limit(limit)
        )
        return rows.all()

    async def older_of_chat(self, chat_key: int, update_id: int) -> Sequence[Inbox]:
        """The chat's updates stored before `update_id` and not handled yet, oldest first
        (stored by another instance that has not got to them)."""
        rows = await self.s.scalars(
            select(Inbox)
            .where(
                Inbox.chat_key == chat_key,
                Inbox.update_id < update_id,
                Inbox.done.is_(False),
            )
            .order_by(Inbox.update_id)
        )
        return rows.all()

    async def claim(self, update_id: int) -> bool:
        """Mark an update handled and drop its payload, in the caller's transaction; false if
        it was handled before (a replay). Updates that never went through the inbox (webhooks,
        tests) are always new."""
        result = await self.s.execute(_CLAIM, {"claimed": update_id})
        if _rows(result) == 1:
            return True
        return await self.s.get(Inbox, update_id) is None

    async def last_id(self) -> int | None:
        return await self.s.scalar(select(func.max(Inbox.update_id)))

    async def prune_now_and_then(self, update_ids: Iterable[int], keep: int = 0) -> None:
        """`prune` with a batch that holds an id divisible by PRUNE_EVERY: Telegram numbers
        updates one after another, so about once every PRUNE_EVERY updates, not at every poll
        (the DELETE costs as much as storing the batch). The rows it leaves a little longer
        hold ids only: a handled update's payload is gone when it is handled."""
        if any(i % PRUNE_EVERY == 0 for i in update_ids):
            await self.prune(keep)

    async def prune(self, keep: int = 0) -> None:
        """Forget handled updates except the newest, whose id is the next offset after a
        restart; Telegram never delivers ids below a confirmed offset again. A webhook keeps
        the ids of the last `keep` (no payload), to recognise Telegram's retries."""
        newest = select(func.max(Inbox.update_id)).scalar_subquery()
        await self.s.execute(
            delete(Inbox).where(Inbox.done.is_(True), Inbox.update_id < newest - keep)
        )


class DraftRepo:
    def __init__(self, session: AsyncSession) -> None:
        self.s = session

    async def get(self, telegram_id: int) -> Draft | None:
        return await self.s.get(Draft, telegram_id)

    async def save(
        self,
        telegram_id: int,
        form: str,
        step: str,
        data: dict[str, Any],
        editing: bool,
        now: datetime,
    ) -> None:
        draft = await self.get(telegram_id)
        if draft is None:
            draft = Draft(telegram_id=telegram_id)
            self.s.add(draft)
        draft.form, draft.step, draft.editing, draft.updated_at = form, step, editing, now
        draft.data = dict(data)  # a new object, so the JSON change is seen
        await self.s.flush()

    async def delete(self, telegram_id: int) -> bool:
        draft = await self.get(telegram_id)
        if draft is None:
            return False
        await self.s.delete(draft)
        await self.s.flush()
        return True


_QUEUED = "outbox_queued"


def queued(session: AsyncSession) -> bool:
    """Whether this unit of work put anything in the outbox (then, after commit, the sender
    is kicked; otherwise there is nothing for it to do)."""
    return bool(session.info.get(_QUEUED))


class OutboxRepo:
    def __init__(self, session: AsyncSession) -> None:
        self.s = session

    async def add(self, row: Outbox) -> None:
        self.s.add(row)
        self.s.info[_QUEUED] = True
        await self.s.flush()

    async def due(
        self, now: datetime, limit: int, skip_chats: Sequence[int] = ()
    ) -> Sequence[Outbox]:
        """Due rows in id order, leaving out the chats in `skip_chats` (keep it short: it is
        one bound parameter per chat) and chats with a message in flight (another instance
        is sending to them: their next message waits until that one is out)."""
        flying = aliased(Outbox)
        query = select(Outbox).where(
            Outbox.status == OutboxStatus.PENDING,
            Outbox.not_before <= now,
            ~exists().where(
                flying.chat_id == Outbox.chat_id, flying.status == OutboxStatus.SENDING
            ),
        )
        if skip_chats:
            query = query.where(Outbox.chat_id.not_in(skip_chats))
        rows = await self.s.scalars(query.order_by(Outbox.id).limit(limit))
        return rows.all()

    async def get(self, row_id: int) -> Outbox | None:
        return await self.s.get(Outbox, row_id)

    async def mark_many(self, row_ids: Sequence[int], owner: int | None, now: datetime) -> set[int]:
        """Take due rows for sending, in one statement (atomically: of two instances trying,
        one gets each row); returns the ids taken. A row is taken only while it is pending
        and no earlier row of its chat is due or in flight, so a chat's messages go out in
        order whichever instance sends them. `owner` is the instance sending them. For one
        row per chat (each chat's oldest due row) and a few dozen ids (an outbox batch)."""
        if not row_ids:
            return set()
        earlier = aliased(Outbox)
        query = (
            update(Outbox)
            .where(
                Outbox.id.in_(row_ids),
                Outbox.status == OutboxStatus.PENDING,
                ~exists().where(
                    earlier.chat_id == Outbox.chat_id,
                    earlier.id < Outbox.id,
                    or_(
                        earlier.status == OutboxStatus.SENDING,
                        (earlier.status == OutboxStatus.PENDING) & (earlier.not_before <= now),
                    ),
                ),
            )
            .values(status=OutboxStatus.SENDING, owner=owner)
            .returning(Outbox.id)
            .execution_options(synchronize_session=False)
        )
        return set((await self.s.scalars(query)).all())

    async def finish_sent(self, sent: Sequence[tuple[int, int]], now: datetime) -> None:
        """`finish(row_id, SENT, now, message_id=...)` for several (row id, message id) pairs
        in one executemany: an outbox batch's deliveries."""
        if not sent:
            return
        table = cast(Table, Outbox.__table__)
        query = (
            update(table)
            .where(table.c.id == bindparam("row_id"))
            .values(
                status=OutboxStatus.SENT,
                attempts=table.c.attempts + 1,
                text="",
                caption=None,
                buttons=None,
                error=case((table.c.error == IN_FLIGHT_NOTE, IN_FLIGHT_NOTE), else_=""),
                owner=None,
                message_id=bindparam("sent_id"),
                sent_at=now,
            )
        )
        await self.s.execute(query, [{"row_id": r, "sent_id": m} for r, m in sent])

    async def resume_in_flight(self, me: int | None = None) -> int:
        """Rows left `sending` by a process that died: pending again, noted as resent.

        On SQLite there is one process, so every such row is its own predecessor's. On
        PostgreSQL only rows whose instance is gone: its presence lock (storage/leader.py
        `Presence`) is no longer held, or it is this instance's own (left by a failed pass)."""
        query = update(Outbox).where(Outbox.status == OutboxStatus.SENDING)
        if self.s.get_bind().dialect.name == "postgresql":
            gone = text(
                "NOT EXISTS (SELECT 1 FROM pg_locks l WHERE l.locktype = 'advisory' "
                "AND l.granted AND l.objsubid = 2 AND l.classid::bigint = :cls "
                "AND l.objid::bigint = outbox.owner)"
            ).bindparams(cls=INSTANCE_CLASS)
            query = query.where(or_(Outbox.owner.is_(None), Outbox.owner == (me or 0), gone))
        result = await self.s.execute(
            query.values(status=OutboxStatus.PENDING, error=IN_FLIGHT_NOTE, owner=None)
        )
        return int(_rows(result))

    async def finish(
        self,
        row_id: int,
        status: OutboxStatus,
        now: datetime,
        *,
        message_id: int | None = None,
        error: str = "",
    ) -> None:
        """Record a row's outcome in one statement (the outbox's hot path). A delivered (or
        abandoned) message's text is not kept: it may name people, and only the message id is
        needed to edit it later. The note that a row may be a repeat stays unless an error
        replaces it."""
        values: dict[str, Any] = {
            "status": status,
            "attempts": Outbox.attempts + 1,
            "text": "",
            "caption": None,
            "buttons": None,
            "error": error or case((Outbox.error == IN_FLIGHT_NOTE, IN_FLIGHT_NOTE), else_=""),
            "owner": None,
        }
        if message_id is not None:
            values["message_id"] = message_id
        if status == OutboxStatus.SENT:
            values["sent_at"] = now
        await self.s.execute(update(Outbox).where(Outbox.id == row_id).values(**values))

    async def tagged_send(self, tag: str, chat_id: int) -> Outbox | None:
        """The newest message sent (or still waiting) under a tag in one chat."""
        return await self.s.scalar(
            select(Outbox)
            .where(Outbox.tag == tag, Outbox.chat_id == chat_id, Outbox.kind == "send")
            .order_by(Outbox.id.desc())
            .limit(1)
        )

    async def newer_edit_pending(self, row: Outbox) -> bool:
        newer = await self.s.scalar(
            select(Outbox.id)
            .where(
                Outbox.tag == row.tag,
                Outbox.chat_id == row.chat_id,
                Outbox.kind == "edit",
                Outbox.status == OutboxStatus.PENDING,
                Outbox.id > row.id,
            )
            .limit(1)
        )
        return newer is not None

    async def next_due_at(self) -> datetime | None:
        return await self.s.scalar(
            select(func.min(Outbox.not_before)).where(Outbox.status == OutboxStatus.PENDING)
        )


@dataclass(frozen=True)
class GigView:
    """Which gigs a list shows: upcoming, needs (open, not yet held), today, week (from the
    start of today, in the coordinator's time zone), or one status."""

    name: str
    now: datetime
    day_start: datetime

    def conditions(self) -> list[ColumnElement[bool]]:
        start, now = self.day_start, self.now
        match self.name:
            case "upcoming":
                return [Gig.starts_at >= now, Gig.status.in_(GigStatus.UPCOMING)]
            case "needs":
                return [Gig.starts_at >= now, Gig.status == GigStatus.OPEN]
            case "today":
                return [Gig.starts_at >= start, Gig.starts_at < start + timedelta(days=1)]
            case "week":
                return [Gig.starts_at >= start, Gig.starts_at < start + timedelta(days=7)]
            case status:
                return [Gig.status == status]


class CheckInRepo:
    """Check-in rows read across experts, for coordinators' views of a gig."""

    def __init__(self, session: AsyncSession) -> None:
        self.s = session

    async def answered_on(self, gig_id: int) -> Sequence[tuple[CheckIn, str]]:
        """Each check-in sent or answered on the gig (no reminders), with the expert's name."""
        rows = await self.s.execute(
            select(CheckIn, ExpertProfile.display_name)
            .join(ExpertProfile, ExpertProfile.user_id == CheckIn.expert_id)
            .where(
                CheckIn.gig_id == gig_id,
                CheckIn.kind != "reminder",
                CheckIn.status.in_(("sent", "answered")),
            )
            .order_by(CheckIn.id)
        )
        return [(c, name) for c, name in rows]

    async def debriefs_on(self, gig_id: int) -> Sequence[CheckIn]:
        rows = await self.s.scalars(
            select(CheckIn).where(CheckIn.gig_id == gig_id, CheckIn.kind == "debrief")
        )
        return rows.all()
