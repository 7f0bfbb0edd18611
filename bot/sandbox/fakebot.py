"""A fake Bot API: answers like Telegram, keeps every chat's messages, and records each call.

Plugged into the real Application as its request object, so tests exercise python-telegram-bot,
our handlers and the database exactly as in production, minus the network.

It is strict by default, as Telegram is, so a test that sends too fast or too much fails the way
production would (`strict=False` turns the limits off, for benchmarks that model them apart):

- Flood control, on the clock the fake is given (the tests' FakeClock; the bot's send budget
  sleeps on the same clock, which moves it on):
  - at most `PER_SECOND` (30) messages and edits in any sliding second, over all chats;
  - new messages to one chat from a bucket of `CHAT_BURST` (3) that refills one a second
    (`sendMessage`, `sendDocument`, `sendPhoto`; edits do not use the chat's bucket);
  - beyond either: 429 "Too Many Requests: retry after N" with `parameters.retry_after` = N,
    the whole seconds until the call would fit. Refused calls are kept in `refused`.
- Sizes, answered 400 Bad Request with Telegram's wording: a text over 4,096 characters or an
  empty one, a caption over 1,024, callback data over 64 bytes (UTF-8) or empty, a toast
  (answerCallbackQuery text) over 200 characters.
- Faults (`faults`) are injected before all of this, for tests of errors and timeouts.
"""

from __future__ import annotations

import itertools
import json
import math
import re
from collections import deque
from dataclasses import dataclass, field
from html.parser import HTMLParser
from typing import Any

from telegram.error import TimedOut
from telegram.request import BaseRequest, RequestData

from bot.clock import Clock, SystemClock

PER_SECOND = 30  # messages and edits in any sliding second, all chats together
CHAT_BURST = 3  # new messages one chat can take at once; then one a second
MAX_TEXT = 4096
MAX_CAPTION = 1024
MAX_CALLBACK_DATA = 64  # bytes
MAX_TOAST = 200
SENDS = frozenset({"sendMessage", "sendDocument", "sendPhoto"})
EDITS = frozenset({"editMessageText", "editMessageReplyMarkup"})
_EPSILON = 1e-6  # float rounding of the clock, not a tolerance of Telegram's

BOT_USER = {
    "id": 999000,
    "is_bot": True,
    "first_name": "Kokemusbotti",
    "username": "kokemus_test_bot",
    "can_join_groups": False,
    "can_read_all_group_messages": False,
    "supports_inline_queries": False,
}


@dataclass
class Button:
    text: str
    data: str


@dataclass
class Sent:
    """A message as the recipient sees it now (edits applied)."""

    chat_id: int
    message_id: int
    text: str
    buttons: list[list[Button]] = field(default_factory=list)
    reply_keyboard: list[list[str]] | None = None
    document: tuple[str, bytes] | None = None
    edits: int = 0
    date: int = 0
    # Links as Telegram reports them after parsing HTML: text_link with offset/length/url.
    entities: list[dict[str, Any]] = field(default_factory=list)

    def links(self) -> dict[str, str]:
        """Each link's visible text and where it leads."""
        units = self.text.encode("utf-16-le")
        return {
            units[2 * e["offset"] : 2 * (e["offset"] + e["length"])].decode("utf-16-le"): e["url"]
            for e in self.entities
            if e["type"] == "text_link"
        }

    @property
    def flat_buttons(self) -> list[Button]:
        return [b for row in self.buttons for b in row]

    def as_api(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "message_id": self.message_id,
            "date": self.date,
            "from": BOT_USER,
            "chat": {"id": self.chat_id, "type": "private", "first_name": "x"},
            "text": self.text,
        }
        if self.buttons:
            data["reply_markup"] = {
                "inline_keyboard": [
                    [{"text": b.text, "callback_data": b.data} for b in row] for row in self.buttons
                ]
            }
        return data


@dataclass
class Call:
    method: str
    params: dict[str, Any]


@dataclass
class Fault:
    """Make the next matching call fail the way Telegram would (status 0: a timeout)."""

    method: str
    chat_id: int | None
    status: int
    description: str
    retry_after: int | None = None
    times: int = 1


class FakeTelegram:
    """The Bot API as one server; see the module docstring for the limits it enforces."""

    def __init__(self, clock: Clock | None = None, *, strict: bool = True) -> None:
        self.clock: Clock = clock or SystemClock()
        self.strict = strict
        self.refused: list[Call] = []  # calls answered 429 by flood control (not by faults)
        self._recent: deque[float] = deque()
        self._buckets: dict[int, tuple[float, float]] = {}
        self.calls: list[Call] = []
        self.messages: dict[int, list[Sent]] = {}
        self.callback_answers: list[dict[str, Any]] = []
        self.commands: dict[str, list[dict[str, Any]]] = {}
        self.faults: list[Fault] = []
        # Files people sent to the bot, by file_id (what Telegram keeps for sending again).
        self.files: dict[str, tuple[str, bytes]] = {}
        self._ids = itertools.count(1)
        self.now = 1_800_000_000

    def request(self) -> FakeRequest:
        return FakeRequest(self)

    def chat(self, chat_id: int) -> list[Sent]:
        return self.messages.setdefault(chat_id, [])

    def find(self, chat_id: int, message_id: int) -> Sent | None:
        for msg in self.chat(chat_id):
            if msg.message_id == message_id:
                return msg
        return None

    # --- the API --------------------------------------------------------------------------
    def handle(self, method: str, params: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        self.calls.append(Call(method, params))
        chat_id = _int(params.get("chat_id"))
        for fault in self.faults:
            if fault.method == method and fault.chat_id in (None, chat_id) and fault.times > 0:
                fault.times -= 1
                body: dict[str, Any] = {
                    "ok": False,
                    "error_code": fault.status,
                    "description": fault.description,
                }
                if fault.retry_after is not None:
                    body["parameters"] = {"retry_after": fault.retry_after}
                return fault.status, body
        handler = getattr(self, f"api_{method}", None)
        if handler is None:
            return 400, {
                "ok": False,
                "error_code": 400,
                "description": f"Bad Request: fake has no method {method}",
            }
        try:
            if self.strict:
                _check_sizes(method, params)
                wait = self._flood_wait(method, chat_id)
                if wait > 0:
                    self.refused.append(Call(method, params))
                    retry_after = max(1, math.ceil(wait - _EPSILON))
                    return 429, {
                        "ok": False,
                        "error_code": 429,
                        "description": f"Too Many Requests: retry after {retry_after}",
                        "parameters": {"retry_after": retry_after},
                    }
            result = handler(params)
        except _ApiError as err:
            return err.status, {
                "ok": False,
                "error_code": err.status,
                "description": err.description,
            }
        if self.strict and (method in SENDS or method in EDITS):
            self._count(method, chat_id)
        return 200, {"ok": True, "result": result}

    # --- flood control ----------------------------------------------------------------------
    def _tokens(self, chat_id: int, now: float) -> float:
        tokens, at = self._buckets.get(chat_id, (float(CHAT_BURST), now))
        return min(float(CHAT_BURST), tokens + max(0.0, now - at))

    def _flood_wait(self, method: str, chat_id: int | None) -> float:
        """Seconds until this call would be accepted (0: now)."""
        if method not in SENDS and method not in EDITS:
            return 0.0
        now = self.clock.now().timestamp()
        while self._recent and self._recent[0] <= now - 1.0 + _EPSILON:
            self._recent.popleft()
        wait = 0.0
        if len(self._recent) >= PER_SECOND:
            wait = self._recent[0] + 1.0 - now
        if method in SENDS and chat_id is not None:
            tokens = self._tokens(chat_id, now)
            if tokens < 1.0 - _EPSILON:
                wait = max(wait, 1.0 - tokens)
        return wait

    def _count(self, method: str, chat_id: int | None) -> None:
        now = self.clock.now().timestamp()
        self._recent.append(now)
        if method in SENDS and chat_id is not None:
            self._buckets[chat_id] = (self._tokens(chat_id, now) - 1.0, now)

    def api_getMe(self, params: dict[str, Any]) -> Any:
        return BOT_USER

    def api_setMyCommands(self, params: dict[str, Any]) -> Any:
        scope = params.get("scope") or {"type": "default"}
        key = f"{scope.get('type')}:{scope.get('chat_id', '')}:{params.get('language_code', '')}"
        self.commands[key] = list(params["commands"])
        return True

    def api_deleteWebhook(self, params: dict[str, Any]) -> Any:
        return True

    def api_setWebhook(self, params: dict[str, Any]) -> Any:
        return True

    def api_getUpdates(self, params: dict[str, Any]) -> Any:
        return []

    def api_answerCallbackQuery(self, params: dict[str, Any]) -> Any:
        self.callback_answers.append(params)
        return True

    def _store(
        self,
        chat_id: int,
        text: str,
        params: dict[str, Any],
        document: tuple[str, bytes] | None = None,
    ) -> Sent:
        text, entities = _parse(text, params.get("parse_mode"))
        if chat_id <= 0:
            raise _ApiError(400, "Bad Request: chat not found")
        msg = Sent(chat_id, next(self._ids), text, date=self.now, document=document)
        msg.entities = entities
        _apply_markup(msg, params.get("reply_markup"))
        self.chat(chat_id).append(msg)
        return msg

    def api_sendMessage(self, params: dict[str, Any]) -> Any:
        return self._store(int(params["chat_id"]), str(params["text"]), params).as_api()

    def api_sendDocument(self, params: dict[str, Any]) -> Any:
        chat_id = int(params["chat_id"])
        document = params.get("_file")
        if document is None:  # a file Telegram holds, sent again by its file_id
            file_id = str(params.get("document") or params.get("photo") or "")
            if file_id not in self.files:
                raise _ApiError(400, "Bad Request: wrong file identifier/HTTP URL specified")
            document = self.files[file_id]
        msg = self._store(chat_id, str(params.get("caption", "")), params, document=document)
        return msg.as_api() | {"document": {"file_id": "f", "file_unique_id": "u"}}

    api_sendPhoto = api_sendDocument

    def _edit_target(self, params: dict[str, Any]) -> Sent:
        msg = self.find(int(params["chat_id"]), int(params["message_id"]))
        if msg is None:
            raise _ApiError(400, "Bad Request: message to edit not found")
        return msg

    def api_editMessageText(self, params: dict[str, Any]) -> Any:
        msg = self._edit_target(params)
        new_buttons = Sent(0, 0, "")
        _apply_markup(new_buttons, params.get("reply_markup"))
        text, entities = _parse(str(params["text"]), params.get("parse_mode"))
        if msg.text == text and msg.buttons == new_buttons.buttons and msg.entities == entities:
            raise _ApiError(
                400,
                "Bad Request: message is not modified: specified new message "
                "content and reply markup are exactly the same",
            )
        msg.text = text
        msg.entities = entities
        msg.buttons = new_buttons.buttons
        msg.edits += 1
        return msg.as_api()

    def api_editMessageReplyMarkup(self, params: dict[str, Any]) -> Any:
        msg = self._edit_target(params)
        new_buttons = Sent(0, 0, "")
        _apply_markup(new_buttons, params.get("reply_markup"))
        if msg.buttons == new_buttons.buttons:
            raise _ApiError(400, "Bad Request: message is not modified")
        msg.buttons = new_buttons.buttons
        msg.edits += 1
        return msg.as_api()


class _ApiError(Exception):
    def __init__(self, status: int, description: str) -> None:
        self.status, self.description = status, description


def _check_sizes(method: str, params: dict[str, Any]) -> None:
    """Telegram's 400s for what is too long or empty, counted after parsing HTML."""
    if method in ("sendMessage", "editMessageText"):
        text, _ = _parse(str(params.get("text") or ""), params.get("parse_mode"))
        if not text.strip():
            raise _ApiError(400, "Bad Request: message text is empty")
        if len(text) > MAX_TEXT:
            raise _ApiError(400, "Bad Request: message is too long")
    caption, _ = _parse(str(params.get("caption") or ""), params.get("parse_mode"))
    if method in ("sendDocument", "sendPhoto") and len(caption) > MAX_CAPTION:
        raise _ApiError(400, "Bad Request: message caption is too long")
    if method == "answerCallbackQuery" and len(str(params.get("text") or "")) > MAX_TOAST:
        raise _ApiError(400, "Bad Request: MESSAGE_TOO_LONG")
    markup = params.get("reply_markup")
    if isinstance(markup, str):
        markup = json.loads(markup)
    for row in (markup or {}).get("inline_keyboard", []):
        for button in row:
            data = button.get("callback_data")
            if data is not None and not 1 <= len(str(data).encode()) <= MAX_CALLBACK_DATA:
                raise _ApiError(400, "Bad Request: BUTTON_DATA_INVALID")


class _HtmlText(HTMLParser):
    """Telegram's HTML parse mode, as far as the bot uses it: text and <a href> links."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.text = ""
        self.entities: list[dict[str, Any]] = []
        self._open: tuple[int, str] | None = None

    def _units(self) -> int:
        return len(self.text.encode("utf-16-le")) // 2

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag != "a":
            raise _ApiError(400, f"Bad Request: can't parse entities: unsupported tag {tag}")
        self._open = (self._units(), dict(attrs).get("href") or "")

    def handle_endtag(self, tag: str) -> None:
        if tag == "a" and self._open is not None:
            start, url = self._open
            self.entities.append(
                {"type": "text_link", "offset": start, "length": self._units() - start, "url": url}
            )
            self._open = None

    def handle_data(self, data: str) -> None:
        self.text += data


def _parse(text: str, parse_mode: Any) -> tuple[str, list[dict[str, Any]]]:
    if parse_mode != "HTML":
        return text, []
    bare = re.sub(r'<a href="[^"<>]*">|</a>', "", text)
    if "<" in bare or ">" in bare or re.search(r"&(?!(lt|gt|amp|quot|#\d+);)", bare):
        raise _ApiError(400, "Bad Request: can't parse entities: unescaped character")
    parser = _HtmlText()
    parser.feed(text)
    parser.close()
    return parser.text, parser.entities


def _int(value: Any) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def _apply_markup(msg: Sent, markup: Any) -> None:
    if isinstance(markup, str):
        markup = json.loads(markup)
    if not markup:
        msg.buttons = []
        return
    if "inline_keyboard" in markup:
        msg.buttons = [
            [Button(b["text"], b.get("callback_data", "")) for b in row]
            for row in markup["inline_keyboard"]
        ]
    elif "keyboard" in markup:
        msg.reply_keyboard = [
            [b["text"] if isinstance(b, dict) else b for b in row] for row in markup["keyboard"]
        ]


class FakeRequest(BaseRequest):
    def __init__(self, server: FakeTelegram) -> None:
        self.server = server

    @property
    def read_timeout(self) -> float | None:
        return None

    async def initialize(self) -> None:
        return None

    async def shutdown(self) -> None:
        return None

    async def do_request(
        self,
        url: str,
        method: str,
        request_data: RequestData | None = None,
        read_timeout: Any = None,
        write_timeout: Any = None,
        connect_timeout: Any = None,
        pool_timeout: Any = None,
    ) -> tuple[int, bytes]:
        api_method = url.rsplit("/", 1)[-1]
        params: dict[str, Any] = dict(request_data.parameters) if request_data else {}
        if request_data is not None and request_data.contains_files:
            for name, value in request_data.multipart_data.items():
                filename, content = value[0], value[1]
                params["_file"] = (filename, content if isinstance(content, bytes) else b"")
                params.setdefault("_field", name)
        status, body = self.server.handle(api_method, params)
        if status == 0:  # a fault standing for a request that never got an answer
            raise TimedOut("fake timeout")
        return status, json.dumps(body).encode()
