"""The schedule: each of the morning's register tasks in its own unit of work."""

from __future__ import annotations

import logging

import pytest
from sqlalchemy.ext.asyncio import AsyncSession

import scheduler
from tests import flows
from tests.harness import TOKEN, ErrorLog, Harness, at


async def test_the_schedule_is_on_the_job_queue(h: Harness) -> None:
    jq = h.app.job_queue
    assert jq is not None
    assert sorted(j.job.id for j in jq.jobs()) == sorted(job.id for job in scheduler.JOBS)


async def test_one_failing_morning_task_loses_only_its_own_work(
    h: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    aino = await flows.register_expert(h, 301, "Aino")
    await aino.send("/pause 23.12.2026")
    eino = await flows.register_expert(h, 302, "Eino")
    coord = flows.coordinator(h)
    eino_id = await h.user_id(302)
    await coord.send(f"/expert {eino_id}")
    await coord.press(coord.t("btn.set_contract"))
    await coord.send("31.12.2026")
    expiring = coord.t("register.contract_expiring", name="Eino", id=eino_id, date="31.12.2026")
    alert = coord.t("coord.error_alert", kind="RuntimeError")

    # The contract reminders do their work, then fail: that work is rolled back, alone.
    real = h.core.experts.contract_reminders

    async def fails_after_its_work(s: AsyncSession) -> int:
        await real(s)
        raise RuntimeError("refused in test")

    monkeypatch.setattr(h.core.experts, "contract_reminders", fails_after_its_work)
    errors = next(x for x in logging.getLogger().handlers if isinstance(x, ErrorLog))
    before = len(coord.inbox)
    h.clock.set(at("24.12.2026 08.05"))
    await h.run_job("register:daily")
    await h.core.outbox.flush()

    assert aino.last.text == aino.t("checkin.keep_after_pause")  # the task before it ran
    assert eino.last.text == eino.t("checkin.keep_no_gig")  # and the one after it
    coord_texts = [m.text for m in coord.inbox[before:]]
    assert coord_texts.count(alert) == 1  # alerted once
    assert expiring not in coord_texts  # the failed task's reminder was rolled back
    assert len(errors.records) == 1  # logged once, with its traceback, without the token
    record = errors.records[0]
    assert record.exc_info is not None and "refused in test" in str(record.exc_info[1])
    formatted = logging.Formatter().format(record)
    assert "Traceback" in formatted and TOKEN not in formatted
    errors.records.clear()

    # The next morning the task works again and does what it could not do the day before.
    monkeypatch.setattr(h.core.experts, "contract_reminders", real)
    h.clock.set(at("25.12.2026 08.05"))
    await h.run_job("register:daily")
    await h.core.outbox.flush()
    assert coord.last.text == expiring
