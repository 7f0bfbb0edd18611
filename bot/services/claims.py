"""Expense claims (kulukorvaus): after a gig an expert claims travel (kilometres by their own
car at the per-kilometre allowance, or a ticket's price) or another cost, with a photo or PDF
of the receipt sent in the chat; a coordinator approves or rejects it with a reason, and an
approved claim is added to the fee's expenses, so it is paid with the fee.

Amounts are integer cents throughout (kilometres × whole cents a kilometre). Of a receipt only
Telegram's file_id is stored: the bot sends the file again from it (see docs/operations.md).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.callbacks import ClaimAction, pack
from bot.errors import Refuse
from bot.services.access import Actor
from bot.services.base import Recording
from storage.models import (
    ClaimKind,
    ClaimStatus,
    ExpenseClaim,
    ExpertProfile,
    Fee,
    FeeStatus,
    Gig,
    GigStatus,
)
from storage.repo import UserRepo

RECEIPT_MAX_BYTES = 20 * 1024 * 1024  # what a bot can download from Telegram (getFile)
RECEIPT_TYPES = ("application/pdf", "image/jpeg", "image/png", "image/heic", "image/webp")


@dataclass(frozen=True)
class Receipt:
    """A photo or file sent in the chat, as Telegram describes it."""

    file_id: str
    kind: str  # photo | document
    name: str
    size: int | None
    mime: str | None


@dataclass(frozen=True)
class ClaimView:
    claim: ExpenseClaim
    fee: Fee
    gig: Gig
    name: str  # the expert's chosen name


class Claims(Recording):
    async def claimable(self, s: AsyncSession, actor: Actor, fee_id: int) -> tuple[Fee, Gig]:
        """The expert's own fee for a gig that has begun and is not cancelled or paid yet."""
        fee = await s.get(Fee, fee_id)
        gig = await s.get(Gig, fee.gig_id) if fee is not None else None
        if fee is None or gig is None or fee.expert_id != actor.id:
            raise Refuse("err.stale")
        if gig.status == GigStatus.CANCELLED or fee.status == FeeStatus.PAID:
            raise Refuse("claims.closed")
        if gig.starts_at > self.clock.now():
            raise Refuse("claims.not_yet")
        return fee, gig

    async def open(
        self, s: AsyncSession, actor: Actor, fee_id: int, values: dict[str, Any]
    ) -> ExpenseClaim:
        """A claim as the form filled it: by car it goes to the coordinators at once (no
        receipt for kilometres); a ticket or another cost waits for its receipt."""
        fee, gig = await self.claimable(s, actor, fee_id)
        kind = ClaimKind(values["cost"])
        claim = ExpenseClaim(
            fee_id=fee.id,
            expert_id=actor.id,
            kind=kind,
            what=values.get("what") or "",
            status=ClaimStatus.RECEIPT,
            reason="",
            receipt_name="",
            created_at=self.clock.now(),
        )
        if kind == ClaimKind.CAR:
            claim.km = int(values["km"])
            claim.cents_per_km = self.settings.km_allowance_cents
            claim.amount_cents = claim.km * claim.cents_per_km
        else:
            claim.amount_cents = int(values["amount"])
        if claim.amount_cents <= 0:
            raise Refuse("claims.zero")
        s.add(claim)
        await s.flush()
        await self.audit.record(s, actor, "claim", "fee", fee.id, f"claim {claim.id}")
        if kind == ClaimKind.CAR:
            await self._submit(s, claim, gig)
        return claim

    async def attach(self, s: AsyncSession, actor: Actor, receipt: Receipt) -> ExpenseClaim:
        """The receipt sent in the chat goes with the newest claim waiting for one."""
        claim = await s.scalar(
            select(ExpenseClaim)
            .where(ExpenseClaim.expert_id == actor.id, ExpenseClaim.status == ClaimStatus.RECEIPT)
            .order_by(ExpenseClaim.id.desc())
            .limit(1)
        )
        if claim is None:
            raise Refuse("claims.receipt_unexpected")
        if receipt.size is not None and receipt.size > RECEIPT_MAX_BYTES:
            raise Refuse("claims.receipt_too_big")
        if receipt.kind == "document" and (receipt.mime or "") not in RECEIPT_TYPES:
            raise Refuse("claims.receipt_type")
        claim.receipt_file_id = receipt.file_id
        claim.receipt_kind = receipt.kind
        claim.receipt_name = receipt.name[:100]
        fee = await s.get(Fee, claim.fee_id)
        gig = await s.get(Gig, fee.gig_id) if fee is not None else None
        assert gig is not None
        await self._submit(s, claim, gig)
        return claim

    async def _submit(self, s: AsyncSession, claim: ExpenseClaim, gig: Gig) -> None:
        claim.status = ClaimStatus.PENDING
        profile = await s.get(ExpertProfile, claim.expert_id)
        await self.notify.alert(
            s,
            "fees",
            "claims.alert",
            claimable=True,
            about=claim.expert_id,
            name=profile.display_name if profile else "–",
            id=claim.id,
            buttons=claim_buttons(claim),
            per_lang=lambda lang: {
                "title": self.p.gig_title(lang, gig),
                "claim": self.describe(lang, claim),
            },
        )

    def describe(self, lang: str, claim: ExpenseClaim) -> str:
        """What is claimed, e.g. "Car 84 km × 0,55 € = 46,20 €" or "Ticket 12,40 €"."""
        money = self.p.money
        kind = self.p.label(lang, "claim_kind", claim.kind)
        if claim.kind == ClaimKind.CAR:
            return self.p.t(
                lang,
                "claims.car_line",
                kind=kind,
                km=claim.km,
                rate=money(lang, claim.cents_per_km or 0),
                amount=money(lang, claim.amount_cents),
            )
        what = f" ({claim.what})" if claim.what else ""
        return f"{kind}{what}: {money(lang, claim.amount_cents)}"

    async def get(self, s: AsyncSession, claim_id: int) -> ClaimView:
        claim = await s.get(ExpenseClaim, claim_id)
        fee = await s.get(Fee, claim.fee_id) if claim is not None else None
        gig = await s.get(Gig, fee.gig_id) if fee is not None else None
        if claim is None or fee is None or gig is None:
            raise Refuse("err.stale")
        profile = await s.get(ExpertProfile, claim.expert_id)
        return ClaimView(claim, fee, gig, profile.display_name if profile else "–")

    async def pending(self, s: AsyncSession, gig_id: int | None = None) -> list[ClaimView]:
        """Claims with the coordinators, oldest first (of one gig, or all)."""
        query = (
            select(ExpenseClaim.id)
            .join(Fee, Fee.id == ExpenseClaim.fee_id)
            .where(ExpenseClaim.status == ClaimStatus.PENDING)
            .order_by(ExpenseClaim.id)
            .limit(30)
        )
        if gig_id is not None:
            query = query.where(Fee.gig_id == gig_id)
        return [await self.get(s, claim_id) for claim_id in (await s.scalars(query)).all()]

    async def of_fees(self, s: AsyncSession, fee_ids: list[int]) -> list[ExpenseClaim]:
        if not fee_ids:
            return []
        rows = await s.scalars(
            select(ExpenseClaim).where(ExpenseClaim.fee_id.in_(fee_ids)).order_by(ExpenseClaim.id)
        )
        return list(rows.all())

    async def _decide(
        self, s: AsyncSession, actor: Actor, claim_id: int, status: ClaimStatus, reason: str
    ) -> ClaimView:
        """One decision per claim: the first coordinator's counts, a second is told so."""
        view = await self.get(s, claim_id)
        if view.fee.status == FeeStatus.PAID and status == ClaimStatus.APPROVED:
            raise Refuse("claims.fee_paid")
        result = await s.execute(
            update(ExpenseClaim)
            .where(ExpenseClaim.id == claim_id, ExpenseClaim.status == ClaimStatus.PENDING)
            .values(status=status, reason=reason, decided_at=self.clock.now(), decided_by=actor.id)
        )
        if not result.rowcount:  # type: ignore[attr-defined]
            raise Refuse("claims.already_decided")
        await s.refresh(view.claim)
        await self.audit.record(
            s, actor, f"claim_{status}", "fee", view.fee.id, f"claim {claim_id} {reason}".strip()
        )
        return view

    async def approve(self, s: AsyncSession, actor: Actor, claim_id: int) -> ClaimView:
        """Approved: added to the fee's expenses (travel or other), paid with the fee."""
        view = await self._decide(s, actor, claim_id, ClaimStatus.APPROVED, "")
        claim, fee = view.claim, view.fee
        if claim.kind == ClaimKind.OTHER:
            fee.other_cents += claim.amount_cents
        else:
            fee.travel_cents += claim.amount_cents
        await self._tell_expert(s, view, "claims.approved")
        return view

    async def reject(self, s: AsyncSession, actor: Actor, claim_id: int, reason: str) -> ClaimView:
        view = await self._decide(s, actor, claim_id, ClaimStatus.REJECTED, reason)
        await self._tell_expert(s, view, "claims.rejected", reason=reason)
        return view

    async def _tell_expert(self, s: AsyncSession, view: ClaimView, key: str, **args: Any) -> None:
        expert = await UserRepo(s).get(view.claim.expert_id)
        if expert is None:
            return
        lang = expert.language
        await self.notify.push(
            s,
            expert,
            key,
            title=self.p.gig_title(lang, view.gig),
            claim=self.describe(lang, view.claim),
            **args,
        )


def claim_buttons(claim: ExpenseClaim) -> list[list[tuple[str, str]]]:
    """The coordinator's buttons on a claim (catalog keys and data)."""
    rows = []
    if claim.receipt_file_id:
        rows.append([("btn.money.receipt", pack(ClaimAction("r", claim.id)))])
    rows.append(
        [
            ("btn.money.approve", pack(ClaimAction("a", claim.id))),
            ("btn.money.reject", pack(ClaimAction("x", claim.id))),
        ]
    )
    return rows
