"""The bot's HTTP side through real HTTP: the durable webhook (stored before the 200, handled
from the store, retries recognised), /healthz, /metrics and the calendar feeds (parsed with a
real iCalendar library)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
import icalendar
import pytest
from sqlalchemy import select

from bot.clock import FakeClock
from bot.web import WebServer
from storage.models import Inbox
from storage.repo import InboxRepo
from tests import flows
from tests.evidence import everything
from tests.harness import Harness
from tests.test_settings_in_use import bot_with

SECRET = "s3cret-token_ok"
PUBLIC = "https://bot.example.fi"


@asynccontextmanager
async def served(db_url: str, clock: FakeClock) -> AsyncIterator[tuple[Harness, str, WebServer]]:
    async with bot_with(
        db_url,
        clock,
        webhook_url=f"{PUBLIC}/telegram",
        webhook_secret=SECRET,
        public_url=PUBLIC,
    ) as h:
        web = WebServer(h.app, webhook_path="telegram")
        port = await web.start("127.0.0.1", 0)
        try:
            yield h, f"http://127.0.0.1:{port}", web
        finally:
            await web.stop()


def message(update_id: int, user_id: int, text: str) -> dict[str, Any]:
    return {
        "update_id": update_id,
        "message": {
            "message_id": update_id,
            "date": 1_790_000_000,
            "chat": {"id": user_id, "type": "private", "first_name": "Tuuli"},
            "from": {"id": user_id, "is_bot": False, "first_name": "Tuuli", "language_code": "en"},
            "text": text,
            "entities": [{"type": "bot_command", "offset": 0, "length": len(text.split()[0])}],
        },
    }


async def inbox_rows(h: Harness) -> list[tuple[int, bool, object]]:
    async with h.core.db.unit_of_work() as s:
        rows = (await s.scalars(select(Inbox).order_by(Inbox.update_id))).all()
        return [(r.update_id, r.done, r.payload) for r in rows]


async def test_a_webhook_update_is_stored_before_the_200_and_handled_once(
    db_url: str, clock: FakeClock
) -> None:
    async with served(db_url, clock) as (h, base, web), httpx.AsyncClient(base_url=base) as http:
        headers = {"X-Telegram-Bot-Api-Secret-Token": SECRET}
        update = message(5001, 777, "/start")
        answer = await http.post("/telegram", json=update, headers=headers)
        assert answer.status_code == 200
        await web.idle()
        await h.core.outbox.idle()
        web_lanes_idle = h.tg.chat(777)
        assert len(web_lanes_idle) == 1  # the answer to /start
        # Telegram did not get our 200 in time and sends it again: answered, not handled again.
        again = await http.post("/telegram", json=update, headers=headers)
        assert again.status_code == 200
        await web.idle()
        await h.core.outbox.idle()
        assert len(h.tg.chat(777)) == len(web_lanes_idle)
        # What stays is the id alone: the payload (name, text) went when it was handled.
        assert await inbox_rows(h) == [(5001, True, None)]
        assert "Tuuli" not in str(await everything(h))


async def test_a_webhook_without_the_secret_is_refused_and_nothing_is_stored(
    db_url: str, clock: FakeClock
) -> None:
    async with served(db_url, clock) as (h, base, _web), httpx.AsyncClient(base_url=base) as http:
        for headers in ({}, {"X-Telegram-Bot-Api-Secret-Token": "wrong"}):
            answer = await http.post(
                "/telegram", json=message(5002, 778, "/start"), headers=headers
            )
            assert answer.status_code == 403
        bad = await http.post(
            "/telegram",
            content=b"{not json",
            headers={"X-Telegram-Bot-Api-Secret-Token": SECRET},
        )
        assert bad.status_code == 400
        assert await inbox_rows(h) == []
        assert h.tg.chat(778) == []


async def test_an_update_stored_before_a_crash_is_handled_at_the_next_start(
    db_url: str, clock: FakeClock
) -> None:
    async with served(db_url, clock) as (h, _base, _web):
        # Stored and answered 200, then the process died before handling it.
        async with h.core.db.unit_of_work() as s:
            await InboxRepo(s).store([(6001, message(6001, 779, "/start"))])
        restarted = WebServer(h.app, webhook_path="telegram")
        assert await restarted.recover() == 1
        await h.core.outbox.idle()
        assert len(h.tg.chat(779)) == 1
        assert await inbox_rows(h) == [(6001, True, None)]


async def test_an_update_another_instance_stored_and_left_is_swept_up(
    db_url: str, clock: FakeClock
) -> None:
    async with served(db_url, clock) as (h, _base, web):
        # Stored and answered 200 by an instance that then died; this one keeps running.
        async with h.core.db.unit_of_work() as s:
            await InboxRepo(s).store([(6101, message(6101, 781, "/start"))])
        assert await web.sweep() == 0  # first seen: it may just be queued somewhere
        await h.run_job("inbox:sweep")  # the leader's job: still waiting, so handled
        await web.idle()
        await h.core.outbox.idle()
        assert len(h.tg.chat(781)) == 1
        assert await inbox_rows(h) == [(6101, True, None)]
        assert await web.sweep() == 0 and await web.sweep() == 0  # once only
        assert len(h.tg.chat(781)) == 1


async def test_health_and_metrics(db_url: str, clock: FakeClock) -> None:
    async with served(db_url, clock) as (h, base, web), httpx.AsyncClient(base_url=base) as http:
        health = await http.get("/healthz")
        assert health.status_code == 200
        assert health.json()["status"] == "ok"
        headers = {"X-Telegram-Bot-Api-Secret-Token": SECRET}
        await http.post("/telegram", json=message(7001, 780, "/start"), headers=headers)
        await web.idle()
        await h.core.outbox.idle()
        page = (await http.get("/metrics")).text
        figures = {
            line.split(" ")[0]: float(line.split(" ")[1])
            for line in page.splitlines()
            if line and not line.startswith("#")
        }
        assert figures["kv_updates_handled_total"] == 1
        assert figures["kv_update_handling_seconds_count"] == 1
        assert figures["kv_outbox_depth"] == 0
        assert figures["kv_checkins_due"] == 0
        assert figures["kv_telegram_429_total"] == 0
        assert "kv_leader" in figures and "kv_offers_sent_total" in figures
        # Nothing names a person or chat: no label carries the chat id or the name, and no
        # figure is the id (a float's digits may contain "780" by chance, so not a text search).
        labels = [line.split(" ")[0] for line in page.splitlines() if "{" in line]
        assert not any("780" in label for label in labels) and "Tuuli" not in page
        assert 780 not in figures.values()


def events(feed: bytes) -> list[icalendar.Event]:
    cal = icalendar.Calendar.from_ical(feed)
    return [c for c in cal.walk("VEVENT")]


@pytest.mark.parametrize("lang", ["fi", "en"])
async def test_an_experts_calendar_feed_follows_their_gigs(
    db_url: str, clock: FakeClock, lang: str
) -> None:
    async with served(db_url, clock) as (h, base, _web), httpx.AsyncClient(base_url=base) as http:
        nurse = await flows.register_orderer(h, 201, lang=lang)
        aino = await flows.register_expert(h, 301, "Aino", lang=lang)
        coord = await flows.order_and_approve(h, nurse)
        await aino.press(aino.t("btn.accept"))
        assert aino.last_file.document is not None
        sent_file = icalendar.Calendar.from_ical(aino.last_file.document[1])
        sent_event = next(iter(sent_file.walk("VEVENT")))

        await aino.send("/calendar")
        link = next(word for word in aino.last.text.split() if word.startswith(PUBLIC))
        path = link.removeprefix(PUBLIC)
        feed = await http.get(path)
        assert feed.status_code == 200
        assert feed.headers["content-type"].startswith("text/calendar")
        [event] = events(feed.content)
        # The same entry as the file in the chat: calendar apps keep one per gig.
        assert str(event["UID"]) == str(sent_event["UID"])
        assert int(event["SEQUENCE"]) == int(sent_event["SEQUENCE"])
        assert event.decoded("DTSTART") == sent_event.decoded("DTSTART")

        # A second /calendar cannot show the secret again; a new link stops the old one.
        await aino.send("/calendar")
        await aino.press(aino.t("btn.feed_new"))
        new_link = next(w for w in aino.last.text.split() if w.startswith(PUBLIC))
        assert new_link != link
        assert (await http.get(path)).status_code == 404
        new_path = new_link.removeprefix(PUBLIC)
        assert len(events((await http.get(new_path)).content)) == 1

        # Stepping back takes the gig out of the feed.
        await aino.send("/mygigs")
        await aino.press(aino.t("btn.step_back", id="").split("#")[0])
        await aino.press(aino.t("btn.step_back_yes"))
        assert events((await http.get(new_path)).content) == []

        # The coordinator's own feed has every gig.
        await coord.send("/calendar")
        coord_link = next(w for w in coord.last.text.split() if w.startswith(PUBLIC))
        assert len(events((await http.get(coord_link.removeprefix(PUBLIC))).content)) == 1

        await aino.send("/calendar")
        await aino.press(aino.t("btn.feed_stop"))
        assert aino.last.text == aino.t("feed.stopped")
        assert (await http.get(new_path)).status_code == 404

        # /forget takes a link with everything else.
        await aino.send("/calendar")
        last_link = next(w for w in aino.last.text.split() if w.startswith(PUBLIC))
        assert (await http.get(last_link.removeprefix(PUBLIC))).status_code == 200
        await aino.send("/forget")
        await aino.press(aino.t("btn.forget_yes"))
        assert (await http.get(last_link.removeprefix(PUBLIC))).status_code == 404
        assert (await http.get("/calendar/not-a-real-secret-at-all.ics")).status_code == 404


async def test_without_a_public_address_calendar_links_are_explained(h: Harness) -> None:
    aino = await flows.register_expert(h, 301, "Aino", lang="en")
    await aino.send("/calendar")
    assert aino.last.text == aino.t("feed.unavailable")


async def test_only_experts_and_coordinators_get_a_feed(db_url: str, clock: FakeClock) -> None:
    async with served(db_url, clock) as (h, _base, _web):
        nurse = await flows.register_orderer(h, 201, lang="en")
        await nurse.send("/calendar")
        assert "/calendar/" not in nurse.last.text


USER = {"id": 42, "is_bot": False, "first_name": "Tuuli"}
CHAT = {"id": -1001234567890, "type": "supergroup", "title": "x"}
SHAPES: list[dict[str, Any]] = [
    {"message": {"message_id": 1, "date": 0, "chat": CHAT, "from": USER, "text": "hi"}},
    {"edited_message": {"message_id": 1, "date": 0, "chat": CHAT, "from": USER, "text": "x"}},
    {
        "callback_query": {
            "id": "1",
            "from": USER,
            "chat_instance": "c",
            "data": "x",
            "message": {"message_id": 1, "date": 0, "chat": CHAT, "text": "x"},
        }
    },
    {"inline_query": {"id": "1", "from": USER, "query": "", "offset": ""}},
    {
        "my_chat_member": {
            "chat": CHAT,
            "from": USER,
            "date": 0,
            "old_chat_member": {"status": "member", "user": USER},
            "new_chat_member": {"status": "kicked", "user": USER, "until_date": 0},
        }
    },
]


@pytest.mark.parametrize("shape", SHAPES, ids=lambda s: next(iter(s)))
def test_the_inbox_reads_the_same_chat_as_the_handlers_do(shape: dict[str, Any]) -> None:
    from telegram import Bot, Update

    from bot.polling import chat_id_of
    from storage.repo import payload_chat

    data = {"update_id": 1, **shape}
    update = Update.de_json(data, Bot("1:x"))
    assert payload_chat(data) == chat_id_of(update)
