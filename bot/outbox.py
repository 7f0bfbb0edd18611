"""Sends what the outbox holds, after the transaction that wrote it has committed.

One flush at a time, in order, through the one send budget (bot/budget.py), where replies to
the person acting go first. A 429 is waited out and retried, a network error retried with
backoff, and a person who has blocked the bot is marked unreachable (the dispatch engine then
skips them and tells the coordinators).

What a kill can do (exactly-once is impossible with Telegram: a message can arrive and the
process die before it learns so). Each row goes pending -> sending (committed before the call)
-> sent, failed or cancelled (committed after it). So after a restart:
- nothing is lost: a pending row is sent; a row left `sending` was in flight at the kill and is
  sent again, because nobody can know whether Telegram got it;
- nothing else is repeated: only the rows in flight (one at a time: flushes are serialised) can
  arrive twice;
- a repeated copy is harmless: both copies carry the same buttons (an offer's buttons name the
  offer, and the database decides each answer once), the later edits of the row reach the copy
  whose id Telegram returned, and the other copy is retired the moment it is pressed (the
  handler edits the pressed message to the offer's current state).
"""

from __future__ import annotations

import asyncio
import base64
import logging
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any

from telegram import InlineKeyboardButton, InlineKeyboardMarkup
from telegram.error import BadRequest, Forbidden, NetworkError, RetryAfter, TelegramError
from telegram.ext import ExtBot

from bot.budget import SendBudget, seconds
from bot.clock import Clock
from storage.db import Database
from storage.models import Outbox, OutboxStatus
from storage.repo import OutboxRepo

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 8
IN_FLUSH_RETRIES = 3
BATCH = 200

Unreachable = Callable[[int, str | None], Awaitable[None]]
# Where a kill can fall, for the kill tests: a row marked in flight, its call answered, its
# outcome committed.
Checkpoint = Callable[[str, "Outbox"], None]
BULK = {"bulk": True}  # rate_limit_args: the budget lets replies go first
IN_FLIGHT_NOTE = "in flight at a restart"  # set by OutboxRepo.resume_in_flight


def markup(buttons: list[Any] | None) -> InlineKeyboardMarkup | None:
    if not buttons:
        return None
    return InlineKeyboardMarkup(
        [
            [InlineKeyboardButton(b["text"], callback_data=b["callback_data"]) for b in row]
            for row in buttons
        ]
    )


class _Stop(Exception):
    """Telegram keeps refusing: leave the rest for the next flush."""


class OutboxSender:
    def __init__(self, db: Database, bot: ExtBot[Any], clock: Clock, budget: SendBudget) -> None:
        self.db = db
        self.bot = bot
        self.clock = clock
        self.limiter = budget  # shared with every other call the bot makes
        self.checkpoint: Checkpoint | None = None
        self._recovered = False
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
                log.exception("background outbox flush failed; the periodic flush retries")
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
            if not self._recovered:
                await self._recover()
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
                except Exception:
                    # A row may be left `sending` (the database failed after the call): the
                    # next flush sends it again, as after a restart.
                    self._recovered = False
                    raise
                # Sending may have queued more (an unreachable expert's seat offered onward),
                # so look again until nothing is due.

    async def _recover(self) -> None:
        """Rows a previous process left `sending` were in flight when it died: send them again
        (Telegram may or may not have them; losing one would be worse than a second copy)."""
        async with self.db.unit_of_work() as s:
            again = await OutboxRepo(s).resume_in_flight()
        if again:
            log.warning("%d outbox message(s) were in flight at a restart; sending again", again)
        self._recovered = True

    def _at(self, boundary: str, row: Outbox) -> None:
        if self.checkpoint is not None:
            self.checkpoint(boundary, row)

    async def _deliver(self, row: Outbox) -> int:
        async with self.db.unit_of_work() as s:
            if not await OutboxRepo(s).mark_sending(row.id):
                return 0  # someone else took it (another flush, or it was cancelled)
        self._at("sending", row)
        if row.kind == "edit":
            done = await self._edit(row)
        else:
            done = await self._send(row)
        self._at("marked", row)
        return done

    async def _call(self, row: Outbox, action: Callable[[], Awaitable[Any]]) -> Any:
        """Run one Bot API call with waiting on 429 and backoff on network errors."""
        for attempt in range(IN_FLUSH_RETRIES + 1):
            try:
                result = await action()
                self._at("sent", row)
                return result
            except RetryAfter as exc:
                # The budget now holds this chat until Telegram's time is up; the next
                # attempt waits there.
                wait = seconds(exc.retry_after)
                log.warning("Telegram asked to wait %.0f s (outbox row %s)", wait, row.id)
                if attempt == IN_FLUSH_RETRIES:
                    await self._retry(row, wait, "retry after")
                    raise _Stop from exc
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
                    rate_limit_args=BULK,
                    caption=row.caption,
                )
            if row.kind == "document":
                return self.bot.send_document(
                    row.chat_id,
                    row.text.encode(),
                    filename=row.filename or "file.txt",
                    rate_limit_args=BULK,
                    caption=row.caption,
                )
            return self.bot.send_message(
                row.chat_id,
                row.text,
                reply_markup=markup(row.buttons),
                parse_mode=row.parse_mode,
                rate_limit_args=BULK,
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
                    rate_limit_args=BULK,
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
        self, row: Outbox, status: OutboxStatus, *, message_id: int | None = None, error: str = ""
    ) -> None:
        async with self.db.unit_of_work() as s:
            fresh = await OutboxRepo(s).get(row.id)
            if fresh is None:
                return
            fresh.status = status
            if error or fresh.error != IN_FLIGHT_NOTE:  # keep the note that it may be a repeat
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
                fresh.status = OutboxStatus.PENDING
                fresh.not_before = self.clock.now() + timedelta(seconds=delay)
        if gave_up and row.kind == "send" and self.on_undeliverable is not None:
            await self.on_undeliverable(row.chat_id, row.tag)
