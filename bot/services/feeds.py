"""Private calendar subscriptions: one iCalendar feed per person, served by the bot's HTTP
side (bot/web.py) at `<PUBLIC_URL>/calendar/<secret>.ics`.

An expert's feed holds every gig they are confirmed on (from 60 days back): the same UIDs and
SEQUENCEs as the files sent in chat, so an app that has both keeps one entry per gig, and a
changed time or place reaches the calendar at its next refresh. A gig they step back from, or
that is cancelled, leaves the feed (and so the calendar). A coordinator's feed holds every
approved gig. The secret is shown once; only its SHA-256 is stored, and a new link replaces
the old one at once.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.calendar import calendar
from bot.clock import Clock
from bot.present import Presenter
from bot.services.checkins import CheckIns
from storage.models import CalendarFeed, Gig, GigStatus, Offer, OfferStatus, Role, User

PAST_DAYS = 60  # how far back a feed reaches: recent gigs stay visible for a while


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


class Feeds:
    def __init__(self, presenter: Presenter, checkins: CheckIns, clock: Clock) -> None:
        self.p = presenter
        self.checkins = checkins
        self.clock = clock

    async def issue(self, s: AsyncSession, user: User) -> str:
        """A new secret for `user`'s feed; any earlier link stops working."""
        token = secrets.token_urlsafe(24)
        await s.execute(delete(CalendarFeed).where(CalendarFeed.user_id == user.id))
        s.add(CalendarFeed(user_id=user.id, token_hash=_hash(token), created_at=self.clock.now()))
        return token

    async def revoke(self, s: AsyncSession, user: User) -> bool:
        """Stop `user`'s feed; true when there was one."""
        result = await s.execute(delete(CalendarFeed).where(CalendarFeed.user_id == user.id))
        return bool(getattr(result, "rowcount", 0))

    async def since(self, s: AsyncSession, user: User) -> datetime | None:
        """When the current link was made (for /mydata), or None."""
        return await s.scalar(
            select(CalendarFeed.created_at).where(CalendarFeed.user_id == user.id)
        )

    async def render(self, s: AsyncSession, token: str) -> str | None:
        """The feed a secret opens, or None for an unknown or replaced one."""
        if not token or len(token) > 64:
            return None
        user = await s.scalar(
            select(User)
            .join(CalendarFeed, CalendarFeed.user_id == User.id)
            .where(CalendarFeed.token_hash == _hash(token))
        )
        if user is None or user.role not in (Role.EXPERT, Role.COORDINATOR):
            return None
        gigs = await self._gigs(s, user)
        events = [self.checkins.calendar_event(gig, user.language) for gig in gigs]
        name = self.p.t(user.language, "feed.name")
        return calendar(events, name=name)

    async def _gigs(self, s: AsyncSession, user: User) -> list[Gig]:
        start = self.clock.now() - timedelta(days=PAST_DAYS)
        query = select(Gig).where(Gig.starts_at >= start, Gig.status.in_(GigStatus.HAPPENING))
        if user.role == Role.EXPERT:
            query = query.join(Offer, Offer.gig_id == Gig.id).where(
                Offer.expert_id == user.id, Offer.status == OfferStatus.ACCEPTED
            )
        return list((await s.scalars(query.order_by(Gig.starts_at, Gig.id))).all())
