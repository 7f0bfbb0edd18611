"""Coordinators' alerts: which categories each one wants, and claiming an alert that needs
action ("I'll take it") so the others see who has it."""

from __future__ import annotations

from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.callbacks import AlertTag, Claim, pack, parse
from bot.errors import Refuse
from bot.notify import HTML
from bot.services.access import Actor
from bot.services.base import Messaging
from storage.models import Alert
from storage.repo import UserRepo

CATEGORIES = ("orders", "register", "short", "checkins", "fees", "feedback")


class Alerts(Messaging):
    async def toggle(self, s: AsyncSession, actor: Actor, category: str) -> list[str]:
        """Switch one category on or off for this coordinator; returns the muted ones."""
        if category not in CATEGORIES or actor.user is None:
            raise Refuse("err.stale")
        muted = set(actor.user.alert_mutes or [])
        muted ^= {category}
        actor.user.alert_mutes = sorted(muted)
        return actor.user.alert_mutes

    async def claim(self, s: AsyncSession, actor: Actor, alert_id: int) -> tuple[bool, str]:
        """Take an alert; false (and who has it) if someone was first."""
        assert actor.user is not None
        won = await s.execute(
            update(Alert)
            .where(Alert.id == alert_id, Alert.claimed_by.is_(None))
            .values(claimed_by=actor.user.id, claimed_at=self.clock.now())
        )
        alert = await s.get(Alert, alert_id)
        if alert is None:
            raise Refuse("err.stale")
        await s.refresh(alert)
        owner = await UserRepo(s).get(alert.claimed_by) if alert.claimed_by else None
        name = owner.name if owner is not None else "?"
        if won.rowcount != 1:  # type: ignore[attr-defined]
            return False, name
        rows = [
            [(k, d) for k, d in row if not isinstance(parse(d), Claim)] for row in alert.buttons
        ]
        rows = [row for row in rows if row]
        for coord in await UserRepo(s).coordinators():
            lang = coord.language
            base = alert.texts.get(lang) or next(iter(alert.texts.values()), "")
            text = f"{base}\n\n{self.p.html(lang, 'alerts.claimed', by=name)}"
            await self.notify.edit_text(
                s,
                coord,
                pack(AlertTag(alert.id)),
                text,
                self.notify.buttons(lang, rows),
                parse_mode=HTML,
            )
        return True, name
