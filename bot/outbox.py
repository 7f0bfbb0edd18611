"""Sends what the outbox holds, after the transaction that wrote it has committed.

One flush at a time, in order, through the transport (bot/transport.py) and so the one send
budget (bot/budget.py), where replies to the person acting go first. A 429 is waited out and
retried, a network error retried with backoff. What could not be delivered is reported through
the one delivery event the sender is built with (`on_undelivered`, with a reason): a person who
has blocked the bot, or a message Telegram kept failing (the dispatch engine then moves an offer
on and tells the coordinators).

What a kill can do (exactly-once is impossible with Telegram: a message can arrive and the
process die before it learns so). Each row goes pending -> sending (committed before the call)
-> sent, failed or cancelled (committed after it; `sent` in the same commit that marks the
next row `sending`, so one commit per message and still one row in flight). So after a restart:
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
import logging
import math
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import NamedTuple

from bot.budget import SendBudget
from bot.clock import Clock
from bot.messages import Kind, Undelivered, from_row
from bot.transport import Blocked, Rejected, RetryLater, SendFailed, Transport
from storage.db import Database
from storage.models import Outbox, OutboxStatus
from storage.repo import OutboxRepo

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 8
IN_FLUSH_RETRIES = 3
BATCH = 200
# Chats left out of the next look at the outbox while they wait for their own second; well
# under the 32,767 parameters asyncpg takes.
MAX_SKIPPED = 1_000

# The delivery event: (chat id, the row's tag, why) once a message cannot be delivered.
OnUndelivered = Callable[[int, str | None, Undelivered], Awaitable[None]]
# Where a kill can fall, for the kill tests: a row marked in flight, its call answered, its
# outcome committed.
Checkpoint = Callable[[str, "Outbox"], None]


class _Stop(Exception):
    """Telegram keeps refusing: leave the rest for the next flush."""


class _Pass(NamedTuple):
    sent: int  # rows delivered
    tried: int  # rows whose chat was ready (delivered, failed, cancelled or rescheduled)
    stopped: bool  # Telegram kept refusing: the flush ends here


class OutboxSender:
    def __init__(
        self,
        db: Database,
        transport: Transport,
        clock: Clock,
        budget: SendBudget,
        on_undelivered: OnUndelivered | None = None,
    ) -> None:
        self.db = db
        self.transport = transport
        self.clock = clock
        self.limiter = budget  # shared with every other call the bot makes
        self.on_undelivered = on_undelivered
        self.checkpoint: Checkpoint | None = None
        # This instance's number (storage/leader.py `Presence`), written on rows in flight.
        self.owner: int | None = None
        # Several instances share PostgreSQL: one that dies leaves rows `sending` at any time,
        # so the periodic flush looks for them (`sweep`); one SQLite process looks once, at
        # its start.
        self.shared = db.engine.dialect.name == "postgresql"
        self._recovered = False
        self._lock = asyncio.Lock()
        self._task: asyncio.Task[None] | None = None
        self._again = False
        # The row sent last and its message id: its outcome is written in the same commit
        # that marks the next row in flight, or at the end of the pass.
        self._delivered: tuple[Outbox, int] | None = None

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

    async def flush(self, *, sweep: bool = False) -> int:
        """Send everything due now; returns how many rows were delivered.

        Per-chat fairness: a row whose chat is not ready yet (it had its burst, or Telegram
        asked to wait) is skipped, not waited on, together with every later row of that chat,
        so a burst to one chat never holds up the others; the order within a chat is kept.
        `sweep`: also resend what an instance that is gone left in flight (the periodic flush
        on a shared database; not every flush a handler starts)."""
        async with self._lock:
            if not self._recovered or sweep:
                await self._recover()
            delivered = 0
            held: dict[int, float] = {}  # chat -> when it is ready again (timestamp)
            while True:
                now = self.clock.now().timestamp()
                held = {chat: at for chat, at in held.items() if at > now}
                async with self.db.unit_of_work() as s:
                    rows = list(
                        await OutboxRepo(s).due(
                            self.clock.now(), BATCH, skip_chats=list(held)[:MAX_SKIPPED]
                        )
                    )
                if not rows and not held:
                    return delivered
                done = await self._pass(rows, held)
                delivered += done.sent
                if done.stopped:
                    return delivered
                if not done.tried:  # everything due waits for its chat: wait for the first
                    await self.clock.sleep(max(0.0, min(held.values()) - now))
                # Sending may have queued more (an unreachable expert's seat offered onward),
                # so look again until nothing is due.

    async def _pass(self, rows: list[Outbox], held: dict[int, float]) -> _Pass:
        """Deliver the rows whose chat is ready, in order, and note in `held` the chats that
        are not."""
        sent = tried = 0
        soonest = min(held.values(), default=math.inf)
        try:
            for row in rows:
                if self.clock.now().timestamp() >= soonest:
                    break  # a waiting chat is ready again: look again, so its turn comes
                if row.chat_id in held:
                    continue  # an earlier row of this chat waits: keep the chat's order
                wait = self.limiter.chat_ready_in(row.chat_id, row.kind != Kind.EDIT)
                if wait > 0:
                    held[row.chat_id] = self.clock.now().timestamp() + wait
                    soonest = min(soonest, held[row.chat_id])
                    continue
                tried += 1
                sent += await self._deliver(row)
        except _Stop:
            await self._record()
            return _Pass(sent, tried, stopped=True)
        except Exception:
            # A row may be left `sending` (the database failed after the call): the next
            # flush sends it again, as after a restart.
            self._delivered = None
            self._recovered = False
            raise
        await self._record()
        return _Pass(sent, tried, stopped=False)

    async def _recover(self) -> None:
        """Rows a previous process left `sending` were in flight when it died: send them again
        (Telegram may or may not have them; losing one would be worse than a second copy)."""
        async with self.db.unit_of_work() as s:
            again = await OutboxRepo(s).resume_in_flight(self.owner)
        if again:
            log.warning("%d outbox message(s) were in flight at a restart; sending again", again)
        self._recovered = True

    def _at(self, boundary: str, row: Outbox) -> None:
        if self.checkpoint is not None:
            self.checkpoint(boundary, row)

    async def _deliver(self, row: Outbox) -> int:
        """Mark the row in flight, in the same commit as the previous row's outcome (one
        commit per message), and send it."""
        if row.kind == Kind.EDIT:
            await self._record()  # the edit may replace the message just sent: its id first
        async with self.db.unit_of_work() as s:
            repo = OutboxRepo(s)
            recorded = await self._record_in(repo)
            taken = await repo.mark_sending(row.id, self.owner, self.clock.now())
        if recorded is not None:
            self._at("marked", recorded)
        if not taken:
            return 0  # someone else took it (another flush, or it was cancelled)
        self._at("sending", row)
        return await self._send(row)

    async def _record_in(self, repo: OutboxRepo) -> Outbox | None:
        """Write the outcome of the row sent last, if it is not written yet."""
        if self._delivered is None:
            return None
        row, message_id = self._delivered
        self._delivered = None
        await repo.finish(row.id, OutboxStatus.SENT, self.clock.now(), message_id=message_id)
        return row

    async def _record(self) -> None:
        if self._delivered is not None:
            async with self.db.unit_of_work() as s:
                recorded = await self._record_in(OutboxRepo(s))
            if recorded is not None:
                self._at("marked", recorded)

    async def _call(self, row: Outbox, message_id: int | None) -> int:
        """Deliver one row, waiting on 429 and backing off on network errors; returns the
        message id. Blocked and Rejected are raised at once; after the last retry the row is
        rescheduled and the flush stops."""
        for attempt in range(IN_FLUSH_RETRIES + 1):
            try:
                sent = await self.transport.deliver(from_row(row, message_id))
                self._at("sent", row)
                return sent
            except (Blocked, Rejected):
                raise
            except RetryLater as exc:
                # The budget now holds this chat until Telegram's time is up; the next
                # attempt waits there.
                log.warning(
                    "Telegram asked to wait %.0f s (outbox row %s)", exc.retry_after, row.id
                )
                if attempt == IN_FLUSH_RETRIES:
                    await self._retry(row, exc.retry_after, "retry after")
                    raise _Stop from exc
            except SendFailed as exc:
                if attempt == IN_FLUSH_RETRIES:
                    await self._retry(row, 2.0 ** min(row.attempts + 4, 10), exc.detail)
                    raise _Stop from exc
                await self.clock.sleep(2.0**attempt)
        raise AssertionError("unreachable")

    async def _send(self, row: Outbox) -> int:
        message_id = None
        if row.kind == Kind.EDIT:
            message_id = await self._edit_target(row)
            if message_id is None:
                await self._finish(row, OutboxStatus.CANCELLED)
                return 0
        try:
            sent = await self._call(row, message_id)
        except Blocked:
            log.info("outbox row %s: the recipient has blocked the bot", row.id)
            await self._finish(row, OutboxStatus.FAILED, error="forbidden")
            if row.kind != Kind.EDIT:
                await self._undelivered(row, Undelivered.BLOCKED)
            return 0
        except Rejected as exc:
            # Too long, deleted, too old to edit: retrying cannot fix it.
            await self._finish(row, OutboxStatus.FAILED, error=exc.detail)
            return 0
        self._delivered = (row, sent)  # written with the next commit (see _deliver)
        return 1

    async def _edit_target(self, row: Outbox) -> int | None:
        """The id of the message an edit row replaces, or None when the edit is moot."""
        async with self.db.unit_of_work() as s:
            repo = OutboxRepo(s)
            if await repo.newer_edit_pending(row):
                return None  # a later edit of the same message is waiting: only it matters
            target = await repo.tagged_send(row.tag or "", row.chat_id)
            if target is not None and target.status == OutboxStatus.PENDING:
                # Not delivered yet (quiet hours): it is out of date, so it never goes out.
                target.status = OutboxStatus.CANCELLED
            return target.message_id if target is not None else None

    async def _undelivered(self, row: Outbox, why: Undelivered) -> None:
        if self.on_undelivered is not None:
            await self.on_undelivered(row.chat_id, row.tag, why)

    async def _finish(
        self, row: Outbox, status: OutboxStatus, *, message_id: int | None = None, error: str = ""
    ) -> None:
        async with self.db.unit_of_work() as s:
            await OutboxRepo(s).finish(
                row.id, status, self.clock.now(), message_id=message_id, error=error
            )

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
        if gave_up and row.kind == Kind.SEND:
            await self._undelivered(row, Undelivered.GAVE_UP)
