"""Expense claims: after a gig an expert claims kilometres by car (at the allowance), a ticket
or another cost with a receipt sent in the chat; a coordinator sees the claim and its receipt in
/fees and on the gig card, approves or rejects it with a reason; approved expenses go on the
fee, apart from the taxable fee."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from bot.sandbox.fakebot import Sent
from storage.models import ExpenseClaim, Fee
from tests import flows
from tests.evidence import everything
from tests.harness import Harness, Person, at
from tests.receipts import send_receipt


def kept(dump: str) -> list[str]:
    """Every stored row but the form drafts' and the inbox's (they follow each update)."""
    return [line for line in dump.splitlines() if not line.startswith(("drafts:", "inbox:"))]


def card(coord: Person, claim_id: int) -> Sent:
    head = coord.t("claims.card", id=claim_id, name="X", title="", claim="", receipt="")[:12]
    return next(
        m for m in reversed(coord.inbox) if m.text.startswith(head) and f"#{claim_id}:" in m.text
    )


@pytest.mark.parametrize("lang", ["fi", "en"])
async def test_claim_with_receipt_approved_and_rejected(h: Harness, lang: str) -> None:
    nurse = await flows.register_orderer(h, 201)
    aino = await flows.register_expert(h, 301, "Aino", lang=lang)
    await flows.order_and_approve(h, nurse, seats="1")
    await aino.press(aino.t("btn.accept"))
    await aino.send("/myfees")
    claim_label = aino.t("btn.money.claim", id=1)
    assert claim_label not in [b.text for b in aino.last.flat_buttons]  # not before the gig
    h.clock.set(at("10.12.2026 16.00"))

    # Kilometres by car: no receipt needed, the allowance from the settings.
    await aino.send("/myfees")
    await aino.press(claim_label)
    assert aino.last.text == aino.t("form.claim.cost")
    await aino.press(aino.t("claim_kind.car"))
    assert aino.last.text == aino.t("form.claim.km")
    replies = await aino.send("paljon")
    assert replies[0].text.startswith(aino.t("err.not_a_number", low=1, high=3000)[:15])
    await aino.send("84")
    rate, amount = {"fi": ("0,55 €", "46,20 €"), "en": ("0.55 €", "46.20 €")}[lang]
    car = aino.t("claims.car_line", kind=aino.t("claim_kind.car"), km=84, rate=rate, amount=amount)
    assert aino.last.text == aino.t("claims.sent", claim=car)

    # A ticket: the receipt is asked for, and a wrong file keeps the claim waiting.
    await aino.send("/myfees")
    await aino.press(claim_label)
    await aino.press(aino.t("claim_kind.ticket"))
    await aino.send("12,40")
    ticket = f"{aino.t('claim_kind.ticket')}: {'12,40 €' if lang == 'fi' else '12.40 €'}"
    assert aino.last.text == aino.t("claims.send_receipt", claim=ticket)
    (reply,) = await send_receipt(h, aino, photo=False, name="lippu.txt", mime="text/plain")
    assert reply.text == aino.t("claims.receipt_type")
    (reply,) = await send_receipt(h, aino, photo=False, size=25 * 1024 * 1024)
    assert reply.text == aino.t("claims.receipt_too_big")
    (reply,) = await send_receipt(h, aino, content=b"\xff\xd8 the ticket")
    assert reply.text == aino.t("claims.sent", claim=ticket)

    coord = flows.coordinator(h)
    alerts = [m for m in coord.inbox if m.text.startswith("🧾")]
    assert len(alerts) == 2 and "Aino" in alerts[0].text
    # On the gig card and in /fees, each claim with its buttons.
    await coord.send("/gig 1")
    assert card(coord, 1) and card(coord, 2)
    await coord.send("/fees")
    await coord.press(coord.t("btn.money.receipt"), card(coord, 2))
    receipt = coord.last_file
    assert receipt.document == ("photo.jpg", b"\xff\xd8 the ticket")
    assert receipt.text == coord.t("claims.receipt_caption", id=2, name="Aino")
    assert coord.t("btn.money.receipt") not in [b.text for b in card(coord, 1).flat_buttons]

    first = card(coord, 1)
    await coord.press(coord.t("btn.money.approve"), first)
    assert first.text == coord.t("claims.approved_done", id=1, name="Aino")  # edited in place
    title = await h.title(lang, 1)
    assert aino.last.text == aino.t("claims.approved", title=title, claim=car)
    await coord.send("/fees")
    await coord.press(coord.t("btn.money.reject"), card(coord, 2))
    assert coord.last.text == coord.t("form.claim_reject.reason")
    await coord.send("Lippu on toiselta päivältä.")
    assert coord.last.text == coord.t("claims.rejected_done", id=2, name="Aino")
    assert aino.last.text == aino.t(
        "claims.rejected", title=title, claim=ticket, reason="Lippu on toiselta päivältä."
    )
    # A second decision on the same claim changes nothing.
    await coord.press(coord.t("btn.money.approve"), card(coord, 2))
    assert coord.last.text == coord.t("claims.already_decided")

    async with h.core.db.unit_of_work() as s:
        fee = await s.get(Fee, 1)
        assert fee is not None and (fee.amount_cents, fee.travel_cents, fee.other_cents) == (
            15000,
            4620,
            0,
        )
    await aino.send("/myfees")
    mine = aino.last.text
    assert f"🧾 {car} · {aino.t('claim_status.approved')}" in mine
    assert f"🧾 {ticket} · {aino.t('claim_status.rejected')} – Lippu on toiselta päivältä." in mine


async def test_claims_are_the_experts_own_and_only_after_the_gig(h: Harness) -> None:
    nurse = await flows.register_orderer(h, 201)
    aino = await flows.register_expert(h, 301, "Aino")
    bea = await flows.register_expert(h, 302, "Bea")
    await flows.order_and_approve(h, nurse, seats="1")
    await aino.press(aino.t("btn.accept"))
    await aino.send("/myfees")
    # Before the gig a claim is refused kindly even with the button's data.
    await aino.press_data("xe:1", aino.last)
    assert aino.last.text == aino.t("claims.not_yet")
    h.clock.set(at("10.12.2026 16.00"))
    # Someone else's fee: the button is no proof of access.
    await bea.send("/myfees")
    await bea.press_data("xe:1", bea.last)
    assert bea.last.text == bea.t("err.stale")
    # A photo with no claim waiting for it.
    (reply,) = await send_receipt(h, bea)
    assert reply.text == bea.t("claims.receipt_unexpected")
    # An expert cannot decide claims; nothing was stored by any of this.
    await bea.press_data("xa:a:1", bea.last)
    async with h.core.db.unit_of_work() as s:
        assert (await s.scalars(select(ExpenseClaim))).all() == []


async def test_money_records_are_kept_six_years_after_the_year_and_then_deleted(
    h: Harness,
) -> None:
    """Kirjanpitolaki 2:10 §: vouchers six years from the end of the year. A 2026 gig paid in
    2026, with its claim and receipt, is kept through 2032 and deleted on 1.1.2033."""
    nurse = await flows.register_orderer(h, 201)
    aino = await flows.register_expert(h, 301, "Aino")
    await flows.order_and_approve(h, nurse, seats="1")
    await aino.press(aino.t("btn.accept"))
    h.clock.set(at("10.12.2026 16.00"))
    await aino.send("/myfees")
    await aino.press(aino.t("btn.money.claim", id=1))
    await aino.press(aino.t("claim_kind.ticket"))
    await aino.send("9,80")
    await send_receipt(h, aino)
    coord = flows.coordinator(h)
    await coord.send("/fees")
    await coord.press(coord.t("btn.money.approve"), card(coord, 1))
    await coord.send("/fees")
    await coord.press(coord.t("btn.fee_paid"))

    async def counts() -> tuple[int, int]:
        async with h.core.db.unit_of_work() as s:
            fees = len((await s.scalars(select(Fee))).all())
            claims = len((await s.scalars(select(ExpenseClaim))).all())
            return fees, claims

    h.clock.set(at("31.12.2032 09.00"))
    await h.run_job("register:daily")
    assert await counts() == (1, 1)
    h.clock.set(at("1.1.2033 09.00"))
    await h.run_job("register:daily")
    assert await counts() == (0, 0)


async def test_a_fee_edit_never_overwrites_a_claim_approved_while_it_was_open(
    h: Harness,
) -> None:
    nurse = await flows.register_orderer(h, 201)
    aino = await flows.register_expert(h, 301, "Aino", lang="en")
    await flows.order_and_approve(h, nurse, seats="1")
    await aino.press(aino.t("btn.accept"))
    h.clock.set(at("10.12.2026 16.00"))
    await aino.send("/myfees")
    await aino.press(aino.t("btn.money.claim", id=1))
    await aino.press(aino.t("claim_kind.car"))
    await aino.send("84")  # 46.20 €
    coord = flows.coordinator(h)
    await coord.send("/fees")
    claim = card(coord, 1)
    await coord.press(coord.t("btn.fee_edit"))
    await coord.press(coord.t("fee_type.palkkio"))
    await coord.send("180")
    await coord.press(coord.t("btn.money.approve"), claim)  # meanwhile
    before = kept(await everything(h))
    await coord.send("10")  # travel, as read before the claim
    await coord.press(coord.t("btn.none"))
    # "Nothing was changed": every table but the form's own draft and the updates' inbox
    # reads as before the figures were typed (no fee, no audit entry).
    assert kept(await everything(h)) == before
    assert coord.last.text == coord.t(
        "fees.changed_meanwhile",
        id=1,
        travel="46,20 €",
        other="0 €",
        typed_travel="10 €",
        typed_other="0 €",
    )
    async with h.core.db.unit_of_work() as s:
        fee = await s.get(Fee, 1)
        assert fee is not None
        assert (fee.amount_cents, fee.travel_cents, fee.other_cents) == (15000, 4620, 0)
    # Edited again with the figures in view, it is written.
    await coord.send("/fees")
    await coord.press(coord.t("btn.fee_edit"))
    await flows.fill_fee_form(coord, "palkkio", "180", "46,20")
    assert coord.last.text == coord.t("fees.edited", id=1)
