"""The whole loop as people live it: order -> approval -> offers -> accept/decline -> told."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from storage.models import Gig, GigStatus, Offer, OfferStatus
from tests import flows
from tests.harness import Harness, Person, at


async def gig_row(h: Harness, gig_id: int = 1) -> Gig:
    async with h.core.db.unit_of_work() as s:
        gig = await s.get(Gig, gig_id)
        assert gig is not None
        return gig


async def offers(h: Harness) -> dict[int, str]:
    async with h.core.db.unit_of_work() as s:
        rows = (await s.scalars(select(Offer).order_by(Offer.id))).all()
        return {o.expert_id: o.status for o in rows}


@pytest.mark.parametrize("lang", ["fi", "en"])
async def test_whole_loop(h: Harness, lang: str) -> None:
    h.coord_lang = lang
    coord = flows.coordinator(h)
    await coord.send("/language")
    await coord.press(h.t(lang, "language.self"))
    nurse = await flows.register_orderer(h, 201, "Nea", lang)
    assert nurse.last.text == nurse.t("start.welcome_orderer")
    aino = await flows.register_expert(h, 301, "Aino", lang=lang)
    bertta = await flows.register_expert(h, 302, "Bertta", lang=lang)
    cecilia = await flows.register_expert(h, 303, "Cecilia", lang=lang)
    # Different topic: must not get an offer for a mental-health talk.
    dani = await flows.register_expert(h, 304, "Dani", lang=lang, topics=("substance_use",))

    await flows.fill_order(nurse)
    summary = nurse.last.text
    assert "Keski-Suomen hyvinvointialue" in summary and "10.12.2026" in summary
    await nurse.press(nurse.t("btn.send"))
    assert nurse.last.text == nurse.t("order.received", title=_title(h, nurse))

    alert = coord.last
    assert "#1" in alert.text and "Hoitajantie 3" in alert.text
    assert [b.text for b in alert.flat_buttons] == [
        coord.t("btn.approve"),
        coord.t("btn.reject"),
        coord.t("btn.ranking"),
    ]
    await coord.press(coord.t("btn.approve"), alert)
    # The alert is edited in place: it says what happened and has no buttons to press twice.
    assert alert.text == coord.t(
        "coord.order_approved",
        title=_title(h, coord),
        by="Kaisa Koordinaattori",
        mode=coord.t("mode.broadcast"),
    )
    assert not alert.flat_buttons
    assert nurse.last.text == nurse.t("order.approved", title=_title(h, nurse))

    for expert in (aino, bertta, cecilia):
        offer = expert.last
        assert offer.text.startswith(
            expert.t("offer.new", name=expert.name, details="", topics="", expires="").split("\n")[
                0
            ]
        )
        assert "Hoitajantie 3" in offer.text and "1 h 30 min" in offer.text
        assert "040 123 4567" not in offer.text  # contact details only once confirmed
        assert [b.text for b in offer.flat_buttons] == [
            expert.t("btn.accept"),
            expert.t("btn.decline"),
            expert.t("btn.details"),
            expert.t("btn.why"),
            expert.t("btn.lifecycle.more_time"),
        ]
        # Broadcast offers are open for 48 hours (OFFER_VALID_HOURS).
        assert expert.t("common.clock_word").join(["25.11.2026 ", " 10.00"]) in offer.text
    assert not any(expert.t("btn.accept") in b.text for m in dani.inbox for b in m.flat_buttons)

    await bertta.press(bertta.t("btn.decline"))
    assert bertta.last.text == bertta.t("offer.declined", title=_title(h, bertta))
    # Only the undo button is left, for UNDO_MINUTES (tests/test_lifecycle.py).
    undo = bertta.t("btn.lifecycle.undo", minutes=2)
    assert [b.text for b in bertta.last.flat_buttons] == [undo]

    await aino.press(aino.t("btn.accept"))
    confirmation = aino.last.text
    assert "Nea Nurse, 040 123 4567" in confirmation  # contact person reaches the expert
    assert "Pysäköinti P2-hallissa." not in confirmation  # the rest is one tap away
    await aino.press(aino.t("btn.details"))
    assert "Pysäköinti P2-hallissa." in aino.last.text
    assert "Nea Nurse, 040 123 4567" in aino.last.text
    assert (await gig_row(h)).seats_filled == 1

    await cecilia.press(cecilia.t("btn.accept"))
    gig = await gig_row(h)
    assert gig.status == GigStatus.FILLED and gig.seats_filled == 2
    assert "Aino" in nurse.last.text and "Cecilia" in nurse.last.text
    assert any("Aino" in t and "Cecilia" in t for t in coord.texts())

    await nurse.send("/myorders")
    assert nurse.t("status.filled") in nurse.last.text and "Aino, Cecilia" in nurse.last.text
    await aino.send("/mygigs")
    assert "#1" in aino.last.text
    await bertta.send("/mygigs")
    assert bertta.last.text == bertta.t("expert.no_gigs")


def _title(h: Harness, p: Person) -> str:
    return p.t(
        "gig.title",
        id=1,
        type=p.t("gig_type.talk"),
        when=p.t("common.clock_word").join(["10.12.2026 ", " 13.00"]),
    )


async def test_open_offers_are_closed_when_the_gig_fills(h: Harness) -> None:
    nurse = await flows.register_orderer(h, 201)
    experts = [await flows.register_expert(h, 300 + i, f"E{i}") for i in range(3)]
    await flows.order_and_approve(h, nurse, seats="1")
    offer_of_last = experts[2].last
    stale_msg, stale_button = experts[1].find_button(experts[1].t("btn.accept"))
    await experts[0].press(experts[0].t("btn.accept"))
    # The third expert's offer now says the gig is full, with no buttons left.
    assert offer_of_last.text == experts[2].t("offer.filled_thanks", title=_title(h, experts[2]))
    assert offer_of_last.flat_buttons == []
    # A late press on the old message (kept by a slow client) gets a kind reply.
    await experts[1].press_data(stale_button.data, stale_msg)
    assert experts[1].last.text == experts[1].t("offer.filled_late", title=_title(h, experts[1]))
    assert sorted((await offers(h)).values()) == [
        OfferStatus.ACCEPTED,
        OfferStatus.CLOSED,
        OfferStatus.CLOSED,
    ]


async def test_two_accepts_for_the_last_seat_never_both_win(h: Harness) -> None:
    nurse = await flows.register_orderer(h, 201)
    a = await flows.register_expert(h, 301, "A")
    b = await flows.register_expert(h, 302, "B")
    await flows.order_and_approve(h, nurse, seats="1")
    offer_a, button_a = a.find_button(a.t("btn.accept"))
    offer_b, button_b = b.find_button(b.t("btn.accept"))
    await asyncio.gather(a.press_data(button_a.data, offer_a), b.press_data(button_b.data, offer_b))
    gig = await gig_row(h)
    assert gig.seats_filled == 1 and gig.status == GigStatus.FILLED
    statuses = sorted((await offers(h)).values())
    assert statuses == [OfferStatus.ACCEPTED, OfferStatus.CLOSED]
    confirmed = [
        p
        for p in (a, b)
        if any(p.t("offer.confirmation", title="", details="")[:15] in t for t in p.texts())
    ]
    assert len(confirmed) == 1


async def test_double_tap_on_accept_takes_one_seat(h: Harness) -> None:
    nurse = await flows.register_orderer(h, 201)
    a = await flows.register_expert(h, 301, "A")
    await flows.order_and_approve(h, nurse, seats="2")
    offer, button = a.find_button(a.t("btn.accept"))
    await asyncio.gather(a.press_data(button.data, offer), a.press_data(button.data, offer))
    await a.press_data(button.data, offer)  # Telegram redelivers the same tap
    gig = await gig_row(h)
    assert gig.seats_filled == 1 and gig.status == GigStatus.OPEN
    async with h.core.db.unit_of_work() as s:
        accepted = await s.scalar(
            select(func.count()).select_from(Offer).where(Offer.status == OfferStatus.ACCEPTED)
        )
    assert accepted == 1
    assert a.last_toast() == a.t("offer.already_answered")


async def test_reject_asks_a_reason_and_the_orderer_reads_it(h: Harness) -> None:
    nurse = await flows.register_orderer(h, 201)
    await flows.fill_order(nurse)
    await nurse.press(nurse.t("btn.send"))
    coord = flows.coordinator(h)
    await coord.press(coord.t("btn.reject"))
    assert coord.last.text == coord.t("form.reject.reason")
    await coord.send("Päällekkäin toisen tilauksen kanssa, soitan teille.")
    assert "Päällekkäin toisen tilauksen kanssa" in nurse.last.text
    assert (await gig_row(h)).status == GigStatus.REJECTED
    await coord.send("/pending")
    assert coord.last.text == coord.t("coord.no_pending")


async def test_nobody_eligible_alerts_the_coordinator(h: Harness) -> None:
    nurse = await flows.register_orderer(h, 201)
    await flows.register_expert(h, 301, "A", languages=("sv",))
    coord = await flows.order_and_approve(h, nurse)
    assert any(t.startswith("⚠️") and "#1" in t for t in coord.texts())


async def test_offers_wait_for_the_end_of_quiet_hours(h: Harness) -> None:
    nurse = await flows.register_orderer(h, 201)
    a = await flows.register_expert(h, 301, "A")
    h.clock.set(at("23.11.2026 22.15"))
    await flows.order_and_approve(h, nurse)
    assert not any(b.text == a.t("btn.accept") for m in a.inbox for b in m.flat_buttons)
    await h.advance(timedelta(hours=9))  # 07.15: still quiet
    assert not any(b.text == a.t("btn.accept") for m in a.inbox for b in m.flat_buttons)
    await h.advance(timedelta(hours=1))  # 08.15
    assert a.last.flat_buttons[0].text == a.t("btn.accept")
