"""Storage on SQLite and PostgreSQL alike: migrations match the models; seats are atomic."""

from __future__ import annotations

import asyncio
import os
import sqlite3
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Connection

from storage.db import Database
from storage.models import Base, Gig, GigStatus, Role
from storage.repo import GigRepo, OfferRepo, UserRepo

NOW = datetime(2026, 11, 23, 8, 0, tzinfo=UTC)


async def fresh(db_url: str) -> Database:
    db = Database(db_url)
    await db.migrate()
    return db


def _diff(conn: Connection) -> list[object]:
    return list(compare_metadata(MigrationContext.configure(conn), Base.metadata))


async def test_migrations_match_the_models(db_url: str) -> None:
    db = await fresh(db_url)
    async with db.engine.connect() as conn:
        assert await conn.run_sync(_diff) == []
    await db.migrate()  # running again is a no-op
    await db.dispose()


async def _gig(db: Database, seats: int) -> int:
    async with db.unit_of_work() as s:
        orderer = await UserRepo(s).add(1, Role.ORDERER, "fi", "O", NOW)
        gig = await GigRepo(s).add(
            Gig(
                orderer_id=orderer.id,
                status=GigStatus.OPEN,
                organisation="x",
                gig_type="talk",
                topics=["loss"],
                starts_at=NOW + timedelta(days=3),
                duration_min=60,
                remote=False,
                place="p",
                region="lappi",
                audience="large",
                audience_size=5,
                seats=seats,
                seats_filled=0,
                language="fi",
                fee_cents=None,
                contact="c",
                notes="",
                reject_reason="",
                created_at=NOW,
            )
        )
        return gig.id


async def test_seats_are_taken_atomically_under_concurrency(db_url: str) -> None:
    db = await fresh(db_url)
    gig_id = await _gig(db, seats=3)

    async def take() -> bool:
        async with db.unit_of_work() as s:
            return await GigRepo(s).take_seat(gig_id, NOW)

    results = await asyncio.gather(*(take() for _ in range(12)))
    assert results.count(True) == 3
    async with db.unit_of_work() as s:
        gig = await GigRepo(s).get(gig_id)
        assert gig is not None and gig.seats_filled == 3 and gig.status == GigStatus.FILLED
        assert gig.filled_at == NOW  # aware UTC back from either database
    await db.dispose()


async def test_an_offer_is_answered_once(db_url: str) -> None:
    db = await fresh(db_url)
    gig_id = await _gig(db, seats=1)
    async with db.unit_of_work() as s:
        expert = await UserRepo(s).add(2, Role.EXPERT, "fi", "E", NOW)
        offer = await OfferRepo(s).add(gig_id, expert.id, NOW)

    async def answer() -> bool:
        async with db.unit_of_work() as s:
            return await OfferRepo(s).answer(offer.id, "accepted", NOW)

    assert (await asyncio.gather(answer(), answer(), answer())).count(True) == 1
    await db.dispose()


@pytest.mark.skipif(
    bool(os.environ.get("TEST_DATABASE_URL")), reason="SQLite's write lock between processes"
)
async def test_a_unit_of_work_waits_for_another_process_without_stalling_the_loop(
    db_url: str,
) -> None:
    """Units of work begin in the event loop's thread when SQLite's write lock is free; when
    another process holds it (a backup, a second copy), the wait is in the driver's thread,
    so the bot's other work goes on, and the unit of work runs once the lock is free."""
    db = await fresh(db_url)
    other = sqlite3.connect(db_url.partition(":///")[2], isolation_level=None)
    other.execute("BEGIN IMMEDIATE")

    async def add_user() -> None:
        async with db.unit_of_work() as s:
            await UserRepo(s).add(7, Role.EXPERT, "fi", "Aino", NOW)

    started = time.monotonic()
    waiting = asyncio.create_task(add_user())
    for _ in range(200):  # the loop keeps turning while the unit of work waits
        await asyncio.sleep(0)
    assert not waiting.done()
    # Not stalled in SQLite's busy handler (30 s) in the loop's thread meanwhile.
    assert time.monotonic() - started < 5
    other.execute("COMMIT")
    other.close()
    await waiting
    async with db.unit_of_work() as s:
        assert (await UserRepo(s).by_telegram_id(7)) is not None
    await db.dispose()


@pytest.mark.skipif(not os.environ.get("TEST_DATABASE_URL"), reason="PostgreSQL's pool")
async def test_a_connection_the_database_dropped_is_replaced_and_only_an_idle_one_is_pinged(
    db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The pool hands out no dead connection, after a restart or a silent drop, and a busy
    pool makes no round trip to find out (SQLAlchemy's pre-ping made three per checkout)."""
    from sqlalchemy import event, text
    from sqlalchemy.dialects.postgresql.asyncpg import AsyncAdapt_asyncpg_connection
    from sqlalchemy.ext.asyncio import create_async_engine

    from storage.db import IDLE_SINCE, PING_AFTER_IDLE

    pings = 0
    real_ping = AsyncAdapt_asyncpg_connection.ping

    silent_drop = False

    def counted(self: AsyncAdapt_asyncpg_connection) -> None:
        nonlocal pings, silent_drop
        pings += 1
        if silent_drop:
            silent_drop = False
            raise ConnectionResetError("no answer")
        real_ping(self)

    monkeypatch.setattr(AsyncAdapt_asyncpg_connection, "ping", counted)
    db = await fresh(db_url)
    db.engine.pool.dispose()  # start from no connection at all (the migration left one)
    records: list[Any] = []  # the pool's connection records, as checked out
    event.listen(db.engine.sync_engine, "checkout", lambda _d, r, _p: records.append(r))

    async def backend() -> int:
        async with db.unit_of_work() as s:
            pid = await s.scalar(text("SELECT pg_backend_pid()"))
        assert isinstance(pid, int)
        return pid

    async def kill(pid: int) -> None:
        admin = create_async_engine(db_url, isolation_level="AUTOCOMMIT")
        async with admin.connect() as conn:
            await conn.execute(text("SELECT pg_terminate_backend(:p)"), {"p": pid})
        await admin.dispose()

    try:
        first = await backend()
        assert await backend() == first and pings == 0  # busy: reused, never pinged

        # The server ends the connection (a restart): once the loop has seen the socket
        # close, the next unit of work gets a new connection, without a ping or an error.
        await kill(first)
        record = records[-1]
        for _ in range(500):  # the database's goodbye is a network event: wait for it
            if record.driver_connection.is_closed():
                break
            await asyncio.sleep(0.01)
        second = await backend()
        assert second != first and pings == 0

        # Idle for longer than PING_AFTER_IDLE: pinged once before use. A connection a
        # firewall dropped silently looks open to the loop; its ping fails (as here), and the
        # pool connects again.
        records[-1].info[IDLE_SINCE] = time.monotonic() - PING_AFTER_IDLE - 1
        assert await backend() == second and pings == 1
        records[-1].info[IDLE_SINCE] = time.monotonic() - PING_AFTER_IDLE - 1
        silent_drop = True
        third = await backend()
        assert third not in (first, second) and pings == 2
    finally:
        await db.dispose()
