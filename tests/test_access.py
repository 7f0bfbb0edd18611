"""Who is who: invites, strangers, roles. A button or a command is never proof of access."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, select

from storage.models import Gig, GigStatus, User
from tests import flows
from tests.harness import Harness


async def count_users(h: Harness) -> int:
    async with h.core.db.unit_of_work() as s:
        return int(await s.scalar(select(func.count()).select_from(User)) or 0)


async def test_a_stranger_learns_how_to_get_access_and_nothing_else(h: Harness) -> None:
    stranger = h.person(999, "Outo", "en")
    users_before = await count_users(h)
    for text in (
        "/start",
        "/start notavalidcode123",
        "hello",
        "/pending",
        "/invite expert",
        "/myorders",
        "/mygigs",
    ):
        await stranger.send(text)
    texts = stranger.texts()
    assert set(texts) <= {
        stranger.t("start.stranger"),
        stranger.t("start.invalid_invite"),
        stranger.t("common.not_registered"),
    }
    assert await count_users(h) == users_before


async def test_invite_link_registers_once_and_expires(h: Harness) -> None:
    coord = flows.coordinator(h)
    replies = await coord.send("/invite orderer")
    assert "https://t.me/kokemus_test_bot?start=" in replies[0].text
    code = await flows.invite_link(h, "orderer")
    first = h.person(201, "Eka")
    await first.send(f"/start {code}")
    assert first.last.text == first.t("start.welcome_orderer")
    second = h.person(202, "Toka")
    await second.send(f"/start {code}")
    assert second.last.text == second.t("start.invalid_invite")

    late_code = await flows.invite_link(h, "expert")
    await h.advance(timedelta(days=7, minutes=1))
    late = h.person(203, "Myöhäinen")
    await late.send(f"/start {late_code}")
    assert late.last.text == late.t("start.invalid_invite")
    assert await count_users(h) == 2  # the coordinator and the first orderer


async def test_invite_without_role_offers_buttons(h: Harness) -> None:
    coord = flows.coordinator(h)
    await coord.send("/invite")
    await coord.press(coord.t("invite.role_expert"))
    assert coord.last.text.startswith(
        coord.t("invite.created", role=coord.t("invite.role_expert"), link="", expires="")[:20]
    )


async def test_only_coordinators_use_coordinator_commands(h: Harness) -> None:
    nurse = await flows.register_orderer(h, 201)
    expert = await flows.register_expert(h, 301, "Aino")
    for person in (nurse, expert):
        before = len(person.inbox)
        await person.send("/invite expert")
        await person.send("/pending")
        assert [m.text for m in person.inbox[before:]] == [person.t("common.not_allowed")] * 2


async def test_forged_approve_button_changes_nothing(h: Harness) -> None:
    nurse = await flows.register_orderer(h, 201)
    expert = await flows.register_expert(h, 301, "Aino")
    await flows.fill_order(nurse)
    await nurse.press(nurse.t("btn.send"))
    coord_alert = flows.coordinator(h).last
    for person in (nurse, expert):
        await person.press_data("ap:y:1", coord_alert)
        assert person.last_toast() == person.t("common.not_allowed")
    async with h.core.db.unit_of_work() as s:
        gig = await s.get(Gig, 1)
        assert gig is not None and gig.status == GigStatus.PENDING
    # Another expert's offer id, malformed and oversized data: no state changes, kind replies.
    await flows.coordinator(h).press(flows.coordinator(h).t("btn.approve"))
    other = await flows.register_expert(h, 302, "Bertta", topics=("loss",))
    for data in ("of:a:1", "of:a:999999", "of:a:x", "of:a:" + "9" * 60, "f:s", "garbage"):
        await other.press_data(data, coord_alert)
    async with h.core.db.unit_of_work() as s:
        gig = await s.get(Gig, 1)
        assert gig is not None and gig.seats_filled == 0


async def test_language_follows_the_client_and_can_be_changed(h: Harness) -> None:
    nurse = await flows.register_orderer(h, 201, lang="en")
    assert nurse.last.text == h.t("en", "start.welcome_orderer")
    await nurse.send("/language")
    await nurse.press("Svenska")
    assert nurse.inbox[-2].text == h.t("sv", "language.changed")
    await nurse.send("/help")
    assert nurse.last.text == h.t("sv", "help.orderer")
    assert nurse.last.reply_keyboard == [
        [h.t("sv", "menu.new_order"), h.t("sv", "menu.my_orders")],
        [h.t("sv", "menu.order_again"), h.t("sv", "menu.help")],
    ]
    # The Swedish menu button works like the command.
    await nurse.send(h.t("sv", "menu.new_order"))
    assert nurse.last.text == h.t("sv", "form.order.organisation")


async def test_commands_are_registered_per_role_and_language(h: Harness) -> None:
    cmds = h.tg.commands
    assert [c["command"] for c in cmds["default::"]] == ["start", "help", "language"]
    assert cmds["default::sv"][1]["description"] == h.t("sv", "cmd.help")
    assert "pending" in [c["command"] for c in cmds["chat:100:"]]
    nurse = await flows.register_orderer(h, 201)
    assert [c["command"] for c in cmds[f"chat:{nurse.id}:"]][:2] == ["neworder", "myorders"]
    await flows.register_expert(h, 301, "Aino", lang="en")
    assert cmds["chat:301:"][0] == {"command": "mygigs", "description": h.t("en", "cmd.mygigs")}


async def test_help_explains_each_role(h: Harness) -> None:
    coord = flows.coordinator(h)
    await coord.send("/help")
    assert coord.last.text == coord.t("help.coordinator")
    expert = await flows.register_expert(h, 301, "Aino")
    await expert.send("/help")
    assert expert.last.text == expert.t("help.expert", quiet_start=21, quiet_end=8)
    stranger = h.person(999)
    await stranger.send("/help")
    assert stranger.last.text == stranger.t("help.stranger")


async def test_expert_consent_declined_stores_no_profile(h: Harness) -> None:
    code = await flows.invite_link(h, "expert")
    p = h.person(301, "Aino")
    await p.send(f"/start {code}")
    await p.press(p.t("btn.consent_no"))
    assert p.last.text.startswith(p.t("expert.consent_declined_link", until="")[:40])
    # Nothing is kept, so the bot no longer knows them; the same link brings the notice back.
    await p.send("/profile")
    assert p.last.text == p.t("common.not_registered")
    await p.send(f"/start {code}")
    assert p.last.text == p.t("expert.consent")
    await p.press(p.t("btn.consent_yes"))
    assert p.last.text == p.t("form.expert.display_name")


async def test_expert_edits_profile_later(h: Harness) -> None:
    p = await flows.register_expert(h, 301, "Aino")
    await p.send("/profile")
    await p.press(p.t("btn.edit_profile"))
    await p.press(p.t("btn.edit"))
    await p.press(p.t("label.topics"))
    await p.press(p.t("topic.loss"))
    await p.press(p.t("btn.done"))
    await p.press(p.t("btn.save"))
    assert p.last.text == p.t("expert.profile_saved")
    await p.send("/profile")
    assert f"{p.t('topic.mental_health')}, {p.t('topic.loss')}" in p.last.text
