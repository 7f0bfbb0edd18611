"""Responsible ordering: the checklist before the first order and on every order summary;
the order goes with every point ticked or with "not yet, let's talk", and the coordinator
sees it on the approval alert."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from storage.models import Gig
from tests import flows
from tests.harness import Harness, Person


async def gigs(h: Harness) -> int:
    async with h.core.db.unit_of_work() as s:
        return await s.scalar(select(func.count()).select_from(Gig)) or 0


def summary(nurse: Person) -> str:
    """The order summary as it reads now (its checklist is ticked in place)."""
    return nurse.find_button(nurse.t("btn.send"))[0].text


def approval(coord: Person) -> str:
    return next(m.text for m in reversed(coord.inbox) if m.text.startswith("📥"))


@pytest.mark.parametrize("lang", ["fi", "en"])
async def test_the_first_order_shows_the_checklist_and_the_order_waits_for_every_tick(
    h: Harness, lang: str
) -> None:
    h.coord_lang = lang
    nurse = await flows.register_orderer(h, 201, lang=lang)
    await flows.fill_order(nurse, tick=False)
    first = [m.text for m in nurse.inbox if nurse.t("relay.check_first") in m.text]
    assert len(first) == 1 and nurse.t("relay.check_diagnoses") in first[0]
    assert nurse.t("relay.check_header") in summary(nurse)
    assert f"⬜ {nurse.t('relay.check_debrief')}" in summary(nurse)
    # Sending with points unticked: a kind word, the order stays, nothing goes out.
    await nurse.press(nurse.t("btn.send"))
    assert nurse.last.text == nurse.t("relay.check_needed")
    assert await gigs(h) == 0
    await flows.tick_checklist(nurse, ("role", "prep", "fee", "diagnoses"))
    await nurse.press(nurse.t("btn.send"))
    assert nurse.last.text == nurse.t("relay.check_needed") and await gigs(h) == 0
    # Ticked by mistake and unticked again still counts as unticked.
    await flows.tick_checklist(nurse, ("debrief",))
    await nurse.press(f"✅ {nurse.t('btn.relay.check_debrief')}")
    assert f"⬜ {nurse.t('relay.check_debrief')}" in summary(nurse)
    await flows.tick_checklist(nurse, ("debrief",))
    assert f"✅ {nurse.t('relay.check_debrief')}" in summary(nurse)
    await nurse.press(nurse.t("btn.send"))
    assert await gigs(h) == 1
    coord = flows.coordinator(h)
    alert = approval(coord)
    for item in flows.CHECKLIST_BUTTONS:
        assert f"✅ {coord.t(f'relay.check_{item}')}" in alert
    assert coord.t("relay.check_talk_chosen") not in alert
    # The second order: no introduction again, the checklist on the summary as always.
    await flows.fill_order(nurse, tick=False)
    assert sum(nurse.t("relay.check_first") in m.text for m in nurse.inbox) == 1
    assert nurse.t("relay.check_header") in summary(nurse)


@pytest.mark.parametrize("lang", ["fi", "en"])
async def test_not_yet_lets_talk_sends_the_order_and_the_coordinator_sees_it(
    h: Harness, lang: str
) -> None:
    h.coord_lang = lang
    nurse = await flows.register_orderer(h, 201, lang=lang)
    await flows.fill_order(nurse, tick=False)
    await flows.tick_checklist(nurse, ("role", "fee"))
    await nurse.press(f"⬜ {nurse.t('btn.relay.check_talk')}")
    await nurse.press(nurse.t("btn.send"))
    assert await gigs(h) == 1
    coord = flows.coordinator(h)
    alert = approval(coord)
    assert coord.t("relay.check_talk_chosen") in alert
    assert f"✅ {coord.t('relay.check_fee')}" in alert
    assert f"⬜ {coord.t('relay.check_prep')}" in alert
    await coord.send("/pending")
    assert coord.t("relay.check_talk_chosen") in coord.last.text


async def test_a_checklist_button_is_no_proof_of_access(h: Harness) -> None:
    nurse = await flows.register_orderer(h, 201)
    await flows.fill_order(nurse, tick=False)
    _, button = nurse.find_button(nurse.t("btn.relay.check_role"))
    aino = await flows.register_expert(h, 301, "Aino")
    await aino.press_data(button.data, aino.inbox[-1])
    assert aino.last_toast() == aino.t("common.not_allowed")
    other = await flows.register_orderer(h, 202)
    await other.press_data(button.data, other.inbox[-1])  # no draft of theirs to tick
    assert other.last_toast() == other.t("err.stale")
    assert f"⬜ {nurse.t('relay.check_role')}" in summary(nurse)
