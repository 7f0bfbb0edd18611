"""The order form as a busy nurse meets it: mistakes are explained, nothing typed is lost."""

from __future__ import annotations

from sqlalchemy import func, select

from storage.models import Draft, Gig
from tests import flows
from tests.harness import Harness, Person


async def start_until_date(nurse: Person) -> None:
    await nurse.send("/neworder")
    await nurse.send("Jyväskylän lyseo")
    await nurse.press(nurse.t("gig_type.school"))
    await nurse.press(nurse.t("topic.substance_use"))
    await nurse.press(nurse.t("btn.done"))
    assert nurse.last.text == nurse.t("form.order.starts_at")


async def test_wrong_dates_are_explained_and_the_question_repeats(h: Harness) -> None:
    nurse = await flows.register_orderer(h, 201)
    await start_until_date(nurse)
    cases = {
        "31.2.2027 klo 10.00": nurse.t("err.date_invalid", date="31.2."),
        "1.1.2020 klo 10.00": nurse.t("err.datetime_past"),
        "huomenna": nurse.t("err.datetime_format"),
        "5.12.2026": nurse.t("err.datetime_no_time"),
        "5.12.2026 klo 25.00": nurse.t("err.time_invalid"),
    }
    for typed, explanation in cases.items():
        replies = await nurse.send(typed)
        assert [m.text for m in replies] == [explanation, nurse.t("form.order.starts_at")], typed
    await nurse.send("5.12.2026 klo 9.15")
    assert nurse.last.text == nurse.t("form.order.duration")


async def test_text_where_a_number_belongs_and_overlong_text(h: Harness) -> None:
    nurse = await flows.register_orderer(h, 201)
    await nurse.send("/neworder")
    replies = await nurse.send("x" * 5000)
    assert replies[0].text == nurse.t("err.too_long", max=200, length=5000)
    assert replies[1].text == nurse.t("form.order.organisation")
    await nurse.send("Jyväskylän lyseo")
    await nurse.press(nurse.t("gig_type.school"))
    # Done without picking anything: a toast, and the question stays.
    await nurse.press(nurse.t("btn.done"))
    assert nurse.last_toast() == nurse.t("err.pick_one")
    await nurse.press(nurse.t("topic.substance_use"))
    await nurse.press(nurse.t("btn.done"))
    await nurse.send("5.12.2026 klo 9.15")
    await nurse.send("2")
    await nurse.press(nurse.t("format.remote"))
    assert nurse.last.text == nurse.t("form.order.place_remote")
    await nurse.send("Linkki tulee sähköpostilla")
    await nurse.press(nurse.t("region.keski_suomi"))
    await nurse.press(nurse.t("audience.small_group"))
    replies = await nurse.send("kolmekymmentä")
    assert replies[0].text == nurse.t("err.not_a_number", low=1, high=10000)
    await nurse.send("30")
    replies = await nurse.send("12")
    assert replies[0].text == nurse.t("err.number_range", low=1, high=10)
    await nurse.press("2")
    await nurse.press(nurse.t("language_name.fi"))
    replies = await nurse.send("paljon")
    assert replies[0].text == nurse.t("err.not_money")
    await nurse.press(nurse.t("btn.unpaid"))
    await nurse.send("Opo Olli, olli@example.fi")
    await nurse.press(nurse.t("btn.skip"))
    assert nurse.last.text == nurse.t("form.order.order_ref")
    replies = await nurse.send("– – –")
    assert replies[0].text == nurse.t("err.name_letters")
    await nurse.send("Tilaus 2026/118")
    await nurse.press(nurse.t("btn.done"))  # no especially heavy themes
    summary = nurse.last.text
    # Every earlier answer survived the mistakes.
    for expected in (
        "Jyväskylän lyseo",
        "5.12.2026 klo 09.15",
        "2 h",
        "Linkki tulee sähköpostilla",
        "30",
        nurse.t("common.unpaid"),
        "Opo Olli",
        f"{nurse.t('label.order_ref')}: Tilaus 2026/118",
    ):
        assert expected in summary, expected


async def test_edit_from_the_summary_changes_one_answer(h: Harness) -> None:
    nurse = await flows.register_orderer(h, 201)
    await flows.fill_order(nurse)
    await nurse.press(nurse.t("btn.edit"))
    await nurse.press(nurse.t("label.seats"))
    assert nurse.last.text == nurse.t("form.order.seats")
    await nurse.press("3")
    summary = nurse.last.text
    assert f"{nurse.t('label.seats')}: 3" in summary
    assert "Keskussairaala, Hoitajantie 3" in summary  # the rest is as it was
    await nurse.press(nurse.t("btn.send"))
    async with h.core.db.unit_of_work() as s:
        gig = await s.scalar(select(Gig))
        assert gig is not None and gig.seats == 3 and gig.fee_cents == 15000


async def test_cancel_leaves_and_sends_nothing(h: Harness) -> None:
    nurse = await flows.register_orderer(h, 201)
    await nurse.send("/neworder")
    await nurse.send("Jyväskylän lyseo")
    await nurse.send("/cancel")
    assert nurse.last.text == nurse.t("common.cancelled")
    await nurse.send("/cancel")
    assert nurse.last.text == nurse.t("common.nothing_to_cancel")
    async with h.core.db.unit_of_work() as s:
        assert await s.scalar(select(func.count()).select_from(Gig)) == 0
    coord = flows.coordinator(h)
    assert not any("Jyväskylän lyseo" in t for t in coord.texts())


async def test_a_half_filled_order_waits_for_its_author(h: Harness) -> None:
    nurse = await flows.register_orderer(h, 201)
    await nurse.send("/neworder")
    await nurse.send("Jyväskylän lyseo")
    await nurse.press(nurse.t("gig_type.school"))
    # The nurse is interrupted, comes back later and opens the menu again.
    replies = await nurse.send(nurse.t("menu.new_order"))
    assert [m.text for m in replies] == [
        nurse.t("form.resumed"),
        nurse.t("form.order.topics") + "\n\n" + nurse.t("form.multi_hint"),
    ]


async def test_old_buttons_do_not_change_answers(h: Harness) -> None:
    nurse = await flows.register_orderer(h, 201)
    await nurse.send("/neworder")
    await nurse.send("Jyväskylän lyseo")
    question = nurse.last
    await nurse.press(nurse.t("gig_type.school"), question)
    # A second tap on the same (now answered) question, e.g. from another device.
    await nurse.press_data("f:c:gig_type:0", question)
    assert nurse.last_toast() == nurse.t("err.stale")
    assert nurse.last.text.startswith(nurse.t("form.order.topics"))


async def test_a_form_is_only_finished_by_the_role_it_is_for(h: Harness) -> None:
    """The role is checked on every answer, not only when the form starts: someone who
    became a coordinator midway cannot send an order with the orderer's form."""
    nurse = await flows.register_orderer(h, 201)
    await nurse.send("/neworder")
    await nurse.send("Jyväskylän lyseo")
    question = nurse.last
    assert question.text == nurse.t("form.order.gig_type")
    h.core.settings.coordinator_ids.append(201)
    await nurse.press(nurse.t("gig_type.school"), question)
    assert nurse.last_toast() == nurse.t("form.expired")
    await nurse.send("Jyväskylän lyseo")
    assert nurse.last.text == nurse.t("common.unknown_text")
    async with h.core.db.unit_of_work() as s:
        assert await s.scalar(select(func.count()).select_from(Draft)) == 0
        assert await s.scalar(select(func.count()).select_from(Gig)) == 0
