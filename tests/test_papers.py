"""The papers the bot makes, read back as text and looked at as a rendered page: the expert's
yearly statement, the orderer's confirmation."""

from __future__ import annotations

import pytest

from tests import flows
from bot.sandbox.fakebot import Sent
from tests.harness import Harness, Person, at
from tests.pdfs import first_page_png, pdf_text

NBSP = "\u00a0"


def fee_card(coord: Person, fee_id: int) -> Sent:
    """The newest /fees card of one fee (the list has a card per fee)."""
    return next(
        m for m in reversed(coord.inbox) if m.flat_buttons and m.text.endswith(f"#{fee_id})")
    )


async def december_for(h: Harness, lang: str) -> tuple[Person, Person]:
    """Aino (own limit 250 €) does two 150 € gigs in December 2026; the first one had 23,40 €
    of travel and is paid on 20.12."""
    nurse = await flows.register_orderer(h, 201)
    aino = await flows.register_expert(h, 301, "Äinö Åberg", lang=lang)
    await aino.send("/profile")
    await aino.press(aino.t("btn.limit_earnings"))
    await aino.send("250")
    await flows.order_and_approve(h, nurse, fee="150")
    await aino.press(aino.t("btn.accept"))
    await flows.order_and_approve(h, nurse, fee="150", starts_at="17.12.2026 klo 10.00")
    await aino.press(aino.t("btn.accept"))
    await aino.press(aino.t("btn.accept_anyway"))  # her own limit: she takes it anyway
    coord = flows.coordinator(h)
    await coord.send("/fees")
    await coord.press(coord.t("btn.fee_edit"), fee_card(coord, 1))
    await coord.press(coord.t("fee_type.palkkio"))
    await coord.send("150")
    await coord.send("23,40")
    await coord.press(coord.t("btn.none"))
    h.clock.set(at("20.12.2026 12.00"))
    await coord.send("/fees")
    await coord.press(coord.t("btn.fee_paid"), fee_card(coord, 1))
    return aino, coord


@pytest.mark.parametrize("lang", ["fi", "en"])
async def test_yearly_statement_pdf(h: Harness, lang: str) -> None:
    aino, _ = await december_for(h, lang)
    await aino.send("/myfees 2026")
    assert aino.last.text == aino.t("papers.statement_sent", year=2026)
    name, data = aino.last_file.document or ("", b"")
    assert name == aino.t("papers.statement_file", year=2026)
    text = pdf_text(data)
    first_page_png(data, f"statement-{lang}")
    money = {"fi": ("150 €", "23,40 €", "300 €", "323,40 €"), "en": ("150 €", "23.40 €", "300 €", "323.40 €")}
    fee, travel, fees, everything = money[lang]
    t = aino.t
    assert t("papers.statement_title", year=2026) in text
    assert "Äinö Åberg" in text and h.core.settings.centre_name in text
    # Every gig: date, type, hours, fee, expenses and the paid date.
    gig_type = t("gig_type.talk")
    hours = "1,5 h" if lang == "fi" else "1.5 h"
    assert f"10.12.2026 #1 {gig_type}" in text and f"17.12.2026 #2 {gig_type}" in text
    assert f"{hours} {fee} {travel} 20.12.2026" in text.replace(NBSP, " ")
    assert f"{hours} {fee} 0 € –" in text
    # Totals by kind: the taxable fees apart from the reimbursed costs.
    assert f"{t('papers.k_palkkio')} {fees}" in text
    assert f"{t('papers.k_travel')} {travel}" in text
    assert f"{t('papers.k_all')} {everything}" in text.replace(NBSP, " ")
    # December's 300 € of fees is over her own 250 € limit; November is not.
    assert t("papers.limit", limit="250 €") in text
    assert f"{t('papers.m12')} 2026 {fees} {travel} {t('papers.over')}" in text
    assert f"{t('papers.m11')} 2026 0 € 0 € {t('papers.under')}" in text


@pytest.mark.parametrize("lang", ["fi", "en"])
async def test_yearly_statement_asks_kindly_for_a_year(h: Harness, lang: str) -> None:
    aino = await flows.register_expert(h, 301, "Aino", lang=lang)
    for typed in ("/myfees viime vuonna", "/myfees 3000", "/myfees 2026.5", "/myfees ２０２６"):
        await aino.send(typed)
        assert aino.last.text == aino.t("papers.year_usage", year=2026), typed
    await aino.send("/myfees 2025")
    assert aino.last.text == aino.t("papers.year_empty", year=2025)
    assert not any(m.document for m in aino.inbox)
