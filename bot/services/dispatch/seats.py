"""Seats: an expert accepts or declines an offer, steps back, or confirms again after a
change; and the one way any confirmed seat is given back (`release_seat`)."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from bot.callbacks import CompanionAsk, pack
from bot.services import matching
from bot.services.access import Actor
from bot.services.dispatch.common import (
    Answer,
    AnswerResult,
    Deps,
    Release,
    offer_tag,
    own_offer,
)
from bot.services.dispatch.offering import Offering
from bot.services.dispatch.ranking import touch
from bot.services.dispatch.status import Status
from storage.models import ExpertProfile, Gig, GigStatus, Offer, OfferStatus
from storage.repo import GigRepo, OfferRepo, UserRepo

TAKING = (GigStatus.OPEN, GigStatus.FILLED)  # a gig whose seats can still change hands


def answered(offer: Offer, gig: Gig) -> Answer:
    """What a second answer to an offer that is no longer open meets."""
    if offer.status in (OfferStatus.ACCEPTED, OfferStatus.DECLINED, OfferStatus.WITHDRAWN):
        return Answer.ALREADY
    if offer.status == OfferStatus.EXPIRED:
        return Answer.EXPIRED
    return Answer.FILLED if gig.status == GigStatus.FILLED else Answer.CLOSED


class Seats:
    def __init__(self, deps: Deps, offering: Offering, status: Status) -> None:
        self.d = deps
        self.offering = offering
        self.status = status

    # ----- answers --------------------------------------------------------------------------

    async def accept(
        self, s: AsyncSession, actor: Actor, offer_id: int, *, despite_limit: bool = False
    ) -> AnswerResult:
        offer = await own_offer(s, actor, offer_id)
        if offer is None:
            return AnswerResult(Answer.NOT_FOUND)
        gig = await GigRepo(s).lock(offer.gig_id)
        assert gig is not None
        await s.refresh(offer)
        early = await self._cannot_take(s, offer, gig)
        if early is not None:
            return early
        profile = await UserRepo(s).profile(actor.id)
        if profile is not None and not despite_limit:
            over = await self._over_limit(s, offer, gig, profile)
            if over is not None:
                return over
        handed = await self._hand_over(s, offer, gig)
        # Claim the offer first: a second tap by the same person waits on this row and then
        # finds it answered, so it can never take a second seat.
        now = self.d.clock.now()
        if not await OfferRepo(s).answer(offer.id, OfferStatus.ACCEPTED, now):
            return AnswerResult(Answer.ALREADY, offer, gig)
        if not await GigRepo(s).take_seat(gig.id, now):
            await s.refresh(offer)
            offer.status = OfferStatus.CLOSED
            await s.flush()
            await GigRepo(s).refresh(gig)
            return AnswerResult(Answer.FILLED, offer, gig)
        touch(s, offer.expert_id)  # the gig will count in the rotation once it starts
        await s.refresh(offer)
        await GigRepo(s).refresh(gig)
        await self._seated(s, actor, offer, gig, profile, handed)
        result = AnswerResult(Answer.ACCEPTED, offer, gig)
        whole = await self.offering.whole_series(s, gig)
        if whole is not None:
            for other in whole[1]:
                if other.id != gig.id:
                    await self._take_also(s, actor, offer, other, profile, result)
        return result

    async def _take_also(
        self,
        s: AsyncSession,
        actor: Actor,
        offer: Offer,
        gig: Gig,
        profile: ExpertProfile | None,
        result: AnswerResult,
    ) -> None:
        """A whole series: the same expert takes a seat on a later date too (an accepted offer
        of its own, so check-ins, fees and feedback count it as its own gig); a date whose
        seats went to others is listed in `result.missed`."""
        now = self.d.clock.now()
        locked = await GigRepo(s).lock(gig.id)
        if locked is None or locked.starts_at <= now:
            return
        mine = (await OfferRepo(s).by_expert(gig.id)).get(offer.expert_id)
        if mine is not None and mine.status == OfferStatus.ACCEPTED:
            return
        if await self._cannot_also(s, locked, offer.expert_id, profile):
            # Left open for the coordinator (a whole series' later dates are not offered).
            result.clashed.append(locked)
            name = profile.display_name if profile is not None else "–"
            await self.d.alert_seats(
                s, locked, "series.coord_gap", about=offer.expert_id, name=name
            )
            return
        if not await GigRepo(s).take_seat(gig.id, now):
            result.missed.append(locked)
            return
        if mine is None:
            mine = Offer(gig_id=gig.id, expert_id=offer.expert_id, created_at=now)
            s.add(mine)
        mine.status, mine.answered_at, mine.expires_at = OfferStatus.ACCEPTED, now, None
        mine.rank, mine.pool = offer.rank, offer.pool
        await s.flush()
        await GigRepo(s).refresh(locked)
        await self._seated(s, actor, mine, locked, profile, quiet=True)
        result.taken.append(locked)

    async def _cannot_also(
        self, s: AsyncSession, gig: Gig, expert_id: int, profile: ExpertProfile | None
    ) -> bool:
        """A later date of a whole series that this expert cannot take after all: it clashes
        with another confirmed gig, would go past their own monthly limits (gigs, or
        earnings with this date's fee) in its own month, or falls in their break or after
        their contract."""
        load = (await matching.loads(s, gig, [expert_id], self.d.tz))[expert_id]
        if profile is None:
            return bool(matching.over_load(gig, None, None, load))
        if matching.over_load(gig, profile.max_gigs_month, None, load):
            return True
        limit = profile.max_earnings_cents
        if limit is not None and load.earnings_in_month + (gig.fee_cents or 0) > limit:
            return True
        day = gig.starts_at.astimezone(self.d.tz).date()
        paused = profile.paused_until is not None and profile.paused_until >= day
        return paused or (profile.contract_until is not None and profile.contract_until < day)

    async def _hand_over(self, s: AsyncSession, offer: Offer, gig: Gig) -> Offer | None:
        """A colleague's direct offer (a swap) is being accepted: the asker's seat is given
        back through the one place first, in this same transaction, and not offered on."""
        if offer.swap_from is None:
            return None
        first = await OfferRepo(s).get(offer.swap_from)
        if first is None or first.status != OfferStatus.ACCEPTED:
            return None  # they stepped back meanwhile: an ordinary accept, if a seat is left
        await self.release_seat(s, gig, first, Release.SWAPPED)
        await GigRepo(s).refresh(gig)
        return first

    async def _cannot_take(self, s: AsyncSession, offer: Offer, gig: Gig) -> AnswerResult | None:
        """Why this offer can no longer be accepted, or None if it can."""
        now = self.d.clock.now()
        if offer.status != OfferStatus.OPEN:
            return AnswerResult(answered(offer, gig), offer, gig)
        if gig.starts_at <= now or gig.status not in TAKING:
            return AnswerResult(Answer.CLOSED, offer, gig)
        if offer.expires_at is not None and offer.expires_at <= now:
            await self.offering.expire(s, offer, gig)
            return AnswerResult(Answer.EXPIRED, offer, gig)
        return None

    async def _over_limit(
        self, s: AsyncSession, offer: Offer, gig: Gig, profile: ExpertProfile
    ) -> AnswerResult | None:
        """The expert's own monthly earnings limit would be crossed: ask them first."""
        limit = profile.max_earnings_cents
        if not gig.fee_cents or limit is None:
            return None
        load = (await matching.loads(s, gig, [offer.expert_id], self.d.tz))[offer.expert_id]
        if load.earnings_in_month + gig.fee_cents <= limit:
            return None
        return AnswerResult(Answer.OVER_LIMIT, offer, gig, load.earnings_in_month, limit)

    async def _seated(
        self,
        s: AsyncSession,
        actor: Actor,
        offer: Offer,
        gig: Gig,
        profile: ExpertProfile | None,
        handed: Offer | None = None,
        *,
        quiet: bool = False,
    ) -> None:
        """What follows a seat taken: a young expert waits for a companion, the fee is
        agreed, the check-ins are planned, and a full gig tells everyone (a seat handed over
        by a colleague tells the coordinators and the orderer who took whose place; `quiet`:
        a later date of a whole series, whose first date told them already)."""
        if profile is not None and profile.youth and not gig.companion:
            offer.awaiting_companion = True
            await self.d.notify.alert(
                s,
                "short",
                "coord.companion_needed",
                claimable=True,
                name=profile.display_name,
                id=gig.id,
                about=offer.expert_id,
                buttons=[[("btn.name_companion", pack(CompanionAsk(gig.id)))]],
                per_lang=self.d.p.title_args(gig),
            )
        await self.d.fees.agree(s, gig, offer.expert_id)
        if offer.awaiting_companion:
            await self.d.checkins.sync_gig(s, gig)
        elif actor.user is not None:
            await self.d.checkins.confirmed(s, gig, actor.user)
        if handed is not None and profile is not None:
            await self._tell_swapped(s, gig, handed, profile.display_name)
        elif gig.status == GigStatus.FILLED and not quiet:
            await self._tell_filled(s, gig)
        self.status.mark(s, gig)

    async def _tell_swapped(self, s: AsyncSession, gig: Gig, handed: Offer, to: str) -> None:
        asker = await UserRepo(s).profile(handed.expert_id)
        name = asker.display_name if asker is not None else "–"
        await self.d.audit.record(
            s, None, "swap_done", "gig", gig.id, f"offer {handed.id}: {name} → {to}"
        )
        await self.d.notify.alert(
            s,
            "short",
            "lifecycle.swap_coord_done",
            from_name=name,
            to=to,
            per_lang=self.d.p.title_args(gig),
        )
        orderer = await UserRepo(s).get(gig.orderer_id)
        if orderer is not None and not await OfferRepo(s).awaiting_companion(gig.id):
            title = self.d.p.gig_title(orderer.language, gig)
            names = ", ".join(await OfferRepo(s).accepted_names(gig.id))
            await self.d.notify.push(s, orderer, "lifecycle.swap_orderer", title=title, names=names)

    async def _tell_filled(self, s: AsyncSession, gig: Gig) -> None:
        p = self.d.p
        for closed in await OfferRepo(s).close_open(gig.id, self.d.clock.now()):
            expert = await UserRepo(s).get(closed.expert_id)
            if expert is not None:
                lang = expert.language
                text = p.t(lang, "offer.filled_thanks", title=p.gig_title(lang, gig))
                await self.d.notify.edit_text(s, expert, offer_tag(closed.id), text)
        names = ", ".join(await OfferRepo(s).accepted_names(gig.id))
        await self.tell_orderer_filled(s, gig, names)
        await self.d.notify.alert(
            s, "short", "coord.gig_filled", names=names, per_lang=p.title_args(gig)
        )

    async def tell_orderer_filled(self, s: AsyncSession, gig: Gig, names: str) -> None:
        """The orderer hears the gig is confirmed only once it is: while a young expert waits
        for a named adult companion, nobody on the gig is confirmed yet for them."""
        waiting = await OfferRepo(s).awaiting_companion(gig.id)
        orderer = await UserRepo(s).get(gig.orderer_id)
        if waiting or orderer is None:
            return
        title = self.d.p.gig_title(orderer.language, gig)
        await self.d.notify.push(s, orderer, "order.filled", names=names, title=title)
        if self.d.papers is not None:
            await self.d.papers.confirm(s, gig, orderer)

    async def reconfirm_orderer(self, s: AsyncSession, gig: Gig) -> None:
        """After a change of time or place: an orderer who has a confirmation gets an
        updated one."""
        if gig.status != GigStatus.FILLED or self.d.papers is None:
            return
        orderer = await UserRepo(s).get(gig.orderer_id)
        if orderer is not None and not await OfferRepo(s).awaiting_companion(gig.id):
            await self.d.papers.confirm(s, gig, orderer)

    async def decline(self, s: AsyncSession, actor: Actor, offer_id: int) -> AnswerResult:
        """One tap, no reason; the place in the rotation does not change."""
        offer = await own_offer(s, actor, offer_id)
        if offer is None:
            return AnswerResult(Answer.NOT_FOUND)
        gig = await GigRepo(s).lock(offer.gig_id)
        assert gig is not None
        if not await OfferRepo(s).answer(offer.id, OfferStatus.DECLINED, self.d.clock.now()):
            await s.refresh(offer)
            return AnswerResult(answered(offer, gig), offer, gig)
        await s.refresh(offer)
        if offer.swap_from is not None:
            await self.offering.swap_unanswered(s, offer, gig)
        if gig.dispatch_mode == "cascade" or await OfferRepo(s).count_open(gig.id) == 0:
            # A cascade asks the next person at once; any mode checks whether anyone is left.
            # (A broadcast already asked everyone eligible: no need to rank them all again.)
            await self.offering.proceed(s, gig)
        self.status.mark(s, gig)
        return AnswerResult(Answer.DECLINED, offer, gig)

    async def my_gigs(
        self, s: AsyncSession, actor: Actor
    ) -> tuple[list[tuple[Offer, Gig]], list[tuple[Offer, Gig]]]:
        """The expert's confirmed gigs still to come, and offers still open (one statement)."""
        return await OfferRepo(s).of_expert(actor.id, self.d.clock.now())

    # ----- giving a seat back ---------------------------------------------------------------

    async def step_back(self, s: AsyncSession, actor: Actor, offer_id: int) -> Gig | None:
        """A confirmed expert steps back: never a no-show; the seat reopens at once."""
        offer = await own_offer(s, actor, offer_id)
        if offer is None:
            return None
        gig = await GigRepo(s).lock(offer.gig_id)
        await s.refresh(offer)
        if (
            gig is None
            or offer.status != OfferStatus.ACCEPTED
            or gig.status not in TAKING
            or gig.starts_at <= self.d.clock.now()
        ):
            return None
        await self.release_seat(s, gig, offer, Release.STEPPED_BACK)
        return gig

    async def reconfirm(
        self, s: AsyncSession, actor: Actor, offer_id: int, coming: bool
    ) -> tuple[bool, Gig | None]:
        offer = await own_offer(s, actor, offer_id)
        if offer is None or not offer.reconfirm or offer.status != OfferStatus.ACCEPTED:
            return False, None
        gig = await GigRepo(s).lock(offer.gig_id)
        await s.refresh(offer)
        if gig is None or not offer.reconfirm:
            return False, gig
        offer.reconfirm = False
        if not coming:
            await self.release_seat(s, gig, offer, Release.STEPPED_BACK)
        self.status.mark(s, gig)
        return True, gig

    async def release_seat(self, s: AsyncSession, gig: Gig, offer: Offer, why: Release) -> None:
        """Give a confirmed seat back; the one way for every reason, so they cannot drift
        apart. The offer is withdrawn (never a no-show), the agreed fee goes, the check-ins
        stop, the calendar entry is withdrawn, coordinators hear, and the seat is offered on.
        The caller holds the gig's lock."""
        offer.status = OfferStatus.WITHDRAWN
        touch(s, offer.expert_id)
        offer.answered_at = self.d.clock.now()
        offer.reconfirm = False
        offer.awaiting_companion = False
        await self.d.fees.drop(s, gig.id, offer.expert_id)
        gig.seats_filled = max(0, gig.seats_filled - 1)
        gig.status = GigStatus.OPEN
        gig.filled_at = None
        await self._tell_released(s, gig, offer, why)
        await s.flush()
        await self.d.checkins.sync_gig(s, gig)
        if why is not Release.SWAPPED:  # a swap's colleague takes the seat in this transaction
            await self.offering.proceed(s, gig)

    async def _tell_released(self, s: AsyncSession, gig: Gig, offer: Offer, why: Release) -> None:
        expert = await UserRepo(s).get(offer.expert_id)
        if expert is not None and why is not Release.ERASED:
            # An erased person's cancelling file goes with the reply to /forget instead, so
            # that no outbox row keeps their chat id (handlers.expert.forget_answer).
            title = self.d.p.gig_title(expert.language, gig)
            if why is Release.REPLACED:
                await self.d.notify.push(s, expert, "desk.replaced", title=title)
            elif why is Release.SWAPPED:
                await self.d.notify.push(s, expert, "lifecycle.swap_handed", title=title)
            await self.d.checkins.send_calendar(s, gig, expert, cancelled=True)
        if why is Release.STEPPED_BACK:
            profile = await UserRepo(s).profile(offer.expert_id)
            name = profile.display_name if profile is not None else "–"
            await self.d.alert_seats(s, gig, "coord.stepped_back", about=offer.expert_id, name=name)
        elif why is Release.ERASED:
            await self.d.alert_seats(s, gig, "register.gig_handed_back")
