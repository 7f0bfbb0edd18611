"""Polling never dies silently: a Conflict is retried and reported once, what cannot be
recovered ends the run with a failure exit code, and an update stored twice is not an error.
Chats are handled side by side, one chat's updates in order."""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest
from sqlalchemy import select, text

from bot.__main__ import serve
from bot.app import build_application, post_init
from bot.clock import FakeClock
from bot.polling import DurablePoller
from bot.sandbox.fakebot import FakeRequest, FakeTelegram, Fault
from bot.settings import load_settings
from storage.models import Inbox
from storage.repo import InboxRepo
from tests.harness import TOKEN, Harness, at

COORD = 100
CONFLICT = (
    "Conflict: terminated by other getUpdates request; "
    "make sure that only one bot instance is running"
)


class PolledTelegram(FakeTelegram):
    """Hands out queued updates to getUpdates; stops the bot after `polls` polls."""

    def __init__(self, clock: FakeClock, stop: asyncio.Event, polls: int) -> None:
        super().__init__(clock)
        self.stop, self.polls = stop, polls
        self.updates: list[dict[str, Any]] = []

    def api_getUpdates(self, params: dict[str, Any]) -> Any:
        self.polls -= 1
        if self.polls <= 0:
            self.stop.set()
        offset = int(params.get("offset") or 0)
        return [u for u in self.updates if u["update_id"] >= offset]


class Records(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.records: list[logging.LogRecord] = []
        self.on_record: Callable[[logging.LogRecord], object] = lambda _: None

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)
        self.on_record(record)


@pytest.fixture
def records() -> AsyncIterator[Records]:
    handler = Records()
    logging.getLogger().addHandler(handler)
    yield handler  # type: ignore[misc]
    logging.getLogger().removeHandler(handler)


def setup(db_url: str, polls: int) -> tuple[Any, PolledTelegram, FakeClock, asyncio.Event]:
    clock = FakeClock(at("23.11.2026 10.00"))
    stop = asyncio.Event()
    tg = PolledTelegram(clock, stop, polls)
    settings = load_settings(
        bot_token=TOKEN, database_url=db_url, coordinator_ids=str(COORD), _env_file=None
    )
    return build_application(settings, clock=clock, request=tg.request()), tg, clock, stop


def help_update(update_id: int, chat: int = COORD, command: str = "/help") -> dict[str, Any]:
    return {
        "update_id": update_id,
        "message": {
            "message_id": update_id,
            "date": 1800000000,
            "chat": {"id": chat, "type": "private", "first_name": "K"},
            "from": {"id": chat, "is_bot": False, "first_name": "K", "language_code": "fi"},
            "text": command,
            "entities": [{"type": "bot_command", "offset": 0, "length": len(command)}],
        },
    }


class GatedRequest(FakeRequest):
    """Holds every message to one chat until released, as a slow network would."""

    def __init__(self, server: FakeTelegram, chat: int) -> None:
        super().__init__(server)
        self.chat = chat
        self.waiting = asyncio.Event()
        self.release = asyncio.Event()

    async def do_request(
        self, url: str, method: str, request_data: Any = None, *args: Any, **kw: Any
    ) -> tuple[int, bytes]:
        params = request_data.parameters if request_data is not None else {}
        if url.endswith("/sendMessage") and int(params.get("chat_id", 0)) == self.chat:
            self.waiting.set()
            await self.release.wait()
        return await super().do_request(url, method, request_data, *args, **kw)


async def test_chats_are_handled_side_by_side_and_one_chat_in_order(db_url: str) -> None:
    """A reply that hangs holds up its own chat's next update, and nobody else's."""
    clock = FakeClock(at("23.11.2026 10.00"))
    tg = PolledTelegram(clock, asyncio.Event(), polls=1000)
    settings = load_settings(
        bot_token=TOKEN, database_url=db_url, coordinator_ids=str(COORD), _env_file=None
    )
    gate = GatedRequest(tg, COORD)
    app = build_application(settings, clock=clock, request=gate)
    other = 555
    tg.updates += [
        help_update(1, COORD),
        help_update(2, other),
        help_update(3, COORD, "/pending"),
        help_update(4, other, "/start"),
    ]
    async with app:
        await post_init(app)
        poller = DurablePoller(app)
        assert await poller.fetch(None) == 5  # stored and handed over; not yet handled
        # While the coordinator's first reply hangs, the other chat's two updates are done
        # (only the coordinator's two are left), in their order.
        await asyncio.wait_for(poller.lanes.room(3), 10)
        assert gate.waiting.is_set() and poller.lanes.backlog == 2
        texts = app.bot_data["core"].texts
        assert [m.text for m in tg.chat(other)] == [
            texts.get("fi", "help.stranger"),
            texts.get("fi", "start.stranger"),
        ]
        assert tg.chat(COORD) == []
        async with app.bot_data["core"].db.unit_of_work() as s:
            pending = [r.update_id for r in await InboxRepo(s).pending()]
        assert pending == [3]  # the coordinator's second update waits for the first
        gate.release.set()
        await asyncio.wait_for(poller.lanes.idle(), 10)
        coordinator = [m.text for m in tg.chat(COORD)]
        assert coordinator[0] == texts.get("fi", "help.coordinator")
        assert len(coordinator) >= 2  # then /pending's answer
        async with app.bot_data["core"].db.unit_of_work() as s:
            assert list(await InboxRepo(s).pending()) == []
        await app.bot_data["core"].db.dispose()


async def test_a_conflict_is_retried_and_reported_once(db_url: str, records: Records) -> None:
    app, tg, clock, stop = setup(db_url, polls=3)
    tg.faults.append(Fault("getUpdates", None, 409, CONFLICT, times=4))
    tg.updates.append(help_update(1))
    assert await serve(app, stop) == 0
    texts = [m.text for m in tg.chat(COORD)]
    another = app.bot_data["core"].texts.get("fi", "coord.another_copy")
    assert texts.count(another) == 1  # told once, not at every retry
    assert app.bot_data["core"].texts.get("fi", "help.coordinator") in texts  # still listening
    assert clock.slept >= 1 + 2 + 4 + 8  # backing off, not spinning
    conflicts = [r for r in records.records if "another copy" in r.getMessage()]
    assert len(conflicts) == 4  # each logged at once


async def test_a_stop_while_polling_backs_off_ends_the_run_at_once(
    db_url: str, records: Records
) -> None:
    """SIGTERM while Telegram is unreachable and polling waits between tries (up to a minute):
    the bot stops at once, without waiting the backoff out, and exits 0."""
    app, tg, clock, stop = setup(db_url, polls=1000)
    tg.faults.append(Fault("getUpdates", None, 0, "timed out", times=1000))
    clock.hold()  # a backoff now waits until the test moves the clock: it never does
    started = clock.now()
    backing_off = asyncio.Event()
    records.on_record = lambda r: r.getMessage().startswith("polling failed") and backing_off.set()
    run = asyncio.create_task(serve(app, stop))
    await asyncio.wait_for(backing_off.wait(), 30)
    stop.set()
    done, _ = await asyncio.wait({run}, timeout=10)  # a guard against hanging, not a timing
    clock.release()
    assert run in done, "the stop waited for the backoff"
    assert run.result() == 0
    assert clock.now() == started  # no backoff was waited out


async def test_a_refused_token_ends_the_run_with_a_failure(db_url: str, records: Records) -> None:
    app, tg, _, stop = setup(db_url, polls=100)
    tg.faults.append(Fault("getUpdates", None, 401, "Unauthorized", times=1))
    assert await serve(app, stop) == 1
    assert any(r.levelno == logging.CRITICAL for r in records.records)


@pytest.mark.skipif(
    bool(os.environ.get("TEST_DATABASE_URL")), reason="breaks writes with a SQLite trigger"
)
async def test_a_database_that_keeps_failing_ends_the_run_with_a_failure(
    db_url: str, records: Records
) -> None:
    app, tg, clock, stop = setup(db_url, polls=1000)
    tg.updates.append(help_update(1))
    core = app.bot_data["core"]
    await core.db.migrate()
    async with core.db.unit_of_work() as s:  # every write to the inbox fails, as on a full disk
        await s.execute(
            text(
                "CREATE TRIGGER full BEFORE INSERT ON inbox "
                "BEGIN SELECT RAISE(ABORT, 'database or disk is full'); END"
            )
        )
    assert await serve(app, stop) == 1
    failures = [r for r in records.records if r.getMessage().startswith("polling failed")]
    assert len(failures) == 10 and all(r.exc_info for r in failures)  # each logged at once
    assert clock.slept > 60  # with backoff in between
    assert not stop.is_set()


async def test_an_update_stored_twice_is_skipped(h: Harness) -> None:
    async with h.core.db.unit_of_work() as s:
        assert await InboxRepo(s).store([(7, {"update_id": 7}), (8, {"update_id": 8})]) == 2
    async with h.core.db.unit_of_work() as s:  # Telegram, or a second poller, delivers again
        assert await InboxRepo(s).store([(8, {"update_id": 8}), (9, {"update_id": 9})]) == 1
        assert await InboxRepo(s).last_id() == 9


async def test_handled_updates_are_forgotten_about_every_64_and_keep_no_content(
    db_url: str,
) -> None:
    """The inbox forgets handled updates when a batch holds an id divisible by 64, keeping
    the newest (the offset after a restart); until then a handled row holds its id only."""
    app, tg, _clock, _stop = setup(db_url, polls=1000)
    async with app:
        await post_init(app)
        poller = DurablePoller(app)
        core = app.bot_data["core"]

        async def rows() -> list[tuple[int, bool, object]]:
            async with core.db.unit_of_work() as s:
                found = await s.scalars(select(Inbox).order_by(Inbox.update_id))
                return [(r.update_id, r.done, r.payload) for r in found]

        offset = None
        for first in (60, 62):  # 60-61, then 62-63: no multiple of 64 yet
            tg.updates = [help_update(first + i, 500 + i) for i in range(2)]
            offset = await poller.fetch(offset)
            await poller.lanes.idle()
        assert await rows() == [(i, True, None) for i in range(60, 64)]
        tg.updates = [help_update(64, 600), help_update(65, 601)]
        await poller.fetch(offset)
        await poller.lanes.idle()
        # Pruned in the transaction that stored 64 and 65: every handled row below the
        # newest id went; the batch itself, handled since, stays until the next pruning.
        assert await rows() == [(64, True, None), (65, True, None)]
        await core.db.dispose()
