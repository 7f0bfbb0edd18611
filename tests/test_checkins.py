"""Check-ins around every gig and between gigs, with a controlled clock: the calendar file,
preparation, the day's reminder, the debrief, quiet hours, DST, downtime, cancellation."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from storage.models import CheckIn, CheckInStatus, Offer, OfferStatus
from tests import flows
from tests.harness import Harness, Person, at


async def confirmed(h: Harness, lang: str = "fi", **order: object) -> tuple[Person, Person]:
    """An orderer and one expert confirmed on gig #1 (default: 10.12.2026 klo 13.00, 1,5 h)."""
    nurse = await flows.register_orderer(h, 201, lang=lang)
    aino = await flows.register_expert(h, 301, "Aino", lang=lang)
    await flows.order_and_approve(h, nurse, seats="1", **order)
    await aino.press(aino.t("btn.accept"))
    return nurse, aino


async def until(h: Harness, moment: str) -> None:
    """Move the clock to a Helsinki time and let the jobs run as they would have."""
    h.clock.set(at(moment) - timedelta(minutes=1))
    await h.advance(timedelta(minutes=1))


def texts_since(p: Person, index: int) -> list[str]:
    return [m.text for m in p.inbox[index:] if m.document is None]


@pytest.mark.parametrize("lang", ["fi", "en"])
async def test_confirmation_brings_a_calendar_file(h: Harness, lang: str) -> None:
    _, aino = await confirmed(h, lang)
    name, content = aino.last_file.document  # type: ignore[misc]
    ics = content.decode()
    assert name == {"fi": "keikka-1.ics", "en": "gig-1.ics"}[lang]  # the reader's language
    assert "UID:gig-1@kokemusvalitys" in ics and "SEQUENCE:0" in ics
    assert "DTSTART;TZID=Europe/Helsinki:20261210T130000" in ics
    assert "DTEND;TZID=Europe/Helsinki:20261210T143000" in ics
    assert "Hoitajantie 3" in ics and "040 123 4567" in ics
    coord = flows.coordinator(h)
    await coord.send("/gig 1")
    await coord.press(coord.t("btn.change_time"))
    await coord.send("11.12.2026 klo 10.00")
    moved = aino.last_file.document[1].decode()  # type: ignore[index]
    assert "UID:gig-1@kokemusvalitys" in moved and "SEQUENCE:1" in moved
    assert "DTSTART;TZID=Europe/Helsinki:20261211T100000" in moved


async def test_preparation_check_in_and_talking_it_through(h: Harness) -> None:
    _, aino = await confirmed(h)
    before = len(aino.inbox)
    await until(h, "8.12.2026 12.59")
    assert texts_since(aino, before) == []
    await until(h, "8.12.2026 13.00")
    prep = aino.last
    assert prep.text == aino.t("checkin.prep", title=await h.title("fi", 1))
    await aino.press(aino.t("btn.prep_talk"), prep)
    await aino.press(aino.t("contact_way.talk_phone"), prep)
    assert prep.text == aino.t("checkin.prep_talk_sent", way=aino.t("contact_way.talk_phone"))
    coord = flows.coordinator(h)
    assert (
        coord.last.text.startswith("💬 Aino")
        and coord.t("contact_way.talk_phone") in coord.last.text
    )
    # The name opens a chat with the expert (a link Telegram makes clickable).
    assert coord.last.links() == {"Aino": "tg://user?id=301"}


async def test_stepping_back_from_the_prep_check_in_reopens_the_seat(h: Harness) -> None:
    _, aino = await confirmed(h)
    bertta = await flows.register_expert(h, 302, "Bertta")
    await until(h, "8.12.2026 13.00")
    await aino.press(aino.t("btn.prep_step_back"))
    await aino.press(aino.t("btn.step_back_yes"))
    async with h.core.db.unit_of_work() as s:
        offer = await s.scalar(select(Offer).where(Offer.id == 1))
        assert offer is not None and offer.status == OfferStatus.WITHDRAWN
    assert flows.offered(bertta)  # the seat went on to the next person at once
    # Nothing more about this gig reaches Aino.
    before = len(aino.inbox)
    await until(h, "10.12.2026 10.00")
    await until(h, "10.12.2026 16.30")
    assert texts_since(aino, before) == []


async def test_reminder_on_the_day_never_before_eight(h: Harness) -> None:
    _, aino = await confirmed(h, starts_at="10.12.2026 klo 9.00")
    before = len(aino.inbox)
    await until(h, "10.12.2026 06.00")
    assert texts_since(aino, before) == []
    await until(h, "10.12.2026 08.00")
    reminder = aino.last.text
    assert reminder.startswith(
        aino.t(
            "checkin.reminder",
            title=await h.title("fi", 1),
            when="10.12.2026 klo 09.00",
            place="",
            contact="",
        )[:40]
    )
    assert "Nea Nurse, 040 123 4567" in reminder


async def test_debrief_low_score_and_the_experts_view_of_the_gig(h: Harness) -> None:
    _, aino = await confirmed(h)
    await until(h, "10.12.2026 16.29")
    assert not aino.last.text.startswith(aino.t("checkin.debrief", title="")[:10])
    await until(h, "10.12.2026 16.30")  # 2 h after the end (13.00 + 1,5 h)
    debrief = aino.last
    title = await h.title("fi", 1)
    assert debrief.text == aino.t("checkin.debrief", title=title)
    assert "1 tai 2" in debrief.text  # the question says what a low score leads to
    await aino.press("2", debrief)
    coord = flows.coordinator(h)
    assert coord.last.text.startswith("🆘 Aino") and "2/5" in coord.last.text
    assert coord.last.links() == {"Aino": "tg://user?id=301"}
    # The expert is told someone will be in touch, and asked nothing more.
    assert debrief.text == aino.t("checkin.low_score", title=title, score=2)
    assert aino.last is debrief and not debrief.flat_buttons
    async with h.core.db.unit_of_work() as s:
        row = await s.scalar(select(CheckIn).where(CheckIn.kind == "debrief"))
        assert row is not None
        assert (row.score, row.orderer_rating, row.preparation_rating) == (2, None, None)


@pytest.mark.parametrize("lang", ["fi", "en"])
async def test_debrief_questions_one_at_a_time_each_naming_its_gig(h: Harness, lang: str) -> None:
    _, aino = await confirmed(h, lang)
    await until(h, "10.12.2026 16.30")
    title = await h.title(lang, 1)
    await aino.press("4", aino.last)
    assert aino.last.text == aino.t("checkin.ask_orderer", title=title)
    assert title in aino.inbox[-2].text  # the answered question still says which gig
    await aino.press("4")  # how the orderer treated me
    assert aino.last.text == aino.t("checkin.ask_preparation", title=title)
    await aino.press(aino.t("btn.skip"))  # preparation: no answer
    assert aino.last.text == aino.t("form.debrief_note.note", title=title)
    await aino.send("Yleisö oli lämmin, mutta tila oli meluisa.")
    assert aino.last.text == aino.t("checkin.debrief_thanks", title=title)
    await aino.press(aino.t("btn.debrief_peer"))
    assert aino.last.text == aino.t("checkin.debrief_requested", title=title)
    coord = flows.coordinator(h)
    # A request for a debrief talk is routine: no 🆘.
    assert coord.last.text.startswith("💬 Aino") and coord.t("debrief_with.debrief_peer") in (
        coord.last.text
    )
    async with h.core.db.unit_of_work() as s:
        row = await s.scalar(select(CheckIn).where(CheckIn.kind == "debrief"))
        assert row is not None
        assert (row.score, row.orderer_rating, row.preparation_rating) == (4, 4, None)
        assert row.note.startswith("Yleisö oli lämmin")


async def test_late_debrief_waits_for_the_morning(h: Harness) -> None:
    _, aino = await confirmed(h, starts_at="10.12.2026 klo 18.00", duration="2")
    await until(h, "10.12.2026 22.00")
    await until(h, "11.12.2026 07.59")
    assert not any(t.startswith(aino.t("checkin.debrief", title="")[:10]) for t in aino.texts())
    await until(h, "11.12.2026 08.00")
    assert aino.last.text == aino.t("checkin.debrief", title=await h.title("fi", 1))


async def test_silence_after_a_debrief_gets_one_reminder_then_a_note(h: Harness) -> None:
    _, aino = await confirmed(h)
    await until(h, "10.12.2026 16.30")
    await until(h, "11.12.2026 16.31")
    assert aino.last.text == aino.t("checkin.debrief_reminder", title=await h.title("fi", 1))
    await until(h, "11.12.2026 20.00")
    assert sum(t == aino.last.text for t in aino.texts()) == 1  # only one reminder
    await until(h, "12.12.2026 16.31")
    coord = flows.coordinator(h)
    assert coord.last.text.startswith("🔕 Aino")


async def test_quiet_hours_keep_everything_until_morning_in_order(h: Harness) -> None:
    nurse = await flows.register_orderer(h, 201)
    aino = await flows.register_expert(h, 301, "Aino")
    # Two gigs: the first's debrief and the second's prep both fall due in the night.
    await flows.order_and_approve(
        h, nurse, seats="1", starts_at="10.12.2026 klo 19.00", duration="1"
    )
    await aino.press(aino.t("btn.accept"))
    await flows.order_and_approve(
        h, nurse, seats="1", starts_at="13.12.2026 klo 2.00", duration="1"
    )
    await aino.press(aino.t("btn.accept"))
    before = len(aino.inbox)
    await until(h, "10.12.2026 23.00")
    await until(h, "11.12.2026 03.00")
    assert texts_since(aino, before) == []
    await until(h, "11.12.2026 08.00")
    got = texts_since(aino, before)
    assert got == [
        aino.t("checkin.debrief", title=await h.title("fi", 1)),
        aino.t("checkin.prep", title=await h.title("fi", 2)),
    ]


async def test_prep_keeps_the_wall_clock_across_daylight_saving(h: Harness) -> None:
    # Summer time begins on Sunday 28.3.2027; a Monday 10.00 gig's prep is Saturday 10.00.
    h.clock.set(at("20.3.2027 10.00"))
    _, _aino = await confirmed(h, starts_at="29.3.2027 klo 10.00")
    async with h.core.db.unit_of_work() as s:
        prep = await s.scalar(select(CheckIn).where(CheckIn.kind == "prep"))
        assert prep is not None and prep.due_at == at("27.3.2027 10.00")
        reminder = await s.scalar(select(CheckIn).where(CheckIn.kind == "reminder"))
        assert reminder is not None and reminder.due_at == at("29.3.2027 08.00")


async def test_downtime_sends_what_is_still_relevant_once(h: Harness) -> None:
    _, aino = await confirmed(h)
    before = len(aino.inbox)
    # The bot is down from Monday until after the gig; prep and reminder are stale by now.
    h.clock.set(at("10.12.2026 17.00"))
    await h.advance(timedelta(minutes=1))
    await h.advance(timedelta(minutes=1))
    assert texts_since(aino, before) == [aino.t("checkin.debrief", title=await h.title("fi", 1))]
    async with h.core.db.unit_of_work() as s:
        statuses = {c.kind: c.status for c in (await s.scalars(select(CheckIn))).all()}
    assert statuses == {
        "prep": CheckInStatus.DROPPED,
        "coming": CheckInStatus.DROPPED,  # "still coming?" after the gig means nothing
        "reminder": CheckInStatus.DROPPED,
        "debrief": CheckInStatus.SENT,
    }
    # A restarted process finds nothing more to send.
    from bot.app import build_application, post_init

    app2 = build_application(h.core.settings, clock=h.clock, request=h.tg.request())
    async with app2:
        await post_init(app2)
        jq = app2.job_queue
        assert jq is not None
        for job in jq.jobs():
            if job.name == "checkins:tick":
                await job.run(app2)
        await app2.bot_data["core"].db.dispose()
    assert len(texts_since(aino, before)) == 1


async def test_cancelled_gig_sends_nothing_more(h: Harness) -> None:
    nurse, aino = await confirmed(h)
    await nurse.send("/myorders")
    await nurse.press(nurse.t("btn.order_actions", id=1))
    await nurse.press(nurse.t("btn.cancel_order"))
    await nurse.press(nurse.t("btn.skip"))
    assert "METHOD:CANCEL" in aino.last_file.document[1].decode()  # type: ignore[index]
    before = len(aino.inbox)
    for moment in ("8.12.2026 13.00", "10.12.2026 10.00", "10.12.2026 16.30", "12.12.2026 9.00"):
        await until(h, moment)
    assert texts_since(aino, before) == []


async def test_moved_gig_moves_its_check_ins(h: Harness) -> None:
    nurse, aino = await confirmed(h)
    await nurse.send("/myorders")
    await nurse.press(nurse.t("btn.order_actions", id=1))
    await nurse.press(nurse.t("btn.change_time"))
    await nurse.send("17.12.2026 klo 13.00")
    await aino.press(aino.t("btn.still_coming"))
    before = len(aino.inbox)
    await until(h, "8.12.2026 13.00")
    assert texts_since(aino, before) == []
    await until(h, "15.12.2026 13.00")
    assert aino.last.text == aino.t("checkin.prep", title=await h.title("fi", 1))


async def test_keep_in_touch_after_a_quiet_month(h: Harness) -> None:
    aino = await flows.register_expert(h, 301, "Aino")
    before = len(aino.inbox)
    await until(h, "20.12.2026 08.05")
    await h.run_job("register:daily")
    assert texts_since(aino, before) == []
    await until(h, "24.12.2026 08.05")
    await h.run_job("register:daily")
    await h.core.outbox.flush()
    keep = aino.last
    assert keep.text == aino.t("checkin.keep_no_gig")  # she has had no gig yet
    await aino.press(aino.t("btn.kt_talk"), keep)
    assert flows.coordinator(h).last.text.startswith("💬 Aino")
    count = len(aino.inbox)
    await until(h, "25.12.2026 08.05")
    await h.run_job("register:daily")
    assert len(aino.inbox) == count  # once a month, not every morning


async def test_youth_debrief_is_always_booked_with_the_adult(h: Harness) -> None:
    nurse = await flows.register_orderer(h, 201)
    nuppu = await flows.register_expert(h, 301, "Nuppu")
    coord = flows.coordinator(h)
    await coord.send(f"/expert {await h.user_id(301)}")
    await coord.press(coord.t("btn.toggle_youth"))
    await flows.order_and_approve(h, nurse, seats="1")
    await nuppu.press(nuppu.t("btn.accept"))
    await coord.press(coord.t("btn.name_companion"))
    await coord.send("Sari Saattaja")
    await until(h, "10.12.2026 16.30")
    assert any(t.startswith("🧒 ") and "Sari Saattaja" in t for t in coord.texts())


async def test_morning_digest(h: Harness) -> None:
    nurse, _aino = await confirmed(h)
    await flows.order_and_approve(h, nurse, seats="2", starts_at="11.12.2026 klo 10.00")
    await until(h, "10.12.2026 08.00")
    await h.run_job("digest:daily")
    await h.core.outbox.flush()
    digest = flows.coordinator(h).last.text
    assert digest.startswith(flows.coordinator(h).t("digest.header", date="10.12."))
    today, unanswered, short, _ = digest.split("\n\n")[1:5]
    assert "#1" in today and "(1/1)" in today
    assert "Aino" in unanswered  # the prep check-in was not answered
    assert "#2" in short and "(0/2)" in short


async def test_coordinator_sets_a_gigs_own_prep_timing(h: Harness) -> None:
    _, aino = await confirmed(h)
    coord = flows.coordinator(h)
    await coord.send("/gig 1")
    await coord.press(coord.t("btn.prep_hours"))
    await coord.press("72")
    assert coord.last.text == coord.t("desk.prep_set", hours=72, title=await h.title("fi", 1))
    before = len(aino.inbox)
    await until(h, "7.12.2026 13.00")  # 72 h before 10.12. klo 13.00
    assert texts_since(aino, before) == [aino.t("checkin.prep", title=await h.title("fi", 1))]
