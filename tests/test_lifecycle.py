"""An expert's second thoughts and the days before a gig, as dialogues (issue 16, items 4, 5,
6 and 8): undo an answer, more time on an offer, hand a seat to a colleague, "still coming?",
and content notes. Each is driven through the real Application as people use it."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from bot.callbacks import Coming, OfferUndo, SwapAsk, SwapTo, pack
from storage.models import AuditLog, CheckIn, CheckInKind, Gig, Offer, OfferStatus
from tests import flows
from tests.harness import Harness, Person, at


async def offer_of(h: Harness, telegram_id: int, gig_id: int = 1) -> Offer:
    uid = await h.user_id(telegram_id)
    async with h.core.db.unit_of_work() as s:
        offer = await s.scalar(select(Offer).where(Offer.gig_id == gig_id, Offer.expert_id == uid))
        assert offer is not None
        return offer


async def gig_row(h: Harness, gig_id: int = 1) -> Gig:
    async with h.core.db.unit_of_work() as s:
        gig = await s.get(Gig, gig_id)
        assert gig is not None
        return gig


async def audit_actions(h: Harness) -> list[str]:
    async with h.core.db.unit_of_work() as s:
        return list((await s.scalars(select(AuditLog.action).order_by(AuditLog.id))).all())


def status_message(coord: Person) -> str:
    """The coordinator's live status message of gig 1 (edited in place)."""
    header = coord.t("status_msg.header", title="", mode="", filled=0, seats=0, status="")
    first_word = header.split()[0]
    found = [m for m in coord.inbox if m.text.startswith(first_word) and "#1" in m.text]
    assert found, "no status message"
    return found[-1].text


async def title(h: Harness, p: Person) -> str:
    return await h.title(p.lang, 1)


# ----- 6. undo and more time ------------------------------------------------------------------


@pytest.mark.parametrize("lang", ["fi", "en"])
async def test_an_accept_can_be_undone_for_a_while_and_then_it_is_too_late(
    h: Harness, lang: str
) -> None:
    nurse = await flows.register_orderer(h, 201)
    aino = await flows.register_expert(h, 301, "Aino", lang=lang)
    bertta = await flows.register_expert(h, 302, "Bertta", lang=lang)
    await flows.order_and_approve(h, nurse, seats="1")
    offer_msg = aino.find_button(aino.t("btn.accept"))[0]
    await aino.press(aino.t("btn.accept"))
    confirmation = aino.find_button(aino.t("btn.lifecycle.undo", minutes=2))[0]
    assert confirmation is aino.last
    assert confirmation.text.startswith(
        aino.t("offer.confirmation", title=await title(h, aino), details="")[:20]
    )
    assert (await offer_of(h, 302)).status == OfferStatus.CLOSED  # the gig is full

    h.clock.advance(timedelta(minutes=1))
    await aino.press(aino.t("btn.lifecycle.undo", minutes=2))
    undone = aino.t("lifecycle.undo_accept_undone", title=await title(h, aino))
    assert confirmation.text == offer_msg.text == undone
    assert not confirmation.flat_buttons and not offer_msg.flat_buttons
    # Given back through the one place: withdrawn (never a no-show), the calendar entry
    # cancelled, the seat offered on at once.
    assert (await offer_of(h, 301)).status == OfferStatus.WITHDRAWN
    assert "METHOD:CANCEL" in aino.last_file.document[1].decode()  # type: ignore[index]
    assert (await gig_row(h)).seats_filled == 0
    assert (await offer_of(h, 302)).status == OfferStatus.OPEN
    assert "undo" in await audit_actions(h)

    await bertta.press(bertta.t("btn.accept"))
    h.clock.advance(timedelta(minutes=3))
    taken = bertta.find_button(bertta.t("btn.lifecycle.undo", minutes=2))[0]
    await bertta.press(bertta.t("btn.lifecycle.undo", minutes=2))
    assert bertta.last_toast() == bertta.t("lifecycle.undo_too_late")
    assert [b.text for b in taken.flat_buttons] == [bertta.t("btn.details")]  # undo gone
    assert (await offer_of(h, 302)).status == OfferStatus.ACCEPTED
    assert (await gig_row(h)).seats_filled == 1


@pytest.mark.parametrize("lang", ["fi", "en"])
async def test_a_decline_can_be_undone_while_a_seat_is_free(h: Harness, lang: str) -> None:
    nurse = await flows.register_orderer(h, 201)
    aino = await flows.register_expert(h, 301, "Aino", lang=lang)
    await flows.order_and_approve(h, nurse, seats="1")
    await aino.press(aino.t("btn.decline"))
    offer_msg = aino.find_button(aino.t("btn.lifecycle.undo", minutes=2))[0]
    assert offer_msg.text == aino.t("offer.declined", title=await title(h, aino))
    await aino.press(aino.t("btn.lifecycle.undo", minutes=2))
    assert aino.last_toast() == aino.t("lifecycle.undo_decline_undone")
    assert (await offer_of(h, 301)).status == OfferStatus.OPEN
    assert aino.t("btn.accept") in [b.text for b in offer_msg.flat_buttons]
    await aino.press(aino.t("btn.accept"), offer_msg)
    assert (await offer_of(h, 301)).status == OfferStatus.ACCEPTED


@pytest.mark.parametrize("lang", ["fi", "en"])
async def test_more_time_once_shown_to_the_coordinator(h: Harness, lang: str) -> None:
    nurse = await flows.register_orderer(h, 201)
    aino = await flows.register_expert(h, 301, "Aino", lang=lang)
    coord = await flows.order_and_approve(h, nurse)
    before = (await offer_of(h, 301)).expires_at
    assert before is not None
    offer_msg = aino.find_button(aino.t("btn.lifecycle.more_time"))[0]
    old_data = aino.find_button(aino.t("btn.lifecycle.more_time"))[1].data
    await aino.press(aino.t("btn.lifecycle.more_time"))
    after = (await offer_of(h, 301)).expires_at
    assert after == before + timedelta(hours=24)
    until = h.core.presenter.when(lang, after)
    assert aino.last_toast() == aino.t("lifecycle.more_time_extended", until=until)
    assert until in offer_msg.text
    assert aino.t("btn.lifecycle.more_time") not in [b.text for b in offer_msg.flat_buttons]
    assert aino.t("btn.accept") in [b.text for b in offer_msg.flat_buttons]
    # Once only: an old copy of the button extends nothing.
    await aino.press_data(old_data, offer_msg)
    assert aino.last_toast() == aino.t("lifecycle.more_time_already", until=until)
    assert (await offer_of(h, 301)).expires_at == after
    shown = coord.t(
        "lifecycle.status_more_time", names=f"Aino → {h.core.presenter.when(coord.lang, after)}"
    )
    assert shown in status_message(coord)


async def test_more_time_never_past_the_gigs_start_minus_the_lead(h: Harness) -> None:
    nurse = await flows.register_orderer(h, 201)
    aino = await flows.register_expert(h, 301, "Aino")
    await flows.order_and_approve(h, nurse, starts_at="24.11.2026 klo 13.00")
    before = (await offer_of(h, 301)).expires_at
    assert before == at("24.11.2026 12.00")  # the start minus OFFER_MIN_LEAD_HOURS already
    await aino.press(aino.t("btn.lifecycle.more_time"))
    until = h.core.presenter.when("fi", before)
    assert aino.last_toast() == aino.t("lifecycle.more_time_no_room", until=until)
    assert (await offer_of(h, 301)).expires_at == before


# ----- 8. content notes -----------------------------------------------------------------------


@pytest.mark.parametrize("lang", ["fi", "en"])
async def test_a_content_note_is_shown_before_accept_and_offered_as_a_talk(
    h: Harness, lang: str
) -> None:
    h.coord_lang = lang
    nurse = await flows.register_orderer(h, 201, lang=lang)
    aino = await flows.register_expert(h, 301, "Aino", lang=lang)
    note = "Osastolla kuoli potilas viime viikolla."
    await flows.fill_order(nurse, content_themes=("suicide", "recent_death"), content_note=note)
    line = nurse.t("lifecycle.content_label")
    assert line in nurse.last.text and note in nurse.last.text  # the order's summary
    await nurse.press(nurse.t("btn.send"))
    coord = flows.coordinator(h)
    themes = f"{coord.t('content_theme.suicide')}, {coord.t('content_theme.recent_death')}"
    assert f"{themes} – {note}" in coord.last.text  # the approval alert
    await coord.press(coord.t("btn.approve"))

    offer = aino.last
    expert_themes = f"{aino.t('content_theme.suicide')}, {aino.t('content_theme.recent_death')}"
    assert f"{aino.t('lifecycle.content_label')}: {expert_themes} – {note}" in offer.text
    assert aino.t("btn.accept") in [b.text for b in offer.flat_buttons]
    await coord.send("/gig 1")
    assert f"{themes} – {note}" in coord.last.text  # the gig card

    await aino.press(aino.t("btn.accept"))
    await h.advance(at("8.12.2026 13.05") - h.clock.now())  # the preparation check-in
    prep = aino.find_button(aino.t("btn.lifecycle.content_talk"))[0]
    assert aino.t("lifecycle.content_prep", note=f"{expert_themes} – {note}") in prep.text
    await aino.press(aino.t("btn.lifecycle.content_talk"))
    assert prep.text == aino.t("lifecycle.content_talk_sent")
    alert = coord.last.text
    assert "Aino" in alert and f"{themes} – {note}" in alert


async def test_an_order_without_heavy_themes_has_no_note(h: Harness) -> None:
    nurse = await flows.register_orderer(h, 201)
    aino = await flows.register_expert(h, 301, "Aino")
    await flows.order_and_approve(h, nurse)
    assert aino.t("lifecycle.content_label") not in aino.last.text
    assert (await gig_row(h)).content_themes == []
    await aino.press(aino.t("btn.accept"))
    await h.advance(at("8.12.2026 13.05") - h.clock.now())
    prep = aino.find_button(aino.t("btn.prep_ready"))[0]
    assert aino.t("btn.lifecycle.content_talk") not in [b.text for b in prep.flat_buttons]


# ----- 5. still coming? -----------------------------------------------------------------------


async def confirmed(h: Harness, lang: str) -> tuple[Person, Person, Person]:
    h.coord_lang = lang
    nurse = await flows.register_orderer(h, 201, lang=lang)
    aino = await flows.register_expert(h, 301, "Aino", lang=lang)
    bertta = await flows.register_expert(h, 302, "Bertta", lang=lang)
    await flows.order_and_approve(h, nurse, seats="1")
    await aino.press(aino.t("btn.accept"))
    return aino, bertta, flows.coordinator(h)


@pytest.mark.parametrize("lang", ["fi", "en"])
async def test_still_coming_yes(h: Harness, lang: str) -> None:
    aino, _, coord = await confirmed(h, lang)
    await h.advance(at("9.12.2026 13.01") - h.clock.now())
    ask = aino.find_button(aino.t("btn.lifecycle.coming_yes"))[0]
    assert ask.text == aino.t("lifecycle.coming_ask", title=await title(h, aino))
    await aino.press(aino.t("btn.lifecycle.coming_yes"))
    assert ask.text == aino.t("lifecycle.coming_yes", title=await title(h, aino))
    seen = len(coord.inbox)
    await h.advance(at("10.12.2026 08.00") - h.clock.now())
    assert not any("Aino" in m.text for m in coord.inbox[seen:])  # no alert after a yes
    assert (await offer_of(h, 301)).status == OfferStatus.ACCEPTED


@pytest.mark.parametrize("lang", ["fi", "en"])
async def test_still_coming_cant_is_a_step_back_never_a_no_show(h: Harness, lang: str) -> None:
    aino, _, coord = await confirmed(h, lang)
    await h.advance(at("9.12.2026 13.01") - h.clock.now())
    await aino.press(aino.t("btn.lifecycle.coming_no"))
    assert aino.last.text == aino.t("lifecycle.coming_cant", title=await title(h, aino))
    assert (await offer_of(h, 301)).status == OfferStatus.WITHDRAWN
    assert (await offer_of(h, 302)).status == OfferStatus.OPEN  # offered on at once
    assert "METHOD:CANCEL" in aino.last_file.document[1].decode()  # type: ignore[index]
    assert "Aino" in coord.last.text or any("Aino" in m.text for m in coord.inbox[-3:])


@pytest.mark.parametrize("lang", ["fi", "en"])
async def test_still_coming_unanswered_alerts_the_coordinator_with_replace(
    h: Harness, lang: str
) -> None:
    aino, _, coord = await confirmed(h, lang)
    await h.advance(at("9.12.2026 13.01") - h.clock.now())
    assert aino.find_button(aino.t("btn.lifecycle.coming_yes"))
    await h.advance(at("10.12.2026 06.30") - h.clock.now())
    assert not any(coord.t("btn.lifecycle.replace") in b.text for b in coord.last.flat_buttons)
    await h.advance(at("10.12.2026 07.01") - h.clock.now())
    alert, _ = coord.find_button(coord.t("btn.lifecycle.replace"))
    assert "Aino" in alert.text
    # Once only, however often the scheduler runs, and even after a restart (stored).
    await h.advance(timedelta(minutes=5))
    alerts = [m for m in coord.inbox if coord.t("btn.lifecycle.replace") in str(m.buttons)]
    assert len(alerts) == 1
    await coord.press(coord.t("btn.lifecycle.replace"))
    assert (await offer_of(h, 301)).status == OfferStatus.WITHDRAWN
    assert aino.last.text == aino.t("desk.replaced", title=await title(h, aino))


@pytest.mark.parametrize(("lang", "answer"), [("fi", "yes"), ("en", "yes"), ("en", "no")])
async def test_a_late_answer_settles_the_coordinators_alert(
    h: Harness, lang: str, answer: str
) -> None:
    """Answered after the coordinators were alerted: their alert says so and loses "Find
    someone else" (nobody replaces a person who is coming, or a seat already offered on)."""
    aino, _, coord = await confirmed(h, lang)
    await h.advance(at("9.12.2026 13.01") - h.clock.now())
    await h.advance(at("10.12.2026 07.01") - h.clock.now())
    alert, _ = coord.find_button(coord.t("btn.lifecycle.replace"))
    before = alert.text
    await aino.press(aino.t(f"btn.lifecycle.coming_{answer}"))
    key = "lifecycle.coming_alert_yes" if answer == "yes" else "lifecycle.coming_alert_cant"
    assert alert.text.startswith(before)
    assert alert.text.endswith(coord.t(key))
    assert coord.t("btn.lifecycle.replace") not in [b.text for b in alert.flat_buttons]
    expected = OfferStatus.ACCEPTED if answer == "yes" else OfferStatus.WITHDRAWN
    assert (await offer_of(h, 301)).status == expected
    if answer == "no":
        assert (await offer_of(h, 302)).status == OfferStatus.OPEN


async def test_no_still_coming_for_a_gig_confirmed_later_than_a_day_before(h: Harness) -> None:
    nurse = await flows.register_orderer(h, 201)
    aino = await flows.register_expert(h, 301, "Aino")
    await flows.order_and_approve(h, nurse, starts_at="24.11.2026 klo 09.00")  # in 23 h
    await aino.press(aino.t("btn.accept"))
    async with h.core.db.unit_of_work() as s:
        kinds = set((await s.scalars(select(CheckIn.kind))).all())
    assert CheckInKind.COMING not in kinds


# ----- 4. swap --------------------------------------------------------------------------------


async def swap_set_up(h: Harness, lang: str) -> tuple[Person, Person, Person, Person, Person]:
    h.coord_lang = lang
    nurse = await flows.register_orderer(h, 201, lang=lang)
    aino = await flows.register_expert(h, 301, "Aino", lang=lang)
    bertta = await flows.register_expert(h, 302, "Bertta", lang=lang)
    cecilia = await flows.register_expert(h, 303, "Cecilia", lang=lang)
    # Dani does not fit the gig (another topic): never in the list.
    await flows.register_expert(h, 304, "Dani", lang=lang, topics=("substance_use",))
    coord = await flows.order_and_approve(h, nurse, seats="1")
    await aino.press(aino.t("btn.accept"))
    await aino.send("/mygigs")
    await aino.press(aino.t("btn.lifecycle.swap", id=1))
    names = [b.text for b in aino.last.flat_buttons]
    assert names == ["Bertta", "Cecilia"] or names == ["Cecilia", "Bertta"]
    await aino.press("Bertta")
    assert aino.last.text == aino.t(
        "lifecycle.swap_asked", title=await title(h, aino), name="Bertta"
    )
    offer = bertta.last
    assert offer.text.startswith(
        bertta.t(
            "lifecycle.swap_offer",
            asker="Aino",
            title=await title(h, bertta),
            details="",
            expires="",
        )[:25]
    )
    assert "Aino" in offer.text
    return nurse, aino, bertta, cecilia, coord


@pytest.mark.parametrize("lang", ["fi", "en"])
async def test_a_swap_accepted_moves_the_seat_in_one_go(h: Harness, lang: str) -> None:
    nurse, aino, bertta, _, coord = await swap_set_up(h, lang)
    swap_line = coord.t(
        "lifecycle.status_swap",
        asker="Aino",
        to="Bertta",
        state=coord.t("lifecycle.status_swap_asked"),
    )
    assert swap_line in status_message(coord)
    await bertta.press(bertta.t("btn.accept"))
    assert (await offer_of(h, 301)).status == OfferStatus.WITHDRAWN
    assert (await offer_of(h, 302)).status == OfferStatus.ACCEPTED
    gig = await gig_row(h)
    assert gig.seats_filled == 1 and gig.status == "filled"
    assert aino.t("lifecycle.swap_handed", title=await title(h, aino)) in aino.texts()
    assert "METHOD:CANCEL" in aino.last_file.document[1].decode()  # type: ignore[index]
    assert "METHOD:CANCEL" not in bertta.last_file.document[1].decode()  # type: ignore[index]
    assert any("Aino" in m.text and "Bertta" in m.text for m in coord.inbox[-4:])
    assert nurse.last.text == nurse.t(
        "lifecycle.swap_orderer", title=await title(h, nurse), names="Bertta"
    )
    taken = coord.t(
        "lifecycle.status_swap",
        asker="Aino",
        to="Bertta",
        state=coord.t("lifecycle.status_swap_taken"),
    )
    assert taken in status_message(coord)
    actions = await audit_actions(h)
    assert "swap_asked" in actions and "swap_done" in actions
    # Nobody else was asked: the seat went straight across.
    assert (await offer_of(h, 303)).status == OfferStatus.CLOSED


@pytest.mark.parametrize("lang", ["fi", "en"])
async def test_a_swap_declined_asks_the_first_expert(h: Harness, lang: str) -> None:
    _, aino, bertta, _, _ = await swap_set_up(h, lang)
    await bertta.press(bertta.t("btn.decline"))
    assert aino.last.text == aino.t(
        "lifecycle.swap_declined", name="Bertta", title=await title(h, aino)
    )
    await aino.press(aino.t("btn.lifecycle.swap_keep"))
    assert (await offer_of(h, 301)).status == OfferStatus.ACCEPTED
    assert (await gig_row(h)).seats_filled == 1


@pytest.mark.parametrize("lang", ["fi", "en"])
async def test_a_swap_unanswered_in_time_lets_the_first_expert_step_back(
    h: Harness, lang: str
) -> None:
    _, aino, _, cecilia, _ = await swap_set_up(h, lang)
    await h.advance(timedelta(hours=24, minutes=5))
    assert aino.last.text == aino.t(
        "lifecycle.swap_timed_out", name="Bertta", title=await title(h, aino)
    )
    await aino.press(aino.t("btn.lifecycle.swap_step_back"))
    assert (await offer_of(h, 301)).status == OfferStatus.WITHDRAWN
    # Dispatch goes on as always: the seat is offered to those not yet asked.
    assert (await offer_of(h, 303)).status == OfferStatus.OPEN
    assert flows.offered(cecilia)


# ----- other people's presses -----------------------------------------------------------------


async def test_other_peoples_presses_are_refused_kindly(h: Harness) -> None:
    nurse = await flows.register_orderer(h, 201)
    aino = await flows.register_expert(h, 301, "Aino")
    bertta = await flows.register_expert(h, 302, "Bertta")
    await flows.order_and_approve(h, nurse, seats="2")
    await aino.press(aino.t("btn.accept"))
    aino_offer = (await offer_of(h, 301)).id
    bertta_id = await h.user_id(302)
    await h.advance(at("9.12.2026 13.01") - h.clock.now())
    async with h.core.db.unit_of_work() as s:
        coming = await s.scalar(select(CheckIn.id).where(CheckIn.kind == CheckInKind.COMING))
    assert coming is not None
    for data in (
        pack(OfferUndo(aino_offer)),
        pack(SwapAsk(aino_offer, 0)),
        pack(SwapTo(aino_offer, bertta_id)),
        pack(Coming(False, coming)),
    ):
        for someone in (bertta, nurse):
            await someone.press_data(data, someone.inbox[-1])
            assert someone.last_toast() in (
                someone.t("err.stale"),
                someone.t("common.not_allowed"),
            ), data
    assert (await offer_of(h, 301)).status == OfferStatus.ACCEPTED
    assert (await gig_row(h)).seats_filled == 1


async def test_a_long_list_of_colleagues_comes_in_pages(h: Harness) -> None:
    nurse = await flows.register_orderer(h, 201)
    aino = await flows.register_expert(h, 301, "Aino")
    names = [f"Kollega {i:02d}" for i in range(10)]
    for i, name in enumerate(names):
        await flows.register_expert(h, 310 + i, name)
    await flows.order_and_approve(h, nurse, seats="1")
    await aino.press(aino.t("btn.accept"))
    await aino.send("/mygigs")
    await aino.press(aino.t("btn.lifecycle.swap", id=1))
    first = aino.last
    shown = [b.text for b in first.flat_buttons if b.text not in ("◀", "▶")]
    assert len(shown) == 8 and "▶" in [b.text for b in first.flat_buttons]
    assert "Aino" not in shown
    await aino.press("▶", first)
    rest = [b.text for b in first.flat_buttons if b.text not in ("◀", "▶")]
    assert sorted(shown + rest) == names  # each colleague once, across the pages
    await aino.press("◀", first)  # back to the first page, in the same message
    assert [b.text for b in first.flat_buttons if b.text not in ("◀", "▶")] == shown
    assert aino.last is first
    assert all(len(b.data.encode()) <= 64 for b in first.flat_buttons)
