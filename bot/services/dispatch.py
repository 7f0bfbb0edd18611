"""Offers: who is eligible, sending offers, and filling seats atomically."""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.clock import Clock
from bot.errors import Refuse
from bot.notify import Notifier
from bot.present import Presenter, gig_values
from bot.services import matching
from bot.services.access import Actor
from storage.models import ExpertProfile, Gig, GigStatus, Offer, OfferStatus, User
from storage.repo import Gigs, Offers, Users


class Answer(Enum):
    ACCEPTED = "accepted"
    OVER_LIMIT = "over_limit"  # would cross the expert's own monthly earnings limit: ask first
    DECLINED = "declined"
    ALREADY = "already"  # this expert answered before (a double tap changes nothing)
    FILLED = "filled"  # the seats went to others
    CLOSED = "closed"  # the gig is no longer open
    NOT_FOUND = "not_found"  # unknown or somebody else's offer: the same reply, learns nothing


@dataclass
class AnswerResult:
    answer: Answer
    offer: Offer | None = None
    gig: Gig | None = None
    earned: int = 0  # this month so far, cents (for OVER_LIMIT)
    limit: int = 0


def offer_tag(offer_id: int) -> str:
    return f"offer:{offer_id}"


class Dispatch:
    def __init__(self, presenter: Presenter, notifier: Notifier, clock: Clock) -> None:
        self.p = presenter
        self.notify = notifier
        self.clock = clock
        self.tz = presenter.tz

    async def eligible(self, s: AsyncSession, gig: Gig) -> list[tuple[User, ExpertProfile]]:
        """Experts who pass every rule, including their own limits, for this gig."""
        people = await Users(s).experts_with_profiles()
        load_of = await matching.loads(s, gig, [u.id for u, _ in people], self.tz)
        today = self.clock.now().astimezone(self.tz).date()
        return matching.eligible(gig, people, load_of, today, self.tz)

    async def offer_all(self, s: AsyncSession, gig: Gig) -> int:
        """Offer the gig to every eligible expert (quiet hours respected)."""
        count = 0
        now = self.clock.now()
        for user, profile in await self.eligible(s, gig):
            offer = await Offers(s).add(gig.id, user.id, now)
            shared = [t for t in gig.topics if t in profile.topics]
            await self.notify.push(
                s,
                user,
                "offer.new",
                quiet=True,
                tag=offer_tag(offer.id),
                buttons=[[("btn.accept", f"of:a:{offer.id}"), ("btn.decline", f"of:d:{offer.id}")]],
                name=profile.display_name,
                details=self.p.gig(user.language, gig_values(gig), contact=False),
                topics=self.p.labels(user.language, "topic", shared),
            )
            count += 1
        return count

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
        now = self.clock.now()
        if offer.status != OfferStatus.OPEN:
            kind = {
                OfferStatus.ACCEPTED: Answer.ALREADY,
                OfferStatus.DECLINED: Answer.ALREADY,
            }.get(offer.status, Answer.FILLED if gig.status == GigStatus.FILLED else Answer.CLOSED)
            return AnswerResult(kind, offer, gig)
        if gig.starts_at <= now or gig.status not in (GigStatus.OPEN, GigStatus.FILLED):
            return AnswerResult(Answer.CLOSED, offer, gig)
        profile = await Users(s).profile(actor.id)
        if (
            profile is not None
            and not despite_limit
            and gig.fee_cents
            and (profile.max_earnings_cents is not None)
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
            for coord in await Users(s).coordinators():
                await self.notify.push(
                    s,
                    coord,
                    "coord.companion_needed",
                    name=profile.display_name,
                    id=gig.id,
                    title=self.p.gig_title(coord.language, gig),
                    buttons=[[("btn.name_companion", f"cp:{gig.id}")]],
                )
        await self._tell_about_accept(s, gig, actor)
        return AnswerResult(Answer.ACCEPTED, offer, gig)

    async def set_companion(self, s: AsyncSession, gig_id: int, name: str) -> tuple[Gig, int]:
        """Name the adult accompanying youth experts; confirms the youth experts waiting."""
        gig = await Gigs(s).lock(gig_id)
        if gig is None or gig.status not in (GigStatus.OPEN, GigStatus.FILLED):
            raise Refuse("err.gig_not_found")
        gig.companion = name
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
                    details=self.p.gig(expert.language, gig_values(gig)),
                )
        return gig, len(waiting)

    async def _tell_about_accept(self, s: AsyncSession, gig: Gig, actor: Actor) -> None:
        profile = await Users(s).profile(actor.id)
        name = profile.display_name if profile is not None else ""
        if gig.status != GigStatus.FILLED:
            for coord in await Users(s).coordinators():
                await self.notify.push(
                    s,
                    coord,
                    "coord.expert_accepted",
                    name=name,
                    filled=gig.seats_filled,
                    seats=gig.seats,
                    title=self.p.gig_title(coord.language, gig),
                )
            return
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
        orderer = await Users(s).get(gig.orderer_id)
        if orderer is not None:
            await self.notify.push(
                s,
                orderer,
                "order.filled",
                names=names,
                title=self.p.gig_title(orderer.language, gig),
            )
        for coord in await Users(s).coordinators():
            await self.notify.push(
                s,
                coord,
                "coord.gig_filled",
                names=names,
                title=self.p.gig_title(coord.language, gig),
            )

    async def decline(self, s: AsyncSession, actor: Actor, offer_id: int) -> AnswerResult:
        offer = await self._own_offer(s, actor, offer_id)
        if offer is None:
            return AnswerResult(Answer.NOT_FOUND)
        gig = await Gigs(s).lock(offer.gig_id)
        assert gig is not None
        if not await Offers(s).answer(offer.id, OfferStatus.DECLINED, self.clock.now()):
            return AnswerResult(Answer.ALREADY, offer, gig)
        await s.refresh(offer)
        if gig.status == GigStatus.OPEN and await Offers(s).count_open(gig.id) == 0:
            await self.alert_nobody_left(s, gig)
        return AnswerResult(Answer.DECLINED, offer, gig)

    async def alert_nobody_left(self, s: AsyncSession, gig: Gig) -> None:
        for coord in await Users(s).coordinators():
            await self.notify.push(
                s,
                coord,
                "coord.nobody_left",
                title=self.p.gig_title(coord.language, gig),
                filled=gig.seats_filled,
                seats=gig.seats,
            )

    async def confirmed_gigs(self, s: AsyncSession, actor: Actor) -> list[Gig]:
        return list(await Offers(s).accepted_gigs(actor.id, self.clock.now()))
