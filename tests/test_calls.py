"""Calls for interest for long-term roles (issue 16, item 3): from the coordinator's call to the
pick, with the confirmations and the kind thank-yous, through the real Application."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import func, select

from storage.models import (
    Call,
    CallAnswer,
    CallAnswerStatus,
    CallStatus,
    ExpertProfile,
    ExpertStatus,
    Role,
    User,
)
from tests import flows
from tests.harness import Harness, Person, at

TITLE = flows.CALL["title"]


async def experts(h: Harness, lang: str) -> tuple[Person, Person, Person, Person]:
    """Aino did a talk on 10.12. (so the rotation puts her after the others); Bertta and
    Cecilia have done none; Eino does only talks, so a development group's call is not his."""
    h.coord_lang = lang
    nurse = await flows.register_orderer(h, 201, lang=lang)
    aino = await flows.register_expert(h, 301, "Aino", lang=lang, gig_types=("talk", "workgroup"))
    bertta = await flows.register_expert(h, 302, "Bertta", lang=lang, gig_types=("workgroup",))
    cecilia = await flows.register_expert(h, 303, "Cecilia", lang=lang, gig_types=("workgroup",))
    eino = await flows.register_expert(h, 304, "Eino", lang=lang)
    await flows.order_and_approve(h, nurse, seats="1")
    await aino.press(aino.t("btn.accept"))
    return aino, bertta, cecilia, eino


def invitation(p: Person) -> str:
    return next(m.text for m in p.inbox if p.t("call.invitation") in m.text)


@pytest.mark.parametrize("lang", ["fi", "en"])
async def test_a_call_from_creation_to_the_pick_with_thanks(h: Harness, lang: str) -> None:
    aino, bertta, cecilia, eino = await experts(h, lang)
    coord = flows.coordinator(h)
    await flows.make_call(coord)
    when = h.core.presenter.when(lang, at("12.12.2026 12.00"))
    assert coord.last.text == coord.t("call.created", title=TITLE, count=3, when=when)

    # The eligible get the role's details with two answers; Eino (talks only) gets nothing.
    for p in (aino, bertta, cecilia):
        text = invitation(p)
        assert TITLE in text and flows.CALL["commitment"] in text
        assert "80 €" in text and when in text
        labels = [b.text for b in p.last.flat_buttons]
        assert labels == [p.t("btn.call.interested"), p.t("btn.call.not_now")]
    assert not any(eino.t("call.invitation") in m.text for m in eino.inbox)

    # Aino answers first, with a line; Bertta skips the line; Cecilia says not this time.
    await aino.press(aino.t("btn.call.interested"))
    assert aino.t("call.you_interested") in aino.inbox[-2].text
    assert aino.last.text == aino.t("form.call_note.message")
    await aino.send("Olen ollut itse osastolla ja haluan kehittää sitä.")
    assert aino.last.text == aino.t("call.note_saved", when=when)
    await bertta.press(bertta.t("btn.call.interested"))
    await bertta.press(bertta.t("btn.skip"))
    assert bertta.last.text == bertta.t("call.note_skipped", when=when)
    await cecilia.press(cecilia.t("btn.call.not_now"))
    assert cecilia.last.text.endswith(cecilia.t("call.you_declined"))
    # A button is not proof of access: Eino was not invited.
    await eino.press_data("cf:y:1", eino.last)
    assert eino.last.text == eino.t("call.not_found")

    # The deadline passes (the talk on 10.12. is behind Aino): the scheduler closes the call.
    h.clock.set(at("12.12.2026 12.01"))
    await h.run_job("calls:tick")
    await h.core.outbox.flush()
    args = {"title": TITLE, "id": 1, "count": 2, "asked": 3}
    assert coord.last.text == coord.t("call.deadline_passed", **args)
    # Too late to answer now.
    await cecilia.press(cecilia.t("btn.call.interested"))
    assert cecilia.last.text.endswith(cecilia.t("call.closed"))

    # The list: Bertta first (no gigs), Aino second (one gig), though Aino answered first.
    await coord.press(coord.t("btn.call.view"))
    view = coord.last.text
    assert coord.t("ranking.rule") in view
    bertta_at, aino_at = view.index("1. Bertta"), view.index("2. Aino")
    assert bertta_at < aino_at
    assert (
        coord.t("call.their_line", message="Olen ollut itse osastolla ja haluan kehittää sitä.")
        in view
    )
    assert coord.t("ranking.never") in view[bertta_at:aino_at]
    assert "Cecilia" not in view

    # Pick Bertta, confirm, send.
    await coord.press("1. Bertta")
    assert "✅ 1. Bertta" in [b.text for b in coord.last.flat_buttons]
    await coord.press(coord.t("btn.call.confirm"))
    assert coord.last.text == coord.t(
        "call.confirm", title=TITLE, names="Bertta", chosen=1, seats=1, thanked=1
    )
    sent_under, send = coord.find_button(coord.t("btn.call.send"))
    await coord.press(coord.t("btn.call.send"))
    assert coord.last.text == coord.t("call.decided", title=TITLE, chosen=1, thanked=1)
    await h.core.outbox.flush()
    assert bertta.last.text == bertta.t("call.chosen", title=TITLE)
    assert aino.last.text == aino.t("call.thanks", title=TITLE)
    assert cecilia.last.text.endswith(cecilia.t("call.closed"))  # she said no: nothing more
    for p in (aino, bertta):
        assert not any(w in p.last.text.lower() for w in ("hylät", "reject"))

    # Sending twice (an old button, or a second coordinator) changes nothing.
    await coord.press_data(send.data, sent_under)
    assert coord.last.text == coord.t("call.already_decided")
    await h.core.outbox.flush()
    assert sum(m.text == aino.t("call.thanks", title=TITLE) for m in aino.inbox) == 1


@pytest.mark.parametrize("lang", ["fi", "en"])
async def test_close_early_extend_and_only_coordinators_manage(h: Harness, lang: str) -> None:
    h.coord_lang = lang
    aino = await flows.register_expert(h, 301, "Aino", lang=lang, gig_types=("workgroup",))
    bertta = await flows.register_expert(h, 302, "Bertta", lang=lang, gig_types=("workgroup",))
    coord = flows.coordinator(h)
    await flows.make_call(coord, fee=None, regions=("keski_suomi",))
    assert aino.t("common.unpaid") in invitation(aino)
    # An expert cannot manage a call, whatever data the button carries.
    await aino.press_data("cc:x:1", aino.last)
    assert aino.last_toast() == aino.t("common.not_allowed")

    await aino.press(aino.t("btn.call.interested"))
    await aino.send("Kiinnostaa!")
    await coord.press(coord.t("btn.call.close"))
    assert coord.t("call.pick_hint") in coord.last.text
    assert "1. Aino" in coord.last.text
    # Closed early: Bertta can't answer now...
    await bertta.press(bertta.t("btn.call.interested"))
    assert bertta.last.text.endswith(bertta.t("call.closed"))

    # ...until the coordinator extends the deadline; she hears about it.
    await coord.press(coord.t("btn.call.extend"))
    assert coord.last.text == coord.t("form.call_deadline.deadline", title=TITLE)
    await coord.send("31.2.2027 klo 12")  # no such day: said kindly, asked again
    assert coord.last.text == coord.t("form.call_deadline.deadline", title=TITLE)
    await coord.send("20.12.2026 klo 16.00")
    when = h.core.presenter.when(lang, at("20.12.2026 16.00"))
    assert coord.last.text == coord.t("call.extended_done", when=when, count=1)
    await h.core.outbox.flush()
    assert bertta.last.text == bertta.t("call.extended", title=TITLE, when=when)
    await bertta.press(bertta.t("btn.call.interested"))
    await bertta.press(bertta.t("btn.skip"))
    assert bertta.last.text == bertta.t("call.note_skipped", when=when)

    # /calls lists it; the deadline closes it again; nobody picked: both thanked.
    await coord.send("/calls")
    assert coord.t("call.list_header") in coord.last.text and TITLE in coord.last.text
    h.clock.set(at("20.12.2026 16.05"))
    await h.run_job("calls:tick")
    await coord.press(coord.t("btn.call.view"))
    await coord.press(coord.t("btn.call.confirm"))
    assert coord.last.text == coord.t(
        "call.confirm",
        title=TITLE,
        names=coord.t("common.none"),
        chosen=0,
        seats=1,
        thanked=2,
    )
    await coord.press(coord.t("btn.call.send"))
    await h.core.outbox.flush()
    assert aino.last.text == aino.t("call.thanks", title=TITLE)
    assert bertta.last.text == bertta.t("call.thanks", title=TITLE)


async def test_interest_is_in_mydata_and_goes_with_forget(h: Harness) -> None:
    aino = await flows.register_expert(h, 301, "Aino", gig_types=("workgroup",))
    coord = flows.coordinator(h)
    await flows.make_call(coord)
    await aino.press(aino.t("btn.call.interested"))
    await aino.send("Aino haluaa mukaan")
    await aino.send("/mydata")
    data = json.loads(aino.last_file.document[1])  # type: ignore[index]
    [row] = data["calls_for_interest"]
    assert (row["role"], row["answer"], row["message"]) == (
        TITLE,
        "interested",
        "Aino haluaa mukaan",
    )
    await aino.send("/forget")
    await aino.press(aino.t("btn.forget_yes"))
    async with h.core.db.unit_of_work() as s:
        assert await s.scalar(select(func.count()).select_from(CallAnswer)) == 0
    await coord.send("/calls")
    await coord.press(coord.t("btn.call.close"))
    assert "Aino" not in coord.last.text
    assert coord.t("call.nobody_interested") in coord.last.text


async def test_a_long_list_of_the_interested_is_split_under_telegrams_limit(h: Harness) -> None:
    """Sixty interested, each with a long line: the view goes out in parts under 4,096
    characters (the fake Bot API refuses longer), the pick buttons with the last part."""
    coord = flows.coordinator(h)
    await coord.send("/help")  # the coordinator exists
    now = h.clock.now()
    line = "Minulla on pitkä kokemus kehittämistyöstä ja haluaisin tuoda sen ryhmään. " * 4
    creator = await h.user_id(flows.COORD)
    async with h.core.db.unit_of_work() as s:
        call = Call(
            created_by=creator,
            status=CallStatus.CLOSED,
            title=TITLE,
            involves="Kehittämistä",
            commitment="Kerran kuussa",
            fee_cents=None,
            seats=3,
            deadline=now,
            gig_type="workgroup",
            created_at=now,
        )
        s.add(call)
        for i in range(60):
            user = User(telegram_id=50_000 + i, role=Role.EXPERT, created_at=now)
            s.add(user)
            await s.flush()
            s.add(
                ExpertProfile(
                    user_id=user.id,
                    display_name=f"Asiantuntija {i:02d}",
                    consent_at=now,
                    updated_at=now,
                    status=ExpertStatus.APPROVED,
                )
            )
            await s.flush()
            s.add(
                CallAnswer(
                    call_id=call.id,
                    expert_id=user.id,
                    status=CallAnswerStatus.INTERESTED,
                    message=line[:300],
                    created_at=now,
                )
            )
    before = len(coord.inbox)
    await coord.send("/calls")
    await coord.press(f"#1 {TITLE}")
    parts = coord.inbox[before + 1 :]
    assert len(parts) >= 5 and all(len(m.text) <= 4096 for m in parts)
    joined = "\n".join(m.text for m in parts)
    assert all(f"Asiantuntija {i:02d}" in joined for i in range(60))
    assert len(parts[-1].flat_buttons) == 60 + 2 and not parts[0].flat_buttons
