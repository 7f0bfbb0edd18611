"""The dispatch engine: fair ranking, offers in three modes, atomic seats, expiry, cascade
waves, cancellations and changes, and the coordinator's live status message per gig.

Everything is decided in the database inside the caller's unit of work; messages go through
the outbox, so a restart in the middle neither loses nor repeats an offer.

One module per responsibility (where to change what):
- `ranking`  who may be offered a gig, and the fair rotation (pure rules + their facts)
- `offering` starting dispatch, waves, hand-pick, what an offer says, expiry, lost contact
- `seats`    accept, decline, step back, reconfirm, and the one `release_seat`
- `changes`  cancel, move, mark held, no-show, replace, companion, message (with the actor)
- `lifecycle` undo an answer, more time on an offer, hand a seat to a colleague (swap)
- `status`   the coordinator's live status message, refreshed once per unit of work
`Dispatch` puts them together and is what the rest of the bot calls.
"""

from __future__ import annotations

from bot.clock import Clock
from bot.notify import Notifier
from bot.present import Presenter
from bot.services.audit import Audit
from bot.services.checkins import CheckIns
from bot.services.dispatch.changes import Changes
from bot.services.dispatch.common import (
    Answer,
    AnswerResult,
    Deps,
    Lost,
    NoShow,
    Release,
    offer_tag,
    status_tag,
)
from bot.services.dispatch.lifecycle import Lifecycle, MoreTime, Outcome, Swap, Undo
from bot.services.dispatch.offering import MODES, SERIES_MODE, Offering
from bot.services.dispatch.ranking import NOT_AGAIN, ROTATION_DAYS, Ranked, Ranking, rotation_key
from bot.services.dispatch.seats import Seats
from bot.services.dispatch.status import STATUS_NAMES_MAX, Status
from bot.services.fees import Fees
from bot.services.papers import Papers
from bot.settings import Settings

__all__ = [
    "MODES",
    "NOT_AGAIN",
    "ROTATION_DAYS",
    "SERIES_MODE",
    "STATUS_NAMES_MAX",
    "Answer",
    "AnswerResult",
    "Dispatch",
    "Lost",
    "MoreTime",
    "NoShow",
    "Outcome",
    "Ranked",
    "Release",
    "Swap",
    "Undo",
    "offer_tag",
    "rotation_key",
    "status_tag",
]


class Dispatch:
    """The parts, composed; each public method is the part's own (see the module list)."""

    def __init__(
        self,
        presenter: Presenter,
        notifier: Notifier,
        clock: Clock,
        settings: Settings,
        checkins: CheckIns,
        fees: Fees,
        audit: Audit,
        papers: Papers | None = None,
    ) -> None:
        deps = Deps(presenter, notifier, clock, settings, checkins, fees, audit, papers)
        self.settings = settings
        self.audit = audit
        self.status = Status(deps)
        self.ranking = Ranking(deps)
        self.offering = Offering(deps, self.ranking, self.status)
        self.seats = Seats(deps, self.offering, self.status)
        self.changes = Changes(deps, self.offering, self.seats, self.status)
        self.lifecycle = Lifecycle(deps, self.ranking, self.offering, self.seats, self.status)
        self._expose()

    def _expose(self) -> None:
        """The parts' methods under the names the handlers, services and scheduler call."""
        self.eligible = self.ranking.eligible
        self.rotation = self.ranking.rotation
        self.ranked = self.ranking.ranked
        self.untrained = self.ranking.untrained
        self.start = self.offering.start
        self.proceed = self.offering.proceed
        self.handpick = self.offering.handpick
        self.details = self.offering.details
        self.why = self.offering.why
        self.tick = self.offering.tick
        self.lost_contact = self.offering.lost_contact
        self.accept = self.seats.accept
        self.decline = self.seats.decline
        self.step_back = self.seats.step_back
        self.reconfirm = self.seats.reconfirm
        self.release_seat = self.seats.release_seat
        self.my_gigs = self.seats.my_gigs
        self.cancel_gig = self.changes.cancel_gig
        self.cancel_series = self.changes.cancel_series
        self.change_series = self.changes.change_series
        self.change_gig = self.changes.change_gig
        self.mark_done = self.changes.mark_done
        self.no_show = self.changes.no_show
        self.replace = self.changes.replace
        self.set_prep_hours = self.changes.set_prep_hours
        self.set_companion = self.changes.set_companion
        self.message_confirmed = self.changes.message_confirmed
        self.people = self.changes.people
        self.undo = self.lifecycle.undo
        self.undo_open = self.lifecycle.undo_open
        self.more_time = self.lifecycle.more_time
        self.swap_colleagues = self.lifecycle.colleagues
        self.ask_swap = self.lifecycle.ask_swap
        self.status_text = self.status.text
        self.refresh_dirty = self.status.refresh_dirty
