"""A person sending a photo or a file in the chat, as Telegram delivers it to the bot; the fake
Bot API keeps the file under its file_id, so the bot can send it again."""

from __future__ import annotations

import itertools
from typing import Any

from bot.sandbox.fakebot import Sent
from tests.harness import Harness, Person

_files = itertools.count(1)


async def send_receipt(
    h: Harness,
    p: Person,
    *,
    photo: bool = True,
    name: str = "kuitti.pdf",
    mime: str = "application/pdf",
    size: int = 48_000,
    content: bytes = b"\xff\xd8 a photo of a ticket",
) -> list[Sent]:
    """Send a photo (or a file) in the chat, as Telegram delivers it to the bot."""
    file_id = f"AgAC-receipt-{next(_files)}"
    h.tg.files[file_id] = (name if not photo else "photo.jpg", content)
    message: dict[str, Any] = {
        "message_id": next(h._ids) + 100000,
        "date": h.tg.now,
        "chat": {"id": p.id, "type": "private", "first_name": p.name},
        "from": p.user,
    }
    if photo:
        message["photo"] = [
            {"file_id": file_id + "-s", "file_unique_id": "s", "width": 90, "height": 67},
            {
                "file_id": file_id,
                "file_unique_id": "b",
                "width": 1280,
                "height": 960,
                "file_size": size,
            },
        ]
    else:
        message["document"] = {
            "file_id": file_id,
            "file_unique_id": "d",
            "file_name": name,
            "mime_type": mime,
            "file_size": size,
        }
    before = len(p.inbox)
    await h.feed({"message": message})
    return p.inbox[before:]
