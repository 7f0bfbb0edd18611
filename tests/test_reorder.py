"""Orderers who order the same things again and again: "order again" in a few taps, and
series of gigs (weekly, every other week, or listed dates) approved once, taken whole or date
by date, cancelled for this date or for this and the later ones."""

from __future__ import annotations

from collections.abc import Sequence

import pytest
from sqlalchemy import select

from bot.callbacks import OrderAgain, pack
from storage.models import CheckIn, ExpertProfile, Fee, Gig, GigStatus, Offer, OfferStatus
from tests import flows
from tests.harness import Harness, Person

FIRST = "1.12.2026 klo 13.00"  # a Tuesday


async def all_gigs(h: Harness) -> Sequence[Gig]:
    async with h.core.db.unit_of_work() as s:
        return (await s.scalars(select(Gig).order_by(Gig.id))).all()


async def all_offers(h: Harness) -> Sequence[Offer]:
    async with h.core.db.unit_of_work() as s:
        return (await s.scalars(select(Offer).order_by(Offer.id))).all()


def sent_with(p: Person, prefix: str) -> list[str]:
    """Texts this person received that start like `prefix`."""
    return [m.text for m in p.inbox if m.document is None and m.text.startswith(prefix)]


def approval_alerts(coord: Person) -> int:
    return sum(
        1 for m in coord.inbox if any(b.text == coord.t("btn.approve") for b in m.flat_buttons)
    )


# ----- order again ------------------------------------------------------------------------


@pytest.mark.parametrize("lang", ["fi", "en"])
async def test_order_again_with_only_a_new_date(h: Harness, lang: str) -> None:
    nurse = await flows.register_orderer(h, 201, "Nea", lang)
    await flows.fill_order(nurse)
    first_summary = nurse.last.text
    await nurse.press(nurse.t("btn.send"))

    # The menu's "Order again" lists earlier orders; one tap picks one.
    await nurse.send(nurse.t("menu.order_again"))
    assert nurse.last.text == nurse.t("reorder.again_pick")
    await nurse.press("Keski-Suomen hyvinvointialue")
    title = await h.title(lang, 1)
    texts = [m.text for m in nurse.inbox[-2:]]
    assert texts == [nurse.t("reorder.again_intro", title=title), nurse.t("form.order.starts_at")]

    # A bad date is explained kindly; the pre-filled answers stay.
    replies = await nurse.send("31.2.2027 klo 13.00")
    assert [m.text for m in replies] == [
        nurse.t("err.date_invalid", date="31.2."),
        nurse.t("form.order.starts_at"),
    ]
    replies = await nurse.send("17.12.2026 klo 13.00")
    assert replies[-1].text == first_summary.replace("10.12.2026", "17.12.2026")
    await nurse.press(nurse.t("btn.send"))
    assert nurse.last.text == nurse.t("order.received", title=await h.title(lang, 2))

    old, new = await all_gigs(h)
    columns = ("organisation", "gig_type", "topics", "duration_min", "remote", "place", "region")
    columns += ("audience", "audience_size", "seats", "language", "fee_cents", "contact", "notes")
    assert {c: getattr(new, c) for c in columns} == {c: getattr(old, c) for c in columns}
    assert new.status == GigStatus.PENDING and new.starts_at != old.starts_at


async def test_order_again_from_myorders_can_change_anything_and_is_own_only(h: Harness) -> None:
    nurse = await flows.register_orderer(h, 201, "Nea", "en")
    other = await flows.register_orderer(h, 202, "Olli", "en")
    await flows.order_and_approve(h, nurse)
    await nurse.send("/myorders")
    await nurse.press(nurse.t("btn.order_actions", id=1))
    await nurse.press(nurse.t("btn.reorder.order_again"))
    await nurse.send("11.12.2026 klo 9.00")
    # The usual summary: "Edit" changes any answer, and the rest stay as they were.
    await nurse.press(nurse.t("btn.edit"))
    await nurse.press(nurse.t("label.seats"))
    await nurse.press("1")
    assert "9.00" in nurse.last.text or "09.00" in nurse.last.text
    await nurse.press(nurse.t("btn.send"))
    gigs = await all_gigs(h)
    assert (gigs[1].seats, gigs[1].place) == (1, gigs[0].place)

    # Someone else's order is not theirs to copy: the same answer as for no order at all.
    await other.send("/neworder")
    await other.press_data(pack(OrderAgain(1)), other.last)
    assert other.last.text == other.t("err.gig_not_found")
    assert len(await all_gigs(h)) == 2


# ----- series -----------------------------------------------------------------------------


async def order_series(
    h: Harness,
    nurse: Person,
    *,
    take: str,
    times: str = "4",
    seats: str = "1",
) -> Person:
    """A weekly series through the summary's "Repeat" button, sent and approved."""
    await flows.fill_order(nurse, starts_at=FIRST, seats=seats)
    await nurse.press(nurse.t("btn.reorder.repeat"))
    assert nurse.last.text == nurse.t("form.order.repeat")
    await nurse.press(nurse.t("repeat.weekly"))
    await nurse.send(times)
    await nurse.press(nurse.t(f"series_take.{take}"))
    summary = nurse.last.text
    assert nurse.t("repeat.weekly") in summary and nurse.t(f"series_take.{take}") in summary
    await nurse.press(nurse.t("btn.send"))
    coord = flows.coordinator(h)
    assert approval_alerts(coord) == 1
    await coord.press(coord.t("btn.approve"))
    return coord


@pytest.mark.parametrize("lang", ["fi", "en"])
async def test_a_four_week_series_is_approved_once_and_taken_whole(h: Harness, lang: str) -> None:
    h.coord_lang = lang
    nurse = await flows.register_orderer(h, 201, "Nea", lang)
    aino = await flows.register_expert(h, 301, "Aino", lang=lang)
    bertta = await flows.register_expert(h, 302, "Bertta", lang=lang)
    coord = await order_series(h, nurse, take="whole")
    assert approval_alerts(coord) == 0  # the one alert was decided for the whole series

    gigs = await all_gigs(h)
    assert len(gigs) == 4 and {g.status for g in gigs} == {GigStatus.OPEN}
    assert len({g.series_id for g in gigs}) == 1 and gigs[0].series_id is not None
    days = [g.starts_at.astimezone(h.core.settings.tz).strftime("%d.%m. %H.%M") for g in gigs]
    assert days == ["01.12. 13.00", "08.12. 13.00", "15.12. 13.00", "22.12. 13.00"]
    # One offer each, covering every date.
    assert [(o.gig_id, o.expert_id) for o in await all_offers(h)] == [
        (1, await h.user_id(301)),
        (1, await h.user_id(302)),
    ]
    offer = aino.last
    assert "8.12.2026" in offer.text and "22.12.2026" in offer.text

    await aino.press(aino.t("btn.accept"), offer)
    taken = [m.text for m in aino.inbox if aino.t("series.taken", count=3, dates="")[:12] in m.text]
    assert taken, aino.texts()[-3:]
    gigs = await all_gigs(h)
    assert [(g.status, g.seats_filled) for g in gigs] == [(GigStatus.FILLED, 1)] * 4
    aino_id = await h.user_id(301)
    accepted = [o for o in await all_offers(h) if o.status == OfferStatus.ACCEPTED]
    assert sorted((o.gig_id, o.expert_id) for o in accepted) == [(i, aino_id) for i in (1, 2, 3, 4)]
    async with h.core.db.unit_of_work() as s:
        fees = (await s.scalars(select(Fee))).all()
        checkins = (await s.scalars(select(CheckIn))).all()
    assert sorted(f.gig_id for f in fees) == [1, 2, 3, 4]  # a fee per date
    assert {c.gig_id for c in checkins} == {1, 2, 3, 4}  # check-ins per date
    assert len([m for m in aino.inbox if m.document is not None]) == 4  # a calendar entry each
    # The other expert's offer says the places went; the orderer hears once.
    assert not flows.offered(bertta)
    assert len(sent_with(nurse, nurse.t("order.filled", names="", title="")[:10])) == 1

    # /myorders shows the series compactly.
    await nurse.send("/myorders")
    series = nurse.t("series.weekly", days=nurse.t("weekdays.d1"), count=4, first="1.12.2026")
    assert series in nurse.last.text
    assert nurse.last.text.count("#") == 1  # one line for the whole series
    # The coordinator's card of any date names the series.
    coord = flows.coordinator(h)
    await coord.send("/gig 3")
    series = coord.t("series.weekly", days=coord.t("weekdays.d1"), count=4, first="1.12.2026")
    assert coord.t("series.list_item", series=series) in coord.last.text


async def test_a_date_with_no_seat_left_is_explained_on_whole_series_acceptance(
    h: Harness,
) -> None:
    nurse = await flows.register_orderer(h, 201, "Nea", "en")
    aino = await flows.register_expert(h, 301, "Aino", lang="en")
    await order_series(h, nurse, take="whole", times="4")
    async with h.core.db.unit_of_work() as s:
        third = await s.get(Gig, 3)
        assert third is not None
        third.seats_filled, third.status = third.seats, GigStatus.FILLED
    await aino.press(aino.t("btn.accept"))
    when = h.core.presenter.when("en", (await all_gigs(h))[2].starts_at)
    # The answered offer says which dates are hers and which had no seat left.
    assert any(aino.t("series.missed", dates=when) in m.text for m in aino.inbox)
    accepted = [o.gig_id for o in await all_offers(h) if o.status == OfferStatus.ACCEPTED]
    assert sorted(accepted) == [1, 2, 4]


@pytest.mark.parametrize("lang", ["fi", "en"])
async def test_single_date_mode_offers_each_date(h: Harness, lang: str) -> None:
    nurse = await flows.register_orderer(h, 201, "Nea", lang)
    aino = await flows.register_expert(h, 301, "Aino", lang=lang)
    await order_series(h, nurse, take="single", times="4")
    offers = await all_offers(h)
    assert sorted(o.gig_id for o in offers) == [1, 2, 3, 4]
    accept = aino.t("btn.accept")
    offer_messages = [m for m in aino.inbox if any(b.text == accept for b in m.flat_buttons)]
    assert len(offer_messages) == 4
    await aino.press(aino.t("btn.accept"), offer_messages[1])
    gigs = await all_gigs(h)
    assert [g.seats_filled for g in gigs] == [0, 1, 0, 0]
    assert sent_with(aino, aino.t("series.taken", count=1, dates="")[:12]) == []


@pytest.mark.parametrize("lang", ["fi", "en"])
async def test_cancel_this_and_later_dates_tells_each_expert_once(h: Harness, lang: str) -> None:
    h.coord_lang = lang
    nurse = await flows.register_orderer(h, 201, "Nea", lang)
    aino = await flows.register_expert(h, 301, "Aino", lang=lang)
    coord = await order_series(h, nurse, take="whole", times="4")
    await aino.press(aino.t("btn.accept"))
    files_before = len([m for m in aino.inbox if m.document is not None])

    await nurse.send("/myorders")
    await nurse.press(nurse.t("btn.reorder.series_dates"))
    second = h.core.presenter.when(lang, (await all_gigs(h))[1].starts_at)
    await nurse.press(second)
    await nurse.press(nurse.t("btn.cancel_order"))
    assert nurse.last.text == nurse.t("series.scope_ask", title=await h.title(lang, 2))
    await nurse.press(nurse.t("btn.reorder.series_later"))
    await nurse.press(nurse.t("btn.skip"))
    assert nurse.last.text == nurse.t(
        "series.cancelled_done", title=await h.title(lang, 2), count=3
    )

    gigs = await all_gigs(h)
    assert [g.status for g in gigs] == [GigStatus.FILLED] + [GigStatus.CANCELLED] * 3
    told = sent_with(aino, aino.t("series.cancelled_expert", dates="", reason="")[:15])
    assert len(told) == 1  # once, not once per date
    for g in gigs[1:]:
        assert h.core.presenter.when(lang, g.starts_at) in told[0]
    assert h.core.presenter.when(lang, gigs[0].starts_at) not in told[0]
    files = [m for m in aino.inbox if m.document is not None][files_before:]
    assert len(files) == 3  # each cancelled date's calendar entry is withdrawn
    assert all(b"METHOD:CANCEL" in m.document[1] for m in files if m.document is not None)
    alert = coord.t("series.cancelled_coord", title="", by="", dates="", reason="")
    assert len(sent_with(coord, alert[:8])) == 1
    # The first date stands, with its seat, fee and check-ins.
    accepted = [o.gig_id for o in await all_offers(h) if o.status == OfferStatus.ACCEPTED]
    assert accepted == [1]


async def test_only_this_date_cancels_one_and_later_change_moves_the_rest(h: Harness) -> None:
    nurse = await flows.register_orderer(h, 201, "Nea", "en")
    await flows.register_expert(h, 301, "Aino", lang="en")
    await order_series(h, nurse, take="single", times="3")
    await nurse.send("/myorders")
    await nurse.press(nurse.t("btn.order_actions", id=1))
    await nurse.press(nurse.t("btn.cancel_order"))
    await nurse.press(nurse.t("btn.reorder.series_only"))
    await nurse.press(nurse.t("btn.skip"))
    assert [g.status for g in await all_gigs(h)] == [
        GigStatus.CANCELLED,
        GigStatus.OPEN,
        GigStatus.OPEN,
    ]
    # Moving the second date an hour later moves the third the same way.
    await nurse.send("/myorders")
    await nurse.press(nurse.t("btn.order_actions", id=2))
    await nurse.press(nurse.t("btn.change_time"))
    await nurse.press(nurse.t("btn.reorder.series_later"))
    await nurse.send("8.12.2026 klo 14.00")
    tz = h.core.settings.tz
    times = [g.starts_at.astimezone(tz).strftime("%d.%m. %H.%M") for g in await all_gigs(h)]
    assert times == ["01.12. 13.00", "08.12. 14.00", "15.12. 14.00"]


# ----- the series questions -----------------------------------------------------------------


@pytest.mark.parametrize("lang", ["fi", "en"])
async def test_listed_dates_and_the_cap_are_explained_kindly(h: Harness, lang: str) -> None:
    h.coord_lang = lang
    nurse = await flows.register_orderer(h, 201, "Nea", lang)
    await flows.fill_order(nurse, starts_at=FIRST)
    await nurse.press(nurse.t("btn.reorder.repeat"))
    await nurse.press(nurse.t("repeat.weekly"))
    replies = await nurse.send("60")
    assert replies[0].text == nurse.t("series.err_count", low=2, high=52)
    await nurse.press("4")
    await nurse.press(nurse.t("series_take.single"))
    # Changed mind: listed dates instead, several in one message, the Finnish way.
    await nurse.press(nurse.t("btn.edit"))
    await nurse.press(nurse.t("label.repeat"))
    await nurse.press(nurse.t("repeat.dates"))
    assert nurse.last.text == nurse.t("form.order.repeat_dates")
    replies = await nurse.send("9.12.2026, huominen")
    assert replies[0].text == nurse.t("series.err_dates_bad", date="huominen")
    replies = await nurse.send("1.1.2020")
    assert replies[0].text == nurse.t("series.err_dates_past", date="1.1.2020")
    await nurse.send("9.12.2026, 16.12. ja 7.1.2027")
    summary = nurse.last.text
    assert "9.12.2026, 16.12.2026, 7.1.2027" in summary
    assert nurse.t("series.times", count=4) not in summary  # the weekly count no longer applies
    await nurse.press(nurse.t("btn.send"))
    tz = h.core.settings.tz
    days = [g.starts_at.astimezone(tz).strftime("%d.%m.%Y %H.%M") for g in await all_gigs(h)]
    assert days == ["01.12.2026 13.00", "09.12.2026 13.00", "16.12.2026 13.00", "07.01.2027 13.00"]
    line = nurse.t("series.dates", count=4, first="1.12.2026", last="7.1.2027")
    title = await h.title(lang, 1)
    assert nurse.last.text == nurse.t("reorder.received_series", series=line, title=title)
    # Waiting for approval: one entry for the series, with its dates in one line.
    coord = flows.coordinator(h)
    replies = await coord.send("/pending")
    assert len(replies) == 1
    coord_line = coord.t("series.dates", count=4, first="1.12.2026", last="7.1.2027")
    assert coord.t("series.list_item", series=coord_line) in replies[0].text


@pytest.mark.parametrize("lang", ["fi", "en"])
async def test_a_new_place_for_this_and_later_dates_tells_each_person_once(
    h: Harness, lang: str
) -> None:
    h.coord_lang = lang
    nurse = await flows.register_orderer(h, 201, "Nea", lang)
    aino = await flows.register_expert(h, 301, "Aino", lang=lang)
    coord = await order_series(h, nurse, take="whole", times="3")
    await aino.press(aino.t("btn.accept"))
    files_before = len([m for m in aino.inbox if m.document is not None])
    coord_before = len(coord.inbox)

    await nurse.send("/myorders")
    await nurse.press(nurse.t("btn.order_actions", id=1))
    await nurse.press(nurse.t("btn.change_place"))
    await nurse.press(nurse.t("btn.reorder.series_later"))
    await nurse.send("Kokoushuone Kuusi, Sairaalantie 1")
    assert nurse.last.text == nurse.t("series.changed_done", title=await h.title(lang, 1), count=3)

    assert {g.place for g in await all_gigs(h)} == {"Kokoushuone Kuusi, Sairaalantie 1"}
    told = [m.text for m in aino.inbox if "Kokoushuone Kuusi" in m.text and m.document is None]
    assert len(told) == 1  # once for the three dates
    files = [m for m in aino.inbox if m.document is not None][files_before:]
    assert len(files) == 3 and all(m.document and b"Kuusi" in m.document[1] for m in files)
    infos = [m.text for m in coord.inbox[coord_before:] if "Kokoushuone Kuusi" in m.text]
    assert len(infos) == 1 and infos[0].count("•") == 3


async def test_a_later_date_that_clashes_is_left_to_the_coordinator(h: Harness) -> None:
    nurse = await flows.register_orderer(h, 201, "Nea", "en")
    aino = await flows.register_expert(h, 301, "Aino", lang="en")
    coord = await flows.order_and_approve(h, nurse, starts_at="8.12.2026 klo 13.00", seats="1")
    await aino.press(aino.t("btn.accept"))  # gig 1, on the series' second Tuesday
    await order_series(h, nurse, take="whole", times="3")  # gigs 2, 3, 4
    await aino.press(aino.t("btn.accept"))
    gigs = await all_gigs(h)
    assert [g.seats_filled for g in gigs] == [1, 1, 0, 1]
    when = h.core.presenter.when("en", gigs[2].starts_at)
    assert any(aino.t("series.clashed", count=1, dates=when) in m.text for m in aino.inbox)
    gap = [m for m in coord.inbox if m.text.startswith("🔁 Aino") and "#3" in m.text]
    assert len(gap) == 1 and any(b.text == coord.t("btn.ranking") for b in gap[0].flat_buttons)


async def test_a_whole_series_keeps_to_the_experts_own_monthly_limit_in_every_month(
    h: Harness,
) -> None:
    """Her own limit of two gigs a month holds for every date of a series that runs into
    January: two December dates and the January one are hers, the rest go to the
    coordinator, and she is told which and why."""
    nurse = await flows.register_orderer(h, 201, "Nea", "en")
    aino = await flows.register_expert(h, 301, "Aino", lang="en")
    aino_id = await h.user_id(301)
    async with h.core.db.unit_of_work() as s:
        profile = await s.scalar(select(ExpertProfile).where(ExpertProfile.user_id == aino_id))
        assert profile is not None
        profile.max_gigs_month = 2
    await order_series(h, nurse, take="whole", times="6")  # 1.12. ... 5.1.2027
    await aino.press(aino.t("btn.accept"))
    gigs = await all_gigs(h)
    accepted = [o.gig_id for o in await all_offers(h) if o.status == OfferStatus.ACCEPTED]
    assert sorted(accepted) == [1, 2, 6]
    when = ", ".join(h.core.presenter.when("en", g.starts_at) for g in gigs[2:5])
    assert any(aino.t("series.clashed", count=3, dates=when) in m.text for m in aino.inbox)
