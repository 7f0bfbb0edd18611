"""An expert's say over when and what (issue 16): the weekly pattern and dated blocks
(/availability), and the open gigs they fit but were not offered yet (/opengigs) with their
"I'm interested", which breaks ties in the rotation (bot.services.dispatch.ranking).

Matching enforces the pattern and the away periods (`matching.available`); a period with only
a note is shown to coordinators and never enforced.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.clock import Clock
from bot.services import matching
from bot.services.access import Actor
from bot.services.dispatch import Dispatch
from storage import vocab
from storage.models import AvailabilityBlock, ExpertProfile, Gig, GigStatus, Offer, User
from storage.repo import AvailabilityRepo, InterestRepo, UserRepo

# Modes in which an expert may be chosen later than the first offers: a broadcast asks every
# eligible expert at once, so there is nothing left to be interested in.
INTEREST_MODES = ("cascade", "handpick")
OPEN_GIGS_LOOKED_AT = 100  # the soonest open gigs /opengigs checks, each against the rules


@dataclass(frozen=True)
class Pattern:
    """What /availability shows: the weekly pattern and the dated blocks still to come."""

    unavailable: int
    blocks: list[AvailabilityBlock]


@dataclass(frozen=True)
class GigAvailability:
    """What the coordinator's ranking view says about availability for one gig: the notes of
    the eligible experts whose periods cover the day, and who is left out as not available
    then (with the note of their away period, if any)."""

    notes: list[tuple[str, str]]
    unavailable: list[tuple[str, str]]


@dataclass(frozen=True)
class OpenGig:
    gig: Gig
    interested: bool


class Availability:
    def __init__(self, clock: Clock, tz: ZoneInfo, dispatch: Dispatch) -> None:
        self.clock = clock
        self._tz = tz
        self.dispatch = dispatch

    def _today(self) -> date:
        return self.clock.now().astimezone(self._tz).date()

    async def _profile(self, s: AsyncSession, actor: Actor) -> ExpertProfile | None:
        return await UserRepo(s).profile(actor.id)

    # ----- the weekly pattern and the blocks ----------------------------------------------

    async def pattern(self, s: AsyncSession, actor: Actor) -> Pattern | None:
        profile = await self._profile(s, actor)
        if profile is None:
            return None
        today = self._today()
        blocks = [b for b in await AvailabilityRepo(s).blocks(actor.id) if b.ends_on >= today]
        return Pattern(profile.unavailable_slots, blocks)

    async def toggle(self, s: AsyncSession, actor: Actor, index: int) -> Pattern | None:
        """Flip one slot of the week (weekday * 3 + slot) between available and not."""
        profile = await self._profile(s, actor)
        if profile is None or not 0 <= index < vocab.WEEK_SLOTS:
            return None
        profile.unavailable_slots ^= 1 << index
        profile.updated_at = self.clock.now()
        return await self.pattern(s, actor)

    async def add_block(
        self, s: AsyncSession, actor: Actor, starts_on: date, ends_on: date, away: bool, note: str
    ) -> None:
        s.add(
            AvailabilityBlock(
                user_id=actor.id,
                starts_on=starts_on,
                ends_on=ends_on,
                away=away,
                note=note,
                created_at=self.clock.now(),
            )
        )
        await s.flush()

    async def drop_past(self, s: AsyncSession) -> int:
        """Delete the periods that ended before today."""
        return await AvailabilityRepo(s).drop_past(self._today())

    async def remove_block(self, s: AsyncSession, actor: Actor, block_id: int) -> bool:
        return await AvailabilityRepo(s).remove(actor.id, block_id)

    async def for_gig(self, s: AsyncSession, gig: Gig, ranked_ids: set[int]) -> GigAvailability:
        day = gig.starts_at.astimezone(self._tz).date()
        covering = await AvailabilityRepo(s).notes_on(day)
        out = await self.dispatch.ranking.unavailable(s, gig)
        names = {uid: name for uid, name in out}
        notes = [
            (name, b.note)
            for uid, name in await self._names(s, covering.keys() & ranked_ids)
            for b in covering[uid]
            if b.note
        ]
        away = [
            (names[uid], next((b.note for b in covering.get(uid, []) if b.away and b.note), ""))
            for uid in names
        ]
        return GigAvailability(notes, away)

    async def _names(self, s: AsyncSession, ids: set[int]) -> list[tuple[int, str]]:
        if not ids:
            return []
        rows = await s.execute(
            select(ExpertProfile.user_id, ExpertProfile.display_name)
            .where(ExpertProfile.user_id.in_(sorted(ids)))
            .order_by(ExpertProfile.user_id)
        )
        return [(uid, name) for uid, name in rows]

    # ----- open gigs and interest ---------------------------------------------------------

    async def open_gigs(self, s: AsyncSession, actor: Actor) -> list[OpenGig]:
        """Open cascade and hand-pick gigs the expert fits now and was never offered."""
        user, profile = actor.user, await self._profile(s, actor)
        if user is None or profile is None:
            return []
        offered = set(
            (await s.scalars(select(Offer.gig_id).where(Offer.expert_id == user.id))).all()
        )
        keen = await InterestRepo(s).of_expert(user.id)
        found = []
        for gig in await self._candidates(s, None):
            if gig.id not in offered and await self._fits(s, gig, user, profile):
                found.append(OpenGig(gig, gig.id in keen))
        return found

    async def _candidates(self, s: AsyncSession, gig_id: int | None) -> list[Gig]:
        """Open gigs still to come in a mode that asks later (one, or the soonest)."""
        query = select(Gig).where(
            Gig.status == GigStatus.OPEN,
            Gig.dispatch_mode.in_(INTEREST_MODES),
            Gig.starts_at > self.clock.now(),
            Gig.seats_filled < Gig.seats,
        )
        if gig_id is not None:
            query = query.where(Gig.id == gig_id)
        rows = await s.scalars(query.order_by(Gig.starts_at, Gig.id).limit(OPEN_GIGS_LOOKED_AT))
        return list(rows.all())

    async def _open_for(self, s: AsyncSession, actor: Actor, gig_id: int) -> Gig | None:
        """The gig, if it is open for this expert right now (as /opengigs would list it)."""
        user, profile = actor.user, await self._profile(s, actor)
        found = await self._candidates(s, gig_id)
        if user is None or profile is None or not found:
            return None
        offered = await s.scalar(
            select(Offer.id).where(Offer.gig_id == gig_id, Offer.expert_id == user.id)
        )
        fits = offered is None and await self._fits(s, found[0], user, profile)
        return found[0] if fits else None

    async def _fits(self, s: AsyncSession, gig: Gig, user: User, profile: ExpertProfile) -> bool:
        load = (await matching.loads(s, gig, [user.id], self._tz))[user.id]
        return not matching.reasons_not(gig, user, profile, load, self._today(), self._tz)

    async def set_interest(self, s: AsyncSession, actor: Actor, gig_id: int, on: bool) -> bool:
        """Say or withdraw "I'm interested". Saying it is checked again at the tap: the gig
        must still be open in a mode that asks later, not offered to them yet, and a fit.
        Withdrawing always works. False: the gig is no longer open for this expert."""
        if not on:
            await InterestRepo(s).set(gig_id, actor.id, False, self.clock.now())
            return True
        gig = await self._open_for(s, actor, gig_id)
        if gig is None:
            return False
        await InterestRepo(s).set(gig_id, actor.id, True, self.clock.now())
        self.dispatch.status.mark(s, gig)  # the status message counts the interested
        return True
