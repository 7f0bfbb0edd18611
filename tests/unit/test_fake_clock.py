"""The test clock (bot/clock.py): by default sleeping moves it; held, sleeping waits for the
test, and `drive` moves it exactly as far as the work it awaits sleeps."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest

from bot import clock as clock_module
from bot.clock import FakeClock

START = datetime(2026, 11, 23, 8, 0, tzinfo=UTC)


async def test_sleeping_moves_a_free_clock() -> None:
    clock = FakeClock(START)
    await clock.sleep(5)
    assert clock.now() == START + timedelta(seconds=5)
    assert clock.slept == 5


async def test_a_held_clock_wakes_sleepers_only_as_far_as_it_is_moved() -> None:
    clock = FakeClock(START)
    clock.hold()
    woke: list[str] = []

    async def sleeper(name: str, seconds: float) -> None:
        await clock.sleep(seconds)
        woke.append(name)

    tasks = [asyncio.create_task(sleeper("short", 1)), asyncio.create_task(sleeper("long", 3))]
    await asyncio.sleep(0)
    assert woke == [] and clock.now() == START  # nothing moves by itself
    clock.advance(timedelta(seconds=2))
    await asyncio.sleep(0)
    assert woke == ["short"]
    clock.release()  # the rest wake at their own end, as a free clock would have it
    await asyncio.gather(*tasks)
    assert woke == ["short", "long"] and clock.now() == START + timedelta(seconds=3)


async def test_drive_moves_the_clock_to_the_end_of_the_work_s_own_sleep_only() -> None:
    clock = FakeClock(START)
    clock.hold()
    background: list[datetime] = []

    async def outbox_like() -> None:
        while True:
            await clock.sleep(0.5)
            background.append(clock.now())

    async def reply() -> str:
        await clock.sleep(2)  # waits for room to send
        return "sent"

    bg = asyncio.create_task(outbox_like())
    assert await clock.drive(reply()) == "sent"
    assert clock.now() == START + timedelta(seconds=2)
    # The background woke while the reply waited, but moved no time itself.
    assert background and all(at <= clock.now() for at in background)
    bg.cancel()


async def test_drive_says_what_waits_instead_of_hanging(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(clock_module, "STALLED", 0.01)
    clock = FakeClock(START)
    clock.hold()
    never = asyncio.Event()
    with pytest.raises(RuntimeError, match="nothing moved"):
        await clock.drive(never.wait())
