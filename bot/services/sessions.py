"""Support between gigs: group supervision (työnohjaus), peer groups and training.

A coordinator announces a session with a capacity; the eligible experts get an invitation and
sign up or cancel with a tap. When the session is full, a sign-up goes on the waiting list;
when someone cancels, the first on the list is moved up and told. Signed-up experts get a
reminder before it (the reminder hours of gigs); after it, the coordinator records attendance,
which shows on the expert's card. A gig type can require a completed training: matching then
leaves out those who have not attended it (`trained`, a condition of its own beside the
profile rules), and the ranking names them with the reason.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, Select, delete, exists, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.callbacks import SessionAnswer, SessionManage, pack
from bot.errors import Refuse
from bot.notify import ButtonSpec
from bot.services.access import Actor
from bot.services.base import Recording
from storage.models import (
    ExpertProfile,
    ExpertStatus,
    Gig,
    Role,
    SeatStatus,
    SessionKind,
    SessionSeat,
    SessionStatus,
    SupportSession,
    TrainingRequirement,
    User,
)
from storage.repo import UserRepo


def trained(gig: Gig) -> ColumnElement[bool]:
    """Experts (`User.id`) who may take this gig as far as training goes: its type requires
    none, or they attended a training session of the required name (case-blind)."""
    required = select(TrainingRequirement.training).where(
        TrainingRequirement.gig_type == gig.gig_type
    )
    attended = exists(
        select(SessionSeat.id)
        .join(SupportSession, SupportSession.id == SessionSeat.session_id)
        .where(
            SessionSeat.expert_id == User.id,
            SessionSeat.status == SeatStatus.ATTENDED,
            SupportSession.kind == SessionKind.TRAINING,
            func.lower(SupportSession.training) == func.lower(required.scalar_subquery()),
        )
    )
    return or_(~exists(required), attended)


def training_missing(required: str | None, completed: set[str]) -> list[str]:
    """The rule in Python, for the reasons people see: ["training"] when the gig type needs a
    training this expert has not attended."""
    if required and required.casefold() not in {c.casefold() for c in completed}:
        return ["training"]
    return []


def invited_query(today: date) -> Select[int]:
    """The experts a session is announced to: in the register, approved, with a contract, not
    on a break (a break means no pushes of this kind either)."""
    p = ExpertProfile
    return (
        select(User.id)
        .join(p, p.user_id == User.id)
        .where(
            User.role == Role.EXPERT,
            User.active.is_(True),
            User.reachable.is_(True),
            User.telegram_id.is_not(None),
            p.status == ExpertStatus.APPROVED,
            p.contract_until >= today,
            or_(p.paused_until.is_(None), p.paused_until < today),
        )
        .order_by(User.id)
    )


@dataclass(slots=True)
class Participant:
    expert_id: int
    name: str
    status: SeatStatus


class Sessions(Recording):
    # ----- what people read ---------------------------------------------------------------

    def name(self, lang: str, sess: SupportSession) -> str:
        """What it is: "Group supervision", or "Training: <which>"."""
        kind = self.p.label(lang, "session_kind", sess.kind.value)
        return f"{kind}: {sess.training}" if sess.training else kind

    def title(self, lang: str, sess: SupportSession) -> str:
        when = self.p.when(lang, sess.starts_at)
        return self.p.t(lang, "session.title", kind=self.name(lang, sess), when=when)

    def details(self, lang: str, sess: SupportSession) -> str:
        return self.p.t(
            lang,
            "session.details",
            title=self.title(lang, sess),
            place=sess.place,
            hours=self.p.hours(lang, sess.duration_min),
            capacity=sess.capacity,
        )

    @staticmethod
    def answer_buttons(session_id: int, status: SeatStatus) -> list[list[ButtonSpec]]:
        """Sign up, or (signed up or waiting) cancel."""
        if status in (SeatStatus.SIGNED_UP, SeatStatus.WAITING):
            return [[("btn.session.cancel", pack(SessionAnswer(False, session_id)))]]
        return [[("btn.session.sign_up", pack(SessionAnswer(True, session_id)))]]

    # ----- announcing ---------------------------------------------------------------------

    async def create(self, s: AsyncSession, actor: Actor, values: dict[str, Any]) -> int:
        """Store the session and invite the eligible; returns how many were invited."""
        now = self.clock.now()
        sess = SupportSession(
            created_by=actor.id,
            kind=SessionKind(values["kind"]),
            training=(values.get("training") or "").strip(),
            starts_at=datetime.fromisoformat(values["starts_at"]),
            duration_min=int(values["duration"]),
            place=values["place"],
            capacity=int(values["capacity"]),
            created_at=now,
        )
        s.add(sess)
        await s.flush()
        today = now.astimezone(self.p.tz).date()
        # One query for the people, the rules as a subquery: no list of ids goes into SQL.
        invited = await s.scalars(
            select(User)
            .where(User.id.in_(invited_query(today).subquery().select()))
            .order_by(User.id)
        )
        ids = []
        for user in invited.all():
            ids.append(user.id)
            s.add(SessionSeat(session_id=sess.id, expert_id=user.id, created_at=now))
            text = f"{self.p.t(user.language, 'session.invitation')}\n\n"
            text += self.details(user.language, sess)
            buttons = self.answer_buttons(sess.id, SeatStatus.INVITED)
            await self.notify.push_text(
                s, user, text, buttons=self.notify.buttons(user.language, buttons), quiet=True
            )
        await self.audit.record(s, actor, "session_create", "session", sess.id, f"{len(ids)}")
        return len(ids)

    async def get(self, s: AsyncSession, session_id: int) -> SupportSession:
        sess = await s.get(SupportSession, session_id)
        if sess is None:
            raise Refuse("session.not_found")
        return sess

    async def _lock(self, s: AsyncSession, session_id: int) -> SupportSession:
        """The session row, locked on PostgreSQL (SQLite's writes are one at a time already),
        so two sign-ups never take the last place both."""
        sess = await s.scalar(
            select(SupportSession).where(SupportSession.id == session_id).with_for_update()
        )
        if sess is None:
            raise Refuse("session.not_found")
        return sess

    async def _own_seat(self, s: AsyncSession, actor: Actor, session_id: int) -> SessionSeat:
        """The presser's own invitation: a button is never proof of access."""
        seat = await s.scalar(
            select(SessionSeat).where(
                SessionSeat.session_id == session_id, SessionSeat.expert_id == actor.id
            )
        )
        if seat is None:
            raise Refuse("session.not_found")
        return seat

    async def _holding(self, s: AsyncSession, session_id: int) -> int:
        count = await s.scalar(
            select(func.count()).where(
                SessionSeat.session_id == session_id,
                SessionSeat.status.in_(SeatStatus.HOLDING),
            )
        )
        return int(count or 0)

    # ----- signing up and cancelling ------------------------------------------------------

    async def answer(
        self, s: AsyncSession, actor: Actor, session_id: int, sign_up: bool
    ) -> tuple[SupportSession, SessionSeat]:
        """Sign up (a place, or the waiting list when full) or cancel (the first waiting is
        moved up). Refused once the session has started or was cancelled."""
        sess = await self._lock(s, session_id)
        seat = await self._own_seat(s, actor, session_id)
        now = self.clock.now()
        if sess.status == SessionStatus.CANCELLED:
            raise Refuse("session.was_cancelled")
        if sess.starts_at <= now:
            raise Refuse("session.closed")
        if sign_up and seat.status not in (SeatStatus.SIGNED_UP, SeatStatus.WAITING):
            full = await self._holding(s, session_id) >= sess.capacity
            seat.status = SeatStatus.WAITING if full else SeatStatus.SIGNED_UP
            seat.queued_at = now if full else None
        elif not sign_up and seat.status in (SeatStatus.SIGNED_UP, SeatStatus.WAITING):
            freed = seat.status == SeatStatus.SIGNED_UP
            seat.status = SeatStatus.CANCELLED
            seat.queued_at = None
            if freed:
                await self.move_up(s, sess)
        seat.answered_at = now
        return sess, seat

    async def waiting_place(self, s: AsyncSession, seat: SessionSeat) -> int:
        """A waiting expert's place on the list (1: next to be moved up)."""
        ahead = await s.scalar(
            select(func.count()).where(
                SessionSeat.session_id == seat.session_id,
                SessionSeat.status == SeatStatus.WAITING,
                or_(
                    SessionSeat.queued_at < seat.queued_at,
                    (SessionSeat.queued_at == seat.queued_at) & (SessionSeat.id < seat.id),
                ),
            )
        )
        return int(ahead or 0) + 1

    async def move_up(self, s: AsyncSession, sess: SupportSession) -> int:
        """Fill free places from the waiting list, first come first; each is told."""
        moved = 0
        while await self._holding(s, sess.id) < sess.capacity:
            seat = await s.scalar(
                select(SessionSeat)
                .where(SessionSeat.session_id == sess.id, SessionSeat.status == SeatStatus.WAITING)
                .order_by(SessionSeat.queued_at, SessionSeat.id)
                .limit(1)
            )
            if seat is None:
                break
            seat.status = SeatStatus.SIGNED_UP
            seat.queued_at = None
            await s.flush()
            user = await UserRepo(s).get(seat.expert_id)
            if user is not None:
                title = self.title(user.language, sess)
                buttons = self.answer_buttons(sess.id, SeatStatus.SIGNED_UP)
                await self.notify.push(s, user, "session.moved_up", buttons=buttons, title=title)
            moved += 1
        return moved

    async def cancel(self, s: AsyncSession, actor: Actor, sess: SupportSession) -> int:
        """Cancel a session still to come: everyone with a place or waiting is told. Returns
        how many were told."""
        if sess.status != SessionStatus.OPEN or sess.starts_at <= self.clock.now():
            raise Refuse("session.cannot_cancel")
        sess = await self._lock(s, sess.id)
        sess.status = SessionStatus.CANCELLED
        seats = await s.scalars(
            select(SessionSeat).where(
                SessionSeat.session_id == sess.id,
                SessionSeat.status.in_((SeatStatus.SIGNED_UP, SeatStatus.WAITING)),
            )
        )
        told = 0
        for seat in seats.all():
            seat.status = SeatStatus.CANCELLED
            seat.queued_at = None
            user = await UserRepo(s).get(seat.expert_id)
            if user is not None:
                title = self.title(user.language, sess)
                await self.notify.push(s, user, "session.cancelled_notice", title=title)
                told += 1
        await self.audit.record(s, actor, "session_cancel", "session", sess.id)
        return told

    # ----- time: reminders and attendance -------------------------------------------------

    async def tick(self, s: AsyncSession) -> None:
        """Remind the signed-up before a session; after it, ask its coordinator to record
        attendance (once)."""
        now = self.clock.now()
        soon = now + timedelta(hours=self.settings.reminder_hours_before)
        due = await s.execute(
            select(SessionSeat, SupportSession)
            .join(SupportSession, SupportSession.id == SessionSeat.session_id)
            .where(
                SessionSeat.status == SeatStatus.SIGNED_UP,
                SessionSeat.reminded_at.is_(None),
                SupportSession.status == SessionStatus.OPEN,
                SupportSession.starts_at > now,
                SupportSession.starts_at <= soon,
            )
        )
        for seat, sess in due.all():
            seat.reminded_at = now
            user = await UserRepo(s).get(seat.expert_id)
            if user is not None:
                text = f"{self.p.t(user.language, 'session.reminder')}\n\n"
                text += self.details(user.language, sess)
                # Not in quiet hours: an early session's reminder waits for the morning.
                await self.notify.push_text(s, user, text, quiet=True)
        await self._ask_attendance(s, now)

    async def _ask_attendance(self, s: AsyncSession, now: datetime) -> None:
        started = await s.scalars(
            select(SupportSession).where(
                SupportSession.status == SessionStatus.OPEN,
                SupportSession.attendance_asked.is_(False),
                SupportSession.starts_at <= now,
            )
        )
        for sess in started.all():
            if sess.starts_at + timedelta(minutes=sess.duration_min) > now:
                continue
            sess.attendance_asked = True
            creator = await UserRepo(s).get(sess.created_by)
            button: list[list[ButtonSpec]] = [
                [("btn.session.attendance", pack(SessionManage("a", sess.id)))]
            ]
            if creator is not None and creator.active and creator.role == Role.COORDINATOR:
                title = self.title(creator.language, sess)
                await self.notify.push(
                    s, creator, "session.attendance_ask", buttons=button, title=title
                )
            else:
                title = self.title(self.settings.default_language, sess)
                await self.notify.coordinators(
                    s, "session.attendance_ask", buttons=button, title=title
                )

    # ----- the coordinator's side ---------------------------------------------------------

    async def participants(self, s: AsyncSession, sess: SupportSession) -> list[Participant]:
        """Those with a place (in the order they signed up), then the waiting list in order."""
        rows = await s.execute(
            select(SessionSeat, ExpertProfile.display_name)
            .join(ExpertProfile, ExpertProfile.user_id == SessionSeat.expert_id)
            .where(
                SessionSeat.session_id == sess.id,
                SessionSeat.status.in_((*SeatStatus.HOLDING, SeatStatus.WAITING)),
            )
            .order_by(SessionSeat.queued_at.nulls_first(), SessionSeat.answered_at, SessionSeat.id)
        )
        return [Participant(seat.expert_id, name, seat.status) for seat, name in rows.all()]

    async def mark(
        self, s: AsyncSession, actor: Actor, sess: SupportSession, expert_id: int
    ) -> None:
        """Attendance, once the session has started: attended ⇄ absent (a tap toggles)."""
        if sess.starts_at > self.clock.now():
            raise Refuse("session.not_started")
        seat = await s.scalar(
            select(SessionSeat).where(
                SessionSeat.session_id == sess.id,
                SessionSeat.expert_id == expert_id,
                SessionSeat.status.in_(SeatStatus.HOLDING),
            )
        )
        if seat is None:
            raise Refuse("session.not_participant")
        seat.status = (
            SeatStatus.ABSENT if seat.status == SeatStatus.ATTENDED else SeatStatus.ATTENDED
        )
        detail = f"expert {expert_id}: {seat.status.value}"
        await self.audit.record(s, actor, "session_attendance", "session", sess.id, detail)

    async def upcoming(self, s: AsyncSession, limit: int = 20) -> list[SupportSession]:
        """Sessions from a week back on, soonest first."""
        since = self.clock.now() - timedelta(days=7)
        rows = await s.scalars(
            select(SupportSession)
            .where(SupportSession.starts_at >= since)
            .order_by(SupportSession.starts_at)
            .limit(limit)
        )
        return list(rows.all())

    async def attended(self, s: AsyncSession, expert_id: int) -> list[SupportSession]:
        """The sessions this expert attended, for the card."""
        rows = await s.scalars(
            select(SupportSession)
            .join(SessionSeat, SessionSeat.session_id == SupportSession.id)
            .where(SessionSeat.expert_id == expert_id, SessionSeat.status == SeatStatus.ATTENDED)
            .order_by(SupportSession.starts_at)
        )
        return list(rows.all())

    # ----- training a gig type requires ---------------------------------------------------

    async def requirements(self, s: AsyncSession) -> dict[str, str]:
        rows = await s.execute(select(TrainingRequirement.gig_type, TrainingRequirement.training))
        return {gig_type: training for gig_type, training in rows.all()}

    async def require(
        self, s: AsyncSession, actor: Actor, gig_type: str, training: str | None
    ) -> None:
        """Map a gig type to the training it requires (None: no longer required)."""
        row = await s.get(TrainingRequirement, gig_type)
        if training is None:
            if row is not None:
                await s.delete(row)
        elif row is None:
            s.add(TrainingRequirement(gig_type=gig_type, training=training))
        else:
            row.training = training
        await self.audit.record(
            s, actor, "training_requirement", "gig_type", 0, f"{gig_type}: {training or '-'}"
        )


# ----- data rights ----------------------------------------------------------------------


async def export_seats(s: AsyncSession, user_id: int) -> list[dict[str, Any]]:
    """The person's invitations to sessions, sign-ups and attendance, for /mydata."""
    rows = await s.execute(
        select(SessionSeat, SupportSession)
        .join(SupportSession, SupportSession.id == SessionSeat.session_id)
        .where(SessionSeat.expert_id == user_id)
        .order_by(SessionSeat.id)
    )
    return [
        {
            "id": seat.id,
            "session": sess.id,
            "kind": sess.kind.value,
            "training": sess.training,
            "starts_at": sess.starts_at.isoformat(),
            "status": seat.status.value,
            "answered_at": seat.answered_at.isoformat() if seat.answered_at else None,
        }
        for seat, sess in rows.all()
    ]


async def forget_seats(s: AsyncSession, sessions: Sessions, user_id: int) -> None:
    """/forget: the person's sign-ups and attendance go; a place they held in a session still
    to come goes to the first on its waiting list."""
    now = sessions.clock.now()
    freed = await s.scalars(
        select(SupportSession)
        .join(SessionSeat, SessionSeat.session_id == SupportSession.id)
        .where(
            SessionSeat.expert_id == user_id,
            SessionSeat.status == SeatStatus.SIGNED_UP,
            SupportSession.starts_at > now,
            SupportSession.status == SessionStatus.OPEN,
        )
    )
    to_refill = list(freed.all())
    await s.execute(delete(SessionSeat).where(SessionSeat.expert_id == user_id))
    await s.flush()
    for sess in to_refill:
        await sessions.move_up(s, sess)
