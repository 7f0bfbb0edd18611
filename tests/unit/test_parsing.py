"""Parsers of typed input: Finnish formats accepted, everything else a clear InputError."""

from __future__ import annotations

import contextlib
from datetime import UTC, date, datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.forms import ORDER, read_typed
from bot.i18n import fmt_datetime, fmt_money
from bot.parsing import (
    DB_INT_MAX,
    InputError,
    clean_text,
    parse_date,
    parse_datetime,
    parse_duration_minutes,
    parse_id,
    parse_int,
    parse_money_cents,
    parse_year,
)
from tests.unit.moments import HEL, at

NOW = at("23.11.2026 10.00").astimezone(UTC)


@pytest.mark.parametrize(
    ("typed", "expected"),
    [
        ("24.12.2026 klo 14.30", "24.12.2026 14.30"),
        ("24.12.2026 14:30", "24.12.2026 14.30"),
        ("24.12. klo 14", "24.12.2026 14.00"),
        ("24.12.26 9.05", "24.12.2026 09.05"),
        ("  5.1. 8.00 ", "5.1.2027 08.00"),  # January typed in November is next year's
        ("29.3.2027 klo 3.30", "29.3.2027 03.30"),
    ],
)
def test_finnish_dates(typed: str, expected: str) -> None:
    assert parse_datetime(typed, NOW, HEL) == at(expected).astimezone(UTC)


@pytest.mark.parametrize(
    ("typed", "key"),
    [
        ("31.2.2027 klo 10", "err.date_invalid"),
        ("29.2.2027 klo 10", "err.date_invalid"),
        ("1.1.2026 klo 10", "err.datetime_past"),
        ("23.11.2026 klo 9.59", "err.datetime_past"),
        ("1.1.2030 klo 10", "err.datetime_far"),
        ("24.12.2026", "err.datetime_no_time"),
        ("24.12.2026 klo 24.00", "err.time_invalid"),
        ("ensi tiistaina", "err.datetime_format"),
        ("", "err.datetime_format"),
    ],
)
def test_bad_dates(typed: str, key: str) -> None:
    with pytest.raises(InputError) as err:
        parse_datetime(typed, NOW, HEL)
    assert err.value.key == key


def test_dates_are_shown_the_finnish_way() -> None:
    assert fmt_datetime(at("24.12.2026 14.30"), HEL) == "24.12.2026 klo 14.30"
    assert fmt_datetime(at("5.1.2027 08.05"), HEL, "kl.") == "5.1.2027 kl. 08.05"


def test_numbers_money_and_durations() -> None:
    assert parse_int(" 25 ", 1, 100) == 25
    assert parse_money_cents("150") == 15000
    assert parse_money_cents("150,50 €") == 15050
    assert parse_money_cents("1 200") == 120000
    assert fmt_money(120050) == "1\u00a0200,50 €"
    assert parse_duration_minutes("1,5") == 90
    assert parse_duration_minutes("90 min") == 90
    assert parse_duration_minutes("2 h") == 120
    assert parse_duration_minutes("1:45") == 105
    assert parse_duration_minutes("1.30") == 90  # h.mm, the Finnish clock way
    assert parse_duration_minutes("1.5") == 90
    for bad, fn in (
        ("kolme", lambda t: parse_int(t, 1, 10)),
        ("0", lambda t: parse_int(t, 1, 10)),
        ("-5", parse_money_cents),
        ("13", parse_duration_minutes),
        ("5 min", parse_duration_minutes),
    ):
        with pytest.raises(InputError):
            fn(bad)


def test_text_limits() -> None:
    assert clean_text("  Hei\x00 maailma \n", 20) == "Hei maailma"
    with pytest.raises(InputError) as err:
        clean_text("x" * 4097, 200)
    assert err.value.params == {"max": 200, "length": 4097}
    with pytest.raises(InputError):
        clean_text("   ", 20)


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=5000))
def test_no_typed_text_crashes_any_order_question(text: str) -> None:
    for field in ORDER.fields:
        with contextlib.suppress(InputError):
            read_typed(field, text, NOW, HEL)


@settings(max_examples=300, deadline=None)
@given(st.from_regex(r"\A\d{1,3}\.\d{1,3}\.?\d{0,5}( klo | )?\d{0,3}([.:]\d{0,3})?\Z"))
def test_date_like_text_is_parsed_or_explained(text: str) -> None:
    try:
        result = parse_datetime(text, NOW, HEL)
    except InputError as err:
        assert err.key.startswith("err.")
    else:
        assert result > NOW and result.tzinfo is not None
        assert isinstance(result, datetime)


def test_a_day_not_in_the_calendar_is_named_first() -> None:
    for parse in (lambda t: parse_date(t, NOW, HEL), lambda t: parse_datetime(t, NOW, HEL)):
        with pytest.raises(InputError) as err:
            parse("31.2.")  # no time either, but that would not help
        assert err.value.key == "err.date_invalid"
        assert err.value.params == {"date": "31.2."}


@pytest.mark.parametrize(
    ("typed", "expected"),
    [
        ("24.12.", date(2026, 12, 24)),
        ("24.12.2026", date(2026, 12, 24)),
        (" 24 . 12 . 26 ", date(2026, 12, 24)),
        ("5.1.", date(2027, 1, 5)),  # January typed in November is next year's
        ("23.11.", date(2026, 11, 23)),  # today is not in the past
    ],
)
def test_dates_without_a_time(typed: str, expected: date) -> None:
    assert parse_date(typed, NOW, HEL) == expected


@pytest.mark.parametrize(
    ("typed", "key"),
    [
        ("22.11.2026", "err.date_past"),
        ("1.1.2030", "err.datetime_far"),
        ("29.2.2027", "err.date_invalid"),
        ("29.2.", "err.date_invalid"),  # neither this year nor the next has one
        ("2⁴.12.", "err.date_format"),
        ("huomenna", "err.date_format"),
    ],
)
def test_bad_dates_without_a_time(typed: str, key: str) -> None:
    with pytest.raises(InputError) as err:
        parse_date(typed, NOW, HEL)
    assert err.value.key == key


@pytest.mark.parametrize("typed", ["24.12.2026 klo 1⁴.30", "2⁴.12.2026 klo 14.30"])
def test_superscript_digits_are_no_date(typed: str) -> None:
    with pytest.raises(InputError) as err:
        parse_datetime(typed, NOW, HEL)
    assert err.value.key == "err.datetime_format"


@pytest.mark.parametrize("typed", ["²", "¹²", "1²", "#²", "0", str(DB_INT_MAX + 1), "12a", ""])
def test_record_numbers_are_ascii_digits_within_the_database(typed: str) -> None:
    with pytest.raises(InputError) as err:
        parse_id(typed)
    assert err.value.key == "err.not_an_id"


def test_record_numbers() -> None:
    assert parse_id("12") == 12
    assert parse_id(" #12 ") == 12
    assert parse_id(str(DB_INT_MAX)) == DB_INT_MAX


def test_superscripts_are_no_number_nor_year() -> None:
    with pytest.raises(InputError) as err:
        parse_int("²", 1, 10)
    assert err.value.key == "err.not_a_number"
    assert parse_year("2026") == 2026
    for typed in ("²⁰²⁶", "1999", "2101"):
        with pytest.raises(InputError) as err:
            parse_year(typed)
        assert err.value.key == "err.year_range"
