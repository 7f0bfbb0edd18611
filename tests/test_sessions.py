"""Supervision, peer groups and training (issue 16, item 10): a session filling up, the
waiting list, a cancel moving the next one up, the reminder, attendance on the card, and a gig
type that requires a training, through the real Application."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from storage.models import SeatStatus, SessionSeat
from tests import flows
from tests.harness import Harness, Person, at


def invitation(p: Person) -> str:
    return next(m.text for m in p.inbox if p.t("session.invitation") in m.text)


@pytest.mark.parametrize("lang", ["fi", "en"])
async def test_a_session_fills_up_the_next_moves_up_and_attendance_shows(
    h: Harness, lang: str
) -> None:
    h.coord_lang = lang
    aino = await flows.register_expert(h, 301, "Aino", lang=lang)
    bertta = await flows.register_expert(h, 302, "Bertta", lang=lang)
    cecilia = await flows.register_expert(h, 303, "Cecilia", lang=lang)
    coord = flows.coordinator(h)
    await flows.announce_session(coord)
    assert coord.last.text == coord.t("session.created", count=3)
    kind = aino.t("session_kind.supervision")
    assert kind in invitation(aino) and flows.SESSION["place"] in invitation(aino)

    # Two places: Aino and Bertta get them, Cecilia goes on the waiting list.
    await aino.press(aino.t("btn.session.sign_up"))
    assert aino.last.text.endswith(aino.t("session.you_signed_up"))
    assert [b.text for b in aino.last.flat_buttons] == [aino.t("btn.session.cancel")]
    await bertta.press(bertta.t("btn.session.sign_up"))
    await cecilia.press(cecilia.t("btn.session.sign_up"))
    assert cecilia.last.text.endswith(cecilia.t("session.you_wait", place=1))
    # Only the invited may sign up: Eino joined after the invitation went out.
    eino = await flows.register_expert(h, 304, "Eino", lang=lang)
    await eino.press_data("se:y:1", eino.last)
    assert eino.last.text == eino.t("session.not_found")
    # And only coordinators manage.
    await aino.press_data("sx:a:1", aino.last)
    assert aino.last_toast() == aino.t("common.not_allowed")

    await coord.send("/sessions")
    await coord.press("#1")
    listing = coord.last.text
    assert coord.t("session.placed", count=2, capacity=2) in listing
    assert coord.t("session.waiting_list", count=1) in listing
    assert listing.index("1. Aino") < listing.index("2. Bertta") < listing.index("1. Cecilia")

    # Aino cancels: Cecilia is moved up and told.
    await aino.press(aino.t("btn.session.cancel"))
    assert aino.last.text.endswith(aino.t("session.you_cancelled"))
    title = h.core.sessions.title(lang, await _session(h))
    assert cecilia.last.text == cecilia.t("session.moved_up", title=title)
    async with h.core.db.unit_of_work() as s:
        rows = (await s.execute(select(SessionSeat.expert_id, SessionSeat.status))).all()
    held = {uid for uid, st in rows if st == SeatStatus.SIGNED_UP}
    assert held == {await h.user_id(302), await h.user_id(303)}

    # The reminder, three hours before, to those with a place only.
    h.clock.set(at("15.12.2026 14.01"))
    await h.run_job("sessions:tick")
    for p in (bertta, cecilia):
        assert p.last.text.startswith(p.t("session.reminder")), p.name
    assert not aino.last.text.startswith(aino.t("session.reminder"))
    # Too late to sign up once it has started.
    h.clock.set(at("15.12.2026 17.05"))
    await aino.press(aino.t("btn.session.sign_up"))
    assert aino.last.text == aino.t("session.closed")

    # After it, the coordinator is asked for attendance and records it with buttons.
    h.clock.set(at("15.12.2026 19.01"))
    await h.run_job("sessions:tick")
    assert coord.last.text == coord.t("session.attendance_ask", title=title)
    await coord.press(coord.t("btn.session.attendance"))
    assert [b.text for b in coord.last.flat_buttons] == ["⬜ Bertta", "⬜ Cecilia"]
    await coord.press("Bertta")
    assert [b.text for b in coord.last.flat_buttons] == ["✅ Bertta", "⬜ Cecilia"]
    await coord.press("Cecilia")
    await coord.press("Cecilia")
    assert [b.text for b in coord.last.flat_buttons] == ["✅ Bertta", "❌ Cecilia"]

    # Attendance shows on the expert's card.
    await coord.send(f"/expert {await h.user_id(302)}")
    assert coord.t(
        "session.card", sessions=f"{coord.t('session_kind.supervision')} 15.12.2026"
    ) in (coord.last.text)
    await coord.send(f"/expert {await h.user_id(303)}")
    assert coord.t("session.card_none") in coord.last.text


async def _session(h: Harness) -> object:
    from storage.models import SupportSession

    async with h.core.db.unit_of_work() as s:
        sess = await s.get(SupportSession, 1)
    assert sess is not None
    return sess


@pytest.mark.parametrize("lang", ["fi", "en"])
async def test_a_gig_type_requiring_training_is_offered_only_after_attending(
    h: Harness, lang: str
) -> None:
    h.coord_lang = lang
    nurse = await flows.register_orderer(h, 201, lang=lang)
    aino = await flows.register_expert(h, 301, "Aino", lang=lang)
    bertta = await flows.register_expert(h, 302, "Bertta", lang=lang)
    coord = flows.coordinator(h)
    await coord.send("/requiretraining talk Puhujakoulutus")
    talk = coord.t("gig_type.talk")
    assert coord.t("session.require_line", type=talk, training="Puhujakoulutus") in coord.last.text

    # A talk: neither has the training, so nobody is offered it, and the ranking says why.
    await flows.order_and_approve(h, nurse, seats="2")
    assert not flows.offered(aino) and not flows.offered(bertta)
    await coord.press(coord.t("btn.ranking"))
    untrained = coord.t(
        "session.untrained", training="Puhujakoulutus", count=2, names="Aino, Bertta"
    )
    assert untrained in coord.last.text

    # The training: Aino attends (the name matches whatever the case).
    await flows.announce_session(
        coord, kind="training", training="puhujakoulutus", starts_at="1.12.2026 klo 10.00"
    )
    await aino.press(aino.t("btn.session.sign_up"))
    await bertta.press(bertta.t("btn.session.sign_up"))
    h.clock.set(at("1.12.2026 12.01"))
    await h.run_job("sessions:tick")
    await coord.press(coord.t("btn.session.attendance"))
    await coord.press("Aino")
    await coord.press("Bertta")
    await coord.press("Bertta")  # Bertta did not come after all: absent

    # The next talk is offered to Aino only; Bertta is named with the reason.
    await flows.order_and_approve(h, nurse, seats="2", starts_at="11.12.2026 klo 13.00")
    assert flows.offered(aino) and not flows.offered(bertta)
    await coord.press(coord.t("btn.ranking"))
    untrained = coord.t("session.untrained", training="Puhujakoulutus", count=1, names="Bertta")
    assert untrained in coord.last.text and "1. Aino" in coord.last.text
    # Dropping the requirement lets Bertta back in.
    await coord.send(f"/requiretraining {talk} -")
    assert coord.t("session.require_none") in coord.last.text


async def test_forget_gives_the_place_to_the_waiting_list(h: Harness) -> None:
    aino = await flows.register_expert(h, 301, "Aino")
    bertta = await flows.register_expert(h, 302, "Bertta")
    coord = flows.coordinator(h)
    await flows.announce_session(coord, capacity="1")
    await aino.press(aino.t("btn.session.sign_up"))
    await bertta.press(bertta.t("btn.session.sign_up"))
    assert bertta.last.text.endswith(bertta.t("session.you_wait", place=1))
    await aino.send("/forget")
    await aino.press(aino.t("btn.forget_yes"))
    await h.core.outbox.flush()
    title = h.core.sessions.title("fi", await _session(h))  # type: ignore[arg-type]
    assert bertta.last.text == bertta.t("session.moved_up", title=title)
    async with h.core.db.unit_of_work() as s:
        rows = (await s.execute(select(SessionSeat.expert_id, SessionSeat.status))).all()
    assert rows == [(await h.user_id(302), SeatStatus.SIGNED_UP)]


async def test_a_cancelled_session_tells_everyone_with_a_place_or_waiting(h: Harness) -> None:
    aino = await flows.register_expert(h, 301, "Aino")
    bertta = await flows.register_expert(h, 302, "Bertta")
    cecilia = await flows.register_expert(h, 303, "Cecilia")
    coord = flows.coordinator(h)
    await flows.announce_session(coord, capacity="1")
    await aino.press(aino.t("btn.session.sign_up"))
    await bertta.press(bertta.t("btn.session.sign_up"))
    await coord.send("/sessions")
    await coord.press("#1")
    await coord.press(coord.t("btn.session.cancel_session"))
    await coord.press(coord.t("btn.session.cancel_yes"))
    title = h.core.sessions.title("fi", await _session(h))  # type: ignore[arg-type]
    assert coord.last.text == coord.t("session.cancelled_done", title=title, count=2)
    await h.core.outbox.flush()
    for p in (aino, bertta):
        assert p.last.text == p.t("session.cancelled_notice", title=title), p.name
    assert not cecilia.last.text.startswith(cecilia.t("session.cancelled_notice", title=title))
    await cecilia.press(cecilia.t("btn.session.sign_up"))
    assert cecilia.last.text == cecilia.t("session.was_cancelled")
    await coord.send("/sessions")
    assert coord.t("session.cancelled_mark") in coord.last.text
