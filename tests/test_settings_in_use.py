"""Settings do what the README table says, seen through the real Application: the cascade's
size and wait, quiet hours in the help text and in what coordinators are told, the shortest
lead for a preparation check-in, and a bot started without COORDINATOR_IDS."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta

import pytest
from sqlalchemy import select

from bot.app import build_application, post_init
from bot.clock import FakeClock
from bot.sandbox.fakebot import FakeTelegram
from bot.settings import load_settings
from storage.models import CheckIn, CheckInKind
from tests import flows
from tests.flows import offered
from tests.harness import TOKEN, Harness, at


@asynccontextmanager
async def bot_with(db_url: str, clock: FakeClock, **settings: object) -> AsyncIterator[Harness]:
    """The real Application with some settings changed (COORDINATOR_IDS 100 unless given)."""
    values: dict[str, object] = {"coordinator_ids": str(flows.COORD), **settings}
    config = load_settings(bot_token=TOKEN, database_url=db_url, _env_file=None, **values)
    tg = FakeTelegram(clock)
    app = build_application(config, clock=clock, request=tg.request())
    async with app:
        await post_init(app)
        yield Harness(app, tg, clock)
        await app.bot_data["core"].outbox.idle()
        await app.bot_data["core"].db.dispose()


@pytest.mark.parametrize("lang", ["fi", "en"])
async def test_cascade_size_and_wait_come_from_the_settings(
    db_url: str, clock: FakeClock, lang: str
) -> None:
    async with bot_with(db_url, clock, cascade_size=2, cascade_wait_hours=6) as h:
        h.coord_lang = lang
        nurse = await flows.register_orderer(h, 201, lang=lang)
        crew = [await flows.register_expert(h, 301 + i, f"E{i + 1}", lang=lang) for i in range(3)]
        # 8 days ahead: the middle band, where CASCADE_SIZE and CASCADE_WAIT_HOURS apply.
        await flows.fill_order(nurse, seats="1", starts_at="1.12.2026 klo 13.00")
        await nurse.press(nurse.t("btn.send"))
        coord = flows.coordinator(h)
        await coord.press(coord.t("btn.ranking"))
        label = coord.t("mode_btn.cascade", k=2, hours=6)
        assert label in [b.text for b in coord.last.flat_buttons]
        await coord.press(label)
        assert [offered(p) for p in crew] == [True, True, False]
        await h.advance(timedelta(hours=6, minutes=1))  # nobody answered in the wait
        assert offered(crew[2])


@pytest.mark.parametrize("lang", ["fi", "sv", "en"])
async def test_help_names_the_configured_quiet_hours(
    db_url: str, clock: FakeClock, lang: str
) -> None:
    async with bot_with(db_url, clock, quiet_hours_start=22, quiet_hours_end=7) as h:
        aino = await flows.register_expert(h, 301, "Aino", lang=lang)
        await aino.send("/help")
        hours = {"fi": ("22", "7"), "sv": ("22", "7"), "en": ("10 pm", "7 am")}[lang]
        assert aino.last.text == aino.t("help.expert", quiet_start=hours[0], quiet_end=hours[1])
        assert {"fi": "klo 22–7", "sv": "kl. 22–7", "en": "(10 pm–7 am)"}[lang] in aino.last.text


@pytest.mark.parametrize("lang", ["fi", "en"])
async def test_in_quiet_hours_the_coordinator_learns_when_offers_go_out(
    db_url: str, lang: str
) -> None:
    clock = FakeClock(at("23.11.2026 22.30"))
    async with bot_with(db_url, clock) as h:
        h.coord_lang = lang
        nurse = await flows.register_orderer(h, 201, lang=lang)
        e1, e2 = [await flows.register_expert(h, 301 + i, f"E{i + 1}", lang=lang) for i in (0, 1)]
        coord = await flows.order_and_approve(h, nurse)
        wake = h.core.presenter.when(lang, at("24.11.2026 08.00"))
        assert coord.last_toast() == coord.t("coord.approved_toast_held", count=2, when=wake)
        status = next(m for m in coord.inbox if m.text.startswith("📊"))
        assert coord.t("status_msg.held", count=2, when=wake) in status.text
        counts = coord.t(
            "status_msg.counts", sent=0, pending=2, accepted=0, declined=0, expired=0, withdrawn=0
        )
        assert counts in status.text
        assert not offered(e1) and not offered(e2)  # nothing has left yet
        # A second gig offered from the ranking says the same in its reply.
        await flows.fill_order(nurse, starts_at="11.12.2026 klo 10.00")
        await nurse.press(nurse.t("btn.send"))
        await coord.press(coord.t("btn.ranking"))
        replies = await coord.press(coord.t("mode_btn.broadcast"))
        assert coord.t(
            "ranking.sent_held",
            count=2,
            mode=coord.t("mode.broadcast"),
            title=await h.title(lang, 2),
            when=wake,
        ) in [m.text for m in replies]
        await h.advance(timedelta(hours=9, minutes=31))  # 8.01 in the morning
        assert offered(e1) and offered(e2)
        # Outside quiet hours the reply is the plain count.
        await flows.fill_order(nurse, starts_at="12.12.2026 klo 10.00")
        await nurse.press(nurse.t("btn.send"))
        await coord.press(coord.t("btn.ranking"))
        replies = await coord.press(coord.t("mode_btn.broadcast"))
        assert coord.t(
            "ranking.sent", count=2, mode=coord.t("mode.broadcast"), title=await h.title(lang, 3)
        ) in [m.text for m in replies]


@pytest.mark.parametrize(("lead", "expected"), [(4, 0), (2, 1)])
async def test_shortest_lead_for_a_preparation_check_in_is_a_setting(
    db_url: str, clock: FakeClock, lead: int, expected: int
) -> None:
    async with bot_with(db_url, clock, prep_min_lead_hours=lead) as h:
        nurse = await flows.register_orderer(h, 201)
        aino = await flows.register_expert(h, 301, "Aino")
        # Confirmed three hours before the start (it is 10.00 now).
        await flows.order_and_approve(h, nurse, starts_at="23.11.2026 klo 13.00", seats="1")
        await aino.press(aino.t("btn.accept"))
        async with h.core.db.unit_of_work() as s:
            preps = (await s.scalars(select(CheckIn).where(CheckIn.kind == CheckInKind.PREP))).all()
        assert len(preps) == expected
        await h.advance(timedelta(minutes=1))
        prep = aino.t("checkin.prep", title=await h.title("fi", 1))
        assert (prep in aino.texts()) is bool(expected)


@pytest.mark.parametrize("lang", ["fi", "sv", "en"])
async def test_without_coordinator_ids_start_tells_the_owner_how_to_become_one(
    db_url: str, clock: FakeClock, lang: str, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING, logger="bot.app"):
        async with bot_with(db_url, clock, coordinator_ids="") as h:
            owner = h.person(555123, "Omistaja", lang)
            await owner.send("/start")
            assert owner.last.text == owner.t("start.no_coordinator", id=555123)
            assert "555123" in owner.last.text and "COORDINATOR_IDS" in owner.last.text
            await owner.send("/start jokinkoodi123")
            assert owner.last.text == owner.t("start.no_coordinator", id=555123)
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert any("COORDINATOR_IDS is empty" in w and "nobody can approve" in w for w in warnings)
    # The owner puts the id in the settings and restarts: now a coordinator.
    async with bot_with(db_url, clock, coordinator_ids="555123") as h:
        owner = h.person(555123, "Omistaja", lang)
        await owner.send("/start")
        assert owner.last.text.startswith(owner.t("help.coordinator")[:20])
        stranger = h.person(777, "Vieras", lang)
        await stranger.send("/start")
        assert stranger.last.text == stranger.t("start.stranger")
