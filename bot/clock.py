"""Time as a dependency, so tests control it instead of sleeping."""

from __future__ import annotations

import asyncio
import io
from collections.abc import Awaitable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol, TypeVar

T = TypeVar("T")
STALLED = 60.0  # real seconds `FakeClock.drive` waits for work that neither ends nor sleeps


class Clock(Protocol):
    def now(self) -> datetime:
        """The current moment, timezone-aware UTC."""
        ...

    async def sleep(self, seconds: float) -> None:
        """Wait; a fake clock just moves on."""
        ...


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(UTC)

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(seconds)


@dataclass
class _Sleeper:
    until: datetime
    woken: asyncio.Future[None]
    task: asyncio.Task[Any] | None


class FakeClock:
    """A clock that moves only when told to.

    By default `sleep` moves the clock itself, so nothing waits. After `hold()`, `sleep` waits
    until the test moves the clock past its end (`advance`, `set`, or `drive` for the work it is
    waiting on): background work such as the outbox then goes at the pace the test sets, not
    as fast as the machine runs it.
    """

    def __init__(self, start: datetime) -> None:
        if start.tzinfo is None:
            raise ValueError("FakeClock needs an aware datetime")
        self._now = start.astimezone(UTC)
        self.slept = 0.0
        self._held = False
        self._sleepers: list[_Sleeper] = []
        self._slept_again = asyncio.Event()

    def now(self) -> datetime:
        return self._now

    def advance(self, delta: timedelta) -> None:
        self._now += delta
        self._wake()

    def set(self, moment: datetime) -> None:
        self._now = moment.astimezone(UTC)
        self._wake()

    async def sleep(self, seconds: float) -> None:
        self.slept += seconds
        if not self._held:
            self._now += timedelta(seconds=seconds)
            return
        sleeper = _Sleeper(
            self._now + timedelta(seconds=seconds),
            asyncio.get_running_loop().create_future(),
            asyncio.current_task(),
        )
        self._sleepers.append(sleeper)
        self._slept_again.set()
        self._wake()
        try:
            await sleeper.woken
        finally:
            if sleeper in self._sleepers:
                self._sleepers.remove(sleeper)

    def hold(self) -> None:
        """From now on, sleeping waits for the test to move the clock."""
        self._held = True

    def release(self) -> None:
        """Back to a clock that moves when slept on: whoever sleeps now wakes at its end."""
        self._held = False
        self._now = max([self._now, *(s.until for s in self._sleepers)])
        self._wake()

    async def drive(self, work: Awaitable[T]) -> T:
        """Await `work` on a held clock: whenever it sleeps, the clock moves to the end of that
        sleep, waking whatever else sleeps until then, as time passes while someone waits.
        On a clock that is not held, simply await it."""
        if not self._held:
            return await work
        task = asyncio.ensure_future(work)
        while not task.done():
            own = [s.until for s in self._sleepers if s.task is task and not s.woken.done()]
            if own:
                self._now = max(self._now, min(own))
                self._wake()
                await asyncio.sleep(0)
                continue
            self._slept_again.clear()
            again = asyncio.ensure_future(self._slept_again.wait())
            done, _ = await asyncio.wait(
                {task, again}, timeout=STALLED, return_when=asyncio.FIRST_COMPLETED
            )
            again.cancel()
            if not done:  # waiting on something that waits on the clock: say what, not hang
                task.cancel()
                raise RuntimeError(f"held clock: nothing moved for {STALLED} s\n{_stacks()}")
        return task.result()

    def _wake(self) -> None:
        for sleeper in self._sleepers:
            if sleeper.until <= self._now and not sleeper.woken.done():
                sleeper.woken.set_result(None)


def _stacks() -> str:
    out = io.StringIO()
    for task in asyncio.all_tasks():
        task.print_stack(file=out)
    return out.getvalue()
