"""Sends what the outbox holds, after the transaction that wrote it has committed.

One flush at a time, through the transport (bot/transport.py) and so the one send budget
(bot/budget.py), where replies to the person acting go first. A flush keeps a window of rows in
flight, as many as the budget has places in a second (30; this instance's part when several
share the bot, bot/share.py): each commit writes the outcomes of
the calls answered since the one before and marks the next rows `sending` (at most one row per
chat, each chat's oldest due row, from chats that are ready), and their calls then run
concurrently, paced by the budget. The next commit comes when every call in flight has its
answer (or one answer has waited `LINGER`): under a broadcast the window's calls go out together
as the budget frees their places, once a second, so a broadcast costs about one commit a second
and the next rows wait in the budget before their places free. A 429 is waited out and
retried, a network error retried with backoff. What could not be delivered is reported through
the one delivery event the sender is built with (`on_undelivered`, with a reason): a person who
has blocked the bot, or a message Telegram kept failing (the dispatch engine then moves an
offer on and tells the coordinators).

What a kill can do (exactly-once is impossible with Telegram: a message can arrive and the
process die before it learns so). Each row goes pending -> sending (committed before its call)
-> sent, failed or cancelled (committed after it, in the commit that marks the next rows
`sending`). So after a restart:
- nothing is lost: a pending row is sent; a row left `sending` was in flight at the kill and is
  sent again, because nobody can know whether Telegram got it;
- nothing else is repeated: only the rows in flight at the kill (at most one window, 30 rows
  or this instance's part, each to a different chat: flushes are serialised) can arrive twice;
- each chat's order is kept: a chat has at most one row in flight, and its next row is marked
  only in the commit that records the one before (an edit so finds the id of the message it
  replaces already written);
- a repeated copy is harmless: both copies carry the same buttons (an offer's buttons name the
  offer, and the database decides each answer once), the later edits of the row reach the copy
  whose id Telegram returned, and the other copy is retired the moment it is pressed (the
  handler edits the pressed message to the offer's current state).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime, timedelta
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
# Chats left out of the next look at the outbox while they wait for their own second; well
# under the 32,767 parameters asyncpg takes.
MAX_SKIPPED = 1_000
# Seconds an answered call waits for the rest of the window before a commit writes it and
# fills its place anyway (real time), so a slow call (backing off, or waiting out a 429) does not
# keep the other places empty. About a second: a window's calls normally all have their places
# within one, and rows added while some still wait for a place compete with them for it (the
# budget does not serve its waiters in order). With 0.25 s, under load, a coordinator's alerts
# fell to 7-8 by the last of 1,000 offers in 2 of 3 runs (34 when quiet): likely so. (That was
# before `LATELY`, which now holds such a burst back on purpose while offers wait.)
LINGER = 1.0
# Per-chat fairness: a chat that had a new message in the last `LATELY` seconds waits for
# room the chats with nothing lately leave over. So a burst to one chat (hundreds of "gig
# filled" alerts to a coordinator) never slows the messages to others (a broadcast's offers):
# it goes at its chat's own pace when there is room, and gets one message every `LATELY`
# seconds while there is none (so it never waits for good).
LATELY = 10.0

# The delivery event: (chat id, the row's tag, why) once a message cannot be delivered.
OnUndelivered = Callable[[int, str | None, Undelivered], Awaitable[None]]
# Where a kill can fall, for the kill tests: rows marked in flight (one commit), a row's call
# answered, rows' outcomes committed.
Checkpoint = Callable[[str, Sequence[Outbox]], None]


class _GiveUp(Exception):
    """Telegram kept refusing within this flush: try the row again later."""

    def __init__(self, delay: float, error: str) -> None:
        super().__init__(error)
        self.delay = delay
        self.error = error


class _Outcome(NamedTuple):
    row: Outbox
    status: OutboxStatus  # PENDING: rescheduled, `delay` seconds from when it is written
    message_id: int | None = None
    error: str = ""
    delay: float = 0.0
    why: Undelivered | None = None  # reported once written


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

        Per-chat fairness: a chat that is not ready yet (it had its burst, or Telegram asked
        to wait) is skipped, not waited on, so a burst to one chat never holds up the others;
        the order within a chat is kept (one row per chat in flight).
        `sweep`: also resend what an instance that is gone left in flight (the periodic flush
        on a shared database; not every flush a handler starts)."""
        async with self._lock:
            if not self._recovered or sweep:
                await self._recover()
            flight = _Flight(self)
            try:
                return await flight.run()
            except BaseException:
                # Rows may be left `sending` (the database failed, or the flush was
                # cancelled): the next flush sends them again, as after a restart.
                await flight.abandon()
                self._recovered = False
                raise

    async def _recover(self) -> None:
        """Rows a previous process left `sending` were in flight when it died: send them again
        (Telegram may or may not have them; losing one would be worse than a second copy)."""
        async with self.db.unit_of_work() as s:
            again = await OutboxRepo(s).resume_in_flight(self.owner)
        if again:
            log.warning("%d outbox message(s) were in flight at a restart; sending again", again)
        self._recovered = True

    def _at(self, boundary: str, rows: Sequence[Outbox]) -> None:
        if self.checkpoint is not None and rows:
            self.checkpoint(boundary, rows)

    async def _send(self, row: Outbox, message_id: int | None) -> _Outcome:
        """One row's call, in its own task; what happened is written by the next commit."""
        try:
            sent = await self._call(row, message_id)
        except Blocked:
            log.info("outbox row %s: the recipient has blocked the bot", row.id)
            why = None if row.kind == Kind.EDIT else Undelivered.BLOCKED
            return _Outcome(row, OutboxStatus.FAILED, error="forbidden", why=why)
        except Rejected as exc:
            # Too long, deleted, too old to edit: retrying cannot fix it.
            return _Outcome(row, OutboxStatus.FAILED, error=exc.detail)
        except _GiveUp as exc:
            return _Outcome(row, OutboxStatus.PENDING, error=exc.error, delay=exc.delay)
        return _Outcome(row, OutboxStatus.SENT, message_id=sent)

    async def _call(self, row: Outbox, message_id: int | None) -> int:
        """Deliver one row, waiting on 429 and backing off on network errors; returns the
        message id. Blocked and Rejected are raised at once; after the last retry `_GiveUp`
        (the row is rescheduled and the flush stops)."""
        for attempt in range(IN_FLUSH_RETRIES + 1):
            try:
                sent = await self.transport.deliver(from_row(row, message_id))
                self._at("sent", [row])
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
                    raise _GiveUp(exc.retry_after, "retry after") from exc
            except SendFailed as exc:
                if attempt == IN_FLUSH_RETRIES:
                    raise _GiveUp(2.0 ** min(row.attempts + 4, 10), exc.detail) from exc
                await self.clock.sleep(2.0**attempt)
        raise AssertionError("unreachable")

    async def _write(self, repo: OutboxRepo, done: _Outcome) -> Undelivered | None:
        """Write one call's outcome; returns what to report once it is committed."""
        row = done.row
        if done.status == OutboxStatus.SENT:
            return None  # written with the others (`finish_sent`)
        if done.status != OutboxStatus.PENDING:
            await repo.finish(
                row.id, done.status, self.clock.now(), message_id=done.message_id, error=done.error
            )
            return done.why
        fresh = await repo.get(row.id)
        if fresh is None:
            return None
        fresh.attempts += 1
        fresh.error = done.error[:200]
        if fresh.attempts < MAX_ATTEMPTS:
            fresh.status = OutboxStatus.PENDING
            fresh.not_before = self.clock.now() + timedelta(seconds=done.delay)
            return None
        fresh.status = OutboxStatus.FAILED
        log.warning("outbox row %s failed after %s attempts", row.id, fresh.attempts)
        return Undelivered.GAVE_UP if row.kind == Kind.SEND else None

    async def _edit_target(self, repo: OutboxRepo, row: Outbox) -> int | None:
        """The id of the message an edit row replaces, or None when the edit is moot."""
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


class _Flight:
    """One flush: the rows in flight, the outcomes not written yet, the chats that wait."""

    def __init__(self, sender: OutboxSender) -> None:
        self.sender = sender
        self.flying: dict[asyncio.Task[_Outcome], Outbox] = {}
        self.done: list[_Outcome] = []
        self.held: dict[int, float] = {}  # chat -> when it is ready again (timestamp)
        self.delivered = 0
        self.stopped = False  # Telegram kept refusing: take no more rows in this flush

    def _now(self) -> float:
        return self.sender.clock.now().timestamp()

    async def run(self) -> int:
        while True:
            taken = await self._turn()
            if self.flying:
                await self._collect()
                continue
            if self.stopped or (not taken and not self.held):
                return self.delivered
            if not taken:  # everything due waits for its chat: wait for the first
                await self.sender.clock.sleep(max(0.0, min(self.held.values()) - self._now()))
            # Sending may have queued more (an unreachable expert's seat offered onward),
            # so look again until nothing is due.

    async def _turn(self) -> int:
        """One commit: write the outcomes answered since the last one and mark the next rows
        `sending` for the free places of the window; then start their calls. Returns how many
        rows were taken."""
        sender, done, self.done = self.sender, self.done, []
        now = self._now()
        self.held = {chat: at for chat, at in self.held.items() if at > now}
        # As many rows in flight as the budget has places in a second, read at every turn:
        # this instance's part shrinks when another instance joins (bot/share.py).
        room = 0 if self.stopped else max(1, sender.limiter.capacity) - len(self.flying)
        async with sender.db.unit_of_work() as s:
            repo = OutboxRepo(s)
            sent = [(d.row.id, d.message_id) for d in done if d.status == OutboxStatus.SENT]
            await repo.finish_sent([(r, m) for r, m in sent if m is not None], sender.clock.now())
            report = [(d.row, await sender._write(repo, d)) for d in done]
            taken = await self._take(repo, room) if room > 0 else []
        sender._at("recorded", [d.row for d in done])
        for row, why in report:
            if why is not None:
                await sender._undelivered(row, why)
        calls = [(row, message_id) for row, message_id, go in taken if go]
        sender._at("marked", [row for row, _ in calls])
        for row, message_id in calls:
            self.flying[asyncio.create_task(sender._send(row, message_id))] = row
        return len(taken)

    async def _take(self, repo: OutboxRepo, room: int) -> list[tuple[Outbox, int | None, bool]]:
        """Mark up to `room` rows `sending` (one statement per look at the outbox): each ready
        chat's oldest due row, chats with nothing sent lately first; the chats sent to lately
        (`LATELY`) get the places left over. Each is (row, the message an edit replaces,
        whether it is to be sent: a moot edit is cancelled here instead)."""
        taken: list[tuple[Outbox, int | None, bool]] = []
        seen: set[int] = set()
        lately: list[Outbox] = []
        limit = 2 * room
        while len(taken) < room:
            now = self.sender.clock.now()
            skip = [*self.held, *(r.chat_id for r in lately)][:MAX_SKIPPED]
            found = await repo.due(now, limit, skip_chats=skip)
            heads = []
            for row in found:
                if row.chat_id not in seen:
                    seen.add(row.chat_id)
                    heads.append(row)
            rested: list[Outbox] = []
            for row in heads:
                if self._ready(row):
                    (lately if self._sent_lately(row) else rested).append(row)
            taken += await self._mark(repo, rested[: room - len(taken)], now)
            if len(found) < limit or not heads:
                break  # nothing more is due (a chat taken now is left out of the next look)
        if lately and len(taken) < room:
            taken += await self._mark(repo, lately[: room - len(taken)], now)
        return taken

    async def _mark(
        self, repo: OutboxRepo, rows: list[Outbox], now: datetime
    ) -> list[tuple[Outbox, int | None, bool]]:
        """Mark these heads `sending`: those another instance took, or that were cancelled,
        are left out."""
        marked = await repo.mark_many([r.id for r in rows], self.sender.owner, now)
        return [await self._edit(repo, row, now) for row in rows if row.id in marked]

    def _sent_lately(self, row: Outbox) -> bool:
        return row.kind != Kind.EDIT and self.sender.limiter.sent_lately(row.chat_id, LATELY)

    def _ready(self, row: Outbox) -> bool:
        """Whether the row's chat can take it now; if not, the chat waits in `held`."""
        wait = self.sender.limiter.chat_ready_in(row.chat_id, row.kind != Kind.EDIT)
        if wait > 0:
            self.held[row.chat_id] = self._now() + wait
        return wait <= 0

    async def _edit(
        self, repo: OutboxRepo, row: Outbox, now: datetime
    ) -> tuple[Outbox, int | None, bool]:
        """A marked row, with the message it replaces if it is an edit; a moot edit is
        cancelled instead of sent."""
        if row.kind != Kind.EDIT:
            return row, None, True
        target = await self.sender._edit_target(repo, row)
        if target is None:
            await repo.finish(row.id, OutboxStatus.CANCELLED, now)
        return row, target, target is not None

    async def _collect(self) -> None:
        """Wait for answers: until every call in flight has one, or the first answer not yet
        written has waited `LINGER` (a slow call must not keep the free places empty). The
        calls of one window go out together when the budget frees their places, so waiting
        for all of them puts the commit in the quiet part of the second, not among them."""
        loop = asyncio.get_running_loop()
        first: float | None = None
        while self.flying:
            timeout = None if first is None else max(0.0, first + LINGER - loop.time())
            finished, _ = await asyncio.wait(
                self.flying, timeout=timeout, return_when=asyncio.FIRST_COMPLETED
            )
            if not finished:
                return
            first = loop.time() if first is None else first
            for task in finished:
                del self.flying[task]
                outcome = task.result()
                self.done.append(outcome)
                self.delivered += outcome.status == OutboxStatus.SENT
                self.stopped |= outcome.status == OutboxStatus.PENDING

    async def abandon(self) -> None:
        """The flush failed or was cancelled: stop the calls still in flight."""
        for task in self.flying:
            task.cancel()
        await asyncio.gather(*self.flying, return_exceptions=True)
        self.flying.clear()
