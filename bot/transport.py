"""The one way out to Telegram for replies and the outbox: sends, edits, files and button
answers, and what Telegram's errors mean for us.

Every call still passes the one send budget (bot/budget.py, PTB's rate-limiter hook): replies go
first, and a 429 on a reply is waited out there. What comes back out of a call is one of our
own failures, decided here and nowhere else:

- `Blocked`: the person has blocked the bot (403); nothing to them will arrive;
- `NotModified`: an edit that would change nothing; the edit methods treat it as done;
- `RetryLater`: Telegram said "retry after N" (the budget now holds that chat for N seconds);
- `Transient`: the network, a timeout or Telegram's 5xx: worth trying again later;
- `Rejected`: any other 400 (too long, message gone, bad markup): retrying cannot help.
"""

from __future__ import annotations

from collections.abc import Awaitable, Iterator
from contextlib import contextmanager
from enum import StrEnum
from typing import Any

from telegram import (
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    Message,
    ReplyKeyboardMarkup,
)
from telegram.error import BadRequest, Forbidden, RetryAfter, TelegramError
from telegram.ext import ExtBot

from bot.budget import seconds
from bot.messages import Keyboard, Kind, OutMessage

# What may hang under a message: the domain's buttons, or (from handlers) Telegram's own.
InlineMarkup = Keyboard | InlineKeyboardMarkup | None
Markup = InlineMarkup | ReplyKeyboardMarkup
BULK = {"bulk": True}  # rate_limit_args: the budget lets replies go first


class Failure(StrEnum):
    BLOCKED = "blocked"
    NOT_MODIFIED = "not_modified"
    RETRY_AFTER = "retry_after"
    TRANSIENT = "transient"
    REJECTED = "rejected"


class SendFailed(Exception):
    """A Bot API call did not do what was asked; `failure` says what to do about it."""

    failure: Failure = Failure.TRANSIENT

    def __init__(self, detail: str, retry_after: float = 0.0) -> None:
        super().__init__(detail)
        self.detail = detail
        self.retry_after = retry_after


class Blocked(SendFailed):
    failure = Failure.BLOCKED


class NotModified(SendFailed):
    failure = Failure.NOT_MODIFIED


class RetryLater(SendFailed):
    failure = Failure.RETRY_AFTER


class Transient(SendFailed):
    failure = Failure.TRANSIENT


class Rejected(SendFailed):
    failure = Failure.REJECTED


def classify(exc: TelegramError) -> SendFailed:
    """Telegram's error as one of ours (see the module docstring)."""
    detail = str(exc.message)[:200]
    if isinstance(exc, RetryAfter):
        return RetryLater(detail, seconds(exc.retry_after))
    if isinstance(exc, Forbidden):
        return Blocked(detail)
    if isinstance(exc, BadRequest):  # before NetworkError: PTB derives BadRequest from it
        if "not modified" in detail.lower():
            return NotModified(detail)
        return Rejected(detail)
    return Transient(detail)  # NetworkError, TimedOut, 5xx, and anything else Telegram says


@contextmanager
def mapped() -> Iterator[None]:
    """Raise Telegram's errors inside as ours."""
    try:
        yield
    except TelegramError as exc:
        raise classify(exc) from exc


def inline(markup: InlineMarkup) -> InlineKeyboardMarkup | None:
    """Telegram's inline keyboard for the domain's one (Telegram's own passes through)."""
    if not isinstance(markup, Keyboard):
        return markup
    return InlineKeyboardMarkup(
        [[InlineKeyboardButton(b.label, callback_data=b.data) for b in row] for row in markup.rows]
    )


def reply_markup(markup: Markup) -> InlineKeyboardMarkup | ReplyKeyboardMarkup | None:
    return markup if isinstance(markup, ReplyKeyboardMarkup) else inline(markup)


def _limits(bulk: bool) -> dict[str, Any] | None:
    return BULK if bulk else None


async def _sent(call: Awaitable[Message]) -> int:
    """The id of the message a send made."""
    with mapped():
        message = await call
    return message.message_id


async def _edited(call: Awaitable[object]) -> None:
    """Make an edit; one that would change nothing is already done."""
    try:
        with mapped():
            await call
    except NotModified:
        return


class Transport:
    """Bot API calls in our own terms; see the module docstring."""

    def __init__(self, bot: ExtBot[Any]) -> None:
        self.bot = bot

    async def send_text(
        self,
        chat_id: int,
        text: str,
        markup: Markup = None,
        *,
        parse_mode: str | None = None,
        bulk: bool = False,
    ) -> int:
        """Send a message; returns its message id."""
        return await _sent(
            self.bot.send_message(
                chat_id,
                text,
                reply_markup=reply_markup(markup),
                parse_mode=parse_mode,
                rate_limit_args=_limits(bulk),
            )
        )

    async def send_file(
        self,
        chat_id: int,
        content: bytes,
        filename: str,
        *,
        photo: bool = False,
        caption: str | None = None,
        bulk: bool = False,
    ) -> int:
        """Send a file, or an image shown in the chat; returns its message id."""
        send = self.bot.send_photo if photo else self.bot.send_document
        return await _sent(
            send(
                chat_id, content, filename=filename, caption=caption, rate_limit_args=_limits(bulk)
            )
        )

    async def send_stored(
        self, chat_id: int, file_id: str, *, photo: bool = False, caption: str | None = None
    ) -> int:
        """Send again a file Telegram already holds (a receipt), by its file_id."""
        if photo:
            return await _sent(self.bot.send_photo(chat_id, file_id, caption=caption))
        return await _sent(self.bot.send_document(chat_id, file_id, caption=caption))

    async def edit_text(
        self,
        chat_id: int,
        message_id: int,
        text: str,
        markup: InlineMarkup = None,
        *,
        parse_mode: str | None = None,
        bulk: bool = False,
    ) -> None:
        """Replace a message's text and buttons; one that already says this is left alone."""
        await _edited(
            self.bot.edit_message_text(
                text,
                chat_id=chat_id,
                message_id=message_id,
                reply_markup=inline(markup),
                parse_mode=parse_mode,
                rate_limit_args=_limits(bulk),
            )
        )

    async def edit_markup(
        self, chat_id: int, message_id: int, markup: InlineMarkup, *, bulk: bool = False
    ) -> None:
        """Replace only a message's buttons (None: take them away)."""
        await _edited(
            self.bot.edit_message_reply_markup(
                chat_id=chat_id,
                message_id=message_id,
                reply_markup=inline(markup),
                rate_limit_args=_limits(bulk),
            )
        )

    async def answer(self, query_id: str, text: str | None = None, alert: bool = False) -> None:
        """Answer a pressed button (Telegram stops the spinner), with a short note or none."""
        with mapped():
            await self.bot.answer_callback_query(query_id, text, show_alert=alert)

    async def deliver(self, msg: OutMessage, *, bulk: bool = True) -> int:
        """Send or apply one outbox message; returns the id of the message it is in."""
        if msg.kind == Kind.EDIT:
            assert msg.message_id is not None, "an edit names the message it replaces"
            await self.edit_text(
                msg.chat_id,
                msg.message_id,
                msg.text,
                msg.keyboard,
                parse_mode=msg.parse_mode,
                bulk=bulk,
            )
            return msg.message_id
        if msg.kind in (Kind.DOCUMENT, Kind.PHOTO):
            return await self.send_file(
                msg.chat_id,
                msg.file or b"",
                msg.filename or ("image.png" if msg.kind == Kind.PHOTO else "file.txt"),
                photo=msg.kind == Kind.PHOTO,
                caption=msg.caption,
                bulk=bulk,
            )
        return await self.send_text(
            msg.chat_id, msg.text, msg.keyboard, parse_mode=msg.parse_mode, bulk=bulk
        )
