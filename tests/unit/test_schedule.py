"""The schedule as a table (scheduler.JOBS): fixed ids, and times the settings decide."""

from __future__ import annotations

import scheduler
from bot.settings import load_settings

TOKEN = "123456789:AAFakeTokenForTestsOnly_abcdefghijklmno"


def test_every_job_has_its_own_id() -> None:
    ids = [job.id for job in scheduler.JOBS]
    assert len(ids) == len(set(ids))


def test_times_come_from_the_settings_where_they_are_settings() -> None:
    settings = load_settings(
        bot_token=TOKEN,
        database_url="sqlite+aiosqlite://",
        digest_hour=7,
        outbox_interval_seconds=9,
        _env_file=None,
    )
    when = {job.id: job.schedule(settings) for job in scheduler.JOBS}
    assert when["digest:daily"] == scheduler.DailyAt(7)
    assert when["outbox:flush"] == scheduler.Every(9, first=5)
    assert when["register:daily"] == scheduler.DailyAt(8, 5)
    assert isinstance(when["dispatch:tick"], scheduler.Every)
