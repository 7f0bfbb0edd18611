"""The papers the bot makes, read back as text and looked at as a rendered page: the expert's
yearly statement, the orderer's confirmation."""

from __future__ import annotations

import pytest

from bot.sandbox.fakebot import Sent
from tests import flows
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
    await flows.fill_fee_form(coord, "palkkio", "150", "23,40")
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
    money = {
        "fi": ("150 €", "23,40 €", "300 €", "323,40 €"),
        "en": ("150 €", "23.40 €", "300 €", "323.40 €"),
    }
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


def pdf_files(p: Person) -> list[Sent]:
    return [m for m in p.inbox if m.document and m.document[0].endswith(".pdf")]


@pytest.mark.parametrize("lang", ["fi", "en"])
async def test_orderer_gets_a_confirmation_when_filled_and_an_updated_one_on_change(
    h: Harness, lang: str
) -> None:
    nurse = await flows.register_orderer(h, 201, lang=lang)
    aino = await flows.register_expert(h, 301, "Aino Ä.")
    bea = await flows.register_expert(h, 302, "Bea Å.")
    await flows.order_and_approve(h, nurse, seats="2", order_ref="PO-118")
    await aino.press(aino.t("btn.accept"))
    assert not pdf_files(nurse)  # one seat of two: nothing to confirm yet
    await bea.press(bea.t("btn.accept"))
    (first,) = pdf_files(nurse)
    title = await h.title(lang, 1)
    t = nurse.t
    assert first.text == t("papers.confirmation_caption", title=title)
    assert first.document is not None
    assert first.document[0] == t("papers.confirmation_file", id=1, version=1)
    text = pdf_text(first.document[1])
    first_page_png(first.document[1], f"confirmation-{lang}")
    lines = text.replace(NBSP, " ").splitlines()
    assert t("papers.confirmation_title", id=1) in lines
    when = "10.12.2026 klo 13.00" if lang == "fi" else "10.12.2026 at 13.00"
    assert f"{t('papers.l_when')} {when} (1 h 30 min)" in lines
    assert f"{t('papers.l_who')} Aino Ä., Bea Å." in lines
    assert f"{t('label.order_ref')} PO-118" in lines
    assert t("papers.fee_each", fee="150 €", seats=2, total="300 €")[:30] in text
    assert t("papers.cancel_terms", days=7)[:40] in text
    assert "Keskussairaala, Hoitajantie 3" in text
    # Nothing but the chosen names: no register numbers or other details of the experts.
    assert "#301" not in text and "mental" not in text

    coord = flows.coordinator(h)
    await coord.send("/gig 1")
    await coord.press(coord.t("btn.change_time"))
    await coord.send("12.12.2026 klo 9.00")
    assert len(pdf_files(nurse)) == 2
    updated = pdf_files(nurse)[-1]
    assert updated.document is not None
    assert updated.text == t("papers.confirmation_updated", title=await h.title(lang, 1))
    assert updated.document[0] == t("papers.confirmation_file", id=1, version=2)
    text = pdf_text(updated.document[1])
    first_page_png(updated.document[1], f"confirmation-updated-{lang}")
    assert t("papers.confirmation_title_updated", id=1) in text
    assert ("12.12.2026 klo 09.00" if lang == "fi" else "12.12.2026 at 09.00") in text
    assert "10.12.2026" not in text.split(t("papers.l_when"))[1].splitlines()[0]


async def two_held_gigs(h: Harness, lang: str) -> Person:
    """Aino does a talk on 10.12. and a school lesson on 14.12.2026; both are marked held."""
    nurse = await flows.register_orderer(h, 201)
    aino = await flows.register_expert(
        h, 301, "Äinö Åberg", lang=lang, gig_types=("talk", "school")
    )
    await flows.order_and_approve(h, nurse, seats="1")
    await aino.press(aino.t("btn.accept"))
    await flows.order_and_approve(
        h, nurse, seats="1", gig_type="school", duration="2", starts_at="14.12.2026 klo 9.00"
    )
    await aino.press(aino.t("btn.accept"))
    h.clock.set(at("20.12.2026 12.00"))
    coord = flows.coordinator(h)
    for gig in (1, 2):
        await coord.send(f"/gig {gig}")
        await coord.press(coord.t("btn.mark_done"))
    return aino


@pytest.mark.parametrize("lang", ["fi", "en"])
async def test_certificate_asked_approved_and_sent(h: Harness, lang: str) -> None:
    aino = await two_held_gigs(h, lang)
    await aino.send("/certificate 2026")
    assert aino.last.text == aino.t(
        "certificate.asked", since="1.1.2026", until="20.12.2026", count=2
    )
    coord = flows.coordinator(h)
    alert, button = coord.find_button(coord.t("btn.money.cert_approve"))
    assert "Äinö Åberg" in alert.text and "1.1.2026–20.12.2026" in alert.text
    await coord.press(coord.t("btn.money.cert_approve"), alert)
    assert coord.last.text == coord.t("certificate.approved_done", name="Äinö Åberg")
    sent = aino.last_file
    assert sent.text == aino.t("certificate.sent", since="1.1.2026", until="20.12.2026")
    assert sent.document is not None
    assert sent.document[0] == aino.t("certificate.file", since=20260101, until=20261220)
    text = pdf_text(sent.document[1])
    first_page_png(sent.document[1], f"certificate-{lang}")
    lines = text.splitlines()
    t = aino.t
    assert t("certificate.title") in " ".join(text.split())  # the title may wrap
    assert h.core.settings.centre_name in text and "Äinö Åberg" in text
    hours = {"fi": ("1,5 h", "2,0 h", "3,5 h"), "en": ("1.5 h", "2.0 h", "3.5 h")}[lang]
    assert f"{t('gig_type.talk')} 1 {hours[0]}" in lines
    assert f"{t('gig_type.school')} 1 {hours[1]}" in lines
    assert f"{t('papers.k_all')} 2 {hours[2]}" in lines
    assert t("certificate.approved", by="Kaisa Koordinaattori", date="20.12.2026") in lines
    assert t("topic.mental_health") not in text  # lived experience is never on it
    # A second press (another coordinator, or twice) sends nothing more.
    files = len([m for m in aino.inbox if m.document])
    await coord.press_data(button.data, alert)
    assert coord.last.text == coord.t("certificate.already", by="Kaisa Koordinaattori")
    assert len([m for m in aino.inbox if m.document]) == files


@pytest.mark.parametrize("lang", ["fi", "en"])
async def test_certificate_periods_are_read_kindly(h: Harness, lang: str) -> None:
    aino = await two_held_gigs(h, lang)
    usage = aino.t("certificate.usage")
    for typed in (
        "",
        " huomenna",
        " 31.2.2026 1.3.2026",
        " 1.1.2027 31.1.2027",
        " 2.2.2026 1.1.2026",
        " 1.1.2026",
    ):
        await aino.send(f"/certificate{typed}")
        assert aino.last.text == usage, typed
    await aino.send("/certificate 2019")
    assert aino.last.text == aino.t("certificate.none", since="1.1.2019", until="31.12.2019")
    await aino.send("/certificate 1.12.2026–15.12.2026")
    assert aino.last.text == aino.t(
        "certificate.asked", since="1.12.2026", until="15.12.2026", count=2
    )
    # A coordinator's button for a period nobody asked for does nothing.
    coord = flows.coordinator(h)
    uid = await h.user_id(301)
    alert, _ = coord.find_button(coord.t("btn.money.cert_approve"))
    await coord.press_data(f"ct:{uid}:20260101:20261231", alert)
    assert coord.last.text == coord.t("err.stale")
    assert not any(m.document for m in aino.inbox if m.document and m.document[0].endswith(".pdf"))
