"""Benchmark for issue 15: the cost of the commonest update, in CPU time and statements.

Run from the project root:  .venv/bin/python -m bench.hotpath [--quick]

`/mygigs` from registered experts, each update stored in the inbox first (as long polling
hands it over), then handled by the real Application (`process_update`) against the sandbox's
fake Bot API, in one process on a fresh SQLite file. Prints, over 3 runs (min / median /
max), the CPU time per update (user + system of the whole process, less sensitive to a loaded
machine than the wall clock), the wall time per update, and the SQL statements per update
(BEGIN and COMMIT not counted: on SQLite, BEGIN IMMEDIATE goes to the driver directly when
the write lock is free). The first updates of each run warm up and are not timed. Prints
only (docs/benchmarks.md holds the figures with their machine and load).
"""

from __future__ import annotations

import asyncio
import os
import statistics
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import event
from telegram import Update
from telegram.ext import Application

import bot.app as composition
from bench import load, machine, options, progress, quick
from bench.seed import TOKEN, seed_people
from bot.app import build_application, post_init, post_shutdown
from bot.budget import SendBudget
from bot.polling import CHATS_IN_FLIGHT, DurablePoller
from bot.sandbox.fakebot import FakeTelegram
from bot.settings import load_settings
from storage.db import Database
from storage.repo import InboxRepo

AnyApplication = Application[Any, Any, Any, Any, Any, Any]

UPDATES = 300
WARM_UP = 20
RUNS = 3


def mygigs(i: int) -> dict[str, Any]:
    """bench.load's update, stored under its own id."""
    data = load.mygigs(1_000 + i, i)
    data["message"]["date"] = 0
    return data


async def _app(workdir: Path, name: str, updates: int) -> AnyApplication:
    """The real Application on a fresh, seeded SQLite file, against the fake Bot API."""
    url = f"sqlite+aiosqlite:///{workdir / f'{name}.sqlite3'}"
    db = Database(url)
    await db.migrate()
    await seed_people(db, updates)
    await db.dispose()
    settings = load_settings(
        bot_token=TOKEN, database_url=url, coordinator_ids="100", _env_file=None
    )
    return build_application(settings, request=FakeTelegram(strict=False).request())


async def one_run(workdir: Path, run: int, updates: int) -> tuple[float, float, float]:
    """(CPU ms, wall ms, statements) per timed update."""
    app = await _app(workdir, f"hot-{run}", updates)
    async with app:
        await post_init(app)
        core = app.bot_data["core"]
        data = [mygigs(i) for i in range(updates)]
        async with core.db.unit_of_work() as s:
            await InboxRepo(s).store([(d["update_id"], d) for d in data])
        parsed = [Update.de_json(d, app.bot) for d in data]
        for update in parsed[:WARM_UP]:
            await app.process_update(update)
        statements = 0

        def count(*args: Any) -> None:
            nonlocal statements
            if not str(args[2]).startswith("BEGIN"):  # on SQLite a statement of ours, or not
                statements += 1

        event.listen(core.db.engine.sync_engine, "before_cursor_execute", count)
        cpu, wall = time.process_time(), time.perf_counter()
        for update in parsed[WARM_UP:]:
            await app.process_update(update)
        cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
        event.remove(core.db.engine.sync_engine, "before_cursor_execute", count)
        await core.outbox.idle()
        await core.db.dispose()
    timed = updates - WARM_UP
    return cpu * 1000 / timed, wall * 1000 / timed, statements / timed


async def lanes_run(workdir: Path, run: int, updates: int, width: int) -> float:
    """CPU ms per timed update handled as polling hands stored updates over: through
    `DurablePoller`'s lanes, `width` chats at a time, with the send budget lifted (as in
    bench.load) so that replies are not paced."""
    with _lifted_send_budget():
        app = await _app(workdir, f"lanes-{width}-{run}", updates)
    async with app:
        await post_init(app)
        core = app.bot_data["core"]
        poller = DurablePoller(app, width=width)
        data = [mygigs(i) for i in range(updates)]
        for d in data[:WARM_UP]:
            await poller.handle_one(Update.de_json(d, app.bot))
        async with core.db.unit_of_work() as s:
            await InboxRepo(s).store([(d["update_id"], d) for d in data[WARM_UP:]])
        cpu = time.process_time()
        await poller.handle_stored()
        cpu = time.process_time() - cpu
        await post_shutdown(app)
    return cpu * 1000 / (updates - WARM_UP)


@contextmanager
def _lifted_send_budget() -> Iterator[None]:
    saved = composition.SendBudget
    composition.SendBudget = lambda clock, _rate: SendBudget(clock, 100_000.0)  # type: ignore[assignment,misc]
    try:
        yield
    finally:
        composition.SendBudget = saved  # type: ignore[misc]


def _mmm(values: list[float], fmt: str) -> str:
    return " / ".join(fmt.format(v) for v in (min(values), statistics.median(values), max(values)))


async def main() -> None:
    updates = 100 if quick() else UPDATES
    results = []
    lanes: dict[int, list[float]] = {1: [], CHATS_IN_FLIGHT: []}
    with tempfile.TemporaryDirectory(prefix="bench-hotpath-") as tmp:
        for run in range(RUNS):
            progress(f"run {run + 1}/{RUNS} (load {os.getloadavg()[0]:.2f})")
            results.append(await one_run(Path(tmp), run, updates))
            for width in lanes:  # interleaved, so that both see the same neighbours
                lanes[width].append(await lanes_run(Path(tmp), run, updates, width))
    cpu, wall, statements = (list(x) for x in zip(*results, strict=True))
    print(f"\n{machine()}\n")
    print(
        f"`/mygigs` from {updates - WARM_UP} registered experts, {RUNS} runs (min / median / max)"
    )
    print(f"- CPU per update: {_mmm(cpu, '{:.2f} ms')}")
    print(f"- wall per update: {_mmm(wall, '{:.2f} ms')}")
    print(f"- SQL statements per update (BEGIN, COMMIT not counted): {_mmm(statements, '{:.1f}')}")
    print(
        f"- CPU per update through `DurablePoller`'s lanes (replies not paced), one chat at a "
        f"time: {_mmm(lanes[1], '{:.2f} ms')}; {CHATS_IN_FLIGHT} at a time (the default): "
        f"{_mmm(lanes[CHATS_IN_FLIGHT], '{:.2f} ms')}"
    )
    print(f"- load average at the end: {', '.join(f'{x:.2f}' for x in os.getloadavg())}")


if __name__ == "__main__":
    options("bench.hotpath", __doc__)
    asyncio.run(main())
