"""Changes a coordinator (or an orderer) makes to a gig once it is offered: cancel, move,
mark held, no-show, replace, companion, preparation time, a message to the confirmed.
Every mutation takes the acting `Actor` and records it in the audit."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from bot.callbacks import OfferDetails, Reconfirm, pack
from bot.errors import Refuse
from bot.present import gig_values
from bot.services.access import Actor
from bot.services.dispatch.common import Deps, NoShow, Release, offer_tag
from bot.services.dispatch.offering import Offering
from bot.services.dispatch.ranking import touch
from bot.services.dispatch.seats import TAKING, Seats
from bot.services.dispatch.status import Status
from bot.services.series import shifted
from bot.settings import LANGUAGES
from storage.models import Gig, GigStatus, Offer, OfferStatus, User
from storage.repo import GigRepo, OfferRepo, SeriesRepo, UserRepo

Before = dict[str, tuple[str, str]]  # per language: the time as it read, and the place


class Changes:
    def __init__(self, deps: Deps, offering: Offering, seats: Seats, status: Status) -> None:
        self.d = deps
        self.offering = offering
        self.seats = seats
        self.status = status

    async def _upcoming(self, s: AsyncSession, gig_id: int, refusal: str) -> Gig:
        gig = await GigRepo(s).lock(gig_id)
        if gig is None or gig.status not in GigStatus.UPCOMING:
            raise Refuse(refusal)
        return gig

    # ----- cancel ---------------------------------------------------------------------------

    async def cancel_gig(self, s: AsyncSession, actor: Actor, gig_id: int, reason: str) -> Gig:
        """Cancel for everyone: confirmed experts and open offers are told at once."""
        gig = await self._upcoming(s, gig_id, "err.gig_not_found")
        for offer, expert in await self._cancel_one(s, actor, gig, reason):
            await self._tell_cancelled(s, gig, offer, expert, was_open=False)
        await self._tell_others_cancelled(s, actor, gig)
        return gig

    async def _cancel_one(
        self, s: AsyncSession, actor: Actor, gig: Gig, reason: str
    ) -> list[tuple[Offer, User]]:
        """Cancel one locked gig: open offers are edited to say so at once; the confirmed
        experts are returned for the caller to tell (once, for a series)."""
        await self.d.audit.record(s, actor, "cancel", "gig", gig.id, reason)
        now = self.d.clock.now()
        gig.status, gig.cancelled_at, gig.cancel_reason = GigStatus.CANCELLED, now, reason
        confirmed = []
        for offer in await OfferRepo(s).live(gig.id):
            was_open = offer.status == OfferStatus.OPEN
            if not was_open:
                touch(s, offer.expert_id)  # a confirmed gig no longer counts
            offer.status, offer.answered_at = OfferStatus.CANCELLED, now
            await self.d.fees.drop(s, gig.id, offer.expert_id)
            expert = await UserRepo(s).get(offer.expert_id)
            if expert is None:
                continue
            if was_open:
                await self._tell_cancelled(s, gig, offer, expert, was_open=True)
            else:
                confirmed.append((offer, expert))
        await self.d.checkins.sync_gig(s, gig)
        self.status.mark(s, gig)
        return confirmed

    async def cancel_series(
        self, s: AsyncSession, actor: Actor, gig_id: int, reason: str
    ) -> list[Gig]:
        """Cancel this date of a series and every later one. Each confirmed expert hears
        once, with all their dates (and a cancelling calendar file per date); the orderer
        and the coordinators once too."""
        first = await self._upcoming(s, gig_id, "err.gig_not_found")
        gigs = await self._this_and_later(s, first)
        told: dict[int, tuple[User, list[Gig]]] = {}
        for gig in gigs:
            await GigRepo(s).lock(gig.id)
            for _offer, expert in await self._cancel_one(s, actor, gig, reason):
                told.setdefault(expert.id, (expert, []))[1].append(gig)
                await self.d.checkins.send_calendar(s, gig, expert, cancelled=True)
        for expert, theirs in told.values():
            await self.d.notify.push(
                s,
                expert,
                "series.cancelled_expert",
                dates=self._dates(expert.language, theirs),
                reason=reason,
                title=self.d.p.gig_title(expert.language, theirs[0]),
            )
        await self._tell_others_series(s, actor, gigs, reason)
        return gigs

    async def _this_and_later(self, s: AsyncSession, first: Gig) -> list[Gig]:
        """`first` and the later dates of its series that can still change, in time order."""
        if first.series_id is None:
            return [first]
        now = self.d.clock.now()
        later = await SeriesRepo(s).dates(first.series_id, since=first.starts_at)
        return [
            g
            for g in later
            if g.id == first.id or (g.status in GigStatus.UPCOMING and g.starts_at > now)
        ]

    def _dates(self, lang: str, gigs: list[Gig]) -> str:
        return ", ".join(self.d.p.when(lang, g.starts_at) for g in gigs)

    async def _tell_others_series(
        self, s: AsyncSession, actor: Actor, gigs: list[Gig], reason: str
    ) -> None:
        orderer = await UserRepo(s).get(gigs[0].orderer_id)
        if orderer is not None and orderer.id != actor.id:
            await self.d.notify.push(
                s,
                orderer,
                "series.cancelled_orderer",
                reason=reason,
                title=self.d.p.gig_title(orderer.language, gigs[0]),
                dates=self._dates(orderer.language, gigs),
            )
        await self.d.notify.alert(
            s,
            "orders",
            "series.cancelled_coord",
            exclude=actor.id,
            reason=reason,
            by=actor.user.name if actor.user else "",
            per_lang=lambda lang: {
                "title": self.d.p.gig_title(lang, gigs[0]),
                "dates": self._dates(lang, gigs),
            },
        )

    async def change_series(
        self,
        s: AsyncSession,
        actor: Actor,
        gig_id: int,
        *,
        starts_at: datetime | None = None,
        place: str | None = None,
    ) -> list[Gig]:
        """Change this date of a series and every later one the same way: a new place for
        each, or each moved as this one moves (in local wall-clock time)."""
        first = await self._upcoming(s, gig_id, "err.gig_not_found")
        gigs = await self._this_and_later(s, first)
        old_first = first.starts_at
        placed: dict[int, tuple[User, list[Gig]]] = {}
        lines: dict[str, list[str]] = {lang: [] for lang in LANGUAGES}
        for gig in gigs:
            await GigRepo(s).lock(gig.id)
            moved = shifted(gig.starts_at, old_first, starts_at, self.d.tz) if starts_at else None
            old = await self._change_one(s, actor, gig, moved, place, placed)
            for lang in LANGUAGES:
                what = self._what_changed(lang, gig, old[lang], moved, place).replace("\n", " · ")
                lines[lang].append(f"• {self.d.p.when(lang, gig.starts_at)}: {what}")
        for expert, theirs in placed.values():
            await self.d.notify.push(
                s,
                expert,
                "series.changed_expert",
                title=self.d.p.gig_title(expert.language, theirs[0]),
                dates=self._dates(expert.language, theirs),
                place=place or "",
            )
        await self._tell_others_changed(s, actor, gigs, lines)
        return gigs

    async def _tell_others_changed(
        self, s: AsyncSession, actor: Actor, gigs: list[Gig], lines: dict[str, list[str]]
    ) -> None:
        """The orderer and the coordinators hear of a series' change once, date by date."""
        targets = [await UserRepo(s).get(gigs[0].orderer_id), *await UserRepo(s).coordinators()]
        for person in targets:
            if person is None or person.id == actor.id:
                continue
            lang = person.language
            await self.d.notify.push(
                s,
                person,
                "series.changed_info",
                title=self.d.p.gig_title(lang, gigs[0]),
                what="\n".join(lines[lang]),
            )

    async def _tell_cancelled(
        self, s: AsyncSession, gig: Gig, offer: Offer, expert: User, was_open: bool
    ) -> None:
        p, lang, reason = self.d.p, expert.language, gig.cancel_reason
        title = p.gig_title(lang, gig)
        if was_open:
            text = p.t(lang, "offer.cancelled", title=title, reason=reason)
            await self.d.notify.edit_text(s, expert, offer_tag(offer.id), text)
            return
        await self.d.notify.push(s, expert, "gig.cancelled_expert", title=title, reason=reason)
        # The calendar entry is withdrawn too (same UID, METHOD:CANCEL).
        await self.d.checkins.send_calendar(s, gig, expert, cancelled=True)

    async def _tell_others_cancelled(self, s: AsyncSession, actor: Actor, gig: Gig) -> None:
        orderer = await UserRepo(s).get(gig.orderer_id)
        if orderer is not None and orderer.id != actor.id:
            await self.d.notify.push(
                s,
                orderer,
                "gig.cancelled_orderer",
                reason=gig.cancel_reason,
                title=self.d.p.gig_title(orderer.language, gig),
            )
        await self.d.notify.alert(
            s,
            "orders",
            "gig.cancelled_coord",
            exclude=actor.id,
            reason=gig.cancel_reason,
            by=actor.user.name if actor.user else "",
            per_lang=self.d.p.title_args(gig),
        )

    # ----- move -----------------------------------------------------------------------------

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
        gig = await self._upcoming(s, gig_id, "err.gig_not_found")
        old = await self._change_one(s, actor, gig, starts_at, place, None)
        targets = [await UserRepo(s).get(gig.orderer_id), *await UserRepo(s).coordinators()]
        for person in targets:
            if person is None or person.id == actor.id:
                continue
            lang = person.language
            await self.d.notify.push(
                s,
                person,
                "gig.changed_info",
                title=self.d.p.gig_title(lang, gig),
                what=self._what_changed(lang, gig, old[lang], starts_at, place),
            )
        await self.seats.reconfirm_orderer(s, gig)
        return gig

    async def _change_one(
        self,
        s: AsyncSession,
        actor: Actor,
        gig: Gig,
        starts_at: datetime | None,
        place: str | None,
        placed: dict[int, tuple[User, list[Gig]]] | None,
    ) -> Before:
        """Apply one change to one locked gig and tell its experts; returns how it read
        before. `placed`: collect the confirmed experts of a new place instead of telling
        them (a series tells each once); a new time asks each date again."""
        p = self.d.p
        old = {lang: (p.when(lang, gig.starts_at), gig.place) for lang in LANGUAGES}
        self._apply_change(gig, starts_at, place)
        what = " ".join(x for x in (starts_at.isoformat() if starts_at else "", place or "") if x)
        await self.d.audit.record(s, actor, "change", "gig", gig.id, what)
        await s.flush()
        await self.d.checkins.sync_gig(s, gig)
        for offer in await OfferRepo(s).live(gig.id):
            if starts_at is not None and offer.status == OfferStatus.ACCEPTED:
                touch(s, offer.expert_id)  # the gig counts from its new start
            if placed is not None and starts_at is None and offer.status != OfferStatus.OPEN:
                expert = await UserRepo(s).get(offer.expert_id)
                if expert is not None:
                    placed.setdefault(expert.id, (expert, []))[1].append(gig)
                    await self.d.checkins.send_calendar(s, gig, expert)
                continue
            await self._tell_expert_changed(s, gig, offer, old, starts_at, place)
        self.status.mark(s, gig)
        return old

    def _apply_change(self, gig: Gig, starts_at: datetime | None, place: str | None) -> None:
        if starts_at is not None:
            if starts_at <= self.d.clock.now():
                raise Refuse("err.datetime_past")
            gig.starts_at = starts_at
            gig.deadline = None
            gig.deadline_alerted = False
        if place is not None:
            gig.place = place
        gig.revision += 1

    async def _tell_expert_changed(
        self,
        s: AsyncSession,
        gig: Gig,
        offer: Offer,
        old: Before,
        starts_at: datetime | None,
        place: str | None,
    ) -> None:
        """An open offer is edited to the new facts; a confirmed expert hears what changed,
        gets the new calendar entry, and after a time change is asked to confirm again."""
        expert = await UserRepo(s).get(offer.expert_id)
        profile = await UserRepo(s).profile(offer.expert_id)
        if expert is None or profile is None:
            return
        p, lang = self.d.p, expert.language
        what = self._what_changed(lang, gig, old[lang], starts_at, place)
        if offer.status == OfferStatus.OPEN:
            text = p.t(lang, "offer.changed", what=what) + "\n\n"
            text += self.offering.offer_text(lang, gig, profile.display_name, offer)
            buttons = self.offering.offer_buttons(lang, offer.id)
            await self.d.notify.edit_text(s, expert, offer_tag(offer.id), text, buttons)
            return
        if starts_at is not None:
            offer.reconfirm = True
            await self.d.notify.push(
                s,
                expert,
                "gig.changed_reconfirm",
                what=what,
                title=p.gig_title(lang, gig),
                buttons=[
                    [("btn.still_coming", pack(Reconfirm(True, offer.id)))],
                    [("btn.cannot_come", pack(Reconfirm(False, offer.id)))],
                    [("btn.details", pack(OfferDetails(offer.id)))],
                ],
            )
        else:
            await self.d.notify.push(
                s,
                expert,
                "gig.changed",
                what=what,
                title=p.gig_title(lang, gig),
                details=p.gig(lang, gig_values(gig)),
            )
        await self.d.checkins.send_calendar(s, gig, expert)

    def _what_changed(
        self,
        lang: str,
        gig: Gig,
        old: tuple[str, str],
        starts_at: datetime | None,
        place: str | None,
    ) -> str:
        p = self.d.p
        parts = []
        if starts_at is not None:
            parts.append(p.t(lang, "gig.change_time", old=old[0], new=p.when(lang, gig.starts_at)))
        if place is not None:
            parts.append(p.t(lang, "gig.change_place", old=old[1], new=gig.place))
        return "\n".join(parts)

    # ----- the coordinator's desk -----------------------------------------------------------

    async def mark_done(self, s: AsyncSession, actor: Actor, gig_id: int) -> Gig:
        gig = await GigRepo(s).lock(gig_id)
        if gig is None or gig.status not in TAKING:
            raise Refuse("gig.not_changeable")
        if gig.starts_at > self.d.clock.now():
            raise Refuse("desk.not_yet")
        gig.status = GigStatus.DONE
        await OfferRepo(s).close_open(gig.id, self.d.clock.now())
        await self.d.audit.record(s, actor, "done", "gig", gig.id)
        return gig

    async def no_show(self, s: AsyncSession, actor: Actor, offer_id: int) -> NoShow:
        """Record that a confirmed expert did not come (only after the gig has started); the
        agreed fee goes, and the coordinator is told so, with the person's name to check on."""
        offer = await OfferRepo(s).get(offer_id)
        gig = await GigRepo(s).get(offer.gig_id) if offer else None
        if offer is None or gig is None or offer.status != OfferStatus.ACCEPTED:
            raise Refuse("err.stale")
        if gig.starts_at > self.d.clock.now():
            raise Refuse("desk.not_yet")
        offer.status = OfferStatus.NO_SHOW
        touch(s, offer.expert_id)  # a gig not done does not count in the rotation
        fee = await self.d.fees.of_gig(s, gig.id, offer.expert_id)
        dropped = await self.d.fees.drop(s, gig.id, offer.expert_id)
        audit = self.d.audit
        await audit.record(s, actor, "no_show", "gig", gig.id, f"offer {offer.id}")
        await audit.record(s, actor, "no_show", "expert", offer.expert_id, f"gig {gig.id}")
        profile = await UserRepo(s).profile(offer.expert_id)
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
        offer = await OfferRepo(s).get(offer_id)
        gig = await GigRepo(s).lock(offer.gig_id) if offer else None
        if offer is None or gig is None or offer.status != OfferStatus.ACCEPTED:
            raise Refuse("err.stale")
        await self.d.audit.record(s, actor, "replace", "gig", gig.id, f"offer {offer.id}")
        await self.seats.release_seat(s, gig, offer, Release.REPLACED)
        return gig

    async def set_prep_hours(self, s: AsyncSession, actor: Actor, gig_id: int, hours: int) -> Gig:
        """This gig's preparation check-in comes `hours` before it (instead of the default)."""
        gig = await self._upcoming(s, gig_id, "gig.not_changeable")
        gig.prep_hours = hours
        await self.d.audit.record(s, actor, "prep_hours", "gig", gig.id, str(hours))
        await self.d.checkins.sync_gig(s, gig)
        return gig

    async def message_confirmed(self, s: AsyncSession, actor: Actor, gig_id: int, text: str) -> int:
        gig = await GigRepo(s).get(gig_id)
        if gig is None:
            raise Refuse("err.gig_not_found")
        rows = await OfferRepo(s).accepted(gig_id)
        for offer in rows:
            expert = await UserRepo(s).get(offer.expert_id)
            if expert is not None:
                await self.d.notify.push(
                    s,
                    expert,
                    "desk.message",
                    text=text,
                    title=self.d.p.gig_title(expert.language, gig),
                    by=actor.user.name if actor.user else "",
                )
        await self.d.audit.record(s, actor, "message", "gig", gig_id, text)
        return len(rows)

    async def people(self, s: AsyncSession, gig_id: int) -> list[tuple[Offer, str]]:
        """Everyone offered this gig, best first, with their chosen names."""
        return await OfferRepo(s).with_names(gig_id)

    async def set_companion(
        self, s: AsyncSession, actor: Actor, gig_id: int, name: str
    ) -> tuple[Gig, int]:
        """Name the adult accompanying youth experts; confirms the youth experts waiting."""
        gig = await GigRepo(s).lock(gig_id)
        if gig is None or gig.status not in TAKING:
            raise Refuse("err.gig_not_found")
        gig.companion = name
        await self.d.audit.record(s, actor, "companion", "gig", gig.id, name)
        waiting = await OfferRepo(s).awaiting_companion(gig_id)
        for offer in waiting:
            offer.awaiting_companion = False
            expert = await UserRepo(s).get(offer.expert_id)
            if expert is not None:
                await self._confirm_with_companion(s, gig, offer, expert)
        if waiting and gig.status == GigStatus.FILLED:
            await s.flush()
            names = ", ".join(await OfferRepo(s).accepted_names(gig.id))
            await self.seats.tell_orderer_filled(s, gig, names)
        return gig, len(waiting)

    async def _confirm_with_companion(
        self, s: AsyncSession, gig: Gig, offer: Offer, expert: User
    ) -> None:
        p, lang = self.d.p, expert.language
        await self.d.notify.push(
            s,
            expert,
            "offer.confirmation",
            title=p.gig_title(lang, gig),
            details=p.confirmed_brief(lang, gig_values(gig)),
            buttons=[[("btn.details", pack(OfferDetails(offer.id)))]],
        )
        await self.d.checkins.confirmed(s, gig, expert)
