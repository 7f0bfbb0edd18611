"""The experts' register: consent, approval, own limits, coordinator fields, data rights."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from storage.models import ExpertProfile, Gig, GigStatus, Offer, OfferStatus, User
from tests import flows
from tests.evidence import everything
from tests.flows import offered
from tests.harness import Harness, at


@pytest.mark.parametrize("lang", ["fi", "en"])
async def test_declining_consent_keeps_only_the_refusal(h: Harness, lang: str) -> None:
    h.coord_lang = lang
    code = await flows.invite_link(h, "expert")
    p = h.person(301, "Aino", lang)
    await p.send(f"/start {code}")
    assert "/mydata" in p.last.text and "/forget" in p.last.text
    await p.press(p.t("btn.consent_no"))
    async with h.core.db.unit_of_work() as s:
        user = await s.scalar(select(User).where(User.telegram_id == 301))
        assert user is not None and user.consent_refused_at == h.clock.now()
        assert await s.scalar(select(func.count()).select_from(ExpertProfile)) == 0


@pytest.mark.parametrize("lang", ["fi", "en"])
async def test_a_new_expert_waits_for_approval_and_gets_no_offers(h: Harness, lang: str) -> None:
    h.coord_lang = lang
    nurse = await flows.register_orderer(h, 201, lang=lang)
    aino = await flows.register_expert(h, 301, "Aino", lang=lang, approve=False)
    coord = flows.coordinator(h)
    alert = coord.last
    aino_id = await h.user_id(301)
    assert alert.text.startswith(coord.t("register.new", name="Aino", id=aino_id, summary="")[:30])
    await aino.send("/profile")
    assert aino.t("expert.awaiting_approval") in aino.last.text
    await flows.order_and_approve(h, nurse)
    assert not offered(aino)
    await coord.press(coord.t("btn.approve"), alert)
    assert aino.last.text == aino.t("expert.approved")
    assert alert.text == coord.t(
        "register.approved", name="Aino", id=aino_id, by="Kaisa Koordinaattori"
    )
    await flows.order_and_approve(h, nurse, starts_at="11.12.2026 klo 13.00")
    assert offered(aino)


async def test_a_rejected_registration_is_told_kindly(h: Harness) -> None:
    bertta = await flows.register_expert(h, 302, "Bertta", approve=False)
    coord = flows.coordinator(h)
    await coord.press(coord.t("btn.reject"))
    assert bertta.last.text == bertta.t("expert.rejected")
    await coord.press_data("xr:y:2", coord.last)  # a late second decision changes nothing
    assert coord.last_toast() == coord.t("register.already_decided")


async def test_monthly_gig_cap_is_honoured(h: Harness) -> None:
    nurse = await flows.register_orderer(h, 201)
    aino = await flows.register_expert(h, 301, "Aino")
    await aino.send("/profile")
    await aino.press(aino.t("btn.limit_gigs"))
    await aino.press("1")
    assert aino.last.text == aino.t("limits.gigs_set", count=1)
    await flows.order_and_approve(h, nurse, seats="1")
    await aino.press(aino.t("btn.accept"))
    before = len(aino.inbox)
    await flows.order_and_approve(h, nurse, starts_at="17.12.2026 klo 10.00")
    assert not offered_since(aino, before)
    await flows.order_and_approve(h, nurse, starts_at="14.1.2027 klo 10.00")
    assert offered_since(aino, before)


def offered_since(p: flows.Person, index: int) -> bool:
    return any(b.text == p.t("btn.accept") for m in p.inbox[index:] for b in m.flat_buttons)


@pytest.mark.parametrize("lang", ["fi", "en"])
async def test_earnings_limit_warns_before_an_accept_would_cross_it(h: Harness, lang: str) -> None:
    h.coord_lang = lang
    nurse = await flows.register_orderer(h, 201, lang=lang)
    aino = await flows.register_expert(h, 301, "Aino", lang=lang)
    await aino.send("/profile")
    await aino.press(aino.t("btn.limit_earnings"))
    replies = await aino.send("ei tiedä")
    assert replies[0].text == aino.t("err.not_money")
    await aino.send("250")
    await flows.order_and_approve(h, nurse, fee="150")
    await aino.press(aino.t("btn.accept"))
    await flows.order_and_approve(h, nurse, fee="150", starts_at="17.12.2026 klo 10.00")
    await aino.press(aino.t("btn.accept"))
    assert aino.last.text == aino.t(
        "offer.over_limit", title=await h.title(lang, 2), earned="150 €", limit="250 €", fee="150 €"
    )
    async with h.core.db.unit_of_work() as s:
        assert (await s.get(Gig, 2)).seats_filled == 0  # type: ignore[union-attr]
    await aino.press(aino.t("btn.accept_anyway"))
    async with h.core.db.unit_of_work() as s:
        assert (await s.get(Gig, 2)).seats_filled == 1  # type: ignore[union-attr]
    # Now over the limit: no more offers this month.
    before = len(aino.inbox)
    await flows.order_and_approve(h, nurse, fee="50", starts_at="20.12.2026 klo 10.00")
    assert not offered_since(aino, before)


@pytest.mark.parametrize("lang", ["fi", "en"])
async def test_pause_in_one_step_and_told_when_it_ends(h: Harness, lang: str) -> None:
    h.coord_lang = lang
    nurse = await flows.register_orderer(h, 201, lang=lang)
    aino = await flows.register_expert(h, 301, "Aino", lang=lang)
    await aino.send("/pause 30.11.2026")
    assert aino.last.text == aino.t("limits.paused", date="30.11.2026")
    await flows.order_and_approve(h, nurse)
    assert not offered(aino)
    h.clock.set(at("1.12.2026 07.00"))
    await h.run_job("register:daily")
    await h.advance(timedelta(hours=1, minutes=5))  # the message waits for the end of quiet hours
    assert aino.last.text == aino.t("checkin.keep_after_pause")
    await flows.order_and_approve(h, nurse, starts_at="11.12.2026 klo 13.00")
    assert offered(aino)


async def test_resume_ends_a_pause_at_once(h: Harness) -> None:
    aino = await flows.register_expert(h, 301, "Aino")
    await aino.send("/pause")
    await aino.send("31.2.")
    assert aino.inbox[-2].text == aino.t("err.date_invalid", date="31.2.")
    await aino.send("24.12.")
    assert aino.last.text == aino.t("limits.paused", date="24.12.2026")
    await aino.send("/profile")
    await aino.press(aino.t("btn.resume"))
    assert aino.last.text == aino.t("limits.resumed")


@pytest.mark.parametrize("lang", ["fi", "en"])
async def test_youth_expert_needs_a_named_adult_before_confirmation(h: Harness, lang: str) -> None:
    h.coord_lang = lang
    nurse = await flows.register_orderer(h, 201, lang=lang)
    nuppu = await flows.register_expert(h, 301, "Nuppu", lang=lang)
    coord = flows.coordinator(h)
    await coord.send(f"/expert {await h.user_id(301)}")
    await coord.press(coord.t("btn.toggle_youth"))
    assert coord.t("register.card_youth", youth=coord.t("common.yes")) in coord.last.text
    await flows.order_and_approve(h, nurse, seats="1")
    await nuppu.press(nuppu.t("btn.accept"))
    assert nuppu.last.text == nuppu.t("offer.accepted_youth", title=await h.title(lang, 1))
    assert not any("Nea Nurse, 040" in t for t in nuppu.texts())  # not confirmed yet
    await coord.press(coord.t("btn.name_companion"))
    await coord.send("Sari Saattaja, 050 765 4321")
    assert coord.last.text == coord.t("coord.companion_set", title=await h.title(lang, 1), count=1)
    confirmation = nuppu.last.text
    assert "Sari Saattaja, 050 765 4321" in confirmation and "Nea Nurse, 040" in confirmation


async def test_expired_contract_means_no_offers_and_coordinators_are_reminded(h: Harness) -> None:
    nurse = await flows.register_orderer(h, 201)
    aino = await flows.register_expert(h, 301, "Aino")
    coord = flows.coordinator(h)
    aino_id = await h.user_id(301)
    await coord.send(f"/expert {aino_id}")
    await coord.press(coord.t("btn.set_contract"))
    await coord.send("20.12.2026")
    assert coord.last.text == coord.t("register.contract_set", name="Aino", date="20.12.2026")
    await h.run_job("register:daily")
    assert coord.last.text == coord.t(
        "register.contract_expiring", name="Aino", id=aino_id, date="20.12.2026"
    )
    count = len(coord.inbox)
    await h.run_job("register:daily")
    assert len(coord.inbox) == count  # reminded once per contract date
    # The contract ends before this gig: no offer.
    await flows.order_and_approve(h, nurse, starts_at="21.12.2026 klo 10.00")
    assert not offered(aino)


@pytest.mark.parametrize("lang", ["fi", "en"])
async def test_experts_list_filters_and_pages(h: Harness, lang: str) -> None:
    h.coord_lang = lang
    for i in range(11):
        await flows.register_expert(
            h, 300 + i, f"Asiantuntija{i}", topics=("loss",) if i % 2 else ("substance_use",)
        )
    coord = flows.coordinator(h)
    await coord.send("/experts")
    first = coord.last
    assert first.text.startswith(coord.t("register.list_header", total=11, page=1, pages=2))
    assert first.text.count("\n#") == 10
    await coord.press("▶", first)
    assert first.text.startswith(coord.t("register.list_header", total=11, page=2, pages=2))
    await coord.send(f"/experts {coord.t('topic.substance_use').lower()} active")
    assert coord.last.text.startswith(coord.t("register.list_header", total=6, page=1, pages=1))
    await coord.send("/experts loss")
    assert coord.last.text.startswith(coord.t("register.list_header", total=5, page=1, pages=1))
    await coord.send("/experts kuumailmapallo")
    assert coord.last.text == coord.t("register.unknown_filter", words="kuumailmapallo")


async def test_card_counts_gigs_and_deactivation_stops_offers(h: Harness) -> None:
    nurse = await flows.register_orderer(h, 201)
    aino = await flows.register_expert(h, 301, "Aino")
    await flows.order_and_approve(h, nurse, seats="1")
    await aino.press(aino.t("btn.accept"))
    h.clock.set(at("15.12.2026 10.00"))  # five days after the gig
    coord = flows.coordinator(h)
    await coord.send(f"/expert {await h.user_id(301)}")
    card = coord.last
    assert coord.t("register.card_gigs", gigs=1, upcoming=0, days=4) in card.text
    await coord.press(coord.t("btn.deactivate"), card)
    assert coord.t("register.card_status", status=coord.t("register.status_inactive")) in card.text
    before = len(aino.inbox)
    await flows.order_and_approve(h, nurse, starts_at="20.12.2026 klo 10.00")
    assert not offered_since(aino, before)
    await coord.press(coord.t("btn.reactivate"), card)
    assert coord.t("register.card_status", status=coord.t("register.status_active")) in card.text


@pytest.mark.parametrize("lang", ["fi", "en"])
async def test_mydata_sends_everything_as_json(h: Harness, lang: str) -> None:
    h.coord_lang = lang
    aino = await flows.register_expert(h, 301, "Aino", lang=lang, topics=("loss", "relative"))
    await aino.send("/mydata")
    document = aino.last_file.document
    assert document is not None
    data = json.loads(document[1])
    assert data["account"]["telegram_id"] == 301
    assert data["profile"]["topics"] == ["loss", "relative"]
    assert data["profile"]["consent_at"] is not None
    assert aino.last.text.startswith(aino.t("data.summary", offers=0, profile="")[:30])


async def _stats(h: Harness) -> tuple[int, ...]:
    async with h.core.db.unit_of_work() as s:
        gigs = await s.scalar(select(func.count()).select_from(Gig))
        filled = await s.scalar(select(func.sum(Gig.seats_filled)))
        accepted = await s.scalar(
            select(func.count()).select_from(Offer).where(Offer.status == OfferStatus.ACCEPTED)
        )
        experts = await s.scalar(
            select(func.count()).select_from(User).where(User.role == "expert")
        )
        return int(gigs or 0), int(filled or 0), int(accepted or 0), int(experts or 0)


async def test_forget_erases_the_person_and_keeps_the_statistics(h: Harness) -> None:
    nurse = await flows.register_orderer(h, 201)
    aino = await flows.register_expert(
        h, 30177, "Ainomaija", topics=("gambling",), regions=("lappi",), remote_ok=True
    )
    await flows.order_and_approve(h, nurse, seats="1", topics=("gambling",), remote="remote")
    await aino.press(aino.t("btn.accept"))
    await aino.send("/mydata")
    h.clock.set(at("20.12.2026 10.00"))  # the gig is history now
    before = await _stats(h)
    assert "Ainomaija" in await everything(h)
    await aino.send("/forget")
    await aino.press(aino.t("btn.forget_yes"))
    assert aino.last.text == aino.t("data.forgotten", count=0)
    dump = await everything(h)
    for secret in ("30177", "Ainomaija", "gambling"):
        # The gig itself was ordered for "gambling"; the person's own topics must be gone.
        occurrences = [line for line in dump.splitlines() if secret in line]
        if secret == "gambling":
            assert all(
                line.startswith("gigs: 1 ") or "gambling" not in line for line in occurrences
            )
            continue
        assert occurrences == [], (secret, occurrences)
    assert await _stats(h) == before
    await aino.send("/profile")
    assert aino.last.text == aino.t("common.not_registered")


@pytest.mark.parametrize("lang", ["fi", "en"])
async def test_forget_hands_future_gigs_back_to_the_coordinator(h: Harness, lang: str) -> None:
    h.coord_lang = lang
    nurse = await flows.register_orderer(h, 201, lang=lang)
    aino = await flows.register_expert(h, 301, "Aino", lang=lang)
    await flows.order_and_approve(h, nurse, seats="1")
    await aino.press(aino.t("btn.accept"))
    await aino.send("/forget")
    await aino.press(aino.t("btn.forget_yes"))
    assert aino.last.text == aino.t("data.forgotten", count=1)
    # The invite that brought them in stays used: its link cannot register anyone now.
    async with h.core.db.unit_of_work() as s:
        from storage.models import Invite

        codes = (await s.scalars(select(Invite.code).where(Invite.role == "expert"))).all()
    stranger = h.person(888, "Outo")
    await stranger.send(f"/start {codes[0]}")
    assert stranger.last.text == stranger.t("start.invalid_invite")
    coord = flows.coordinator(h)
    assert coord.last.text.startswith("↩️")
    async with h.core.db.unit_of_work() as s:
        gig = await s.get(Gig, 1)
        assert gig is not None and gig.status == GigStatus.OPEN and gig.seats_filled == 0


async def test_register_commands_are_for_coordinators_only(h: Harness) -> None:
    nurse = await flows.register_orderer(h, 201)
    aino = await flows.register_expert(h, 301, "Aino")
    aino_id = await h.user_id(301)
    for person in (nurse, aino):
        for command in ("/experts", f"/expert {aino_id}", "/companion 1 X"):
            await person.send(command)
            assert person.last.text == person.t("common.not_allowed")
        await person.press_data(f"xc:d:{aino_id}", person.last)
        assert person.last_toast() == person.t("common.not_allowed")
    async with h.core.db.unit_of_work() as s:
        user = await s.get(User, aino_id)
        assert user is not None and user.active
    await nurse.send("/mydata")
    assert nurse.last.text == nurse.t("common.not_allowed")
