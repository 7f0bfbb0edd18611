"""The dispatch engine as people meet it: fair order, three modes, expiry, stepping back,
cancellations and changes, the live status message, and Telegram's faults."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy import select, update

from bot.sandbox.fakebot import Fault
from bot.services.access import Actor
from bot.services.dispatch.ranking import touch
from storage.models import ExpertProfile, Gig, GigStatus, Offer, OfferStatus, User
from tests import flows
from tests.flows import offered
from tests.harness import Harness, Person, at


async def offer_states(h: Harness) -> dict[int, str]:
    """Offer status per expert's Telegram id."""
    async with h.core.db.unit_of_work() as s:
        rows = await s.execute(
            select(User.telegram_id, Offer.status)
            .join(Offer, Offer.expert_id == User.id)
            .order_by(Offer.id)
        )
        return {tid: st for tid, st in rows}


async def last_gig_id(h: Harness) -> int:
    async with h.core.db.unit_of_work() as s:
        return int(await s.scalar(select(Gig.id).order_by(Gig.id.desc()).limit(1)) or 0)


async def gig(h: Harness, gig_id: int = 1) -> Gig:
    async with h.core.db.unit_of_work() as s:
        g = await s.get(Gig, gig_id)
        assert g is not None
        return g


async def submit(h: Harness, nurse: Person, **changes: object) -> Person:
    await flows.fill_order(nurse, **changes)
    await nurse.press(nurse.t("btn.send"))
    return flows.coordinator(h)


async def experts(h: Harness, n: int, **kw: object) -> list[Person]:
    return [await flows.register_expert(h, 301 + i, f"E{i + 1}", **kw) for i in range(n)]  # type: ignore[arg-type]


async def give_history(h: Harness, person: Person, gigs: int, start: str) -> None:
    """Past confirmed gigs for one expert, straight in the database (a year of history)."""
    async with h.core.db.unit_of_work() as s:
        user = await s.scalar(select(User).where(User.telegram_id == person.id))
        assert user is not None
        for i in range(gigs):
            g = Gig(
                orderer_id=1,
                status=GigStatus.FILLED,
                organisation="x",
                gig_type="talk",
                topics=["mental_health"],
                starts_at=at(start) + timedelta(days=i),
                duration_min=120,
                remote=False,
                place="p",
                region="keski_suomi",
                audience="large",
                audience_size=5,
                seats=1,
                seats_filled=1,
                language="fi",
                fee_cents=None,
                contact="c",
                notes="",
                reject_reason="",
                created_at=at(start),
            )
            s.add(g)
            await s.flush()
            s.add(
                Offer(
                    gig_id=g.id,
                    expert_id=user.id,
                    status=OfferStatus.ACCEPTED,
                    created_at=at(start),
                    answered_at=at(start),
                )
            )
        # Written past the services: their rotation figures are recomputed as a seat taken
        # through `Seats.accept` has them recomputed.
        touch(s, user.id)


async def test_ranking_is_fair_and_explained(h: Harness) -> None:
    nurse = await flows.register_orderer(h, 201)
    e1, e2, e3 = await experts(h, 3)
    await give_history(h, e1, 2, "1.10.2026 10.00")
    await give_history(h, e2, 1, "1.11.2026 10.00")
    # e3 has no gigs in 90 days: first. Declines never count: e3 declines something first.
    coord = await submit(h, nurse)
    await coord.press(coord.t("btn.ranking"))
    listing = coord.last.text
    assert listing.index("1. E3") < listing.index("2. E2") < listing.index("3. E1")
    assert coord.t("ranking.never") in listing
    await coord.press(coord.t("mode_btn.broadcast"))
    await e3.press(e3.t("btn.why"))
    assert e3.last.text == e3.t(
        "offer.why",
        topics=e3.t("topic.mental_health"),
        type=e3.t("gig_type.talk"),
        place=1,
        pool=3,
        gigs=0,
        hours="0,0",  # the Finnish way
        mode=e3.t("mode.broadcast"),
    )
    await e3.press(e3.t("btn.decline"))
    # A new gig: e3 is still first, declining did not lower the place.
    await submit(h, nurse, starts_at="11.12.2026 klo 13.00")
    await coord.press(coord.t("btn.ranking"))
    assert "1. E3" in coord.last.text


async def test_with_as_many_gigs_and_hours_the_longest_wait_comes_first(h: Harness) -> None:
    """The rule the ranking shows ("then longest without a gig") is the order it uses."""
    nurse = await flows.register_orderer(h, 201)
    e1, e2 = await experts(h, 2)
    await give_history(h, e2, 1, "1.11.2026 10.00")
    await give_history(h, e1, 1, "1.9.2026 10.00")
    coord = await submit(h, nurse)
    await coord.press(coord.t("btn.ranking"))
    listing = coord.last.text
    assert listing.index("1. E1") < listing.index("2. E2")


async def test_cascade_asks_in_order_and_moves_on(h: Harness) -> None:
    nurse = await flows.register_orderer(h, 201)
    e1, e2, e3, e4 = await experts(h, 4)
    await give_history(h, e2, 1, "1.11.2026 10.00")
    await give_history(h, e3, 2, "1.11.2026 10.00")
    await give_history(h, e4, 3, "1.11.2026 10.00")
    # 8 days ahead: waves of CASCADE_SIZE (a gig over WAVE_FAR_DAYS ahead asks fewer).
    coord = await submit(h, nurse, seats="1", starts_at="1.12.2026 klo 13.00")
    await coord.press(coord.t("btn.ranking"))
    await coord.press(coord.t("mode_btn.cascade", k=3, hours=24).split(" (")[0])
    assert [offered(p) for p in (e1, e2, e3, e4)] == [True, True, True, False]
    # Someone declines: the next in line is asked at once.
    await e1.press(e1.t("btn.decline"))
    assert offered(e4)
    # Nobody answers for a day: the offers expire and their messages say so.
    e2_offer = e2.find_button(e2.t("btn.accept"))[0]
    await h.advance(timedelta(hours=25))
    assert e2_offer.text == e2.t("offer.expired", title=await h.title("fi", await last_gig_id(h)))
    assert not e2_offer.flat_buttons
    assert (await offer_states(h))[e2.id] == OfferStatus.EXPIRED
    assert coord.texts()[-1].startswith("⚠️")  # nobody left to ask


async def test_filling_in_cascade_closes_what_is_still_open(h: Harness) -> None:
    nurse = await flows.register_orderer(h, 201)
    e1, e2, _ = await experts(h, 3)
    coord = await submit(h, nurse, seats="1", starts_at="1.12.2026 klo 13.00")
    await coord.press(coord.t("btn.ranking"))
    await coord.press(coord.t("mode_btn.cascade", k=3, hours=24).split(" (")[0])
    await e1.press(e1.t("btn.accept"))
    states = await offer_states(h)
    assert states[e1.id] == OfferStatus.ACCEPTED and states[e2.id] == OfferStatus.CLOSED


async def test_handpicking_past_higher_ranked_asks_a_reason(h: Harness) -> None:
    nurse = await flows.register_orderer(h, 201)
    e1, e2, e3 = await experts(h, 3)
    await give_history(h, e3, 2, "1.11.2026 10.00")
    coord = await submit(h, nurse, seats="1")
    await coord.press(coord.t("btn.ranking"))
    await coord.press(coord.t("mode_btn.handpick"))
    picker = coord.last
    await coord.press("3. E3", picker)
    assert picker.flat_buttons[2].text == "✅ 3. E3"
    await coord.press(coord.t("btn.send_picked"), picker)
    assert coord.last.text == coord.t("ranking.skipped", names="E1, E2")
    await coord.send("Toivottu puhuja: on aiemmin käynyt tällä osastolla.")
    assert offered(e3) and not offered(e1) and not offered(e2)
    gid = await last_gig_id(h)
    async with h.core.db.unit_of_work() as s:
        offer = await s.scalar(select(Offer).where(Offer.gig_id == gid))
        assert offer is not None and offer.override_reason.startswith("Toivottu puhuja")


async def test_a_confirmed_expert_steps_back_and_the_seat_reopens(h: Harness) -> None:
    nurse = await flows.register_orderer(h, 201)
    e1, e2 = await experts(h, 2)
    coord = await submit(h, nurse, seats="1")
    await coord.press(coord.t("btn.ranking"))
    await coord.press(coord.t("mode_btn.cascade", k=3, hours=24).split(" (")[0].replace("(3", "(1"))
    await e1.press(e1.t("btn.accept"))
    assert (await gig(h)).status == GigStatus.FILLED
    await e1.send("/mygigs")
    await e1.press(e1.t("btn.step_back", id=1))
    await e1.press(e1.t("btn.step_back_yes"))
    assert e1.last.text == e1.t("expert.stepped_back", title=await h.title("fi", 1))
    g = await gig(h)
    assert g.status == GigStatus.OPEN and g.seats_filled == 0
    assert any(t.startswith("↩️ E1") for t in coord.texts())
    assert (await offer_states(h))[e2.id] == OfferStatus.OPEN  # the next one is asked
    assert (await offer_states(h))[e1.id] == OfferStatus.WITHDRAWN


@pytest.mark.parametrize("lang", ["fi", "en"])
async def test_orderer_cancels_and_everyone_is_told(h: Harness, lang: str) -> None:
    nurse = await flows.register_orderer(h, 201, lang=lang)
    e1, e2 = await experts(h, 2, lang=lang)
    await flows.order_and_approve(h, nurse)
    waiting_offer = e2.find_button(e2.t("btn.accept"))[0]
    await e1.press(e1.t("btn.accept"))
    await nurse.send("/myorders")
    await nurse.press(nurse.t("btn.order_actions", id=1))
    await nurse.press(nurse.t("btn.cancel_order"))
    await nurse.send("Koulutuspäivä siirtyy keväälle.")
    title = await h.title(lang, 1)
    assert nurse.last.text == nurse.t("gig.cancelled_done", title=title)
    assert e1.last.text == e1.t(
        "gig.cancelled_expert", title=title, reason="Koulutuspäivä siirtyy keväälle."
    )
    assert waiting_offer.text == e2.t(
        "offer.cancelled", title=title, reason="Koulutuspäivä siirtyy keväälle."
    )
    assert (await gig(h)).status == GigStatus.CANCELLED


async def test_time_change_asks_confirmed_experts_to_reconfirm(h: Harness) -> None:
    nurse = await flows.register_orderer(h, 201)
    e1, e2, e3 = await experts(h, 3)
    await flows.order_and_approve(h, nurse, seats="2")
    waiting_offer = e3.find_button(e3.t("btn.accept"))[0]
    await e1.press(e1.t("btn.accept"))
    await e2.press(e2.t("btn.accept"))
    coord = flows.coordinator(h)
    await coord.send("/gig 1")
    await coord.press(coord.t("btn.change_time"))
    await coord.send("12.12.2026 klo 9.00")
    change = e1.t("gig.change_time", old="10.12.2026 klo 13.00", new="12.12.2026 klo 09.00")
    assert change in e1.last.text and e1.last.flat_buttons[0].text == e1.t("btn.still_coming")
    assert change in nurse.last.text
    await e1.press(e1.t("btn.still_coming"))
    assert e1.last.text == e1.t("expert.reconfirmed", title=await h.title("fi", 1))
    await e2.press(e2.t("btn.cannot_come"))
    g = await gig(h)
    assert g.seats_filled == 1 and g.status == GigStatus.OPEN
    # e3's offer was already closed when the gig filled; the reopened seat is offered again.
    assert offered(e3) and waiting_offer is not e3.find_button(e3.t("btn.accept"))[0]


async def test_place_change_reaches_open_offers_at_once(h: Harness) -> None:
    nurse = await flows.register_orderer(h, 201)
    (e1,) = await experts(h, 1)
    await flows.order_and_approve(h, nurse)
    offer_msg = e1.find_button(e1.t("btn.accept"))[0]
    await nurse.send("/myorders")
    await nurse.press(nurse.t("btn.order_actions", id=1))
    await nurse.press(nurse.t("btn.change_place"))
    await nurse.send("Kokoushuone Kuusi, Hoitajantie 5")
    assert "Kokoushuone Kuusi, Hoitajantie 5" in offer_msg.text
    assert offer_msg.flat_buttons[0].text == e1.t("btn.accept")


async def test_status_message_is_edited_in_place(h: Harness) -> None:
    nurse = await flows.register_orderer(h, 201)
    e1, e2 = await experts(h, 2)
    coord = await flows.order_and_approve(h, nurse, seats="2")
    status = next(m for m in coord.inbox if m.text.startswith("📊"))
    count_before = len(coord.inbox)
    await e1.press(e1.t("btn.accept"))
    await e2.press(e2.t("btn.decline"))
    assert status.edits >= 2
    assert (
        coord.t(
            "status_msg.counts", sent=2, pending=0, accepted=1, declined=1, expired=0, withdrawn=0
        )
        in status.text
    )
    assert "✅E1" in status.text and "➖E2" in status.text
    # No new message per answer (only the "nobody left" alert may arrive).
    assert len(coord.inbox) - count_before <= 1


async def test_deadline_alerts_the_coordinator(h: Harness) -> None:
    nurse = await flows.register_orderer(h, 201)
    await experts(h, 1)
    coord = await flows.order_and_approve(h, nurse, seats="2")
    h.clock.set(at("8.12.2026 13.30"))
    await h.advance(timedelta(minutes=1))
    assert coord.last.text == coord.t(
        "coord.deadline", title=await h.title("fi", 1), filled=0, seats=2
    )
    await h.advance(timedelta(minutes=5))
    assert sum(t.startswith("⏰") for t in coord.texts()) == 1


async def test_429_is_waited_out_and_nothing_is_lost(h: Harness) -> None:
    nurse = await flows.register_orderer(h, 201)
    e1, e2 = await experts(h, 2)
    h.tg.faults.append(
        Fault("sendMessage", e1.id, 429, "Too Many Requests: retry after 7", retry_after=7)
    )
    slept = h.clock.slept
    await flows.order_and_approve(h, nurse)
    assert offered(e1) and offered(e2)
    assert h.clock.slept - slept >= 7


async def test_timeouts_are_retried(h: Harness) -> None:
    nurse = await flows.register_orderer(h, 201)
    (e1,) = await experts(h, 1)
    h.tg.faults.append(Fault("sendMessage", e1.id, 0, "timeout", times=2))
    await flows.order_and_approve(h, nurse)
    assert offered(e1)
    assert sum(1 for m in e1.inbox if m.flat_buttons and "of:a:" in m.flat_buttons[0].data) == 1


async def test_blocked_expert_is_skipped_and_coordinator_told(h: Harness) -> None:
    nurse = await flows.register_orderer(h, 201)
    e1, e2 = await experts(h, 2)
    h.tg.faults.append(Fault("sendMessage", e1.id, 403, "Forbidden: bot was blocked by the user"))
    coord = await submit(h, nurse, seats="1")
    await coord.press(coord.t("btn.ranking"))
    await coord.press(coord.t("mode_btn.cascade", k=3, hours=24).split(" (")[0])
    assert offered(e2)
    assert any(t.startswith("📵") and "E1" in t for t in coord.texts())
    async with h.core.db.unit_of_work() as s:
        user = await s.scalar(select(User).where(User.telegram_id == e1.id))
        assert user is not None and not user.reachable
    # Writing to the bot again makes them reachable.
    await e1.send("/help")
    async with h.core.db.unit_of_work() as s:
        user = await s.scalar(select(User).where(User.telegram_id == e1.id))
        assert user is not None and user.reachable


async def test_a_year_of_cascades_shares_gigs_evenly(h: Harness) -> None:
    """52 weekly one-seat gigs, cascade of one, everyone accepts: at most one gig apart."""
    crew = await experts(h, 5)
    core = h.core
    async with core.db.unit_of_work() as s:  # contracts renewed for the year ahead
        await s.execute(update(ExpertProfile).values(contract_until=date(2028, 12, 31)))
    counts = dict.fromkeys((p.id for p in crew), 0)
    for week in range(52):
        h.clock.set(at("4.1.2027 09.00") + timedelta(weeks=week))
        async with core.db.unit_of_work() as s:
            g = Gig(
                orderer_id=1,
                status=GigStatus.OPEN,
                organisation="x",
                gig_type="talk",
                topics=["mental_health"],
                starts_at=h.clock.now() + timedelta(days=3),
                duration_min=90,
                remote=False,
                place="p",
                region="keski_suomi",
                audience="large",
                audience_size=20,
                seats=1,
                seats_filled=0,
                language="fi",
                fee_cents=10000,
                contact="c",
                notes="",
                reject_reason="",
                created_at=h.clock.now(),
                cascade_k=1,
                cascade_hours=24,
            )
            s.add(g)
            await s.flush()
            await core.dispatch.start(s, g, "cascade")
            offer = await s.scalar(select(Offer).where(Offer.gig_id == g.id))
            assert offer is not None
            user = await s.get(User, offer.expert_id)
            assert user is not None and user.telegram_id is not None
            result = await core.dispatch.accept(s, Actor(user.telegram_id, user, "fi"), offer.id)
            assert result.answer.value == "accepted"
            counts[user.telegram_id] += 1
    assert max(counts.values()) - min(counts.values()) <= 1, counts


async def test_restart_mid_dispatch_neither_loses_nor_repeats(h: Harness) -> None:
    nurse = await flows.register_orderer(h, 201)
    crew = await experts(h, 4)
    # Telegram stops answering halfway through the offers, as if the process died there (the
    # offers of one batch are sent side by side, so both of the last two time out).
    for late in crew[2:]:
        h.tg.faults.append(Fault("sendMessage", late.id, 0, "timeout", times=99))
    await flows.order_and_approve(h, nurse)
    assert [offered(p) for p in crew] == [True, True, False, False]
    h.tg.faults.clear()
    # A fresh process over the same database delivers the rest, once.
    from bot.app import build_application, post_init

    app2 = build_application(h.core.settings, clock=h.clock, request=h.tg.request())
    async with app2:
        h.clock.advance(timedelta(minutes=10))
        await post_init(app2)
        await app2.bot_data["core"].db.dispose()
    for p in crew:
        offers = [m for m in p.inbox if any("of:a:" in b.data for b in m.flat_buttons)]
        assert len(offers) == 1, p.name


async def test_server_errors_are_retried_then_the_coordinator_is_told(h: Harness) -> None:
    nurse = await flows.register_orderer(h, 201)
    e1, e2 = await experts(h, 2)
    h.tg.faults.append(Fault("sendMessage", e1.id, 502, "Bad Gateway", times=999))
    coord = await submit(h, nurse, seats="1")
    await coord.press(coord.t("btn.ranking"))
    await coord.press(coord.t("mode_btn.cascade", k=3, hours=24).split(" (")[0])
    for _ in range(12):  # retries back off; keep time moving until Telegram is given up on
        await h.advance(timedelta(minutes=30))
    assert any(t.startswith("📵") and "E1" in t for t in coord.texts())
    states = await offer_states(h)
    # Not asked again for this gig (the message never arrived); the next person was.
    assert states[e1.id] == OfferStatus.EXPIRED and states[e2.id] == OfferStatus.OPEN
    assert offered(e2)


async def test_message_not_modified_is_not_an_error(h: Harness) -> None:
    nurse = await flows.register_orderer(h, 201)
    e1, e2 = await experts(h, 2)
    await flows.order_and_approve(h, nurse, seats="1")
    h.tg.faults.append(
        Fault("editMessageText", e2.id, 400, "Bad Request: message is not modified", times=5)
    )
    await e1.press(e1.t("btn.accept"))  # e2's offer is edited to "filled" and Telegram says 400
    async with h.core.db.unit_of_work() as s:
        from storage.models import Outbox

        failed = (await s.scalars(select(Outbox).where(Outbox.status == "failed"))).all()
    assert failed == []
