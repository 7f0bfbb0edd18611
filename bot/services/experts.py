"""The expert's own profile: what matching uses, saved only after consent."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from bot.clock import Clock
from bot.errors import Refuse
from bot.notify import Notifier
from bot.present import Presenter
from bot.services.access import Actor
from storage.models import ExpertProfile
from storage.repo import Users


def profile_values(profile: ExpertProfile) -> dict[str, Any]:
    return {
        "display_name": profile.display_name,
        "gig_types": list(profile.gig_types),
        "topics": list(profile.topics),
        "languages": list(profile.languages),
        "region": profile.region,
        "remote_ok": profile.remote_ok,
    }


class Experts:
    def __init__(self, presenter: Presenter, notifier: Notifier, clock: Clock) -> None:
        self.p = presenter
        self.notify = notifier
        self.clock = clock

    async def profile(self, s: AsyncSession, actor: Actor) -> ExpertProfile | None:
        return await Users(s).profile(actor.id)

    async def save(self, s: AsyncSession, actor: Actor, values: dict[str, Any]) -> bool:
        """Save the profile; true when this completed a new registration."""
        users = Users(s)
        existing = await users.profile(actor.id)
        if existing is None and not values.get("consent_at"):
            raise Refuse("expert.consent_needed")
        profile = await users.save_profile(actor.id, values, self.clock.now())
        if existing is None:
            profile.consent_at = datetime.fromisoformat(values["consent_at"])
            await self.notify.coordinators(s, "coord.expert_registered", name=profile.display_name)
            return True
        return False
