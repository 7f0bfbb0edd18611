"""A relay per gig: once an expert is confirmed, the orderer and the confirmed experts write to
each other through the bot, and the coordinators can read the thread and join.

Each relayed message shows only the sender's chosen name and role (an expert's display name,
the orderer's organisation, a coordinator's name), never a Telegram account. Only the gig's
participants may write: the orderer, the experts confirmed now, and coordinators; this is
checked on every message, not taken from the button. The relay closes `OPEN_AFTER_GIG` after
the gig ends (at once when the gig is cancelled); the messages are deleted `RETENTION` after
that by the scheduler (`purge`), as the consent text says. An erased person's messages go at
once, and the copies delivered to others are replaced by a note.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.callbacks import RelayTag, RelayWrite, pack
from bot.errors import Refuse
from bot.messages import Keyboard, Kind, OutMessage, to_row
from bot.parsing import split_text
from bot.services.access import Actor
from bot.services.base import Messaging
from storage.models import (
    ExpertProfile,
    Gig,
    GigStatus,
    Outbox,
    OutboxStatus,
    RelayMessage,
    Role,
    User,
)
from storage.repo import OfferRepo, OutboxRepo, UserRepo

OPEN_AFTER_GIG = timedelta(days=7)
RETENTION = timedelta(days=30)
MAX_PARTS = 3  # a typed message (4,096 characters at most) with its heading


class Relay(Messaging):
    # ----- who may write, and until when --------------------------------------------------

    @staticmethod
    def closes_at(gig: Gig) -> datetime:
        if gig.status == GigStatus.CANCELLED:
            return gig.cancelled_at or gig.starts_at
        return gig.starts_at + timedelta(minutes=gig.duration_min) + OPEN_AFTER_GIG

    async def experts(self, s: AsyncSession, gig_id: int) -> list[int]:
        """The experts confirmed on the gig now."""
        return [o.expert_id for o in await OfferRepo(s).accepted(gig_id)]

    async def role_in(self, s: AsyncSession, actor: Actor, gig: Gig) -> str | None:
        """The person's part in this gig's relay, or None if they have none."""
        if actor.role == Role.COORDINATOR:
            return Role.COORDINATOR
        if actor.role == Role.ORDERER and gig.orderer_id == actor.id:
            return Role.ORDERER
        if actor.role == Role.EXPERT and actor.id in await self.experts(s, gig.id):
            return Role.EXPERT
        return None

    async def is_open(self, s: AsyncSession, gig: Gig) -> bool:
        """Open from the first confirmation until a week after the gig."""
        return self.open_while_confirmed(gig) and bool(await self.experts(s, gig.id))

    def open_while_confirmed(self, gig: Gig) -> bool:
        """Open, for a gig someone is known to be confirmed on (no query: /mygigs asks it
        for the asker's own confirmed gigs)."""
        return gig.status in GigStatus.HAPPENING and self.clock.now() < self.closes_at(gig)

    async def check(self, s: AsyncSession, actor: Actor, gig_id: int) -> tuple[Gig, str]:
        """The gig and the person's role if they may write in its relay now."""
        gig = await s.get(Gig, gig_id)
        role = await self.role_in(s, actor, gig) if gig is not None else None
        if gig is None or role is None:
            raise Refuse("err.gig_not_found")
        if not await self.is_open(s, gig):
            raise Refuse("relay.closed")
        return gig, role

    # ----- writing --------------------------------------------------------------------------

    async def send(self, s: AsyncSession, actor: Actor, gig_id: int, text: str) -> int:
        """Store the message and relay it to every other participant; how many were sent it."""
        gig, role = await self.check(s, actor, gig_id)
        message = RelayMessage(
            gig_id=gig.id,
            sender_id=actor.id,
            sender_role=role,
            text=text,
            created_at=self.clock.now(),
        )
        s.add(message)
        await s.flush()
        name = await self.name_of(s, actor.id, role, gig)
        recipients = [u for u in await self._participants(s, gig) if u.id != actor.id]
        for user in recipients:
            await self._deliver(s, user, gig, message, name)
        return len(recipients)

    async def _participants(self, s: AsyncSession, gig: Gig) -> list[User]:
        """Who gets the relay's messages: the orderer and the confirmed experts (coordinators
        read the thread on the gig card)."""
        ids = [gig.orderer_id, *await self.experts(s, gig.id)]
        users = [await UserRepo(s).get(i) for i in ids]
        return [u for u in users if u is not None and u.active]

    async def _deliver(
        self, s: AsyncSession, user: User, gig: Gig, message: RelayMessage, name: str
    ) -> None:
        lang = user.language
        text = self.p.t(
            lang,
            "relay.message",
            name=name,
            role=self.p.t(lang, f"relay.role_{message.sender_role}"),
            title=self.p.gig_title(lang, gig),
            text=message.text,
        )
        parts = split_text(text)
        reply = Keyboard.of([[(self.p.t(lang, "btn.relay.reply"), pack(RelayWrite(gig.id)))]])
        for i, part in enumerate(parts):
            last = i == len(parts) - 1
            row = self.notify.row(
                user,
                part,
                buttons=reply if last else None,
                tag=pack(RelayTag(message.id, i)),
                quiet=True,  # experts get it after quiet hours, as every push
            )
            if row is not None:
                await OutboxRepo(s).add(row)

    async def name_of(self, s: AsyncSession, user_id: int, role: str, gig: Gig) -> str:
        """How a participant is shown: an expert by their chosen display name, the orderer
        by the organisation, a coordinator by their name in the bot."""
        if role == Role.ORDERER:
            return gig.organisation
        if role == Role.EXPERT:
            profile = await s.get(ExpertProfile, user_id)
            return profile.display_name if profile is not None else "–"
        user = await UserRepo(s).get(user_id)
        return user.name if user is not None and user.name else "–"

    # ----- reading (coordinators) -----------------------------------------------------------

    async def thread(self, s: AsyncSession, lang: str, gig: Gig) -> str:
        """The whole thread, oldest first, with each sender's chosen name and role."""
        rows = (
            await s.scalars(
                select(RelayMessage)
                .where(RelayMessage.gig_id == gig.id)
                .order_by(RelayMessage.created_at, RelayMessage.id)
            )
        ).all()
        head = self.p.t(lang, "relay.thread_header", title=self.p.gig_title(lang, gig))
        if not rows:
            return f"{head}\n\n{self.p.t(lang, 'relay.thread_empty')}"
        lines = [head]
        for m in rows:
            who = await self.name_of(s, m.sender_id, m.sender_role, gig)
            role = self.p.t(lang, f"relay.role_{m.sender_role}")
            when = self.p.when(lang, m.created_at)
            lines.append(f"{when} · {who} ({role}):\n{m.text}")
        return "\n\n".join(lines)

    async def gig(self, s: AsyncSession, gig_id: int) -> Gig | None:
        return await s.get(Gig, gig_id)

    async def count(self, s: AsyncSession, gig_id: int) -> int:
        found = await s.scalar(
            select(func.count()).select_from(RelayMessage).where(RelayMessage.gig_id == gig_id)
        )
        return found or 0

    # ----- keeping and erasing ----------------------------------------------------------------

    async def purge(self, s: AsyncSession) -> int:
        """Delete the messages of relays closed longer than RETENTION ago."""
        gig_ids = (await s.scalars(select(RelayMessage.gig_id).distinct())).all()
        now = self.clock.now()
        gone = 0
        for gig_id in gig_ids:
            gig = await s.get(Gig, gig_id)
            if gig is not None and self.closes_at(gig) + RETENTION <= now:
                result = await s.execute(delete(RelayMessage).where(RelayMessage.gig_id == gig_id))
                gone += result.rowcount or 0  # type: ignore[attr-defined]
        return gone

    async def mine(self, s: AsyncSession, user_id: int) -> list[RelayMessage]:
        rows = await s.scalars(
            select(RelayMessage).where(RelayMessage.sender_id == user_id).order_by(RelayMessage.id)
        )
        return list(rows.all())

    async def forget(self, s: AsyncSession, user_id: int) -> None:
        """Delete the person's messages and replace the copies others got with a note."""
        mine = await self.mine(s, user_id)
        for message in mine:
            tags = [pack(RelayTag(message.id, i)) for i in range(MAX_PARTS)]
            sent = await s.scalars(
                select(Outbox).where(
                    Outbox.tag.in_(tags),
                    Outbox.kind == Kind.SEND,
                    Outbox.status != OutboxStatus.CANCELLED,
                )
            )
            for row in sent.all():
                await self._erase_copy(s, row)
            await s.delete(message)
        await s.flush()

    async def _erase_copy(self, s: AsyncSession, row: Outbox) -> None:
        if row.status == OutboxStatus.PENDING:
            row.status = OutboxStatus.CANCELLED  # never delivered: it never will be
            row.text = ""
            return
        who = await s.scalar(select(User).where(User.telegram_id == row.chat_id))
        if who is None:
            return  # the recipient has been erased too
        now = self.clock.now()
        text = self.p.t(who.language, "relay.erased")
        edit = OutMessage(chat_id=row.chat_id, text=text, kind=Kind.EDIT)
        await OutboxRepo(s).add(to_row(edit, tag=row.tag, not_before=now, now=now))
