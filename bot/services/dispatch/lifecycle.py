"""An expert's second thoughts: undoing an answer for a short while, asking once for more time
on an open offer, and handing a confirmed seat to a colleague (a swap).

Every seat given back goes through `Seats.release_seat`; a swap hands the seat over in the
colleague's accept (Seats.accept), in one transaction. What the coordinator must see (more
time, swaps asked and done) is in the gig's status message and its audit log.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from enum import Enum

from sqlalchemy.ext.asyncio import AsyncSession

from bot.callbacks import OfferAccept, OfferDecline, OfferDetails, pack
from bot.present import gig_values
from bot.services.access import Actor
from bot.services.dispatch.common import Deps, Release, offer_tag, own_offer
from bot.services.dispatch.offering import Offering, offer_rows
from bot.services.dispatch.ranking import Ranked, Ranking
from bot.services.dispatch.seats import TAKING, Seats
from bot.services.dispatch.status import Status
from storage.models import Gig, GigStatus, Offer, OfferStatus
from storage.repo import GigRepo, OfferRepo, UserRepo

SWAP_PAGE = 8  # colleagues' names per page of the swap list


class Undo(Enum):
    ACCEPT_UNDONE = "accept_undone"  # the seat is given back, without any mark
    DECLINE_UNDONE = "decline_undone"  # the offer is open again
    TOO_LATE = "too_late"  # the window is over, or the gig no longer takes answers
    NO_SEAT = "no_seat"  # a decline cannot be undone: the seats went, or the offer ran out
    NOT_FOUND = "not_found"


class MoreTime(Enum):
    EXTENDED = "extended"
    ALREADY = "already"  # once per offer
    NO_ROOM = "no_room"  # the offer already runs to the latest moment allowed
    CLOSED = "closed"  # the offer is no longer open
    NOT_FOUND = "not_found"


class Swap(Enum):
    ASKED = "asked"
    PENDING = "pending"  # a colleague was already asked and has not answered
    NOT_ELIGIBLE = "not_eligible"  # the colleague no longer fits (or is on the gig already)
    CLOSED = "closed"  # the seat is no longer the asker's to hand over
    NOT_FOUND = "not_found"


@dataclass
class Outcome:
    """What an undo, a request for more time or a swap came to."""

    result: Undo | MoreTime | Swap
    offer: Offer | None = None
    gig: Gig | None = None
    name: str = ""  # a swap: the colleague asked


class Lifecycle:
    def __init__(
        self, deps: Deps, ranking: Ranking, offering: Offering, seats: Seats, status: Status
    ) -> None:
        self.d = deps
        self.ranking = ranking
        self.offering = offering
        self.seats = seats
        self.status = status

    # ----- undo ---------------------------------------------------------------------------

    def undo_open(self, offer: Offer) -> bool:
        """Whether an answer to this offer can still be undone."""
        window = timedelta(minutes=self.d.settings.undo_minutes)
        return (
            window > timedelta(0)
            and offer.answered_at is not None
            and self.d.clock.now() <= offer.answered_at + window
        )

    async def undo(self, s: AsyncSession, actor: Actor, offer_id: int) -> Outcome:
        """Take back an accept (the seat is given back through the one place, without any
        mark) or a decline (the offer is open again while a seat is free)."""
        offer = await own_offer(s, actor, offer_id)
        if offer is None:
            return Outcome(Undo.NOT_FOUND)
        gig = await GigRepo(s).lock(offer.gig_id)
        assert gig is not None
        await s.refresh(offer)
        now = self.d.clock.now()
        answered = offer.status in (OfferStatus.ACCEPTED, OfferStatus.DECLINED)
        if not answered or not self.undo_open(offer) or gig.status not in TAKING:
            return Outcome(Undo.TOO_LATE, offer, gig)
        if gig.starts_at <= now:
            return Outcome(Undo.TOO_LATE, offer, gig)
        detail = f"offer {offer.id}: {offer.status}"
        if offer.status == OfferStatus.ACCEPTED:
            await self.seats.release_seat(s, gig, offer, Release.UNDONE)
            await self.d.audit.record(s, actor, "undo", "gig", gig.id, detail)
            return Outcome(Undo.ACCEPT_UNDONE, offer, gig)
        free = gig.status == GigStatus.OPEN and gig.seats_filled < gig.seats
        if not free or (offer.expires_at is not None and offer.expires_at <= now):
            return Outcome(Undo.NO_SEAT, offer, gig)
        offer.status, offer.answered_at = OfferStatus.OPEN, None
        await self.d.audit.record(s, actor, "undo", "gig", gig.id, detail)
        self.status.mark(s, gig)
        return Outcome(Undo.DECLINE_UNDONE, offer, gig)

    async def offer_view(
        self, s: AsyncSession, offer: Offer, gig: Gig, lang: str
    ) -> tuple[str, list[list[tuple[str, str]]]]:
        """An open offer as its message says it (after an undone decline or more time): the
        text, and the buttons as catalog keys."""
        profile = await UserRepo(s).profile(offer.expert_id)
        name = profile.display_name if profile is not None else "–"
        rows = offer_rows(offer.id, more_time=offer.more_time_at is None and not offer.swap_from)
        if offer.swap_from is not None:
            rows = [*rows[:1], rows[1][:1]]
        return self.offering.offer_text(lang, gig, name, offer), rows

    # ----- more time ----------------------------------------------------------------------

    async def more_time(self, s: AsyncSession, actor: Actor, offer_id: int) -> Outcome:
        """Once per offer: keep it open longer, never past the gig's start minus the
        offers' minimum lead."""
        offer = await own_offer(s, actor, offer_id)
        if offer is None:
            return Outcome(MoreTime.NOT_FOUND)
        gig = await GigRepo(s).lock(offer.gig_id)
        assert gig is not None
        await s.refresh(offer)
        if await self.seats._cannot_take(s, offer, gig) is not None or offer.expires_at is None:
            return Outcome(MoreTime.CLOSED, offer, gig)
        if offer.more_time_at is not None:
            return Outcome(MoreTime.ALREADY, offer, gig)
        latest = gig.starts_at - timedelta(hours=self.d.settings.offer_min_lead_hours)
        extended = offer.expires_at + timedelta(hours=self.d.settings.offer_more_time_hours)
        until = min(extended, latest)
        if until <= offer.expires_at:
            return Outcome(MoreTime.NO_ROOM, offer, gig)
        offer.expires_at, offer.more_time_at = until, self.d.clock.now()
        await self.d.audit.record(
            s, actor, "more_time", "gig", gig.id, f"offer {offer.id} until {until.isoformat()}"
        )
        self.status.mark(s, gig)
        return Outcome(MoreTime.EXTENDED, offer, gig)

    # ----- swap ---------------------------------------------------------------------------

    async def _own_seat(self, s: AsyncSession, actor: Actor, offer_id: int) -> Outcome:
        """The asker's confirmed seat on a gig still to come, with the gig locked."""
        offer = await own_offer(s, actor, offer_id)
        if offer is None:
            return Outcome(Swap.NOT_FOUND)
        gig = await GigRepo(s).lock(offer.gig_id)
        assert gig is not None
        await s.refresh(offer)
        if (
            offer.status != OfferStatus.ACCEPTED
            or gig.status not in TAKING
            or gig.starts_at <= self.d.clock.now()
        ):
            return Outcome(Swap.CLOSED, offer, gig)
        return Outcome(Swap.ASKED, offer, gig)

    async def colleagues(
        self, s: AsyncSession, actor: Actor, offer_id: int
    ) -> tuple[Outcome, list[Ranked]]:
        """Colleagues who could take this seat: eligible by the same rules as any offer (so
        not paused, within their own limits), not on the gig, not waiting on an offer of it;
        in the rotation's order."""
        seat = await self._own_seat(s, actor, offer_id)
        if seat.result is not Swap.ASKED or seat.gig is None:
            return seat, []
        states = await OfferRepo(s).states(seat.gig.id)
        busy = (OfferStatus.ACCEPTED, OfferStatus.OPEN, OfferStatus.NO_SHOW)
        found = [
            r
            for r in await self.ranking.ranked(s, seat.gig)
            if r.expert_id != actor.id and states.get(r.expert_id) not in busy
        ]
        return seat, found

    async def _pending_swap(self, s: AsyncSession, offer: Offer) -> Offer | None:
        for other in await OfferRepo(s).live(offer.gig_id):
            if other.swap_from == offer.id and other.status == OfferStatus.OPEN:
                return other
        return None

    async def ask_swap(
        self, s: AsyncSession, actor: Actor, offer_id: int, colleague_id: int
    ) -> Outcome:
        """Send the chosen colleague a direct offer for this seat; the asker keeps the seat
        until the colleague accepts."""
        seat, found = await self.colleagues(s, actor, offer_id)
        offer, gig = seat.offer, seat.gig
        if seat.result is not Swap.ASKED or offer is None or gig is None:
            return seat
        if await self._pending_swap(s, offer) is not None:
            return Outcome(Swap.PENDING, offer, gig)
        chosen = next((r for r in found if r.expert_id == colleague_id), None)
        if chosen is None:
            return Outcome(Swap.NOT_ELIGIBLE, offer, gig)
        direct = await self._write_swap_offer(s, gig, offer, chosen, len(found))
        asker = await UserRepo(s).profile(actor.id)
        asker_name = asker.display_name if asker is not None else "–"
        await self._send_swap_offer(s, gig, direct, chosen.expert_id, asker_name)
        await self.d.audit.record(
            s, actor, "swap_asked", "gig", gig.id, f"offer {offer.id} → {chosen.name}"
        )
        self.status.mark(s, gig)
        return Outcome(Swap.ASKED, offer, gig, chosen.name)

    async def _write_swap_offer(
        self, s: AsyncSession, gig: Gig, offer: Offer, chosen: Ranked, pool: int
    ) -> Offer:
        now = self.d.clock.now()
        direct = (await OfferRepo(s).by_expert(gig.id)).get(chosen.expert_id)
        if direct is None:
            direct = Offer(gig_id=gig.id, expert_id=chosen.expert_id, created_at=now)
            s.add(direct)
        latest = gig.starts_at - timedelta(hours=self.d.settings.offer_min_lead_hours)
        direct.status, direct.created_at, direct.answered_at = OfferStatus.OPEN, now, None
        direct.rank, direct.pool, direct.swap_from = chosen.place, pool, offer.id
        direct.more_time_at = None
        direct.expires_at = max(
            now + timedelta(minutes=30),
            min(now + timedelta(hours=self.d.settings.swap_wait_hours), latest),
        )
        await s.flush()
        return direct

    async def _send_swap_offer(
        self, s: AsyncSession, gig: Gig, direct: Offer, colleague_id: int, asker: str
    ) -> None:
        colleague = await UserRepo(s).get(colleague_id)
        if colleague is None or direct.expires_at is None:
            return
        p, lang = self.d.p, colleague.language
        await self.d.notify.push(
            s,
            colleague,
            "lifecycle.swap_offer",
            buttons=[
                [
                    ("btn.accept", pack(OfferAccept(direct.id))),
                    ("btn.decline", pack(OfferDecline(direct.id))),
                ],
                [("btn.details", pack(OfferDetails(direct.id)))],
            ],
            tag=offer_tag(direct.id),
            quiet=True,
            asker=asker,
            title=p.gig_title(lang, gig),
            details=p.offer_brief(lang, gig_values(gig)),
            expires=p.when(lang, direct.expires_at),
        )
