"""Durable long polling: every update is stored before Telegram is told it arrived, and
handled from the store; a crash at any point loses nothing and repeats nothing.

Polling never dies silently. A 429 is waited out; a network error is retried with backoff; a
409 Conflict (another copy of the bot polls with the same token) is logged, retried with
backoff and reported to the coordinators once; any other error is logged at once with its
traceback and retried with backoff. What cannot be recovered (the token is refused, or the
same error keeps coming `GIVE_UP_AFTER` times in a row, e.g. a broken database) raises
`PollingFailed`, and `python -m bot` exits non-zero so the supervisor restarts it.

python-telegram-bot's own polling confirms a batch (by asking for the next offset) before the
batch is stored anywhere, so a crash can drop updates. Here the order is: fetch -> store (one
transaction) -> hand each update to its chat's lane -> fetch again, which confirms only what is
stored. The lanes handle different chats concurrently (at most `default_width`: 16 on SQLite,
8 on PostgreSQL) and one chat's updates in order; each handler marks its update done in the
same transaction as its changes (see handlers/base.py), so a handled update costs one write
transaction.

A stored payload says who sent it (Telegram id, name, username), when, and what they typed or
pressed, so it is kept only until the update is handled: marking it done drops the payload in
the same transaction. That holds for every update: those a handler took (the handler's own
commit), and those no handler took, refused ones and ones whose handler raised (after the
error handler has told the person, `handle_stored` marks them done; an update that failed is
not tried again, the person was told and can try again themselves, so no payload stays); only
for those does the poller write a second time.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import deque
from collections.abc import Awaitable, Callable
from contextvars import ContextVar
from typing import Any

from telegram import Update
from telegram.error import BadRequest, Conflict, InvalidToken, NetworkError, RetryAfter
from telegram.ext import Application

from bot.budget import seconds
from bot.core import Core
from storage.repo import InboxRepo

log = logging.getLogger(__name__)

MAX_BACKOFF = 60.0
GIVE_UP_AFTER = 10  # unexpected failures in a row (about 6 minutes of backoff)
CHATS_IN_FLIGHT = 16  # chats whose updates are handled at the same time (SQLite)
# On PostgreSQL 16 concurrent transactions cost the bot more CPU than they save (bench.load:
# 210 updates/s against 226 one chat at a time); 8 was the best width measured (241).
CHATS_IN_FLIGHT_PG = 8


def default_width(dialect: str) -> int:
    """How many chats are handled at the same time on this database."""
    return CHATS_IN_FLIGHT_PG if dialect == "postgresql" else CHATS_IN_FLIGHT


MAX_BACKLOG = 1_000  # stored updates waiting for their lane before polling pauses


class PollingFailed(Exception):
    """Polling cannot go on; the process should exit non-zero and be restarted."""


# The update a handler has marked done in its own committed transaction (handlers/base.py
# `handles`), seen by the lane that handed the update over: python-telegram-bot awaits a
# blocking handler in the caller's task, so the handler's context is the lane's.
_CLAIMED: ContextVar[int | None] = ContextVar("claimed_update", default=None)


def mark_claimed(update_id: int) -> None:
    """The handler's committed transaction marked `update_id` done: no second claim needed."""
    _CLAIMED.set(update_id)


def chat_id_of(update: Update) -> int | None:
    """The id the inbox keeps in `chat_key` (storage.repo.payload_chat reads the same)."""
    if update.effective_chat is not None:
        return int(update.effective_chat.id)
    if update.effective_user is not None:
        return int(update.effective_user.id)
    return None


def chat_key(update: Update) -> tuple[str, int]:
    """Updates with the same key are handled in order: one chat's (or, without a chat, one
    person's); anything else stands alone."""
    if update.effective_chat is not None:
        return ("chat", update.effective_chat.id)
    if update.effective_user is not None:
        return ("user", update.effective_user.id)
    return ("update", update.update_id)


class ChatLanes:
    """One queue per chat: different chats are handled concurrently, at most `width` at a
    time; one chat's updates one after another, in the order they came."""

    def __init__(self, handle: Callable[[Update], Awaitable[None]], width: int) -> None:
        self._handle = handle
        self._queues: dict[tuple[str, int], deque[Update]] = {}
        self._slots = asyncio.Semaphore(width)
        self._tasks: set[asyncio.Task[None]] = set()
        self._idle = asyncio.Event()
        self._idle.set()
        self.backlog = 0
        self._drained = asyncio.Event()
        self.failure: BaseException | None = None

    def submit(self, update: Update) -> None:
        key = chat_key(update)
        self.backlog += 1
        self._idle.clear()
        queue = self._queues.get(key)
        if queue is not None:
            queue.append(update)
            return
        self._queues[key] = deque([update])
        task = asyncio.get_running_loop().create_task(self._lane(key))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _lane(self, key: tuple[str, int]) -> None:
        queue = self._queues[key]
        async with self._slots:
            while queue:
                try:
                    await self._handle(queue[0])
                except Exception as exc:  # a database error: the run loop backs off
                    log.exception("handling update %d failed", queue[0].update_id)
                    self.failure = self.failure or exc
                queue.popleft()
                self.backlog -= 1
                self._drained.set()
        del self._queues[key]
        if not self._queues:
            self._idle.set()

    async def idle(self) -> None:
        """Wait until every submitted update has been handled."""
        await self._idle.wait()

    async def room(self, limit: int) -> None:
        """Wait until fewer than `limit` updates wait or run."""
        while self.backlog >= limit:
            self._drained.clear()
            await self._drained.wait()

    def take_failure(self) -> BaseException | None:
        failure, self.failure = self.failure, None
        return failure

    async def close(self) -> None:
        """Let the updates in hand finish (a stop or a failure of the run), even when the
        run is cancelled meanwhile: they are stored and half done, and a stop should not
        leave them for the next start. The cancellation is passed on afterwards."""
        cancelled = False
        while self._tasks:
            try:
                await asyncio.wait(list(self._tasks))
            except asyncio.CancelledError:
                cancelled = True
        if cancelled:
            raise asyncio.CancelledError


class DurablePoller:
    def __init__(
        self,
        app: Application[Any, Any, Any, Any, Any, Any],
        timeout: int = 30,
        width: int | None = None,
        *,
        shared: bool = False,
    ) -> None:
        self.app = app
        self.core: Core = app.bot_data["core"]
        self.timeout = timeout
        dialect = self.core.db.engine.dialect.name
        self.lanes = ChatLanes(self.handle, width or default_width(dialect))
        self._retry_stored = False
        # Updates may reach several instances (webhooks on PostgreSQL, `shared`): a chat's
        # older stored updates go first. Polling is one instance (Telegram refuses a second),
        # whose lanes alone keep each chat's order.
        self.ordered = shared and self.core.db.engine.dialect.name == "postgresql"

    async def handle(self, update: Update) -> None:
        """Handle one update, after any older update of the same chat that another instance
        stored and has not handled yet (PostgreSQL, where several instances may share the
        inbox): the chat's order holds across instances. Each is handled once whoever gets
        there first, because its handler's transaction claims its inbox row (handlers/base.py);
        the other finds it done and skips it."""
        if self.ordered and (key := chat_id_of(update)) is not None:
            async with self.core.db.unit_of_work() as s:
                older = [
                    (r.update_id, r.payload)
                    for r in await InboxRepo(s).older_of_chat(key, update.update_id)
                ]
            for update_id, payload in older:
                if payload is not None:
                    log.info("update %d of the same chat goes first", update_id)
                    await self.handle_one(Update.de_json(payload, self.app.bot))
        await self.handle_one(update)

    async def handle_one(self, update: Update) -> None:
        """Handle one update; mark it done if its handler did not (none took it, it was
        refused, or it failed and the person was told), in one more transaction only then."""
        _CLAIMED.set(None)
        started = time.perf_counter()
        await self.app.process_update(update)
        if _CLAIMED.get() != update.update_id:
            async with self.core.db.unit_of_work() as s:
                await InboxRepo(s).claim(update.update_id)
        if (metrics := self.app.bot_data.get("metrics")) is not None:
            metrics.handled(time.perf_counter() - started)

    async def handle_stored(self) -> int:
        """Handle every stored update not yet done, oldest first (after a crash too)."""
        handled = 0
        await self.lanes.idle()
        while True:
            async with self.core.db.unit_of_work() as s:
                rows = [(r.update_id, r.payload) for r in await InboxRepo(s).pending()]
            if not rows:
                return handled
            for update_id, payload in rows:
                if payload is None:  # cannot happen: a done row has no payload
                    async with self.core.db.unit_of_work() as s:
                        await InboxRepo(s).claim(update_id)
                else:
                    self.lanes.submit(Update.de_json(payload, self.app.bot))
                handled += 1
            await self.lanes.idle()
            if (failure := self.lanes.take_failure()) is not None:
                raise failure

    async def fetch(self, offset: int | None) -> int | None:
        """One long poll: store what came (and forget handled updates, in the same
        transaction), hand it to the chats' lanes, and return the next offset. Asking for
        that offset confirms the batch to Telegram, so it is asked only once all is stored."""
        updates: tuple[Update, ...] = await self.app.bot.get_updates(
            offset=offset, timeout=self.timeout, allowed_updates=Update.ALL_TYPES
        )
        if not updates:
            return offset
        async with self.core.db.unit_of_work() as s:
            inbox = InboxRepo(s)
            await inbox.store([(u.update_id, u.to_dict()) for u in updates])
            await inbox.prune_now_and_then(u.update_id for u in updates)
        for update in updates:
            self.lanes.submit(update)
        return int(max(u.update_id for u in updates)) + 1

    async def _room(self) -> None:
        """Before the next poll: hold it while too many updates wait (they are stored, so
        safe, but memory is not endless); re-raise what failed in a lane, for the backoff;
        and after a failure handle again what is still stored and not done."""
        await self.lanes.room(MAX_BACKLOG)
        if (failure := self.lanes.take_failure()) is not None:
            self._retry_stored = True
            await self.lanes.idle()
            raise failure
        if self._retry_stored:
            await self.handle_stored()
            self._retry_stored = False

    async def run(self, stop: asyncio.Event) -> None:
        """Poll until `stop` is set; raise PollingFailed when polling cannot go on. The
        updates in hand are finished either way."""
        try:
            await self._poll(stop)
        finally:
            await self.lanes.close()

    async def _poll(self, stop: asyncio.Event) -> None:
        await self.app.bot.delete_webhook()
        async with self.core.db.unit_of_work() as s:
            last = await InboxRepo(s).last_id()
        offset = last + 1 if last is not None else None
        await self.handle_stored()
        backoff = 1.0
        failures = 0
        conflict_reported = False
        while not stop.is_set():
            try:
                await self._room()
                offset = await self.fetch(offset)
                backoff, failures = 1.0, 0
                continue
            except RetryAfter as exc:
                await self.core.clock.sleep(seconds(exc.retry_after) or 1.0)
                continue
            except InvalidToken as exc:
                log.critical("Telegram refuses the bot's token; polling stops")
                raise PollingFailed("the token was refused") from exc
            except Conflict:
                log.warning(
                    "another copy of the bot is polling with this token; retrying in %.0f s",
                    backoff,
                )
                if not conflict_reported:
                    conflict_reported = await self._report_conflict()
            except Exception as exc:
                if isinstance(exc, NetworkError) and not isinstance(exc, BadRequest):
                    log.warning(
                        "polling failed (%s); retrying in %.0f s", type(exc).__name__, backoff
                    )
                else:
                    failures += 1
                    log.exception(
                        "polling failed (%s), %d time(s) in a row; retrying in %.0f s",
                        type(exc).__name__,
                        failures,
                        backoff,
                    )
                    if failures >= GIVE_UP_AFTER:
                        log.critical("polling keeps failing; stopping so that it is restarted")
                        raise PollingFailed(type(exc).__name__) from exc
            await self.core.clock.sleep(backoff)
            backoff = min(backoff * 2, MAX_BACKOFF)

    async def _report_conflict(self) -> bool:
        """Tell the coordinators once what a Conflict means; true when they were told."""
        try:
            async with self.core.db.unit_of_work() as s:
                await self.core.notifier.coordinators(s, "coord.another_copy")
            self.core.outbox.kick()
        except Exception:
            log.exception("could not tell the coordinators about the other copy")
            return False
        return True
