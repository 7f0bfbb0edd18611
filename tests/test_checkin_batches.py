"""A check-in backlog after downtime goes out in short transactions: every item once, in
order, and a batch that fails loses nothing and repeats nothing."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from typing import Any

from sqlalchemy import event, func, select

from bot.services.checkins import TICK_BATCH
from storage.models import CheckIn, CheckInKind, Role, User
from tests.harness import ErrorLog, Harness

EXPERTS = TICK_BATCH * 2 + 7  # three batches, the last one short
FIRST_TG = 5_000


async def backlog(h: Harness) -> list[int]:
    """One overdue keep-in-touch check-in for each of many experts; returns their ids."""
    now = h.clock.now()
    async with h.core.db.unit_of_work() as s:
        users = [
            User(telegram_id=FIRST_TG + i, role=Role.EXPERT, language="fi", created_at=now)
            for i in range(EXPERTS)
        ]
        s.add_all(users)
        await s.flush()
        rows = [
            CheckIn(
                kind=CheckInKind.KEEP_IN_TOUCH,
                expert_id=u.id,
                due_at=now - timedelta(days=3, minutes=i),
                created_at=now - timedelta(days=30),
            )
            for i, u in enumerate(users)
        ]
        s.add_all(rows)
        await s.flush()
        return [r.id for r in rows]


def received(h: Harness) -> list[int]:
    """How many keep-in-touch messages each expert got."""
    text = h.t("fi", "checkin.keep")
    return [sum(m.text == text for m in h.tg.chat(FIRST_TG + i)) for i in range(EXPERTS)]


async def statuses(h: Harness) -> dict[str, int]:
    async with h.core.db.unit_of_work() as s:
        rows = await s.execute(select(CheckIn.status, func.count()).group_by(CheckIn.status))
        return {str(status): n for status, n in rows}


@contextmanager
def failing_update(checkin_id: int) -> Iterator[None]:
    """The database refuses to write one check-in (a fault, as a full disk would be)."""

    def refuse(mapper: Any, connection: Any, row: CheckIn) -> None:
        if row.id == checkin_id:
            raise RuntimeError("disk full")

    event.listen(CheckIn, "before_update", refuse)
    try:
        yield
    finally:
        event.remove(CheckIn, "before_update", refuse)


async def test_a_backlog_goes_out_once_in_batches(h: Harness) -> None:
    await backlog(h)
    await h.run_job("checkins:tick")
    await h.core.outbox.flush()
    assert received(h) == [1] * EXPERTS
    assert await statuses(h) == {"sent": EXPERTS}
    # The next tick finds nothing more.
    await h.run_job("checkins:tick")
    await h.core.outbox.flush()
    assert received(h) == [1] * EXPERTS


async def test_a_failing_batch_loses_nothing_and_repeats_nothing(h: Harness) -> None:
    ids = await backlog(h)
    # The oldest is due first: the poison sits in the first batch.
    poison = ids[-1]
    with failing_update(poison):
        await h.run_job("checkins:tick")
    await h.core.outbox.flush()
    got = received(h)
    assert got[:-1] == [1] * (EXPERTS - 1)
    assert got[-1] == 0
    assert await statuses(h) == {"sent": EXPERTS - 1, "scheduled": 1}
    errors = next(x for x in logging.getLogger().handlers if isinstance(x, ErrorLog))
    assert [r.getMessage() for r in errors.records] == [
        f"check-in {poison} could not be sent; it stays due"
    ]
    errors.records.clear()
    # Once the fault is gone the next tick sends the last one, and nothing twice.
    await h.run_job("checkins:tick")
    await h.core.outbox.flush()
    assert received(h) == [1] * EXPERTS
    assert await statuses(h) == {"sent": EXPERTS}
