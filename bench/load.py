"""Benchmark for issue 15: what a user feels, through real long polling.

Run from the project root:  .venv/bin/python -m bench.load [--quick] [--postgres URL]

The bot runs as its own process (`bot.polling.DurablePoller`, the production path: the
inbox, the handlers' units of work, replies over HTTP) and polls a local HTTP Bot API served
by this process, which offers updates to `getUpdates` and times the answer each chat gets. A
bare python-telegram-bot echo bot (its own `Updater` long polling, default settings) takes the
same burst in the same run. Per run and scenario, on a freshly seeded database:

- burst: `BURST` `/mygigs` from as many registered experts, all offered at once; updates/s is
  the burst over the time to the last answer;
- paced: `/mygigs` offered at `RATE` a second for `PACED_SECONDS`; latency is from the moment
  an update is offered to the moment its chat's answer arrives (p50/p99).

Scenarios: `echo`; `ours-1` (one chat at a time: sequential), `ours-8` (8 chats at a time),
`ours` (the default, `bot.polling.default_width`: 16 on SQLite, 8 on PostgreSQL); on SQLite
also `ours-nolane` (the default without the in-process writer lane: writers meet at SQLite's
busy handler). The bot's send budget is
lifted for the run (`SEND_RATE_PER_SECOND` caps all sends at 28/s, Telegram's limit, which
bench.dispatch measures); here the question is how fast updates are handled.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import statistics
import sys
import tempfile
import time
from contextlib import suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from bench import machine, options, postgres_url, progress, quick
from bench.seed import EXPERT_TG_BASE, FIRST_EXPERT_ID, TOKEN, seed_people

BURST = 500
RATE = 100.0  # updates offered per second in the paced phase
PACED_SECONDS = 10.0
RUNS = int(os.environ.get("BENCH_RUNS", "3"))
PACED = int(RATE * PACED_SECONDS)
EXPERTS = max(BURST, PACED)


def use_quick_sizes() -> None:
    """--quick: a burst of 200 and 2 s at 100/s, 2 runs (unless BENCH_RUNS says otherwise):
    about a minute and a half on SQLite, most of it starting each bot and seeding its
    database, which every run of every scenario does afresh."""
    global BURST, PACED_SECONDS, PACED, EXPERTS, RUNS
    BURST, PACED_SECONDS = 200, 2.0
    PACED = int(RATE * PACED_SECONDS)
    EXPERTS = max(BURST, PACED)
    RUNS = int(os.environ.get("BENCH_RUNS", "2"))


if quick():
    use_quick_sizes()
ECHO = "echo"
SCENARIOS_SQLITE = tuple(
    os.environ.get("BENCH_SCENARIOS", "echo ours-1 ours-8 ours ours-nolane").split()
)
SCENARIOS_PG = ("echo", "ours-1", "ours-8", "ours")
BOT_USER = {"id": 999000, "is_bot": True, "first_name": "Bench", "username": "bench_bot"}
DOC = Path(__file__).resolve().parent.parent / "docs" / "benchmarks.md"
SECTION = "## conc: updates through long polling (issue 15)"


# ----- the Bot API the bot polls ------------------------------------------------------------


@dataclass
class Api:
    """A small HTTP/1.1 Bot API: getUpdates hands out what was offered (long polling), and
    every message sent is timed against the moment its chat's update was offered."""

    offered: list[dict[str, Any]] = field(default_factory=list)
    waiting: dict[int, float] = field(default_factory=dict)  # chat -> offered at
    latencies: list[float] = field(default_factory=list)
    answered_at: float = 0.0
    polled: asyncio.Event = field(default_factory=asyncio.Event)
    closing: bool = False  # answer every poll at once: the bot is being stopped
    _more: asyncio.Event = field(default_factory=asyncio.Event)
    _done: asyncio.Event = field(default_factory=asyncio.Event)
    _server: asyncio.Server | None = None
    _message_id: int = 0

    async def start(self) -> int:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        port: int = self._server.sockets[0].getsockname()[1]
        return port

    async def close(self) -> None:
        if self._server is not None:
            self._server.close()

    def offer(self, updates: list[dict[str, Any]]) -> None:
        now = time.perf_counter()
        for u in updates:
            self.waiting[u["message"]["chat"]["id"]] = now
        self.offered += updates
        self._more.set()

    def close_polls(self) -> None:
        """End the long poll in progress and answer the next ones at once, so a bot told to
        stop does not wait out its poll's timeout."""
        self.closing = True
        self._more.set()

    async def answered(self) -> None:
        if self.waiting:
            self._done.clear()
            await self._done.wait()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while request_line := await reader.readline():
                target = request_line.decode("latin-1").split()[1]
                headers: dict[str, str] = {}
                while (line := await reader.readline()) not in (b"\r\n", b"\n", b""):
                    name, _, value = line.decode("latin-1").partition(":")
                    headers[name.strip().lower()] = value.strip()
                length = int(headers.get("content-length") or 0)
                payload = await reader.readexactly(length) if length else b""
                params = _params(headers.get("content-type", ""), payload)
                method = urlsplit(target).path.rpartition("/")[2]
                data = json.dumps({"ok": True, "result": await self._answer(method, params)})
                writer.write(
                    (
                        "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                        f"Content-Length: {len(data)}\r\nConnection: keep-alive\r\n\r\n{data}"
                    ).encode()
                )
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError, IndexError):
            pass
        finally:
            writer.close()

    async def _answer(self, method: str, params: dict[str, Any]) -> Any:
        if method == "getUpdates":
            return await self._updates(params)
        if method == "getMe":
            return BOT_USER
        if method == "sendMessage":
            chat = int(params["chat_id"])
            if (since := self.waiting.pop(chat, None)) is not None:
                self.answered_at = time.perf_counter()
                self.latencies.append(self.answered_at - since)
                if not self.waiting:
                    self._done.set()
            self._message_id += 1
            return {
                "message_id": self._message_id,
                "date": int(time.time()),
                "chat": {"id": chat, "type": "private"},
                "text": str(params.get("text", "")),
            }
        return True  # deleteWebhook, setMyCommands, answerCallbackQuery ...

    async def _updates(self, params: dict[str, Any]) -> list[dict[str, Any]]:
        self.polled.set()
        offset = int(params.get("offset") or 0)
        deadline = time.perf_counter() + float(params.get("timeout") or 0)
        while True:
            fresh = [u for u in self.offered[-2 * EXPERTS :] if u["update_id"] >= offset]
            if fresh or self.closing or time.perf_counter() >= deadline:
                return fresh[:100]
            self._more.clear()
            with suppress(TimeoutError):
                await asyncio.wait_for(self._more.wait(), deadline - time.perf_counter())


def _params(content_type: str, payload: bytes) -> dict[str, Any]:
    if not payload:
        return {}
    if "json" in content_type:
        result: dict[str, Any] = json.loads(payload)
        return result
    return dict(parse_qsl(payload.decode(), keep_blank_values=True))


def mygigs(update_id: int, expert: int) -> dict[str, Any]:
    tg = EXPERT_TG_BASE + expert
    name = f"user {FIRST_EXPERT_ID + expert}"  # as seeded: nobody is renamed
    return {
        "update_id": update_id,
        "message": {
            "message_id": update_id,
            "date": int(time.time()),
            "chat": {"id": tg, "type": "private", "first_name": name},
            "from": {
                "id": tg,
                "is_bot": False,
                "first_name": name,
                "language_code": "fi",
            },
            "text": "/mygigs",
            "entities": [{"type": "bot_command", "offset": 0, "length": 7}],
        },
    }


# ----- the bots (child processes) -----------------------------------------------------------


async def run_ours(url: str, port: int, width: int | None, lane: bool) -> None:
    import bot.app as composition
    from bench.dispatch import make_settings
    from bot.app import build_application, post_init, post_shutdown
    from bot.budget import SendBudget
    from bot.polling import DurablePoller
    from storage.db import Database

    # Lift the overall send cap (see the module's docstring); everything else is as shipped.
    composition.SendBudget = lambda clock, _rate: SendBudget(clock, 100_000.0)  # type: ignore[assignment,misc]
    app = build_application(make_settings(url, port=port), db=Database(url, writer_lane=lane))
    stop = asyncio.Event()
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
    async with app:
        await post_init(app)
        await app.start()
        await DurablePoller(app, timeout=1, width=width).run(stop)
        await app.stop()
        # As `python -m bot` does: without it the database's connection threads outlive the
        # loop and the process waits for them at exit (15 s each run, until it was killed).
        await post_shutdown(app)


async def run_echo(port: int) -> None:
    from telegram import Update
    from telegram.ext import ApplicationBuilder, ContextTypes, MessageHandler, filters

    async def echo(update: Update, _context: ContextTypes.DEFAULT_TYPE) -> None:
        assert update.message is not None
        await update.message.reply_text(update.message.text or "")

    base = f"http://127.0.0.1:{port}"
    app = ApplicationBuilder().token(TOKEN).base_url(f"{base}/bot").build()
    app.add_handler(MessageHandler(filters.ALL, echo))
    stop = asyncio.Event()
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
    async with app:
        assert app.updater is not None
        await app.updater.start_polling(timeout=1)
        await app.start()
        await stop.wait()
        await app.updater.stop()
        await app.stop()


def child_main(argv: list[str]) -> None:
    scenario, url, port = argv[0], argv[1], int(argv[2])
    if scenario == ECHO:
        asyncio.run(run_echo(port))
        return

    width = int(scenario.split("-")[1]) if scenario[-1].isdigit() else None  # the default
    run = run_ours(url, port, width, lane=not scenario.endswith("nolane"))
    if profile := os.environ.get("BENCH_PROFILE"):  # where the bot's time goes: a pstats file
        import cProfile

        cProfile.runctx("asyncio.run(run)", globals(), {"run": run}, f"{profile}.{scenario}")
    else:
        asyncio.run(run)


# ----- one scenario -------------------------------------------------------------------------


async def fresh_database(url: str, workdir: Path, name: str) -> str:
    """A new database with the coordinator, an orderer and `EXPERTS` registered experts."""
    from sqlalchemy import text

    from storage.db import Database

    if url.startswith("sqlite"):
        url = f"sqlite+aiosqlite:///{workdir / (name + '.sqlite3')}"
    db = Database(url)
    if not url.startswith("sqlite"):
        async with db.engine.begin() as conn:
            await conn.execute(text("DROP SCHEMA public CASCADE"))
            await conn.execute(text("CREATE SCHEMA public"))
    await db.migrate()
    await seed_people(db, EXPERTS)
    await db.dispose()
    return url


async def scenario(name: str, url: str, workdir: Path, run: int) -> dict[str, Any]:
    url = await fresh_database(url, workdir, f"{name}-{run}")
    api = Api()
    port = await api.start()
    log = (workdir / f"{name}.log").open("ab")
    child = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bench.load",
        "--child",
        name,
        url,
        str(port),
        stdout=log,
        stderr=log,
        env={**os.environ, "LOG_LEVEL": "WARNING"},
    )
    try:
        await asyncio.wait_for(api.polled.wait(), 120)
        cpu_before = cpu_seconds(child.pid)
        started = time.perf_counter()
        api.offer([mygigs(i + 1, i) for i in range(BURST)])
        await asyncio.wait_for(api.answered(), 300)
        burst = BURST / (api.answered_at - started)
        cpu_ms = (cpu_seconds(child.pid) - cpu_before) * 1000 / BURST
        api.latencies.clear()
        started = time.perf_counter()
        for i in range(PACED):
            await asyncio.sleep(max(0.0, started + i / RATE - time.perf_counter()))
            api.offer([mygigs(BURST + i + 1, i)])
        await asyncio.wait_for(api.answered(), 300)
        paced = sorted(api.latencies)
    finally:
        api.close_polls()
        child.send_signal(signal.SIGTERM)
        try:
            await asyncio.wait_for(child.wait(), 15)
        except TimeoutError:
            child.kill()
            await child.wait()
        await api.close()
    return {"burst": burst, "p50": _pct(paced, 0.5), "p99": _pct(paced, 0.99), "cpu_ms": cpu_ms}


def cpu_seconds(pid: int) -> float:
    """The CPU time (user + system, all threads) a process has used so far (Linux /proc): per
    update, less sensitive to a loaded machine than the wall clock."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _pct(values: list[float], p: float) -> float:
    return values[min(len(values) - 1, int(p * len(values)))]


# ----- the report ---------------------------------------------------------------------------


def load_average() -> str:
    return ", ".join(f"{x:.2f}" for x in os.getloadavg())


async def measure(
    url: str, names: tuple[str, ...], workdir: Path
) -> dict[str, list[dict[str, Any]]]:
    results: dict[str, list[dict[str, Any]]] = {n: [] for n in names}
    for run in range(RUNS):
        for name in names:
            progress(f"run {run + 1}/{RUNS}: {name} (load {load_average()})")
            results[name].append(await scenario(name, url, workdir, run))
    return results


def mmm(values: list[float], fmt: str) -> str:
    return " / ".join(fmt.format(v) for v in (min(values), statistics.median(values), max(values)))


def table(backend: str, results: dict[str, list[dict[str, Any]]]) -> list[str]:
    echo = [r["burst"] for r in results[ECHO]]
    lines = [
        f"**{backend}**",
        "",
        f"| scenario | updates/s, burst of {BURST} | × the echo bot (same run) | "
        f"p50 at {RATE:.0f}/s | p99 at {RATE:.0f}/s | CPU per update in the burst |",
        "|---|---|---|---|---|---|",
    ]
    for name, runs in results.items():
        rates = [r["burst"] for r in runs]
        ratios = [r / e for r, e in zip(rates, echo, strict=True)]
        lines.append(
            f"| `{name}` | {mmm(rates, '{:.0f}')} | {mmm(ratios, '{:.2f}')} | "
            f"{mmm([r['p50'] * 1000 for r in runs], '{:.1f} ms')} | "
            f"{mmm([r['p99'] * 1000 for r in runs], '{:.1f} ms')} | "
            f"{mmm([r['cpu_ms'] for r in runs], '{:.2f} ms')} |"
        )
    return [*lines, ""]


def write_section(body: list[str]) -> None:
    text = DOC.read_text() if DOC.exists() else "# Benchmarks\n"
    start = text.find(SECTION)
    if start >= 0:
        end = text.find("\n## ", start + len(SECTION))
        text = text[:start] + text[end + 1 :] if end >= 0 else text[:start]
    DOC.write_text(text.rstrip("\n") + "\n\n" + "\n".join(body) + "\n")


def main() -> None:
    is_quick = options("bench.load", __doc__, postgres=True)
    if is_quick:
        use_quick_sizes()
    postgres = postgres_url()
    before = load_average()
    body = [
        SECTION,
        "",
        f"Machine: {machine()}. Command: `.venv/bin/python -m bench.load"
        f"{' --quick' if is_quick else ''}{' --postgres <url>' if postgres else ''}`. "
        f"Figures are min / median / max of {RUNS} runs. One-, five- and fifteen-minute load "
        f"average at the start: {before}.",
        "",
    ]
    with tempfile.TemporaryDirectory(prefix="bench-load-") as tmp:
        body += table("SQLite", asyncio.run(measure("sqlite", SCENARIOS_SQLITE, Path(tmp))))
        if postgres:
            body += table("PostgreSQL", asyncio.run(measure(postgres, SCENARIOS_PG, Path(tmp))))
    body.append(f"Load average at the end: {load_average()}.")
    print("\n".join(body))
    if not is_quick:
        write_section(body)


if __name__ == "__main__":
    if sys.argv[1:2] == ["--child"]:
        child_main(sys.argv[2:])
    else:
        main()
