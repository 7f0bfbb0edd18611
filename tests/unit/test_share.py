"""Several instances share one send budget (bot/share.py): each sends its part of the rate,
a newcomer waits until the others have made room, and a gone instance's part is taken over
only a second after it is gone. On hand-moved clocks: no real sleeps."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest

from bot.budget import SendBudget
from bot.clock import FakeClock
from bot.share import JOIN_WAIT, PERIOD, WINDOW, BudgetShare
from tests.unit.test_budget import START, SteppedClock


class Clock(SteppedClock):
    """A stepped clock whose sleepers may be cancelled (an instance that dies)."""

    async def step(self, seconds: float) -> None:
        self.sleepers = [(wake, f) for wake, f in self.sleepers if not f.done()]
        await super().step(seconds)


class Census:
    """The live instances as the presence locks would show them."""

    def __init__(self, live: int = 1, shared: bool = True) -> None:
        self.live = live
        self.shared = shared
        self.broken = False

    async def count(self) -> int:
        if self.broken:
            raise ConnectionError("the database went away")
        return self.live


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(START)


async def test_a_part_of_the_rate_is_sent_in_any_whole_second(clock: FakeClock) -> None:
    budget = SendBudget(clock, per_second=30)
    budget.share(4)
    for chat in range(7):  # 30 // 4: the parts of four never add up to more than 30
        await budget.wait(1000 + chat)
    assert clock.slept == 0
    await budget.wait(2000)
    assert clock.slept == pytest.approx(1.0)
    budget.share(1)  # alone again: the whole rate
    for chat in range(22):
        await budget.wait(3000 + chat)
    assert clock.slept == pytest.approx(1.0)


async def test_a_lowered_part_counts_the_calls_already_in_the_second(clock: FakeClock) -> None:
    budget = SendBudget(clock, per_second=30)
    for chat in range(20):
        await budget.wait(1000 + chat)
    budget.share(2)  # 20 in this second already: more than the new part of 15
    await budget.wait(2000)
    assert clock.slept == pytest.approx(1.0)


async def test_a_paused_budget_sends_nothing_until_the_pause_is_over(clock: FakeClock) -> None:
    budget = SendBudget(clock, per_second=30)
    budget.pause(3.0)
    assert budget.paused
    await budget.wait(1000)  # a reply too: it waits, and is not refused
    assert clock.slept == pytest.approx(3.0)
    assert not budget.paused
    await budget.wait(1001)
    assert clock.slept == pytest.approx(3.0)


async def test_alone_nothing_changes_and_nothing_waits(clock: FakeClock) -> None:
    for census in (Census(shared=False), Census(live=1)):
        budget = SendBudget(clock, per_second=30)
        share = BudgetShare(budget, census, clock)
        await share.start()
        await share.step()
        assert (budget.capacity, budget.paused) == (30, False)


async def test_a_newcomer_waits_until_the_others_have_made_room(clock: FakeClock) -> None:
    budget = SendBudget(clock, per_second=30)
    await BudgetShare(budget, Census(live=2), clock).start()
    assert budget.capacity == 15
    await budget.wait(1000)
    assert clock.slept == pytest.approx(JOIN_WAIT)


async def test_more_instances_lower_the_part_at_once_fewer_raise_it_a_second_later(
    clock: FakeClock,
) -> None:
    census = Census(live=1)
    budget = SendBudget(clock, per_second=30)
    share = BudgetShare(budget, census, clock)
    await share.start()
    census.live = 3
    await share.step()
    assert budget.capacity == 10
    census.live = 2  # one is gone: its last second may still be in Telegram's count
    await share.step()
    assert budget.capacity == 10
    clock.advance(timedelta(seconds=PERIOD))
    await share.step()
    assert budget.capacity == 15
    census.broken = True  # a failed count changes nothing
    await share.step()
    assert budget.capacity == 15


async def test_a_failed_count_at_start_waits_as_a_newcomer(clock: FakeClock) -> None:
    census = Census(live=2)
    census.broken = True
    budget = SendBudget(clock, per_second=30)
    await BudgetShare(budget, census, clock).start()
    assert budget.paused


class Instance:
    """One instance sending as fast as its budget lets it, on the shared stepped clock."""

    def __init__(self, clock: Clock, census: Census, sent: list[float], base: int) -> None:
        self.budget = SendBudget(clock, per_second=30)
        self.share = BudgetShare(self.budget, census, clock)
        self.clock, self.sent, self.base = clock, sent, base
        self.task: asyncio.Task[None] | None = None

    async def run(self) -> None:
        for n in range(10_000):
            await self.budget.wait(self.base + n)  # a new chat each time: the rate alone
            self.sent.append(self.clock.now().timestamp())


def most_in_any_second(times: list[float]) -> int:
    times = sorted(times)
    return max(
        (sum(1 for u in times if t <= u < t + WINDOW) for t in times),
        default=0,
    )


async def test_two_instances_together_never_exceed_the_rate() -> None:
    clock = Clock()
    census = Census(live=1)
    sent: list[float] = []
    first = Instance(clock, census, sent, 10_000)
    await first.share.start()
    first.task = asyncio.create_task(first.run())
    second = Instance(clock, census, sent, 50_000)
    step, elapsed = 0.01, 0.0
    try:
        while elapsed < 9.0:
            await clock.step(step)
            elapsed += step
            tick = round(elapsed / step)
            if tick == 150:  # the second starts half-way between the first's counts
                census.live = 2
                await second.share.start()
                second.task = asyncio.create_task(second.run())
            if tick == 595:  # ... and dies just before a count: its lock is free at once
                assert second.task is not None
                second.task.cancel()
                census.live = 1
            if tick % 100 == 0:  # every instance counts once a second
                await first.share.step()
                if second.task is not None and not second.task.done():
                    await second.share.step()
    finally:
        for instance in (first, second):
            if instance.task is not None:
                instance.task.cancel()
        await asyncio.gather(
            *(i.task for i in (first, second) if i.task is not None), return_exceptions=True
        )
    assert most_in_any_second(sent) <= 30
    assert first.budget.capacity == 30  # alone again: the whole rate back
    start = START.timestamp()
    both = [t for t in sent if start + 5.0 <= t < start + 5.2 + WINDOW]
    assert both, "both instances sent while both lived"
    assert len([t for t in sent if t >= start + 8.0]) >= 29  # the survivor at full speed
