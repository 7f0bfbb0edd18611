"""Running for real: backups that restore, logs without secrets, and webhook mode that
refuses requests without Telegram's secret header."""

from __future__ import annotations

import asyncio
import io
import json
import logging
import os
import socket
from pathlib import Path

import httpx
import pytest
from sqlalchemy import func, select

from bot import logs
from bot.app import build_application, post_init
from bot.backup import BackupError, backup
from bot.sandbox.fakebot import FakeTelegram
from bot.settings import load_settings
from storage.models import Gig, User
from tests import flows
from tests.harness import TOKEN, Harness

sqlite_only = pytest.mark.skipif(
    bool(os.environ.get("TEST_DATABASE_URL")), reason="SQLite file backup"
)


@sqlite_only
async def test_backup_while_running_restores_everything(h: Harness, tmp_path: Path) -> None:
    nurse = await flows.register_orderer(h, 201)
    await flows.fill_order(nurse)
    await nurse.press(nurse.t("btn.send"))
    copy = backup(h.core.settings, tmp_path / "copy.sqlite3")
    # Restore: point a fresh bot at the copy; everything is there.
    restored = load_settings(
        bot_token=TOKEN,
        database_url=f"sqlite+aiosqlite:///{copy}",
        coordinator_ids="100",
        _env_file=None,
    )
    app = build_application(restored, request=FakeTelegram().request())
    async with app:
        await post_init(app)
        core = app.bot_data["core"]
        async with core.db.unit_of_work() as s:
            assert await s.scalar(select(func.count()).select_from(Gig)) == 1
            assert await s.scalar(select(User.name).where(User.telegram_id == 201)) == "Nea Nurse"
        await core.db.dispose()


def test_backup_explains_postgresql() -> None:
    settings = load_settings(
        bot_token=TOKEN, database_url="postgresql+asyncpg://x@y/z", _env_file=None
    )
    with pytest.raises(BackupError, match="pg_dump"):
        backup(settings, Path("/tmp/never.sqlite3"))


def test_logs_never_carry_the_token_or_phone_numbers() -> None:
    stream = io.StringIO()
    root = logging.getLogger()
    saved, saved_level = root.handlers[:], root.level
    logs.setup("INFO", TOKEN)
    root.handlers[0].setStream(stream)  # type: ignore[attr-defined]
    try:
        # httpx logs every request URL at INFO, and Bot API URLs contain the token.
        logging.getLogger("httpx").info(
            'HTTP Request: POST https://api.telegram.org/bot%s/getMe "200"', TOKEN
        )
        logging.getLogger("bot.x").info(
            "sending to %s failed: %s",
            "+358 40 123 4567",
            f"url=https://api.telegram.org/bot{TOKEN}/sendMessage",
        )
        logging.getLogger("bot.x").warning("other token 987654321:%s", "B" * 35)
    finally:
        root.handlers[:] = saved
        root.setLevel(saved_level)
    out = stream.getvalue()
    assert TOKEN not in out and "123 4567" not in out and "B" * 35 not in out
    assert "[token]" in out and "[phone]" in out


def test_webhook_settings_need_a_secret() -> None:
    from bot.settings import SettingsError

    with pytest.raises(SettingsError, match="WEBHOOK_SECRET"):
        load_settings(
            bot_token=TOKEN, webhook_url="https://bot.example.fi/telegram", _env_file=None
        )


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def test_webhook_refuses_requests_without_the_secret(db_url: str) -> None:
    tg = FakeTelegram()
    settings = load_settings(
        bot_token=TOKEN,
        database_url=db_url,
        coordinator_ids="100",
        webhook_url="https://bot.example.fi/telegram",
        webhook_secret="s3cret_value",
        _env_file=None,
    )
    app = build_application(settings, request=tg.request())
    port = _free_port()
    update = {
        "update_id": 1,
        "message": {
            "message_id": 1,
            "date": 1800000000,
            "chat": {"id": 999, "type": "private"},
            "from": {"id": 999, "is_bot": False, "first_name": "X"},
            "text": "/start",
            "entities": [{"type": "bot_command", "offset": 0, "length": 6}],
        },
    }
    async with app:
        await post_init(app)
        assert app.updater is not None
        await app.updater.start_webhook(
            listen="127.0.0.1",
            port=port,
            url_path="telegram",
            webhook_url=settings.webhook_url,
            secret_token="s3cret_value",
        )
        await app.start()
        try:
            async with httpx.AsyncClient() as client:
                url = f"http://127.0.0.1:{port}/telegram"
                bad = await client.post(
                    url, content=json.dumps(update), headers={"Content-Type": "application/json"}
                )
                wrong = await client.post(
                    url,
                    content=json.dumps(update),
                    headers={
                        "Content-Type": "application/json",
                        "X-Telegram-Bot-Api-Secret-Token": "guess",
                    },
                )
                good = await client.post(
                    url,
                    content=json.dumps(update),
                    headers={
                        "Content-Type": "application/json",
                        "X-Telegram-Bot-Api-Secret-Token": "s3cret_value",
                    },
                )
            assert (bad.status_code, wrong.status_code, good.status_code) == (403, 403, 200)
            for _ in range(50):  # the accepted update is handled by the running application
                if tg.chat(999):
                    break
                await asyncio.sleep(0.05)
            assert len(tg.chat(999)) == 1
            assert (
                tg.calls[[c.method for c in tg.calls].index("setWebhook")].params["secret_token"]
                == "s3cret_value"
            )
        finally:
            await app.updater.stop()
            await app.stop()
            await app.bot_data["core"].outbox.idle()
            await app.bot_data["core"].db.dispose()


async def test_a_half_filled_order_survives_a_restart(h: Harness) -> None:
    nurse = await flows.register_orderer(h, 201)
    await nurse.send("/neworder")
    await nurse.send("Jyväskylän lyseo")
    await nurse.press(nurse.t("gig_type.school"))
    # The process stops; a new one starts over the same database.
    app2 = build_application(h.core.settings, clock=h.clock, request=h.tg.request())
    async with app2:
        await post_init(app2)
        h.app = app2
        replies = await nurse.send(nurse.t("menu.new_order"))
        assert replies[0].text == nurse.t("form.resumed")
        await nurse.press(nurse.t("topic.substance_use"))
        await nurse.press(nurse.t("btn.done"))
        assert nurse.last.text == nurse.t("form.order.starts_at")
        await app2.bot_data["core"].db.dispose()
