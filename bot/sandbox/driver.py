"""Drive the real Application offline: people send messages and press buttons, and we see
what each of them sees. Used by the tests and by `python -m bot demo` alike."""

from __future__ import annotations

import itertools
import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from telegram import Update

from bot.clock import FakeClock
from bot.core import Core
from bot.sandbox.fakebot import Button, FakeTelegram, Sent
from handlers.base import AnyApplication

HEL = ZoneInfo("Europe/Helsinki")
TOKEN = "123456789:AAFakeTokenForTestsOnly_abcdefghijklmno"


class Harness:
    """People acting on the real Application over a FakeTelegram that enforces Telegram's
    limits (bot/sandbox/fakebot.py) on the same FakeClock the bot's send budget sleeps on.

    `feed` returns once the update is handled and, with `settle` (the default), once what it
    queued in the outbox has gone out: a test then sees what each person sees. Set `settle`
    to False to let people act while the outbox is still sending (a broadcast going out).
    """

    def __init__(self, app: AnyApplication, tg: FakeTelegram, clock: FakeClock) -> None:
        self.app = app
        self.tg = tg
        self.clock = clock
        self._ids = itertools.count(1)
        self.coord_lang = "fi"  # the language the coordinator's client uses in this test
        self.settle = True

    @property
    def core(self) -> Core:
        core: Core = self.app.bot_data["core"]
        return core

    def person(self, telegram_id: int, name: str = "Testi", lang: str = "fi") -> Person:
        return Person(self, telegram_id, name, lang)

    def t(self, lang: str, key: str, **kwargs: object) -> str:
        return self.core.texts.get(lang, key, **kwargs)

    async def feed(self, data: dict[str, Any]) -> None:
        data["update_id"] = next(self._ids)
        await self.clock.drive(self.app.process_update(Update.de_json(data, self.app.bot)))
        if self.settle:
            await self.core.outbox.idle()  # what the update queued has been delivered

    async def user_id(self, telegram_id: int) -> int:
        """The register number of a person, as coordinators see it."""
        from storage.repo import UserRepo

        async with self.core.db.unit_of_work() as s:
            user = await UserRepo(s).by_telegram_id(telegram_id)
            assert user is not None
            return user.id

    async def title(self, lang: str, gig_id: int) -> str:
        """A gig's title as the bot shows it in `lang`."""
        from storage.models import Gig

        async with self.core.db.unit_of_work() as s:
            gig = await s.get(Gig, gig_id)
            assert gig is not None
            return self.core.presenter.gig_title(lang, gig)

    async def run_job(self, job_id: str) -> None:
        """Run a scheduled job now, as the job queue would."""
        jq = self.app.job_queue
        assert jq is not None
        job = next(j for j in jq.jobs() if j.job.id == job_id)
        await job.run(self.app)

    async def advance(self, delta: timedelta) -> None:
        """Let time pass, then run the periodic jobs once, as the scheduler would by then."""
        self.clock.advance(delta)
        await self.run_job("dispatch:tick")
        await self.run_job("checkins:tick")
        await self.run_job("feedback:tick")
        await self.core.outbox.flush()


@dataclass
class Person:
    h: Harness
    id: int
    name: str
    lang: str

    @property
    def user(self) -> dict[str, Any]:
        return {"id": self.id, "is_bot": False, "first_name": self.name, "language_code": self.lang}

    @property
    def inbox(self) -> list[Sent]:
        return self.h.tg.chat(self.id)

    @property
    def last(self) -> Sent:
        """The newest text message (files such as calendar entries are in `last_file`)."""
        texts = [m for m in self.inbox if m.document is None]
        assert texts, f"{self.name} has received nothing"
        return texts[-1]

    @property
    def last_file(self) -> Sent:
        files = [m for m in self.inbox if m.document is not None]
        assert files, f"{self.name} has received no file"
        return files[-1]

    def texts(self) -> list[str]:
        return [m.text for m in self.inbox]

    def t(self, key: str, **kwargs: object) -> str:
        return self.h.t(self.lang, key, **kwargs)

    async def send(self, text: str) -> list[Sent]:
        """Type a message; returns what arrived in this chat because of it."""
        before = len(self.inbox)
        entities = []
        if text.startswith("/"):
            entities = [{"type": "bot_command", "offset": 0, "length": len(text.split()[0])}]
        await self.h.feed(
            {
                "message": {
                    "message_id": next(self.h._ids) + 100000,
                    "date": self.h.tg.now,
                    "chat": {"id": self.id, "type": "private", "first_name": self.name},
                    "from": self.user,
                    "text": text,
                    "entities": entities,
                }
            }
        )
        return self.inbox[before:]

    def find_button(self, label: str, message: Sent | None = None) -> tuple[Sent, Button]:
        """The newest message carrying a button whose text contains `label`."""
        candidates = [message] if message else list(reversed(self.inbox))
        for msg in candidates:
            for b in msg.flat_buttons:
                if label in b.text:
                    return msg, b
        shown = [[b.text for b in m.flat_buttons] for m in self.inbox[-3:]]
        raise AssertionError(f"{self.name}: no button {label!r}; last buttons: {shown}")

    async def press(self, label: str, message: Sent | None = None) -> list[Sent]:
        msg, button = self.find_button(label, message)
        return await self.press_data(button.data, msg)

    async def press_data(self, data: str, message: Sent) -> list[Sent]:
        before = len(self.inbox)
        await self.h.feed(
            {
                "callback_query": {
                    "id": str(next(self.h._ids)),
                    "from": self.user,
                    "chat_instance": "ci",
                    "data": data,
                    "message": message.as_api(),
                }
            }
        )
        return self.inbox[before:]

    def last_toast(self) -> str | None:
        answers = self.h.tg.callback_answers
        return answers[-1].get("text") if answers else None


def at(text: str) -> datetime:
    """'24.12.2026 14.30' in Helsinki time, as an aware datetime."""
    return datetime.strptime(text, "%d.%m.%Y %H.%M").replace(tzinfo=HEL)


class ErrorLog(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)
