"""The coordinator's live status message per gig: what it says, and when it is edited.

A change to a gig's offers only marks the gig dirty (`Status.mark`); its message is edited
once, when the unit of work is about to commit (`Status.refresh_dirty`). bot/core.py
registers that as a hook of `Database.unit_of_work`, so every entry point (an update, a
scheduler job, a delivery event from the outbox) refreshes the gigs it touched exactly once,
with their final state, and no service has to remember to do it. Nothing is edited when the
unit of work fails: the hook runs only on the way to a commit.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy.ext.asyncio import AsyncSession

from bot.notify import next_allowed
from bot.services.dispatch.common import Deps, status_tag
from bot.services.dispatch.ranking import wave_plan
from storage.models import Gig, Offer, OfferStatus
from storage.repo import InterestRepo, OfferRepo, UserRepo

STATUS_NAMES_MAX = 30
# A handover as the status message names it; anything else (declined, expired) did not happen.
SWAP_STATE = {
    OfferStatus.OPEN: "asked",
    OfferStatus.ACCEPTED: "taken",
    OfferStatus.WITHDRAWN: "taken",
    OfferStatus.NO_SHOW: "taken",
}
DIRTY = "dispatch:status_dirty"  # session.info key: gigs whose status message is out of date
COUNTED = (
    OfferStatus.OPEN,
    OfferStatus.ACCEPTED,
    OfferStatus.DECLINED,
    OfferStatus.EXPIRED,
    OfferStatus.WITHDRAWN,
)
ICONS: dict[str, str] = {
    OfferStatus.OPEN: "⏳",
    OfferStatus.ACCEPTED: "✅",
    OfferStatus.DECLINED: "➖",
    OfferStatus.EXPIRED: "⌛",
    OfferStatus.WITHDRAWN: "↩️",
    OfferStatus.CLOSED: "·",
    OfferStatus.CANCELLED: "·",
}


def _dirty(s: AsyncSession) -> dict[int, Gig]:
    found: dict[int, Gig] = s.info.setdefault(DIRTY, {})
    return found


def name_line(rows: Sequence[tuple[str, str]]) -> str:
    """One icon and name per person offered the gig."""
    return " ".join(f"{ICONS.get(st, '·')}{name or '–'}" for st, name in rows)


class Status:
    def __init__(self, deps: Deps) -> None:
        self.d = deps

    def mark(self, s: AsyncSession, gig: Gig) -> None:
        """The gig's status message is out of date: edit it before this unit of work ends."""
        _dirty(s)[gig.id] = gig

    async def refresh_dirty(self, s: AsyncSession) -> None:
        """Edit the status message of every gig marked in this unit of work, once each."""
        dirty = _dirty(s)
        while dirty:
            _, gig = dirty.popitem()
            await self.refresh(s, gig)

    async def refresh(self, s: AsyncSession, gig: Gig) -> None:
        """Edit every coordinator's status message for this gig in place."""
        for coord in await UserRepo(s).coordinators():
            await self.d.notify.edit_text(
                s, coord, status_tag(gig.id), await self.text(s, gig, coord.language)
            )

    async def post(self, s: AsyncSession, gig: Gig) -> None:
        """Send every coordinator a fresh status message for this gig (dispatch starts). It
        goes out once the offers are made, so its first words are true ("3 people asked",
        not "0"); an edit of it pending from the same unit of work would say the same."""
        _dirty(s).pop(gig.id, None)
        for coord in await UserRepo(s).coordinators():
            text = await self.text(s, gig, coord.language)
            await self.d.notify.push_text(s, coord, text, tag=status_tag(gig.id))

    def waves_line(self, gig: Gig, lang: str, offers: Sequence[Offer]) -> str:
        """ "Wave 2 of ~4, next in about 6 h": the cascade's plan by the gig's lead time, and
        when the next wave goes at the latest (an offer running out; a "no" brings it sooner).
        """
        p, settings, now = self.d.p, self.d.settings, self.d.clock.now()
        plan = wave_plan(gig.starts_at - now, gig.cascade_k, gig.cascade_hours, settings)
        line = p.t(
            lang,
            f"avail_status.plan_{plan.band}",
            size=plan.size or 0,
            hours=plan.hours,
            far_days=settings.wave_far_days,
            near_hours=settings.wave_near_hours,
        )
        waiting = [o.expires_at for o in offers if o.status == OfferStatus.OPEN and o.expires_at]
        if plan.size is None or gig.waves_planned <= gig.waves_sent or not waiting:
            key, hours = "avail_status.wave_last", 0
        else:
            key = "avail_status.wave"
            hours = max(1, round((min(waiting) - now).total_seconds() / 3600))
        wave = p.t(lang, key, wave=gig.waves_sent, planned=gig.waves_planned, hours=hours)
        return f"{wave} · {line}"

    async def text(self, s: AsyncSession, gig: Gig, lang: str) -> str:
        """The live status of a gig's offers: counts, and names while the list is short."""
        p = self.d.p
        found = await OfferRepo(s).with_names(gig.id)
        # Offers made during quiet hours wait in the outbox until the morning: not sent yet.
        now = self.d.clock.now()
        held = sum(
            1
            for o, _ in found
            if o.status == OfferStatus.OPEN and next_allowed(o.created_at, self.d.settings) > now
        )
        rows = [(o.status, name) for o, name in found]
        counts = {st: sum(1 for got, _ in rows if got == st) for st in COUNTED}
        lines = [
            p.t(
                lang,
                "status_msg.header",
                title=p.gig_title(lang, gig),
                mode=p.t(lang, f"mode.{gig.dispatch_mode}"),
                filled=gig.seats_filled,
                seats=gig.seats,
                status=p.t(lang, f"status.{gig.status}"),
            ),
            p.t(
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
            wake = p.when(lang, next_allowed(now, self.d.settings))
            lines.append(p.t(lang, "status_msg.held", count=held, when=wake))
        if gig.dispatch_mode == "cascade" and gig.waves_sent:
            lines.append(self.waves_line(gig, lang, [o for o, _ in found]))
        interested = await InterestRepo(s).of_gig(gig.id)
        if interested:
            lines.append(p.t(lang, "avail_status.interested", count=len(interested)))
        if 0 < len(rows) <= STATUS_NAMES_MAX:
            lines.append(name_line(rows))
        lines += self._second_thoughts(lang, found)
        return "\n".join(lines)

    def _second_thoughts(self, lang: str, found: Sequence[tuple[Offer, str]]) -> list[str]:
        """Who asked for more time (and until when), and every seat handed to a colleague:
        asked, taken, or not taken, so no swap passes the rotation unseen."""
        p = self.d.p
        names = {o.id: name for o, name in found}
        more = [
            f"{name} → {p.when(lang, o.expires_at)}"
            for o, name in found
            if o.more_time_at is not None and o.status == OfferStatus.OPEN and o.expires_at
        ]
        lines = [p.t(lang, "lifecycle.status_more_time", names=", ".join(more))] if more else []
        for o, name in found:
            if o.swap_from is not None:
                state = p.t(lang, f"lifecycle.status_swap_{SWAP_STATE.get(o.status, 'not_taken')}")
                asker = names.get(o.swap_from, "–")
                lines.append(p.t(lang, "lifecycle.status_swap", asker=asker, to=name, state=state))
        return lines
