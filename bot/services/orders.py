"""Orders: from a filled form to a pending gig, and the coordinator's decision on it."""

from __future__ import annotations

from datetime import datetime
from enum import Enum
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from bot.callbacks import Approval, ApprovalTag, Ranking, pack
from bot.clock import Clock
from bot.errors import Refuse
from bot.notify import Notifier
from bot.present import Presenter, gig_values
from bot.services.access import Actor
from bot.services.dispatch import Dispatch
from storage.models import Gig, GigStatus, User
from storage.repo import GigRepo, UserRepo


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
        """Store a completed order form as a pending gig and alert every coordinator."""
        now = self.clock.now()
        starts_at = datetime.fromisoformat(values["starts_at"])
        if starts_at <= now:
            # The form was filled in earlier and the moment has passed since.
            raise Refuse("err.datetime_past_on_send")
        gig = await GigRepo(s).add(
            Gig(
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
                reject_reason="",
                created_at=now,
                # The settings in force when the order came in (a later change of the
                # settings does not move gigs already ordered).
                cascade_k=self.dispatch.settings.cascade_size,
                cascade_hours=self.dispatch.settings.cascade_wait_hours,
            )
        )
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
            per_lang=lambda lang: {
                "title": self.p.gig_title(lang, gig),
                "details": self.p.gig(lang, gig_values(gig)),
            },
        )
        return gig

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
        await self.audit.record(s, actor, "approve", "gig", gig.id, mode or "")
        orderer = await UserRepo(s).get(gig.orderer_id)
        if orderer is not None:
            await self.notify.push(
                s, orderer, "order.approved", title=self.p.gig_title(orderer.language, gig)
            )
        mode = mode or self.dispatch.settings.dispatch_mode
        await self._decided(s, actor, gig, "coord.order_approved", mode=f"mode.{mode}")
        offered = await self.dispatch.start(s, gig, mode, picked=picked, reason=reason, actor=actor)
        return Decision.DONE, gig, offered

    async def reject(
        self, s: AsyncSession, actor: Actor, gig_id: int, reason: str
    ) -> tuple[Decision, Gig]:
        gig = await self._load_pending(s, gig_id)
        if not await GigRepo(s).decide(
            gig_id, GigStatus.REJECTED, actor.id, self.clock.now(), reason
        ):
            return Decision.ALREADY, gig
        await GigRepo(s).refresh(gig)
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
