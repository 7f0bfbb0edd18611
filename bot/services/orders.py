"""Orders: from a filled form to a pending gig, and the coordinator's decision on it."""

from __future__ import annotations

from datetime import datetime
from enum import Enum
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.callbacks import Approval, ApprovalTag, Ranking, pack
from bot.clock import Clock
from bot.errors import Refuse
from bot.notify import Notifier
from bot.present import Presenter, gig_values
from bot.services import series
from bot.services.access import Actor
from bot.services.dispatch import SERIES_MODE, Dispatch
from storage.models import Gig, GigSeries, GigStatus, User
from storage.repo import GigRepo, SeriesRepo, UserRepo

# The responsible-ordering checklist, from the centres' own practice (seeds 001-004): the
# orderer ticks each item on the summary (bit i of `Gig.checklist` = CHECKLIST[i]), or says
# "not yet, let's talk" (`Gig.talk_first`). Append only: stored masks keep their meaning.
CHECKLIST = ("role", "prep", "fee", "diagnoses", "debrief")
ALL_TICKED = (1 << len(CHECKLIST)) - 1


def ticked(mask: int, index: int) -> bool:
    return bool(mask >> index & 1)


def checklist_text(p: Presenter, lang: str, mask: int, talk_first: bool) -> str:
    """The checklist with what is ticked, as the orderer and the coordinators see it."""
    lines = [p.t(lang, "relay.check_header")]
    for i, item in enumerate(CHECKLIST):
        mark = "✅" if ticked(mask, i) else "⬜"
        lines.append(f"{mark} {p.t(lang, f'relay.check_{item}')}")
    if talk_first:
        lines.append(p.t(lang, "relay.check_talk_chosen"))
    return "\n".join(lines)


def checklist_ready(values: dict[str, Any]) -> bool:
    """An order can go with every item ticked, or with "not yet, let's talk"."""
    return bool(values.get("talk_first")) or int(values.get("checklist") or 0) == ALL_TICKED


class Decision(Enum):
    DONE = "done"
    ALREADY = "already"  # another coordinator decided first


def approval_tag(gig_id: int) -> str:
    return pack(ApprovalTag(gig_id))


class Orders:
    def __init__(
        self, presenter: Presenter, notifier: Notifier, dispatch: Dispatch, clock: Clock
    ) -> None:
        self.p = presenter
        self.notify = notifier
        self.dispatch = dispatch
        self.audit = dispatch.audit
        self.clock = clock

    async def submit(self, s: AsyncSession, actor: Actor, values: dict[str, Any]) -> Gig:
        """Store a completed order form as a pending gig (one per date of a series) and alert
        every coordinator once; returns the (first) gig."""
        now = self.clock.now()
        moments = series.starts(values, self.p.tz)
        if moments[0] <= now:
            # The form was filled in earlier and the moment has passed since.
            raise Refuse("err.datetime_past_on_send")
        if not checklist_ready(values):
            raise Refuse("relay.check_needed")
        group = None
        if len(moments) > 1:
            group = await SeriesRepo(s).add(
                GigSeries(
                    orderer_id=actor.id,
                    repeat=values["repeat"],
                    count=len(moments),
                    whole=values.get("series_take") == "whole",
                    created_at=now,
                )
            )
        gigs = [await GigRepo(s).add(self._gig(actor, values, at, now, group)) for at in moments]
        await self._alert_new(s, gigs[0], group, moments)
        return gigs[0]

    def _gig(
        self,
        actor: Actor,
        values: dict[str, Any],
        starts_at: datetime,
        now: datetime,
        group: GigSeries | None,
    ) -> Gig:
        return Gig(
            orderer_id=actor.id,
            status=GigStatus.PENDING,
            organisation=values["organisation"],
            gig_type=values["gig_type"],
            topics=list(values["topics"]),
            starts_at=starts_at,
            duration_min=int(values["duration"]),
            remote=values["remote"] == "remote",
            place=values["place"],
            region=values["region"],
            audience=values["audience"],
            audience_size=int(values["audience_size"]),
            seats=int(values["seats"]),
            seats_filled=0,
            language=values["language"],
            fee_cents=values.get("fee"),
            contact=values["contact"],
            notes=values.get("notes") or "",
            order_ref=values.get("order_ref") or "",
            checklist=int(values.get("checklist") or 0) & ALL_TICKED,
            talk_first=bool(values.get("talk_first")),
            content_themes=list(values.get("content_themes") or []),
            content_note=(values.get("content_note") or "") if values.get("content_themes") else "",
            reject_reason="",
            created_at=now,
            # The settings in force when the order came in (a later change of the
            # settings does not move gigs already ordered).
            cascade_k=self.dispatch.settings.cascade_size,
            cascade_hours=self.dispatch.settings.cascade_wait_hours,
            series_id=group.id if group is not None else None,
        )

    async def _alert_new(
        self, s: AsyncSession, gig: Gig, group: GigSeries | None, moments: list[datetime]
    ) -> None:
        """One approval alert, for a series too (approving it approves every date)."""

        def texts(lang: str) -> dict[str, str]:
            details = self.approval_details(lang, gig)
            if group is not None:
                take = self.p.t(lang, f"series_take.{'whole' if group.whole else 'single'}")
                line = self.p.series(lang, group, moments)
                details = self.p.t(lang, "series.alert", series=line, take=take) + "\n" + details
            return {"title": self.p.gig_title(lang, gig), "details": details}

        await self.notify.alert(
            s,
            "orders",
            "coord.new_order",
            tag=approval_tag(gig.id),
            buttons=[
                [
                    ("btn.approve", pack(Approval(True, gig.id))),
                    ("btn.reject", pack(Approval(False, gig.id))),
                ],
                [("btn.ranking", pack(Ranking(gig.id)))],
            ],
            per_lang=texts,
        )

    async def series_line(self, s: AsyncSession, lang: str, gig: Gig) -> str:
        """ "Tuesdays 6× from 3.3.2027" for a gig of a series (all its dates); "" otherwise."""
        if gig.series_id is None:
            return ""
        group = await SeriesRepo(s).get(gig.series_id)
        dates = [g.starts_at for g in await SeriesRepo(s).dates(gig.series_id)]
        return self.p.series(lang, group, dates) if group is not None and dates else ""

    async def first_order(self, s: AsyncSession, user_id: int) -> bool:
        """Whether this orderer has never sent an order."""
        found = await s.scalar(select(Gig.id).where(Gig.orderer_id == user_id).limit(1))
        return found is None

    def approval_details(self, lang: str, gig: Gig) -> str:
        """What a coordinator deciding on the order reads: the order and its checklist."""
        check = checklist_text(self.p, lang, gig.checklist, gig.talk_first)
        return f"{self.p.gig(lang, gig_values(gig))}\n\n{check}"

    async def _load_pending(self, s: AsyncSession, gig_id: int) -> Gig:
        gig = await GigRepo(s).get(gig_id)
        if gig is None:
            raise Refuse("err.gig_not_found")
        return gig

    async def approve(
        self,
        s: AsyncSession,
        actor: Actor,
        gig_id: int,
        mode: str | None = None,
        picked: list[int] | None = None,
        reason: str = "",
    ) -> tuple[Decision, Gig, int]:
        """Approve and start offering in `mode` (the settings' default if None)."""
        gig = await self._load_pending(s, gig_id)
        if not await GigRepo(s).decide(gig_id, GigStatus.OPEN, actor.id, self.clock.now()):
            return Decision.ALREADY, gig, 0
        await GigRepo(s).refresh(gig)
        rest = await self._decide_rest(s, actor, gig, GigStatus.OPEN)
        await self.audit.record(s, actor, "approve", "gig", gig.id, mode or "")
        orderer = await UserRepo(s).get(gig.orderer_id)
        if orderer is not None:
            await self.notify.push(
                s, orderer, "order.approved", title=self.p.gig_title(orderer.language, gig)
            )
        mode = mode or self.dispatch.settings.dispatch_mode
        await self._decided(s, actor, gig, "coord.order_approved", mode=f"mode.{mode}")
        offered = await self.dispatch.start(s, gig, mode, picked=picked, reason=reason, actor=actor)
        whole = await self._whole(s, gig)
        for other in rest:
            if whole:
                # Offered with the first date: one offer takes a seat on every date.
                other.dispatch_mode = SERIES_MODE
                continue
            offered += await self.dispatch.start(
                s, other, mode, picked=picked, reason=reason, actor=actor
            )
        return Decision.DONE, gig, offered

    async def _whole(self, s: AsyncSession, gig: Gig) -> bool:
        group = await SeriesRepo(s).get(gig.series_id) if gig.series_id is not None else None
        return group is not None and group.whole

    async def _decide_rest(
        self, s: AsyncSession, actor: Actor, gig: Gig, status: GigStatus, reason: str = ""
    ) -> list[Gig]:
        """The other dates of a series go the way of the one decided (one approval)."""
        if gig.series_id is None:
            return []
        now, decided = self.clock.now(), []
        for other in await SeriesRepo(s).dates(gig.series_id):
            if other.id == gig.id or other.status != GigStatus.PENDING:
                continue
            if await GigRepo(s).decide(other.id, status, actor.id, now, reason):
                decided.append(await GigRepo(s).refresh(other))
        return decided

    async def reject(
        self, s: AsyncSession, actor: Actor, gig_id: int, reason: str
    ) -> tuple[Decision, Gig]:
        gig = await self._load_pending(s, gig_id)
        if not await GigRepo(s).decide(
            gig_id, GigStatus.REJECTED, actor.id, self.clock.now(), reason
        ):
            return Decision.ALREADY, gig
        await GigRepo(s).refresh(gig)
        await self._decide_rest(s, actor, gig, GigStatus.REJECTED, reason)
        await self.audit.record(s, actor, "reject", "gig", gig.id, reason)
        orderer = await UserRepo(s).get(gig.orderer_id)
        if orderer is not None:
            await self.notify.push(
                s,
                orderer,
                "order.rejected",
                reason=reason,
                title=self.p.gig_title(orderer.language, gig),
            )
        await self._decided(s, actor, gig, "coord.order_rejected", reason=reason)
        return Decision.DONE, gig

    async def _decided(
        self, s: AsyncSession, actor: Actor, gig: Gig, key: str, *, mode: str = "", reason: str = ""
    ) -> None:
        """Edit every coordinator's approval message to say who decided and how (`mode` is a
        catalog key, rendered in each coordinator's language)."""
        by = actor.user.name if actor.user is not None else ""
        for coord in await UserRepo(s).coordinators():
            lang = coord.language
            text = self.p.t(
                lang,
                key,
                title=self.p.gig_title(lang, gig),
                by=by,
                mode=self.p.t(lang, mode) if mode else "",
                reason=reason,
            )
            await self.notify.edit_text(s, coord, approval_tag(gig.id), text)

    async def decider_name(self, s: AsyncSession, gig: Gig) -> str:
        who: User | None = await UserRepo(s).get(gig.decided_by) if gig.decided_by else None
        return who.name if who is not None else "?"
