"""/billing <month>: the held gigs of a month per ordering organisation, fees and expenses
apart, for invoicing; anything but a month is answered with how to ask."""

from __future__ import annotations

import io

import pytest
from openpyxl import load_workbook

from tests import flows
from tests.harness import Harness, at

HOSPITAL = "Keski-Suomen hyvinvointialue, psykiatrian osasto"
SCHOOL = '=HYPERLINK("http://x")Jyväskylän lyseo'  # typed by a person: stays text


async def held_december(h: Harness) -> None:
    """Two held gigs for the hospital (one with an order number, one with 23,40 € of travel),
    one for the school; a cancelled one and a January one are not billed."""
    nurse = await flows.register_orderer(h, 201)
    teacher = await flows.register_orderer(h, 202, "Olli Opo")
    aino = await flows.register_expert(h, 301, "Aino")
    await flows.order_and_approve(h, nurse, seats="1", order_ref="PO-2026/118")
    await aino.press(aino.t("btn.accept"))
    await flows.order_and_approve(h, nurse, seats="1", starts_at="14.12.2026 klo 10.00")
    await aino.press(aino.t("btn.accept"))
    await flows.order_and_approve(
        h,
        teacher,
        seats="1",
        organisation=SCHOOL,
        fee="80",
        contact="Olli Opo, 050 765 4321",
        starts_at="16.12.2026 klo 9.00",
    )
    await aino.press(aino.t("btn.accept"))
    await flows.order_and_approve(h, nurse, seats="1", starts_at="8.1.2027 klo 10.00")
    await aino.press(aino.t("btn.accept"))
    coord = flows.coordinator(h)
    await coord.send("/fees")
    card = next(m for m in reversed(coord.inbox) if m.text.endswith("#2)"))
    await coord.press(coord.t("btn.fee_edit"), card)
    await flows.fill_fee_form(coord, "palkkio", "150", "23,40")
    h.clock.set(at("20.12.2026 12.00"))
    for gig in (1, 2, 3):
        await coord.send(f"/gig {gig}")
        await coord.press(coord.t("btn.mark_done"))


@pytest.mark.parametrize("lang", ["fi", "en"])
async def test_billing_workbook_per_organisation(h: Harness, lang: str) -> None:
    h.coord_lang = lang
    await held_december(h)
    coord = flows.coordinator(h)
    await coord.send("/billing 12/2026")
    fees, expenses = {"fi": ("380 €", "23,40 €"), "en": ("380 €", "23.40 €")}[lang]
    assert coord.last.text == coord.t(
        "billing.summary", month="12/2026", gigs=3, orgs=2, fees=fees, expenses=expenses
    )
    name, data = coord.last_file.document or ("", b"")
    assert name == coord.t("billing.file", year=2026, month="12")
    wb = load_workbook(io.BytesIO(data))
    t = coord.t
    summary = wb[t("billing.sheet_summary")]
    rows = [[c.value for c in row] for row in summary.iter_rows(min_row=3)]
    # Organisations in alphabetical order ("=" sorts first), the total last.
    assert rows == [
        [SCHOOL, "Olli Opo, 050 765 4321", 1, 80, 0, 80],
        [HOSPITAL, "Nea Nurse, 040 123 4567", 2, 300, 23.4, 323.4],
        [t("billing.total"), None, 3, 380, 23.4, 403.4],
    ], rows
    assert summary.cell(3, 4).number_format == '#,##0.00 "€"'
    assert summary.cell(3, 1).data_type == "s"  # a name that looks like a formula is text
    gigs = wb[t("billing.sheet_gigs")]
    assert [c.value for c in gigs[1]][:3] == [
        t("billing.h_organisation"),
        t("billing.h_order_ref"),
        t("billing.h_gig"),
    ]
    listed = [[c.value for c in row] for row in gigs.iter_rows(min_row=2)]
    assert [(r[0], r[1], r[2], r[3]) for r in listed] == [
        (SCHOOL, None, 3, "16.12.2026"),
        (HOSPITAL, "PO-2026/118", 1, "10.12.2026"),
        (HOSPITAL, None, 2, "14.12.2026"),
    ]
    assert listed[2][5:10] == [1.5, 1, 150, 23.4, 173.4]


@pytest.mark.parametrize("lang", ["fi", "en"])
async def test_billing_asks_kindly_for_a_month(h: Harness, lang: str) -> None:
    h.coord_lang = lang
    coord = flows.coordinator(h)
    usage = coord.t("billing.usage", example="11/2026", example_dot="11.2026")
    for typed in (
        "",
        " 13/2027",
        " 3/27",
        " =1+1",
        " 3/2027; DROP TABLE gigs",
        " 0.2027",
        " ３/２０２７",
    ):
        await coord.send(f"/billing{typed}")
        assert coord.last.text == usage, typed
    for typed in ("3/2027", "3.2027", "03 / 2027"):
        await coord.send(f"/billing {typed}")
        assert coord.last.text == coord.t("billing.empty", month="3/2027"), typed
    assert not any(m.document for m in coord.inbox)
