"""What the domain says to people, without Telegram: messages, files, edits and their buttons.

The outbox writer (bot/notify.py) emits these, the outbox stores them (the buttons column keeps
its JSON shape), and the transport (bot/transport.py) turns them into Bot API calls. Nothing
here imports Telegram.
"""

from __future__ import annotations

import base64
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from storage.models import Outbox, OutboxStatus


@dataclass(frozen=True)
class Button:
    """An inline button: what it says and the callback data it carries."""

    label: str
    data: str


@dataclass(frozen=True)
class Keyboard:
    """Inline buttons under a message, row by row."""

    rows: tuple[tuple[Button, ...], ...]

    @classmethod
    def of(cls, rows: Iterable[Iterable[tuple[str, str]]]) -> Keyboard | None:
        """From (label, data) pairs; None when there is no button at all."""
        built = tuple(tuple(Button(label, data) for label, data in row) for row in rows)
        built = tuple(row for row in built if row)
        return cls(built) if built else None

    def to_json(self) -> list[list[dict[str, str]]]:
        """The stored shape (the outbox's buttons column), the Bot API's own field names."""
        return [[{"text": b.label, "callback_data": b.data} for b in row] for row in self.rows]

    @classmethod
    def from_json(cls, stored: Any) -> Keyboard | None:
        """Back from the stored shape; None for no buttons."""
        if not stored:
            return None
        return cls.of([(b["text"], b["callback_data"]) for b in row] for row in stored)


class Kind(StrEnum):
    """What an outbox row (or a reply) is: its `kind` column."""

    SEND = "send"
    EDIT = "edit"
    DOCUMENT = "document"
    PHOTO = "photo"


@dataclass(frozen=True)
class OutMessage:
    """One message, file or edit for one chat.

    A file (`DOCUMENT`, `PHOTO`) carries its bytes in `file`, its name and a caption; an edit
    replaces the text and buttons of the message `message_id` in the chat.
    """

    chat_id: int
    text: str = ""
    keyboard: Keyboard | None = None
    parse_mode: str | None = None
    kind: Kind = Kind.SEND
    file: bytes | None = None
    filename: str | None = None
    caption: str | None = None
    message_id: int | None = None


class Undelivered(StrEnum):
    """Why the outbox could not deliver a message (its one delivery event)."""

    BLOCKED = "blocked"  # the person has blocked the bot (or deleted their account)
    GAVE_UP = "gave_up"  # Telegram kept failing after every retry (network, 5xx)


# --- the outbox row's shape: written by bot/notify.py, read by bot/outbox.py ---------------
BINARY = "base64:"  # a document that is not text (a PDF) is stored base64 after this mark


def _document_text(content: bytes) -> str:
    """A document as the outbox's text column holds it: a text file as it is (a calendar
    entry stays readable), anything else base64 behind the `BINARY` mark."""
    try:
        text = content.decode()
    except UnicodeDecodeError:
        return BINARY + base64.b64encode(content).decode()
    return BINARY + base64.b64encode(content).decode() if text.startswith(BINARY) else text


def to_row(msg: OutMessage, *, tag: str | None, not_before: datetime, now: datetime) -> Outbox:
    """A pending outbox row holding `msg` (a file's bytes kept as text until sent)."""
    content = msg.file or b""
    text = base64.b64encode(content).decode() if msg.kind == Kind.PHOTO else msg.text
    if msg.kind == Kind.DOCUMENT:
        text = _document_text(content)
    return Outbox(
        chat_id=msg.chat_id,
        kind=msg.kind.value,
        text=text,
        buttons=msg.keyboard.to_json() if msg.keyboard is not None else None,
        tag=tag,
        filename=msg.filename,
        caption=msg.caption,
        parse_mode=msg.parse_mode,
        status=OutboxStatus.PENDING,
        not_before=not_before,
        attempts=0,
        error="",
        created_at=now,
    )


def from_row(row: Outbox, message_id: int | None = None) -> OutMessage:
    """The message an outbox row holds (`message_id`: the one an edit replaces)."""
    kind = Kind(row.kind)
    file = None
    if kind == Kind.PHOTO:
        file = base64.b64decode(row.text)
    elif kind == Kind.DOCUMENT and row.text.startswith(BINARY):
        file = base64.b64decode(row.text.removeprefix(BINARY))
    elif kind == Kind.DOCUMENT:
        file = row.text.encode()
    return OutMessage(
        chat_id=row.chat_id,
        text="" if file is not None else row.text,
        keyboard=Keyboard.from_json(row.buttons),
        parse_mode=row.parse_mode,
        kind=kind,
        file=file,
        filename=row.filename,
        caption=row.caption,
        message_id=message_id,
    )
