"""A relay per gig: the orderer and the confirmed experts write to each other through the bot,
seeing only chosen names and roles; coordinators read the thread on the gig card and join; only
participants may write; it closes a week after the gig and is deleted 30 days later."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from bot.callbacks import RelayWrite, pack
from bot.services.relay import OPEN_AFTER_GIG, RETENTION
from storage.models import RelayMessage
from tests import flows
from tests.evidence import everything
from tests.harness import Harness, Person, at

ORG = flows.ORDER["organisation"]


async def confirmed_gig(h: Harness, lang: str) -> tuple[Person, Person, Person]:
    """A gig (#1, 10.12.2026 13.00, 1,5 h) with Aino and Bertta confirmed."""
    h.coord_lang = lang
    nurse = await flows.register_orderer(h, 201, lang=lang)
    aino = await flows.register_expert(h, 301, "Aino", lang=lang)
    bertta = await flows.register_expert(h, 302, "Bertta", lang=lang)
    await flows.order_and_approve(h, nurse, seats="2")
    await aino.press(aino.t("btn.accept"))
    await bertta.press(bertta.t("btn.accept"))
    return nurse, aino, bertta


def relayed(p: Person, name: str, role: str, text: str, title: str) -> str:
    return p.t("relay.message", name=name, role=p.t(f"relay.role_{role}"), title=title, text=text)


async def rows(h: Harness) -> int:
    async with h.core.db.unit_of_work() as s:
        return await s.scalar(select(func.count()).select_from(RelayMessage)) or 0


@pytest.mark.parametrize("lang", ["fi", "en"])
async def test_the_orderer_and_the_experts_talk_through_the_bot(h: Harness, lang: str) -> None:
    nurse, aino, bertta = await confirmed_gig(h, lang)
    title = await h.title(lang, 1)
    await nurse.send("/myorders")
    await nurse.press(nurse.t("btn.relay.to_experts", id=1))
    role = nurse.t("relay.role_orderer")
    assert nurse.last.text == nurse.t("form.relay.message", title=title, name=ORG, role=role)
    await nurse.send("Sisäänkäynti on ovesta B.\nParkki P2-hallissa.")
    assert nurse.last.text == nurse.t("relay.sent", count=2)
    for expert in (aino, bertta):
        text = "Sisäänkäynti on ovesta B.\nParkki P2-hallissa."
        assert expert.last.text == relayed(expert, str(ORG), "orderer", text, title)
        # Only the chosen name and role: no Telegram name, username or id of the orderer.
        assert nurse.name not in expert.last.text and str(nurse.id) not in expert.last.text
    # Aino answers with the button under the message; both others get it.
    await aino.press(aino.t("btn.relay.reply"))
    await aino.send("Kiitos! Tarvitsen videotykin.")
    assert aino.last.text == aino.t("relay.sent", count=2)
    for other in (nurse, bertta):
        assert other.last.text == relayed(
            other, "Aino", "expert", "Kiitos! Tarvitsen videotykin.", title
        )
        assert str(aino.id) not in other.last.text
    # The coordinator reads the thread on the gig card and joins it.
    coord = flows.coordinator(h)
    await coord.send("/gig 1")
    await coord.press(coord.t("btn.relay.read", count=2))
    thread = coord.last.text
    assert thread.index("ovesta B") < thread.index("videotykin")
    assert f"Aino ({coord.t('relay.role_expert')})" in thread
    assert f"{ORG} ({coord.t('relay.role_orderer')})" in thread
    await coord.press(coord.t("btn.relay.join"))
    await coord.send("Tykki on varattu.")
    assert coord.last.text == coord.t("relay.sent", count=3)
    for person in (nurse, aino, bertta):
        assert person.t("relay.role_coordinator") in person.last.text
        assert "Tykki on varattu." in person.last.text


@pytest.mark.parametrize("lang", ["fi", "en"])
async def test_only_participants_may_write_checked_on_every_press_and_text(
    h: Harness, lang: str
) -> None:
    nurse, aino, bertta = await confirmed_gig(h, lang)
    cecilia = await flows.register_expert(h, 303, "Cecilia", lang=lang)
    other = await flows.register_orderer(h, 202, lang=lang)
    forged = pack(RelayWrite(1))
    for outsider in (cecilia, other):
        await outsider.press_data(forged, outsider.inbox[-1])
        assert outsider.last.text == outsider.t("err.gig_not_found")
    # Bertta starts a message, then steps back before sending it: it is not relayed.
    await nurse.send("/myorders")
    await nurse.press(nurse.t("btn.relay.to_experts", id=1))
    await nurse.send("Tervetuloa!")
    await bertta.press(bertta.t("btn.relay.reply"))
    await bertta.send("/mygigs")
    await bertta.press(bertta.t("btn.step_back", id=1))
    await bertta.press(bertta.t("btn.step_back_yes"))
    before = len(nurse.inbox)
    await bertta.send("Pääsenkin sittenkin.")
    assert bertta.last.text == bertta.t("err.gig_not_found")
    await bertta.send("Hei?")
    assert bertta.last.text != bertta.t("err.gig_not_found")
    assert len(nurse.inbox) == before and await rows(h) == 1
    # From now on she gets nothing of the gig's conversation.
    await aino.press(aino.t("btn.relay.reply"))
    seen = len(bertta.inbox)
    await aino.send("Nähdään!")
    assert aino.last.text == aino.t("relay.sent", count=1)
    assert len(bertta.inbox) == seen


@pytest.mark.parametrize("lang", ["fi", "en"])
async def test_the_relay_closes_a_week_after_the_gig_and_is_deleted_later(
    h: Harness, lang: str
) -> None:
    nurse, aino, _bertta = await confirmed_gig(h, lang)
    await nurse.send("/myorders")
    await nurse.press(nurse.t("btn.relay.to_experts", id=1))
    await nurse.send("Kiitos jo etukäteen!")
    ends = at("10.12.2026 14.30")
    h.clock.set(ends + OPEN_AFTER_GIG - timedelta(minutes=1))
    await aino.press(aino.t("btn.relay.reply"))
    h.clock.set(ends + OPEN_AFTER_GIG)
    await aino.send("Kiitos itsellenne!")
    assert aino.last.text == aino.t("relay.closed")
    await aino.send("Hei?")  # the closed question does not catch her next text again
    assert aino.last.text != aino.t("relay.closed")
    await aino.press(aino.t("btn.relay.reply"))
    assert aino.last.text == aino.t("relay.closed")
    assert await rows(h) == 1
    h.clock.set(ends + OPEN_AFTER_GIG + RETENTION - timedelta(hours=1))
    await h.run_job("register:daily")
    assert await rows(h) == 1
    h.clock.set(ends + OPEN_AFTER_GIG + RETENTION)
    await h.run_job("register:daily")
    assert await rows(h) == 0
    assert "Kiitos jo etukäteen" not in await everything(h)
    # The consent says how long: as long as it is open and RETENTION more.
    assert str(RETENTION.days) in aino.t("expert.consent_details")


async def test_a_long_message_is_split_and_nothing_is_lost(h: Harness) -> None:
    nurse, aino, _bertta = await confirmed_gig(h, "fi")
    await nurse.send("/myorders")
    await nurse.press(nurse.t("btn.relay.to_experts", id=1))
    long = "\n".join(f"Rivi {i}: " + "x" * 80 for i in range(45))[:4096]
    before = len(aino.inbox)
    await nurse.send(long)
    parts = aino.inbox[before:]
    assert len(parts) == 2 and all(len(p.text) <= 4096 for p in parts)
    assert "".join(p.text for p in parts).replace("\n", "").count("x") == long.count("x")
    assert parts[-1].flat_buttons[0].text == aino.t("btn.relay.reply")
