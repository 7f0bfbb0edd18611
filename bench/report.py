"""Benchmark for issue 7: a funders' report over a year of 10,000 gigs.

Run from the project root:  .venv/bin/python -m bench.report

Seeds a fresh SQLite database with 300 experts and 10,000 gigs over the last year (offers,
fees, debrief answers, feedback rounds), then times the report the way `/report year` makes
it: the figures, the rows, the Excel workbook, the CSV and the chart.
"""

from __future__ import annotations

import asyncio
import random
import re
import statistics
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from bench import machine, options, quick
from bench.dispatch import DOC, make_settings
from bench.seed import Row, checkin_row, fee_row, gig_values, insert_rows, offer_row, seed_people
from bot.app import build_application
from bot.core import Core
from bot.sandbox.fakebot import FakeTelegram
from bot.services.reports import Period
from storage.db import Database
from storage.models import (
    Base,
    CheckIn,
    CheckInKind,
    CheckInStatus,
    Fee,
    FeedbackAnswer,
    FeedbackRound,
    FeeStatus,
    Gig,
    GigStatus,
    Offer,
)

SECTION = "## Reports (issue 7)"
GIGS = 10_000
EXPERTS = 300
SEED = 7
RUNS = 3


def use_quick_sizes() -> None:
    """--quick: 2,000 gigs, 100 experts, one run (see bench/__init__.py)."""
    global GIGS, EXPERTS, RUNS
    GIGS, EXPERTS, RUNS = 2_000, 100, 1


if quick():
    use_quick_sizes()
TYPES = ("talk", "peer_reception", "pair_work", "workgroup", "school", "group")
TOPICS = ("mental_health", "substance_use", "child_welfare", "loss")
REGIONS = ("keski_suomi", "lappi", "kainuu", "uusimaa")


async def seed(db: Database) -> None:
    rng = random.Random(SEED)
    experts = await seed_people(db, EXPERTS)
    now = datetime.now(UTC)
    tables: dict[type[Base], list[Row]] = {
        model: [] for model in (Gig, Offer, Fee, CheckIn, FeedbackRound, FeedbackAnswer)
    }
    for i in range(GIGS):
        gid = 1000 + i
        starts = now - timedelta(days=rng.uniform(1, 364))
        created = starts - timedelta(days=rng.uniform(3, 30))
        cancelled = rng.random() < 0.05
        seats = rng.choice((1, 1, 1, 2))
        tables[Gig].append(
            gig_values(
                starts,
                created,
                id=gid,
                seats=seats,
                seats_filled=0 if cancelled else seats,
                status=GigStatus.CANCELLED if cancelled else GigStatus.FILLED,
                filled_at=None if cancelled else created + timedelta(hours=rng.uniform(1, 72)),
                gig_type=rng.choice(TYPES),
                topics=[rng.choice(TOPICS)],
                region=rng.choice(REGIONS),
                organisation=f"Tilaaja {rng.randrange(60)}",
            )
        )
        if cancelled:
            continue
        for expert in rng.sample(experts, seats):
            seat_rows(rng, tables, gid, expert, starts, created)
        if rng.random() < 0.3:
            feedback_rows(rng, tables, gid, starts)
    await insert_rows(db, list(tables.items()))


def seat_rows(
    rng: random.Random,
    tables: dict[type[Base], list[Row]],
    gid: int,
    expert: int,
    starts: datetime,
    created: datetime,
) -> None:
    """An accepted offer, its fee and an answered debrief."""
    oid = len(tables[Offer]) + 1
    tables[Offer].append(offer_row(gid, expert, created, id=oid))
    tables[Fee].append(
        fee_row(
            gid,
            expert,
            created,
            travel_cents=rng.choice((0, 1500)),
            other_cents=0,
            status=rng.choice((FeeStatus.PAID, FeeStatus.PAID, FeeStatus.AGREED)),
        )
    )
    tables[CheckIn].append(
        checkin_row(
            CheckInKind.DEBRIEF,
            expert,
            starts + timedelta(hours=4),
            created,
            gig_id=gid,
            offer_id=oid,
            status=CheckInStatus.ANSWERED,
            answer="score",
            score=rng.randint(2, 5),
        )
    )


def feedback_rows(
    rng: random.Random, tables: dict[type[Base], list[Row]], gid: int, starts: datetime
) -> None:
    """A closed anonymous feedback round with 2-9 answers."""
    rid = len(tables[FeedbackRound]) + 1
    tables[FeedbackRound].append(
        {
            "id": rid,
            "gig_id": gid,
            "token": f"tok{gid:08d}xxxx",
            "secret": None,
            "anonymous": True,
            "opens_at": starts,
            "closes_at": starts + timedelta(days=14),
            "closed": True,
        }
    )
    for _ in range(rng.randint(2, 9)):
        tables[FeedbackAnswer].append(
            {
                "id": f"{rng.getrandbits(128):032x}",
                "round_id": rid,
                "usefulness": rng.randint(2, 5),
                "stayed": "Hyvä puheenvuoro",
                "better": "",
                "step": "done",
            }
        )


async def measure(core: Core) -> dict[str, list[float]]:
    today = datetime.now(core.settings.tz).date()
    period = Period(today - timedelta(days=365), today + timedelta(days=1))
    times: dict[str, list[float]] = {k: [] for k in ("figures", "xlsx", "csv", "chart", "total")}
    for _ in range(RUNS):
        t0 = time.perf_counter()
        async with core.db.unit_of_work() as s:
            figures = await core.reports.figures(s, period, datetime.now(UTC))
        t1 = time.perf_counter()
        core.reports.xlsx_bytes(figures, "fi")
        t2 = time.perf_counter()
        core.reports.csv_bytes(figures, "fi")
        t3 = time.perf_counter()
        core.reports.chart_png(figures, "fi")
        t4 = time.perf_counter()
        for key, value in (
            ("figures", t1 - t0),
            ("xlsx", t2 - t1),
            ("csv", t3 - t2),
            ("chart", t4 - t3),
            ("total", t4 - t0),
        ):
            times[key].append(value)
    assert figures.gigs_done > GIGS * 0.9, figures.gigs_done
    return times


async def main() -> None:
    with tempfile.TemporaryDirectory(prefix="bench-report-") as tmp:
        url = f"sqlite+aiosqlite:///{Path(tmp) / 'report.sqlite3'}"
        db = Database(url)
        await db.migrate()
        t0 = time.perf_counter()
        await seed(db)
        seeded = time.perf_counter() - t0
        await db.dispose()
        app = build_application(make_settings(url), request=FakeTelegram().request())
        core: Core = app.bot_data["core"]
        times = await measure(core)
        await core.db.dispose()
    lines = [
        SECTION,
        "",
        f"Run {datetime.now():%Y-%m-%d %H:%M} on {machine()}.",
        "",
        f"`/report` over a year of {GIGS:,} gigs ({EXPERTS} experts, offers, fees, debrief "
        f"answers, ~3,000 feedback rounds; seeding took {seeded:.1f} s). Median of {RUNS}:",
        "",
        "| step | median | max |",
        "|---|---:|---:|",
    ]
    for key, label in (
        ("figures", "figures (database)"),
        ("xlsx", "Excel workbook"),
        ("csv", "CSV"),
        ("chart", "chart (matplotlib PNG)"),
        ("total", "**whole report**"),
    ):
        lines.append(
            f"| {label} | {statistics.median(times[key]):.2f} s | {max(times[key]):.2f} s |"
        )
    section = "\n".join(lines) + "\n"
    print(section)
    if quick():
        return
    text = DOC.read_text() if DOC.exists() else "# Benchmarks\n"
    pattern = re.compile(rf"^{re.escape(SECTION)}\n.*?(?=^## |\Z)", re.MULTILINE | re.DOTALL)
    text = (
        pattern.sub(lambda _: section + "\n", text, count=1)
        if pattern.search(text)
        else text.rstrip("\n") + "\n\n" + section
    )
    DOC.write_text(text.rstrip("\n") + "\n")


if __name__ == "__main__":
    if options("bench.report", __doc__):
        use_quick_sizes()
    asyncio.run(main())
