"""Offering a gig: starting dispatch in a mode, the waves that follow, the coordinator's
hand-pick, what an offer says, and offers running out of time or out of reach."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from bot.callbacks import (
    OfferAccept,
    OfferDecline,
    OfferDetails,
    OfferMoreTime,
    OfferWhy,
    StepBack,
    pack,
)
from bot.errors import Refuse
from bot.messages import Keyboard
from bot.notify import next_allowed
from bot.present import gig_values
from bot.services.access import Actor
from bot.services.dispatch.common import (
    LOST_ALERT,
    Deps,
    Lost,
    offer_of_tag,
    offer_tag,
    own_offer,
)
from bot.services.dispatch.ranking import (
    Ranked,
    Ranking,
    WavePlan,
    next_wave,
    pickable,
    wave_plan,
    waves_left,
)
from bot.services.dispatch.status import Status
from storage.models import Gig, GigSeries, GigStatus, Offer, OfferStatus
from storage.repo import GigRepo, OfferRepo, SeriesRepo, UserRepo

MODES = ("broadcast", "cascade", "handpick")
# A later date of a "whole series": never offered on its own; the first date's offer takes a
# seat on it (Seats.accept).
SERIES_MODE = "series"


def offer_rows(offer_id: int, more_time: bool = True) -> list[list[tuple[str, str]]]:
    """An open offer's buttons (catalog keys): accept and decline; details and why; and
    "I need more time" until it has been used."""
    rows = [
        [
            ("btn.accept", pack(OfferAccept(offer_id))),
            ("btn.decline", pack(OfferDecline(offer_id))),
        ],
        [
            ("btn.details", pack(OfferDetails(offer_id))),
            ("btn.why", pack(OfferWhy(offer_id))),
        ],
    ]
    if more_time:
        rows.append([("btn.lifecycle.more_time", pack(OfferMoreTime(offer_id)))])
    return rows


class Offering:
    def __init__(self, deps: Deps, ranking: Ranking, status: Status) -> None:
        self.d = deps
        self.ranking = ranking
        self.status = status

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
        self._prepare(gig, mode)
        if mode == "handpick":
            sent = await self.handpick(s, actor, gig, picked or [], reason)
        else:
            sent = await self.proceed(s, gig)
        await self.status.post(s, gig)
        return sent

    def _prepare(self, gig: Gig, mode: str) -> None:
        settings = self.d.settings
        gig.dispatch_mode = mode
        gig.cascade_k = gig.cascade_k or settings.cascade_size
        gig.cascade_hours = gig.cascade_hours or settings.cascade_wait_hours
        if gig.deadline is None:
            # Seats should fill well before the day; a gig ordered at short notice gets a
            # couple of hours at least.
            now = self.d.clock.now()
            target = gig.starts_at - timedelta(hours=settings.fill_deadline_hours)
            gig.deadline = min(gig.starts_at, max(target, now + timedelta(hours=2)))

    async def proceed(self, s: AsyncSession, gig: Gig) -> int:
        """Send the offers the gig's mode calls for now; alert if nobody is left to ask."""
        if gig.status != GigStatus.OPEN or gig.starts_at <= self.d.clock.now():
            return 0
        if gig.dispatch_mode == SERIES_MODE:
            return 0
        if gig.seats - gig.seats_filled <= 0:
            return 0
        sent = 0
        if gig.dispatch_mode in ("broadcast", "cascade"):
            sent = await self._wave(s, gig)
        if sent:
            gig.exhausted_alerted = False
        elif await OfferRepo(s).count_open(gig.id) == 0 and not gig.exhausted_alerted:
            gig.exhausted_alerted = True
            await self.alert_nobody_left(s, gig)
        self.status.mark(s, gig)
        return sent

    def plan(self, gig: Gig) -> WavePlan:
        """The cascade's wave size and wait for this gig, by how far ahead it is now."""
        lead = gig.starts_at - self.d.clock.now()
        return wave_plan(lead, gig.cascade_k, gig.cascade_hours, self.d.settings)

    async def _wave(self, s: AsyncSession, gig: Gig) -> int:
        """Offer to the next ones in order (everyone not asked, or a cascade's wave); a cascade
        counts its waves and how many more the rest would take, for the status message."""
        ranked = await self.ranking.ranked(s, gig)
        states = await OfferRepo(s).states(gig.id)
        plan = self.plan(gig)
        # Near the start, everyone not asked yet, however many offers are still out.
        size = len(ranked) + len(states) if plan.size is None else plan.size
        wave = next_wave(ranked, states, gig.dispatch_mode, size)
        sent = await self._offer_many(s, gig, wave, len(ranked))
        if gig.dispatch_mode == "cascade":
            fresh = len(next_wave(ranked, states, "broadcast", 0))
            gig.waves_sent += 1 if sent else 0
            gig.waves_planned = gig.waves_sent + waves_left(fresh - sent, plan.size)
        return sent

    async def handpick(
        self, s: AsyncSession, actor: Actor | None, gig: Gig, user_ids: list[int], reason: str
    ) -> int:
        """Offer to experts the coordinator chose (only those still eligible)."""
        if reason:
            await self.d.audit.record(s, actor, "override", "gig", gig.id, reason)
        ranked = await self.ranking.ranked(s, gig)
        chosen = pickable(ranked, await OfferRepo(s).states(gig.id), user_ids)
        sent = await self._offer_many(s, gig, chosen, len(ranked), reason)
        self.status.mark(s, gig)
        return sent

    def _expiry(self, gig: Gig, delivered: datetime) -> datetime:
        hours = (
            self.plan(gig).hours
            if gig.dispatch_mode == "cascade"
            else self.d.settings.offer_valid_hours
        )
        latest = gig.starts_at - timedelta(hours=self.d.settings.offer_min_lead_hours)
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
        offers = await self._write_offers(s, gig, entries, pool, reason)
        users = await UserRepo(s).by_ids([r.expert_id for r in entries])
        whole = await self.whole_series(s, gig)
        details: dict[str, str] = {}
        rows = []
        for r, offer in zip(entries, offers, strict=True):
            user = users[r.expert_id]
            lang = user.language
            if lang not in details:
                details[lang] = self.d.p.offer_brief(lang, gig_values(gig))
                if whole is not None:
                    details[lang] += "\n\n" + self.whole_note(lang, *whole)
            row = self.d.notify.row(
                user,
                self.offer_text(lang, gig, r.name, offer, details[lang]),
                buttons=self.offer_buttons(lang, offer.id),
                tag=offer_tag(offer.id),
                quiet=True,
            )
            if row is not None:
                rows.append(row)
        s.add_all(rows)
        await s.flush()
        return len(offers)

    async def _write_offers(
        self, s: AsyncSession, gig: Gig, entries: list[Ranked], pool: int, reason: str
    ) -> list[Offer]:
        now = self.d.clock.now()
        existing = await OfferRepo(s).by_expert(gig.id)
        expires = self._expiry(gig, next_allowed(now, self.d.settings))
        offers = []
        for r in entries:
            offer = existing.get(r.expert_id)
            if offer is None:
                offer = Offer(gig_id=gig.id, expert_id=r.expert_id, created_at=now)
                s.add(offer)
            # (A closed offer is reopened: the gig filled before, and now a seat is free.)
            offer.status, offer.created_at, offer.answered_at = OfferStatus.OPEN, now, None
            offer.rank, offer.pool, offer.override_reason = r.place, pool, reason
            offer.expires_at = expires
            offers.append(offer)
        await s.flush()
        return offers

    # ----- what an offer says ---------------------------------------------------------------

    async def whole_series(self, s: AsyncSession, gig: Gig) -> tuple[GigSeries, list[Gig]] | None:
        """The series and its dates still to come, when `gig` opens a "whole series"."""
        group = await SeriesRepo(s).get(gig.series_id) if gig.series_id is not None else None
        if group is None or not group.whole:
            return None
        dates = await SeriesRepo(s).dates(group.id, since=gig.starts_at)
        return group, [g for g in dates if g.status in GigStatus.UPCOMING]

    def whole_note(self, lang: str, group: GigSeries, dates: list[Gig]) -> str:
        """What taking a whole series means, with every date."""
        p = self.d.p
        return p.t(
            lang,
            "series.offer_whole",
            series=p.series(lang, group, [g.starts_at for g in dates]),
            dates=", ".join(p.when(lang, g.starts_at) for g in dates),
        )

    def offer_text(
        self, lang: str, gig: Gig, name: str, offer: Offer, details: str | None = None
    ) -> str:
        assert offer.expires_at is not None
        p = self.d.p
        return p.t(
            lang,
            "offer.new",
            name=name,
            details=details or p.offer_brief(lang, gig_values(gig)),
            expires=p.when(lang, offer.expires_at),
        )

    def offer_buttons(self, lang: str, offer_id: int, more_time: bool = True) -> Keyboard | None:
        return self.d.notify.buttons(lang, offer_rows(offer_id, more_time))

    async def details(self, s: AsyncSession, actor: Actor, offer_id: int) -> str | None:
        """Everything about the gig of one's own offer; the contact person once confirmed."""
        offer = await own_offer(s, actor, offer_id)
        gig = await GigRepo(s).get(offer.gig_id) if offer is not None else None
        if offer is None or gig is None:
            return None
        p, lang = self.d.p, actor.lang
        return p.t(
            lang,
            "offer.details",
            title=p.gig_title(lang, gig),
            details=p.gig(lang, gig_values(gig), contact=offer.status == OfferStatus.ACCEPTED),
        )

    async def why(self, s: AsyncSession, actor: Actor, offer_id: int) -> str | None:
        """The plain reason an offer came to this expert."""
        offer = await own_offer(s, actor, offer_id)
        if offer is None:
            return None
        gig = await GigRepo(s).get(offer.gig_id)
        profile = await UserRepo(s).profile(actor.id)
        if gig is None or profile is None:
            return None
        done = (await self.ranking.rotation(s, [actor.id]))[actor.id]
        p, lang = self.d.p, actor.lang
        shared = [t for t in gig.topics if t in profile.topics]
        return p.t(
            lang,
            "offer.why",
            topics=p.labels(lang, "topic", shared),
            type=p.label(lang, "gig_type", gig.gig_type),
            place=offer.rank,
            pool=offer.pool,
            gigs=done.gigs,
            hours=p.num(lang, done.minutes / 60),
            mode=p.t(lang, f"mode.{gig.dispatch_mode}"),
        )

    async def alert_nobody_left(self, s: AsyncSession, gig: Gig) -> None:
        await self.d.alert_seats(s, gig, "coord.nobody_left")

    # ----- time passing, people out of reach -------------------------------------------------

    async def expire(self, s: AsyncSession, offer: Offer, gig: Gig) -> None:
        offer.status = OfferStatus.EXPIRED
        offer.answered_at = self.d.clock.now()
        expert = await UserRepo(s).get(offer.expert_id)
        if expert is not None:
            p, lang = self.d.p, expert.language
            text = p.t(lang, "offer.expired", title=p.gig_title(lang, gig))
            await self.d.notify.edit_text(s, expert, offer_tag(offer.id), text)
        if offer.swap_from is not None:
            await self.swap_unanswered(s, offer, gig)

    async def swap_unanswered(self, s: AsyncSession, direct: Offer, gig: Gig) -> None:
        """A colleague asked to take over a seat said no or did not answer in time: the
        asker chooses whether to step back (dispatch then goes on as always) or keep it."""
        first = await OfferRepo(s).get(direct.swap_from or 0)
        if first is None or first.status != OfferStatus.ACCEPTED:
            return
        asker = await UserRepo(s).get(first.expert_id)
        colleague = await UserRepo(s).profile(direct.expert_id)
        if asker is None:
            return
        key = (
            "lifecycle.swap_declined"
            if direct.status == OfferStatus.DECLINED
            else "lifecycle.swap_timed_out"
        )
        await self.d.notify.push(
            s,
            asker,
            key,
            buttons=[
                [("btn.lifecycle.swap_step_back", pack(StepBack(True, first.id)))],
                [("btn.lifecycle.swap_keep", pack(StepBack(False, first.id)))],
            ],
            name=colleague.display_name if colleague is not None else "–",
            title=self.d.p.gig_title(asker.language, gig),
        )

    async def tick(self, s: AsyncSession) -> int:
        """Expire offers whose time is up, send the next cascade wave, and alert on deadlines.

        Reads everything from the database, so it is safe to run at any time, any number of
        times, and after any downtime.
        """
        now = self.d.clock.now()
        due = await OfferRepo(s).due(now)
        touched: dict[int, Gig] = {}
        for offer, gig in due:
            await self.expire(s, offer, gig)
            touched[gig.id] = gig
        near = now + timedelta(hours=self.d.settings.wave_near_hours)
        for gig in await GigRepo(s).cascades_turning_near(now, near):
            touched[gig.id] = gig
        for gig in touched.values():
            await self.proceed(s, gig)
        late = await GigRepo(s).past_deadline(now)
        for gig in late:
            gig.deadline_alerted = True
            await self.d.alert_seats(s, gig, "coord.deadline")
        return len(due) + len(late)

    async def lost_contact(
        self, s: AsyncSession, telegram_id: int, tag: str | None, why: Lost
    ) -> None:
        """A message could not reach someone. If they blocked the bot they are skipped from
        now on; an open offer in that message moves on to the next person; coordinators hear
        whom to reach another way."""
        user = await UserRepo(s).by_telegram_id(telegram_id)
        if user is None:
            return
        if why is Lost.BLOCKED:
            user.reachable = False
        await self._move_on(s, offer_of_tag(tag), why)
        if why is Lost.BLOCKED and user.role != "expert":
            return
        profile = await UserRepo(s).profile(user.id)
        await self.d.notify.alert(
            s,
            "short",
            LOST_ALERT[why],
            claimable=True,
            id=user.id,
            about=user.id,
            name=profile.display_name if profile else user.name,
        )

    async def _move_on(self, s: AsyncSession, offer_id: int | None, why: Lost) -> None:
        """An offer that did not reach its expert: closed (blocked) or expired (failing), and
        the gig's next wave goes out."""
        offer = await OfferRepo(s).get(offer_id) if offer_id is not None else None
        if offer is None or offer.status != OfferStatus.OPEN:
            return
        gig = await GigRepo(s).lock(offer.gig_id)
        closed = OfferStatus.CLOSED if why is Lost.BLOCKED else OfferStatus.EXPIRED
        offer.status, offer.answered_at = closed, self.d.clock.now()
        if gig is not None:
            await s.flush()
            await self.proceed(s, gig)
