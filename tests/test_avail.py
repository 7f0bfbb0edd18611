"""Issue 16, items 1, 2 and 7, as dialogues: an expert's weekly pattern and dated periods
(/availability) keep offers away and the coordinator sees why; "I'm interested" in an open gig
(/opengigs) breaks ties in the rotation and never more; a cascade's waves follow how far ahead
the gig is, and the coordinator's status message says so."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest

from tests import flows
from tests.flows import offered
from tests.harness import Harness, Person
from tests.test_dispatch import give_history, last_gig_id


def thu_afternoon(p: Person) -> str:
    """The button label of Thursday afternoon (10.12.2026 13.00, the flows' gig, is one)."""
    return f"{p.t('avail.day_3')} {p.t('avail.slot_afternoon')}"


async def ranking_view(coord: Person, gig_id: int | None = None) -> str:
    """The ranking, from the new order's alert or (once offering has begun) the gig card."""
    if gig_id is not None:
        await coord.send(f"/gig {gig_id}")
    await coord.press(coord.t("btn.ranking"))
    return coord.last.text


@pytest.mark.parametrize("lang", ["fi", "en"])
async def test_a_weekly_pattern_keeps_the_offer_away_and_the_coordinator_sees_why(
    h: Harness, lang: str
) -> None:
    h.coord_lang = lang
    nurse = await flows.register_orderer(h, 201, lang=lang)
    aino = await flows.register_expert(h, 301, "Aino", lang=lang)
    bertta = await flows.register_expert(h, 302, "Bertta", lang=lang)
    await aino.send("/availability")
    view = aino.last
    assert view.text.startswith(
        aino.t("avail.header", morning="6–12", afternoon="12–17", evening="17–22")
    )
    assert len(view.flat_buttons) == 7 * 3 + 1  # the week, and "add a period"
    before = len(aino.inbox)
    await aino.press(f"{thu_afternoon(aino)} ✅")
    # The same message edits itself: Thursday afternoon is now "doesn't suit".
    assert len(aino.inbox) == before
    assert f"{thu_afternoon(aino)} ➖" in [b.text for b in view.flat_buttons]
    assert f"{thu_afternoon(aino)} ✅" not in [b.text for b in view.flat_buttons]

    await flows.fill_order(nurse)  # Thursday 10.12.2026 at 13.00
    await nurse.press(nurse.t("btn.send"))
    coord = flows.coordinator(h)
    listing = await ranking_view(coord)
    assert "1. Bertta" in listing and "Aino –" not in listing
    assert coord.t("ranking_avail.unavailable", names="Aino") in listing
    await coord.press(coord.t("mode_btn.broadcast"))
    assert offered(bertta) and not offered(aino)

    await coord.send(f"/expert {await h.user_id(301)}")
    assert coord.t("avail.card_not", slots=thu_afternoon(coord)) in coord.last.text
    # Back to "suits": the next gig on a Thursday afternoon comes to her.
    await aino.press(f"{thu_afternoon(aino)} ➖", view)
    await flows.order_and_approve(h, nurse, starts_at="17.12.2026 klo 14.00")
    assert sum(b.text == aino.t("btn.accept") for m in aino.inbox for b in m.flat_buttons) == 1


@pytest.mark.parametrize("lang", ["fi", "en"])
async def test_dated_periods_typed_the_finnish_way_with_bad_dates_answered_kindly(
    h: Harness, lang: str
) -> None:
    h.coord_lang = lang
    nurse = await flows.register_orderer(h, 201, lang=lang)
    aino = await flows.register_expert(h, 301, "Aino", lang=lang)
    bertta = await flows.register_expert(h, 302, "Bertta", lang=lang)
    await aino.send("/availability")
    assert aino.t("avail.no_blocks") in aino.last.text
    await aino.press(aino.t("btn.avail.add"))
    assert aino.last.text == aino.t("form.avail_block.period")
    for typed, error in (
        ("joulun jälkeen", aino.t("err.avail.range_format")),
        ("24.12.–6.13.", aino.t("err.date_invalid", date="6.13.")),
        ("6.1.2027–24.12.2026", aino.t("err.avail.range_backwards")),
        ("1.11.2026–3.11.2026", aino.t("err.date_past")),
    ):
        replies = await aino.send(typed)
        assert error in [m.text for m in replies], typed
    # Nothing was lost: the same question still waits, and a good answer goes on.
    await aino.send("24.12.–6.1.")
    assert aino.last.text == aino.t("form.avail_block.away")
    await aino.press(aino.t("avail_kind.away"))
    note = "joululoma" if lang == "fi" else "holiday"
    await aino.send(note)
    period = "24.12.2026–6.1.2027"
    assert aino.t("avail.added_away", period=period) in aino.texts()
    away_line = aino.t(
        "avail.block_away", period=period, note=aino.t("avail.note_suffix", note=note)
    )
    assert away_line in aino.last.text

    # Bertta is available in December, with a note the coordinator reads (not enforced).
    await bertta.send("/availability")
    await bertta.press(bertta.t("btn.avail.add"))
    await bertta.send("1.12.-31.12.")
    await bertta.press(bertta.t("avail_kind.note"))
    remark = "vain etänä joulukuussa" if lang == "fi" else "remote only in December"
    await bertta.send(remark)
    assert bertta.t("avail.added_note", period="1.12.2026–31.12.2026") in bertta.texts()

    await flows.fill_order(nurse, starts_at="30.12.2026 klo 10.00")
    await nurse.press(nurse.t("btn.send"))
    coord = flows.coordinator(h)
    listing = await ranking_view(coord)
    assert coord.t("ranking_avail.unavailable", names=f"Aino ({note})") in listing
    assert coord.t("ranking_avail.note", name="Bertta", note=remark) in listing
    await coord.press(coord.t("mode_btn.broadcast"))
    assert offered(bertta) and not offered(aino)
    await coord.send(f"/expert {await h.user_id(301)}")
    assert away_line in coord.last.text

    # /mydata has the period; the remove button takes it away.
    await aino.send("/mydata")
    data = json.loads(aino.last_file.document[1])  # type: ignore[index]
    assert [(b["from"], b["to"], b["away"], b["note"]) for b in data["availability_periods"]] == [
        ("2026-12-24", "2027-01-06", True, note)
    ]
    await aino.send("/availability")
    await aino.press(aino.t("btn.avail.remove", period=period))
    assert aino.last_toast() == aino.t("avail.removed")
    assert aino.t("avail.no_blocks") in aino.last.text


@pytest.mark.parametrize("lang", ["fi", "en"])
async def test_interest_breaks_a_tie_but_never_beats_the_rotation(h: Harness, lang: str) -> None:
    h.coord_lang = lang
    nurse = await flows.register_orderer(h, 201, lang=lang)
    e1, e2, e3, e4 = [
        await flows.register_expert(h, 301 + i, f"E{i + 1}", lang=lang) for i in range(4)
    ]
    await give_history(h, e3, 1, "1.11.2026 10.00")  # E3 has had a gig: behind the other three
    await flows.fill_order(nurse, seats="1")  # 17 days ahead: one at a time
    await nurse.press(nurse.t("btn.send"))
    coord = flows.coordinator(h)
    await coord.press(coord.t("btn.ranking"))
    await coord.press(coord.t("mode_btn.cascade", k=1, hours=72))
    assert [offered(p) for p in (e1, e2, e3, e4)] == [True, False, False, False]
    gid = await last_gig_id(h)

    await e2.send("/opengigs")
    stale_list = e2.last
    assert stale_list.text.startswith(e2.t("opengigs.header", count=1, page=1, pages=1))
    await e1.send("/opengigs")
    assert e1.last.text == e1.t("opengigs.none")  # already offered to E1
    for keen in (e4, e3):
        await keen.send("/opengigs")
        await keen.press(keen.t("btn.avail.interested", id=gid))
        assert keen.last_toast() == keen.t("opengigs.noted")
        assert keen.t("btn.avail.withdraw", id=gid) in [b.text for b in keen.last.flat_buttons]
    listing = await ranking_view(coord, gid)
    assert coord.t("ranking_avail.rule") in listing
    # E4 is level with E1 and E2 (no gigs yet) and interested: first among them. E3 is
    # interested too, but behind in the rotation, and stays there.
    assert [line.split(" –")[0] for line in listing.splitlines() if line[:1].isdigit()] == [
        "1. E4",
        "2. E1",
        "3. E2",
        "4. E3",
    ]
    assert "E4 –" in listing and listing.split("1. E4")[1].split("\n")[0].endswith(" 🙋")
    status = next(m for m in coord.inbox if m.text.startswith("📊"))
    assert coord.t("avail_status.interested", count=2) in status.text

    await e1.press(e1.t("btn.decline"))  # the next wave: the interested one of the level
    assert [offered(p) for p in (e2, e3, e4)] == [False, False, True]
    await e4.press(e4.t("btn.decline"))  # then E2, ahead of the interested E3
    assert [offered(p) for p in (e2, e3)] == [True, False]
    # E2's old list: the gig is no longer open for them (it has been offered to them).
    await e2.press(e2.t("btn.avail.interested", id=gid), stale_list)
    assert e2.last_toast() == e2.t("opengigs.gone")
    assert stale_list.text == e2.t("opengigs.none")
    await e2.press(e2.t("btn.accept"))
    # Filled: nothing is open any more, and a withdrawal still works.
    await e3.send("/opengigs")
    assert e3.last.text == e3.t("opengigs.none")


@pytest.mark.parametrize("lang", ["fi", "en"])
@pytest.mark.parametrize(
    ("starts_at", "asked", "band"),
    [
        ("10.12.2026 klo 13.00", 1, "far"),  # 17 days ahead
        ("1.12.2026 klo 13.00", 3, "medium"),  # 8 days ahead
        ("24.11.2026 klo 13.00", 5, "near"),  # 27 hours ahead
    ],
)
async def test_the_waves_follow_the_lead_time(
    h: Harness, lang: str, starts_at: str, asked: int, band: str
) -> None:
    h.coord_lang = lang
    nurse = await flows.register_orderer(h, 201, lang=lang)
    crew = [await flows.register_expert(h, 301 + i, f"E{i + 1}", lang=lang) for i in range(5)]
    await flows.fill_order(nurse, seats="1", starts_at=starts_at)
    await nurse.press(nurse.t("btn.send"))
    coord = flows.coordinator(h)
    await coord.press(coord.t("btn.ranking"))
    s = h.core.settings
    label = {
        "far": coord.t("mode_btn.cascade", k=s.wave_far_size, hours=s.wave_far_hours),
        "medium": coord.t("mode_btn.cascade", k=s.cascade_size, hours=s.cascade_wait_hours),
        "near": coord.t("avail_status.mode_near", near_hours=s.wave_near_hours),
    }[band]
    assert label in [b.text for b in coord.last.flat_buttons]
    await coord.press(label)
    assert sum(offered(p) for p in crew) == asked
    status = next(m for m in coord.inbox if m.text.startswith("📊")).text
    expected = {
        "far": (
            coord.t("avail_status.wave", wave=1, planned=5, hours=72),
            coord.t("avail_status.plan_far", far_days=14, size=1, hours=72),
        ),
        "medium": (
            coord.t("avail_status.wave", wave=1, planned=2, hours=24),
            coord.t("avail_status.plan_medium", size=3, hours=24),
        ),
        "near": (
            coord.t("avail_status.wave_last", wave=1, planned=1),
            coord.t("avail_status.plan_near", near_hours=48),
        ),
    }[band]
    assert f"{expected[0]} · {expected[1]}" in status
    if band == "medium":
        # A "no" brings the next wave at once, and the count goes on.
        await crew[0].press(crew[0].t("btn.decline"))
        status = next(m for m in coord.inbox if m.text.startswith("📊")).text
        assert coord.t("avail_status.wave", wave=2, planned=3, hours=24) in status


@pytest.mark.parametrize("lang", ["fi", "en"])
async def test_a_cascade_asks_everyone_once_the_gig_is_near(h: Harness, lang: str) -> None:
    h.coord_lang = lang
    nurse = await flows.register_orderer(h, 201, lang=lang)
    crew = [await flows.register_expert(h, 301 + i, f"E{i + 1}", lang=lang) for i in range(5)]
    await flows.fill_order(nurse, seats="1", starts_at="26.11.2026 klo 08.00")  # 70 h ahead
    await nurse.press(nurse.t("btn.send"))
    coord = flows.coordinator(h)
    await coord.press(coord.t("btn.ranking"))
    await coord.press(coord.t("mode_btn.cascade", k=3, hours=24))
    assert [offered(p) for p in crew] == [True, True, True, False, False]
    # 47 hours before the start (the first offers still have an hour to run): everyone.
    await h.advance(timedelta(hours=23))
    assert all(offered(p) for p in crew)
    status = next(m for m in coord.inbox if m.text.startswith("📊")).text
    assert f"{coord.t('avail_status.wave_last', wave=2, planned=2)} · " in status
    assert coord.t("avail_status.plan_near", near_hours=48) in status


async def test_a_period_that_has_ended_is_deleted_the_next_day(h: Harness) -> None:
    aino = await flows.register_expert(h, 301, "Aino")
    await aino.send("/availability")
    await aino.press(aino.t("btn.avail.add"))
    await aino.send("24.11.–25.11.")
    await aino.press(aino.t("avail_kind.note"))
    await aino.send("vain etänä")
    await h.run_job("register:daily")
    await aino.send("/mydata")
    assert len(json.loads(aino.last_file.document[1])["availability_periods"]) == 1  # type: ignore[index]
    h.clock.advance(timedelta(days=3))  # 26.11.: the period ended yesterday
    await h.run_job("register:daily")
    await aino.send("/mydata")
    assert json.loads(aino.last_file.document[1])["availability_periods"] == []  # type: ignore[index]
