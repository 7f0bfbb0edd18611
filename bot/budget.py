"""The one send budget: every Bot API call the bot makes passes through here.

Telegram refuses with 429 ("retry after N") a bot that sends more than about 30 messages a
second overall, or more than about one a second to one chat (a short burst is tolerated).
Replies to the person who just pressed or typed and the outbox's pushes to others (offers,
alerts, reminders) share this budget, so together they stay under the limits:

- at most `per_second` counted calls in any sliding second (new messages and edits);
- new messages to one chat from a bucket of `chat_burst` that refills one per
  `per_chat_seconds` (edits do not use the chat's bucket);
- the margin: a call holds its place in the second from the moment it is sent until one
  second after Telegram's answer (and a chat's bucket refills from the answer), not from the
  moment it was sent. Telegram counts a call when it arrives, which lies between the two, so
  however long the network takes, no second as Telegram sees it holds more than
  `per_second` calls. That is why the default can be Telegram's own 30
  (`SEND_RATE_PER_SECOND`): the margin is the round trip of each call, not a lower rate;
- replies go first: while a reply waits for room in the overall second, bulk sends (the outbox
  marks its calls `rate_limit_args={"bulk": True}`) wait behind it;
- a 429 blocks that chat for the time Telegram asks; a reply waits it out and is sent again
  (up to `max_retries` times), a bulk call raises it to the outbox, which reschedules the row.

Several instances on one PostgreSQL database share Telegram's limit: `share(n)` gives this
instance its part of the overall second (bot/share.py counts the instances), and `pause(s)`
keeps a newcomer silent until the others have lowered their parts.

Calls that are not messages (answering a button, commands menus, getMe) pass straight through.
Time comes from the injected clock, so tests run on a FakeClock without sleeping.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import Callable, Coroutine
from datetime import timedelta
from typing import Any

from telegram._utils.types import JSONDict
from telegram.error import RetryAfter
from telegram.ext import BaseRateLimiter

from bot.clock import Clock

log = logging.getLogger(__name__)

# New messages: each takes one from the chat's bucket and one from the overall second.
MESSAGE_ENDPOINTS = frozenset(
    {
        "sendMessage",
        "sendDocument",
        "sendPhoto",
        "sendAudio",
        "sendVideo",
        "sendVoice",
        "sendAnimation",
        "sendSticker",
        "sendMediaGroup",
        "sendLocation",
        "sendContact",
        "sendPoll",
        "copyMessage",
        "forwardMessage",
    }
)
# Edits count towards the overall second only.
EDIT_ENDPOINTS = frozenset(
    {"editMessageText", "editMessageReplyMarkup", "editMessageCaption", "editMessageMedia"}
)

RateLimitArgs = dict[str, Any]


def seconds(value: float | timedelta) -> float:
    return value.total_seconds() if isinstance(value, timedelta) else float(value)


def _chat(value: Any) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None  # a channel's @username: no per-chat bucket (the bot writes to none)


class SendBudget(BaseRateLimiter[RateLimitArgs]):
    """Paces every message and edit the bot sends; see the module docstring."""

    def __init__(
        self,
        clock: Clock,
        per_second: float = 30.0,
        *,
        per_chat_seconds: float = 1.0,
        chat_burst: int = 3,
        max_retries: int = 5,
    ) -> None:
        self.clock = clock
        self.rate = per_second  # the whole bot's, over every instance
        self.instances = 1
        self.capacity = 1
        self.window = 1.0
        self.share(1)
        self._paused_until = 0.0
        self.per_chat = per_chat_seconds
        self.burst = float(chat_burst)
        self.max_retries = max_retries
        self._recent: deque[float] = deque()  # answered (or counted) calls, oldest first
        self._in_flight = 0  # sent, not answered yet: they hold a place in every second
        self._answer = asyncio.Event()
        self._buckets: dict[int, tuple[float, float]] = {}  # chat -> (tokens, at)
        self._blocked: dict[int, float] = {}  # chat -> until (Telegram said retry after)
        self._urgent_waiting = 0
        self._no_urgent = asyncio.Event()
        self.refusals = 0  # 429s Telegram answered (for /metrics)
        self._no_urgent.set()

    async def initialize(self) -> None:
        return None

    async def shutdown(self) -> None:
        return None

    # --- several instances -------------------------------------------------------------
    def share(self, instances: int) -> None:
        """Send at most this instance's part when `instances` share the bot's token: a sliding
        window of `capacity` calls per `window` seconds. Alone, all of `rate` (25/s: 25 in any
        second). Shared, `rate // instances` in any whole second, rounded down, so the parts
        never add up to more than `rate` in any second; calls already in the window count, so
        a lowered part takes effect at once."""
        self.instances = max(1, instances)
        if self.instances == 1:
            self.capacity = max(1, int(self.rate))
            self.window = self.capacity / self.rate
        else:
            self.capacity = max(1, int(self.rate // self.instances))
            self.window = 1.0

    def pause(self, seconds: float) -> None:
        """Send nothing counted for `seconds` from now (calls wait, none is refused)."""
        self._paused_until = max(self._paused_until, self._now() + seconds)

    @property
    def paused(self) -> bool:
        return self._now() < self._paused_until

    # --- the budget --------------------------------------------------------------------
    def _now(self) -> float:
        return self.clock.now().timestamp()

    def _overall_ready(self, now: float) -> float | None:
        """When the overall second has room; None: only an answer can make room."""
        if now < self._paused_until:
            return self._paused_until
        while self._recent and self._recent[0] <= now - self.window:
            self._recent.popleft()
        if len(self._recent) + self._in_flight < self.capacity:
            return now
        return self._recent[0] + self.window if self._recent else None

    def _tokens(self, chat_id: int, now: float) -> float:
        tokens, at = self._buckets.get(chat_id, (self.burst, now))
        return min(self.burst, tokens + max(0.0, now - at) / self.per_chat)

    def _chat_ready(self, chat_id: int, now: float) -> float:
        tokens = self._tokens(chat_id, now)
        ready = now if tokens >= 1.0 else now + (1.0 - tokens) * self.per_chat
        return max(ready, self._blocked.get(chat_id, 0.0))

    def chat_ready_in(self, chat_id: int, new_message: bool = True) -> float:
        """Seconds until one more message (or, with `new_message=False`, an edit) to this chat
        fits its own limits, leaving the overall second aside: 0 when it fits now. The outbox
        skips a chat that is not ready instead of waiting on it."""
        now = self._now()
        ready = self._chat_ready(chat_id, now) if new_message else self._blocked.get(chat_id, now)
        return max(0.0, ready - now)

    def sent_lately(self, chat_id: int, within: float) -> bool:
        """Whether a new message went to this chat (or was answered) in the last `within`
        seconds. A chat is forgotten only once its bucket is full again and 10,000 others
        are known: then it counts as not sent to lately."""
        entry = self._buckets.get(chat_id)
        return entry is not None and self._now() - entry[1] < within

    def _take(self, chat_id: int | None, now: float, new_message: bool, held: bool) -> None:
        if held:
            self._in_flight += 1
        else:
            self._recent.append(now)
        if chat_id is None or not new_message:
            return
        self._buckets[chat_id] = (self._tokens(chat_id, now) - 1.0, now)
        if len(self._buckets) > 10_000:
            self._buckets = {
                c: (t, at)
                for c, (t, at) in self._buckets.items()
                if t + (now - at) / self.per_chat < self.burst
            }
            self._blocked = {c: u for c, u in self._blocked.items() if u > now}

    async def wait(
        self,
        chat_id: int | None,
        new_message: bool = True,
        urgent: bool = True,
        *,
        held: bool = False,
    ) -> None:
        """Return when one more call to `chat_id` fits in the budget, and count it. With
        `held`, the call holds its place until `answered()` says Telegram has answered."""
        counted = False
        try:
            while True:
                if not urgent and self._urgent_waiting:
                    await self._no_urgent.wait()  # a reply is waiting for room: it goes first
                    continue
                now = self._now()
                overall = self._overall_ready(now)
                chat = (
                    self._chat_ready(chat_id, now)
                    if chat_id is not None and new_message
                    else self._blocked.get(chat_id or 0, now)
                )
                if urgent and not counted and (overall is None or overall > now):
                    counted = True  # a reply waits for room: bulk sends wait behind it
                    self._urgent_waiting += 1
                    self._no_urgent.clear()
                if overall is None:  # every place is held by a call in flight
                    self._answer.clear()
                    await self._answer.wait()
                    continue
                ready = max(overall, chat)
                if ready <= now:
                    self._take(chat_id, now, new_message, held)
                    return
                await self.clock.sleep(ready - now)
        finally:
            if counted:
                self._urgent_waiting -= 1
                if not self._urgent_waiting:
                    self._no_urgent.set()

    def answered(self, chat_id: int | None, new_message: bool) -> None:
        """A held call has its answer: its place in the second counts from now, and so does
        the refill of its chat's bucket."""
        now = self._now()
        self._in_flight -= 1
        self._recent.append(now)
        if chat_id is not None and new_message and chat_id in self._buckets:
            tokens, at = self._buckets[chat_id]
            self._buckets[chat_id] = (tokens, max(at, now))
        self._answer.set()

    def blocked(self, chat_id: int | None, retry_after: float) -> None:
        """Telegram said to wait: nothing more to this chat until then."""
        self.refusals += 1
        if chat_id is not None:
            until = self._now() + retry_after
            self._blocked[chat_id] = max(self._blocked.get(chat_id, 0.0), until)

    async def process_request(
        self,
        callback: Callable[..., Coroutine[Any, Any, bool | JSONDict | list[JSONDict]]],
        args: Any,
        kwargs: dict[str, Any],
        endpoint: str,
        data: dict[str, Any],
        rate_limit_args: RateLimitArgs | None,
    ) -> bool | JSONDict | list[JSONDict]:
        counted = endpoint in MESSAGE_ENDPOINTS or endpoint in EDIT_ENDPOINTS
        if not counted:
            return await callback(*args, **kwargs)
        chat_id = _chat(data.get("chat_id"))
        bulk = bool((rate_limit_args or {}).get("bulk"))
        new_message = endpoint in MESSAGE_ENDPOINTS
        attempt = 0
        while True:
            await self.wait(chat_id, new_message, urgent=not bulk, held=True)
            try:
                return await callback(*args, **kwargs)
            except RetryAfter as exc:
                delay = seconds(exc.retry_after)
                self.blocked(chat_id, delay)
                if bulk or attempt >= self.max_retries:
                    raise
                attempt += 1
                log.warning("Telegram asked to wait %.0f s before a reply; waiting", delay)
            finally:
                self.answered(chat_id, new_message)
