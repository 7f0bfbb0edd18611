"""SQLAlchemy models. Times are stored as naive UTC and read back as aware UTC."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import UTC, date, datetime
from enum import StrEnum, nonmember
from typing import Any, ClassVar, TypeVar

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
    event,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from storage import vocab


def aware_utc(value: object) -> datetime | None:
    """A stored moment as an aware UTC datetime, in one plain function per value (rankings
    read 10,000 at a time). On SQLite it is text ("2026-11-29 13:22:54.123456"): one C call
    reads it, instead of SQLAlchemy's regular expression; asyncpg gives naive datetimes (the
    column is `timestamp`): `combine` costs a sixth of `value.replace(tzinfo=UTC)`."""
    if value is None:
        return None
    if isinstance(value, datetime):
        if value.tzinfo is not None:
            return value.astimezone(UTC)
        return datetime.combine(value.date(), value.time(), UTC)
    try:
        return datetime.fromisoformat(f"{value}+00:00")  # stored as naive UTC
    except ValueError:  # written with an offset of its own (not by this type)
        return datetime.fromisoformat(str(value)).astimezone(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """Aware datetimes in, aware UTC datetimes out, on SQLite and PostgreSQL alike."""

    impl = DateTime(timezone=False)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to the database")
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value: object, dialect: Dialect) -> datetime | None:
        return aware_utc(value)

    def result_processor(
        self, dialect: Dialect, coltype: object
    ) -> Callable[[object], datetime | None] | None:
        """`aware_utc` itself, not SQLAlchemy's chain of calls around it."""
        return aware_utc


E = TypeVar("E", bound=StrEnum)


class EnumText(TypeDecorator[E]):
    """A `StrEnum` stored as its plain string (no database enum type, so no migration): an
    unknown value is refused on the way in, and values come back as members."""

    impl = String
    cache_ok = True

    def __init__(self, enum: type[E], length: int) -> None:
        super().__init__(length)
        self.enum = enum

    def process_bind_param(self, value: E | str | None, dialect: Dialect) -> str | None:
        return None if value is None else self.enum(value).value

    def process_result_value(self, value: str | None, dialect: Dialect) -> E | None:
        return None if value is None else self.enum(value)


NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)
    type_annotation_map: ClassVar[dict[Any, Any]] = {
        datetime: UTCDateTime(),
        dict[str, Any]: JSON,
        list[str]: JSON,
    }


class Role(StrEnum):
    COORDINATOR = "coordinator"
    EXPERT = "expert"
    ORDERER = "orderer"
    ALL = nonmember((COORDINATOR, EXPERT, ORDERER))


class User(Base):
    """A person known to the bot. Strangers have no row."""

    __tablename__ = "users"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    telegram_id: Mapped[int | None] = mapped_column(BigInteger, unique=True)
    role: Mapped[Role] = mapped_column(EnumText(Role, 16))
    language: Mapped[str] = mapped_column(String(8), default="fi")
    name: Mapped[str] = mapped_column(String(200), default="")
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    reachable: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime]
    # An expert who said no to the privacy statement: the refusal is all that is kept.
    consent_refused_at: Mapped[datetime | None]
    # Coordinators: alert categories they chose not to receive.
    alert_mutes: Mapped[list[str]] = mapped_column(JSON, default=list)
    # An expert who asked to be erased while fees were still owed: only the chosen name and
    # those fees remain, and they go when the last one is paid (bot.services.erasure).
    erase_when_paid: Mapped[bool] = mapped_column(Boolean, default=False)


class ExpertStatus(StrEnum):
    PENDING = "pending"  # registered, waiting for a coordinator
    APPROVED = "approved"
    REJECTED = "rejected"


class ExpertProfile(Base):
    """An expert's register entry. The first block is the expert's own; the second the
    coordinator's (training, contract, youth)."""

    __tablename__ = "expert_profiles"

    user_id: Mapped[int] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    display_name: Mapped[str] = mapped_column(String(100))
    gig_types: Mapped[list[str]] = mapped_column(JSON, default=list)
    topics: Mapped[list[str]] = mapped_column(JSON, default=list)
    languages: Mapped[list[str]] = mapped_column(JSON, default=list)
    regions: Mapped[list[str]] = mapped_column(JSON, default=list)
    remote_ok: Mapped[bool] = mapped_column(Boolean, default=True)
    audiences: Mapped[list[str]] = mapped_column(JSON, default=list)
    notes: Mapped[str] = mapped_column(Text, default="")
    max_gigs_month: Mapped[int | None] = mapped_column(Integer)
    max_earnings_cents: Mapped[int | None] = mapped_column(Integer)
    paused_until: Mapped[date | None] = mapped_column(Date)  # no offers up to and including
    consent_at: Mapped[datetime]
    updated_at: Mapped[datetime]

    status: Mapped[ExpertStatus] = mapped_column(
        EnumText(ExpertStatus, 16), default=ExpertStatus.PENDING
    )
    decided_at: Mapped[datetime | None]
    decided_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    basic_training: Mapped[bool] = mapped_column(Boolean, default=False)
    paikko: Mapped[bool] = mapped_column(Boolean, default=False)
    contract_until: Mapped[date | None] = mapped_column(Date)
    contract_reminded_for: Mapped[date | None] = mapped_column(Date)
    youth: Mapped[bool] = mapped_column(Boolean, default=False)

    # The five lists above as bit masks over storage.vocab, kept in step on every flush
    # (`_keep_masks`): ranking filters on them in SQL (bot.services.dispatch.ranking).
    gig_types_mask: Mapped[int] = mapped_column(Integer, default=0)
    topics_mask: Mapped[int] = mapped_column(Integer, default=0)
    languages_mask: Mapped[int] = mapped_column(Integer, default=0)
    regions_mask: Mapped[int] = mapped_column(Integer, default=0)
    audiences_mask: Mapped[int] = mapped_column(Integer, default=0)

    # The weekly pattern: bit (weekday * 3 + slot) set = NOT available then (storage.vocab
    # SLOTS: morning, afternoon, evening). 0, the default, is "any time".
    unavailable_slots: Mapped[int] = mapped_column(Integer, default=0)
    # Dated periods (AvailabilityBlock), read with the profile for the rules in Python.
    blocks: Mapped[list[AvailabilityBlock]] = relationship(
        primaryjoin="ExpertProfile.user_id == foreign(AvailabilityBlock.user_id)",
        viewonly=True,
        lazy="selectin",
        order_by="AvailabilityBlock.starts_on",
    )


def profile_masks(values: Mapping[str, Any]) -> dict[str, int]:
    """The mask columns for a profile's lists (a row dict or the profile's attributes)."""
    return {f"{kind}_mask": vocab.mask(kind, values.get(kind)) for kind in vocab.KINDS}


@event.listens_for(ExpertProfile, "before_insert")
@event.listens_for(ExpertProfile, "before_update")
def _keep_masks(mapper: Any, connection: Any, profile: ExpertProfile) -> None:
    for column, value in profile_masks({k: getattr(profile, k) for k in vocab.KINDS}).items():
        setattr(profile, column, value)


class AvailabilityBlock(Base):
    """A dated period of an expert's: away (no offers for gigs starting then), or available
    with a note the coordinators see ("vain etänä maaliskuussa"), which is not enforced."""

    __tablename__ = "availability_blocks"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    starts_on: Mapped[date] = mapped_column(Date)
    ends_on: Mapped[date] = mapped_column(Date)  # inclusive
    away: Mapped[bool] = mapped_column(Boolean, default=True)
    note: Mapped[str] = mapped_column(String(200), default="")
    created_at: Mapped[datetime]

    __table_args__ = (Index("ix_availability_blocks_user_starts", "user_id", "starts_on"),)


class Interest(Base):
    """An expert's "I'm interested" in an open gig not offered to them yet (/opengigs): it
    breaks ties in the rotation, never more."""

    __tablename__ = "interests"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    gig_id: Mapped[int] = mapped_column(ForeignKey("gigs.id", ondelete="CASCADE"))
    expert_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    created_at: Mapped[datetime]

    __table_args__ = (UniqueConstraint("gig_id", "expert_id", name="uq_interests_gig_expert"),)


class Invite(Base):
    __tablename__ = "invites"

    code: Mapped[str] = mapped_column(String(64), primary_key=True)
    role: Mapped[Role] = mapped_column(EnumText(Role, 16))
    created_by: Mapped[int] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime]
    expires_at: Mapped[datetime]
    used_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    used_at: Mapped[datetime | None]


class GigStatus(StrEnum):
    PENDING = "pending"  # waiting for a coordinator
    OPEN = "open"  # approved, offers out, seats left
    FILLED = "filled"
    REJECTED = "rejected"
    CANCELLED = "cancelled"
    DONE = "done"  # marked held by a coordinator
    UPCOMING = nonmember((PENDING, OPEN, FILLED))
    # Gigs whose confirmed experts count: for fairness, limits, check-ins and feedback.
    HAPPENING = nonmember((OPEN, FILLED, DONE))


class GigSeries(Base):
    """An order for several dates: one approval, and each date its own gig (`Gig.series_id`).
    `whole`: experts take every date at once (one offer, sent on the first date's gig);
    otherwise each date is offered on its own."""

    __tablename__ = "gig_series"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    orderer_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    repeat: Mapped[str] = mapped_column(String(16))  # weekly | biweekly | dates
    count: Mapped[int] = mapped_column(Integer)  # dates when ordered
    whole: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime]


class Gig(Base):
    """An order and, once approved, the gig it becomes."""

    __tablename__ = "gigs"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    orderer_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    status: Mapped[GigStatus] = mapped_column(EnumText(GigStatus, 16), default=GigStatus.PENDING)
    organisation: Mapped[str] = mapped_column(String(200))
    gig_type: Mapped[str] = mapped_column(String(32))
    topics: Mapped[list[str]] = mapped_column(JSON, default=list)
    starts_at: Mapped[datetime]
    duration_min: Mapped[int] = mapped_column(Integer)
    remote: Mapped[bool] = mapped_column(Boolean)
    place: Mapped[str] = mapped_column(String(400))
    region: Mapped[str] = mapped_column(String(40))
    audience: Mapped[str] = mapped_column(String(32))
    audience_size: Mapped[int] = mapped_column(Integer)
    seats: Mapped[int] = mapped_column(Integer)
    seats_filled: Mapped[int] = mapped_column(Integer, default=0)
    language: Mapped[str] = mapped_column(String(8))
    fee_cents: Mapped[int | None] = mapped_column(Integer)
    contact: Mapped[str] = mapped_column(String(400))
    notes: Mapped[str] = mapped_column(Text, default="")
    # The orderer's own order number or reference, shown on the billing workbook.
    order_ref: Mapped[str] = mapped_column(String(60), default="")
    companion: Mapped[str] = mapped_column(String(200), default="")  # adult with a youth expert
    reject_reason: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime]
    decided_at: Mapped[datetime | None]
    decided_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    filled_at: Mapped[datetime | None]
    # Dispatch: how offers go out (broadcast | cascade | handpick), and by when seats should fill.
    dispatch_mode: Mapped[str] = mapped_column(String(16), default="broadcast")
    cascade_k: Mapped[int] = mapped_column(Integer, default=3)
    cascade_hours: Mapped[int] = mapped_column(Integer, default=24)
    deadline: Mapped[datetime | None]
    # Cascade waves sent so far, and the estimate of all it will take (the status message).
    waves_sent: Mapped[int] = mapped_column(Integer, default=0)
    waves_planned: Mapped[int] = mapped_column(Integer, default=0)
    deadline_alerted: Mapped[bool] = mapped_column(Boolean, default=False)
    exhausted_alerted: Mapped[bool] = mapped_column(Boolean, default=False)
    cancelled_at: Mapped[datetime | None]
    cancel_reason: Mapped[str] = mapped_column(Text, default="")
    # Bumped on every change of time or place: the calendar file's SEQUENCE.
    revision: Mapped[int] = mapped_column(Integer, default=0)
    prep_hours: Mapped[int | None] = mapped_column(Integer)  # None: the settings' default
    # Audience feedback with first names instead of anonymous: decided before the link is
    # sent (the round copies it when it opens), so the link's words are always true.
    feedback_named: Mapped[bool] = mapped_column(Boolean, default=False)
    # Especially heavy themes the orderer named (codes of bot.vocab.CONTENT_THEMES) and a free
    # line: shown on the offer before Accept, and the preparation check-in offers a talk.
    content_themes: Mapped[list[str]] = mapped_column(JSON, default=list)
    content_note: Mapped[str] = mapped_column(Text, default="")
    # One date of a series (GigSeries); None for a single order.
    series_id: Mapped[int | None] = mapped_column(
        ForeignKey("gig_series.id", ondelete="SET NULL"), index=True
    )

    # The responsible-ordering checklist (bit i: bot.services.orders.CHECKLIST[i] ticked),
    # or the orderer chose "not yet, let's talk" first.
    checklist: Mapped[int] = mapped_column(Integer, default=0)
    talk_first: Mapped[bool] = mapped_column(Boolean, default=False)

    __table_args__ = (Index("ix_gigs_status_starts", "status", "starts_at"),)


class OfferStatus(StrEnum):
    OPEN = "open"
    ACCEPTED = "accepted"
    DECLINED = "declined"
    CLOSED = "closed"  # the gig filled or was withdrawn before an answer
    WITHDRAWN = "withdrawn"  # accepted, then the expert stepped back (never a no-show)
    EXPIRED = "expired"  # no answer in time
    CANCELLED = "cancelled"  # the gig was cancelled
    NO_SHOW = "no_show"  # confirmed but did not come (never used for stepping back)


class Offer(Base):
    __tablename__ = "offers"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    gig_id: Mapped[int] = mapped_column(ForeignKey("gigs.id", ondelete="CASCADE"))
    expert_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    status: Mapped[OfferStatus] = mapped_column(EnumText(OfferStatus, 16), default=OfferStatus.OPEN)
    created_at: Mapped[datetime]
    answered_at: Mapped[datetime | None]
    # A youth expert's accept holds the seat; confirmation waits for the accompanying adult.
    awaiting_companion: Mapped[bool] = mapped_column(Boolean, default=False)
    expires_at: Mapped[datetime | None]
    rank: Mapped[int] = mapped_column(Integer, default=0)  # place in the rotation when offered
    pool: Mapped[int] = mapped_column(Integer, default=0)  # eligible experts at that moment
    override_reason: Mapped[str] = mapped_column(Text, default="")  # hand-picked over others
    reconfirm: Mapped[bool] = mapped_column(Boolean, default=False)  # asked after a time change
    more_time_at: Mapped[datetime | None]  # the expert asked once for more time to answer
    # A direct offer from a confirmed colleague handing over their seat: that colleague's offer.
    swap_from: Mapped[int | None] = mapped_column(Integer)

    __table_args__ = (
        UniqueConstraint("gig_id", "expert_id", name="uq_offers_gig_expert"),
        Index("ix_offers_status_expires", "status", "expires_at"),
        Index("ix_offers_expert_status", "expert_id", "status"),
        # The rotation's aggregates read accepted offers from the index alone.
        Index("ix_offers_status_gig_expert", "status", "gig_id", "expert_id"),
    )


class ExpertRotation(Base):
    """The fair rotation's figures for one expert, kept up to date (issue 15) so ranking reads
    them by key instead of aggregating a year of offers: gigs and minutes of confirmed gigs
    held in the last 90 days, and the start of the last one. They hold until `fresh_until`
    (the next of their gigs to start, or the first to fall out of the 90 days; None: never by
    time alone). A change to their seats recomputes them in the same unit of work
    (bot/services/dispatch/ranking.py); no row means no confirmed gig at all."""

    __tablename__ = "expert_rotation"

    expert_id: Mapped[int] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True, autoincrement=False
    )
    gigs_90d: Mapped[int] = mapped_column(Integer, default=0)
    minutes_90d: Mapped[int] = mapped_column(Integer, default=0)
    last_gig: Mapped[datetime | None]
    # The three figures in one integer that sorts as they do (ranking.order_key).
    order_key: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
    fresh_until: Mapped[datetime | None]

    __table_args__ = (Index("ix_expert_rotation_fresh_until", "fresh_until"),)


class CheckInKind(StrEnum):
    PREP = "prep"
    REMINDER = "reminder"
    DEBRIEF = "debrief"
    KEEP_IN_TOUCH = "keep"
    COMING = "coming"  # "still coming?" a day before
    GIG_KINDS = nonmember((PREP, REMINDER, DEBRIEF, COMING))


class CheckInStatus(StrEnum):
    SCHEDULED = "scheduled"
    SENT = "sent"
    ANSWERED = "answered"
    CANCELLED = "cancelled"  # the gig was cancelled or the expert stepped back
    DROPPED = "dropped"  # fell due while the bot was down and is no longer relevant


class CheckIn(Base):
    """One scheduled message of support: the schedule lives here, not in memory."""

    __tablename__ = "checkins"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[CheckInKind] = mapped_column(EnumText(CheckInKind, 16))
    expert_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    gig_id: Mapped[int | None] = mapped_column(ForeignKey("gigs.id", ondelete="CASCADE"))
    offer_id: Mapped[int | None] = mapped_column(ForeignKey("offers.id", ondelete="CASCADE"))
    due_at: Mapped[datetime]
    status: Mapped[CheckInStatus] = mapped_column(
        EnumText(CheckInStatus, 12), default=CheckInStatus.SCHEDULED
    )
    sent_at: Mapped[datetime | None]
    answered_at: Mapped[datetime | None]
    answer: Mapped[str] = mapped_column(String(32), default="")
    score: Mapped[int | None] = mapped_column(Integer)  # debrief: how it went, 1-5
    orderer_rating: Mapped[int | None] = mapped_column(Integer)  # how the orderer treated them
    preparation_rating: Mapped[int | None] = mapped_column(Integer)  # how well it was prepared
    note: Mapped[str] = mapped_column(Text, default="")
    reminded: Mapped[bool] = mapped_column(Boolean, default=False)
    coordinator_noted: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime]

    __table_args__ = (
        UniqueConstraint("kind", "offer_id", name="uq_checkins_kind_offer"),
        Index("ix_checkins_status_due", "status", "due_at"),
        # The debrief follow-up looks only at unanswered debriefs not yet passed on.
        Index("ix_checkins_followup", "kind", "status", "coordinator_noted", "sent_at"),
        Index("ix_checkins_expert", "expert_id"),
    )


class FeedbackRound(Base):
    """One gig's audience feedback. `secret` keys the one-answer-per-person hashes and is
    destroyed, with the hashes, when the round closes. `anonymous` is copied from the gig when
    the round opens and never changes: the link already told the audience which it is."""

    __tablename__ = "feedback_rounds"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    gig_id: Mapped[int] = mapped_column(ForeignKey("gigs.id", ondelete="CASCADE"), unique=True)
    token: Mapped[str] = mapped_column(String(40), unique=True)
    secret: Mapped[str | None] = mapped_column(String(64))
    anonymous: Mapped[bool] = mapped_column(Boolean, default=True)
    opens_at: Mapped[datetime]
    closes_at: Mapped[datetime]
    closed: Mapped[bool] = mapped_column(Boolean, default=False)
    low_alerted: Mapped[bool] = mapped_column(Boolean, default=False)
    # The orderer has been sent this round's results (or they can never be shown).
    orderer_told: Mapped[bool] = mapped_column(Boolean, default=False)


class FeedbackAnswer(Base):
    """An audience member's answer: a score and two optional texts, nothing else. No Telegram
    id, name or time at all; the key is random (not arrival order), and when the round closes
    the rows are rewritten under fresh random keys, so neither keys nor row order nor storage
    order say who answered first. While the round is open a keyed hash lets the same person
    amend their answer; it is destroyed with the round's secret."""

    __tablename__ = "feedback_answers"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    round_id: Mapped[int] = mapped_column(ForeignKey("feedback_rounds.id", ondelete="CASCADE"))
    person_hash: Mapped[str | None] = mapped_column(String(64))
    usefulness: Mapped[int] = mapped_column(Integer)
    stayed: Mapped[str] = mapped_column(Text, default="")
    better: Mapped[str] = mapped_column(Text, default="")
    step: Mapped[str] = mapped_column(String(12), default="stayed")  # the next question
    respondent: Mapped[str] = mapped_column(String(100), default="")  # named rounds only

    __table_args__ = (UniqueConstraint("round_id", "person_hash", name="uq_feedback_round_person"),)


class OrdererFeedback(Base):
    """The orderer's rating of a gig and of the cooperation; not anonymous to coordinators."""

    __tablename__ = "orderer_feedback"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    gig_id: Mapped[int] = mapped_column(ForeignKey("gigs.id", ondelete="CASCADE"), unique=True)
    orderer_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    gig_rating: Mapped[int | None] = mapped_column(Integer)
    cooperation_rating: Mapped[int | None] = mapped_column(Integer)
    text: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime]


class RelayMessage(Base):
    """One message in a gig's relay between the orderer, the confirmed experts and the
    coordinators. Kept while the relay is open and bot.services.relay.RETENTION after it
    closes; the sender is shown by their chosen name and role, never by Telegram account."""

    __tablename__ = "relay_messages"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    gig_id: Mapped[int] = mapped_column(ForeignKey("gigs.id", ondelete="CASCADE"), index=True)
    sender_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    sender_role: Mapped[str] = mapped_column(String(16))  # orderer | expert | coordinator
    text: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime]


class PrepCall(Base):
    """A short preparation meeting the orderer proposed for a gig (one per gig): its time and
    place or link. `revision` grows with each new time: the calendar entry's SEQUENCE."""

    __tablename__ = "prep_calls"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    gig_id: Mapped[int] = mapped_column(ForeignKey("gigs.id", ondelete="CASCADE"), unique=True)
    starts_at: Mapped[datetime]
    place: Mapped[str] = mapped_column(String(400))
    revision: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime]


class PrepAnswer(Base):
    """A confirmed expert's answer to the preparation call at its current time: it suits them,
    or they suggest another time."""

    __tablename__ = "prep_answers"
    __table_args__ = (UniqueConstraint("call_id", "expert_id", name="uq_prep_answers_call_expert"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    call_id: Mapped[int] = mapped_column(ForeignKey("prep_calls.id", ondelete="CASCADE"))
    expert_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    accepted: Mapped[bool] = mapped_column(Boolean, default=False)
    suggested_at: Mapped[datetime | None]
    answered_at: Mapped[datetime]


class FeeType(StrEnum):
    PALKKIO = "palkkio"  # a fee paid as salary (with a tax card)
    TYOKORVAUS = "tyokorvaus"  # a fee paid as a business invoice
    EXPENSES = "expenses"  # expenses only
    VOLUNTEER = "volunteer"  # no fee: volunteer, or the expert refused one
    ALL = nonmember((PALKKIO, TYOKORVAUS, EXPENSES, VOLUNTEER))


class FeeStatus(StrEnum):
    AGREED = "agreed"
    FORM_SENT = "form_sent"  # the fee form went to the orderer
    PAID = "paid"
    ALL = nonmember((AGREED, FORM_SENT, PAID))


class Fee(Base):
    """What one expert is paid for one gig, and how far the payment has got."""

    __tablename__ = "fees"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    gig_id: Mapped[int] = mapped_column(ForeignKey("gigs.id", ondelete="CASCADE"))
    expert_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    fee_type: Mapped[FeeType] = mapped_column(EnumText(FeeType, 16))
    amount_cents: Mapped[int] = mapped_column(Integer, default=0)
    travel_cents: Mapped[int] = mapped_column(Integer, default=0)
    other_cents: Mapped[int] = mapped_column(Integer, default=0)
    status: Mapped[FeeStatus] = mapped_column(EnumText(FeeStatus, 12), default=FeeStatus.AGREED)
    agreed_at: Mapped[datetime]
    form_sent_at: Mapped[datetime | None]
    paid_at: Mapped[datetime | None]
    reminded: Mapped[bool] = mapped_column(Boolean, default=False)

    __table_args__ = (
        UniqueConstraint("gig_id", "expert_id", name="uq_fees_gig_expert"),
        Index("ix_fees_status", "status"),
    )


class ClaimKind(StrEnum):
    CAR = "car"  # kilometres by one's own car, at the per-kilometre allowance
    TICKET = "ticket"  # a ticket (bus, train), its price
    OTHER = "other"  # another cost, its price
    ALL = nonmember((CAR, TICKET, OTHER))


class ClaimStatus(StrEnum):
    RECEIPT = "receipt"  # waiting for the receipt to be sent in the chat
    PENDING = "pending"  # with the coordinators
    APPROVED = "approved"  # added to the fee's expenses, paid with the fee
    REJECTED = "rejected"


class ExpenseClaim(Base):
    """One cost an expert claims for one gig, with the receipt sent in the chat. Only
    Telegram's file_id of the receipt is stored: the bot sends the file again from it."""

    __tablename__ = "expense_claims"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    fee_id: Mapped[int] = mapped_column(ForeignKey("fees.id", ondelete="CASCADE"))
    expert_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    kind: Mapped[ClaimKind] = mapped_column(EnumText(ClaimKind, 8))
    km: Mapped[int | None] = mapped_column(Integer)
    cents_per_km: Mapped[int | None] = mapped_column(Integer)  # the allowance when claimed
    amount_cents: Mapped[int] = mapped_column(Integer)
    what: Mapped[str] = mapped_column(String(200), default="")
    receipt_file_id: Mapped[str | None] = mapped_column(String(256))
    receipt_kind: Mapped[str | None] = mapped_column(String(8))  # photo | document
    receipt_name: Mapped[str] = mapped_column(String(100), default="")
    status: Mapped[ClaimStatus] = mapped_column(EnumText(ClaimStatus, 10))
    reason: Mapped[str] = mapped_column(Text, default="")  # why it was rejected
    created_at: Mapped[datetime]
    decided_at: Mapped[datetime | None]
    decided_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))

    __table_args__ = (
        Index("ix_claims_expert_status", "expert_id", "status"),
        Index("ix_claims_fee", "fee_id"),
    )


class AuditLog(Base):
    """Who did what, when: every coordinator action and every data export or erasure."""

    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[datetime]
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    actor_name: Mapped[str] = mapped_column(String(200), default="")
    action: Mapped[str] = mapped_column(String(40))
    target_type: Mapped[str] = mapped_column(String(16))  # gig | expert | fee
    target_id: Mapped[int] = mapped_column(Integer)
    details: Mapped[str] = mapped_column(Text, default="")

    __table_args__ = (Index("ix_audit_target", "target_type", "target_id"),)


class Alert(Base):
    """An alert that needs someone to act; one coordinator claims it and the rest see who."""

    __tablename__ = "alerts"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    category: Mapped[str] = mapped_column(String(16))
    texts: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)  # per language
    buttons: Mapped[list[Any]] = mapped_column(JSON, default=list)  # (catalog key, data) rows
    created_at: Mapped[datetime]
    claimed_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    claimed_at: Mapped[datetime | None]
    # The person the alert is about (its text names them), so an erasure can find it.
    subject_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))

    __table_args__ = (Index("ix_alerts_subject", "subject_id"),)


class Inbox(Base):
    """Updates as Telegram delivered them, stored before they are confirmed, so a crash
    never drops one. The payload (who sent it, their name, what they typed or pressed) is kept
    only until the update is handled: the transaction that marks it done also drops the
    payload, so what stays is the update_id and the done flag, which is all it takes to never
    act on an update twice. Handled rows below the newest are pruned (see InboxRepo.prune)."""

    __tablename__ = "inbox"

    update_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    payload: Mapped[dict[str, Any] | None] = mapped_column(JSON(none_as_null=True))
    done: Mapped[bool] = mapped_column(Boolean, default=False)
    # The chat (or person) whose updates must be handled in order, also across instances
    # (bot/polling.py `DurablePoller.handle`); dropped with the payload.
    chat_key: Mapped[int | None] = mapped_column(BigInteger)

    __table_args__ = (
        Index("ix_inbox_done", "done", "update_id"),
        Index("ix_inbox_chat", "chat_key", "update_id"),
    )


class Draft(Base):
    """A form in progress (an order, a registration), so nothing typed is lost."""

    __tablename__ = "drafts"

    telegram_id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    form: Mapped[str] = mapped_column(String(32))
    step: Mapped[str] = mapped_column(String(32))
    data: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    editing: Mapped[bool] = mapped_column(Boolean, default=False)
    updated_at: Mapped[datetime]


class OutboxStatus(StrEnum):
    PENDING = "pending"
    SENDING = "sending"  # committed just before the Bot API call: in flight if the process dies
    SENT = "sent"
    FAILED = "failed"
    CANCELLED = "cancelled"


class Outbox(Base):
    """Messages to push to people, written in the same transaction as the change they report.

    A row is sent after commit; quiet hours set `not_before`. `tag` links a sent message to
    what it is about (an offer, an approval alert) so it can be edited later. Only a row left
    `sending` by a killed process is sent a second time (see bot/outbox.py).
    """

    __tablename__ = "outbox"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    chat_id: Mapped[int] = mapped_column(BigInteger)
    kind: Mapped[str] = mapped_column(String(8))  # send | edit | document | photo
    filename: Mapped[str | None] = mapped_column(String(100))  # for documents: text is content
    text: Mapped[str] = mapped_column(Text)
    caption: Mapped[str | None] = mapped_column(Text)  # shown under an image or a file
    parse_mode: Mapped[str | None] = mapped_column(String(8))  # "HTML" for text with links
    buttons: Mapped[list[Any] | None] = mapped_column(JSON)
    tag: Mapped[str | None] = mapped_column(String(64))
    status: Mapped[OutboxStatus] = mapped_column(
        EnumText(OutboxStatus, 12), default=OutboxStatus.PENDING
    )
    not_before: Mapped[datetime]
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    message_id: Mapped[int | None] = mapped_column(BigInteger)
    error: Mapped[str] = mapped_column(String(200), default="")
    created_at: Mapped[datetime]
    sent_at: Mapped[datetime | None]
    # The instance sending a row marked `sending` (storage/leader.py `Presence`), so another
    # instance resends only the rows of one that is gone.
    owner: Mapped[int | None] = mapped_column(Integer)

    __table_args__ = (
        Index("ix_outbox_status_due", "status", "not_before"),
        Index("ix_outbox_chat", "chat_id", "id"),
        Index("ix_outbox_tag_chat", "tag", "chat_id"),
    )


class CallStatus(StrEnum):
    OPEN = "open"  # invitations out, answers coming in until the deadline
    CLOSED = "closed"  # the deadline passed (or closed early): the coordinator picks
    DECIDED = "decided"  # picked and told: the chosen confirmed, the others thanked


class Call(Base):
    """A call for interest for a long-term role (a development group, a recruitment panel, a
    steering group): sent to the eligible experts, who answer until the deadline."""

    __tablename__ = "calls"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    created_by: Mapped[int] = mapped_column(ForeignKey("users.id"))
    status: Mapped[CallStatus] = mapped_column(EnumText(CallStatus, 16), default=CallStatus.OPEN)
    title: Mapped[str] = mapped_column(String(200))
    involves: Mapped[str] = mapped_column(Text)
    commitment: Mapped[str] = mapped_column(String(400))
    fee_cents: Mapped[int | None] = mapped_column(Integer)  # None: unpaid
    seats: Mapped[int] = mapped_column(Integer)  # how many are sought
    deadline: Mapped[datetime]
    # Who is asked, in the profile's vocabulary: the role's kind of task, and (empty: any)
    # topics and regions.
    gig_type: Mapped[str] = mapped_column(String(32))
    topics: Mapped[list[str]] = mapped_column(JSON, default=list)
    regions: Mapped[list[str]] = mapped_column(JSON, default=list)
    created_at: Mapped[datetime]
    closed_at: Mapped[datetime | None]
    decided_at: Mapped[datetime | None]

    __table_args__ = (Index("ix_calls_status_deadline", "status", "deadline"),)


class CallAnswerStatus(StrEnum):
    INVITED = "invited"  # no answer yet
    INTERESTED = "interested"
    DECLINED = "declined"  # "not this time"
    CHOSEN = "chosen"  # picked by the coordinator and told
    THANKED = "thanked"  # was interested, not picked, thanked kindly


class CallAnswer(Base):
    """One expert's invitation to a call and their answer (with an optional line)."""

    __tablename__ = "call_answers"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    call_id: Mapped[int] = mapped_column(ForeignKey("calls.id", ondelete="CASCADE"))
    expert_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    status: Mapped[CallAnswerStatus] = mapped_column(
        EnumText(CallAnswerStatus, 16), default=CallAnswerStatus.INVITED
    )
    message: Mapped[str] = mapped_column(String(300), default="")
    picked: Mapped[bool] = mapped_column(Boolean, default=False)  # ticked, not yet confirmed
    created_at: Mapped[datetime]
    answered_at: Mapped[datetime | None]

    __table_args__ = (
        UniqueConstraint("call_id", "expert_id", name="uq_call_answers_call_expert"),
        Index("ix_call_answers_expert", "expert_id"),
    )


class SessionKind(StrEnum):
    SUPERVISION = "supervision"  # group supervision (työnohjaus)
    PEER_GROUP = "peer_group"
    TRAINING = "training"


class SessionStatus(StrEnum):
    OPEN = "open"
    CANCELLED = "cancelled"


class SupportSession(Base):
    """Support between gigs: group supervision, a peer group, or a training, announced by a
    coordinator to the experts, with a capacity and a waiting list."""

    __tablename__ = "support_sessions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    created_by: Mapped[int] = mapped_column(ForeignKey("users.id"))
    kind: Mapped[SessionKind] = mapped_column(EnumText(SessionKind, 16))
    training: Mapped[str] = mapped_column(String(100), default="")  # which training, if one
    starts_at: Mapped[datetime]
    duration_min: Mapped[int] = mapped_column(Integer)
    place: Mapped[str] = mapped_column(String(400))  # an address or a link
    capacity: Mapped[int] = mapped_column(Integer)
    status: Mapped[SessionStatus] = mapped_column(
        EnumText(SessionStatus, 16), default=SessionStatus.OPEN
    )
    created_at: Mapped[datetime]
    attendance_asked: Mapped[bool] = mapped_column(Boolean, default=False)

    __table_args__ = (Index("ix_support_sessions_starts", "starts_at"),)


class SeatStatus(StrEnum):
    INVITED = "invited"  # no answer yet
    SIGNED_UP = "signed_up"
    WAITING = "waiting"  # the session was full: on the waiting list, in `queued_at` order
    CANCELLED = "cancelled"  # signed up or waited, then cancelled (or never came back)
    ATTENDED = "attended"  # recorded by a coordinator after the session
    ABSENT = "absent"
    HOLDING = nonmember((SIGNED_UP, ATTENDED, ABSENT))  # takes one of the places


class SessionSeat(Base):
    """One expert's invitation to a session: signed up, waiting, cancelled, and afterwards
    whether they attended."""

    __tablename__ = "session_seats"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    session_id: Mapped[int] = mapped_column(ForeignKey("support_sessions.id", ondelete="CASCADE"))
    expert_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    status: Mapped[SeatStatus] = mapped_column(EnumText(SeatStatus, 16), default=SeatStatus.INVITED)
    queued_at: Mapped[datetime | None]  # when they joined the waiting list
    created_at: Mapped[datetime]
    answered_at: Mapped[datetime | None]
    reminded_at: Mapped[datetime | None]

    __table_args__ = (
        UniqueConstraint("session_id", "expert_id", name="uq_session_seats_session_expert"),
        Index("ix_session_seats_expert", "expert_id", "status"),
    )


class TrainingRequirement(Base):
    """A gig type that is offered only to experts who attended the named training."""

    __tablename__ = "training_requirements"

    gig_type: Mapped[str] = mapped_column(String(32), primary_key=True)
    training: Mapped[str] = mapped_column(String(100))


class CalendarFeed(Base):
    """A person's private calendar subscription (bot/services/feeds.py). Only a hash of the
    feed's secret is stored, so the database alone cannot open anyone's feed; a new link
    replaces the old one, which stops working at once."""

    __tablename__ = "calendar_feeds"

    user_id: Mapped[int] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime]
