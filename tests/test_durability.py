"""Nothing lost: the bot is killed in the middle of handling an update. After a restart every
update is handled, none twice."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl

import pytest
from sqlalchemy import func, select

from storage.db import Database
from storage.models import Inbox, Invite, Role, User
from tests.harness import TOKEN

ROOT = Path(__file__).resolve().parent.parent
pytestmark = pytest.mark.skipif(
    bool(os.environ.get("TEST_DATABASE_URL")),
    reason="runs the bot as a process on its own SQLite file",
)


class HttpBotApi:
    """A Bot API over real HTTP for a bot running as a separate process."""

    def __init__(self, updates: list[dict[str, Any]]) -> None:
        self.updates = updates
        self.sent: list[tuple[int, str]] = []
        self.hang_chat: int | None = None
        self.hanging = asyncio.Event()
        self.offsets: list[int | None] = []
        self.server: asyncio.Server | None = None
        self.refuse_token = False

    async def start(self) -> int:
        self.server = await asyncio.start_server(self.serve, "127.0.0.1", 0)
        return int(self.server.sockets[0].getsockname()[1])

    async def serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while line := await reader.readline():
                if not line.strip():
                    break
                target = line.decode().split()[1]
                headers = {}
                while (h := await reader.readline()) not in (b"\r\n", b""):
                    k, _, v = h.decode().partition(":")
                    headers[k.strip().lower()] = v.strip()
                body = await reader.readexactly(int(headers.get("content-length", 0)))
                if "json" in headers.get("content-type", ""):
                    params = json.loads(body or b"{}")
                else:
                    params = dict(parse_qsl(body.decode()))
                method = target.rsplit("/", 1)[1]
                status = b"200 OK"
                if self.refuse_token and method == "getUpdates":
                    status = b"401 Unauthorized"
                    body = {"ok": False, "error_code": 401, "description": "Unauthorized"}
                else:
                    body = {"ok": True, "result": await self.answer(method, params)}
                data = json.dumps(body).encode()
                writer.write(
                    b"HTTP/1.1 "
                    + status
                    + b"\r\nContent-Type: application/json\r\n"
                    + f"Content-Length: {len(data)}\r\n\r\n".encode()
                    + data
                )
                await writer.drain()
        except (ConnectionError, asyncio.IncompleteReadError):
            pass
        finally:
            writer.close()

    async def answer(self, method: str, params: dict[str, Any]) -> Any:
        if method == "getMe":
            return {"id": 999000, "is_bot": True, "first_name": "Bot", "username": "kv_bot"}
        if method == "getUpdates":
            offset = int(params["offset"]) if params.get("offset") else None
            self.offsets.append(offset)
            fresh = [u for u in self.updates if offset is None or u["update_id"] >= offset]
            if not fresh:
                await asyncio.sleep(0.2)  # a short long-poll
            return fresh
        if method == "sendMessage":
            chat = int(params["chat_id"])
            if chat == self.hang_chat:
                self.hanging.set()
                await asyncio.Event().wait()  # never answers: the process dies meanwhile
            self.sent.append((chat, str(params["text"])))
            return {
                "message_id": len(self.sent),
                "date": 0,
                "text": params["text"],
                "chat": {"id": chat, "type": "private"},
            }
        return True


def message(update_id: int, user: int, text: str) -> dict[str, Any]:
    return {
        "update_id": update_id,
        "message": {
            "message_id": update_id,
            "date": 1800000000,
            "text": text,
            "chat": {"id": user, "type": "private", "first_name": "X"},
            "from": {"id": user, "is_bot": False, "first_name": "X", "language_code": "fi"},
            "entities": [{"type": "bot_command", "offset": 0, "length": len(text.split()[0])}],
        },
    }


@pytest.fixture
async def db(tmp_path: Path) -> AsyncIterator[tuple[Database, str]]:
    url = f"sqlite+aiosqlite:///{tmp_path / 'bot.sqlite3'}"
    database = Database(url)
    await database.migrate()
    now = datetime.now(UTC)
    async with database.unit_of_work() as s:
        coord = User(
            telegram_id=100,
            role=Role.COORDINATOR,
            language="fi",
            name="K",
            active=True,
            reachable=True,
            created_at=now,
        )
        s.add(coord)
        await s.flush()
        s.add(
            Invite(
                code="durable-invite-1",
                role=Role.ORDERER,
                created_by=coord.id,
                created_at=now,
                expires_at=now + timedelta(days=7),
            )
        )
    yield database, url
    await database.dispose()


def start_bot(url: str, port: int, tmp: Path) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "BOT_TOKEN": TOKEN,
        "DATABASE_URL": url,
        "COORDINATOR_IDS": "100",
        "TELEGRAM_BASE_URL": f"http://127.0.0.1:{port}/bot",
        "TELEGRAM_BASE_FILE_URL": f"http://127.0.0.1:{port}/file/bot",
        "LOG_LEVEL": "WARNING",
        "QUIET_HOURS_START": "0",
        "QUIET_HOURS_END": "0",
    }
    # Output goes to a file: an unread pipe could fill up and stall the bot.
    log = (tmp / "bot.log").open("ab")
    return subprocess.Popen([sys.executable, "-m", "bot"], cwd=tmp, env=env, stdout=log, stderr=log)


async def until(condition: Any, tmp: Path, seconds: float = 60) -> None:
    """Wait for the other process to get somewhere (this waits on it, not on a clock)."""
    for _ in range(int(seconds / 0.05)):
        if condition():
            return
        await asyncio.sleep(0.05)
    raise AssertionError("the bot process did not get there:\n" + (tmp / "bot.log").read_text())


async def test_killed_mid_update_loses_nothing_and_repeats_nothing(
    db: tuple[Database, str], tmp_path: Path
) -> None:
    database, url = db
    api = HttpBotApi(
        [
            message(1, 555, "/start durable-invite-1"),
            message(2, 555, "/help"),  # the same chat: waits for update 1
            message(3, 556, "/help"),  # another chat: not held up by update 1's reply
        ]
    )
    api.hang_chat = 555
    port = await api.start()
    bot = start_bot(url, port, tmp_path)
    try:
        # Update 1 is being answered, and the other chat has had its answer...
        await until(lambda: api.hanging.is_set() and any(c == 556 for c, _ in api.sent), tmp_path)
    finally:
        bot.send_signal(signal.SIGKILL)  # ...when the process dies
        bot.wait(10)
    async with database.unit_of_work() as s:
        done = {r.update_id: r.done for r in (await s.scalars(select(Inbox))).all()}
    # 1 was handled (then its reply hung), 2 never started (one chat's updates in order),
    # 3 was handled meanwhile.
    assert done == {1: True, 2: False, 3: True}

    api.hang_chat = None
    bot = start_bot(url, port, tmp_path)
    try:
        await until(lambda: any(chat == 555 for chat, _ in api.sent), tmp_path)
        # ...and its first poll confirms the stored updates instead of taking them again.
        await until(lambda: 4 in api.offsets, tmp_path)
    finally:
        bot.send_signal(signal.SIGTERM)
        bot.wait(20)
    async with database.unit_of_work() as s:
        assert (
            await s.scalar(select(func.count()).select_from(User).where(User.telegram_id == 555))
            == 1
        )
        invite = await s.get(Invite, "durable-invite-1")
        assert invite is not None and invite.used_by is not None
        assert (await s.scalars(select(Inbox.done))).all() == [True, True, True]
    assert [chat for chat, _ in api.sent] == [556, 555]  # each /help answered once
    assert api.offsets[0] is None and set(api.offsets[1:]) == {4}


async def test_polling_that_cannot_go_on_exits_non_zero_for_the_supervisor(
    db: tuple[Database, str], tmp_path: Path
) -> None:
    """systemd's Restart=on-failure needs a failure exit, not a deaf process that stays up."""
    _, url = db
    api = HttpBotApi([])
    api.refuse_token = True  # e.g. the token was revoked in @BotFather
    port = await api.start()
    bot = start_bot(url, port, tmp_path)
    try:
        await until(lambda: bot.poll() is not None, tmp_path)
    finally:
        if bot.poll() is None:
            bot.send_signal(signal.SIGKILL)
        bot.wait(10)
    assert bot.returncode == 1, (tmp_path / "bot.log").read_text()
