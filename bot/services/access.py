"""Who is asking, invites, and registration by invite."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import timedelta
from enum import Enum

from sqlalchemy.ext.asyncio import AsyncSession

from bot.clock import Clock
from bot.errors import Refuse
from bot.i18n import Texts
from bot.settings import Settings
from storage.models import Invite, Role, User
from storage.repo import InviteRepo, UserRepo

STRANGER = "stranger"


@dataclass
class Actor:
    """The person behind an update, as far as the bot knows them."""

    telegram_id: int
    user: User | None
    lang: str

    @property
    def role(self) -> str:
        return self.user.role if self.user is not None and self.user.active else STRANGER

    @property
    def id(self) -> int:
        if self.user is None:
            raise PermissionError("not registered")
        return self.user.id


class Redeemed(Enum):
    OK = "ok"
    INVALID = "invalid"  # unknown, used or expired: the stranger learns no more than that
    ALREADY = "already"


class Access:
    def __init__(self, settings: Settings, texts: Texts, clock: Clock) -> None:
        self.settings = settings
        self.texts = texts
        self.clock = clock

    async def identify(
        self, s: AsyncSession, telegram_id: int, language_code: str | None, name: str
    ) -> Actor:
        users = UserRepo(s)
        user = await users.by_telegram_id(telegram_id)
        if user is None and telegram_id in self.settings.coordinator_ids:
            user = await users.add(
                telegram_id,
                Role.COORDINATOR,
                self.texts.lang(language_code),
                name,
                self.clock.now(),
            )
        elif (
            user is not None
            and telegram_id in self.settings.coordinator_ids
            and user.role != Role.COORDINATOR
        ):
            user.role = Role.COORDINATOR
        if user is not None:
            if not user.name and name:
                # First contact of a coordinator created from settings: adopt their client's
                # name and language.
                user.language = self.texts.lang(language_code)
            if name and user.name != name[:200]:
                user.name = name[:200]
            if not user.reachable:
                user.reachable = True  # they are talking to us, so messages reach them again
        lang = user.language if user is not None else self.texts.lang(language_code)
        return Actor(telegram_id, user, lang)

    async def ensure_coordinators(self, s: AsyncSession) -> list[User]:
        """Create the coordinators named in settings, so alerts reach them from the start."""
        users = UserRepo(s)
        result = []
        for telegram_id in self.settings.coordinator_ids:
            user = await users.by_telegram_id(telegram_id)
            if user is None:
                user = await users.add(
                    telegram_id, Role.COORDINATOR, self.texts.default, "", self.clock.now()
                )
            elif user.role != Role.COORDINATOR:
                user.role = Role.COORDINATOR
            result.append(user)
        return result

    async def create_invite(self, s: AsyncSession, actor: Actor, role: str) -> Invite:
        now = self.clock.now()
        invite = Invite(
            # Hex (96 bits): never "_", so never the feedback links' "fb_" prefix that /start
            # tells apart first (a url-safe code could start with it, about 1 in 262,144).
            code=secrets.token_hex(12),
            role=role,
            created_by=actor.id,
            created_at=now,
            expires_at=now + timedelta(days=self.settings.invite_valid_days),
        )
        await InviteRepo(s).add(invite)
        return invite

    async def redeem(
        self, s: AsyncSession, actor: Actor, code: str, name: str
    ) -> tuple[Redeemed, User | None]:
        """Register the actor in the invite's role; an invite works once, before it expires."""
        if actor.user is not None:
            return Redeemed.ALREADY, actor.user
        if not (8 <= len(code) <= 64):
            return Redeemed.INVALID, None
        invite = await InviteRepo(s).get(code)
        now = self.clock.now()
        if invite is None or invite.used_by is not None or invite.expires_at <= now:
            return Redeemed.INVALID, None
        user = await UserRepo(s).add(actor.telegram_id, invite.role, actor.lang, name, now)
        if not await InviteRepo(s).claim(code, user.id, now):
            # Someone else claimed it a moment ago; the rollback removes the new user row.
            raise Refuse("start.invalid_invite")
        actor.user = user
        return Redeemed.OK, user

    async def set_language(self, s: AsyncSession, actor: Actor, lang: str) -> None:
        actor.lang = self.texts.lang(lang)
        if actor.user is not None:
            actor.user.language = actor.lang
