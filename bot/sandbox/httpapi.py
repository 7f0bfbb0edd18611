"""A Bot API over real HTTP with Telegram's flood control, on the real clock, for tests and
benchmarks that run the bot as separate processes (several instances on one PostgreSQL).

Counted when a call arrives, as Telegram counts it: at most `limit` messages and edits in any
sliding `window` seconds over all chats, and new messages to one chat from a bucket of
`chat_burst` that refills one a second; beyond either, 429 with `retry_after` (the same rules
as bot/sandbox/fakebot.py, which the in-process tests use). Every call is kept in `calls`, in
the order it arrived, refused ones too, so a test can check what each chat saw and in which
order, and that no second ever held more than `limit` calls.

Calls that are not messages (getMe, setWebhook, commands, answering a button) are answered
"ok"; an edit of a message the fake never sent is accepted too (a test's button press names
a message of its own).
"""

from __future__ import annotations

import asyncio
import json
import time
from collections import deque
from contextlib import suppress
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from bot.budget import EDIT_ENDPOINTS, MESSAGE_ENDPOINTS

BOT_USER = {
    "id": 123456789,
    "is_bot": True,
    "first_name": "Kokemusbotti",
    "username": "kokemus_sandbox_bot",
    "can_join_groups": False,
    "can_read_all_group_messages": False,
    "supports_inline_queries": False,
}


@dataclass(frozen=True)
class Call:
    """One call as it arrived: when (time.monotonic()), what, to whom, and the answer."""

    at: float
    method: str
    chat_id: int | None
    text: str
    markup: Any
    status: int

    @property
    def accepted(self) -> bool:
        return self.status == 200

    def button_data(self) -> list[str]:
        """The callback data of the message's inline buttons."""
        if not isinstance(self.markup, dict):
            return []
        rows = self.markup.get("inline_keyboard") or []
        return [str(b.get("callback_data", "")) for row in rows for b in row]


def _error(status: int, description: str, **parameters: int) -> tuple[int, dict[str, Any]]:
    body: dict[str, Any] = {"ok": False, "error_code": status, "description": description}
    if parameters:
        body["parameters"] = parameters
    return status, body


def _decoded(value: Any) -> Any:
    """Form-encoded requests carry complex parameters as JSON strings; JSON ones as objects."""
    if isinstance(value, str):
        with suppress(ValueError):
            return json.loads(value)
    return value


def _chat(params: dict[str, Any]) -> int | None:
    try:
        return int(params["chat_id"])
    except (KeyError, TypeError, ValueError):
        return None


def most_in_any_window(times: list[float], window: float = 1.0) -> int:
    """The most calls in any sliding `window` seconds."""
    ordered = sorted(times)
    most, first = 0, 0
    for last, at in enumerate(ordered):
        while ordered[first] <= at - window:
            first += 1
        most = max(most, last - first + 1)
    return most


@dataclass
class HttpBotApi:
    """The fake Bot API; `start()` listens on a free port of 127.0.0.1."""

    token: str
    limit: int = 30
    window: float = 1.0
    chat_burst: int = 3
    retry_after: int = 1
    calls: list[Call] = field(default_factory=list)
    _recent: deque[float] = field(default_factory=deque)
    _buckets: dict[int, tuple[float, float]] = field(default_factory=dict)
    _next_id: int = 1
    _server: asyncio.Server | None = None
    _connections: dict[asyncio.Task[None], asyncio.StreamWriter] = field(default_factory=dict)

    # --- what a test reads -------------------------------------------------------------
    def sent(self, chat_id: int | None = None) -> list[Call]:
        """New messages Telegram accepted, in order (to one chat, or to all)."""
        return [
            c
            for c in self.calls
            if c.accepted
            and c.method in MESSAGE_ENDPOINTS
            and (chat_id is None or c.chat_id == chat_id)
        ]

    @property
    def too_many(self) -> int:
        return sum(c.status == 429 for c in self.calls)

    def most_in_any_second(self) -> int:
        """The most messages and edits that arrived in any sliding window, refused or not."""
        counted = MESSAGE_ENDPOINTS | EDIT_ENDPOINTS
        return most_in_any_window([c.at for c in self.calls if c.method in counted], self.window)

    # --- the server --------------------------------------------------------------------
    async def start(self) -> int:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        port: int = self._server.sockets[0].getsockname()[1]
        return port

    async def close(self) -> None:
        if self._server is None:
            return
        self._server.close()
        # Closing open keep-alive connections ends their handlers at the next read.
        for writer in self._connections.values():
            writer.close()
        await asyncio.gather(*self._connections, return_exceptions=True)
        await self._server.wait_closed()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._connections[task] = writer
        try:
            while await self._one_request(reader, writer):
                pass
        except (asyncio.IncompleteReadError, ConnectionError, ValueError):
            pass
        finally:
            self._connections.pop(task, None)
            writer.close()
            with suppress(ConnectionError):
                await writer.wait_closed()

    async def _one_request(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> bool:
        """Answer one request; False when the connection is to be closed."""
        request_line = await reader.readline()
        if not request_line.strip():
            return False
        _verb, target, version = request_line.decode("latin-1").split()
        headers: dict[str, str] = {}
        while (line := await reader.readline()) not in (b"\r\n", b"\n", b""):
            name, _, value = line.decode("latin-1").partition(":")
            headers[name.strip().lower()] = value.strip()
        keep_alive = False
        if "chunked" in headers.get("transfer-encoding", "").lower():
            status, body = _error(411, "Length Required")
        else:
            length = int(headers.get("content-length") or 0)
            payload = await reader.readexactly(length) if length else b""
            status, body = self._route(target, headers.get("content-type", ""), payload)
            connection = headers.get("connection", "").lower()
            keep_alive = connection == "keep-alive" or (
                version == "HTTP/1.1" and connection != "close"
            )
        data = json.dumps(body).encode()
        head = (
            f"HTTP/1.1 {status} {'OK' if status == 200 else 'Error'}\r\n"
            "Content-Type: application/json\r\n"
            f"Content-Length: {len(data)}\r\n"
            f"Connection: {'keep-alive' if keep_alive else 'close'}\r\n\r\n"
        )
        writer.write(head.encode("latin-1") + data)
        await writer.drain()
        return keep_alive

    def _route(self, target: str, content_type: str, payload: bytes) -> tuple[int, dict[str, Any]]:
        prefix, _, method = urlsplit(target).path.rpartition("/")
        if prefix != f"/bot{self.token}":
            return _error(401, "Unauthorized")
        kind = content_type.split(";")[0].strip().lower()
        params: dict[str, Any]
        if not payload:
            params = {}
        elif kind == "application/json":
            params = json.loads(payload)
        elif kind == "application/x-www-form-urlencoded":
            params = dict(parse_qsl(payload.decode(), keep_blank_values=True))
        else:
            return _error(400, f"Bad Request: the fake does not take {kind or 'this body'}")
        return self.handle(method, params)

    # --- the Bot API -------------------------------------------------------------------
    def handle(self, method: str, params: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        chat = _chat(params)
        counted = method in MESSAGE_ENDPOINTS or method in EDIT_ENDPOINTS
        new_message = method in MESSAGE_ENDPOINTS
        status: int = 200
        body: dict[str, Any] = {"ok": True, "result": True}
        if counted and not self._admit(chat, new_message):
            status, body = _error(
                429,
                f"Too Many Requests: retry after {self.retry_after}",
                retry_after=self.retry_after,
            )
        elif method == "getMe":
            body = {"ok": True, "result": BOT_USER}
        elif counted and chat is not None:
            message_id = params.get("message_id")
            if message_id is None:
                message_id, self._next_id = self._next_id, self._next_id + 1
            body = {"ok": True, "result": _message(chat, int(message_id), params)}
        self.calls.append(
            Call(
                at=time.monotonic(),
                method=method,
                chat_id=chat,
                text=str(params.get("text") or params.get("caption") or ""),
                markup=_decoded(params.get("reply_markup")),
                status=status,
            )
        )
        return status, body

    def _admit(self, chat: int | None, new_message: bool) -> bool:
        """Count a call against the sliding window and the chat's bucket; False (and nothing
        counted) when either is already used up."""
        now = time.monotonic()
        while self._recent and self._recent[0] <= now - self.window:
            self._recent.popleft()
        if len(self._recent) >= self.limit:
            return False
        if chat is not None and new_message:
            tokens, at = self._buckets.get(chat, (float(self.chat_burst), now))
            tokens = min(float(self.chat_burst), tokens + (now - at))
            if tokens < 1.0:
                return False
            self._buckets[chat] = (tokens - 1.0, now)
        self._recent.append(now)
        return True


def _message(chat_id: int, message_id: int, params: dict[str, Any]) -> dict[str, Any]:
    return {
        "message_id": message_id,
        "date": int(time.time()),
        "from": BOT_USER,
        "chat": {"id": chat_id, "type": "private", "first_name": "x"},
        "text": str(params.get("text") or ""),
    }
