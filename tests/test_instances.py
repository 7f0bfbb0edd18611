"""Several instances on one PostgreSQL database: migrations by one at a time, and one leader
for the periodic jobs that another takes over when it dies (issue 19). PostgreSQL only: on
SQLite there is one process by design."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import textwrap
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from bot.app import build_application, post_init, presence_of
from handlers.base import AnyApplication
from scheduler import leader_of
from storage.leader import Leader
from tests.conftest import COORDINATOR_ID
from tests.harness import TOKEN, Harness
from tests.test_checkin_batches import EXPERTS, backlog, received, statuses
from tests.test_web import message

ROOT = Path(__file__).resolve().parent.parent

pytestmark = pytest.mark.skipif(
    not os.environ.get("TEST_DATABASE_URL", "").startswith("postgresql"),
    reason="several instances share one PostgreSQL database",
)


def _python(code: str, url: str) -> subprocess.Popen[str]:
    """Another instance: a fresh Python process on the same database."""
    return subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent(code), url],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


MIGRATE = """
    import asyncio, sys
    from storage.db import Database

    async def main():
        db = Database(sys.argv[1])
        await db.migrate()
        await db.dispose()

    asyncio.run(main())
    print("migrated")
"""


async def test_instances_starting_at_once_migrate_one_at_a_time(db_url: str) -> None:
    # db_url is an empty schema: three instances start at the same moment.
    procs = [_python(MIGRATE, db_url) for _ in range(3)]
    results = [p.communicate(timeout=120) for p in procs]
    for proc, (out, err) in zip(procs, results, strict=True):
        assert proc.returncode == 0, err
        assert out.strip() == "migrated"
    engine = create_async_engine(db_url)
    async with engine.connect() as conn:
        versions = (await conn.execute(text("SELECT version_num FROM alembic_version"))).all()
    await engine.dispose()
    assert len(versions) == 1


@asynccontextmanager
async def another_instance(h: Harness, db_url: str) -> AsyncIterator[AnyApplication]:
    """A second bot on the same database and the same Telegram."""
    from bot.settings import load_settings

    settings = load_settings(
        bot_token=TOKEN, database_url=db_url, coordinator_ids=str(COORDINATOR_ID), _env_file=None
    )
    app = build_application(settings, clock=h.clock, request=h.tg.request())
    async with app:
        await post_init(app)
        try:
            yield app
        finally:
            await leader_of(app).resign()
            await presence_of(app).end()
            await app.bot_data["core"].outbox.idle()
            await app.bot_data["core"].db.dispose()


async def run_job(app: AnyApplication, job_id: str) -> None:
    jq = app.job_queue
    assert jq is not None
    job = next(j for j in jq.jobs() if j.job.id == job_id)
    await job.run(app)


async def _backend_of(leader: Leader) -> int:
    conn = leader._conn
    assert conn is not None
    pid = await conn.scalar(text("SELECT pg_backend_pid()"))
    assert isinstance(pid, int)
    return pid


async def test_only_the_leader_runs_a_tick_and_another_takes_over(h: Harness, db_url: str) -> None:
    await backlog(h)
    async with another_instance(h, db_url) as second:
        first_leader, second_leader = leader_of(h.app), leader_of(second)
        assert await first_leader.check()
        assert not await second_leader.check()

        # Both instances' schedules fire at once: the backlog goes out once.
        await asyncio.gather(run_job(h.app, "checkins:tick"), run_job(second, "checkins:tick"))
        await h.core.outbox.flush()
        await second.bot_data["core"].outbox.flush()
        assert received(h) == [1] * EXPERTS
        assert await statuses(h) == {"sent": EXPERTS}

        # The leader's session ends (its process died): the other takes over at its next try.
        pid = await _backend_of(first_leader)
        admin = create_async_engine(db_url, isolation_level="AUTOCOMMIT")
        async with admin.connect() as conn:
            await conn.execute(text("SELECT pg_terminate_backend(:p)"), {"p": pid})
        await admin.dispose()
        assert await second_leader.check()
        assert second_leader.leading
        assert not await first_leader.check()  # it notices, and does not lead again
        assert not first_leader.leading


HOLD = """
    import asyncio, sys
    from sqlalchemy.ext.asyncio import create_async_engine
    from storage.leader import Leader

    async def main():
        leader = Leader(create_async_engine(sys.argv[1]))
        print("leading" if await leader.check() else "standby", flush=True)
        await asyncio.Event().wait()

    asyncio.run(main())
"""


async def test_a_killed_leader_is_replaced_at_the_next_poll(h: Harness, db_url: str) -> None:
    await leader_of(h.app).resign()  # this test's own bot stands aside
    proc = _python(HOLD, db_url)
    try:
        assert proc.stdout is not None
        line = await asyncio.to_thread(proc.stdout.readline)
        assert line.strip() == "leading"
        standby = Leader(create_async_engine(db_url))
        assert not await standby.check()
        proc.send_signal(signal.SIGKILL)  # kill -9: no goodbye, no unlock
        await asyncio.to_thread(proc.wait, 30)
        # PostgreSQL ends the dead process's session when its socket closes, which the
        # kernel does at the kill; allow it a moment to notice (a real process, real time).
        for _ in range(100):
            if await standby.check():
                break
            await asyncio.sleep(0.05)
        assert standby.leading
        await standby.resign()
        await standby.engine.dispose()
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.communicate()


async def test_one_chats_updates_keep_their_order_across_instances(h: Harness, db_url: str) -> None:
    from telegram import Update

    from bot.polling import DurablePoller
    from storage.repo import InboxRepo

    chat = 901
    first, second = message(9001, chat, "/start"), message(9002, chat, "/language")
    # The first instance stored the chat's first update and has not handled it yet ...
    async with h.core.db.unit_of_work() as s:
        await InboxRepo(s).store([(9001, first)])
    async with another_instance(h, db_url) as other:
        # ... when the chat's next update reaches the second instance.
        async with other.bot_data["core"].db.unit_of_work() as s:
            await InboxRepo(s).store([(9002, second)])
        await DurablePoller(other, shared=True).handle(Update.de_json(second, other.bot))
        await other.bot_data["core"].outbox.idle()
        answers = [m.text for m in h.tg.chat(chat)]
        assert answers == [h.t("en", "start.stranger"), h.t("en", "language.choose")]
        # The first instance gets to its update: it was handled already, nothing repeats.
        await DurablePoller(h.app, shared=True).handle(Update.de_json(first, h.app.bot))
        await h.core.outbox.idle()
        assert [m.text for m in h.tg.chat(chat)] == answers
        async with h.core.db.unit_of_work() as s:
            assert await InboxRepo(s).pending() == []


async def test_an_outbox_row_in_flight_is_resent_only_when_its_instance_is_gone(
    h: Harness, db_url: str
) -> None:
    from datetime import timedelta

    from sqlalchemy import select

    from storage.models import Outbox, OutboxStatus

    async with h.core.db.unit_of_work() as s:
        row = Outbox(
            chat_id=905,
            kind="send",
            text="hello",
            not_before=h.clock.now() - timedelta(minutes=1),
            created_at=h.clock.now(),
        )
        s.add(row)
        await s.flush()
        row_id = row.id
    # The first instance takes the row and is sending it (the call not answered yet).
    async with h.core.db.unit_of_work() as s:
        from storage.repo import OutboxRepo

        assert await OutboxRepo(s).mark_many([row_id], h.core.outbox.owner, h.clock.now())
    async with another_instance(h, db_url) as other:
        # The periodic flush: the first instance lives, so its row in flight is its own.
        await run_job(other, "outbox:flush")
        assert h.tg.chat(905) == []
        await presence_of(h.app).end()  # the first instance dies
        await run_job(other, "outbox:flush")
        assert [m.text for m in h.tg.chat(905)] == ["hello"]
        async with h.core.db.unit_of_work() as s:
            status = await s.scalar(select(Outbox.status).where(Outbox.id == row_id))
        assert status == OutboxStatus.SENT


async def test_a_chats_messages_keep_their_order_whichever_instance_sends(
    h: Harness, db_url: str
) -> None:
    from datetime import timedelta

    from storage.models import Outbox, OutboxStatus
    from storage.repo import OutboxRepo

    due = h.clock.now() - timedelta(minutes=1)
    async with h.core.db.unit_of_work() as s:
        rows = [
            Outbox(chat_id=906, kind="send", text=text, not_before=due, created_at=due)
            for text in ("first", "second")
        ]
        s.add_all(rows)
        await s.flush()
        first, second = (r.id for r in rows)
    # The first instance has the chat's first message in flight ...
    async with h.core.db.unit_of_work() as s:
        assert await OutboxRepo(s).mark_many([first], h.core.outbox.owner, h.clock.now())
    async with another_instance(h, db_url) as other:
        # ... so the second instance leaves the chat's next message alone,
        await other.bot_data["core"].outbox.flush()
        assert h.tg.chat(906) == []
        # and sends it once the first one is out.
        async with h.core.db.unit_of_work() as s:
            await OutboxRepo(s).finish(first, OutboxStatus.SENT, h.clock.now(), message_id=1)
        await other.bot_data["core"].outbox.flush()
        assert [m.text for m in h.tg.chat(906)] == ["second"]
        async with h.core.db.unit_of_work() as s:
            assert await s.get(Outbox, second) is not None


async def test_instances_on_one_database_share_the_send_budget(h: Harness, db_url: str) -> None:
    from datetime import timedelta

    from bot.budget import SendBudget

    def budget_of(app: AnyApplication) -> SendBudget:
        limiter: SendBudget = app.bot_data["core"].outbox.limiter
        return limiter

    first = budget_of(h.app)
    assert (first.capacity, first.paused) == (30, False)  # alone: all of it, at once
    async with another_instance(h, db_url) as other:
        second = budget_of(other)
        # The newcomer counted two live instances: half the rate, after a pause in which
        # the first instance sees it too.
        assert (second.capacity, second.paused) == (15, True)
        await run_job(h.app, "budget:share")
        assert first.capacity == 15
        await presence_of(other).end()  # the second instance is gone
        await run_job(h.app, "budget:share")
        assert first.capacity == 15  # its last second may still count at Telegram
        h.clock.advance(timedelta(seconds=1))
        await run_job(h.app, "budget:share")
        assert first.capacity == 30
