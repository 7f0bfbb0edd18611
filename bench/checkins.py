"""Benchmark for issue 5: the check-in schedule with 100,000 pending check-ins on SQLite.

Run from the project root:  .venv/bin/python -m bench.checkins

1. Seeds a fresh, migrated SQLite database with 2,000 approved experts, 33,000 filled gigs
   over the next 12 months (one accepted offer each, three check-ins per offer: prep,
   reminder, debrief, at the times `CheckIns.due_times` gives) and 1,000 keep-in-touch
   check-ins: 100,000 scheduled check-ins. Seeding is setup and is reported apart.
2. Start-up: a fresh subprocess per run times process start -> ready (build_application,
   `async with app`, post_init, one run of the check-in job's body with nothing due on the
   real clock) and reports its RSS, against the full database, an empty migrated one and a
   brand-new file. The schedule lives in the database, so memory should not grow with it.
3. Finding what is due: the tick's due query when ~500 are due and when nothing is, alone
   (through the ORM and as plain SQL), and the whole tick for those 500, rolled back after
   each run so every run sees the same data. Last, the idle tick again with every gig
   check-in marked sent a month ago, as years of history would leave them.

Results are printed as Markdown and written to docs/benchmarks.md (this section only).
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import random
import re
import resource
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from datetime import time as dtime
from pathlib import Path
from typing import Any

from sqlalchemy import Select, event, func, select, update
from sqlalchemy.dialects import sqlite as sqlite_dialect

from bench import machine, options, progress, quick
from bench.seed import (
    COORDINATOR_TG,
    EXPERT_TG_BASE,
    FIRST_EXPERT_ID,
    HELSINKI,
    TOKEN,
    Row,
    checkin_row,
    expert_profile,
    gig_values,
    insert_rows,
    offer_row,
    staff_rows,
    user_row,
)
from bot.app import build_application, post_init
from bot.clock import FakeClock
from bot.core import Core
from bot.i18n import Texts
from bot.notify import Notifier
from bot.present import Presenter
from bot.sandbox.fakebot import FakeTelegram
from bot.services.checkins import TICK_BATCH, CheckIns
from bot.settings import Settings, load_settings
from bot.vocab import GIG_TYPES, REGIONS, TOPICS
from storage.db import Database
from storage.models import (
    CheckIn,
    CheckInKind,
    CheckInStatus,
    ExpertProfile,
    Gig,
    GigStatus,
    Offer,
    Outbox,
    Role,
    User,
)

EXPERTS = 2_000
GIGS = 33_000  # three check-ins each: 99,000
KEEP_IN_TOUCH = 1_000  # plus these: 100,000 scheduled check-ins
YOUTH_SHARE = 0.05  # youth experts' debriefs also alert the coordinators
CHUNK = 10_000  # rows per bulk INSERT
DUE_BATCH = 500  # the tick's LIMIT
QUERY_RUNS = 20
TICK_RUNS = 5
STARTUP_RUNS = 5  # per database, after one discarded warm-up round
SEED = 5


def use_quick_sizes() -> None:
    """--quick: about a tenth of the data and fewer repeats (see bench/__init__.py)."""
    global EXPERTS, GIGS, KEEP_IN_TOUCH, QUERY_RUNS, TICK_RUNS, STARTUP_RUNS
    EXPERTS, GIGS, KEEP_IN_TOUCH = 200, 3_000, 100
    QUERY_RUNS, TICK_RUNS, STARTUP_RUNS = 5, 2, 2


if quick():
    use_quick_sizes()

COMMAND = ".venv/bin/python -m bench.checkins"
SECTION = "## Check-in schedule (issue 5)"
DOC = Path("docs/benchmarks.md")
SPAWNED_AT_ENV = "BENCH_SPAWNED_AT"
MIB = 1024 * 1024


def make_settings(db_url: str) -> Settings:
    return load_settings(
        bot_token=TOKEN,
        database_url=db_url,
        coordinator_ids=str(COORDINATOR_TG),
        _env_file=None,
    )


def sqlite_url(path: Path) -> str:
    return f"sqlite+aiosqlite:///{path}"


def ms(seconds: float) -> str:
    return f"{seconds * 1000:.1f} ms" if seconds < 0.1 else f"{seconds * 1000:.0f} ms"


# ----- 1. seeding ---------------------------------------------------------------------------


@dataclass
class SeedResult:
    experts: int
    gigs: int
    offers: int
    checkins: Counter[str]
    first_due: datetime
    last_due: datetime
    build_s: float  # building the row dicts in Python
    insert_s: float  # the bulk INSERTs and commit
    db_mib: float = 0.0  # the file, once the engine is closed (WAL checkpointed)

    @property
    def pending(self) -> int:
        return sum(self.checkins.values())


def scheduler_for(settings: Settings) -> CheckIns:
    """The project's CheckIns, only for `due_times` (the same times sync_gig would set)."""
    presenter = Presenter(Texts(settings.default_language), settings.tz)
    clock = FakeClock(datetime.now(UTC))
    return CheckIns(presenter, Notifier(presenter, settings, clock), clock, settings)


def gig_row(
    rng: random.Random, gig_id: int, starts_at: datetime, now: datetime, youth: bool
) -> Row:
    remote = rng.random() < 0.2
    return gig_values(
        starts_at,
        now,
        id=gig_id,
        status=GigStatus.FILLED,
        organisation=f"Organisaatio {gig_id % 500}",
        gig_type=rng.choice(GIG_TYPES),
        topics=[rng.choice(TOPICS)],
        duration_min=rng.choice((60, 90, 120, 180)),
        remote=remote,
        place=f"https://meet.example.org/{gig_id}" if remote else "Sairaalantie 1, Jyväskylä",
        region=rng.choice(REGIONS),
        seats_filled=1,
        fee_cents=rng.choice((None, 10_000, 15_000)),
        companion="Aikuinen Anna" if youth else "",
        filled_at=now,
    )


def people(rng: random.Random, now: datetime) -> tuple[list[Row], list[Row], set[int]]:
    """The coordinator, the orderer and the experts (about one in twenty young): users,
    profiles and the young experts' ids."""
    contract = now.astimezone(HELSINKI).date() + timedelta(days=3 * 365)
    users = staff_rows(now)
    profiles: list[Row] = []
    youth: set[int] = set()
    for i in range(EXPERTS):
        uid = FIRST_EXPERT_ID + i
        is_youth = rng.random() < YOUTH_SHARE
        if is_youth:
            youth.add(uid)
        language = rng.choice(("fi", "fi", "fi", "sv", "en"))
        users.append(user_row(uid, EXPERT_TG_BASE + i, Role.EXPERT, now, language=language))
        profiles.append(
            expert_profile(uid, now, contract, name=f"Asiantuntija {i + 1}", youth=is_youth)
        )
    return users, profiles, youth


def schedule(
    rng: random.Random, settings: Settings, now: datetime, expert_ids: list[int], youth: set[int]
) -> tuple[list[Row], list[Row], list[Row]]:
    """Filled gigs over the next year, one accepted offer each with its three check-ins at
    the times `CheckIns.due_times` gives, and the keep-in-touch check-ins."""
    today = now.astimezone(HELSINKI).date()
    when = scheduler_for(settings)
    gigs: list[Row] = []
    offers: list[Row] = []
    checkins: list[Row] = []
    for gig_id in range(1, GIGS + 1):
        # From three days ahead (so even the 48-hour prep is in the future) to a year ahead.
        day: date = today + timedelta(days=rng.randrange(3, 366))
        local = dtime(rng.randrange(8, 19), rng.choice((0, 30)))
        starts_at = datetime.combine(day, local, tzinfo=HELSINKI).astimezone(UTC)
        expert_id = rng.choice(expert_ids)
        row = gig_row(rng, gig_id, starts_at, now, expert_id in youth)
        gigs.append(row)
        offers.append(offer_row(gig_id, expert_id, now, id=gig_id, rank=1, pool=EXPERTS))
        transient = Gig(starts_at=starts_at, duration_min=row["duration_min"], prep_hours=None)
        for kind, due_at in when.due_times(transient).items():
            # One offer per gig, with the gig's id.
            checkins.append(
                checkin_row(kind, expert_id, due_at, now, gig_id=gig_id, offer_id=gig_id)
            )
    for n in range(KEEP_IN_TOUCH):
        due_at = now + timedelta(days=1 + rng.random() * 29)
        keep = CheckInKind.KEEP_IN_TOUCH
        checkins.append(
            checkin_row(keep, expert_ids[n % EXPERTS], due_at, now, gig_id=None, offer_id=None)
        )
    return gigs, offers, checkins


async def seed(db: Database, settings: Settings) -> SeedResult:
    """Bulk-insert the people, gigs, offers and check-ins (fixed random seed)."""
    started = time.perf_counter()
    rng = random.Random(SEED)
    now = datetime.now(UTC)
    users, profiles, youth = people(rng, now)
    expert_ids = [p["user_id"] for p in profiles]
    gigs, offers, checkins = schedule(rng, settings, now, expert_ids, youth)
    built = time.perf_counter()
    tables = [
        (User, users),
        (ExpertProfile, profiles),
        (Gig, gigs),
        (Offer, offers),
        (CheckIn, checkins),
    ]
    await insert_rows(db, tables, CHUNK)
    inserted = time.perf_counter()
    dues = [c["due_at"] for c in checkins]
    return SeedResult(
        experts=EXPERTS,
        gigs=len(gigs),
        offers=len(offers),
        checkins=Counter(c["kind"] for c in checkins),
        first_due=min(dues),
        last_due=max(dues),
        build_s=built - started,
        insert_s=inserted - built,
    )


# ----- 2. start-up in a fresh process -------------------------------------------------------


def _proc_status_mib(field_name: str) -> float:
    with suppress(OSError):
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith(f"{field_name}:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def rss_mib() -> float:
    """Current resident set size."""
    return _proc_status_mib("VmRSS")


def peak_rss_mib() -> float:
    """Peak resident set size so far (ru_maxrss is KiB on Linux)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def hwm_mib() -> float:
    """Peak RSS of this process's own address space (VmHWM): a cross-check of ru_maxrss."""
    return _proc_status_mib("VmHWM")


# Linux carries ru_maxrss across exec: a child forked straight from this process (which holds
# the seeded rows, hundreds of MiB) would report our peak, not its own. Forking the child from
# a small shell instead gives it a clean count; the shell cannot exec in place because of the
# command after it.
TRAMPOLINE = ["/bin/sh", "-c", '"$@"; exit $?', "sh"]


async def _startup(db_url: str, marks: dict[str, float]) -> int:
    settings = make_settings(db_url)
    app = build_application(settings, request=FakeTelegram().request())
    marks["built"] = time.time()
    core: Core = app.bot_data["core"]
    async with app:
        marks["initialized"] = time.time()
        await post_init(app)
        marks["post_init"] = time.time()
        # The body of scheduler.checkins_tick, on the real clock.
        async with core.db.unit_of_work() as s:
            sent = await core.checkins.tick(s)
        await core.outbox.flush()
        marks["ready"] = time.time()
        marks["peak_rss_ready"] = peak_rss_mib()
        marks["hwm_ready"] = hwm_mib()
        marks["rss_ready"] = rss_mib()
        await core.db.dispose()
    return sent


def startup_child(db_url: str) -> None:
    """Runs in the subprocess: prints one JSON line of timings (epoch seconds) and RSS."""
    marks: dict[str, float] = {
        "spawned": float(os.environ[SPAWNED_AT_ENV]),
        "imported": time.time(),
        "rss_before_build": rss_mib(),
        "peak_rss_before_build": peak_rss_mib(),
    }
    marks["due"] = asyncio.run(_startup(db_url, marks))
    print(json.dumps(marks))


@dataclass
class StartupRuns:
    label: str
    runs: list[dict[str, float]] = field(default_factory=list)

    def median(self, name: str) -> float:
        return statistics.median(r[name] for r in self.runs)

    def span(self, start: str, end: str) -> list[float]:
        return [r[end] - r[start] for r in self.runs]


def spawn_startup(db_url: str) -> dict[str, float]:
    env = dict(os.environ, **{SPAWNED_AT_ENV: repr(time.time())})
    done = subprocess.run(
        [*TRAMPOLINE, sys.executable, "-m", "bench.checkins", "--startup", db_url],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f"start-up subprocess failed:\n{done.stderr}")
    marks: dict[str, float] = json.loads(done.stdout.strip().splitlines()[-1])
    if marks["due"]:
        raise RuntimeError(f"start-up found {marks['due']:.0f} check-ins due; expected none")
    return marks


def bare_python_rss() -> float:
    """Peak RSS of an interpreter that imports nothing: the floor under every figure."""
    code = "import resource; print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)"
    done = subprocess.run(
        [*TRAMPOLINE, sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    return int(done.stdout.strip()) / 1024


async def bench_startup(full_url: str, workdir: Path) -> tuple[list[StartupRuns], float]:
    empty = workdir / "empty.sqlite3"
    empty_db = Database(sqlite_url(empty))
    await empty_db.migrate()
    await empty_db.dispose()
    runs = [
        StartupRuns("100,000 pending check-ins"),
        StartupRuns("empty, migrated"),
        StartupRuns("new file (first start creates the schema)"),
    ]
    for n in range(STARTUP_RUNS + 1):
        urls = (full_url, sqlite_url(empty), sqlite_url(workdir / f"new-{n}.sqlite3"))
        for target, url in zip(runs, urls, strict=True):
            marks = spawn_startup(url)
            if n:  # the first round warms the file cache and is discarded
                target.runs.append(marks)
        progress(f"start-up round {n + 1}/{STARTUP_RUNS + 1} done")
    bare = statistics.median(bare_python_rss() for _ in range(3))
    return runs, bare


# ----- 3. finding what is due ---------------------------------------------------------------


def due_statement(now: datetime) -> Select[CheckIn]:
    """The due query of CheckIns.tick, verbatim (keep in step with bot/services/checkins.py)."""
    return (
        select(CheckIn)
        .where(CheckIn.status == CheckInStatus.SCHEDULED, CheckIn.due_at <= now)
        .order_by(CheckIn.due_at, CheckIn.id)
        .limit(DUE_BATCH)
    )


def follow_up_statement(now: datetime) -> Select[CheckIn]:
    """The query of CheckIns._follow_up, verbatim."""
    return select(CheckIn).where(
        CheckIn.kind == CheckInKind.DEBRIEF,
        CheckIn.status == CheckInStatus.SENT,
        CheckIn.coordinator_noted.is_(False),
        CheckIn.sent_at <= now - timedelta(hours=24),
    )


def plain_sql(stmt: Select[Any]) -> tuple[str, list[Any]]:
    """The statement as SQLite gets it: SQL text and bound values (times as stored)."""
    compiled = stmt.compile(dialect=sqlite_dialect.dialect())
    params = compiled.construct_params()
    values: list[Any] = []
    for name in compiled.positiontup or ():
        value = params[name]
        if isinstance(value, datetime):
            value = value.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")
        values.append(value)
    return str(compiled), values


def query_plan(path: Path, stmt: Select[Any]) -> str:
    sql, values = plain_sql(stmt)
    with sqlite3.connect(path) as conn:
        rows = conn.execute(f"EXPLAIN QUERY PLAN {sql}", values).fetchall()
    return "; ".join(str(r[-1]) for r in rows)


@dataclass
class Timing:
    label: str
    times: list[float]
    note: str = ""


async def timed(runs: int, action: Callable[[], Awaitable[object]]) -> list[float]:
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        await action()
        times.append(time.perf_counter() - started)
    return times


@contextmanager
def count_statements(core: Core) -> Iterator[Counter[str]]:
    """Counts the SQL statements the engine runs, by their first word."""
    seen: Counter[str] = Counter()

    def before(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        seen[statement.split(None, 1)[0].upper()] += 1

    engine = core.db.engine.sync_engine
    event.listen(engine, "before_cursor_execute", before)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", before)


@dataclass
class DueResult:
    due_moment: datetime
    due_count: int
    timings: list[Timing]
    tick_sent: int
    tick_outbox: int
    tick_statements: Counter[str]
    tick_outcomes: Counter[str]
    tick_times: list[float]
    due_plan: str
    follow_up_plan: str


async def orm_select(core: Core, stmt: Select[CheckIn]) -> int:
    """The SELECT alone, as the tick runs it, in a fresh session (empty identity map)."""
    async with core.db.sessions() as s:
        rows = (await s.scalars(stmt)).all()
        await s.rollback()
    return len(rows)


async def rolled_back_tick(core: Core, out: dict[str, Any], limit: int = DUE_BATCH) -> float:
    """One transaction of the tick (up to `limit` check-ins) with its closing flush, then a
    rollback; returns the flush's share."""
    async with core.db.sessions() as s:
        await s.begin()
        try:
            with count_statements(core) as statements:
                out["sent"] = await core.checkins.tick(s, limit)
                flush_started = time.perf_counter()
                await s.flush()  # what the unit of work's commit would write
                flush_s = time.perf_counter() - flush_started
            out["statements"] = statements
            out["outbox"] = await s.scalar(select(func.count()).select_from(Outbox))
            # Before the tick every seeded row was scheduled, so these are its outcomes.
            outcomes = await s.execute(
                select(CheckIn.kind, CheckIn.status, func.count())
                .where(CheckIn.status != CheckInStatus.SCHEDULED)
                .group_by(CheckIn.kind, CheckIn.status)
            )
            out["outcomes"] = Counter({f"{kind} {status}": n for kind, status, n in outcomes})
        finally:
            await s.rollback()
    return flush_s


async def nothing_due_tick(core: Core) -> None:
    async with core.db.sessions() as s:
        await s.begin()
        assert await core.checkins.tick(s) == 0
        await s.rollback()


async def with_old_sent_rows(core: Core, now: datetime) -> list[Timing]:
    """The same idle tick after years of history: every gig check-in marked sent a month ago
    (debriefs already followed up, so nothing is found), in a transaction rolled back after."""
    async with core.db.sessions() as s:
        await s.begin()
        try:
            marked = await s.execute(
                update(CheckIn)
                .where(CheckIn.kind != CheckInKind.KEEP_IN_TOUCH)
                .values(
                    status=CheckInStatus.SENT,
                    sent_at=now - timedelta(days=30),
                    coordinator_noted=True,
                )
                .execution_options(synchronize_session=False)
            )
            rows = getattr(marked, "rowcount", 0)
            stmt = follow_up_statement(now)

            async def follow_up() -> None:
                assert not (await s.scalars(stmt)).all()

            async def tick() -> None:
                assert await core.checkins.tick(s) == 0

            return [
                Timing(
                    f"unanswered-debrief query alone, {rows:,} old sent rows",
                    await timed(QUERY_RUNS, follow_up),
                    "finds nothing, but walks every sent row of any kind",
                ),
                Timing(
                    f"whole tick, nothing due, {rows:,} old sent rows",
                    await timed(QUERY_RUNS, tick),
                    "as above, after years of history (rolled back)",
                ),
            ]
        finally:
            await s.rollback()


async def batch_moment(core: Core) -> tuple[datetime, int]:
    """The due time at which about DUE_BATCH check-ins are due, and how many exactly."""
    async with core.db.sessions() as s:
        moment = await s.scalar(
            select(CheckIn.due_at)
            .where(CheckIn.status == CheckInStatus.SCHEDULED)
            .order_by(CheckIn.due_at, CheckIn.id)
            .offset(DUE_BATCH - 1)
            .limit(1)
        )
        assert moment is not None
        due_count = await s.scalar(
            select(func.count())
            .select_from(CheckIn)
            .where(CheckIn.status == CheckInStatus.SCHEDULED, CheckIn.due_at <= moment)
        )
    assert due_count is not None
    return moment, due_count


Plain = Callable[[Select[Any]], Awaitable[None]]


async def busy_timings(
    core: Core, plain: Plain, moment: datetime, out: dict[str, Any]
) -> tuple[list[Timing], list[float]]:
    """~500 due: the query both ways, and the whole tick (rolled back after each run)."""
    stmt = due_statement(moment)
    assert await orm_select(core, stmt) == DUE_BATCH
    timings = [
        Timing(
            f"due query, {DUE_BATCH} due: SELECT through the ORM",
            await timed(QUERY_RUNS, lambda: orm_select(core, stmt)),
            f"{DUE_BATCH} CheckIn objects loaded",
        ),
        Timing(
            f"due query, {DUE_BATCH} due: same SQL in plain sqlite3",
            await timed(QUERY_RUNS, lambda: plain(stmt)),
            "index scan and row fetch only",
        ),
    ]
    flushes: list[float] = []

    async def tick_once() -> None:
        flushes.append(await rolled_back_tick(core, out))

    await tick_once()  # warm the statement caches, then measure
    flushes.clear()
    tick_times = await timed(TICK_RUNS, tick_once)
    timings.append(
        Timing(
            f"{DUE_BATCH} due in one transaction (before issue 15; rolled back)",
            tick_times,
            "due query, per-row lookups, rendering, outbox rows, closing flush",
        )
    )
    timings.append(
        Timing(
            "of which the closing flush",
            flushes,
            "almost nothing left: every push flushes the session (OutboxRepo.add)",
        )
    )
    # What the job does since issue 15: TICK_BATCH per transaction (tick_in_batches), so the
    # write lock is held for one batch. (Measured after the 500: `out` keeps the 500's facts.)
    batch_out: dict[str, Any] = {}
    timings.append(
        Timing(
            f"one batch of {TICK_BATCH} (one write transaction, rolled back)",
            await timed(TICK_RUNS, lambda: rolled_back_tick(core, batch_out, TICK_BATCH)),
            f"the job sends a backlog as {DUE_BATCH // TICK_BATCH} such transactions",
        )
    )
    return timings, tick_times


async def idle_timings(core: Core, plain: Plain, now: datetime) -> list[Timing]:
    """Nothing due: what runs every minute on most minutes."""
    idle = due_statement(now)
    assert await orm_select(core, idle) == 0
    return [
        Timing(
            "due query, nothing due: SELECT through the ORM",
            await timed(QUERY_RUNS, lambda: orm_select(core, idle)),
        ),
        Timing(
            "due query, nothing due: same SQL in plain sqlite3",
            await timed(QUERY_RUNS, lambda: plain(idle)),
        ),
        Timing(
            "whole tick, nothing due (what runs every minute)",
            await timed(QUERY_RUNS, lambda: nothing_due_tick(core)),
            "due query and the unanswered-debrief query",
        ),
    ]


async def bench_due(db_url: str, path: Path, first_due: datetime) -> DueResult:
    clock = FakeClock(datetime.now(UTC))
    app = build_application(
        make_settings(db_url), clock=clock, request=FakeTelegram(clock).request()
    )
    core: Core = app.bot_data["core"]
    out: dict[str, Any] = {}
    async with app:
        await post_init(app)
        moment, due_count = await batch_moment(core)
        conn = sqlite3.connect(path)

        async def plain(stmt: Select[Any]) -> None:
            sql, values = plain_sql(stmt)
            conn.execute(sql, values).fetchall()

        clock.set(moment)
        timings, tick_times = await busy_timings(core, plain, moment, out)
        # Nothing due: the real clock, hours before the first seeded due time.
        now = datetime.now(UTC)
        assert now < first_due
        clock.set(now)
        timings += await idle_timings(core, plain, now)
        timings += await with_old_sent_rows(core, now)
        conn.close()
        await core.db.dispose()
    return DueResult(
        due_moment=moment,
        due_count=due_count,
        timings=timings,
        tick_sent=int(out["sent"]),
        tick_outbox=int(out["outbox"]),
        tick_statements=out["statements"],
        tick_outcomes=out["outcomes"],
        tick_times=tick_times,
        due_plan=query_plan(path, due_statement(moment)),
        follow_up_plan=query_plan(path, follow_up_statement(moment)),
    )


# ----- the report ---------------------------------------------------------------------------


def local(moment: datetime) -> str:
    return f"{moment.astimezone(HELSINKI):%Y-%m-%d %H:%M}"


def report(
    seeded: SeedResult,
    startup: list[StartupRuns],
    bare: float,
    due: DueResult,
    load: tuple[float, float],
) -> str:
    lines = report_intro(seeded, bare, load)
    lines += startup_rows(startup)
    lines += memory_and_due(seeded, startup, due)
    lines += tick_note(seeded, due)
    return "\n".join(lines) + "\n"


def report_intro(seeded: SeedResult, bare: float, load: tuple[float, float]) -> list[str]:
    """The run, the data and how start-up is measured, down to the start-up table's head."""
    kinds = ", ".join(f"{n:,} {kind}" for kind, n in sorted(seeded.checkins.items()))
    lines = [
        SECTION,
        "",
        f"Run {datetime.now(HELSINKI):%Y-%m-%d %H:%M} (Helsinki) on {machine()}.",
        f"Command, from the project root: `{COMMAND}`. One-minute load average "
        f"{load[0]:.2f} at the start and {load[1]:.2f} at the end: figures move with "
        "whatever else the machine runs, the tick for 500 most of all.",
        "",
        f"**Data** (setup, not measured): a fresh migrated SQLite file with {seeded.experts:,} "
        f"approved experts, {seeded.gigs:,} filled gigs starting over the next 12 months, one "
        f"accepted offer each, and {seeded.pending:,} scheduled check-ins ({kinds}) at the "
        "times `CheckIns.due_times` gives, due from "
        f"{local(seeded.first_due)} to {local(seeded.last_due)}. Bulk inserts in chunks of "
        f"{CHUNK:,}: building the rows {seeded.build_s:.1f} s, inserting and committing "
        f"{seeded.insert_s:.1f} s; the file is {seeded.db_mib:.0f} MiB.",
        "",
        f"**Start-up**: a fresh `python -m bench.checkins --startup` process per run, from "
        "spawn to ready: imports, `build_application` (fake Bot API request object), "
        "`async with app` (getMe), `post_init` (migrate, coordinators, commands, outbox flush) "
        "and one run of the check-in job's body on the real clock, with nothing due. Median "
        f"of {STARTUP_RUNS} runs after a discarded warm-up round. RSS is "
        "`ru_maxrss` (peak); *before build* is after the imports, before "
        f"`build_application`. A bare `python -c` peaks at {bare:.1f} MiB."
        + (
            " PYTHONDONTWRITEBYTECODE is set in this environment, so the project's own modules "
            "(which have no .pyc files) are compiled at every start, inside *imports*."
            if os.environ.get("PYTHONDONTWRITEBYTECODE")
            else ""
        ),
        "",
        "| database | spawn to ready | imports | build | `async with app` | post_init "
        "| tick + flush | peak RSS before build | peak RSS at ready | bot's share |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    return lines


def startup_rows(startup: list[StartupRuns]) -> list[str]:
    lines: list[str] = []
    for r in startup:
        spans = [
            ("spawned", "ready"),
            ("spawned", "imported"),
            ("imported", "built"),
            ("built", "initialized"),
            ("initialized", "post_init"),
            ("post_init", "ready"),
        ]
        cells = [ms(statistics.median(r.span(a, b))) for a, b in spans]
        before = r.median("peak_rss_before_build")
        ready = r.median("peak_rss_ready")
        lines.append(
            f"| {r.label} | {' | '.join(cells)} | {before:.1f} MiB | {ready:.1f} MiB "
            f"| {ready - before:+.1f} MiB |"
        )
    return lines


def memory_and_due(seeded: SeedResult, startup: list[StartupRuns], due: DueResult) -> list[str]:
    """Whether memory grows with the schedule; the finding-what-is-due table."""
    lines: list[str] = []
    hwm_gap = max(abs(r["hwm_ready"] - r["peak_rss_ready"]) for x in startup for r in x.runs)
    full, empty = startup[0], startup[1]
    growth = round(full.median("peak_rss_ready") - empty.median("peak_rss_ready"), 1) + 0.0
    verdict = (
        "does not grow with the schedule"
        if abs(growth) < 2.0
        else f"grows with the schedule ({growth:+.1f} MiB)"
    )
    lines += [
        "",
        f"Peak memory at ready with 100,000 pending check-ins vs an empty database: "
        f"{growth:+.1f} MiB, so memory {verdict}: nothing about the schedule is loaded into "
        "the process; the tick asks the database for what is due. Each child is forked from "
        "a small shell, because Linux carries `ru_maxrss` across exec and a child forked from "
        "the benchmark itself would report the benchmark's own peak; the child's `VmHWM` "
        f"agrees with its `ru_maxrss` within {hwm_gap:.1f} MiB in every run.",
        "",
        f"**Finding what is due** with the {seeded.pending:,} rows in place. The clock "
        f"(a FakeClock) is set to {local(due.due_moment)}, the due time of the "
        f"{DUE_BATCH}th check-in, when {due.due_count:,} are due (the tick takes "
        f"{DUE_BATCH}); *nothing due* uses the real clock. Queries: median of {QUERY_RUNS} "
        f"runs, each in a fresh session; ticks: median of {TICK_RUNS} runs after a warm-up, "
        "each rolled back so every run sees the same data.",
        "",
        "| step | median | min | max | |",
        "|---|---:|---:|---:|---|",
    ]
    for t in due.timings:
        lines.append(
            f"| {t.label} | {ms(statistics.median(t.times))} | {ms(min(t.times))} "
            f"| {ms(max(t.times))} | {t.note} |"
        )
    return lines


def tick_note(seeded: SeedResult, due: DueResult) -> list[str]:
    """What one tick for a batch did, and the query plans."""
    lines: list[str] = []
    statements = ", ".join(f"{n:,} {word}" for word, n in due.tick_statements.most_common())
    outcomes = ", ".join(f"{n:,} {what}" for what, n in sorted(due.tick_outcomes.items()))
    per_row = statistics.median(due.tick_times) / DUE_BATCH
    answered = any(what.startswith(CheckInKind.REMINDER) for what in due.tick_outcomes)
    lines += [
        "",
        f"One tick for {DUE_BATCH} due handled {due.tick_sent} check-ins ({outcomes}"
        + ("; a reminder is marked answered as it is sent" if answered else "")
        + "), about "
        f"{per_row * 1000:.1f} ms each, inside one write transaction (the job now sends "
        f"them {TICK_BATCH} per transaction). The moment lies "
        f"{(due.due_moment - seeded.first_due).total_seconds() / 86400:.1f} days after the "
        "first due time, so, as after that much downtime, preps and reminders of gigs that "
        "have already started are dropped unsent. It wrote "
        f"{due.tick_outbox} outbox rows (youth experts' debriefs add an alert for the "
        f"coordinator) and ran {sum(due.tick_statements.values()):,} SQL statements "
        f"({statements}): the rows' experts, gigs and offers are loaded one by one, and every "
        "outbox row is inserted by a flush of its own.",
        "",
        f"Query plans (SQLite, no ANALYZE): due query: `{due.due_plan}`; unanswered-debrief "
        f"query: `{due.follow_up_plan}`.",
    ]
    return lines


def write_section(section: str, path: Path = DOC) -> None:
    """Replace this benchmark's section of the file (or add it at the end), leaving every
    other byte of the file as it is. The file is re-read right before writing."""
    text = path.read_text() if path.exists() else "# Benchmarks\n"
    pattern = re.compile(rf"^{re.escape(SECTION)}\n.*?(?=^## |\Z)", re.MULTILINE | re.DOTALL)
    match = pattern.search(text)
    if match:
        # Keep the blank line before a following section, if there is one.
        rest = text[match.end() :]
        block = section + ("\n" if rest else "")
        text = text[: match.start()] + block + rest
    else:
        separator = "" if text.endswith("\n\n") else ("\n" if text.endswith("\n") else "\n\n")
        text = text + separator + section
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


async def main() -> None:
    load_before = os.getloadavg()[0]
    with tempfile.TemporaryDirectory(prefix="bench-checkins-") as tmp:
        workdir = Path(tmp)
        path = workdir / "full.sqlite3"
        url = sqlite_url(path)
        settings = make_settings(url)
        db = Database(url)
        await db.migrate()
        progress("seeding ...")
        seeded = await seed(db, settings)
        await db.dispose()  # closing the last connection checkpoints the WAL
        seeded.db_mib = path.stat().st_size / MIB
        progress(f"seeded {seeded.pending:,} check-ins in {seeded.build_s + seeded.insert_s:.1f} s")
        startup, bare = await bench_startup(url, workdir)
        progress("start-up done; timing the due query ...")
        due = await bench_due(url, path, seeded.first_due)
    section = report(seeded, startup, bare, due, (load_before, os.getloadavg()[0]))
    print(section)
    if quick():
        return
    write_section(section)
    progress(f"written to {DOC}")


if __name__ == "__main__":
    logging.basicConfig(level=logging.ERROR)
    if len(sys.argv) == 3 and sys.argv[1] == "--startup":
        startup_child(sys.argv[2])
    else:
        if options("bench.checkins", __doc__):
            use_quick_sizes()
        asyncio.run(main())
