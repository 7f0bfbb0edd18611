"""What the parts of dispatch share: their dependencies, tags, and the results they return."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncSession

from bot.callbacks import OfferTag, Ranking, StatusTag, pack, parse_tag
from bot.clock import Clock
from bot.messages import Undelivered
from bot.notify import Notifier
from bot.present import Presenter
from bot.services.access import Actor
from bot.services.audit import Audit
from bot.services.checkins import CheckIns
from bot.services.fees import Fees
from bot.services.papers import Papers
from bot.settings import Settings
from storage.models import Gig, Offer
from storage.repo import OfferRepo


@dataclass(frozen=True)
class Deps:
    """The services every part of dispatch works with (built once, in bot/core.py)."""

    p: Presenter
    notify: Notifier
    clock: Clock
    settings: Settings
    checkins: CheckIns
    fees: Fees
    audit: Audit
    papers: Papers | None = None  # the orderer's confirmation (None: none is sent)

    @property
    def tz(self) -> ZoneInfo:
        return self.p.tz

    async def alert_seats(self, s: AsyncSession, gig: Gig, key: str, **args: Any) -> None:
        """A claimable alert to coordinators about a gig's seats, with the way to its
        ranking (nobody left to ask, the deadline passed, a seat given back)."""
        await self.notify.alert(
            s,
            "short",
            key,
            claimable=True,
            filled=gig.seats_filled,
            seats=gig.seats,
            buttons=ranking_button(gig.id),
            per_lang=self.p.title_args(gig),
            **args,
        )


class Release(Enum):
    """Why a confirmed seat is given back (see Seats.release_seat)."""

    STEPPED_BACK = "stepped_back"  # the expert's own choice, also "cannot come" after a change
    REPLACED = "replaced"  # a coordinator took them off the gig
    ERASED = "erased"  # they erased their data with /forget
    UNDONE = "undone"  # the expert took back their accept within the undo window
    SWAPPED = "swapped"  # a colleague accepted the seat the expert handed over


# Why a message could not reach a person: the outbox's one delivery event (bot.messages), which
# Offering.lost_contact acts on. BLOCKED: they blocked the bot, skipped from now on; GAVE_UP:
# Telegram kept failing for one message.
Lost = Undelivered
LOST_ALERT = {Undelivered.BLOCKED: "coord.unreachable", Undelivered.GAVE_UP: "coord.undeliverable"}


class Answer(Enum):
    ACCEPTED = "accepted"
    OVER_LIMIT = "over_limit"  # would cross the expert's own monthly earnings limit: ask first
    DECLINED = "declined"
    ALREADY = "already"  # this expert answered before (a double tap changes nothing)
    FILLED = "filled"  # the seats went to others
    CLOSED = "closed"  # the gig is no longer open
    EXPIRED = "expired"  # the offer ran out of time
    NOT_FOUND = "not_found"  # unknown or somebody else's offer: the same reply, learns nothing


@dataclass
class AnswerResult:
    answer: Answer
    offer: Offer | None = None
    gig: Gig | None = None
    earned: int = 0  # this month so far, cents (for OVER_LIMIT)
    limit: int = 0
    # A whole series: the other dates taken with this one, and those with no seat left.
    taken: list[Gig] = field(default_factory=list)
    missed: list[Gig] = field(default_factory=list)
    clashed: list[Gig] = field(default_factory=list)  # another gig, a break, the contract


@dataclass
class NoShow:
    """A no-show as recorded: the person, and what happened to their fee."""

    offer: Offer
    gig: Gig
    name: str
    fee_amount: int | None  # None: there was no fee row
    fee_status: str | None
    fee_dropped: bool


def offer_tag(offer_id: int) -> str:
    return pack(OfferTag(offer_id))


def offer_of_tag(tag: str | None) -> int | None:
    """The offer id an outbox tag names, if it names one."""
    parsed = parse_tag(tag)
    return parsed.offer_id if isinstance(parsed, OfferTag) else None


def status_tag(gig_id: int) -> str:
    return pack(StatusTag(gig_id))


def ranking_button(gig_id: int) -> list[list[tuple[str, str]]]:
    """The coordinator's way from an alert to the gig's ranking."""
    return [[("btn.ranking", pack(Ranking(gig_id)))]]


async def own_offer(s: AsyncSession, actor: Actor, offer_id: int) -> Offer | None:
    """The actor's own offer; somebody else's is the same as none (learns nothing)."""
    offer = await OfferRepo(s).get(offer_id)
    if offer is None or actor.user is None or offer.expert_id != actor.user.id:
        return None
    return offer
