"""The experts' register: own profile and limits, coordinator approval and fields, the
register's views, and the expert's data rights (export, erase)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import and_, delete, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.callbacks import Registration, RegistrationTag, pack
from bot.clock import Clock
from bot.errors import Refuse
from bot.notify import Notifier
from bot.present import Presenter
from bot.services.access import Actor
from bot.services.audit import Audit
from bot.services.calls import export_answers, forget_answers
from bot.services.checkins import CheckIns
from bot.services.dispatch import Dispatch, Release
from bot.services.erasure import Erasure, Marks, owed_to
from bot.services.matching import month_bounds
from bot.services.sessions import Sessions, export_seats, forget_seats
from storage import vocab
from storage.models import (
    Alert,
    AuditLog,
    AvailabilityBlock,
    CalendarFeed,
    CheckIn,
    Draft,
    ExpenseClaim,
    ExpertProfile,
    ExpertStatus,
    Fee,
    Gig,
    GigStatus,
    Interest,
    Invite,
    Offer,
    OfferStatus,
    Outbox,
    PrepAnswer,
    RelayMessage,
    Role,
    User,
)
from storage.repo import AvailabilityRepo, GigRepo, UserRepo

CONTRACT_REMINDER_DAYS = 30
PAGE_SIZE = 10


def profile_values(profile: ExpertProfile) -> dict[str, Any]:
    return {
        "display_name": profile.display_name,
        "gig_types": list(profile.gig_types),
        "topics": list(profile.topics),
        "languages": list(profile.languages),
        "regions": list(profile.regions),
        "remote_ok": profile.remote_ok,
        "audiences": list(profile.audiences),
        "coord_notes": profile.notes or None,
    }


def registration_tag(user_id: int) -> str:
    return pack(RegistrationTag(user_id))


@dataclass
class Filters:
    """The register's filters; each is a code from bot.vocab or a status word."""

    topic: str | None = None
    gig_type: str | None = None
    region: str | None = None
    language: str | None = None
    status: str | None = None  # active | pending | inactive | None for all


@dataclass
class Card:
    user: User
    profile: ExpertProfile
    gigs_90d: int
    days_since_last: int | None
    upcoming: int


class Experts:
    def __init__(
        self,
        presenter: Presenter,
        notifier: Notifier,
        clock: Clock,
        checkins: CheckIns,
        audit: Audit,
        dispatch: Dispatch,
        erasure: Erasure,
        sessions: Sessions,
    ) -> None:
        self.sessions = sessions
        self.dispatch = dispatch
        self.erasure = erasure
        self.p = presenter
        self.notify = notifier
        self.clock = clock
        self.checkins = checkins
        self.audit = audit
        self.tz = presenter.tz

    def today(self) -> date:
        return self.clock.now().astimezone(self.tz).date()

    async def profile(self, s: AsyncSession, actor: Actor) -> ExpertProfile | None:
        return await UserRepo(s).profile(actor.id)

    # ----- the expert's own ---------------------------------------------------------------

    async def refuse_consent(self, s: AsyncSession, actor: Actor) -> datetime | None:
        """Keep nothing: the person's row goes, and the invite they opened works again until
        it expires (returned), so that changing their mind needs only the same link."""
        user = actor.user
        if user is None:
            return None
        invite = await s.scalar(select(Invite).where(Invite.used_by == user.id))
        if invite is not None:
            invite.used_by, invite.used_at = None, None
        await s.flush()
        await s.delete(user)
        await s.flush()
        actor.user = None
        if invite is None or invite.expires_at <= self.clock.now():
            return None
        return invite.expires_at

    async def save(self, s: AsyncSession, actor: Actor, values: dict[str, Any]) -> bool:
        """Save the profile; true when this completed a new registration (awaiting approval)."""
        users = UserRepo(s)
        existing = await users.profile(actor.id)
        if existing is None and not values.get("consent_at"):
            raise Refuse("expert.consent_needed")
        profile = await users.save_profile(actor.id, values, self.clock.now())
        if existing is not None:
            return False
        profile.consent_at = datetime.fromisoformat(values["consent_at"])
        if actor.user is not None:
            actor.user.consent_refused_at = None
        await self.notify.alert(
            s,
            "register",
            "register.new",
            tag=registration_tag(actor.id),
            buttons=[
                [
                    ("btn.approve", pack(Registration(True, actor.id))),
                    ("btn.reject", pack(Registration(False, actor.id))),
                ]
            ],
            id=actor.id,
            about=actor.id,
            name=profile.display_name,
            per_lang=lambda lang: {"summary": self.p.profile(lang, profile_values(profile))},
        )
        return True

    async def set_limit(self, s: AsyncSession, actor: Actor, name: str, value: int | None) -> None:
        profile = await self._own(s, actor)
        if name == "max_gigs_month":
            profile.max_gigs_month = value
        elif name == "max_earnings":
            profile.max_earnings_cents = value
        else:
            raise ValueError(name)
        profile.updated_at = self.clock.now()

    async def pause(self, s: AsyncSession, actor: Actor, until: date) -> None:
        profile = await self._own(s, actor)
        profile.paused_until = until
        profile.updated_at = self.clock.now()

    async def resume(self, s: AsyncSession, actor: Actor) -> bool:
        profile = await self._own(s, actor)
        was_paused = profile.paused_until is not None
        profile.paused_until = None
        return was_paused

    async def _own(self, s: AsyncSession, actor: Actor) -> ExpertProfile:
        profile = await UserRepo(s).profile(actor.id)
        if profile is None:
            raise Refuse("expert.profile_missing")
        return profile

    async def month_so_far(self, s: AsyncSession, user_id: int) -> tuple[int, int]:
        """Confirmed gigs and their agreed fees in the current local month (the same figures
        the matching rules and /myfees use)."""
        start, end = month_bounds(self.clock.now(), self.tz)
        row = (
            await s.execute(
                select(func.count(), func.coalesce(func.sum(Fee.amount_cents), 0))
                .select_from(Gig)
                .join(Offer, Offer.gig_id == Gig.id)
                .outerjoin(Fee, (Fee.gig_id == Gig.id) & (Fee.expert_id == Offer.expert_id))
                .where(
                    Offer.expert_id == user_id,
                    Offer.status == OfferStatus.ACCEPTED,
                    Gig.starts_at >= start,
                    Gig.starts_at < end,
                    Gig.status.in_(GigStatus.HAPPENING),
                )
            )
        ).one()
        return int(row[0] or 0), int(row[1] or 0)

    # ----- coordinators -------------------------------------------------------------------

    async def decide(
        self, s: AsyncSession, actor: Actor, user_id: int, approve: bool
    ) -> tuple[bool, ExpertProfile | None]:
        """Approve or reject a new registration; false when someone decided already."""
        profile = await UserRepo(s).profile(user_id)
        if profile is None:
            return False, None
        if profile.status != ExpertStatus.PENDING:
            return False, profile
        now = self.clock.now()
        await self.audit.record(
            s, actor, "approve_expert" if approve else "reject_expert", "expert", user_id
        )
        profile.status = ExpertStatus.APPROVED if approve else ExpertStatus.REJECTED
        profile.decided_at, profile.decided_by = now, actor.id
        if approve and profile.contract_until is None:
            # Contracts are yearly; approving means one has been made. Editable on the card.
            profile.contract_until = self.today() + timedelta(days=365)
        expert = await UserRepo(s).get(user_id)
        if expert is not None:
            if not approve:
                expert.active = False
            await self.notify.push(s, expert, "expert.approved" if approve else "expert.rejected")
        by = actor.user.name if actor.user else ""
        for coord in await UserRepo(s).coordinators():
            await self.notify.edit_text(
                s,
                coord,
                registration_tag(user_id),
                self.p.t(
                    coord.language,
                    "register.approved" if approve else "register.rejected",
                    name=profile.display_name,
                    by=by,
                    id=user_id,
                ),
            )
        return True, profile

    async def card(self, s: AsyncSession, user_id: int) -> Card | None:
        user = await UserRepo(s).get(user_id)
        profile = await UserRepo(s).profile(user_id)
        if user is None or profile is None or user.role != Role.EXPERT:
            return None
        now = self.clock.now()
        done = (
            Offer.expert_id == user_id,
            Offer.status == OfferStatus.ACCEPTED,
            Gig.status.in_(GigStatus.HAPPENING),
        )
        gigs_90d = await s.scalar(
            select(func.count())
            .select_from(Offer)
            .join(Gig, Gig.id == Offer.gig_id)
            .where(*done, Gig.starts_at >= now - timedelta(days=90), Gig.starts_at < now)
        )
        last = await s.scalar(
            select(func.max(Gig.starts_at))
            .join(Offer, Offer.gig_id == Gig.id)
            .where(*done, Gig.starts_at < now)
        )
        upcoming = await s.scalar(
            select(func.count())
            .select_from(Offer)
            .join(Gig, Gig.id == Offer.gig_id)
            .where(*done, Gig.starts_at >= now)
        )
        days = (now - last).days if last is not None else None
        return Card(user, profile, int(gigs_90d or 0), days, int(upcoming or 0))

    async def set_field(
        self, s: AsyncSession, actor: Actor, user_id: int, name: str, value: Any = None
    ) -> ExpertProfile:
        """Coordinator-only fields: training, PAIKKO, youth, contract date, active."""
        card = await self.card(s, user_id)
        if card is None:
            raise Refuse("register.not_found")
        profile, user = card.profile, card.user
        await self.audit.record(
            s, actor, f"edit_{name}", "expert", user_id, "" if value is None else str(value)
        )
        match name:
            case "basic_training" | "paikko" | "youth":
                setattr(profile, name, not getattr(profile, name))
            case "contract_until":
                profile.contract_until = date.fromisoformat(value)
                profile.contract_reminded_for = None
            case "active":
                user.active = bool(value)
                if user.active and profile.status == ExpertStatus.REJECTED:
                    profile.status = ExpertStatus.APPROVED
            case _:
                raise ValueError(name)
        return profile

    async def search(self, s: AsyncSession, f: Filters, page: int) -> tuple[list[Card], int]:
        """One page of the register (newest first) and the number of matches."""
        query = (
            select(User, ExpertProfile)
            .join(ExpertProfile, ExpertProfile.user_id == User.id)
            .where(User.role == Role.EXPERT, User.telegram_id.is_not(None))
        )
        if f.status == "active":
            query = query.where(
                User.active.is_(True), ExpertProfile.status == ExpertStatus.APPROVED
            )
        elif f.status == "pending":
            query = query.where(ExpertProfile.status == ExpertStatus.PENDING)
        elif f.status == "inactive":
            query = query.where(
                or_(User.active.is_(False), ExpertProfile.status == ExpertStatus.REJECTED)
            )
        rows = [(u, p) for u, p in await s.execute(query.order_by(User.id.desc()))]
        # List filters over JSON columns run here, the same on SQLite and PostgreSQL.
        picked = [
            (u, p)
            for u, p in rows
            if (f.topic is None or f.topic in p.topics)
            and (f.gig_type is None or f.gig_type in p.gig_types)
            and (f.region is None or f.region in p.regions)
            and (f.language is None or f.language in p.languages)
        ]
        start = page * PAGE_SIZE
        cards = []
        for u, _ in picked[start : start + PAGE_SIZE]:
            card = await self.card(s, u.id)
            if card is not None:
                cards.append(card)
        return cards, len(picked)

    async def contract_reminders(self, s: AsyncSession) -> int:
        """Tell coordinators, once per contract date, about contracts ending within 30 days."""
        today = self.today()
        due = (
            await s.scalars(
                select(ExpertProfile)
                .join(User, User.id == ExpertProfile.user_id)
                .where(
                    User.active.is_(True),
                    User.telegram_id.is_not(None),
                    ExpertProfile.status == ExpertStatus.APPROVED,
                    ExpertProfile.contract_until.is_not(None),
                    ExpertProfile.contract_until <= today + timedelta(days=CONTRACT_REMINDER_DAYS),
                )
                .order_by(ExpertProfile.contract_until)
            )
        ).all()
        count = 0
        for profile in due:
            if profile.contract_reminded_for == profile.contract_until:
                continue
            profile.contract_reminded_for = profile.contract_until
            assert profile.contract_until is not None
            key = (
                "register.contract_expired"
                if profile.contract_until < today
                else "register.contract_expiring"
            )
            await self.notify.alert(
                s,
                "register",
                key,
                claimable=True,
                id=profile.user_id,
                about=profile.user_id,
                name=profile.display_name,
                date=f"{profile.contract_until.day}."
                f"{profile.contract_until.month}."
                f"{profile.contract_until.year}",
            )
            count += 1
        return count

    async def end_pauses(self, s: AsyncSession) -> int:
        """Experts whose pause is over get offers again, and are told so."""
        today = self.today()
        ended = (
            await s.scalars(
                select(ExpertProfile).where(
                    ExpertProfile.paused_until.is_not(None), ExpertProfile.paused_until < today
                )
            )
        ).all()
        for profile in ended:
            profile.paused_until = None
            user = await UserRepo(s).get(profile.user_id)
            if user is not None and user.active:
                await self.checkins.pause_ended(s, user)
        return len(ended)

    # ----- data rights --------------------------------------------------------------------

    async def export(self, s: AsyncSession, actor: Actor) -> dict[str, Any]:
        """Everything stored about this person, in plain JSON-able form."""
        assert actor.user is not None
        await self.audit.record(s, actor, "data_export", "expert", actor.user.id)
        user = actor.user
        assert user is not None
        profile = await UserRepo(s).profile(user.id)
        offers = (
            await s.execute(
                select(Offer, Gig)
                .join(Gig, Gig.id == Offer.gig_id)
                .where(Offer.expert_id == user.id)
                .order_by(Offer.id)
            )
        ).all()
        fees = (await s.scalars(select(Fee).where(Fee.expert_id == user.id).order_by(Fee.id))).all()
        claims = (
            await s.scalars(
                select(ExpenseClaim)
                .where(ExpenseClaim.expert_id == user.id)
                .order_by(ExpenseClaim.id)
            )
        ).all()
        invite = await s.scalar(select(Invite).where(Invite.used_by == user.id))
        draft = await s.get(Draft, actor.telegram_id)
        checkins = (
            await s.scalars(
                select(CheckIn).where(CheckIn.expert_id == user.id).order_by(CheckIn.id)
            )
        ).all()
        audit = await self._audit_about(s, user.id, [f.id for f in fees], offers)
        alerts = (
            await s.scalars(select(Alert).where(Alert.subject_id == user.id).order_by(Alert.id))
        ).all()
        return {
            "exported_at": self.clock.now().isoformat(),
            "account": _account_data(user),
            "profile": _profile_data(profile) if profile is not None else None,
            "offers": [_offer_data(o, g) for o, g in offers],
            "form_in_progress": draft.data if draft is not None else None,
            "checkins": [_checkin_data(c) for c in checkins],
            "fees": [_fee_data(f) for f in fees],
            "expense_claims": [_claim_data(c) for c in claims],
            "invite": _invite_data(invite) if invite is not None else None,
            "audit_log": [_audit_data(a, user.id) for a in audit],
            "alerts_to_coordinators": [_alert_data(a, user.language) for a in alerts],
            **await self._between_gigs(s, user.id),
        }

    async def _between_gigs(self, s: AsyncSession, user_id: int) -> dict[str, Any]:
        """The rest of /mydata: availability and interest, calls and sessions, the calendar
        link, the relay and preparation calls, and the rotation's figures."""
        interests = (
            await s.scalars(
                select(Interest).where(Interest.expert_id == user_id).order_by(Interest.id)
            )
        ).all()
        feed_since = await s.scalar(
            select(CalendarFeed.created_at).where(CalendarFeed.user_id == user_id)
        )
        rotation = (await self.dispatch.rotation(s, [user_id]))[user_id]
        return {
            "availability_periods": [
                _block_data(b) for b in await AvailabilityRepo(s).blocks(user_id)
            ],
            "interest_in_open_gigs": [_interest_data(i) for i in interests],
            "calls_for_interest": await export_answers(s, user_id),
            "support_sessions": await export_seats(s, user_id),
            "calendar_feed": _feed_data(feed_since),
            "relay_messages": [_relay_data(m) for m in await self.erasure.relay.mine(s, user_id)],
            "prep_answers": [_prep_data(a) for a in await _prep_answers(s, user_id)],
            "rotation": {
                "gigs_in_90_days": rotation.gigs,
                "minutes_in_90_days": rotation.minutes,
                "last_gig": _iso(rotation.last),
            },
        }

    async def _audit_about(
        self, s: AsyncSession, user_id: int, fee_ids: list[int], offers: Sequence[Any]
    ) -> list[AuditLog]:
        """Audit entries by or about the person: on them, on their fees, on their offers."""
        offer_details = [f"offer {o.id}" for o, _ in offers]
        rows = await s.scalars(
            select(AuditLog)
            .where(
                or_(
                    AuditLog.actor_id == user_id,
                    and_(AuditLog.target_type == "expert", AuditLog.target_id == user_id),
                    and_(AuditLog.target_type == "fee", AuditLog.target_id.in_(fee_ids)),
                    and_(AuditLog.target_type == "gig", AuditLog.details.in_(offer_details)),
                )
            )
            .order_by(AuditLog.at, AuditLog.id)
        )
        return list(rows.all())

    async def owed(self, s: AsyncSession, actor: Actor) -> tuple[int, int]:
        """How many fees are still owed to this expert, and how much in all (cents)."""
        fees = await owed_to(s, actor.id, self.clock.now())
        return len(fees), sum(f.amount_cents + f.travel_cents + f.other_cents for f in fees)

    async def forget(self, s: AsyncSession, actor: Actor) -> Forgotten:
        """Erase the person. Confirmed future gigs go back to the coordinators first (the seat
        is released the one way every release goes); fees still owed keep the chosen name and
        those fees until they are paid (see bot.services.erasure).

        What stays is an anonymous user row, so past offers and gigs still count in statistics.
        """
        user = actor.user
        assert user is not None and user.telegram_id is not None
        # The log keeps that an erasure happened, not who the person was.
        await self.audit.record(s, None, "data_erase", "expert", user.id)
        now = self.clock.now()
        user.active = False  # no offer reaches them from here on
        profile = await UserRepo(s).profile(user.id)
        marks = Marks([profile.display_name if profile else "", user.name], user.telegram_id)
        await s.execute(
            update(Offer)
            .where(Offer.expert_id == user.id, Offer.status == OfferStatus.OPEN)
            .values(status=OfferStatus.CLOSED, answered_at=now)
        )
        result = Forgotten()
        await self._hand_back_future_gigs(s, user, now, result)
        await self.dispatch.ranking.forget(s, user.id)
        await _drop_what_they_wrote(s, user.id, user.telegram_id)
        await forget_answers(s, user.id)  # their interest in calls, and their lines
        await forget_seats(s, self.sessions, user.id)  # a freed place goes to the waiting list
        result.owed, result.owed_cents = await self.owed(s, actor)
        await self.erasure.scrub(s, user, marks, keep_fee_alerts=result.owed > 0)
        if profile is not None and result.owed:
            # Only what paying needs: the chosen name, shown with the fees on /fees.
            for field, empty in _ERASABLE.items():
                setattr(profile, field, empty() if callable(empty) else empty)
            profile.updated_at = now
            user.erase_when_paid = True
        elif profile is not None:
            await s.delete(profile)
        # The invite stays used (it points at the anonymous row), so its link never works again.
        user.telegram_id = None
        user.name = ""
        user.reachable = False
        user.consent_refused_at = None
        await s.flush()
        return result

    async def _hand_back_future_gigs(
        self, s: AsyncSession, user: User, now: datetime, result: Forgotten
    ) -> None:
        """Release the person's confirmed seats in gigs still to come, each the usual way."""
        future = await s.execute(
            select(Offer.id, Gig.id)
            .join(Gig, Gig.id == Offer.gig_id)
            .where(
                Offer.expert_id == user.id,
                Offer.status == OfferStatus.ACCEPTED,
                Gig.starts_at > now,
                Gig.status.in_((GigStatus.OPEN, GigStatus.FILLED)),
            )
            .order_by(Gig.starts_at)
        )
        for offer_id, gig_id in list(future):
            gig = await GigRepo(s).lock(gig_id)
            offer = await s.get(Offer, offer_id)
            assert gig is not None and offer is not None
            await s.refresh(offer)
            if offer.status != OfferStatus.ACCEPTED:
                continue
            await self.dispatch.release_seat(s, gig, offer, Release.ERASED)
            result.handed_back.append(gig)
            result.calendar.append(self.checkins.calendar_file(gig, user.language, cancelled=True))


async def _drop_what_they_wrote(s: AsyncSession, user_id: int, telegram_id: int) -> None:
    """Their form in progress, their free texts, messages still waiting for them, their
    availability periods and interest in open gigs, their calendar link, and their name in
    the audit log; the answers' counts stay for the statistics."""
    await s.execute(delete(AvailabilityBlock).where(AvailabilityBlock.user_id == user_id))
    await s.execute(delete(Interest).where(Interest.expert_id == user_id))
    await s.execute(delete(Draft).where(Draft.telegram_id == telegram_id))
    await s.execute(delete(CalendarFeed).where(CalendarFeed.user_id == user_id))
    await s.execute(update(CheckIn).where(CheckIn.expert_id == user_id).values(note=""))
    await s.execute(delete(Outbox).where(Outbox.chat_id == telegram_id))
    await s.execute(update(AuditLog).where(AuditLog.actor_id == user_id).values(actor_name=""))


@dataclass
class Forgotten:
    handed_back: list[Gig] = field(default_factory=list)
    calendar: list[tuple[str, str]] = field(default_factory=list)  # cancelling files to send
    owed: int = 0  # fees still to be paid: the erasure completes when they are
    owed_cents: int = 0


# Everything in a profile except the chosen name, with its empty value.
_ERASABLE: dict[str, Any] = {
    "gig_types": list,
    "topics": list,
    "languages": list,
    "regions": list,
    "audiences": list,
    "notes": "",
    "max_gigs_month": None,
    "max_earnings_cents": None,
    "paused_until": None,
    "unavailable_slots": 0,
    "contract_until": None,
    "contract_reminded_for": None,
    "remote_ok": False,
    "basic_training": False,
    "paikko": False,
    "youth": False,
}


# ----- the export, one kind of row at a time ---------------------------------------------------


def _iso(value: datetime | date | None) -> str | None:
    return value.isoformat() if value is not None else None


def _account_data(user: User) -> dict[str, Any]:
    return {
        "telegram_id": user.telegram_id,
        "telegram_name": user.name,
        "role": user.role,
        "language": user.language,
        "active": user.active,
        "registered_at": _iso(user.created_at),
        "consent_refused_at": _iso(user.consent_refused_at),
    }


def _profile_data(profile: ExpertProfile) -> dict[str, Any]:
    return {
        **profile_values(profile),
        "max_gigs_month": profile.max_gigs_month,
        "max_earnings_cents": profile.max_earnings_cents,
        "paused_until": _iso(profile.paused_until),
        # The weekly pattern: the parts of the week marked "not available" (storage.vocab).
        "not_available_weekly": _weekly(profile.unavailable_slots),
        "consent_at": _iso(profile.consent_at),
        "status": profile.status,
        "basic_training": profile.basic_training,
        "paikko": profile.paikko,
        "contract_until": _iso(profile.contract_until),
        "youth": profile.youth,
    }


def _weekly(unavailable: int) -> list[str]:
    """The pattern's bits as 'mon:morning' ... (storage.vocab.SLOTS)."""
    days = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
    n = len(vocab.SLOTS)
    return [
        f"{days[i // n]}:{vocab.SLOTS[i % n]}"
        for i in range(vocab.WEEK_SLOTS)
        if unavailable & (1 << i)
    ]


def _block_data(b: AvailabilityBlock) -> dict[str, Any]:
    return {
        "id": b.id,
        "from": _iso(b.starts_on),
        "to": _iso(b.ends_on),
        "away": b.away,
        "note": b.note,
        "added_at": _iso(b.created_at),
    }


def _interest_data(i: Interest) -> dict[str, Any]:
    return {"id": i.id, "gig": i.gig_id, "at": _iso(i.created_at)}


def _offer_data(o: Offer, g: Gig) -> dict[str, Any]:
    return {
        "id": o.id,
        "gig": g.id,
        "gig_type": g.gig_type,
        "starts_at": _iso(g.starts_at),
        "organisation": g.organisation,
        "status": o.status,
        "offered_at": _iso(o.created_at),
        "answered_at": _iso(o.answered_at),
        "expires_at": _iso(o.expires_at),
        "rank": o.rank,
        "eligible_at_the_time": o.pool,
        "handpicked_because": o.override_reason or None,
        "awaiting_companion": o.awaiting_companion,
        "asked_to_reconfirm": o.reconfirm,
        "asked_for_more_time_at": _iso(o.more_time_at),
        "seat_handed_over_by_offer": o.swap_from,
    }


def _checkin_data(c: CheckIn) -> dict[str, Any]:
    return {
        "id": c.id,
        "kind": c.kind,
        "gig": c.gig_id,
        "due_at": _iso(c.due_at),
        "sent_at": _iso(c.sent_at),
        "answered_at": _iso(c.answered_at),
        "reminder_sent": c.reminded,
        "passed_to_coordinator": c.coordinator_noted,
        "status": c.status,
        "answer": c.answer,
        "score": c.score,
        "orderer_rating": c.orderer_rating,
        "preparation_rating": c.preparation_rating,
        "note": c.note,
    }


def _fee_data(f: Fee) -> dict[str, Any]:
    return {
        "id": f.id,
        "gig": f.gig_id,
        "type": f.fee_type,
        "amount_cents": f.amount_cents,
        "travel_cents": f.travel_cents,
        "other_cents": f.other_cents,
        "status": f.status,
        "agreed_at": _iso(f.agreed_at),
        "form_sent_at": _iso(f.form_sent_at),
        "paid_at": _iso(f.paid_at),
        "reminder_sent": f.reminded,
    }


def _claim_data(c: ExpenseClaim) -> dict[str, Any]:
    """A claim with its receipt as stored: Telegram's file_id (the file stays in your chat)."""
    return {
        "id": c.id,
        "fee": c.fee_id,
        "kind": c.kind,
        "km": c.km,
        "cents_per_km": c.cents_per_km,
        "amount_cents": c.amount_cents,
        "what": c.what,
        "receipt": {"kind": c.receipt_kind, "name": c.receipt_name, "file_id": c.receipt_file_id}
        if c.receipt_file_id
        else None,
        "status": c.status,
        "reason": c.reason,
        "created_at": _iso(c.created_at),
        "decided_at": _iso(c.decided_at),
    }


def _invite_data(invite: Invite) -> dict[str, Any]:
    return {
        "role": invite.role,
        "created_at": _iso(invite.created_at),
        "used_at": _iso(invite.used_at),
    }


def _audit_data(a: AuditLog, user_id: int) -> dict[str, Any]:
    return {
        "id": a.id,
        "at": _iso(a.at),
        "by": a.actor_name or None,
        "by_you": a.actor_id == user_id,
        "action": a.action,
        "target": f"{a.target_type} {a.target_id}",
        "details": a.details,
    }


def _alert_data(a: Alert, language: str) -> dict[str, Any]:
    return {
        "id": a.id,
        "category": a.category,
        "created_at": _iso(a.created_at),
        "claimed_at": _iso(a.claimed_at),
        "text": a.texts.get(language) or next(iter(a.texts.values()), ""),
    }


def _feed_data(since: datetime | None) -> dict[str, Any] | None:
    """A calendar link exists since this moment; its secret is not stored, only a hash."""
    return {"since": since.isoformat()} if since is not None else None


def _relay_data(m: RelayMessage) -> dict[str, Any]:
    return {"id": m.id, "gig_id": m.gig_id, "sent_at": _iso(m.created_at), "text": m.text}


async def _prep_answers(s: AsyncSession, expert_id: int) -> list[PrepAnswer]:
    rows = await s.scalars(
        select(PrepAnswer).where(PrepAnswer.expert_id == expert_id).order_by(PrepAnswer.id)
    )
    return list(rows.all())


def _prep_data(a: PrepAnswer) -> dict[str, Any]:
    return {
        "id": a.id,
        "call_id": a.call_id,
        "suits": a.accepted,
        "suggested_time": _iso(a.suggested_at),
        "answered_at": _iso(a.answered_at),
    }
