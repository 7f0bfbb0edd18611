"""The Bot API's HTTP client (bot/botapi.py) against real local HTTP servers: what goes over
the wire, and what python-telegram-bot raises when Telegram refuses, fails or says nothing."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from urllib.parse import parse_qsl

import pytest
from telegram import Bot, InlineKeyboardButton, InlineKeyboardMarkup
from telegram.error import NetworkError, RetryAfter, TimedOut

from bot.botapi import AiohttpRequest
from bot.sandbox.httpapi import BOT_USER, HttpBotApi

TOKEN = "123456789:AAbotapi-test-token"

Reply = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]


@asynccontextmanager
async def bot_on(port: int, **timeouts: float) -> AsyncIterator[Bot]:
    bot = Bot(
        TOKEN,
        base_url=f"http://127.0.0.1:{port}/bot",
        request=AiohttpRequest(**timeouts),  # type: ignore[arg-type]
        get_updates_request=AiohttpRequest(connection_pool_size=1),
    )
    async with bot:
        yield bot


@asynccontextmanager
async def bare_bot(port: int) -> AsyncIterator[Bot]:
    """A bot whose client is ready but which has not asked getMe (the raw servers below
    answer one call only)."""
    request = AiohttpRequest()
    await request.initialize()
    try:
        yield Bot(TOKEN, base_url=f"http://127.0.0.1:{port}/bot", request=request)
    finally:
        await request.shutdown()


@asynccontextmanager
async def fake_api(**limits: int) -> AsyncIterator[tuple[HttpBotApi, int]]:
    api = HttpBotApi(token=TOKEN, **limits)  # type: ignore[arg-type]
    port = await api.start()
    try:
        yield api, port
    finally:
        await api.close()


def answering_once(seen: dict[str, bytes], result: object) -> Reply:
    """A server's side of one call: keep the request's head and body in `seen`, answer
    `{"ok": true, "result": result}` and close."""

    async def reply(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        head = await reader.readuntil(b"\r\n\r\n")
        length = next(
            int(line.split(b":", 1)[1])
            for line in head.split(b"\r\n")
            if line.lower().startswith(b"content-length:")
        )
        seen["head"], seen["body"] = head, await reader.readexactly(length)
        body = json.dumps({"ok": True, "result": result}).encode()
        writer.write(
            b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
            b"Content-Length: %d\r\nConnection: close\r\n\r\n%s" % (len(body), body)
        )
        await writer.drain()
        writer.close()

    return reply


@asynccontextmanager
async def raw_server(reply: Reply) -> AsyncIterator[int]:
    server = await asyncio.start_server(reply, "127.0.0.1", 0)
    try:
        yield server.sockets[0].getsockname()[1]
    finally:
        server.close()


async def test_a_message_goes_as_python_telegram_bot_encodes_it_and_comes_back_parsed() -> None:
    async with fake_api() as (api, port), bot_on(port) as bot:
        assert bot.username == BOT_USER["username"]  # getMe at start, through this client
        buttons = InlineKeyboardMarkup([[InlineKeyboardButton("Kyllä", callback_data="y:1")]])
        sent = await bot.send_message(4242, "Hei, ääkköset ja 😊", reply_markup=buttons)
    assert sent.chat.id == 4242 and sent.text == "Hei, ääkköset ja 😊"
    [call] = api.sent(4242)
    assert call.text == "Hei, ääkköset ja 😊"
    assert call.button_data() == ["y:1"]


async def test_telegrams_flood_control_reaches_the_bot_as_retry_after() -> None:
    async with fake_api(chat_burst=1) as (api, port), bot_on(port) as bot:
        await bot.send_message(7, "yksi")
        with pytest.raises(RetryAfter) as refused:
            await bot.send_message(7, "kaksi")
    assert "retry in 1 seconds" in refused.value.message.lower()
    assert [c.status for c in api.calls if c.chat_id == 7] == [200, 429]


async def test_a_file_goes_up_as_multipart_with_its_name_type_and_the_other_fields() -> None:
    seen: dict[str, bytes] = {}
    message = {"message_id": 1, "date": 0, "chat": {"id": 5, "type": "private"}}
    reply = answering_once(seen, message)

    async with raw_server(reply) as port, bare_bot(port) as bot:
        await bot.send_document(5, b"%PDF-1.4 tiedot", filename="selvitys.pdf", caption="Kuitti")
    head, body = seen["head"].lower(), seen["body"]
    assert b"content-type: multipart/form-data" in head
    assert b"python-telegram-bot" in head  # the library's User-Agent
    assert b'filename="selvitys.pdf"' in body and b"%PDF-1.4 tiedot" in body
    assert b'name="caption"' in body and b"Kuitti" in body
    assert b'name="chat_id"' in body


async def test_a_plain_call_is_a_form_like_python_telegram_bots_own() -> None:
    seen: dict[str, bytes] = {}
    reply = answering_once(seen, True)

    async with raw_server(reply) as port, bare_bot(port) as bot:
        assert await bot.answer_callback_query("77", text="Kiitos")
    assert b"application/x-www-form-urlencoded" in seen["head"].lower()
    assert dict(parse_qsl(seen["body"].decode())) == {"callback_query_id": "77", "text": "Kiitos"}


async def test_an_answer_that_never_comes_is_timed_out_not_a_hang() -> None:
    async def silent(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.read()  # reads until the client gives up and closes

    async with raw_server(silent) as port, bare_bot(port) as bot:
        with pytest.raises(TimedOut):
            await bot.send_message(1, "hei", read_timeout=0.05)


async def test_nobody_listening_is_a_network_error_named_for_aiohttp() -> None:
    async with raw_server(lambda r, w: asyncio.sleep(0)) as port:
        pass  # the port is free again: nothing listens there now
    async with bare_bot(port) as bot:
        with pytest.raises(NetworkError) as failed:
            await bot.send_message(1, "hei")
    assert not isinstance(failed.value, TimedOut)
    assert str(failed.value).startswith("aiohttp.")
    assert TOKEN not in str(failed.value)


async def test_a_request_used_before_it_is_initialised_says_so() -> None:
    with pytest.raises(RuntimeError, match="not initialized"):
        await AiohttpRequest().do_request("http://127.0.0.1:9/x", "POST")
