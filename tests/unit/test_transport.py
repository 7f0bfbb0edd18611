"""The transport decides, in one place, what Telegram's answers mean for us: blocked, not
modified (an edit that is already done), retry after, transient (network, 5xx) or rejected.
First the mapping itself, then the same answers from the strict fake Bot API through PTB and
the send budget, as the bot meets them."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import pytest
from telegram.error import (
    BadRequest,
    ChatMigrated,
    Forbidden,
    NetworkError,
    RetryAfter,
    TelegramError,
    TimedOut,
)
from telegram.ext import ExtBot

from bot.budget import SendBudget
from bot.clock import FakeClock
from bot.messages import Keyboard, Kind, OutMessage
from bot.sandbox.fakebot import FakeTelegram, Fault
from bot.transport import (
    Blocked,
    Failure,
    NotModified,
    Rejected,
    RetryLater,
    SendFailed,
    Transient,
    Transport,
    classify,
)
from tests.harness import TOKEN

CHAT = 4242


@pytest.mark.parametrize(
    ("error", "kind", "failure"),
    [
        (Forbidden("Forbidden: bot was blocked by the user"), Blocked, Failure.BLOCKED),
        (Forbidden("Forbidden: user is deactivated"), Blocked, Failure.BLOCKED),
        (
            BadRequest("Message is not modified: specified new message content"),
            NotModified,
            Failure.NOT_MODIFIED,
        ),
        (BadRequest("Message to edit not found"), Rejected, Failure.REJECTED),
        (BadRequest("Message is too long"), Rejected, Failure.REJECTED),
        (TimedOut(), Transient, Failure.TRANSIENT),
        (NetworkError("Bad Gateway"), Transient, Failure.TRANSIENT),
        (NetworkError("Internal Server Error (500)"), Transient, Failure.TRANSIENT),
        (ChatMigrated(99), Transient, Failure.TRANSIENT),
    ],
)
def test_telegrams_errors_map_to_ours(
    error: TelegramError, kind: type[SendFailed], failure: Failure
) -> None:
    mapped = classify(error)
    assert type(mapped) is kind
    assert mapped.failure is failure
    assert mapped.detail == error.message


def test_retry_after_carries_telegrams_wait_in_seconds() -> None:
    mapped = classify(RetryAfter(6))
    assert isinstance(mapped, RetryLater)
    assert mapped.failure is Failure.RETRY_AFTER
    assert mapped.retry_after == 6.0


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(datetime(2026, 11, 23, 8, 0, tzinfo=UTC))


@pytest.fixture
def tg(clock: FakeClock) -> FakeTelegram:
    return FakeTelegram(clock)


@pytest.fixture
async def transport(tg: FakeTelegram, clock: FakeClock) -> AsyncIterator[Transport]:
    bot: ExtBot[Any] = ExtBot(
        TOKEN,
        request=tg.request(),
        get_updates_request=tg.request(),
        rate_limiter=SendBudget(clock),
    )
    async with bot:
        yield Transport(bot)


def _fail(tg: FakeTelegram, method: str, status: int, text: str, **extra: Any) -> None:
    tg.faults.append(Fault(method, CHAT, status, text, **extra))


async def test_a_message_goes_out_with_its_buttons(tg: FakeTelegram, transport: Transport) -> None:
    keyboard = Keyboard.of([[("Otan", "of:a:1"), ("En", "of:d:1")], [("Miksi?", "of:w:1")]])
    message_id = await transport.send_text(CHAT, "Uusi keikka", keyboard)
    [sent] = tg.chat(CHAT)
    assert sent.message_id == message_id
    assert [[(b.text, b.data) for b in row] for row in sent.buttons] == [
        [("Otan", "of:a:1"), ("En", "of:d:1")],
        [("Miksi?", "of:w:1")],
    ]


@pytest.mark.parametrize(
    ("status", "description", "raised"),
    [
        (403, "Forbidden: bot was blocked by the user", Blocked),
        (502, "Bad Gateway", Transient),
        (500, "Internal Server Error", Transient),
        (0, "timeout", Transient),
        (400, "Bad Request: chat not found", Rejected),
    ],
)
async def test_a_refused_send_raises_our_failure(
    tg: FakeTelegram, transport: Transport, status: int, description: str, raised: type
) -> None:
    _fail(tg, "sendMessage", status, description)
    with pytest.raises(raised):
        await transport.send_text(CHAT, "hei", bulk=True)
    assert tg.chat(CHAT) == []


async def test_a_text_telegram_refuses_is_rejected(tg: FakeTelegram, transport: Transport) -> None:
    with pytest.raises(Rejected, match="too long"):
        await transport.send_text(CHAT, "x" * 4097)


async def test_a_429_on_a_bulk_send_is_retry_later_with_telegrams_time(
    tg: FakeTelegram, transport: Transport
) -> None:
    _fail(tg, "sendMessage", 429, "Too Many Requests: retry after 6", retry_after=6)
    with pytest.raises(RetryLater) as caught:
        await transport.send_text(CHAT, "hei", bulk=True)
    assert caught.value.retry_after == 6.0


async def test_a_429_on_a_reply_is_waited_out(
    tg: FakeTelegram, transport: Transport, clock: FakeClock
) -> None:
    _fail(tg, "sendMessage", 429, "Too Many Requests: retry after 6", retry_after=6)
    await transport.send_text(CHAT, "hei")
    assert [m.text for m in tg.chat(CHAT)] == ["hei"]
    assert clock.slept >= 6


async def test_an_edit_that_changes_nothing_is_done(tg: FakeTelegram, transport: Transport) -> None:
    keyboard = Keyboard.of([[("Otan", "of:a:1")]])
    message_id = await transport.send_text(CHAT, "Uusi keikka", keyboard)
    await transport.edit_text(CHAT, message_id, "Uusi keikka", keyboard)
    await transport.edit_markup(CHAT, message_id, keyboard)
    [sent] = tg.chat(CHAT)
    assert sent.edits == 0  # the fake answered "not modified" both times; nothing raised
    await transport.edit_text(CHAT, message_id, "Otettu")
    await transport.edit_markup(CHAT, message_id, None)
    assert (sent.text, sent.buttons, sent.edits) == ("Otettu", [], 1)


async def test_an_edit_of_a_message_that_is_gone_is_rejected(transport: Transport) -> None:
    with pytest.raises(Rejected, match="not found"):
        await transport.edit_text(CHAT, 999, "Otettu")


async def test_an_edit_to_someone_who_blocked_the_bot_is_blocked(
    tg: FakeTelegram, transport: Transport
) -> None:
    message_id = await transport.send_text(CHAT, "Uusi keikka")
    _fail(tg, "editMessageText", 403, "Forbidden: bot was blocked by the user")
    with pytest.raises(Blocked):
        await transport.edit_text(CHAT, message_id, "Otettu", bulk=True)


async def test_outbox_messages_go_out_by_kind(tg: FakeTelegram, transport: Transport) -> None:
    first = await transport.deliver(OutMessage(CHAT, "Keikka", Keyboard.of([[("Otan", "a")]])))
    calendar = OutMessage(CHAT, kind=Kind.DOCUMENT, file=b"BEGIN:VCALENDAR", filename="k.ics")
    await transport.deliver(calendar)
    qr = OutMessage(CHAT, kind=Kind.PHOTO, file=b"\x89PNG", filename="qr.png", caption="Koodi")
    await transport.deliver(qr)
    edit = OutMessage(CHAT, "Keikka peruttu", kind=Kind.EDIT, message_id=first)
    assert await transport.deliver(edit) == first
    message, document, photo = tg.chat(CHAT)
    assert (message.text, message.buttons) == ("Keikka peruttu", [])
    assert document.document == ("k.ics", b"BEGIN:VCALENDAR")
    assert photo.document is not None and photo.document[0] == "qr.png"
    assert photo.text == "Koodi"


async def test_a_button_is_answered_with_a_toast(tg: FakeTelegram, transport: Transport) -> None:
    await transport.answer("q1", "Otettu", alert=True)
    await transport.answer("q2")
    assert [
        (a["callback_query_id"], a.get("text"), a.get("show_alert")) for a in tg.callback_answers
    ] == [("q1", "Otettu", True), ("q2", None, False)]
