"""A preparation call: the orderer proposes a short meeting before the gig; the confirmed
experts accept or suggest another time; the orderer confirms one; each gets a calendar entry
of its own (a stable UID, SEQUENCE growing with each new time), and it shows in the expert's
preparation check-in."""

from __future__ import annotations

from datetime import timedelta

import pytest

from bot.callbacks import PrepAnswerButton, PrepConfirm, pack
from tests import flows
from tests.harness import Harness, Person, at


def prep_ics(p: Person) -> str:
    """The newest preparation-call calendar file (other files may have come after it)."""
    docs = [m.document for m in p.inbox if m.document]
    files = [c for n, c in docs if n == p.t("relay.prep.ics_file", id=1)]
    return files[-1].decode() if files else ""


def ics(p: Person) -> str:
    name, content = p.last_file.document  # type: ignore[misc]
    assert name == p.t("relay.prep.ics_file", id=1)
    return content.decode()


@pytest.mark.parametrize("lang", ["fi", "en"])
async def test_a_preparation_call_is_proposed_answered_and_moved(h: Harness, lang: str) -> None:
    h.coord_lang = lang
    nurse = await flows.register_orderer(h, 201, lang=lang)
    aino = await flows.register_expert(h, 301, "Aino", lang=lang)
    bertta = await flows.register_expert(h, 302, "Bertta", lang=lang)
    await flows.order_and_approve(h, nurse, seats="2")  # 10.12.2026 13.00
    await aino.press(aino.t("btn.accept"))
    await bertta.press(bertta.t("btn.accept"))
    title = await h.title(lang, 1)
    p = h.core.presenter
    await nurse.send("/myorders")
    await nurse.press(nurse.t("btn.relay.prep_propose", id=1))
    assert nurse.last.text == nurse.t("form.prep_call.place", title=title)
    await nurse.send("https://teams.example/valmistelu")
    await nurse.send("11.12.2026 klo 10.00")  # after the gig: said kindly, asked again
    assert nurse.inbox[-2].text == nurse.t("relay.prep.after_gig")
    assert nurse.last.text == nurse.t("form.prep_call.starts_at", title=title)
    await nurse.send("8.12.2026 klo 15.00")
    assert nurse.t("relay.prep.proposed_done", count=2) in nurse.texts()
    entry = ics(nurse)
    assert "UID:prep-1@kokemusvalitys" in entry and "SEQUENCE:0" in entry
    assert "DTSTART;TZID=Europe/Helsinki:20261208T150000" in entry
    assert "URL:https://teams.example/valmistelu" in entry
    first = at("8.12.2026 15.00")
    for expert in (aino, bertta):
        assert expert.last.text == expert.t(
            "relay.prep.proposed",
            organisation=flows.ORDER["organisation"],
            title=title,
            when=p.when(lang, first),
            place="https://teams.example/valmistelu",
        )
    # Aino: it suits her; she gets the entry, the orderer is told.
    await aino.press(aino.t("btn.relay.prep_yes"))
    assert "SEQUENCE:0" in ics(aino)
    assert nurse.t("relay.prep.accepted", name="Aino", title=title, when=p.when(lang, first)) in (
        nurse.texts()
    )
    # Bertta suggests another time; the orderer confirms it.
    await bertta.press(bertta.t("btn.relay.prep_other"))
    assert bertta.last.text == bertta.t("form.prep_suggest.starts_at", title=title)
    await bertta.send("8.12.2026 klo 16.00")
    assert bertta.last.text == bertta.t("relay.prep.suggested_done")
    later = at("8.12.2026 16.00")
    assert nurse.last.text == nurse.t(
        "relay.prep.suggested",
        name="Bertta",
        when=p.when(lang, later),
        was=p.when(lang, first),
        title=title,
    )
    await nurse.press(nurse.t("btn.relay.prep_confirm"))
    assert nurse.t("relay.prep.confirmed_done", when=p.when(lang, later)) in nurse.texts()
    assert "SEQUENCE:1" in ics(nurse) and "T160000" in ics(nurse)
    assert "SEQUENCE:1" in ics(bertta) and "UID:prep-1@kokemusvalitys" in ics(bertta)
    # Aino is asked again about the new time.
    assert aino.last.text.startswith("📞") and p.when(lang, later) in aino.last.text
    assert aino.find_button(aino.t("btn.relay.prep_yes"))[0] is aino.last
    # The expert's preparation check-in names the call.
    h.clock.set(at("8.12.2026 13.05"))  # 48 hours before the gig
    await h.advance(timedelta(minutes=1))
    ready = aino.t("btn.prep_ready")
    prep = next(m.text for m in reversed(aino.inbox) if ready in [b.text for b in m.flat_buttons])
    assert (
        aino.t(
            "relay.prep.in_checkin",
            when=p.when(lang, later),
            place="https://teams.example/valmistelu",
        )
        in prep
    )


async def test_only_the_gigs_people_may_answer_or_confirm(h: Harness) -> None:
    nurse = await flows.register_orderer(h, 201)
    aino = await flows.register_expert(h, 301, "Aino")
    cecilia = await flows.register_expert(h, 303, "Cecilia")
    other = await flows.register_orderer(h, 202)
    await flows.order_and_approve(h, nurse, seats="1")
    await aino.press(aino.t("btn.accept"))
    await nurse.send("/myorders")
    await nurse.press(nurse.t("btn.relay.prep_propose", id=1))
    await nurse.send("Osasto 3, neuvotteluhuone")
    await nurse.send("8.12.2026 klo 15.00")
    await aino.press(aino.t("btn.relay.prep_other"))
    await aino.send("8.12.2026 klo 16.00")
    for outsider, data in (
        (cecilia, pack(PrepAnswerButton("y", 1))),
        (cecilia, pack(PrepAnswerButton("s", 1))),
        (other, pack(PrepConfirm(1))),
    ):
        await outsider.press_data(data, outsider.inbox[-1])
        assert outsider.last.text == outsider.t("err.gig_not_found")
    # Nobody else's calendar moved.
    assert "T150000" in ics(nurse)


async def agreed_call(h: Harness, lang: str = "fi") -> tuple[Person, Person, Person]:
    """Gig 1 (10.12.2026 13.00) with Aino confirmed and a preparation call on 8.12. at 15.00
    that suits her: the orderer, Aino and the coordinator."""
    nurse = await flows.register_orderer(h, 201, lang=lang)
    aino = await flows.register_expert(h, 301, "Aino", lang=lang)
    coord = await flows.order_and_approve(h, nurse, seats="1")
    await aino.press(aino.t("btn.accept"))
    await nurse.send("/myorders")
    await nurse.press(nurse.t("btn.relay.prep_propose", id=1))
    await nurse.send("Osasto 3")
    await nurse.send("8.12.2026 klo 15.00")
    await aino.press(aino.t("btn.relay.prep_yes"))
    return nurse, aino, coord


async def test_a_cancelled_gig_withdraws_the_preparation_call_from_calendars(h: Harness) -> None:
    nurse, aino, coord = await agreed_call(h)
    await coord.send("/gig 1")
    await coord.press(coord.t("btn.cancel_gig"))
    await coord.send("Tila ei ole käytettävissä.")
    await h.run_job("relay:tick")
    for person in (nurse, aino):
        entry = ics(person)
        assert "METHOD:CANCEL" in entry and "UID:prep-1@kokemusvalitys" in entry
        assert "SEQUENCE:1" in entry
    files = len([m for m in aino.inbox if m.document])
    await h.run_job("relay:tick")  # once only
    assert len([m for m in aino.inbox if m.document]) == files


@pytest.mark.parametrize("lang", ["fi", "en"])
async def test_a_gig_moved_before_its_preparation_call_withdraws_the_call(
    h: Harness, lang: str
) -> None:
    """The gig moves to a time before the agreed call: the call is cancelled in both
    calendars, the orderer may propose a new time, the expert is told; a gig moved later
    keeps its call."""
    h.coord_lang = lang
    nurse, aino, coord = await agreed_call(h, lang)
    await coord.send("/gig 1")
    await coord.press(coord.t("btn.change_time"))
    await coord.send("11.12.2026 klo 10.00")  # later: the call still comes first
    await h.run_job("relay:tick")
    assert "METHOD:CANCEL" not in prep_ics(nurse)
    await coord.send("/gig 1")
    await coord.press(coord.t("btn.change_time"))
    await coord.send("8.12.2026 klo 9.00")  # now before the call
    await h.run_job("relay:tick")
    p = h.core.presenter
    title, was = await h.title(lang, 1), p.when(lang, at("8.12.2026 15.00"))
    for person in (nurse, aino):
        entry = prep_ics(person)
        assert "METHOD:CANCEL" in entry and "UID:prep-1@kokemusvalitys" in entry
    told = nurse.find_button(nurse.t("btn.relay.prep_propose", id=1))[0]
    assert told.text == nurse.t("relay.prep.withdrawn_moved", title=title, when=was)
    assert aino.t("relay.prep.withdrawn_moved_expert", title=title, when=was) in aino.texts()
    async with h.core.db.unit_of_work() as s:
        assert await h.core.prep.for_gig(s, 1) is None
    # The orderer proposes a new time from the same message; it must be before the gig.
    await nurse.press(nurse.t("btn.relay.prep_propose", id=1), told)
    await nurse.send("Osasto 3")
    await nurse.send("7.12.2026 klo 15.00")
    assert nurse.t("relay.prep.proposed_done", count=1) in nurse.texts()
