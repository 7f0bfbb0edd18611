"""The dispatch engine: fair ranking, offers in three modes, atomic seats, expiry, cascade
waves, cancellations and changes, and the coordinator's live status message per gig.

Everything is decided in the database inside the caller's unit of work; messages go through
the outbox, so a restart in the middle neither loses nor repeats an offer.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import Enum

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.clock import Clock
from bot.errors import Refuse
from bot.messages import Keyboard
from bot.notify import Notifier, next_allowed
from bot.present import Presenter, gig_values
from bot.services import matching
from bot.services.access import Actor
from bot.services.audit import Audit
from bot.services.checkins import CheckIns
from bot.services.fees import Fees
from bot.settings import Settings
from storage.models import (
    ExpertProfile,
    Gig,
    GigStatus,
    Offer,
    OfferStatus,
    User,
)
from storage.repo import Gigs, Offers, Users

ROTATION_DAYS = 90
# Offers that count as answered "no" for this gig: the expert is not asked again.
NOT_AGAIN = (
    OfferStatus.DECLINED,
    OfferStatus.WITHDRAWN,
    OfferStatus.EXPIRED,
    OfferStatus.CANCELLED,
)
MODES = ("broadcast", "cascade", "handpick")
STATUS_NAMES_MAX = 30


class Release(Enum):
    """Why a confirmed seat is given back (see Dispatch.release_seat)."""

    STEPPED_BACK = "stepped_back"  # the expert's own choice, also "cannot come" after a change
    REPLACED = "replaced"  # a coordinator took them off the gig
    ERASED = "erased"  # they erased their data with /forget


class Answer(Enum):
    ACCEPTED = "accepted"
    OVER_LIMIT = "over_limit"  # would cross the expert's own monthly earnings limit: ask first
    DECLINED = "declined"
    ALREADY = "already"  # this expert answered before (a double tap changes nothing)
    FILLED = "filled"  # the seats went to others
    CLOSED = "closed"  # the gig is no longer open
    EXPIRED = "expired"  # the offer ran out of time
    NOT_FOUND = "not_found"  # unknown or somebody else's offer: the same reply, learns nothing


@dataclass
class AnswerResult:
    answer: Answer
    offer: Offer | None = None
    gig: Gig | None = None
    earned: int = 0  # this month so far, cents (for OVER_LIMIT)
    limit: int = 0


@dataclass
class NoShow:
    """A no-show as recorded: the person, and what happened to their fee."""

    offer: Offer
    gig: Gig
    name: str
    fee_amount: int | None  # None: there was no fee row
    fee_status: str | None
    fee_dropped: bool


@dataclass
class Ranked:
    """One eligible expert's place in the fair rotation, with the facts behind it."""

    user: User
    profile: ExpertProfile
    place: int
    gigs_90d: int
    minutes_90d: int
    last_gig: datetime | None


STATUS_DEFERRED = "dispatch:status_deferred"  # session.info key: gigs whose status waits


def offer_tag(offer_id: int) -> str:
    return f"offer:{offer_id}"


def status_tag(gig_id: int) -> str:
    return f"status:{gig_id}"


def rotation_key(
    gigs: int, minutes: int, last: datetime | None, user_id: int
) -> tuple[int, int, float, int]:
    """Fewer gigs, then fewer hours in the last 90 days, then longest since the last gig
    (never had one: first), then the earlier registration. Declines never count."""
    since = -last.timestamp() if last is not None else float("-inf")
    return (gigs, minutes, since, user_id)


class Dispatch:
    def __init__(
        self,
        presenter: Presenter,
        notifier: Notifier,
        clock: Clock,
        settings: Settings,
        checkins: CheckIns,
        fees: Fees,
        audit: Audit,
    ) -> None:
        self.p = presenter
        self.notify = notifier
        self.clock = clock
        self.settings = settings
        self.checkins = checkins
        self.fees = fees
        self.audit = audit
        self.tz = presenter.tz

    # ----- who, in which order ------------------------------------------------------------

    async def eligible(self, s: AsyncSession, gig: Gig) -> list[tuple[User, ExpertProfile]]:
        """Experts who pass every rule, including their own limits, for this gig."""
        people = await Users(s).experts_with_profiles()
        load_of = await matching.loads(s, gig, [u.id for u, _ in people], self.tz)
        today = self.clock.now().astimezone(self.tz).date()
        return matching.eligible(gig, people, load_of, today, self.tz)

    async def rotation(
        self, s: AsyncSession, ids: list[int]
    ) -> dict[int, tuple[int, int, datetime | None]]:
        """Per expert: gigs and minutes done in the last 90 days, and the last gig ever."""
        now = self.clock.now()
        done = (
            Offer.status == OfferStatus.ACCEPTED,
            Gig.status.in_(GigStatus.HAPPENING),
            Gig.starts_at < now,
        )
        stats: dict[int, tuple[int, int, datetime | None]] = {i: (0, 0, None) for i in ids}
        if not ids:
            return stats
        recent = await s.execute(
            select(Offer.expert_id, func.count(), func.coalesce(func.sum(Gig.duration_min), 0))
            .join(Gig, Gig.id == Offer.gig_id)
            .where(*done, Gig.starts_at >= now - timedelta(days=ROTATION_DAYS))
            .group_by(Offer.expert_id)
        )
        for expert_id, count, minutes in recent:
            if expert_id in stats:
                stats[expert_id] = (int(count), int(minutes or 0), None)
        last = await s.execute(
            select(Offer.expert_id, func.max(Gig.starts_at))
            .join(Gig, Gig.id == Offer.gig_id)
            .where(*done)
            .group_by(Offer.expert_id)
        )
        for expert_id, when in last:
            if expert_id in stats:
                gigs, minutes, _ = stats[expert_id]
                stats[expert_id] = (gigs, minutes, when)
        return stats

    async def ranked(self, s: AsyncSession, gig: Gig) -> list[Ranked]:
        """Eligible experts in fair rotation order."""
        people = await self.eligible(s, gig)
        stats = await self.rotation(s, [u.id for u, _ in people])
        people.sort(key=lambda up: rotation_key(*stats[up[0].id], up[0].id))
        return [Ranked(u, p, i + 1, *stats[u.id]) for i, (u, p) in enumerate(people)]

    # ----- starting and continuing ----------------------------------------------------------

    async def start(
        self,
        s: AsyncSession,
        gig: Gig,
        mode: str,
        *,
        picked: list[int] | None = None,
        reason: str = "",
        actor: Actor | None = None,
    ) -> int:
        """Begin offering an approved gig in `mode`; returns how many offers went out."""
        if mode not in MODES:
            raise Refuse("err.stale")
        now = self.clock.now()
        gig.dispatch_mode = mode
        gig.cascade_k = gig.cascade_k or self.settings.cascade_size
        gig.cascade_hours = gig.cascade_hours or self.settings.cascade_wait_hours
        if gig.deadline is None:
            # Seats should fill well before the day; a gig ordered at short notice gets a
            # couple of hours at least.
            target = gig.starts_at - timedelta(hours=self.settings.fill_deadline_hours)
            gig.deadline = min(gig.starts_at, max(target, now + timedelta(hours=2)))
        # The live status message goes out once the offers are made, so its first words are
        # true ("3 people asked", not "0"); until then there is nothing of it to edit.
        deferred: set[int] = s.info.setdefault(STATUS_DEFERRED, set())
        deferred.add(gig.id)
        try:
            if mode == "handpick":
                if reason:
                    await self.audit.record(s, actor, "override", "gig", gig.id, reason)
                sent = await self._offer_to(s, gig, picked or [], reason)
            else:
                sent = await self.proceed(s, gig)
        finally:
            deferred.discard(gig.id)
        for coord in await Users(s).coordinators():
            await self.notify.push_text(
                s, coord, await self.status_text(s, gig, coord.language), tag=status_tag(gig.id)
            )
        return sent

    async def proceed(self, s: AsyncSession, gig: Gig) -> int:
        """Send the offers the gig's mode calls for now; alert if nobody is left to ask."""
        if gig.status != GigStatus.OPEN or gig.starts_at <= self.clock.now():
            return 0
        free = gig.seats - gig.seats_filled
        if free <= 0:
            return 0
        sent = 0
        if gig.dispatch_mode in ("broadcast", "cascade"):
            ranked = await self.ranked(s, gig)
            states = await self._offer_states(s, gig.id)
            fresh = [
                r
                for r in ranked
                if states.get(r.user.id) not in (*NOT_AGAIN, OfferStatus.OPEN, OfferStatus.ACCEPTED)
            ]
            if gig.dispatch_mode == "cascade":
                waiting = sum(1 for st in states.values() if st == OfferStatus.OPEN)
                fresh = fresh[: max(0, gig.cascade_k - waiting)]
            sent = await self._offer_many(s, gig, fresh, len(ranked))
        if sent:
            gig.exhausted_alerted = False
        elif await Offers(s).count_open(gig.id) == 0 and not gig.exhausted_alerted:
            gig.exhausted_alerted = True
            await self.alert_nobody_left(s, gig)
        await self.refresh_status(s, gig)
        return sent

    async def _offer_states(self, s: AsyncSession, gig_id: int) -> dict[int, str]:
        rows = await s.execute(select(Offer.expert_id, Offer.status).where(Offer.gig_id == gig_id))
        return {expert_id: status for expert_id, status in rows}

    async def handpick(
        self, s: AsyncSession, actor: Actor, gig: Gig, user_ids: list[int], reason: str
    ) -> int:
        """Offer to experts the coordinator chose (only those still eligible)."""
        if reason:
            await self.audit.record(s, actor, "override", "gig", gig.id, reason)
        return await self._offer_to(s, gig, user_ids, reason)

    async def _offer_to(self, s: AsyncSession, gig: Gig, user_ids: list[int], reason: str) -> int:
        ranked = {r.user.id: r for r in await self.ranked(s, gig)}
        states = await self._offer_states(s, gig.id)
        chosen = [
            ranked[uid]
            for uid in dict.fromkeys(user_ids)
            if uid in ranked and states.get(uid) in (None, OfferStatus.CLOSED)
        ]
        sent = await self._offer_many(s, gig, chosen, len(ranked), reason)
        await self.refresh_status(s, gig)
        return sent

    def _expiry(self, gig: Gig, delivered: datetime) -> datetime:
        hours = (
            gig.cascade_hours if gig.dispatch_mode == "cascade" else self.settings.offer_valid_hours
        )
        latest = gig.starts_at - timedelta(hours=1)
        return max(
            delivered + timedelta(minutes=30), min(delivered + timedelta(hours=hours), latest)
        )

    async def _offer_many(
        self, s: AsyncSession, gig: Gig, entries: list[Ranked], pool: int, reason: str = ""
    ) -> int:
        """Write the offers and their messages in a few statements, not a few per expert:
        on SQLite the write lock is held for the whole transaction."""
        if not entries:
            return 0
        now = self.clock.now()
        ids = [r.user.id for r in entries]
        existing = {
            o.expert_id: o
            for o in (
                await s.scalars(
                    select(Offer).where(Offer.gig_id == gig.id, Offer.expert_id.in_(ids))
                )
            ).all()
        }
        expires = self._expiry(gig, next_allowed(now, self.settings))
        offers = []
        for r in entries:
            offer = existing.get(r.user.id)
            if offer is None:
                offer = Offer(gig_id=gig.id, expert_id=r.user.id, created_at=now)
                s.add(offer)
            # (A closed offer is reopened: the gig filled before, and now a seat is free.)
            offer.status, offer.created_at, offer.answered_at = OfferStatus.OPEN, now, None
            offer.rank, offer.pool, offer.override_reason = r.place, pool, reason
            offer.expires_at = expires
            offers.append(offer)
        await s.flush()
        details: dict[str, str] = {}
        rows = []
        for r, offer in zip(entries, offers, strict=True):
            lang = r.user.language
            if lang not in details:
                details[lang] = self.p.offer_brief(lang, gig_values(gig))
            row = self.notify.row(
                r.user,
                self.offer_text(lang, gig, r.profile, offer, details[lang]),
                buttons=self.offer_buttons(lang, offer.id),
                tag=offer_tag(offer.id),
                quiet=True,
            )
            if row is not None:
                rows.append(row)
        s.add_all(rows)
        await s.flush()
        return len(offers)

    def offer_text(
        self, lang: str, gig: Gig, profile: ExpertProfile, offer: Offer, details: str | None = None
    ) -> str:
        assert offer.expires_at is not None
        return self.p.t(
            lang,
            "offer.new",
            name=profile.display_name,
            details=details or self.p.offer_brief(lang, gig_values(gig)),
            expires=self.p.when(lang, offer.expires_at),
        )

    def offer_buttons(self, lang: str, offer_id: int) -> Keyboard | None:
        return self.notify.buttons(
            lang,
            [
                [("btn.accept", f"of:a:{offer_id}"), ("btn.decline", f"of:d:{offer_id}")],
                [("btn.details", f"of:i:{offer_id}"), ("btn.why", f"of:w:{offer_id}")],
            ],
        )

    async def details(self, s: AsyncSession, actor: Actor, offer_id: int) -> str | None:
        """Everything about the gig of one's own offer; the contact person once confirmed."""
        offer = await self._own_offer(s, actor, offer_id)
        gig = await Gigs(s).get(offer.gig_id) if offer is not None else None
        if offer is None or gig is None:
            return None
        lang = actor.lang
        return self.p.t(
            lang,
            "offer.details",
            title=self.p.gig_title(lang, gig),
            details=self.p.gig(lang, gig_values(gig), contact=offer.status == OfferStatus.ACCEPTED),
        )

    # ----- answers --------------------------------------------------------------------------

    async def _own_offer(self, s: AsyncSession, actor: Actor, offer_id: int) -> Offer | None:
        offer = await Offers(s).get(offer_id)
        if offer is None or actor.user is None or offer.expert_id != actor.user.id:
            return None
        return offer

    async def accept(
        self, s: AsyncSession, actor: Actor, offer_id: int, *, despite_limit: bool = False
    ) -> AnswerResult:
        offer = await self._own_offer(s, actor, offer_id)
        if offer is None:
            return AnswerResult(Answer.NOT_FOUND)
        gig = await Gigs(s).lock(offer.gig_id)
        assert gig is not None
        await s.refresh(offer)
        now = self.clock.now()
        if offer.status != OfferStatus.OPEN:
            return AnswerResult(self._answered(offer, gig), offer, gig)
        if gig.starts_at <= now or gig.status not in (GigStatus.OPEN, GigStatus.FILLED):
            return AnswerResult(Answer.CLOSED, offer, gig)
        if offer.expires_at is not None and offer.expires_at <= now:
            await self._expire(s, offer, gig)
            return AnswerResult(Answer.EXPIRED, offer, gig)
        profile = await Users(s).profile(actor.id)
        if (
            profile is not None
            and not despite_limit
            and gig.fee_cents
            and profile.max_earnings_cents is not None
        ):
            load = (await matching.loads(s, gig, [actor.id], self.tz))[actor.id]
            if load.earnings_in_month + gig.fee_cents > profile.max_earnings_cents:
                return AnswerResult(
                    Answer.OVER_LIMIT,
                    offer,
                    gig,
                    load.earnings_in_month,
                    profile.max_earnings_cents,
                )
        # Claim the offer first: a second tap by the same person waits on this row and then
        # finds it answered, so it can never take a second seat.
        if not await Offers(s).answer(offer.id, OfferStatus.ACCEPTED, now):
            return AnswerResult(Answer.ALREADY, offer, gig)
        if not await Gigs(s).take_seat(gig.id, now):
            await s.refresh(offer)
            offer.status = OfferStatus.CLOSED
            await s.flush()
            await Gigs(s).refresh(gig)
            return AnswerResult(Answer.FILLED, offer, gig)
        await s.refresh(offer)
        await Gigs(s).refresh(gig)
        if profile is not None and profile.youth and not gig.companion:
            offer.awaiting_companion = True
            await self.notify.alert(
                s,
                "short",
                "coord.companion_needed",
                claimable=True,
                name=profile.display_name,
                id=gig.id,
                about=offer.expert_id,
                buttons=[[("btn.name_companion", f"cp:{gig.id}")]],
                per_lang=self.p.title_args(gig),
            )
        await self.fees.agree(s, gig, offer.expert_id)
        if offer.awaiting_companion:
            await self.checkins.sync_gig(s, gig)
        elif actor.user is not None:
            await self.checkins.confirmed(s, gig, actor.user)
        if gig.status == GigStatus.FILLED:
            await self._tell_filled(s, gig)
        await self.refresh_status(s, gig)
        return AnswerResult(Answer.ACCEPTED, offer, gig)

    def _answered(self, offer: Offer, gig: Gig) -> Answer:
        if offer.status in (OfferStatus.ACCEPTED, OfferStatus.DECLINED, OfferStatus.WITHDRAWN):
            return Answer.ALREADY
        if offer.status == OfferStatus.EXPIRED:
            return Answer.EXPIRED
        return Answer.FILLED if gig.status == GigStatus.FILLED else Answer.CLOSED

    async def _tell_filled(self, s: AsyncSession, gig: Gig) -> None:
        now = self.clock.now()
        for closed in await Offers(s).close_open(gig.id, now):
            expert = await Users(s).get(closed.expert_id)
            if expert is not None:
                await self.notify.edit_text(
                    s,
                    expert,
                    offer_tag(closed.id),
                    self.p.t(
                        expert.language,
                        "offer.filled_thanks",
                        title=self.p.gig_title(expert.language, gig),
                    ),
                )
        names = ", ".join(await Offers(s).accepted_names(gig.id))
        await self._tell_orderer_filled(s, gig, names)
        await self.notify.alert(
            s,
            "short",
            "coord.gig_filled",
            names=names,
            per_lang=self.p.title_args(gig),
        )

    async def _tell_orderer_filled(self, s: AsyncSession, gig: Gig, names: str) -> None:
        """The orderer hears the gig is confirmed only once it is: while a young expert waits
        for a named adult companion, nobody on the gig is confirmed yet for them."""
        waiting = await s.scalar(
            select(func.count()).where(
                Offer.gig_id == gig.id,
                Offer.status == OfferStatus.ACCEPTED,
                Offer.awaiting_companion.is_(True),
            )
        )
        orderer = await Users(s).get(gig.orderer_id)
        if waiting or orderer is None:
            return
        await self.notify.push(
            s, orderer, "order.filled", names=names, title=self.p.gig_title(orderer.language, gig)
        )

    async def decline(self, s: AsyncSession, actor: Actor, offer_id: int) -> AnswerResult:
        """One tap, no reason; the place in the rotation does not change."""
        offer = await self._own_offer(s, actor, offer_id)
        if offer is None:
            return AnswerResult(Answer.NOT_FOUND)
        gig = await Gigs(s).lock(offer.gig_id)
        assert gig is not None
        if not await Offers(s).answer(offer.id, OfferStatus.DECLINED, self.clock.now()):
            await s.refresh(offer)
            return AnswerResult(self._answered(offer, gig), offer, gig)
        await s.refresh(offer)
        if gig.dispatch_mode == "cascade" or await Offers(s).count_open(gig.id) == 0:
            # A cascade asks the next person at once; any mode checks whether anyone is left.
            await self.proceed(s, gig)
        else:
            # A broadcast already asked everyone eligible: no need to rank them all again.
            await self.refresh_status(s, gig)
        return AnswerResult(Answer.DECLINED, offer, gig)

    async def why(self, s: AsyncSession, actor: Actor, offer_id: int) -> str | None:
        """The plain reason an offer came to this expert."""
        offer = await self._own_offer(s, actor, offer_id)
        if offer is None:
            return None
        gig = await Gigs(s).get(offer.gig_id)
        profile = await Users(s).profile(actor.id)
        if gig is None or profile is None:
            return None
        gigs, minutes, _ = (await self.rotation(s, [actor.id]))[actor.id]
        lang = actor.lang
        shared = [t for t in gig.topics if t in profile.topics]
        return self.p.t(
            lang,
            "offer.why",
            topics=self.p.labels(lang, "topic", shared),
            type=self.p.label(lang, "gig_type", gig.gig_type),
            place=offer.rank,
            pool=offer.pool,
            gigs=gigs,
            hours=self.p.num(lang, minutes / 60),
            mode=self.p.t(lang, f"mode.{gig.dispatch_mode}"),
        )

    # ----- time passing ---------------------------------------------------------------------

    async def _expire(self, s: AsyncSession, offer: Offer, gig: Gig) -> None:
        offer.status = OfferStatus.EXPIRED
        offer.answered_at = self.clock.now()
        expert = await Users(s).get(offer.expert_id)
        if expert is not None:
            await self.notify.edit_text(
                s,
                expert,
                offer_tag(offer.id),
                self.p.t(
                    expert.language, "offer.expired", title=self.p.gig_title(expert.language, gig)
                ),
            )

    async def tick(self, s: AsyncSession) -> int:
        """Expire offers whose time is up, send the next cascade wave, and alert on deadlines.

        Reads everything from the database, so it is safe to run at any time, any number of
        times, and after any downtime.
        """
        now = self.clock.now()
        due = (
            await s.execute(
                select(Offer, Gig)
                .join(Gig, Gig.id == Offer.gig_id)
                .where(Offer.status == OfferStatus.OPEN, Offer.expires_at <= now)
                .order_by(Offer.gig_id, Offer.id)
            )
        ).all()
        touched: dict[int, Gig] = {}
        for offer, gig in due:
            await self._expire(s, offer, gig)
            touched[gig.id] = gig
        for gig in touched.values():
            await self.proceed(s, gig)
        late = (
            await s.scalars(
                select(Gig).where(
                    Gig.status == GigStatus.OPEN,
                    Gig.deadline <= now,
                    Gig.deadline_alerted.is_(False),
                    Gig.starts_at > now,
                )
            )
        ).all()
        for gig in late:
            gig.deadline_alerted = True
            await self.notify.alert(
                s,
                "short",
                "coord.deadline",
                claimable=True,
                filled=gig.seats_filled,
                seats=gig.seats,
                buttons=[[("btn.ranking", f"rk:{gig.id}")]],
                per_lang=self.p.title_args(gig),
            )
        return len(due) + len(late)

    # ----- stepping back, cancelling, changing ---------------------------------------------

    async def step_back(self, s: AsyncSession, actor: Actor, offer_id: int) -> Gig | None:
        """A confirmed expert steps back: never a no-show; the seat reopens at once."""
        offer = await self._own_offer(s, actor, offer_id)
        if offer is None:
            return None
        gig = await Gigs(s).lock(offer.gig_id)
        await s.refresh(offer)
        if (
            gig is None
            or offer.status != OfferStatus.ACCEPTED
            or gig.status not in (GigStatus.OPEN, GigStatus.FILLED)
            or gig.starts_at <= self.clock.now()
        ):
            return None
        await self.release_seat(s, gig, offer, Release.STEPPED_BACK)
        return gig

    async def release_seat(self, s: AsyncSession, gig: Gig, offer: Offer, why: Release) -> None:
        """Give a confirmed seat back; the one way for every reason, so they cannot drift
        apart. The offer is withdrawn (never a no-show), the agreed fee goes, the check-ins
        stop, the calendar entry is withdrawn, coordinators hear, and the seat is offered on.
        The caller holds the gig's lock."""
        offer.status = OfferStatus.WITHDRAWN
        offer.answered_at = self.clock.now()
        offer.reconfirm = False
        offer.awaiting_companion = False
        await self.fees.drop(s, gig.id, offer.expert_id)
        gig.seats_filled = max(0, gig.seats_filled - 1)
        gig.status = GigStatus.OPEN
        gig.filled_at = None
        expert = await Users(s).get(offer.expert_id)
        if expert is not None and why is not Release.ERASED:
            # An erased person's cancelling file goes with the reply to /forget instead, so
            # that no outbox row keeps their chat id (handlers.expert.forget_answer).
            if why is Release.REPLACED:
                await self.notify.push(
                    s, expert, "desk.replaced", title=self.p.gig_title(expert.language, gig)
                )
            await self.checkins.send_calendar(s, gig, expert, cancelled=True)
        if why is Release.STEPPED_BACK:
            profile = await Users(s).profile(offer.expert_id)
            await self.notify.alert(
                s,
                "short",
                "coord.stepped_back",
                claimable=True,
                about=offer.expert_id,
                name=profile.display_name if profile is not None else "–",
                filled=gig.seats_filled,
                seats=gig.seats,
                buttons=[[("btn.ranking", f"rk:{gig.id}")]],
                per_lang=self.p.title_args(gig),
            )
        elif why is Release.ERASED:
            await self.notify.alert(
                s,
                "short",
                "register.gig_handed_back",
                claimable=True,
                filled=gig.seats_filled,
                seats=gig.seats,
                buttons=[[("btn.ranking", f"rk:{gig.id}")]],
                per_lang=self.p.title_args(gig),
            )
        await s.flush()
        await self.checkins.sync_gig(s, gig)
        await self.proceed(s, gig)

    async def cancel_gig(self, s: AsyncSession, actor: Actor, gig_id: int, reason: str) -> Gig:
        """Cancel for everyone: confirmed experts and open offers are told at once."""
        gig = await Gigs(s).lock(gig_id)
        if gig is None or gig.status not in GigStatus.UPCOMING:
            raise Refuse("err.gig_not_found")
        await self.audit.record(s, actor, "cancel", "gig", gig.id, reason)
        now = self.clock.now()
        gig.status, gig.cancelled_at, gig.cancel_reason = GigStatus.CANCELLED, now, reason
        rows = (
            await s.scalars(
                select(Offer).where(
                    Offer.gig_id == gig.id,
                    Offer.status.in_((OfferStatus.OPEN, OfferStatus.ACCEPTED)),
                )
            )
        ).all()
        for offer in rows:
            expert = await Users(s).get(offer.expert_id)
            was_open = offer.status == OfferStatus.OPEN
            offer.status, offer.answered_at = OfferStatus.CANCELLED, now
            await self.fees.drop(s, gig.id, offer.expert_id)
            if expert is None:
                continue
            title = self.p.gig_title(expert.language, gig)
            if was_open:
                await self.notify.edit_text(
                    s,
                    expert,
                    offer_tag(offer.id),
                    self.p.t(expert.language, "offer.cancelled", title=title, reason=reason),
                )
            else:
                await self.notify.push(
                    s, expert, "gig.cancelled_expert", title=title, reason=reason
                )
                # The calendar entry is withdrawn too (same UID, METHOD:CANCEL).
                await self.checkins.send_calendar(s, gig, expert, cancelled=True)
        orderer = await Users(s).get(gig.orderer_id)
        if orderer is not None and orderer.id != actor.id:
            await self.notify.push(
                s,
                orderer,
                "gig.cancelled_orderer",
                reason=reason,
                title=self.p.gig_title(orderer.language, gig),
            )
        await self.notify.alert(
            s,
            "orders",
            "gig.cancelled_coord",
            exclude=actor.id,
            reason=reason,
            by=actor.user.name if actor.user else "",
            per_lang=self.p.title_args(gig),
        )
        await self.checkins.sync_gig(s, gig)
        await self.refresh_status(s, gig)
        return gig

    async def change_gig(
        self,
        s: AsyncSession,
        actor: Actor,
        gig_id: int,
        *,
        starts_at: datetime | None = None,
        place: str | None = None,
    ) -> Gig:
        """Move a gig or change its place; everyone involved hears what changed, at once.
        After a time change, confirmed experts are asked to confirm again."""
        gig = await Gigs(s).lock(gig_id)
        if gig is None or gig.status not in GigStatus.UPCOMING:
            raise Refuse("err.gig_not_found")
        old = {lang: (self.p.when(lang, gig.starts_at), gig.place) for lang in ("fi", "sv", "en")}
        if starts_at is not None:
            if starts_at <= self.clock.now():
                raise Refuse("err.datetime_past")
            gig.starts_at = starts_at
            gig.deadline = None
            gig.deadline_alerted = False
        if place is not None:
            gig.place = place
        gig.revision += 1
        await self.audit.record(
            s,
            actor,
            "change",
            "gig",
            gig.id,
            " ".join(x for x in (starts_at.isoformat() if starts_at else "", place or "") if x),
        )
        await s.flush()
        await self.checkins.sync_gig(s, gig)
        offers = (
            await s.scalars(
                select(Offer).where(
                    Offer.gig_id == gig.id,
                    Offer.status.in_((OfferStatus.OPEN, OfferStatus.ACCEPTED)),
                )
            )
        ).all()
        for offer in offers:
            expert = await Users(s).get(offer.expert_id)
            profile = await Users(s).profile(offer.expert_id)
            if expert is None or profile is None:
                continue
            lang = expert.language
            what = self._what_changed(lang, gig, old[lang], starts_at, place)
            if offer.status == OfferStatus.OPEN:
                await self.notify.edit_text(
                    s,
                    expert,
                    offer_tag(offer.id),
                    self.p.t(lang, "offer.changed", what=what)
                    + "\n\n"
                    + self.offer_text(lang, gig, profile, offer),
                    self.offer_buttons(lang, offer.id),
                )
                continue
            if starts_at is not None:
                offer.reconfirm = True
                await self.notify.push(
                    s,
                    expert,
                    "gig.changed_reconfirm",
                    what=what,
                    title=self.p.gig_title(lang, gig),
                    buttons=[
                        [("btn.still_coming", f"rc:y:{offer.id}")],
                        [("btn.cannot_come", f"rc:n:{offer.id}")],
                        [("btn.details", f"of:i:{offer.id}")],
                    ],
                )
            else:
                await self.notify.push(
                    s,
                    expert,
                    "gig.changed",
                    what=what,
                    title=self.p.gig_title(lang, gig),
                    details=self.p.gig(lang, gig_values(gig)),
                )
            await self.checkins.send_calendar(s, gig, expert)
        targets = [await Users(s).get(gig.orderer_id), *await Users(s).coordinators()]
        for person in targets:
            if person is None or person.id == actor.id:
                continue
            lang = person.language
            await self.notify.push(
                s,
                person,
                "gig.changed_info",
                title=self.p.gig_title(lang, gig),
                what=self._what_changed(lang, gig, old[lang], starts_at, place),
            )
        await self.refresh_status(s, gig)
        return gig

    def _what_changed(
        self,
        lang: str,
        gig: Gig,
        old: tuple[str, str],
        starts_at: datetime | None,
        place: str | None,
    ) -> str:
        parts = []
        if starts_at is not None:
            parts.append(
                self.p.t(lang, "gig.change_time", old=old[0], new=self.p.when(lang, gig.starts_at))
            )
        if place is not None:
            parts.append(self.p.t(lang, "gig.change_place", old=old[1], new=gig.place))
        return "\n".join(parts)

    async def reconfirm(
        self, s: AsyncSession, actor: Actor, offer_id: int, coming: bool
    ) -> tuple[bool, Gig | None]:
        offer = await self._own_offer(s, actor, offer_id)
        if offer is None or not offer.reconfirm or offer.status != OfferStatus.ACCEPTED:
            return False, None
        gig = await Gigs(s).lock(offer.gig_id)
        await s.refresh(offer)
        if gig is None or not offer.reconfirm:
            return False, gig
        offer.reconfirm = False
        if not coming:
            await self.release_seat(s, gig, offer, Release.STEPPED_BACK)
        await self.refresh_status(s, gig)
        return True, gig

    async def unreachable(self, s: AsyncSession, telegram_id: int, tag: str | None) -> None:
        """Someone blocked the bot: skip them from now on, free what they held, tell
        coordinators."""
        user = await Users(s).by_telegram_id(telegram_id)
        if user is None:
            return
        user.reachable = False
        if tag is not None and tag.startswith("offer:"):
            offer = await Offers(s).get(int(tag.split(":")[1]))
            if offer is not None and offer.status == OfferStatus.OPEN:
                gig = await Gigs(s).lock(offer.gig_id)
                offer.status, offer.answered_at = OfferStatus.CLOSED, self.clock.now()
                if gig is not None:
                    await s.flush()
                    await self.proceed(s, gig)
        if user.role == "expert":
            profile = await Users(s).profile(user.id)
            await self.notify.alert(
                s,
                "short",
                "coord.unreachable",
                claimable=True,
                id=user.id,
                about=user.id,
                name=profile.display_name if profile else user.name,
            )

    async def undeliverable(self, s: AsyncSession, telegram_id: int, tag: str | None) -> None:
        """Telegram kept failing for one message: an offer moves on to the next person, and
        coordinators hear whom to reach another way."""
        user = await Users(s).by_telegram_id(telegram_id)
        if user is None:
            return
        if tag is not None and tag.startswith("offer:"):
            offer = await Offers(s).get(int(tag.split(":")[1]))
            if offer is not None and offer.status == OfferStatus.OPEN:
                gig = await Gigs(s).lock(offer.gig_id)
                offer.status, offer.answered_at = OfferStatus.EXPIRED, self.clock.now()
                if gig is not None:
                    await s.flush()
                    await self.proceed(s, gig)
        profile = await Users(s).profile(user.id)
        await self.notify.alert(
            s,
            "short",
            "coord.undeliverable",
            claimable=True,
            id=user.id,
            about=user.id,
            name=profile.display_name if profile else user.name,
        )

    # ----- the coordinator's desk -------------------------------------------------------------

    async def mark_done(self, s: AsyncSession, actor: Actor, gig_id: int) -> Gig:
        gig = await Gigs(s).lock(gig_id)
        if gig is None or gig.status not in (GigStatus.OPEN, GigStatus.FILLED):
            raise Refuse("gig.not_changeable")
        if gig.starts_at > self.clock.now():
            raise Refuse("desk.not_yet")
        gig.status = GigStatus.DONE
        await Offers(s).close_open(gig.id, self.clock.now())
        await self.audit.record(s, actor, "done", "gig", gig.id)
        return gig

    async def no_show(self, s: AsyncSession, actor: Actor, offer_id: int) -> NoShow:
        """Record that a confirmed expert did not come (only after the gig has started); the
        agreed fee goes, and the coordinator is told so, with the person's name to check on."""
        offer = await Offers(s).get(offer_id)
        gig = await Gigs(s).get(offer.gig_id) if offer else None
        if offer is None or gig is None or offer.status != OfferStatus.ACCEPTED:
            raise Refuse("err.stale")
        if gig.starts_at > self.clock.now():
            raise Refuse("desk.not_yet")
        offer.status = OfferStatus.NO_SHOW
        fee = await self.fees.of_gig(s, gig.id, offer.expert_id)
        dropped = await self.fees.drop(s, gig.id, offer.expert_id)
        await self.audit.record(s, actor, "no_show", "gig", gig.id, f"offer {offer.id}")
        await self.audit.record(s, actor, "no_show", "expert", offer.expert_id, f"gig {gig.id}")
        profile = await Users(s).profile(offer.expert_id)
        name = profile.display_name if profile is not None else "–"
        return NoShow(
            offer,
            gig,
            name,
            fee.amount_cents if fee is not None else None,
            fee.status if fee is not None else None,
            dropped,
        )

    async def replace(self, s: AsyncSession, actor: Actor, offer_id: int) -> Gig:
        """Take a confirmed expert off a gig (they are told kindly) and offer the seat on."""
        offer = await Offers(s).get(offer_id)
        gig = await Gigs(s).lock(offer.gig_id) if offer else None
        if offer is None or gig is None or offer.status != OfferStatus.ACCEPTED:
            raise Refuse("err.stale")
        await self.audit.record(s, actor, "replace", "gig", gig.id, f"offer {offer.id}")
        await self.release_seat(s, gig, offer, Release.REPLACED)
        return gig

    async def set_prep_hours(self, s: AsyncSession, actor: Actor, gig_id: int, hours: int) -> Gig:
        """This gig's preparation check-in comes `hours` before it (instead of the default)."""
        gig = await Gigs(s).lock(gig_id)
        if gig is None or gig.status not in GigStatus.UPCOMING:
            raise Refuse("gig.not_changeable")
        gig.prep_hours = hours
        await self.audit.record(s, actor, "prep_hours", "gig", gig.id, str(hours))
        await self.checkins.sync_gig(s, gig)
        return gig

    async def message_confirmed(self, s: AsyncSession, actor: Actor, gig_id: int, text: str) -> int:
        gig = await Gigs(s).get(gig_id)
        if gig is None:
            raise Refuse("err.gig_not_found")
        rows = (
            await s.scalars(
                select(Offer).where(Offer.gig_id == gig_id, Offer.status == OfferStatus.ACCEPTED)
            )
        ).all()
        for offer in rows:
            expert = await Users(s).get(offer.expert_id)
            if expert is not None:
                await self.notify.push(
                    s,
                    expert,
                    "desk.message",
                    text=text,
                    title=self.p.gig_title(expert.language, gig),
                    by=actor.user.name if actor.user else "",
                )
        await self.audit.record(s, actor, "message", "gig", gig_id, text)
        return len(rows)

    async def people(self, s: AsyncSession, gig_id: int) -> list[tuple[Offer, str]]:
        """Everyone offered this gig, best first, with their chosen names."""
        rows = await s.execute(
            select(Offer, ExpertProfile.display_name)
            .outerjoin(ExpertProfile, ExpertProfile.user_id == Offer.expert_id)
            .where(Offer.gig_id == gig_id)
            .order_by(Offer.rank, Offer.id)
        )
        return [(o, name or "–") for o, name in rows]

    # ----- what coordinators see ------------------------------------------------------------

    async def alert_nobody_left(self, s: AsyncSession, gig: Gig) -> None:
        await self.notify.alert(
            s,
            "short",
            "coord.nobody_left",
            claimable=True,
            filled=gig.seats_filled,
            seats=gig.seats,
            buttons=[[("btn.ranking", f"rk:{gig.id}")]],
            per_lang=self.p.title_args(gig),
        )

    async def status_text(self, s: AsyncSession, gig: Gig, lang: str) -> str:
        """The live status of a gig's offers: counts, and names while the list is short."""
        found = (
            await s.execute(
                select(Offer.status, ExpertProfile.display_name, Offer.created_at)
                .outerjoin(ExpertProfile, ExpertProfile.user_id == Offer.expert_id)
                .where(Offer.gig_id == gig.id)
                .order_by(Offer.rank, Offer.id)
            )
        ).all()
        # Offers made during quiet hours wait in the outbox until the morning: not sent yet.
        now = self.clock.now()
        held = sum(
            1
            for st, _, made in found
            if st == OfferStatus.OPEN and next_allowed(made, self.settings) > now
        )
        rows = [(st, name) for st, name, _ in found]
        counts = {
            st: 0
            for st in (
                OfferStatus.OPEN,
                OfferStatus.ACCEPTED,
                OfferStatus.DECLINED,
                OfferStatus.EXPIRED,
                OfferStatus.WITHDRAWN,
            )
        }
        for st, _ in rows:
            if st in counts:
                counts[st] += 1
        lines = [
            self.p.t(
                lang,
                "status_msg.header",
                title=self.p.gig_title(lang, gig),
                mode=self.p.t(lang, f"mode.{gig.dispatch_mode}"),
                filled=gig.seats_filled,
                seats=gig.seats,
                status=self.p.t(lang, f"status.{gig.status}"),
            ),
            self.p.t(
                lang,
                "status_msg.counts",
                sent=len(rows) - held,
                pending=counts[OfferStatus.OPEN],
                accepted=counts[OfferStatus.ACCEPTED],
                declined=counts[OfferStatus.DECLINED],
                expired=counts[OfferStatus.EXPIRED],
                withdrawn=counts[OfferStatus.WITHDRAWN],
            ),
        ]
        if held:
            wake = self.p.when(lang, next_allowed(now, self.settings))
            lines.append(self.p.t(lang, "status_msg.held", count=held, when=wake))
        if 0 < len(rows) <= STATUS_NAMES_MAX:
            icons = {
                OfferStatus.OPEN: "⏳",
                OfferStatus.ACCEPTED: "✅",
                OfferStatus.DECLINED: "➖",
                OfferStatus.EXPIRED: "⌛",
                OfferStatus.WITHDRAWN: "↩️",
                OfferStatus.CLOSED: "·",
                OfferStatus.CANCELLED: "·",
            }
            lines.append(" ".join(f"{icons.get(st, '·')}{name or '–'}" for st, name in rows))
        return "\n".join(lines)

    async def refresh_status(self, s: AsyncSession, gig: Gig) -> None:
        """Edit every coordinator's status message for this gig in place."""
        if gig.id in s.info.get(STATUS_DEFERRED, ()):
            return
        for coord in await Users(s).coordinators():
            await self.notify.edit_text(
                s, coord, status_tag(gig.id), await self.status_text(s, gig, coord.language)
            )

    async def confirmed_gigs(self, s: AsyncSession, actor: Actor) -> list[tuple[Offer, Gig]]:
        rows = await s.execute(
            select(Offer, Gig)
            .join(Gig, Gig.id == Offer.gig_id)
            .where(
                Offer.expert_id == actor.id,
                Offer.status == OfferStatus.ACCEPTED,
                Gig.starts_at >= self.clock.now(),
                Gig.status.in_(GigStatus.UPCOMING),
            )
            .order_by(Gig.starts_at, Gig.id)
        )
        return [(o, g) for o, g in rows]

    async def set_companion(
        self, s: AsyncSession, actor: Actor, gig_id: int, name: str
    ) -> tuple[Gig, int]:
        """Name the adult accompanying youth experts; confirms the youth experts waiting."""
        gig = await Gigs(s).lock(gig_id)
        if gig is None or gig.status not in (GigStatus.OPEN, GigStatus.FILLED):
            raise Refuse("err.gig_not_found")
        gig.companion = name
        await self.audit.record(s, actor, "companion", "gig", gig.id, name)
        waiting = (
            await s.scalars(
                select(Offer).where(
                    Offer.gig_id == gig_id,
                    Offer.status == OfferStatus.ACCEPTED,
                    Offer.awaiting_companion.is_(True),
                )
            )
        ).all()
        for offer in waiting:
            offer.awaiting_companion = False
            expert = await Users(s).get(offer.expert_id)
            if expert is not None:
                await self.notify.push(
                    s,
                    expert,
                    "offer.confirmation",
                    title=self.p.gig_title(expert.language, gig),
                    details=self.p.confirmed_brief(expert.language, gig_values(gig)),
                    buttons=[[("btn.details", f"of:i:{offer.id}")]],
                )
                await self.checkins.confirmed(s, gig, expert)
        if waiting and gig.status == GigStatus.FILLED:
            await s.flush()
            await self._tell_orderer_filled(
                s, gig, ", ".join(await Offers(s).accepted_names(gig.id))
            )
        return gig, len(waiting)
