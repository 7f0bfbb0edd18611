"""Reports a funder and a coordinator can read: people reached first, numbers and money the
reader's way, no internal codes, a workbook whose figures are numbers with formats, files named
in the reader's language, and a chart library that keeps quiet in the bot's log."""

from __future__ import annotations

import csv
import io
import logging
from datetime import timedelta

import pytest
from openpyxl import load_workbook

from bot import logs
from tests import flows
from tests.harness import TOKEN, Harness, Person, at

NBSP = "\u00a0"


async def until(h: Harness, moment: str) -> None:
    h.clock.set(at(moment) - timedelta(minutes=1))
    await h.advance(timedelta(minutes=1))


async def december(h: Harness) -> tuple[Person, Person]:
    """Two gigs held in December: a talk for 60 people (Aino: ready; a heavy debrief) and a
    school lesson for 25 (Bea: no answer to the preparation; asks for a debrief talk)."""
    nurse = await flows.register_orderer(h, 201)
    aino = await flows.register_expert(h, 301, "Aino", gig_types=("talk", "school"))
    bea = await flows.register_expert(h, 302, "Bea", gig_types=("talk", "school"))
    await flows.order_and_approve(h, nurse, starts_at="7.12.2026 klo 10.00", seats="1")
    await aino.press(aino.t("btn.accept"))
    await flows.order_and_approve(
        h,
        nurse,
        starts_at="9.12.2026 klo 10.00",
        seats="1",
        gig_type="school",
        audience_size="25",
    )
    await bea.press(bea.t("btn.accept"))
    await until(h, "5.12.2026 10.01")
    await aino.press(aino.t("btn.prep_ready"))
    await until(h, "7.12.2026 14.00")
    await aino.press("2", aino.find_button(aino.t("btn.debrief_coordinator"))[0])
    await until(h, "9.12.2026 14.00")
    await bea.press(bea.t("btn.debrief_coordinator"))
    h.clock.set(at("20.12.2026 10.00"))
    return aino, bea


@pytest.mark.parametrize("lang", ["fi", "sv", "en"])
async def test_report_reads_the_readers_way(h: Harness, lang: str) -> None:
    h.coord_lang = lang
    await december(h)
    coord = flows.coordinator(h)
    await coord.send("/report 12.2026")
    summary, *files = coord.inbox[-4:]
    t = coord.t
    pct, money = {
        "fi": (f"100{NBSP}%", f"300,00{NBSP}€"),
        "sv": (f"100{NBSP}%", f"300,00{NBSP}€"),
        "en": ("100%", "€300.00"),
    }[lang]
    lines = summary.text.splitlines()
    # People reached come first, as funders ask for them first.
    assert lines[1] == f"{t('report.m_reach')}: 85"
    assert f"{t('report.m_fill_rate')}: {pct}" in lines
    assert f"{t('report.m_fees_unpaid')}: {money}" in lines
    assert f"{t('report.m_expert_hours')}: {'3.0' if lang == 'en' else '3,0'}" in lines

    word = {"fi": "raportti", "sv": "rapport", "en": "report"}[lang]
    assert [f.document[0] for f in files if f.document] == [
        f"{word}-20261201-20261231.{ext}" for ext in ("png", "xlsx", "csv")
    ]
    png, xlsx, csv_data = (f.document[1] for f in files if f.document)
    assert png.startswith(b"\x89PNG")

    # The check-in answers are named, never coded.
    answers = {
        f"{t('checkin_kind.prep')}: {t('report.a_ready')}": 1,
        f"{t('checkin_kind.prep')}: {t('report.a_no_answer')}": 1,
        f"{t('checkin_kind.debrief')}: {t('report.a_score_low')}": 1,
        f"{t('checkin_kind.debrief')}: {t('report.a_debrief_coordinator')}": 1,
    }
    book = load_workbook(io.BytesIO(xlsx))
    checkins = book[t("report.s_checkins")[:31]]
    assert {r[0]: r[1] for r in checkins.iter_rows(min_row=2, values_only=True)} == answers
    rows = list(csv.reader(io.StringIO(csv_data.decode("utf-8-sig")), delimiter=";"))
    assert rows[0] == [t("report.h_section"), t("report.h_item"), t("report.h_value")]
    assert [t("report.s_summary"), t("report.m_fill_rate"), pct] in rows
    assert [t("report.s_summary"), t("report.m_fees_unpaid"), money] in rows
    shown = {(r[1], r[2]) for r in rows if r[0] == t("report.s_checkins")}
    assert shown == {(k, str(v)) for k, v in answers.items()}
    everything = summary.text + csv_data.decode("utf-8-sig")
    codes = ["debrief_coordinator", "no_answer", "score", "_"]
    if lang != "en":  # in English "debrief" and "ready" are also the words a reader expects
        codes += [":ready", "prep:", "debrief:"]
    for code in codes:
        assert code not in everything, code


@pytest.mark.parametrize("lang", ["fi", "en"])
async def test_workbook_figures_are_numbers_with_formats(h: Harness, lang: str) -> None:
    h.coord_lang = lang
    await december(h)
    coord = flows.coordinator(h)
    await coord.send("/report 12.2026")
    t = coord.t
    xlsx = next(m.document[1] for m in coord.inbox[-3:] if m.document and ".xlsx" in m.document[0])
    book = load_workbook(io.BytesIO(xlsx))
    header = (t("report.h_item"), t("report.h_value"))
    first = book.worksheets[0]
    assert first.title == t("report.s_summary")[:31]
    assert first["A1"].value == t("report.title", period="1.12.2026–31.12.2026")
    assert (first["A2"].value, first["B2"].value) == header  # the summary has its header too
    for sheet in book.worksheets[1:]:
        assert (sheet["A1"].value, sheet["B1"].value) == header, sheet.title
    cells = {row[0].value: row[1] for row in first.iter_rows(min_row=3)}
    fill = cells[t("report.m_fill_rate")]
    assert fill.value == 1 and fill.number_format == "0%"
    unpaid = cells[t("report.m_fees_unpaid")]
    assert unpaid.value == 300 and "€" in unpaid.number_format and "0.00" in unpaid.number_format
    reach = cells[t("report.m_reach")]
    assert reach.value == 85 and reach.number_format == "#,##0"
    assert cells[t("report.m_feedback_average")].value == "–"  # too few answers to show
    by_type = book[t("report.s_reach_type")[:31]]
    assert {r[0]: r[1] for r in by_type.iter_rows(min_row=2, values_only=True)} == {
        t("gig_type.talk"): 60,
        t("gig_type.school"): 25,
    }
    by_orderer = book[t("report.s_reach_orderer")[:31]]
    assert list(by_orderer.iter_rows(min_row=2, values_only=True)) == [
        (flows.ORDER["organisation"], 85)
    ]


@pytest.mark.parametrize("lang", ["fi", "en"])
async def test_every_order_asks_the_audience_size_and_re_asks_kindly(h: Harness, lang: str) -> None:
    nurse = await flows.register_orderer(h, 201, lang=lang)
    o = flows.ORDER
    await nurse.send("/neworder")
    await nurse.send(o["organisation"])
    await nurse.press(nurse.t("gig_type.talk"))
    await nurse.press(nurse.t("topic.mental_health"))
    await nurse.press(nurse.t("btn.done"))
    await nurse.send(o["starts_at"])
    await nurse.send("2")
    await nurse.press(nurse.t("format.onsite"))
    await nurse.send(o["place"])
    await nurse.press(nurse.t("region.keski_suomi"))
    await nurse.press(nurse.t("audience.large"))
    assert nurse.last.text == nurse.t("form.order.audience_size")
    assert nurse.t("btn.skip") not in [b.text for b in nurse.last.flat_buttons]
    replies = await nurse.send("quite a few")
    assert replies[0].text == nurse.t("err.not_a_number", low=1, high=10000)
    await nurse.send("0")
    await nurse.send("40")
    assert nurse.last.text == nurse.t("form.order.seats")


def test_chart_library_info_stays_out_of_the_log() -> None:
    root = logging.getLogger()
    saved = root.handlers[:], root.level
    try:
        logs.setup("INFO", TOKEN)
        for name in ("matplotlib", "matplotlib.font_manager", "PIL.PngImagePlugin"):
            assert not logging.getLogger(name).isEnabledFor(logging.INFO), name
        assert logging.getLogger("bot.app").isEnabledFor(logging.INFO)
    finally:
        root.handlers[:], level = saved
        root.setLevel(level)


async def test_a_name_that_looks_like_a_formula_stays_text(h: Harness) -> None:
    """An organisation typed as a formula is shown as text in the workbook and the CSV."""
    nurse = await flows.register_orderer(h, 201)
    aino = await flows.register_expert(h, 301, "Aino")
    evil = '=HYPERLINK("http://example.invalid","x")'
    await flows.order_and_approve(h, nurse, organisation=evil, starts_at="7.12.2026 klo 10.00")
    await aino.press(aino.t("btn.accept"))
    h.clock.set(at("20.12.2026 10.00"))
    coord = flows.coordinator(h)
    await coord.send("/report 12.2026")
    files = {m.document[0]: m.document[1] for m in coord.inbox[-4:] if m.document}
    xlsx = next(v for k, v in files.items() if k.endswith(".xlsx"))
    book = load_workbook(io.BytesIO(xlsx))
    cells = [c for ws in book.worksheets for row in ws.iter_rows() for c in row if c.value == evil]
    assert cells and all(c.data_type == "s" for c in cells)
    csv_text = next(v for k, v in files.items() if k.endswith(".csv")).decode("utf-8-sig")
    assert "'" + evil.replace('"', '""') in csv_text
    assert ";=" not in csv_text
