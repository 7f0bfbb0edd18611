"""Durable long polling: every update is stored before Telegram is told it arrived, and
handled from the store; a crash at any point loses nothing and repeats nothing.

python-telegram-bot's own polling confirms a batch (by asking for the next offset) while the
batch's handlers may still be running, so a crash can drop updates. Here the order is:
fetch -> store -> handle each (its handler marks it done in the same transaction as its
changes, see handlers/base.py) -> only then fetch again, which confirms.

A stored payload says who sent it (Telegram id, name, username), when, and what they typed or
pressed, so it is kept only until the update is handled: marking it done drops the payload in
the same transaction. That holds for every update: those a handler took (the handler's own
commit), and those no handler took, refused ones and ones whose handler raised (after the
error handler has told the person, `handle_stored` marks them done; an update that failed is
not tried again, the person was told and can try again themselves, so no payload stays).
"""

from __future__ import annotations

import asyncio
import logging

from telegram import Update
from telegram.error import NetworkError, RetryAfter, TimedOut
from telegram.ext import Application

from bot.core import Core
from storage.repo import InboxRepo

log = logging.getLogger(__name__)


class DurablePoller:
    def __init__(self, app: Application, timeout: int = 30) -> None:
        self.app = app
        self.core: Core = app.bot_data["core"]
        self.timeout = timeout

    async def handle_stored(self) -> int:
        """Handle every stored update not yet done, oldest first (after a crash too)."""
        handled = 0
        while True:
            async with self.core.db.unit_of_work() as s:
                rows = [(r.update_id, r.payload) for r in await InboxRepo(s).pending()]
            if not rows:
                return handled
            for update_id, payload in rows:
                if payload is not None:
                    await self.app.process_update(Update.de_json(payload, self.app.bot))
                async with self.core.db.unit_of_work() as s:
                    # Updates no handler took (or whose handler failed and told the person)
                    # are done too, and their payload dropped; a handler that succeeded has
                    # done both in its own transaction already.
                    await InboxRepo(s).claim(update_id)
                handled += 1

    async def fetch(self, offset: int | None) -> int | None:
        """One long poll; stores what came and returns the next offset."""
        updates = await self.app.bot.get_updates(
            offset=offset, timeout=self.timeout, allowed_updates=Update.ALL_TYPES
        )
        if not updates:
            return offset
        async with self.core.db.unit_of_work() as s:
            await InboxRepo(s).store([(u.update_id, u.to_dict()) for u in updates])
        return max(u.update_id for u in updates) + 1

    async def run(self, stop: asyncio.Event) -> None:
        await self.app.bot.delete_webhook()
        async with self.core.db.unit_of_work() as s:
            last = await InboxRepo(s).last_id()
        offset = last + 1 if last is not None else None
        await self.handle_stored()
        backoff = 1.0
        while not stop.is_set():
            try:
                offset = await self.fetch(offset)
                backoff = 1.0
            except RetryAfter as exc:
                await asyncio.sleep(float(getattr(exc, "retry_after", 1) or 1))
                continue
            except (TimedOut, NetworkError) as exc:
                log.warning("polling failed (%s); retrying in %.0f s", type(exc).__name__, backoff)
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, 60)
                continue
            await self.handle_stored()
            async with self.core.db.unit_of_work() as s:
                await InboxRepo(s).prune()
