"""Datetimes come back from either database as aware UTC, whatever way they were stored."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

from sqlalchemy.dialects import postgresql, sqlite

from storage.models import UTCDateTime

AT = datetime(2026, 11, 29, 13, 22, 54, 123456, tzinfo=UTC)


def test_sqlite_text_is_read_as_aware_utc() -> None:
    process = UTCDateTime().result_processor(sqlite.dialect(), None)
    assert process is not None
    assert process("2026-11-29 13:22:54.123456") == AT
    assert process("2026-11-29 13:22:54") == AT.replace(microsecond=0)
    assert process("2026-11-29T15:22:54.123456+02:00") == AT  # an offset of its own
    assert process(datetime(2026, 11, 29, 13, 22, 54, 123456)) == AT
    assert process(None) is None
    assert process("2026-11-29 13:22:54").tzinfo is UTC  # type: ignore[union-attr]


def test_postgresql_datetimes_are_made_aware_utc() -> None:
    column = UTCDateTime()
    dialect = postgresql.dialect()
    naive = datetime(2026, 11, 29, 13, 22, 54, 123456)
    assert column.process_result_value(naive, dialect) == AT
    assert column.process_result_value(naive, dialect).tzinfo is UTC  # type: ignore[union-attr]
    helsinki = AT.astimezone(timezone(timedelta(hours=2)))
    assert column.process_result_value(helsinki, dialect) == AT
    assert column.process_result_value(None, dialect) is None
    process = column.result_processor(dialect, None)  # what reading rows calls
    assert process is not None and process(naive) == AT and process(helsinki) == AT
    # And what goes in is naive UTC, whatever zone it came in.
    assert column.process_bind_param(helsinki, dialect) == naive
