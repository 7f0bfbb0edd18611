"""Delivery under Telegram's limits: the fake refuses what Telegram would refuse, replies share
one send budget with the outbox and go first, and a 429 on a reply is waited out."""

from __future__ import annotations

from collections.abc import Awaitable, Sequence
from dataclasses import dataclass, field
from datetime import timedelta

import pytest
from sqlalchemy import event, func, select
from telegram import Bot
from telegram.error import BadRequest, RetryAfter

from bot.clock import FakeClock
from bot.messages import Keyboard, Undelivered
from bot.outbox import LATELY, MAX_ATTEMPTS, OutboxSender
from bot.sandbox.fakebot import FakeTelegram, Fault, Sent
from storage.models import Outbox, OutboxStatus, Role, User
from tests import flows
from tests.harness import TOKEN, Harness, Person, at


def _send(tg: FakeTelegram, chat: int, text: str = "hei", **extra: object) -> int:
    status, _ = tg.handle("sendMessage", {"chat_id": chat, "text": text, **extra})
    return status


def test_the_fake_keeps_telegrams_per_chat_and_overall_limits() -> None:
    clock = FakeClock(at("23.11.2026 10.00"))
    tg = FakeTelegram(clock)
    # One chat: a burst of three, then about one a second.
    assert [_send(tg, 1) for _ in range(4)] == [200, 200, 200, 429]
    status, body = tg.handle("sendMessage", {"chat_id": 1, "text": "hei"})
    assert status == 429 and body["parameters"]["retry_after"] == 1
    clock.advance(timedelta(seconds=1))
    assert [_send(tg, 1), _send(tg, 1)] == [200, 429]
    # Over all chats: 30 in any sliding second (one more was sent above at this instant).
    assert [_send(tg, 100 + i) for i in range(29)] == [200] * 29
    assert _send(tg, 200) == 429
    clock.advance(timedelta(seconds=0.5))
    assert _send(tg, 201) == 429  # the window slides; it does not reset on the second
    clock.advance(timedelta(seconds=0.5))
    assert _send(tg, 202) == 200
    assert len(tg.refused) == 5


def test_the_fake_refuses_what_is_too_long_like_telegram() -> None:
    tg = FakeTelegram(FakeClock(at("23.11.2026 10.00")))
    assert _send(tg, 1, "x" * 4096) == 200
    assert _send(tg, 2, "x" * 4097) == 400
    assert _send(tg, 3, " ") == 400
    button = {"inline_keyboard": [[{"text": "ok", "callback_data": "ä" * 32}]]}
    assert _send(tg, 4, reply_markup=button) == 200  # 64 bytes
    button["inline_keyboard"][0][0]["callback_data"] = "ä" * 32 + "a"
    assert _send(tg, 5, reply_markup=button) == 400  # 65 bytes
    status, _ = tg.handle("sendDocument", {"chat_id": 6, "caption": "c" * 1025, "_file": None})
    assert status == 400


async def test_a_bot_that_sends_too_fast_fails_as_in_production() -> None:
    """Without the send budget, the fourth message at once to one chat is refused."""
    tg = FakeTelegram(FakeClock(at("23.11.2026 10.00")))
    bot = Bot(TOKEN, request=tg.request())
    async with bot:
        for _ in range(3):
            await bot.send_message(1, "hei")
        try:
            await bot.send_message(1, "hei")
        except RetryAfter as exc:
            assert exc.retry_after in (1, timedelta(seconds=1))
        else:
            raise AssertionError("the fake let a fourth message through at once")
        try:
            await bot.send_message(2, "x" * 4097)
        except BadRequest as exc:
            assert "too long" in exc.message
        else:
            raise AssertionError("the fake took a text over 4,096 characters")


@dataclass
class Tapper(Person):
    """Someone who answers every `pace` seconds, and notes how long each reply took (on the
    clock: the time the bot waited for room to send it) and how many offers were then still
    waiting their turn."""

    pace: float = 1.0
    waits: list[tuple[float, int]] = field(default_factory=list)

    async def _timed(self, act: Awaitable[list[Sent]]) -> list[Sent]:
        start = self.h.clock.now()
        replies = await act
        self.waits.append(((self.h.clock.now() - start).total_seconds(), await pending(self.h)))
        return replies

    async def send(self, text: str) -> list[Sent]:
        self.h.clock.advance(timedelta(seconds=self.pace))
        return await self._timed(super().send(text))

    async def press(self, label: str, message: Sent | None = None) -> list[Sent]:
        self.h.clock.advance(timedelta(seconds=self.pace))
        return await self._timed(super().press(label, message))


async def queue_broadcast(h: Harness, n: int) -> None:
    """n offers-like pushes to n experts in the outbox, as a broadcast writes them."""
    async with h.core.db.unit_of_work() as s:
        for i in range(n):
            expert = User(telegram_id=50_000 + i, role=Role.EXPERT, language="fi")
            await h.core.notifier.push_text(
                s,
                expert,
                f"Uusi keikka {i}",
                buttons=Keyboard.of([[("Otan", f"of:a:{i}")]]),
            )
    h.core.outbox.kick()


async def pending(h: Harness) -> int:
    async with h.core.db.unit_of_work() as s:
        count = await s.scalar(
            select(func.count()).select_from(Outbox).where(Outbox.status == OutboxStatus.PENDING)
        )
    return int(count or 0)


@pytest.mark.parametrize("pace", [1.0, 0.3])
async def test_replies_go_first_while_a_broadcast_goes_out(h: Harness, pace: float) -> None:
    nurse_ = await flows.register_orderer(h, 201)
    nurse = Tapper(h, nurse_.id, nurse_.name, nurse_.lang, pace)
    coord = flows.coordinator(h)
    before = len(coord.inbox)
    # The nurse goes on while the outbox is busy, and the outbox goes only as fast as the
    # clock the nurse's pace moves: how far it gets does not depend on the machine.
    h.settle = False
    h.clock.hold()
    await queue_broadcast(h, 400)
    await flows.fill_order(nurse)
    await nurse.press(nurse.t("btn.send"))
    received = nurse.t("order.received", title="\0").split("\0")[0]
    assert nurse.last.text.startswith(received), nurse.last.text
    # Every reply of the form came within two seconds (a chat's own limit of about one a
    # second, then at most one turn of the overall second), many of them while offers were
    # still waiting their turn: replies did not queue behind the broadcast, which takes over
    # 13 seconds at 30 a second.
    assert max(wait for wait, _ in nurse.waits) <= 2.0, nurse.waits
    assert sum(1 for _, left in nurse.waits if left > 0) >= 5, nurse.waits
    h.clock.release()
    h.settle = True
    await h.core.outbox.idle()
    await h.core.outbox.flush()
    assert await pending(h) == 0
    assert all(len(h.tg.chat(50_000 + i)) == 1 for i in range(400))
    assert h.tg.refused == []  # the budget kept under Telegram's limits: not one 429
    alert = coord.t("coord.error_alert", kind="\0").split("\0")[0]
    assert not any(m.text.startswith(alert) for m in coord.inbox[before:])
    assert not any(m.text == nurse.t("common.error") for m in nurse.inbox)


async def test_a_429_on_a_reply_is_waited_out_and_the_reply_arrives(h: Harness) -> None:
    nurse = await flows.register_orderer(h, 201)
    h.tg.faults.append(
        Fault("sendMessage", nurse.id, 429, "Too Many Requests: retry after 6", retry_after=6)
    )
    slept = h.clock.slept
    replies = await nurse.send("/help")
    assert [m.text for m in replies] == [nurse.t("help.orderer")]
    assert h.clock.slept - slept >= 6
    assert not [f for f in h.tg.faults if f.times]  # the injected 429 really happened


async def test_the_outbox_reports_what_cannot_arrive_through_its_one_event(h: Harness) -> None:
    """A person who blocked the bot is reported at once; a message Telegram keeps failing
    (5xx) is retried, rescheduled, and reported when the sender gives up on it."""
    events: list[tuple[int, str | None, Undelivered]] = []

    async def record(chat_id: int, tag: str | None, why: Undelivered) -> None:
        events.append((chat_id, tag, why))

    sender = OutboxSender(h.core.db, h.core.transport, h.clock, h.core.outbox.limiter, record)
    blocked, failing = 60_001, 60_002
    async with h.core.db.unit_of_work() as s:
        for chat in (blocked, failing):
            person = User(telegram_id=chat, role=Role.EXPERT, language="fi")
            await h.core.notifier.push_text(s, person, "Uusi keikka", tag=f"offer:{chat}")
    h.tg.faults.append(Fault("sendMessage", blocked, 403, "Forbidden: bot was blocked by the user"))
    h.tg.faults.append(Fault("sendMessage", failing, 502, "Bad Gateway", times=10_000))
    await sender.flush()
    assert events == [(blocked, f"offer:{blocked}", Undelivered.BLOCKED)]
    for _ in range(MAX_ATTEMPTS):
        h.clock.advance(timedelta(hours=1))  # past each rescheduled try
        await sender.flush()
    assert events[1:] == [(failing, f"offer:{failing}", Undelivered.GAVE_UP)]
    assert h.tg.chat(blocked) == h.tg.chat(failing) == []
    async with h.core.db.unit_of_work() as s:
        statuses = (await s.scalars(select(Outbox.status).order_by(Outbox.id))).all()
    assert statuses[-2:] == [OutboxStatus.FAILED, OutboxStatus.FAILED]


async def test_a_burst_to_one_coordinator_never_slows_the_offers_to_experts(h: Harness) -> None:
    """300 "gig filled" alerts to one coordinator, queued before a broadcast of 300 offers: the
    offers go out at the budget's full pace, the coordinator's chat gets what they leave over
    (one message every `LATELY` seconds while they wait, then its own pace), and each chat's
    messages arrive in the order they were written."""
    coord = flows.coordinator(h)
    before = len(coord.inbox)
    arrived: dict[int, list[float]] = {}
    serve = h.tg.handle

    def timed(method: str, params: dict[str, object]) -> tuple[int, dict[str, object]]:
        status, body = serve(method, params)
        if method == "sendMessage" and status == 200:
            chat = int(str(params["chat_id"]))
            arrived.setdefault(chat, []).append(h.clock.now().timestamp())
        return status, body

    h.tg.handle = timed  # type: ignore[method-assign]
    start = h.clock.now().timestamp()
    async with h.core.db.unit_of_work() as s:
        chief = User(telegram_id=coord.id, role=Role.COORDINATOR, language="fi")
        for i in range(300):
            await h.core.notifier.push_text(s, chief, f"Keikka {i} on täynnä")
    await queue_broadcast(h, 300)
    await h.core.outbox.idle()

    offers = [t - start for i in range(300) for t in arrived[50_000 + i]]
    assert len(offers) == 300
    # While offers wait, the coordinator's chat (sent to lately) gets one message every
    # LATELY seconds: its first, and one more after LATELY.
    last = max(offers)
    by_then = [t - start for t in arrived[coord.id] if t - start < last]
    assert 1 <= len(by_then) <= 1 + int(last / LATELY), (len(by_then), last)
    # So the offers go at the budget's 30 a second, less those few places. Without per-chat
    # fairness the first offer would wait behind the 300 alerts, about 300 seconds.
    assert last <= (300 + len(by_then)) / 30, last
    assert min(offers) < 1.0
    # Then the coordinator's chat has the room: about one a second, as its bucket allows.
    after = [t - start for t in arrived[coord.id] if t - start >= last]
    assert len(after) == 300 - len(by_then)
    assert after[-1] - after[0] <= len(after), (after[0], after[-1])
    alerts = [m.text for m in coord.inbox[before:]]
    assert alerts == [f"Keikka {i} on täynnä" for i in range(300)]  # all, in order
    assert h.tg.refused == []  # not one 429


async def test_a_broadcast_goes_out_in_batches_at_about_one_commit_a_second(h: Harness) -> None:
    """300 offers: the outbox marks up to 30 rows (one per chat) in one commit and sends them
    together, writing their outcomes with the next batch's marks: 11 commits or so, not the
    600 of one row at a time, at the budget's pace and without a 429."""
    commits = 0

    def count(_conn: object) -> None:
        nonlocal commits
        commits += 1

    batches: list[list[int]] = []

    def note(at: str, rows: Sequence[Outbox]) -> None:
        if at == "marked":
            batches.append([r.chat_id for r in rows])

    async with h.core.db.unit_of_work() as s:
        for i in range(300):
            expert = User(telegram_id=50_000 + i, role=Role.EXPERT, language="fi")
            await h.core.notifier.push_text(s, expert, f"Uusi keikka {i}")
    engine = h.core.db.engine.sync_engine
    event.listen(engine, "commit", count)
    h.core.outbox.checkpoint = note
    start = h.clock.now()
    try:
        assert await h.core.outbox.flush() == 300
    finally:
        event.remove(engine, "commit", count)
    assert all(len(h.tg.chat(50_000 + i)) == 1 for i in range(300))
    assert [len(b) for b in batches] == [30] * 10
    assert all(len(set(b)) == len(b) for b in batches)
    assert commits <= 300 // 30 + 2, commits
    assert (h.clock.now() - start).total_seconds() <= 300 / 30
    assert h.tg.refused == []
