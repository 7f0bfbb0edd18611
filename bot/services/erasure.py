"""Erasing a person's traces outside their own rows: alerts that name them (and the copies in
coordinators' chats), messages still waiting to go out, stored updates, free texts of others.

An erasure can wait for money: while fees are still owed to the person, their chosen name and
those fees stay so that they can be paid (`users.erase_when_paid`); the last payment finishes it.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, and_, delete, false, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.callbacks import AlertTag, RegistrationTag, pack
from bot.clock import Clock
from bot.notify import Notifier
from bot.present import Presenter
from bot.services.base import Messaging
from bot.services.relay import Relay
from storage.models import (
    Alert,
    AuditLog,
    ExpertProfile,
    Fee,
    FeeStatus,
    FeeType,
    Gig,
    GigStatus,
    Inbox,
    OrdererFeedback,
    Outbox,
    OutboxStatus,
    PrepAnswer,
    RelayMessage,
    User,
)
from storage.repo import UserRepo

# Keys of the Bot API objects whose value is a Telegram user or chat id.
_ID_KEYS = ("id", "user_id", "chat_id")


def owed() -> ColumnElement[bool]:
    """A fee still to be paid (the same rule as the coordinators' /fees list): not paid, not
    for a cancelled gig, and money in it (a volunteer is still owed their expenses)."""
    return and_(
        Fee.status != FeeStatus.PAID,
        or_(Fee.fee_type != FeeType.VOLUNTEER, Fee.travel_cents + Fee.other_cents > 0),
        Gig.status != GigStatus.CANCELLED,
    )


async def owed_to(s: AsyncSession, expert_id: int, now: datetime) -> list[Fee]:
    """Fees owed for gigs already begun (a future gig is handed back on erasure, and its
    agreed fee goes with it)."""
    rows = await s.scalars(
        select(Fee)
        .join(Gig, Gig.id == Fee.gig_id)
        .where(Fee.expert_id == expert_id, owed(), Gig.starts_at <= now)
        .order_by(Fee.id)
    )
    return list(rows.all())


def tg_link(telegram_id: int) -> str:
    return f"tg://user?id={telegram_id}"


class Marks:
    """What identifies one person in a text or a stored update."""

    def __init__(self, names: Iterable[str], telegram_id: int | None) -> None:
        words = sorted({n.strip() for n in names if n and n.strip()}, key=len, reverse=True)
        self.words = words + ([tg_link(telegram_id)] if telegram_id is not None else [])
        # Whole words only: "Aino" must not match "Ainola".
        self.pattern = (
            re.compile("|".join(rf"(?<!\w){re.escape(w)}(?!\w)" for w in words)) if words else None
        )
        self.telegram_id = telegram_id
        self.link = tg_link(telegram_id) if telegram_id is not None else None

    def any_in(self, column: Any) -> ColumnElement[bool]:
        """A cheap SQL prefilter for `in_text` (a substring test; `in_text` decides)."""
        return or_(*(column.contains(w) for w in self.words)) if self.words else false()

    def in_text(self, text: str) -> bool:
        if self.link is not None and self.link in text:
            return True
        return self.pattern is not None and self.pattern.search(text) is not None

    def scrub(self, text: str) -> str:
        if self.link is not None:
            text = text.replace(self.link, "")
        return self.pattern.sub("–", text) if self.pattern is not None else text

    def in_payload(self, value: Any, key: str = "") -> bool:
        """Whether a stored update names the person or carries their id anywhere (the sender,
        a forwarded message, the text of a message a button was pressed under)."""
        if isinstance(value, dict):
            return any(self.in_payload(v, k) for k, v in value.items())
        if isinstance(value, list):
            return any(self.in_payload(v) for v in value)
        if isinstance(value, str):
            return self.in_text(value)
        if isinstance(value, int) and not isinstance(value, bool) and key in _ID_KEYS:
            return value == self.telegram_id
        return False


class Erasure(Messaging):
    def __init__(self, presenter: Presenter, notifier: Notifier, clock: Clock) -> None:
        super().__init__(presenter, notifier, clock)
        self.relay = Relay(presenter, notifier, clock)

    async def scrub(
        self, s: AsyncSession, user: User, marks: Marks, *, keep_fee_alerts: bool = False
    ) -> None:
        """Remove what names the person from everyone else's data. With `keep_fee_alerts`
        (fees still owed) the fee reminders stay until the fees are paid."""
        await self._retract_alerts(s, user, marks, keep_fee_alerts=keep_fee_alerts)
        await self.relay.forget(s, user.id)
        # Answers to preparation calls say nothing once the person is gone.
        await s.execute(delete(PrepAnswer).where(PrepAnswer.expert_id == user.id))
        await self._scrub_pending_messages(s, marks)
        await self._drop_stored_updates(s, marks)
        await self._scrub_free_texts(s, marks)

    async def _retract_alerts(
        self, s: AsyncSession, user: User, marks: Marks, *, keep_fee_alerts: bool
    ) -> None:
        """Delete the alerts about the person and mark them erased in the coordinators' chats."""
        alerts = (
            await s.scalars(
                select(Alert).where(or_(Alert.subject_id == user.id, Alert.subject_id.is_(None)))
            )
        ).all()
        coordinators = await UserRepo(s).coordinators()
        for alert in alerts:
            if alert.subject_id is None and not any(
                marks.in_text(str(t)) for t in alert.texts.values()
            ):
                continue  # (rows from before alerts knew their subject are matched by text)
            if keep_fee_alerts and alert.category == "fees":
                continue
            for coord in coordinators:
                await self.notify.edit_text(
                    s, coord, pack(AlertTag(alert.id)), self.p.t(coord.language, "alerts.erased")
                )
            await s.delete(alert)
        # The registration alert (not claimable, so it has no row) is edited the same way.
        for coord in coordinators:
            await self.notify.edit_text(
                s, coord, pack(RegistrationTag(user.id)), self.p.t(coord.language, "alerts.erased")
            )

    @staticmethod
    async def _scrub_pending_messages(s: AsyncSession, marks: Marks) -> None:
        # Delivered texts are not kept (see OutboxSender); messages still waiting for others
        # must not carry the name or the link either.
        pending = await s.scalars(
            select(Outbox).where(
                Outbox.status.in_((OutboxStatus.PENDING, OutboxStatus.SENDING)),
                marks.any_in(Outbox.text),
            )
        )
        for row in pending.all():
            if marks.in_text(row.text):
                row.text = marks.scrub(row.text)

    @staticmethod
    async def _drop_stored_updates(s: AsyncSession, marks: Marks) -> None:
        # Updates are kept until handled; any still stored that names the person goes now,
        # whoever sent it (a coordinator's press on their registration carries the profile).
        for stored in (await s.scalars(select(Inbox).where(Inbox.payload.is_not(None)))).all():
            if marks.in_payload(stored.payload):
                await s.delete(stored)

    @staticmethod
    async def _scrub_free_texts(s: AsyncSession, marks: Marks) -> None:
        """Free texts other people wrote about them: the orderer's rating, messages in the log,
        messages in gig relays."""
        for feedback in (
            await s.scalars(select(OrdererFeedback).where(marks.any_in(OrdererFeedback.text)))
        ).all():
            if marks.in_text(feedback.text):
                feedback.text = marks.scrub(feedback.text)
        for entry in (
            await s.scalars(select(AuditLog).where(marks.any_in(AuditLog.details)))
        ).all():
            if marks.in_text(entry.details):
                entry.details = marks.scrub(entry.details)
        for said in (
            await s.scalars(select(RelayMessage).where(marks.any_in(RelayMessage.text)))
        ).all():
            if marks.in_text(said.text):
                said.text = marks.scrub(said.text)

    async def finish_if_settled(self, s: AsyncSession, expert_id: int) -> bool:
        """After a payment: an erasure that waited for its fees completes once none is owed."""
        user = await UserRepo(s).get(expert_id)
        if (
            user is None
            or not user.erase_when_paid
            or await owed_to(s, expert_id, self.clock.now())
        ):
            return False
        profile = await s.get(ExpertProfile, expert_id)
        marks = Marks([profile.display_name if profile else ""], None)
        await self.scrub(s, user, marks)
        await s.execute(delete(ExpertProfile).where(ExpertProfile.user_id == expert_id))
        user.erase_when_paid = False
        await s.flush()
        return True
