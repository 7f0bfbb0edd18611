"""Promise tests for erasure, consent and access to one's own data: each does the thing through
the real Application, then searches every table and the production log for what must not be
there (tests/evidence.py)."""

from __future__ import annotations

import json
import logging
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import ForeignKey, func, or_, select

from bot.i18n import fmt_day
from storage.models import (
    Base,
    CheckIn,
    CheckInStatus,
    Fee,
    Gig,
    GigStatus,
    Invite,
    Offer,
    OfferStatus,
    PrepAnswer,
    User,
)
from storage.repo import InboxRepo
from tests import flows
from tests.evidence import everything, occurrences, production_log
from tests.harness import Harness, Person, at
from tests.receipts import send_receipt

TID = 3017755  # the person's Telegram id: unique enough to search for
NAME = "Ainomaija"
OWN_TOPIC = "gambling"  # in her profile only; the gigs are about mental health
AWAY_NOTE = "mökkiviikonloppu"  # her own words on a period away


def assert_gone(dump: str, log: str, *needles: str) -> None:
    for needle in needles:
        assert occurrences(dump, needle) == [], (needle, occurrences(dump, needle))
        assert occurrences(log, needle) == [], (needle, occurrences(log, needle))


async def until(h: Harness, moment: str) -> None:
    """Move the clock to a Helsinki time and let the jobs run as they would have."""
    h.clock.set(at(moment) - timedelta(minutes=1))
    await h.advance(timedelta(minutes=1))


# ----- 7. a refused consent ------------------------------------------------------------------


@pytest.mark.parametrize("lang", ["fi", "en"])
async def test_a_refused_consent_keeps_nothing_identifying(h: Harness, lang: str) -> None:
    h.coord_lang = lang
    code = await flows.invite_link(h, "expert")
    p = h.person(TID, NAME, lang)
    with production_log(logging.INFO) as log:
        await p.send(f"/start {code}")
        await p.press(p.t("btn.consent_no"))
    async with h.core.db.unit_of_work() as s:
        invite = await s.get(Invite, code)
        assert invite is not None and invite.used_by is None
        until_day = invite.expires_at.astimezone(h.core.settings.tz).date()
    assert p.last.text == p.t("expert.consent_declined_link", until=fmt_day(until_day))
    assert_gone(await everything(h), log.getvalue(), str(TID), NAME)
    # The text's way back works: the same link, and this time a yes.
    await p.send(f"/start {code}")
    await p.press(p.t("btn.consent_yes"))
    async with h.core.db.unit_of_work() as s:
        assert await s.scalar(select(func.count()).where(User.telegram_id == TID)) == 1


async def test_a_refusal_after_the_invite_expired_says_to_ask_for_a_new_one(h: Harness) -> None:
    code = await flows.invite_link(h, "expert")
    p = h.person(TID, NAME)
    await p.send(f"/start {code}")
    h.clock.set(h.clock.now() + timedelta(days=h.core.settings.invite_valid_days, minutes=1))
    await p.press(p.t("btn.consent_no"))
    assert p.last.text == p.t("expert.consent_declined")
    assert_gone(await everything(h), "", str(TID), NAME)


# ----- 6. /forget leaves nothing ---------------------------------------------------------------


async def _aino_with_history(h: Harness, lang: str) -> tuple[Person, Person, Person]:
    """Aino did an unpaid gig (#1) and had a hard time after it (a support request naming her,
    with her Telegram link); she is confirmed on a paid future gig (#2), which Bertta was offered
    too; she answered a call for interest with a line naming herself."""
    nurse = await flows.register_orderer(h, 201, lang=lang)
    aino = await flows.register_expert(h, TID, NAME, lang=lang, topics=("mental_health", OWN_TOPIC))
    bertta = await flows.register_expert(h, 302, "Bertta", lang=lang)
    await flows.order_and_approve(h, nurse, seats="1", fee=None)
    await aino.press(aino.t("btn.accept"))
    await flows.order_and_approve(h, nurse, seats="1", starts_at="14.1.2027 klo 10.00")
    await aino.press(aino.t("btn.accept"))
    # In gig #2's relay she asks the orderer something, and the orderer answers by her name.
    await aino.send("/mygigs")
    await aino.press(aino.t("btn.relay.to_orderer", id=2))
    await aino.send("Onko sali meluisa? Tulen junalla.")
    await nurse.press(nurse.t("btn.relay.reply"))
    await nurse.send(f"Hei {NAME}, ovi B on lähimpänä asemaa.")
    # The orderer proposes a preparation call for #2; the time suits her.
    await nurse.send("/myorders")
    await nurse.press(nurse.t("btn.relay.prep_propose", id=2))
    await nurse.send("Teams")
    await nurse.send("12.1.2027 klo 10.00")
    await aino.press(aino.t("btn.relay.prep_yes"))
    await until(h, "10.12.2026 16.30")
    await aino.press("4", aino.last)  # the debrief: it went fine, but she wants to talk
    await aino.press("3")
    await aino.press(aino.t("btn.skip"))
    await aino.send(f"{NAME} tässä: sali oli meluisa ja minua jännitti kovasti.")
    await aino.press(aino.t("btn.debrief_coordinator"))
    await _aino_says_when_and_what(h, nurse, aino)

    # She is interested in a call for a long-term role, with a line that names her.
    await flows.make_call(flows.coordinator(h), gig_type="talk", deadline="31.12.2026 klo 12.00")
    await aino.press(aino.t("btn.call.interested"))
    await aino.send(f"{NAME} tässä: ryhmä kiinnostaa.")
    assert aino.last.text.startswith(aino.t("call.note_saved", when="")[:20])
    # And she signed up for group supervision.
    await flows.announce_session(flows.coordinator(h), starts_at="20.12.2026 klo 17.00")
    await aino.press(aino.t("btn.session.sign_up"))

    # She subscribed to her gigs in her calendar (the bot's HTTP side has a public address).
    h.core.settings.public_url = "https://bot.example.fi"
    await aino.send("/calendar")
    return nurse, aino, bertta


async def _aino_says_when_and_what(h: Harness, nurse: Person, aino: Person) -> None:
    """A period away with her own note, and interest in an open gig offered in stages (#3,
    asked of Bertta first, who has had fewer gigs)."""
    await aino.send("/availability")
    await aino.press(aino.t("btn.avail.add"))
    await aino.send("20.12.–22.12.")
    await aino.press(aino.t("avail_kind.away"))
    await aino.send(AWAY_NOTE)
    await flows.fill_order(nurse, seats="1", starts_at="1.2.2027 klo 10.00")
    await nurse.press(nurse.t("btn.send"))
    coord = flows.coordinator(h)
    await coord.press(coord.t("btn.ranking"))
    await coord.press(coord.t("mode_btn.cascade", k=1, hours=72))
    await aino.send("/opengigs")
    await aino.press(aino.t("btn.avail.interested", id=3))
    assert aino.last_toast() == aino.t("opengigs.noted")


@pytest.mark.parametrize("lang", ["fi", "en"])
async def test_forget_leaves_nothing_and_hands_future_gigs_back(h: Harness, lang: str) -> None:
    h.coord_lang = lang
    _nurse, aino, bertta = await _aino_with_history(h, lang)
    coord = flows.coordinator(h)
    # The request for a talk names her, with a link to her Telegram.
    assert any(f"tg://user?id={TID}" in m.links().values() for m in coord.inbox)
    # A coordinator's press on her registration, stored and not yet handled: it carries her
    # profile in the message it was pressed under.
    tag = f"{NAME} (#{await h.user_id(TID)})"
    registration = next(m for m in coord.inbox if m.text.startswith("✅") and tag in m.text)
    async with h.core.db.unit_of_work() as s:
        await InboxRepo(s).store(
            [
                (
                    9_000_001,
                    {
                        "update_id": 9_000_001,
                        "callback_query": {
                            "id": "1",
                            "from": coord.user,
                            "chat_instance": "ci",
                            "data": "xr:y:1",
                            "message": registration.as_api(),
                        },
                    },
                )
            ]
        )
    async with h.core.db.unit_of_work() as s:
        assert await s.scalar(select(func.count()).select_from(Fee).where(Fee.gig_id == 2)) == 1

    with production_log(logging.INFO) as log:
        await aino.send("/forget")
        confirm = aino.last
        assert confirm.text == aino.t("data.forget_confirm")  # nothing owed: no fee paragraph
        assert [b.text for b in confirm.flat_buttons] == [
            aino.t("btn.forget_yes"),
            aino.t("btn.forget_pause"),
            aino.t("btn.forget_no"),
        ]
        await aino.press(aino.t("btn.forget_yes"))
    assert aino.last.text == aino.t("data.forgotten", count=1)

    # What the text promises: gone from every table and from the log.
    assert_gone(
        await everything(h), log.getvalue(), str(TID), NAME, OWN_TOPIC, "meluisa", AWAY_NOTE
    )
    # The alerts that named her now say she is gone, in the coordinators' chats too.
    assert not any(f"tg://user?id={TID}" in m.links().values() for m in coord.inbox)
    assert registration.text == coord.t("alerts.erased")
    # Her relay message is gone from the orderer's chat; the answer no longer names her.
    assert any(m.text == _nurse.t("relay.erased") for m in _nurse.inbox)
    await coord.send("/gig 2")
    await coord.press(coord.t("btn.relay.read", count=1))
    assert "ovi B" in coord.last.text and NAME not in coord.last.text
    async with h.core.db.unit_of_work() as s:  # her answer to the preparation call went too
        assert await s.scalar(select(func.count()).select_from(PrepAnswer)) == 0
    assert coord.texts().count(coord.t("alerts.erased")) >= 2  # + the request for a talk
    # The gig handed back: no fee left to chase, check-ins retired, seat offered on, and the
    # entry withdrawn from her calendar.
    async with h.core.db.unit_of_work() as s:
        gig = await s.get(Gig, 2)
        assert gig is not None and gig.status == GigStatus.OPEN and gig.seats_filled == 0
        assert await s.scalar(select(func.count()).select_from(Fee).where(Fee.gig_id == 2)) == 0
        states = set((await s.scalars(select(CheckIn.status).where(CheckIn.gig_id == 2))).all())
        assert states == {CheckInStatus.CANCELLED}
    await coord.send("/fees")
    assert coord.last.text == coord.t("fees.none_unpaid")
    assert flows.offered(bertta) and (await _offer(h, 2, 302)).status == OfferStatus.OPEN
    name, content = aino.last_file.document  # type: ignore[misc]
    ics = content.decode()
    assert (
        name == aino.t("file.ics", id=2)
        and "METHOD:CANCEL" in ics
        and "UID:gig-2@kokemusvalitys" in ics
    )
    assert "SEQUENCE:1" in ics  # above the confirmation's 0


@pytest.mark.parametrize("lang", ["fi", "en"])
async def test_a_break_is_offered_beside_the_erasure(h: Harness, lang: str) -> None:
    aino = await flows.register_expert(h, TID, NAME, lang=lang)
    await aino.send("/forget")
    await aino.press(aino.t("btn.forget_pause"))
    await aino.send("31.1.2027")
    assert aino.last.text == aino.t("limits.paused", date="31.1.2027")
    async with h.core.db.unit_of_work() as s:
        user = await s.scalar(select(User).where(User.telegram_id == TID))
        assert user is not None and user.active  # nothing was erased


async def _offer(h: Harness, gig_id: int, telegram_id: int) -> Offer:
    uid = await h.user_id(telegram_id)
    async with h.core.db.unit_of_work() as s:
        offer = await s.scalar(select(Offer).where(Offer.gig_id == gig_id, Offer.expert_id == uid))
        assert offer is not None
        return offer


@pytest.mark.parametrize("lang", ["fi", "en"])
async def test_forget_with_fees_owed_keeps_only_what_paying_needs(h: Harness, lang: str) -> None:
    h.coord_lang = lang
    nurse = await flows.register_orderer(h, 201, lang=lang)
    aino = await flows.register_expert(h, TID, NAME, lang=lang, topics=("mental_health", OWN_TOPIC))
    await flows.order_and_approve(h, nurse, seats="1")
    await aino.press(aino.t("btn.accept"))
    await until(h, "12.12.2026 10.00")  # the gig is held; its 150 € is not paid yet
    with production_log(logging.INFO) as log:
        await aino.send("/forget")
        assert aino.last.text == aino.t("data.forget_confirm") + "\n\n" + aino.t(
            "data.forget_owed", count=1, amount="150 €"
        )
        await aino.press(aino.t("btn.forget_yes"))
    assert aino.last.text == aino.t("data.forgotten_owed", count=0, owed=1, amount="150 €")
    dump = await everything(h)
    assert_gone(dump, log.getvalue(), str(TID), OWN_TOPIC)
    # The chosen name stays, only beside the fee, so the coordinator knows whom to pay.
    assert [line.split(":")[0] for line in occurrences(dump, NAME)] == ["expert_profiles"]
    coord = flows.coordinator(h)
    await coord.send("/fees")
    assert NAME in coord.last.text
    await coord.press(coord.t("btn.fee_paid"))
    # The last payment completes the erasure.
    assert_gone(await everything(h), "", NAME)


# ----- 6 and 13: one way to release a seat ------------------------------------------------


@pytest.mark.parametrize("way", ["step_back", "replace", "forget", "undo", "still_coming"])
async def test_every_way_of_giving_a_seat_back_does_the_same(h: Harness, way: str) -> None:
    nurse = await flows.register_orderer(h, 201)
    aino = await flows.register_expert(h, 301, "Aino")
    bertta = await flows.register_expert(h, 302, "Bertta")
    await flows.order_and_approve(h, nurse, seats="1")
    await aino.press(aino.t("btn.accept"))
    assert not flows.offered(bertta) or (await _offer(h, 1, 302)).status == OfferStatus.CLOSED
    coord = flows.coordinator(h)
    if way == "step_back":
        await aino.send("/mygigs")
        await aino.press(aino.t("btn.step_back", id=1))
        await aino.press(aino.t("btn.step_back_yes"))
    elif way == "replace":
        await coord.send("/gig 1")
        await coord.press(coord.t("btn.replace", name="Aino"))
    elif way == "undo":
        await aino.press(aino.t("btn.lifecycle.undo", minutes=2))
    elif way == "still_coming":
        await h.advance(at("9.12.2026 13.01") - h.clock.now())
        await aino.press(aino.t("btn.lifecycle.coming_no"))
    else:
        await aino.send("/forget")
        await aino.press(aino.t("btn.forget_yes"))
    ics = aino.last_file.document[1].decode()  # type: ignore[index]
    assert "METHOD:CANCEL" in ics and "UID:gig-1@kokemusvalitys" in ics and "SEQUENCE:1" in ics
    async with h.core.db.unit_of_work() as s:
        gig = await s.get(Gig, 1)
        assert gig is not None and gig.status == GigStatus.OPEN and gig.seats_filled == 0
        assert await s.scalar(select(func.count()).select_from(Fee)) == 0
        states = set((await s.scalars(select(CheckIn.status).where(CheckIn.gig_id == 1))).all())
        if way == "still_coming":  # asked a day before: the earlier ones were sent
            assert CheckInStatus.SCHEDULED not in states and CheckInStatus.CANCELLED in states
        else:
            assert states == {CheckInStatus.CANCELLED}
    assert (await _offer(h, 1, 302)).status == OfferStatus.OPEN  # offered on at once
    await coord.send("/fees")
    assert coord.last.text == coord.t("fees.none_unpaid")


# ----- 8. /mydata is everything --------------------------------------------------------------

# Where each table that points at a person appears in the export. A new table with a foreign key
# to users fails the test below until it is exported (or consciously listed as not about them).
EXPORTED_AS: dict[str, str | None] = {
    "expert_profiles": "profile",
    "invites": "invite",
    "offers": "offers",
    "checkins": "checkins",
    "fees": "fees",
    "expense_claims": "expense_claims",
    "audit_log": "audit_log",
    "alerts": "alerts_to_coordinators",
    "availability_blocks": "availability_periods",
    "interests": "interest_in_open_gigs",
    "call_answers": "calls_for_interest",
    "session_seats": "support_sessions",
    "calendar_feeds": "calendar_feed",
    "relay_messages": "relay_messages",
    "prep_answers": "prep_answers",
    "expert_rotation": "rotation",
    # Rows that point at a user as the orderer or the deciding coordinator: an expert has none.
    "gigs": None,
    "orderer_feedback": None,
    "calls": None,  # made by a coordinator
    "support_sessions": None,  # announced by a coordinator
    "gig_series": None,  # the orderer of a series
}


def _user_columns() -> dict[str, list[str]]:
    """Every table and its columns with a foreign key to users.id, from the models."""
    found: dict[str, list[str]] = {}
    for table in Base.metadata.sorted_tables:
        for column in table.columns:
            fks: set[ForeignKey] = set(column.foreign_keys)
            if any(fk.target_fullname == "users.id" for fk in fks):
                found.setdefault(table.name, []).append(column.name)
    return found


@pytest.mark.parametrize("lang", ["fi", "en"])
async def test_mydata_holds_every_row_that_points_at_the_person(h: Harness, lang: str) -> None:
    h.coord_lang = lang
    _nurse, aino, _bertta = await _aino_with_history(h, lang)
    coord = flows.coordinator(h)
    uid = await h.user_id(TID)
    await coord.send("/fees")  # nothing owed for gig 1 (unpaid); gig 2 is ahead
    await coord.send(f"/expert {uid}")
    await coord.press(coord.t("btn.deactivate"))
    await coord.press(coord.t("btn.reactivate"))
    await aino.send("/myfees")  # her train ticket to the unpaid gig, with its receipt
    await aino.press(aino.t("btn.money.claim", id=1))
    await aino.press(aino.t("claim_kind.ticket"))
    await aino.send("18,90")
    await send_receipt(h, aino)
    await aino.send("/mydata")
    data = json.loads(aino.last_file.document[1])  # type: ignore[index]
    tables = _user_columns()
    assert set(tables) <= set(EXPORTED_AS), set(tables) - set(EXPORTED_AS)
    async with h.core.db.unit_of_work() as s:
        for table_name, columns in tables.items():
            table = Base.metadata.tables[table_name]
            rows = (
                await s.execute(select(table).where(or_(*(table.c[c] == uid for c in columns))))
            ).all()
            section = EXPORTED_AS[table_name]
            if section is None:
                assert rows == [], table_name
                continue
            exported: Any = data[section]
            assert rows, f"the journey should leave {table_name} rows about the person"
            if isinstance(exported, dict):
                assert len(rows) == 1, table_name
                continue
            ids = {e["id"] for e in exported}
            assert {r.id for r in rows} <= ids, (table_name, {r.id for r in rows} - ids)
    actions = {a["action"] for a in data["audit_log"]}
    assert {"approve_expert", "edit_active", "data_export"} <= actions
    offer = data["offers"][0]
    assert offer["rank"] >= 1 and offer["eligible_at_the_time"] >= 1 and offer["expires_at"]
    assert any(c["sent_at"] and c["answered_at"] for c in data["checkins"])
    assert data["invite"]["used_at"] is not None
    (claim,) = data["expense_claims"]
    assert (claim["amount_cents"], claim["status"]) == (1890, "pending")
    assert claim["receipt"]["file_id"].startswith("AgAC-receipt-")
    assert any(f"tg://user?id={TID}" in a["text"] for a in data["alerts_to_coordinators"])


# ----- 9. every coordinator action has its actor ---------------------------------------------


async def test_every_coordinator_action_is_audited_with_its_actor(h: Harness) -> None:
    nurse = await flows.register_orderer(h, 201)
    e1, e2, e3 = [await flows.register_expert(h, 301 + i, f"E{i + 1}") for i in range(3)]
    coord = flows.coordinator(h)
    await coord.send(f"/expert {await h.user_id(301)}")
    await coord.press(coord.t("btn.toggle_youth"))
    # A hand-pick that skips higher-ranked experts, with the reason asked for.
    await flows.fill_order(nurse, seats="1")
    await nurse.press(nurse.t("btn.send"))
    await coord.press(coord.t("btn.ranking"))
    await coord.press(coord.t("mode_btn.handpick"))
    await coord.press("3. E3", coord.last)
    await coord.press(coord.t("btn.send_picked"))
    await coord.send("Toivottu puhuja: on aiemmin käynyt tällä osastolla.")
    await e3.press(e3.t("btn.accept"))
    # A young expert's companion, by the alert's button and by command.
    await flows.order_and_approve(h, nurse, seats="1", starts_at="17.12.2026 klo 10.00")
    await e1.press(e1.t("btn.accept"))
    await coord.press(coord.t("btn.name_companion"))
    await coord.send("Sari Saattaja")
    await coord.send("/companion 2 Sari Saattaja-Virtanen")
    await coord.send("/gig 2")
    await coord.press(coord.t("btn.replace", name="E1"))
    await e2.press(e2.t("btn.accept"))
    await coord.send("/fees")
    await coord.press(coord.t("btn.fee_sent"))
    async with h.core.db.unit_of_work() as s:
        from storage.models import AuditLog

        rows = (await s.scalars(select(AuditLog))).all()
    actions = {r.action for r in rows}
    assert {"override", "companion", "replace", "approve", "edit_youth"} <= actions, actions
    assert [(r.action, r.details) for r in rows if r.actor_id is None] == []
    await coord.send("/audit gig 1")
    lines = [line for line in coord.last.text.splitlines() if " · " in line]
    assert lines and all(line.split(" · ")[1] == "Kaisa Koordinaattori" for line in lines)
