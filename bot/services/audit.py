"""The audit log: every coordinator action, and every export or erasure of personal data."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.clock import Clock
from bot.services.access import Actor
from storage.models import AuditLog


class Audit:
    def __init__(self, clock: Clock) -> None:
        self.clock = clock

    async def record(
        self,
        s: AsyncSession,
        actor: Actor | None,
        action: str,
        target_type: str,
        target_id: int,
        details: str = "",
    ) -> None:
        user = actor.user if actor is not None else None
        s.add(
            AuditLog(
                at=self.clock.now(),
                actor_id=user.id if user else None,
                actor_name=user.name if user else "",
                action=action,
                target_type=target_type,
                target_id=target_id,
                details=details[:2000],
            )
        )

    async def of(
        self, s: AsyncSession, target_type: str, target_id: int, limit: int = 50
    ) -> list[AuditLog]:
        rows = await s.scalars(
            select(AuditLog)
            .where(AuditLog.target_type == target_type, AuditLog.target_id == target_id)
            .order_by(AuditLog.at.desc(), AuditLog.id.desc())
            .limit(limit)
        )
        return list(rows.all())
