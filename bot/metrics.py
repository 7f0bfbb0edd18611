"""Figures for Prometheus (`GET /metrics` on the bot's HTTP side, bot/web.py).

Counted in this process: updates handled and how long each took to handle, and the 429s
Telegram answered. Read from the
database at each scrape (the same for every instance): outbox depth and the age of its oldest
due message, check-ins due, offers sent. And whether this instance leads the periodic jobs.
Nothing here names a person or a chat.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.registry import Collector
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.budget import SendBudget
from bot.clock import Clock
from storage.leader import Leader
from storage.models import CheckIn, CheckInStatus, Offer, Outbox, OutboxStatus

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
LATENCY_BUCKETS = (0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


class _Snapshot(Collector):
    """The database's figures, read just before a scrape renders them."""

    def __init__(self) -> None:
        self.figures: dict[str, float] = {}

    def collect(self) -> Iterable[GaugeMetricFamily | CounterMetricFamily]:
        f = self.figures
        yield GaugeMetricFamily(
            "kv_outbox_depth", "Messages waiting in the outbox", value=f.get("depth", 0)
        )
        yield GaugeMetricFamily(
            "kv_outbox_oldest_age_seconds",
            "Age of the oldest due message in the outbox",
            value=f.get("age", 0),
        )
        yield GaugeMetricFamily(
            "kv_checkins_due", "Check-ins due and not sent yet", value=f.get("checkins_due", 0)
        )
        yield CounterMetricFamily(
            "kv_offers_sent", "Gig offers made, all time", value=f.get("offers", 0)
        )
        yield GaugeMetricFamily(
            "kv_leader", "1 when this instance runs the periodic jobs", value=f.get("leader", 0)
        )
        yield GaugeMetricFamily(
            "kv_instances",
            "Instances sharing the send budget, as this one last counted them",
            value=f.get("instances", 1),
        )
        yield GaugeMetricFamily(
            "kv_send_budget_per_second",
            "Messages a second this instance may send (its part of the bot's rate)",
            value=f.get("share", 0),
        )
        yield CounterMetricFamily(
            "kv_telegram_429",
            "429 answers from Telegram (flood control), this process",
            value=f.get("refusals", 0),
        )


class Metrics:
    def __init__(self, clock: Clock, budget: SendBudget, leader: Leader) -> None:
        self.clock = clock
        self.budget = budget
        self.leader = leader
        self.registry = CollectorRegistry(auto_describe=True)
        self.updates = Counter(
            "kv_updates_handled", "Updates handled, this process", registry=self.registry
        )
        self.latency = Histogram(
            "kv_update_handling_seconds",
            "Seconds one update took to handle",
            buckets=LATENCY_BUCKETS,
            registry=self.registry,
        )
        self._snapshot = _Snapshot()
        self.registry.register(self._snapshot)

    def handled(self, seconds: float) -> None:
        self.updates.inc()
        self.latency.observe(max(0.0, seconds))

    async def render(self, s: AsyncSession) -> bytes:
        now = self.clock.now()
        waiting = (Outbox.status == OutboxStatus.PENDING) | (Outbox.status == OutboxStatus.SENDING)
        depth = await s.scalar(select(func.count()).select_from(Outbox).where(waiting))
        oldest: datetime | None = await s.scalar(
            select(func.min(Outbox.not_before)).where(waiting, Outbox.not_before <= now)
        )
        due = await s.scalar(
            select(func.count())
            .select_from(CheckIn)
            .where(CheckIn.status == CheckInStatus.SCHEDULED, CheckIn.due_at <= now)
        )
        offers = await s.scalar(select(func.count()).select_from(Offer))
        self._snapshot.figures = {
            "depth": float(depth or 0),
            "age": (now - oldest).total_seconds() if oldest is not None else 0.0,
            "checkins_due": float(due or 0),
            "offers": float(offers or 0),
            "leader": 1.0 if self.leader.leading else 0.0,
            "refusals": float(self.budget.refusals),
            "instances": float(self.budget.instances),
            "share": self.budget.capacity / self.budget.window,
        }
        return generate_latest(self.registry)
