"""Sends what the outbox holds, after the transaction that wrote it has committed."""

from __future__ import annotations

import asyncio
import logging
from datetime import timedelta
from typing import Any

from telegram import Bot, InlineKeyboardButton, InlineKeyboardMarkup
from telegram.error import BadRequest, Forbidden, NetworkError, RetryAfter, TelegramError

from bot.clock import Clock
from storage.db import Database
from storage.models import Outbox, OutboxStatus
from storage.repo import OutboxRepo, Users

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 8
BATCH = 200


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


class OutboxSender:
    """Delivers due rows in order. One flush at a time, so edits always follow their sends."""

    def __init__(self, db: Database, bot: Bot, clock: Clock) -> None:
        self.db = db
        self.bot = bot
        self.clock = clock
        self._lock = asyncio.Lock()

    async def flush(self) -> int:
        """Send everything due now; returns how many rows were delivered."""
        async with self._lock:
            delivered = 0
            while True:
                async with self.db.unit_of_work() as s:
                    rows = list(await OutboxRepo(s).due(self.clock.now(), BATCH))
                if not rows:
                    return delivered
                for row in rows:
                    outcome = await self._deliver(row)
                    if outcome == "stop":
                        return delivered
                    delivered += outcome == "sent"
                if len(rows) < BATCH:
                    return delivered

    async def _deliver(self, row: Outbox) -> str:
        if row.kind == "edit":
            return await self._edit(row)
        try:
            message = await self.bot.send_message(
                row.chat_id, row.text, reply_markup=markup(row.buttons)
            )
        except RetryAfter as exc:
            # Telegram asked us to slow down: keep the row and everything after it.
            await self._retry(row, _seconds(exc.retry_after), str(exc), count=False)
            return "stop"
        except Forbidden:
            log.info("outbox row %s: the recipient has blocked the bot", row.id)
            async with self.db.unit_of_work() as s:
                await Users(s).mark_unreachable(row.chat_id)
            await self._finish(row, OutboxStatus.FAILED, error="forbidden")
            return "failed"
        except BadRequest as exc:
            await self._finish(row, OutboxStatus.FAILED, error=str(exc)[:200])
            return "failed"
        except (NetworkError, TelegramError) as exc:
            await self._retry(row, 2 ** min(row.attempts, 9), str(exc))
            return "retry"
        await self._finish(row, OutboxStatus.SENT, message_id=message.message_id)
        return "sent"

    async def _edit(self, row: Outbox) -> str:
        async with self.db.unit_of_work() as s:
            target = await OutboxRepo(s).tagged_send(row.tag or "", row.chat_id)
            if target is not None and target.status == OutboxStatus.PENDING:
                # Not delivered yet (quiet hours): it is out of date, so it never goes out.
                target.status = OutboxStatus.CANCELLED
            message_id = target.message_id if target is not None else None
        if message_id is None:
            await self._finish(row, OutboxStatus.CANCELLED)
            return "cancelled"
        try:
            await self.bot.edit_message_text(
                row.text,
                chat_id=row.chat_id,
                message_id=message_id,
                reply_markup=markup(row.buttons),
            )
        except RetryAfter as exc:
            await self._retry(row, _seconds(exc.retry_after), str(exc), count=False)
            return "stop"
        except BadRequest as exc:
            # "message is not modified" means it already says this; other 400s (too old,
            # deleted) cannot be fixed by retrying.
            done = "not modified" in str(exc).lower()
            await self._finish(
                row,
                OutboxStatus.SENT if done else OutboxStatus.FAILED,
                error="" if done else str(exc)[:200],
            )
            return "sent" if done else "failed"
        except Forbidden:
            await self._finish(row, OutboxStatus.FAILED, error="forbidden")
            return "failed"
        except (NetworkError, TelegramError) as exc:
            await self._retry(row, 2 ** min(row.attempts, 9), str(exc))
            return "retry"
        await self._finish(row, OutboxStatus.SENT, message_id=message_id)
        return "sent"

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
            fresh.buttons = None
            if message_id is not None:
                fresh.message_id = message_id
            if status == OutboxStatus.SENT:
                fresh.sent_at = self.clock.now()

    async def _retry(self, row: Outbox, delay: float, error: str, count: bool = True) -> None:
        async with self.db.unit_of_work() as s:
            fresh = await OutboxRepo(s).get(row.id)
            if fresh is None:
                return
            if count:
                fresh.attempts += 1
            fresh.error = error[:200]
            if fresh.attempts >= MAX_ATTEMPTS:
                fresh.status = OutboxStatus.FAILED
                log.warning("outbox row %s failed after %s attempts", row.id, fresh.attempts)
            else:
                fresh.not_before = self.clock.now() + timedelta(seconds=float(delay))
