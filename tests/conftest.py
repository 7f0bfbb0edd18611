"""Fixtures: a fresh database (SQLite by default, PostgreSQL when TEST_DATABASE_URL is set),
the real Application on a fake Bot API, and a clock that moves only when told."""

from __future__ import annotations

import logging
import os
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from bot.app import build_application, post_init, presence_of
from bot.clock import FakeClock
from bot.sandbox.fakebot import FakeTelegram
from bot.settings import load_settings
from scheduler import leader_of
from tests.harness import TOKEN, ErrorLog, Harness, at

COORDINATOR_ID = 100


async def _reset_postgres(url: str) -> str:
    """A clean database per test; each parallel worker (pytest-xdist) gets its own."""
    worker = os.environ.get("PYTEST_XDIST_WORKER", "")
    if worker:
        base, _, name = url.rpartition("/")
        admin = create_async_engine(f"{base}/postgres", isolation_level="AUTOCOMMIT")
        mine = f"{name}_{worker}"
        async with admin.connect() as conn:
            exists = await conn.scalar(
                text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": mine}
            )
            if not exists:
                await conn.execute(text(f'CREATE DATABASE "{mine}"'))
        await admin.dispose()
        url = f"{base}/{mine}"
    engine = create_async_engine(url)
    async with engine.begin() as conn:
        await conn.execute(text("DROP SCHEMA public CASCADE"))
        await conn.execute(text("CREATE SCHEMA public"))
    await engine.dispose()
    return url


@pytest.fixture
async def db_url(tmp_path: Path) -> str:
    url = os.environ.get("TEST_DATABASE_URL")
    if url:
        return await _reset_postgres(url)
    return f"sqlite+aiosqlite:///{tmp_path / 'test.sqlite3'}"


@pytest.fixture
def clock() -> FakeClock:
    # A Monday morning in Helsinki, outside quiet hours.
    return FakeClock(at("23.11.2026 10.00"))


@pytest.fixture
async def h(db_url: str, clock: FakeClock) -> AsyncIterator[Harness]:
    settings = load_settings(
        bot_token=TOKEN, database_url=db_url, coordinator_ids=str(COORDINATOR_ID), _env_file=None
    )
    tg = FakeTelegram(clock)  # strict: Telegram's limits on the test's clock
    app = build_application(settings, clock=clock, request=tg.request())
    errors = ErrorLog()
    logging.getLogger().addHandler(errors)
    try:
        async with app:
            await post_init(app)
            yield Harness(app, tg, clock)
            clock.release()  # a test that held the clock and failed must not hang the rest
            await app.bot_data["core"].outbox.idle()
            await leader_of(app).resign()
            await presence_of(app).end()
            await app.bot_data["core"].db.dispose()
    finally:
        logging.getLogger().removeHandler(errors)
    assert not errors.records, [r.getMessage() for r in errors.records]
