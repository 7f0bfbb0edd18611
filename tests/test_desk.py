"""The coordinator's desk: gig list and card, fees, audit log, alert choices and claims,
and a report whose figures are checked against a data set built here."""

from __future__ import annotations

import csv
import io
from datetime import timedelta

import pytest
from openpyxl import load_workbook
from sqlalchemy import select

from storage.models import Fee, FeeStatus, Gig, GigStatus, Offer, OfferStatus
from tests import flows
from tests.harness import Harness, Person, at


async def confirmed(
    h: Harness, lang: str = "fi", n: int = 1, **order: object
) -> tuple[Person, list[Person]]:
    nurse = await flows.register_orderer(h, 201, lang=lang)
    crew = [await flows.register_expert(h, 301 + i, f"E{i + 1}", lang=lang) for i in range(n)]
    await flows.order_and_approve(h, nurse, seats=str(n), **order)
    for p in crew:
        await p.press(p.t("btn.accept"))
    return nurse, crew


async def test_desk_commands_are_for_coordinators_only(h: Harness) -> None:
    nurse, (e1,) = await confirmed(h)
    for person in (nurse, e1):
        for command in ("/gigs", "/gig 1", "/fees", "/audit gig 1", "/alerts", "/report"):
            await person.send(command)
            assert person.last.text == person.t("common.not_allowed"), command
        for data in ("gd:1", "gm:1", "rp:1", "ns:1", "fe:p:1", "cl:1", "al:short", "gl:u:0"):
            await person.press_data(data, person.last)
    async with h.core.db.unit_of_work() as s:
        gig = await s.get(Gig, 1)
        fee = await s.scalar(select(Fee))
        assert gig is not None and gig.status == GigStatus.FILLED
        assert fee is not None and fee.status == FeeStatus.AGREED


@pytest.mark.parametrize("lang", ["fi", "en"])
async def test_gig_list_filters_and_pages(h: Harness, lang: str) -> None:
    h.coord_lang = lang
    nurse = await flows.register_orderer(h, 201, lang=lang)
    for day in range(11, 23):
        await flows.fill_order(nurse, starts_at=f"{day}.12.2026 klo 10.00")
        await nurse.press(nurse.t("btn.send"))
    coord = flows.coordinator(h)
    await coord.send("/gigs")
    listing = coord.last
    assert listing.text.startswith(
        coord.t(
            "desk.gigs_header", filter=coord.t("desk.filter_upcoming"), count=12, page=1, pages=2
        )
    )
    await coord.press("▶", listing)
    assert (
        coord.t(
            "desk.gigs_header", filter=coord.t("desk.filter_upcoming"), count=12, page=2, pages=2
        )
        in listing.text
    )
    await coord.send("/gigs " + {"fi": "odottavat", "en": "pending"}[lang])
    assert "(12)" not in coord.last.text and ": 12 ·" in coord.last.text
    await coord.send("/gigs " + {"fi": "tänään", "en": "today"}[lang])
    assert coord.last.text == coord.t("desk.no_gigs")


async def test_gig_list_finds_an_organisation_in_any_case_and_keeps_stale_pages_useful(
    h: Harness,
) -> None:
    """The organisation search runs in the database: Finnish letters match in either case,
    "%" is a character and not a wildcard; a page button from a longer list shows the last
    page there is."""
    nurse = await flows.register_orderer(h, 201)
    for day, org in ((11, "Äänekosken kaupunki"), (12, "ÄÄNEKOSKEN lukio"), (14, "Jämsä 100%")):
        await flows.fill_order(nurse, organisation=org, starts_at=f"{day}.12.2026 klo 10.00")
        await nurse.press(nurse.t("btn.send"))
    coord = flows.coordinator(h)
    header = {"filter": coord.t("desk.filter_upcoming"), "page": 1, "pages": 1}
    await coord.send("/gigs äänekosken")
    assert coord.last.text.startswith(coord.t("desk.gigs_header", count=2, **header))
    assert "Äänekosken kaupunki" in coord.last.text and "ÄÄNEKOSKEN lukio" in coord.last.text
    await coord.send("/gigs 100%")
    assert coord.last.text.startswith(coord.t("desk.gigs_header", count=1, **header))
    await coord.send("/gigs 1%0")
    assert coord.last.text == coord.t("desk.no_gigs")
    stale = coord.last
    await coord.press_data("gl:u:3", stale)
    assert stale.text.startswith(coord.t("desk.gigs_header", count=3, **header))


async def test_card_replace_no_show_done_and_message(h: Harness) -> None:
    _nurse, (e1, e2) = await confirmed(h, n=2)
    e3 = await flows.register_expert(h, 303, "E3")
    coord = flows.coordinator(h)
    await coord.send("/gig 1")
    assert coord.t("desk.confirmed", names="E1, E2") in coord.last.text
    await coord.press(coord.t("btn.message_experts"))
    await coord.send("Tervetuloa! Parkkipaikka on varattu nimellänne.")
    assert coord.last.text == coord.t("desk.message_sent", count=2)
    assert "Parkkipaikka on varattu" in e1.last.text and "Parkkipaikka on varattu" in e2.last.text
    await coord.send("/gig 1")
    await coord.press(coord.t("btn.replace", name="E2"))
    assert e2.last.text == e2.t("desk.replaced", title=await h.title("fi", 1))
    assert flows.offered(e3)
    await e3.press(e3.t("btn.accept"))
    h.clock.set(at("10.12.2026 15.00"))
    await coord.send("/gig 1")
    await coord.press(coord.t("btn.no_show", name="E3"))
    await coord.press(coord.t("btn.mark_done"))
    async with h.core.db.unit_of_work() as s:
        gig = await s.get(Gig, 1)
        statuses = sorted((await s.scalars(select(Offer.status))).all())
        assert gig is not None and gig.status == GigStatus.DONE
        assert OfferStatus.NO_SHOW in statuses and OfferStatus.WITHDRAWN in statuses
    await coord.send("/audit gig 1")
    log = coord.last.text
    for action in ("approve", "message", "replace", "no_show", "done"):
        assert action in log, action


async def test_fee_from_agreed_to_paid_with_the_experts_tap(h: Harness) -> None:
    _, (e1,) = await confirmed(h)
    coord = flows.coordinator(h)
    await coord.send("/fees")
    assert "150 €" in coord.last.text and coord.t("fee_status.agreed") in coord.last.text
    await coord.press(coord.t("btn.fee_sent"))
    await e1.send("/myfees")
    assert e1.t("fees.mine_header", ytd="150 €", month="0 €") in e1.last.text
    assert e1.t("fee_status.form_sent") in e1.last.text
    await e1.press(e1.t("btn.fee_confirm_paid", id=1))
    assert e1.last.text == e1.t("fees.confirmed_paid")
    await coord.send("/fees")
    assert coord.last.text == coord.t("fees.none_unpaid")
    await coord.send(f"/audit expert {await h.user_id(301)}")
    await coord.send("/audit gig 1")


async def test_fee_edit_refusal_and_reminder(h: Harness) -> None:
    _, (_e1, e2) = await confirmed(h, n=2)
    await e2.send("/myfees")
    await e2.press(e2.t("btn.fee_refuse", id=2))
    title = await h.title("fi", 1)
    # One more tap, and the question says what stays the same.
    assert e2.last.text == e2.t("fees.refuse_confirm", title=title, amount="150 €")
    await e2.press(e2.t("btn.fee_refuse_yes"))
    assert e2.last.text == e2.t("fees.refused", title=title)
    coord = flows.coordinator(h)
    await coord.send("/fees")
    await coord.press(coord.t("btn.fee_edit"))
    await flows.fill_fee_form(coord, "tyokorvaus", "200", "23,40")
    assert coord.last.text == coord.t("fees.edited", id=1)
    async with h.core.db.unit_of_work() as s:
        fees = {f.id: f for f in (await s.scalars(select(Fee))).all()}
    assert (fees[1].fee_type, fees[1].amount_cents, fees[1].travel_cents) == (
        "tyokorvaus",
        20000,
        2340,
    )
    assert (fees[2].fee_type, fees[2].amount_cents) == ("volunteer", 0)
    h.clock.set(at("10.1.2027 08.05"))  # 30 days after the gig
    await h.run_job("register:daily")
    await h.core.outbox.flush()
    assert coord.last.text.startswith("💶 ")
    assert sum(t.startswith("💶 ") for t in coord.texts()) == 1  # one fee is due, once


async def test_alert_choices_and_claiming(h: Harness) -> None:
    second = h.person(101, "Toinen Koordinaattori")
    code = await flows.invite_link(h, "coordinator")
    await second.send(f"/start {code}")
    nurse = await flows.register_orderer(h, 201)
    await flows.register_expert(h, 301, "E1", languages=("sv",))  # never eligible
    coord = flows.coordinator(h)
    await second.send("/alerts")
    await second.press(second.t("alerts.cat_short"))
    await flows.order_and_approve(h, nurse)
    alert = next(m for m in coord.inbox if m.text.startswith("⚠️"))
    assert not any(m.text.startswith("⚠️") for m in second.inbox)  # muted
    await second.press(second.t("alerts.cat_short"))  # unmute
    await flows.order_and_approve(h, nurse, starts_at="11.12.2026 klo 10.00")
    alerts = [m for m in coord.inbox if m.text.startswith("⚠️")]
    theirs = next(m for m in second.inbox if m.text.startswith("⚠️"))
    await coord.press(coord.t("btn.claim"), alerts[-1])
    assert coord.t("alerts.claimed", by="Kaisa Koordinaattori") in theirs.text
    await second.press_data(
        f"cl:{theirs.flat_buttons[-1].data.split(':')[1]}" if theirs.flat_buttons else "cl:2",
        theirs,
    )
    assert second.last_toast() == second.t("alerts.already_claimed", by="Kaisa Koordinaattori")
    assert alert is not None


async def build_year(h: Harness) -> None:
    """A known data set: 5 orders placed in November for December: 1 cancelled, 3 held
    (4 seats filled of 5), 1 unstaffed; 4 fees of 150 €, one paid."""
    nurse = await flows.register_orderer(h, 201)
    e1 = await flows.register_expert(h, 301, "E1", gig_types=("talk", "school"))
    e2 = await flows.register_expert(h, 302, "E2", gig_types=("talk", "school"))
    for when, kind, seats, takers in (
        ("7.12.2026 klo 10.00", "talk", "2", (e1, e2)),
        ("8.12.2026 klo 10.00", "talk", "1", (e1,)),
        ("9.12.2026 klo 10.00", "school", "1", (e2,)),
        ("10.12.2026 klo 10.00", "talk", "1", ()),
    ):
        await flows.order_and_approve(
            h, nurse, starts_at=when, gig_type=kind, seats=seats, duration="2"
        )
        for p in takers:
            await p.press(p.t("btn.accept"))
    await flows.order_and_approve(h, nurse, starts_at="11.12.2026 klo 10.00", seats="1")
    await nurse.send("/myorders")
    await nurse.press(nurse.t("btn.order_actions", id=5))
    await nurse.press(nurse.t("btn.cancel_order"))
    await nurse.press(nurse.t("btn.skip"))
    coord = flows.coordinator(h)
    await coord.send("/fees")
    await coord.press(coord.t("btn.fee_paid"), coord.inbox[-4])  # the first of 4 fees
    h.clock.set(at("20.12.2026 10.00"))


async def test_report_figures_match_a_known_data_set(h: Harness) -> None:
    await build_year(h)
    coord = flows.coordinator(h)
    await coord.send("/report 12.2026")
    files = [m for m in coord.inbox[-4:] if m.document is not None]
    assert len(files) == 3
    summary = coord.inbox[-4].text
    t = coord.t
    for metric, value in (
        ("orders", "0"),  # placed in November; December holds the gigs
        ("approved", "5"),
        ("gigs_done", "3"),
        ("cancelled", "1"),
        ("reach", "180"),  # three gigs held, each for 60 people
        ("fill_rate", "80\u00a0%"),
        ("experts_active", "2"),
        ("expert_hours", "8,0"),
        ("fees_paid", "150,00\u00a0€"),
        ("fees_unpaid", "450,00\u00a0€"),
        ("spread", "2 / 2,0 / 2"),
    ):
        assert f"{t(f'report.m_{metric}')}: {value}" in summary, metric
    png = files[0].document[1]  # type: ignore[index]
    assert png.startswith(b"\x89PNG")
    workbook = load_workbook(io.BytesIO(files[1].document[1]))  # type: ignore[index]
    by_type = workbook[t("report.s_type")[:31]]
    assert {r[0]: r[1] for r in by_type.iter_rows(min_row=2, values_only=True)} == {
        t("gig_type.talk"): 2,
        t("gig_type.school"): 1,
    }
    rows = list(
        csv.reader(
            io.StringIO(files[2].document[1].decode("utf-8-sig")),  # type: ignore[index]
            delimiter=";",
        )
    )
    assert [t("report.s_summary"), t("report.m_gigs_done"), "3"] in rows
    await coord.send("/report 11.2026")
    assert f"{t('report.m_orders')}: 5" in coord.inbox[-4].text


async def test_report_periods(h: Harness) -> None:
    coord = flows.coordinator(h)
    for words in ("month", "quarter", "year", "2026", "1.10.2026 31.12.2026", "vuosi"):
        await coord.send(f"/report {words}")
        assert coord.inbox[-4].text.startswith(coord.t("report.title", period="")[:7]), words
    await coord.send("/report 31.2.2026 1.3.2026")
    assert coord.last.text == coord.t("report.bad_period")
    await coord.send("/report eilen")
    assert coord.last.text == coord.t("report.bad_period")


async def test_orderer_cannot_act_on_someone_elses_order(h: Harness) -> None:
    nurse, _ = await confirmed(h)
    other = await flows.register_orderer(h, 202, "Toinen")
    for data in ("oa:1", "oc:1", "ot:1", "op:1"):
        await other.press_data(data, nurse.last)
        assert other.last_toast() is None or other.last.text == other.t("err.gig_not_found")
    async with h.core.db.unit_of_work() as s:
        gig = await s.get(Gig, 1)
        assert gig is not None and gig.status == GigStatus.FILLED
    assert timedelta(0) == timedelta(0)
