"""One send budget for every instance on one PostgreSQL database (issue 19).

Telegram's limit (about 30 messages a second) belongs to the bot's token, whichever instance
sends. Each instance holds a presence lock for as long as it lives (storage/leader.py
`Presence`); every `PERIOD` seconds each counts the locks held on its own connection, N, and
sends at most `rate // N` in any second (`SendBudget.share`). The parts never add up to more
than the rate:

- an instance that starts while others live counts itself, so its own part is lowered at
  once, and it sends nothing for two periods and the one-second window
  (`SendBudget.pause`): by then every other instance has re-read N (within one period; one
  more for a slow read) and its calls of the last second under the higher part have left
  the window;
- when an instance is gone (its lock is free: it shut down, or died and PostgreSQL ended its
  session), the others raise their part only a window after they first saw it gone, so the
  calls it made in its last second have left any second Telegram counts;
- a failed read leaves the part as it is (the database is away, and so is most sending).

One chat: a chat's outbox rows go out one at a time and in order across instances (a row
waits while an earlier one of its chat is in flight, bot/outbox.py), so pushes never burst
to one chat from two instances. A reply goes from the instance that handled the person's
update while another instance may push to the same chat: each instance keeps its own bucket
per chat (3, then one a second), so in the worst case the chat sees two instances' bursts at
once. Telegram then answers that chat 429 alone: a reply waits it out and is sent again, a
push is rescheduled; nothing is lost and the overall rate is not touched.

On SQLite (one process) and on a PostgreSQL database with one instance N is 1: nothing
changes and nothing waits.
"""

from __future__ import annotations

import logging
from typing import Protocol

from bot.budget import SendBudget
from bot.clock import Clock

log = logging.getLogger(__name__)

PERIOD = 1.0  # seconds between counts of the instances (the `budget:share` job)
WINDOW = 1.0  # Telegram's second: a part's calls leave it this long after they were made
JOIN_WAIT = 2 * PERIOD + WINDOW  # a newcomer's silence while the others lower their parts


class Census(Protocol):
    """Who is alive (storage/leader.py `Presence`)."""

    shared: bool

    async def count(self) -> int: ...


class BudgetShare:
    """Keeps this instance's `SendBudget` at its part of the bot's rate."""

    def __init__(self, budget: SendBudget, census: Census, clock: Clock) -> None:
        self.budget = budget
        self.census = census
        self.clock = clock
        self._fewer_since: float | None = None  # when fewer instances were first seen

    async def start(self) -> None:
        """At start, before anything is sent: take the part, and if others live, wait until
        they have made room."""
        if not self.census.shared:
            return
        live = await self._read()
        if live is None or live > 1:
            self.budget.pause(JOIN_WAIT)
        if live is not None:
            self._set(live)

    async def step(self) -> None:
        """Count again: a lower part at once, a higher one a window after it is first seen."""
        if not self.census.shared:
            return
        live = await self._read()
        if live is None:
            return
        if live >= self.budget.instances:
            self._fewer_since = None
            if live > self.budget.instances:
                self._set(live)
            return
        now = self.clock.now().timestamp()
        if self._fewer_since is None:
            self._fewer_since = now
        if now - self._fewer_since >= WINDOW:
            self._fewer_since = None
            self._set(live)

    def _set(self, live: int) -> None:
        if live != self.budget.instances:
            log.info("%d instance(s) share the send budget; this one sends its part", live)
        self.budget.share(live)

    async def _read(self) -> int | None:
        try:
            return await self.census.count()
        except Exception:
            log.warning("could not count the instances; the send budget stays", exc_info=True)
            return None
