"""Calls for interest for long-term roles (a development group, a recruitment panel, a
steering group).

A coordinator's call goes to every eligible expert through the outbox. Each answers
"interested" (with an optional line) or "not this time" until the deadline; then the
coordinator sees the interested in the fair rotation's order, with the same figures as a
gig's ranking (a fast answer never moves anyone up), ticks the chosen and confirms: the chosen
get a confirmation, the other interested a kind thank-you.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import Select, delete, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.callbacks import CallAnswerButton, CallManage, pack
from bot.clock import Clock
from bot.errors import Refuse
from bot.notify import ButtonSpec, Notifier
from bot.present import Presenter
from bot.services.access import Actor
from bot.services.audit import Audit
from bot.services.dispatch.ranking import ROTATION_DAYS, Rotation, rotation_order, rotation_stats
from storage import vocab
from storage.models import (
    Call,
    CallAnswer,
    CallAnswerStatus,
    CallStatus,
    ExpertProfile,
    ExpertStatus,
    Role,
    User,
)
from storage.repo import OfferRepo, UserRepo

# The pick view has a button per interested expert; Telegram shows at most 100 buttons.
PICK_BUTTONS = 90
# Answers that count as interested (before and after the choice).
KEEN = (CallAnswerStatus.INTERESTED, CallAnswerStatus.CHOSEN)


@dataclass(slots=True)
class Interested:
    """One interested expert's place in the fair rotation, with the facts behind it."""

    expert_id: int
    name: str
    place: int
    rotation: Rotation
    message: str
    picked: bool
    eligible: bool  # still passes the call's rules (not paused, contract valid...)


def eligible_query(call: Call, today: date) -> Select[int]:
    """The experts a call goes to: the same register rules as a gig (active, reachable,
    approved, a contract, not on a break), the role's kind of task in their profile, and, when
    the call names any, one of its topics and one of its regions (or remote work)."""
    p = ExpertProfile
    rules = [
        User.role == Role.EXPERT,
        User.active.is_(True),
        User.reachable.is_(True),
        User.telegram_id.is_not(None),
        p.status == ExpertStatus.APPROVED,
        p.contract_until >= today,
        or_(p.paused_until.is_(None), p.paused_until < today),
        p.gig_types_mask.op("&")(vocab.mask("gig_types", [call.gig_type])) != 0,
    ]
    if call.topics:
        rules.append(p.topics_mask.op("&")(vocab.mask("topics", call.topics)) != 0)
    if call.regions:
        in_region = p.regions_mask.op("&")(vocab.mask("regions", call.regions)) != 0
        rules.append(or_(in_region, p.remote_ok.is_(True)))
    return select(User.id).join(p, p.user_id == User.id).where(*rules).order_by(User.id)


class Calls:
    def __init__(self, presenter: Presenter, notifier: Notifier, clock: Clock, audit: Audit):
        self.p = presenter
        self.notify = notifier
        self.clock = clock
        self.audit = audit

    def _today(self) -> date:
        return self.clock.now().astimezone(self.p.tz).date()

    # ----- what people read ---------------------------------------------------------------

    def details(self, lang: str, call: Call) -> str:
        """The role's facts, as the invited expert and the coordinator read them."""
        unpaid = self.p.t(lang, "common.unpaid")
        fee = self.p.money(lang, call.fee_cents) if call.fee_cents else unpaid
        return self.p.t(
            lang,
            "call.details",
            title=call.title,
            involves=call.involves,
            commitment=call.commitment,
            fee=fee,
            seats=call.seats,
            deadline=self.p.when(lang, call.deadline),
        )

    def invitation(self, lang: str, call: Call) -> str:
        return f"{self.p.t(lang, 'call.invitation')}\n\n{self.details(lang, call)}"

    def title(self, lang: str, call: Call) -> str:
        return self.p.t(lang, "call.title", id=call.id, title=call.title)

    @staticmethod
    def answer_buttons(call_id: int, status: CallAnswerStatus) -> list[list[ButtonSpec]]:
        """The expert's buttons: the answer they have not given (they may change their mind
        until the deadline)."""
        yes = ("btn.call.interested", pack(CallAnswerButton(True, call_id)))
        no = ("btn.call.not_now", pack(CallAnswerButton(False, call_id)))
        if status == CallAnswerStatus.INTERESTED:
            return [[no]]
        if status == CallAnswerStatus.DECLINED:
            return [[yes]]
        return [[yes, no]]

    @staticmethod
    def manage_buttons(call: Call) -> list[list[ButtonSpec]]:
        """The coordinator's buttons for a call in its current state."""
        view = ("btn.call.view", pack(CallManage("v", call.id)))
        if call.status == CallStatus.OPEN:
            return [
                [view],
                [
                    ("btn.call.close", pack(CallManage("x", call.id))),
                    ("btn.call.extend", pack(CallManage("e", call.id))),
                ],
            ]
        if call.status == CallStatus.CLOSED:
            return [[view], [("btn.call.extend", pack(CallManage("e", call.id)))]]
        return [[view]]

    # ----- creating and answering ---------------------------------------------------------

    async def create(self, s: AsyncSession, actor: Actor, values: dict[str, Any]) -> Call:
        """Store the call and invite every eligible expert (quiet hours respected)."""
        now = self.clock.now()
        call = Call(
            created_by=actor.id,
            title=values["title"],
            involves=values["involves"],
            commitment=values["commitment"],
            fee_cents=values.get("fee"),
            seats=int(values["seats"]),
            deadline=datetime.fromisoformat(values["deadline"]),
            gig_type=values["gig_type"],
            topics=list(values.get("topics") or []),
            regions=list(values.get("regions") or []),
            created_at=now,
        )
        s.add(call)
        await s.flush()
        # One query for the people, the rules as a subquery: no list of ids goes into SQL.
        invited = await s.scalars(
            select(User)
            .where(User.id.in_(eligible_query(call, self._today()).subquery().select()))
            .order_by(User.id)
        )
        ids = []
        for user in invited.all():
            ids.append(user.id)
            s.add(CallAnswer(call_id=call.id, expert_id=user.id, created_at=now))
            await self.notify.push_text(
                s,
                user,
                self.invitation(user.language, call),
                buttons=self.notify.buttons(
                    user.language, self.answer_buttons(call.id, CallAnswerStatus.INVITED)
                ),
                quiet=True,
            )
        await self.audit.record(s, actor, "call_create", "call", call.id, f"invited {len(ids)}")
        return call

    async def invited(self, s: AsyncSession, call_id: int) -> int:
        rows = await s.scalars(select(CallAnswer.id).where(CallAnswer.call_id == call_id))
        return len(rows.all())

    async def _own_answer(self, s: AsyncSession, actor: Actor, call_id: int) -> CallAnswer:
        """The presser's own invitation to this call: a button is never proof of access."""
        answer = await s.scalar(
            select(CallAnswer).where(
                CallAnswer.call_id == call_id, CallAnswer.expert_id == actor.id
            )
        )
        if answer is None:
            raise Refuse("call.not_found")
        return answer

    async def answer(
        self, s: AsyncSession, actor: Actor, call_id: int, interested: bool
    ) -> tuple[Call, CallAnswer] | None:
        """Record "interested" or "not this time"; None when the call no longer takes answers
        (the deadline passed or the coordinator closed it)."""
        answer = await self._own_answer(s, actor, call_id)
        call = await s.get(Call, call_id)
        assert call is not None
        if call.status != CallStatus.OPEN or call.deadline <= self.clock.now():
            return None
        answer.status = CallAnswerStatus.INTERESTED if interested else CallAnswerStatus.DECLINED
        answer.answered_at = self.clock.now()
        if not interested:
            answer.message = ""
        return call, answer

    async def note(self, s: AsyncSession, actor: Actor, call_id: int, text: str | None) -> Call:
        """The interested expert's optional line to the coordinator."""
        answer = await self._own_answer(s, actor, call_id)
        call = await s.get(Call, call_id)
        assert call is not None
        if answer.status != CallAnswerStatus.INTERESTED or call.status != CallStatus.OPEN:
            raise Refuse("call.closed")
        answer.message = (text or "")[:300]
        return call

    # ----- the coordinator's side ---------------------------------------------------------

    async def get(self, s: AsyncSession, call_id: int) -> Call:
        call = await s.get(Call, call_id)
        if call is None:
            raise Refuse("call.not_found")
        return call

    async def recent(self, s: AsyncSession, limit: int = 20) -> list[tuple[Call, int, int]]:
        """The latest calls with how many were asked and how many are interested."""
        calls = (await s.scalars(select(Call).order_by(Call.id.desc()).limit(limit))).all()
        out = []
        for call in calls:
            statuses = (
                await s.scalars(select(CallAnswer.status).where(CallAnswer.call_id == call.id))
            ).all()
            keen = sum(st in KEEN for st in statuses)
            out.append((call, len(statuses), keen))
        return out

    async def close(self, s: AsyncSession, actor: Actor | None, call: Call) -> bool:
        """Stop taking answers (early, or at the deadline); false if it was not open."""
        done = await s.execute(
            update(Call)
            .where(Call.id == call.id, Call.status == CallStatus.OPEN)
            .values(status=CallStatus.CLOSED, closed_at=self.clock.now())
        )
        await s.refresh(call)
        if not done.rowcount:  # type: ignore[attr-defined]
            return False
        await self.audit.record(s, actor, "call_close", "call", call.id)
        return True

    async def close_due(self, s: AsyncSession) -> int:
        """The scheduler's part: close every call whose deadline has passed and tell the
        coordinator who made it (or, if they are no longer one, every coordinator)."""
        due = (
            await s.scalars(
                select(Call).where(
                    Call.status == CallStatus.OPEN, Call.deadline <= self.clock.now()
                )
            )
        ).all()
        for call in due:
            if await self.close(s, None, call):
                await self._tell_closed(s, call)
        return len(due)

    async def _tell_closed(self, s: AsyncSession, call: Call) -> None:
        keen = len(await self._interested_rows(s, call.id))
        asked = await self.invited(s, call.id)
        args: dict[str, Any] = {"title": call.title, "id": call.id, "count": keen, "asked": asked}
        buttons = self.manage_buttons(call)
        creator = await UserRepo(s).get(call.created_by)
        if creator is not None and creator.active and creator.role == Role.COORDINATOR:
            await self.notify.push(s, creator, "call.deadline_passed", buttons=buttons, **args)
        else:
            await self.notify.coordinators(s, "call.deadline_passed", buttons=buttons, **args)

    async def extend(self, s: AsyncSession, actor: Actor, call: Call, deadline: datetime) -> int:
        """A new deadline (the call opens again if it had closed); those who have not answered
        yet are told, with the answer buttons again. Returns how many were told."""
        if call.status == CallStatus.DECIDED:
            raise Refuse("call.already_decided")
        call.deadline = deadline
        call.status = CallStatus.OPEN
        call.closed_at = None
        await self.audit.record(s, actor, "call_extend", "call", call.id, deadline.isoformat())
        waiting = (
            await s.execute(
                select(User)
                .join(CallAnswer, CallAnswer.expert_id == User.id)
                .where(
                    CallAnswer.call_id == call.id,
                    CallAnswer.status == CallAnswerStatus.INVITED,
                    User.active.is_(True),
                )
            )
        ).scalars()
        told = 0
        for user in waiting:
            when = self.p.when(user.language, deadline)
            await self.notify.push(
                s,
                user,
                "call.extended",
                buttons=self.answer_buttons(call.id, CallAnswerStatus.INVITED),
                quiet=True,
                title=call.title,
                when=when,
            )
            told += 1
        return told

    async def _interested_rows(self, s: AsyncSession, call_id: int) -> list[CallAnswer]:
        rows = await s.scalars(
            select(CallAnswer).where(
                CallAnswer.call_id == call_id,
                CallAnswer.status.in_(KEEN),
            )
        )
        return list(rows.all())

    async def interested(self, s: AsyncSession, call: Call) -> list[Interested]:
        """The interested, in the fair rotation's order (fewest gigs and hours in 90 days,
        then longest without a gig): when they answered plays no part."""
        rows = {a.expert_id: a for a in await self._interested_rows(s, call.id)}
        if not rows:
            return []
        now = self.clock.now()
        recent, last = await OfferRepo(s).work_done(now, now - timedelta(days=ROTATION_DAYS))
        stats = rotation_stats(rows, recent, last)
        found = await s.execute(
            select(ExpertProfile.user_id, ExpertProfile.display_name)
            .join(CallAnswer, CallAnswer.expert_id == ExpertProfile.user_id)
            .where(CallAnswer.call_id == call.id, CallAnswer.status.in_(KEEN))
        )
        names = {uid: name for uid, name in found.all()}
        still = set((await s.scalars(eligible_query(call, self._today()))).all())
        return [
            Interested(
                uid,
                names.get(uid, "?"),
                place,
                stats[uid],
                rows[uid].message,
                rows[uid].picked or rows[uid].status == CallAnswerStatus.CHOSEN,
                uid in still,
            )
            for place, uid in enumerate(rotation_order(stats), start=1)
        ]

    def _closed_for_picking(self, call: Call) -> None:
        if call.status == CallStatus.OPEN:
            raise Refuse("call.still_open")
        if call.status == CallStatus.DECIDED:
            raise Refuse("call.already_decided")

    async def toggle(self, s: AsyncSession, call: Call, expert_id: int) -> None:
        """Tick or untick one interested expert (nothing is told until the choice is sent)."""
        self._closed_for_picking(call)
        answer = await s.scalar(
            select(CallAnswer).where(
                CallAnswer.call_id == call.id,
                CallAnswer.expert_id == expert_id,
                CallAnswer.status == CallAnswerStatus.INTERESTED,
            )
        )
        if answer is None:
            raise Refuse("call.not_interested")
        answer.picked = not answer.picked

    async def decide(self, s: AsyncSession, actor: Actor, call: Call) -> tuple[int, int]:
        """Send the choice: the ticked get a confirmation, the other interested a thank-you.
        Once only (a second press, or another coordinator's, changes nothing)."""
        self._closed_for_picking(call)
        done = await s.execute(
            update(Call)
            .where(Call.id == call.id, Call.status == CallStatus.CLOSED)
            .values(status=CallStatus.DECIDED, decided_at=self.clock.now())
        )
        if not done.rowcount:  # type: ignore[attr-defined]
            raise Refuse("call.already_decided")
        await s.refresh(call)
        ranked = await self.interested(s, call)
        chosen = [r for r in ranked if r.picked]
        users = UserRepo(s)
        for r in ranked:
            user = await users.get(r.expert_id)
            answer = await self._answer_of(s, call.id, r.expert_id)
            answer.status = CallAnswerStatus.CHOSEN if r.picked else CallAnswerStatus.THANKED
            if user is None or not user.active:
                continue
            key = "call.chosen" if r.picked else "call.thanks"
            await self.notify.push(s, user, key, quiet=True, title=call.title)
        picks = ", ".join(f"#{r.expert_id} (place {r.place})" for r in chosen)
        await self.audit.record(s, actor, "call_decide", "call", call.id, f"chosen: {picks}")
        return len(chosen), len(ranked) - len(chosen)

    async def _answer_of(self, s: AsyncSession, call_id: int, expert_id: int) -> CallAnswer:
        answer = await s.scalar(
            select(CallAnswer).where(
                CallAnswer.call_id == call_id, CallAnswer.expert_id == expert_id
            )
        )
        assert answer is not None
        return answer


# ----- data rights ----------------------------------------------------------------------


async def export_answers(s: AsyncSession, user_id: int) -> list[dict[str, Any]]:
    """The person's invitations to calls and their answers, for /mydata."""
    rows = await s.execute(
        select(CallAnswer, Call)
        .join(Call, Call.id == CallAnswer.call_id)
        .where(CallAnswer.expert_id == user_id)
        .order_by(CallAnswer.id)
    )
    return [
        {
            "id": a.id,
            "call": c.id,
            "role": c.title,
            "answer": a.status.value,
            "message": a.message,
            "invited_at": a.created_at.isoformat(),
            "answered_at": a.answered_at.isoformat() if a.answered_at else None,
        }
        for a, c in rows.all()
    ]


async def forget_answers(s: AsyncSession, user_id: int) -> None:
    """/forget: the person's invitations, interest and lines go."""
    await s.execute(delete(CallAnswer).where(CallAnswer.expert_id == user_id))
