"""Durable long polling: every update is stored before Telegram is told it arrived, and
handled from the store; a crash at any point loses nothing and repeats nothing.

Polling never dies silently. A 429 is waited out; a network error is retried with backoff; a
409 Conflict (another copy of the bot polls with the same token) is logged, retried with
backoff and reported to the coordinators once; any other error is logged at once with its
traceback and retried with backoff. What cannot be recovered (the token is refused, or the
same error keeps coming `GIVE_UP_AFTER` times in a row, e.g. a broken database) raises
`PollingFailed`, and `python -m bot` exits non-zero so the supervisor restarts it.

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
from telegram.error import BadRequest, Conflict, InvalidToken, NetworkError, RetryAfter

from bot.budget import seconds
from bot.core import Core
from handlers.base import AnyApplication
from storage.repo import InboxRepo

log = logging.getLogger(__name__)

MAX_BACKOFF = 60.0
GIVE_UP_AFTER = 10  # unexpected failures in a row (about 6 minutes of backoff)


class PollingFailed(Exception):
    """Polling cannot go on; the process should exit non-zero and be restarted."""


class DurablePoller:
    def __init__(self, app: AnyApplication, timeout: int = 30) -> None:
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
        updates: tuple[Update, ...] = await self.app.bot.get_updates(
            offset=offset, timeout=self.timeout, allowed_updates=Update.ALL_TYPES
        )
        if not updates:
            return offset
        async with self.core.db.unit_of_work() as s:
            await InboxRepo(s).store([(u.update_id, u.to_dict()) for u in updates])
        return max(u.update_id for u in updates) + 1

    async def run(self, stop: asyncio.Event) -> None:
        """Poll until `stop` is set; raise PollingFailed when polling cannot go on."""
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
                offset = await self.fetch(offset)
                backoff, failures = 1.0, 0
                await self.handle_stored()
                async with self.core.db.unit_of_work() as s:
                    await InboxRepo(s).prune()
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
