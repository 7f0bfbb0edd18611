"""Fees (palkkio, työkorvaus, expenses, volunteer): agreed on confirmation, then form sent to
the orderer, then paid; the expert confirms payment with a tap; unpaid ones are chased."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.callbacks import FeeAction, pack
from bot.clock import Clock
from bot.errors import Refuse
from bot.notify import Notifier
from bot.present import Presenter
from bot.services.access import Actor
from bot.services.audit import Audit
from bot.services.base import Recording
from bot.services.erasure import Erasure, owed
from bot.settings import Settings
from storage.models import Fee, FeeStatus, FeeType, Gig, GigStatus, Role
from storage.repo import UserRepo


class Fees(Recording):
    def __init__(
        self,
        presenter: Presenter,
        notifier: Notifier,
        clock: Clock,
        settings: Settings,
        audit: Audit,
        erasure: Erasure,
    ) -> None:
        super().__init__(presenter, notifier, clock, settings, audit)
        self.erasure = erasure

    async def agree(self, s: AsyncSession, gig: Gig, expert_id: int) -> Fee:
        """The fee offered on the order becomes the agreed fee (unpaid gigs: volunteer)."""
        fee = await s.scalar(select(Fee).where(Fee.gig_id == gig.id, Fee.expert_id == expert_id))
        if fee is None:
            fee = Fee(
                gig_id=gig.id,
                expert_id=expert_id,
                fee_type=FeeType.PALKKIO if gig.fee_cents else FeeType.VOLUNTEER,
                amount_cents=gig.fee_cents or 0,
                travel_cents=0,
                other_cents=0,
                status=FeeStatus.AGREED,
                agreed_at=self.clock.now(),
            )
            s.add(fee)
            await s.flush()
        return fee

    async def drop(self, s: AsyncSession, gig_id: int, expert_id: int) -> bool:
        """The expert no longer does the gig: an agreed fee that nothing has happened to goes.
        True if one went."""
        result = await s.execute(
            delete(Fee).where(
                Fee.gig_id == gig_id, Fee.expert_id == expert_id, Fee.status == FeeStatus.AGREED
            )
        )
        return bool(result.rowcount)  # type: ignore[attr-defined]

    async def of_gig(self, s: AsyncSession, gig_id: int, expert_id: int) -> Fee | None:
        return await s.scalar(select(Fee).where(Fee.gig_id == gig_id, Fee.expert_id == expert_id))

    async def own_refusable(self, s: AsyncSession, actor: Actor, fee_id: int) -> tuple[Fee, Gig]:
        """The expert's own fee that they can still give up, with its gig."""
        fee = await self.get(s, fee_id)
        gig = await s.get(Gig, fee.gig_id)
        if (
            gig is None
            or fee.expert_id != actor.id
            or fee.status != FeeStatus.AGREED
            or fee.fee_type not in (FeeType.PALKKIO, FeeType.TYOKORVAUS)
        ):
            raise Refuse("err.stale")
        return fee, gig

    async def get(self, s: AsyncSession, fee_id: int) -> Fee:
        fee = await s.get(Fee, fee_id)
        if fee is None:
            raise Refuse("err.stale")
        return fee

    async def set_status(self, s: AsyncSession, actor: Actor, fee_id: int, status: str) -> Fee:
        """Coordinators move a fee along; the expert may only confirm it was paid."""
        fee = await self.get(s, fee_id)
        if actor.role == Role.EXPERT and (fee.expert_id != actor.id or status != FeeStatus.PAID):
            raise Refuse("err.stale")
        if status not in FeeStatus.ALL:
            raise Refuse("err.stale")
        now = self.clock.now()
        fee.status = FeeStatus(status)
        if status == FeeStatus.FORM_SENT:
            fee.form_sent_at = now
        elif status == FeeStatus.PAID:
            fee.paid_at = now
        await self.audit.record(s, actor, f"fee_{status}", "fee", fee.id, f"gig {fee.gig_id}")
        await self.erasure.finish_if_settled(s, fee.expert_id)
        return fee

    async def edit(
        self,
        s: AsyncSession,
        actor: Actor,
        fee_id: int,
        fee_type: str,
        amount: int,
        travel: int,
        other: int,
    ) -> Fee:
        fee = await self.get(s, fee_id)
        if fee_type not in FeeType.ALL:
            raise Refuse("err.stale")
        fee.fee_type = FeeType(fee_type)
        fee.amount_cents = 0 if fee_type in (FeeType.VOLUNTEER, FeeType.EXPENSES) else amount
        fee.travel_cents, fee.other_cents = travel, other
        await self.audit.record(
            s, actor, "fee_edit", "fee", fee.id, f"{fee_type} {amount} + {travel} + {other}"
        )
        await self.erasure.finish_if_settled(s, fee.expert_id)
        return fee

    async def refuse(self, s: AsyncSession, actor: Actor, fee_id: int) -> Fee:
        """An expert may give up a fee (volunteer); expenses stay, nothing else changes."""
        fee, _gig = await self.own_refusable(s, actor, fee_id)
        fee.fee_type, fee.amount_cents = FeeType.VOLUNTEER, 0
        await self.audit.record(s, actor, "fee_refused", "fee", fee.id, f"gig {fee.gig_id}")
        return fee

    async def of_expert(self, s: AsyncSession, expert_id: int) -> list[tuple[Fee, Gig]]:
        rows = await s.execute(
            select(Fee, Gig)
            .join(Gig, Gig.id == Fee.gig_id)
            .where(Fee.expert_id == expert_id)
            .order_by(Gig.starts_at.desc())
            .limit(30)
        )
        return [(f, g) for f, g in rows]

    async def earned(
        self, s: AsyncSession, expert_id: int, since: datetime, until: datetime
    ) -> int:
        """Fees (not expenses) for gigs in [since, until), the figure an earnings limit uses."""
        total = await s.scalar(
            select(func.coalesce(func.sum(Fee.amount_cents), 0))
            .join(Gig, Gig.id == Fee.gig_id)
            .where(
                Fee.expert_id == expert_id,
                Gig.starts_at >= since,
                Gig.starts_at < until,
                Gig.status != GigStatus.CANCELLED,
            )
        )
        return int(total or 0)

    async def unpaid(self, s: AsyncSession) -> list[tuple[Fee, Gig]]:
        rows = await s.execute(
            select(Fee, Gig)
            .join(Gig, Gig.id == Fee.gig_id)
            .where(owed())
            .order_by(Gig.starts_at)
            .limit(50)
        )
        return [(f, g) for f, g in rows]

    async def remind(self, s: AsyncSession) -> int:
        """Unpaid N days after the gig: one reminder to the coordinators per fee."""
        now = self.clock.now()
        late = (
            await s.execute(
                select(Fee, Gig)
                .join(Gig, Gig.id == Fee.gig_id)
                .where(
                    owed(),
                    Fee.reminded.is_(False),
                    Gig.starts_at <= now - timedelta(days=self.settings.fee_reminder_days),
                )
            )
        ).all()
        for fee, gig in late:
            fee.reminded = True
            profile = await UserRepo(s).profile(fee.expert_id)
            await self.notify.alert(
                s,
                "fees",
                "fees.reminder",
                claimable=True,
                id=fee.id,
                about=fee.expert_id,
                name=profile.display_name if profile else "–",
                days=self.settings.fee_reminder_days,
                per_lang=self.p.title_args(gig),
                buttons=[
                    [
                        ("btn.fee_sent", pack(FeeAction("s", fee.id))),
                        ("btn.fee_paid", pack(FeeAction("p", fee.id))),
                    ]
                ],
            )
        return len(late)
