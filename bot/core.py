"""The services and their shared parts, built once per Application."""

from __future__ import annotations

from dataclasses import dataclass

from bot.budget import SendBudget
from bot.clock import Clock
from bot.i18n import Texts
from bot.messages import Undelivered
from bot.notify import Notifier
from bot.outbox import OnUndelivered, OutboxSender
from bot.present import Presenter
from bot.services.access import Access
from bot.services.alerts import Alerts
from bot.services.audit import Audit
from bot.services.availability import Availability
from bot.services.billing import Billing
from bot.services.calls import Calls
from bot.services.certificates import Certificates
from bot.services.checkins import CheckIns
from bot.services.claims import Claims
from bot.services.dispatch import Dispatch
from bot.services.erasure import Erasure
from bot.services.experts import Experts
from bot.services.feedback import Feedback
from bot.services.feeds import Feeds
from bot.services.fees import Fees
from bot.services.orders import Orders
from bot.services.papers import Papers
from bot.services.prep import PrepCalls
from bot.services.relay import Relay
from bot.services.reports import Reports
from bot.services.sessions import Sessions
from bot.settings import Settings
from bot.transport import Transport
from storage.db import Database


def delivery_events(db: Database, dispatch: Dispatch) -> OnUndelivered:
    """The outbox's one delivery event: what dispatch does about a message that cannot arrive,
    in its own unit of work."""

    async def undelivered(telegram_id: int, tag: str | None, why: Undelivered) -> None:
        async with db.unit_of_work() as s:
            await dispatch.lost_contact(s, telegram_id, tag, why)

    return undelivered


@dataclass
class Core:
    settings: Settings
    clock: Clock
    texts: Texts
    db: Database
    presenter: Presenter
    notifier: Notifier
    access: Access
    dispatch: Dispatch
    orders: Orders
    experts: Experts
    checkins: CheckIns
    feedback: Feedback
    fees: Fees
    papers: Papers
    billing: Billing
    claims: Claims
    certificates: Certificates
    audit: Audit
    alerts: Alerts
    reports: Reports
    calls: Calls
    sessions: Sessions
    transport: Transport
    outbox: OutboxSender
    availability: Availability

    feeds: Feeds

    relay: Relay
    prep: PrepCalls

    def __post_init__(self) -> None:
        self.db.on_before_commit(self.dispatch.refresh_dirty)
        self.db.on_before_commit(self.dispatch.ranking.refresh_touched)

    @classmethod
    def build(
        cls,
        settings: Settings,
        clock: Clock,
        transport: Transport,
        budget: SendBudget,
        db: Database | None = None,
    ) -> Core:
        texts = Texts(settings.default_language)
        db = db or Database(settings.database_url)
        presenter = Presenter(texts, settings.tz)
        notifier = Notifier(presenter, settings, clock)
        audit = Audit(clock)
        feedback = Feedback(presenter, notifier, clock, settings)
        erasure = Erasure(presenter, notifier, clock)
        fees = Fees(presenter, notifier, clock, settings, audit, erasure)
        checkins = CheckIns(presenter, notifier, clock, settings)
        papers = Papers(presenter, clock, settings, notifier)
        dispatch = Dispatch(presenter, notifier, clock, settings, checkins, fees, audit, papers)
        sessions = Sessions(presenter, notifier, clock, settings, audit)
        return cls(
            settings=settings,
            clock=clock,
            texts=texts,
            db=db,
            presenter=presenter,
            notifier=notifier,
            access=Access(settings, texts, clock),
            dispatch=dispatch,
            orders=Orders(presenter, notifier, dispatch, clock),
            experts=Experts(
                presenter, notifier, clock, checkins, audit, dispatch, erasure, sessions
            ),
            checkins=checkins,
            feedback=feedback,
            reports=Reports(presenter, feedback, settings.tz),
            fees=fees,
            papers=papers,
            billing=Billing(presenter, settings),
            claims=Claims(presenter, notifier, clock, settings, audit),
            certificates=Certificates(presenter, notifier, clock, settings, audit),
            audit=audit,
            calls=Calls(presenter, notifier, clock, audit),
            sessions=sessions,
            alerts=Alerts(presenter, notifier, clock),
            transport=transport,
            outbox=OutboxSender(db, transport, clock, budget, delivery_events(db, dispatch)),
            availability=Availability(clock, settings.tz, dispatch),
            feeds=Feeds(presenter, checkins, clock),
            relay=erasure.relay,
            prep=PrepCalls(presenter, notifier, clock),
        )
