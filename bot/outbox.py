"""Sends what the outbox holds, after the transaction that wrote it has committed.

One flush at a time, in order, through a rate limiter that keeps under Telegram's limits.
A 429 is waited out and retried, a network error retried with backoff, and a person who has
blocked the bot is marked unreachable (the dispatch engine then skips them and tells the
coordinators).
"""

from __future__ import annotations

import asyncio
import base64
import logging
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any

from telegram import Bot, InlineKeyboardButton, InlineKeyboardMarkup
from telegram.error import BadRequest, Forbidden, NetworkError, RetryAfter, TelegramError

from bot.clock import Clock
from storage.db import Database
from storage.models import Outbox, OutboxStatus
from storage.repo import OutboxRepo

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 8
IN_FLUSH_RETRIES = 3
BATCH = 200

Unreachable = Callable[[int, str | None], Awaitable[None]]


def _seconds(value: float | timedelta) -> float:
    return value.total_seconds() if isinstance(value, timedelta) else float(value)


def markup(buttons: list[Any] | None) -> InlineKeyboardMarkup | None:
    if not buttons:
        return None
    return InlineKeyboardMarkup(
        [
            [InlineKeyboardButton(b["text"], callback_data=b["callback_data"]) for b in row]
            for row in buttons
        ]
    )


class RateLimiter:
    """At most `per_second` messages overall, and new messages to one chat a second apart."""

    def __init__(self, clock: Clock, per_second: float, per_chat_seconds: float = 1.0) -> None:
        self.clock = clock
        self.interval = 1.0 / per_second
        self.per_chat = per_chat_seconds
        self.next_any = 0.0
        self.next_chat: dict[int, float] = {}

    async def wait(self, chat_id: int, new_message: bool) -> None:
        now = self.clock.now().timestamp()
        ready = max(self.next_any, self.next_chat.get(chat_id, 0.0) if new_message else 0.0)
        if ready > now:
            await self.clock.sleep(ready - now)
            # Sleeping can overshoot; space the next call from when this one really goes.
            now = max(ready, self.clock.now().timestamp())
        self.next_any = now + self.interval
        if new_message:
            self.next_chat[chat_id] = now + self.per_chat
            if len(self.next_chat) > 10_000:
                self.next_chat = {c: t for c, t in self.next_chat.items() if t > now}


class _Stop(Exception):
    """Telegram keeps refusing: leave the rest for the next flush."""


class OutboxSender:
    def __init__(self, db: Database, bot: Bot, clock: Clock, per_second: float = 25.0) -> None:
        self.db = db
        self.bot = bot
        self.clock = clock
        self.limiter = RateLimiter(clock, per_second)
        self.on_unreachable: Unreachable | None = None
        # Called when a message could not be delivered after every retry (5xx, network).
        self.on_undeliverable: Unreachable | None = None
        self._lock = asyncio.Lock()
        self._task: asyncio.Task[None] | None = None
        self._again = False

    def kick(self) -> None:
        """Deliver in the background what a handler just queued: the person who tapped gets
        their answer at once, while pushes to others keep to the rate limits."""
        if self._task is None or self._task.done():
            self._task = asyncio.get_running_loop().create_task(self._drain())
        else:
            self._again = True

    async def _drain(self) -> None:
        while True:
            self._again = False
            try:
                await self.flush()
            except Exception:  # the periodic job retries whatever is left
                log.exception("background outbox flush failed")
                return
            if not self._again:
                return

    async def idle(self) -> None:
        """Wait until background delivery has finished (tests, demo, shutdown)."""
        while self._task is not None and not self._task.done():
            await asyncio.shield(self._task)

    async def flush(self) -> int:
        """Send everything due now; returns how many rows were delivered."""
        async with self._lock:
            delivered = 0
            while True:
                async with self.db.unit_of_work() as s:
                    rows = list(await OutboxRepo(s).due(self.clock.now(), BATCH))
                if not rows:
                    return delivered
                try:
                    for row in rows:
                        delivered += await self._deliver(row)
                except _Stop:
                    return delivered
                # Sending may have queued more (an unreachable expert's seat offered onward),
                # so look again until nothing is due.

    async def _deliver(self, row: Outbox) -> int:
        if row.kind == "edit":
            return await self._edit(row)
        return await self._send(row)

    async def _call(self, row: Outbox, action: Callable[[], Awaitable[Any]]) -> Any:
        """Run one Bot API call with waiting on 429 and backoff on network errors."""
        for attempt in range(IN_FLUSH_RETRIES + 1):
            await self.limiter.wait(row.chat_id, row.kind != "edit")
            try:
                return await action()
            except RetryAfter as exc:
                wait = _seconds(exc.retry_after)
                log.warning("Telegram asked to wait %.0f s (outbox row %s)", wait, row.id)
                if attempt == IN_FLUSH_RETRIES:
                    await self._retry(row, wait, "retry after")
                    raise _Stop from exc
                await self.clock.sleep(wait)
            except (Forbidden, BadRequest):
                raise
            except (NetworkError, TelegramError) as exc:
                if attempt == IN_FLUSH_RETRIES:
                    await self._retry(row, 2.0 ** min(row.attempts + 4, 10), str(exc))
                    raise _Stop from exc
                await self.clock.sleep(2.0**attempt)
        raise AssertionError("unreachable")

    async def _send(self, row: Outbox) -> int:
        def call() -> Awaitable[Any]:
            if row.kind == "photo":
                return self.bot.send_photo(
                    row.chat_id,
                    base64.b64decode(row.text),
                    filename=row.filename or "image.png",
                    caption=row.caption,
                )
            if row.kind == "document":
                return self.bot.send_document(
                    row.chat_id,
                    row.text.encode(),
                    filename=row.filename or "file.txt",
                    caption=row.caption,
                )
            return self.bot.send_message(
                row.chat_id, row.text, reply_markup=markup(row.buttons), parse_mode=row.parse_mode
            )

        try:
            message = await self._call(row, call)
        except Forbidden:
            log.info("outbox row %s: the recipient has blocked the bot", row.id)
            await self._finish(row, OutboxStatus.FAILED, error="forbidden")
            if self.on_unreachable is not None:
                await self.on_unreachable(row.chat_id, row.tag)
            return 0
        except BadRequest as exc:
            await self._finish(row, OutboxStatus.FAILED, error=str(exc)[:200])
            return 0
        await self._finish(row, OutboxStatus.SENT, message_id=message.message_id)
        return 1

    async def _edit(self, row: Outbox) -> int:
        async with self.db.unit_of_work() as s:
            repo = OutboxRepo(s)
            if await repo.newer_edit_pending(row):
                # A later edit of the same message is waiting: only the newest text matters.
                message_id = None
            else:
                target = await repo.tagged_send(row.tag or "", row.chat_id)
                if target is not None and target.status == OutboxStatus.PENDING:
                    # Not delivered yet (quiet hours): it is out of date, so it never goes out.
                    target.status = OutboxStatus.CANCELLED
                message_id = target.message_id if target is not None else None
        if message_id is None:
            await self._finish(row, OutboxStatus.CANCELLED)
            return 0
        try:
            await self._call(
                row,
                lambda: self.bot.edit_message_text(
                    row.text,
                    chat_id=row.chat_id,
                    message_id=message_id,
                    reply_markup=markup(row.buttons),
                    parse_mode=row.parse_mode,
                ),
            )
        except BadRequest as exc:
            # "message is not modified" means it already says this; other 400s (too old,
            # deleted) cannot be fixed by retrying.
            done = "not modified" in str(exc).lower()
            await self._finish(
                row,
                OutboxStatus.SENT if done else OutboxStatus.FAILED,
                error="" if done else str(exc)[:200],
            )
            return int(done)
        except Forbidden:
            await self._finish(row, OutboxStatus.FAILED, error="forbidden")
            return 0
        await self._finish(row, OutboxStatus.SENT, message_id=message_id)
        return 1

    async def _finish(
        self, row: Outbox, status: str, *, message_id: int | None = None, error: str = ""
    ) -> None:
        async with self.db.unit_of_work() as s:
            fresh = await OutboxRepo(s).get(row.id)
            if fresh is None:
                return
            fresh.status = status
            fresh.error = error
            fresh.attempts += 1
            # A delivered (or abandoned) message's text is not kept: it may name people, and
            # only the message id is needed to edit it later.
            fresh.text = ""
            fresh.caption = None
            fresh.buttons = None
            if message_id is not None:
                fresh.message_id = message_id
            if status == OutboxStatus.SENT:
                fresh.sent_at = self.clock.now()

    async def _retry(self, row: Outbox, delay: float, error: str) -> None:
        gave_up = False
        async with self.db.unit_of_work() as s:
            fresh = await OutboxRepo(s).get(row.id)
            if fresh is None:
                return
            fresh.attempts += 1
            fresh.error = error[:200]
            if fresh.attempts >= MAX_ATTEMPTS:
                fresh.status = OutboxStatus.FAILED
                log.warning("outbox row %s failed after %s attempts", row.id, fresh.attempts)
                gave_up = True
            else:
                fresh.not_before = self.clock.now() + timedelta(seconds=delay)
        if gave_up and row.kind == "send" and self.on_undeliverable is not None:
            await self.on_undeliverable(row.chat_id, row.tag)
