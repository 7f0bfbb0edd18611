"""The services and their shared parts, built once per Application."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from telegram.ext import ExtBot

from bot.budget import SendBudget
from bot.clock import Clock
from bot.i18n import Texts
from bot.notify import Notifier
from bot.outbox import OutboxSender
from bot.present import Presenter
from bot.services.access import Access
from bot.services.alerts import Alerts
from bot.services.audit import Audit
from bot.services.checkins import CheckIns
from bot.services.dispatch import Dispatch, Lost
from bot.services.erasure import Erasure
from bot.services.experts import Experts
from bot.services.feedback import Feedback
from bot.services.fees import Fees
from bot.services.orders import Orders
from bot.services.reports import Reports
from bot.settings import Settings
from storage.db import Database


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
    audit: Audit
    alerts: Alerts
    reports: Reports
    outbox: OutboxSender

    def __post_init__(self) -> None:
        self.outbox.on_unreachable = self._unreachable
        self.outbox.on_undeliverable = self._undeliverable
        self.db.on_before_commit(self.dispatch.refresh_dirty)

    async def _unreachable(self, telegram_id: int, tag: str | None) -> None:
        async with self.db.unit_of_work() as s:
            await self.dispatch.lost_contact(s, telegram_id, tag, Lost.BLOCKED)

    async def _undeliverable(self, telegram_id: int, tag: str | None) -> None:
        async with self.db.unit_of_work() as s:
            await self.dispatch.lost_contact(s, telegram_id, tag, Lost.FAILING)

    @classmethod
    def build(
        cls,
        settings: Settings,
        clock: Clock,
        bot: ExtBot[Any],
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
        dispatch = Dispatch(presenter, notifier, clock, settings, checkins, fees, audit)
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
            experts=Experts(presenter, notifier, clock, checkins, audit, dispatch, erasure),
            checkins=checkins,
            feedback=feedback,
            reports=Reports(presenter, feedback, settings.tz),
            fees=fees,
            audit=audit,
            alerts=Alerts(presenter, notifier, clock),
            outbox=OutboxSender(db, bot, clock, budget),
        )
