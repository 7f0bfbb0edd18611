"""The send budget's pacing on a hand-moved clock: the overall second, each chat's bucket,
replies before bulk sends, and a 429 holding a chat. No real sleeps: a FakeClock's sleep moves
its time, so `clock.slept` is how long a caller would have waited."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from telegram.error import RetryAfter

from bot.budget import SendBudget
from bot.clock import FakeClock

START = datetime(2026, 11, 23, 8, 0, tzinfo=UTC)


class SteppedClock(FakeClock):
    """A fake clock whose sleepers really wait until the test moves time past their wake-up,
    so several senders can be waiting at once."""

    def __init__(self) -> None:
        super().__init__(START)
        self.sleepers: list[tuple[float, asyncio.Future[None]]] = []

    async def sleep(self, seconds: float) -> None:
        wake = self.now().timestamp() + seconds
        future = asyncio.get_running_loop().create_future()
        self.sleepers.append((wake, future))
        await future

    async def step(self, seconds: float) -> None:
        self.advance(timedelta(seconds=seconds))
        now = self.now().timestamp()
        for wake, future in list(self.sleepers):
            if wake <= now + 1e-9:
                self.sleepers.remove((wake, future))
                future.set_result(None)
        for _ in range(10):
            await asyncio.sleep(0)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(START)


async def test_the_overall_second_holds_per_second_calls_and_slides(clock: FakeClock) -> None:
    budget = SendBudget(clock, per_second=25)
    for chat in range(25):
        await budget.wait(1000 + chat)
    assert clock.slept == 0
    await budget.wait(2000)  # the 26th in the same second waits for the first to leave it
    assert clock.slept == pytest.approx(1.0)
    clock.advance(timedelta(seconds=0.5))
    for chat in range(24):  # the window slid: the 25 of the first instant have left it
        await budget.wait(3000 + chat)
    assert clock.slept == pytest.approx(1.0)
    # 25 in the last second again (the 26th, half a second ago, and these 24): wait until
    # the oldest of them leaves the window, half a second from now.
    await budget.wait(4000)
    assert clock.slept == pytest.approx(1.5)


async def test_one_chat_gets_a_burst_then_one_message_a_second(clock: FakeClock) -> None:
    budget = SendBudget(clock, per_second=25, per_chat_seconds=1.0, chat_burst=3)
    for _ in range(3):
        await budget.wait(7)
    assert clock.slept == 0
    await budget.wait(8)  # another chat has its own bucket
    assert clock.slept == 0
    await budget.wait(7)
    assert clock.slept == pytest.approx(1.0)
    await budget.wait(7)
    assert clock.slept == pytest.approx(2.0)


async def test_edits_do_not_use_the_chats_bucket(clock: FakeClock) -> None:
    budget = SendBudget(clock, per_second=25, chat_burst=3)
    for _ in range(3):
        await budget.wait(7)
    for _ in range(5):
        await budget.wait(7, new_message=False)
    assert clock.slept == 0


async def test_a_429_holds_the_chat_for_the_time_telegram_asked(clock: FakeClock) -> None:
    budget = SendBudget(clock, per_second=25)
    budget.blocked(7, 6.0)
    await budget.wait(8)  # other chats go on
    assert clock.slept == 0
    await budget.wait(7, new_message=False)  # an edit to the held chat waits too
    assert clock.slept == pytest.approx(6.0)
    budget.blocked(7, 2.0)
    budget.blocked(7, 1.0)  # a shorter wait never shortens a longer one
    await budget.wait(7)
    assert clock.slept == pytest.approx(8.0)


async def test_a_waiting_reply_goes_before_waiting_bulk_sends() -> None:
    clock = SteppedClock()
    budget = SendBudget(clock, per_second=25)
    for chat in range(25):  # a broadcast has used this second up
        await budget.wait(1000 + chat, urgent=False)
    order: list[str] = []

    async def send(name: str, chat: int, urgent: bool) -> None:
        await budget.wait(chat, urgent=urgent)
        order.append(name)

    bulk = [asyncio.create_task(send(f"offer{i}", 2000 + i, False)) for i in range(3)]
    await asyncio.sleep(0)
    reply = asyncio.create_task(send("reply", 7, True))
    await asyncio.sleep(0)
    assert order == []  # the second is full: everyone waits
    await clock.step(1.0)
    await asyncio.gather(reply, *bulk)
    assert order[0] == "reply", order
    assert sorted(order[1:]) == ["offer0", "offer1", "offer2"]


class Api:
    """A Bot API endpoint answering 429 the first `refusals` times."""

    def __init__(self, refusals: int, retry_after: int = 6) -> None:
        self.refusals, self.retry_after, self.calls = refusals, retry_after, 0

    async def __call__(self) -> dict[str, Any]:
        self.calls += 1
        if self.calls <= self.refusals:
            raise RetryAfter(self.retry_after)
        return {"ok": True}


async def _through(budget: SendBudget, api: Api, endpoint: str, bulk: bool) -> Any:
    args = {"bulk": True} if bulk else None
    return await budget.process_request(api, (), {}, endpoint, {"chat_id": 7}, args)


async def test_a_429_on_a_reply_is_waited_out_and_sent_again(clock: FakeClock) -> None:
    budget = SendBudget(clock, per_second=25)
    api = Api(refusals=1)
    assert await _through(budget, api, "sendMessage", bulk=False) == {"ok": True}
    assert api.calls == 2
    assert clock.slept == pytest.approx(6.0)


async def test_a_429_on_a_bulk_send_is_raised_and_holds_the_chat(clock: FakeClock) -> None:
    budget = SendBudget(clock, per_second=25)
    api = Api(refusals=1)
    with pytest.raises(RetryAfter):
        await _through(budget, api, "sendMessage", bulk=True)
    assert api.calls == 1 and clock.slept == 0
    await budget.wait(7)  # the outbox's next try to this chat waits Telegram's time out
    assert clock.slept == pytest.approx(6.0)


async def test_a_reply_gives_up_after_max_retries(clock: FakeClock) -> None:
    budget = SendBudget(clock, per_second=25, max_retries=2)
    api = Api(refusals=10, retry_after=1)
    with pytest.raises(RetryAfter):
        await _through(budget, api, "sendMessage", bulk=False)
    assert api.calls == 3


async def test_calls_that_are_not_messages_pass_straight_through(clock: FakeClock) -> None:
    budget = SendBudget(clock, per_second=25)
    for chat in range(25):
        await budget.wait(1000 + chat)
    api = Api(refusals=0)
    for _ in range(5):  # the second is full, yet answering a button does not wait
        assert await _through(budget, api, "answerCallbackQuery", bulk=False) == {"ok": True}
    assert clock.slept == 0
    await budget.wait(2000)  # and they were not counted: only the 25 messages were
    assert clock.slept == pytest.approx(1.0)


class SlowApi:
    """A Bot API endpoint that takes `latency` seconds of the clock to answer."""

    def __init__(self, clock: FakeClock, latency: float) -> None:
        self.clock, self.latency, self.sent_at = clock, latency, list[float]()

    async def __call__(self) -> dict[str, Any]:
        self.sent_at.append(self.clock.slept)
        self.clock.advance(timedelta(seconds=self.latency))
        return {"ok": True}


async def test_a_call_holds_its_place_until_a_second_after_its_answer(clock: FakeClock) -> None:
    """Telegram counts a call when it arrives, somewhere between our send and its answer, so
    the budget counts it until a second after the answer: then no second as Telegram sees
    it holds more than `per_second`, however long the round trip."""
    budget = SendBudget(clock, per_second=2)
    api = SlowApi(clock, latency=0.3)
    for chat in (1, 2, 3):
        await budget.process_request(api, (), {}, "sendMessage", {"chat_id": chat}, None)
    # Sent at 0 and 0.3 (answered 0.3, 0.6): the third waits for 0.3 + 1, not 0 + 1.
    assert api.sent_at[2] == pytest.approx(1.3 - 0.6)


async def test_a_chats_bucket_refills_from_the_answer(clock: FakeClock) -> None:
    budget = SendBudget(clock, per_second=30, chat_burst=1)
    api = SlowApi(clock, latency=0.25)
    for _ in range(2):
        await budget.process_request(api, (), {}, "sendMessage", {"chat_id": 7}, None)
    assert clock.slept == pytest.approx(1.0)  # 0.25 answered, then one second from the answer
    assert budget.chat_ready_in(7) == pytest.approx(1.0)
    assert budget.chat_ready_in(8) == 0


async def test_calls_in_flight_hold_their_places_until_answered(clock: FakeClock) -> None:
    budget = SendBudget(clock, per_second=2)
    gate = asyncio.Event()

    async def slow() -> dict[str, Any]:
        await gate.wait()
        return {"ok": True}

    def send(chat: int, api: Any) -> asyncio.Task[Any]:
        return asyncio.create_task(
            budget.process_request(api, (), {}, "sendMessage", {"chat_id": chat}, None)
        )

    in_flight = [send(1, slow), send(2, slow)]
    await asyncio.sleep(0)
    third = send(3, Api(refusals=0))
    clock.advance(timedelta(seconds=5))  # time alone frees no place while they are in flight
    for _ in range(5):
        await asyncio.sleep(0)
    assert not third.done()
    gate.set()
    await asyncio.gather(*in_flight, third)
    assert clock.slept == pytest.approx(1.0)  # a second from their answers
