"""Benchmark for issue 8: 10,000 updates through the real Application on SQLite.

Run from the project root:  .venv/bin/python -m bench.mix

A realistic mix of updates (offer answers, debrief check-in answers, order-form messages) goes
through `Application.process_update`, exactly as python-telegram-bot hands over an update that
arrived by polling or webhook: our handlers, their unit of work on SQLite, the outbox flush and
every reply run for real against the in-process fake Bot API the tests use
(bot/sandbox/fakebot.py). Nothing inside the bot is mocked. The same updates then go through a
bare python-telegram-bot echo bot on the same fake, the framework's floor.

Each run is a fresh subprocess (forked from a small shell, so `ru_maxrss` is its own) on its
own copy of one seeded database, and every run imports one copy of the source taken at the
start, so all of them measure the same code even if the tree changes meanwhile. Results are
printed as Markdown and written to docs/benchmarks.md.
"""

from __future__ import annotations

import asyncio
import heapq
import json
import logging
import math
import os
import random
import re
import resource
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
import tracemalloc
import warnings
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from datetime import time as dtime
from pathlib import Path
from typing import Any, Literal

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession
from telegram import Update
from telegram.ext import (
    Application,
    ApplicationBuilder,
    CallbackQueryHandler,
    ContextTypes,
    MessageHandler,
    filters,
)

from bench import machine, options, progress, quick
from bench.dispatch import make_settings
from bench.seed import (
    HELSINKI,
    TOKEN,
    Row,
    checkin_row,
    expert_profile,
    fee_row,
    gig_values,
    insert_rows,
    offer_row,
    user_row,
)
from bot import vocab
from bot.app import build_application, post_init
from bot.core import Core
from bot.sandbox.fakebot import Button, FakeTelegram, Sent
from storage.db import Database
from storage.models import (
    Base,
    CheckIn,
    CheckInKind,
    CheckInStatus,
    Draft,
    ExpertProfile,
    Fee,
    Gig,
    GigStatus,
    Offer,
    OfferStatus,
    Outbox,
    OutboxStatus,
    Role,
    User,
)

# ----- the mix ------------------------------------------------------------------------------

EXPERTS = 1_000
ORDERERS = 1_000
GIGS_PER_GROUP = 4  # open gigs per (region, topic) group; each offered to the whole group
SEATS = 2  # per open gig: two experts accept, the rest of the group declines
PAST_GIGS = 1_500  # filled gigs of the last 80 days, two experts each: 3,000 debriefs
ORDER_MESSAGES = 3  # per orderer: /neworder, the organisation, one more message
CONCURRENCY = 8
GAP = CONCURRENCY  # updates of one person (or one gig) are at least this far apart
SEED = 8
TRACE_UPDATES = 1_000  # the separate tracemalloc run

COORDINATOR_TG = 100  # make_settings names this id as the coordinator
EXPERT_TG_BASE = 1_000_000
ORDERER_TG_BASE = 2_000_000
COORDINATOR_ID = 1
COORDINATOR = "Kaisa Koordinaattori"
FIRST_EXPERT_ID = 2
FIRST_ORDERER_ID = FIRST_EXPERT_ID + EXPERTS


def use_quick_sizes() -> None:
    """--quick: about 250 updates instead of 10,000 (see bench/__init__.py). The wall time
    is mostly the outbox draining at the send rate, so the mix shrinks, not just the data."""
    global GROUPS, EXPERTS, ORDERERS, GIGS_PER_GROUP, PAST_GIGS, TRACE_UPDATES, FIRST_ORDERER_ID
    GROUPS = GROUPS[:24]
    # Two experts in each group: the fewest a gig of two seats needs.
    EXPERTS, ORDERERS, GIGS_PER_GROUP, PAST_GIGS, TRACE_UPDATES = 2 * len(GROUPS), 50, 1, 50, 100
    FIRST_ORDERER_ID = FIRST_EXPERT_ID + EXPERTS


# Message ids of what the seeded history put in people's chats; far above the fake's own.
OFFER_MSG_BASE = 50_000_000
CHECKIN_MSG_BASE = 60_000_000
STATUS_MSG_BASE = 70_000_000

GROUPS = [(r, t) for r in vocab.REGIONS for t in vocab.TOPICS]
if quick():
    use_quick_sizes()

SECTION = "## Load: 10,000 updates (issue 8)"
COMMAND_LINE = "- Load mix (issue 8): `.venv/bin/python -m bench.mix`"
DOC = Path(__file__).resolve().parent.parent / "docs" / "benchmarks.md"
DOC_HEADER = (
    "# Benchmarks\n\n"
    "Each benchmark runs from the project root and rewrites its own section below:\n\n"
)

# Linux carries ru_maxrss across exec: a child forked from this process (which built all the
# rows) would report our peak. Forked from a small shell it counts only its own.
TRAMPOLINE = ["/bin/sh", "-c", '"$@"; exit $?', "sh"]

Scenario = Literal["ours-seq", "ours-conc", "echo-seq", "echo-conc"]
SCENARIOS: tuple[Scenario, ...] = ("echo-seq", "echo-conc", "ours-seq", "ours-conc")
KINDS = {
    "accept": "offer: accept (`of:a:<id>`)",
    "decline": "offer: decline (`of:d:<id>`)",
    "checkin": "debrief check-in: score 4 (`ck:4:<id>`)",
    "order_start": "order form: `/neworder`",
    "order_org": "order form: organisation typed",
    "order_typed": "order form: gig type typed, not pressed",
    "order_resume": "order form: `/neworder` again (resume)",
}


def expert_tg(uid: int) -> int:
    return EXPERT_TG_BASE + uid - FIRST_EXPERT_ID


def orderer_tg(uid: int) -> int:
    return ORDERER_TG_BASE + uid - FIRST_ORDERER_ID


def person_name(uid: int) -> str:
    """The name in the database equals the one Telegram sends, so nobody is renamed."""
    return f"Asiantuntija {uid}" if uid < FIRST_ORDERER_ID else f"Tilaaja {uid}"


# ----- seeding ------------------------------------------------------------------------------


@dataclass
class Seeded:
    """What the history left behind, to press and answer."""

    open_offers: list[tuple[int, int, int]] = field(default_factory=list)  # offer, gig, expert
    seats: dict[int, int] = field(default_factory=dict)  # open gig -> seats
    checkins: list[tuple[int, int]] = field(default_factory=list)  # check-in, expert
    messages: list[tuple[int, int, str, list[list[tuple[str, str]]]]] = field(
        default_factory=list
    )  # chat, message id, text, buttons: what the fake must know to edit
    rows: Counter[str] = field(default_factory=Counter)


SENT = {
    "status": OutboxStatus.SENT,
    "attempts": 1,
    "error": "",
    "text": "",  # the outbox forgets a delivered message's text
    "filename": None,
    "buttons": None,
}


def sent_row(chat_id: int, tag: str, message_id: int, at: datetime) -> Row:
    """An outbox row for a message delivered at `at`."""
    return SENT | {
        "chat_id": chat_id,
        "kind": "send",
        "tag": tag,
        "message_id": message_id,
        "not_before": at,
        "created_at": at,
        "sent_at": at,
    }


@dataclass
class Seeding:
    """The rows being built, and what the benchmark needs to know about them."""

    rng: random.Random
    now: datetime
    out: Seeded = field(default_factory=Seeded)
    tables: dict[type[Base], list[Row]] = field(
        default_factory=lambda: {
            m: [] for m in (User, ExpertProfile, Gig, Offer, CheckIn, Fee, Outbox)
        }
    )
    members: dict[int, list[int]] = field(default_factory=dict)  # group -> its experts
    orderer_ids: list[int] = field(default_factory=list)

    @property
    def today(self) -> date:
        return self.now.astimezone(HELSINKI).date()

    def people(self) -> None:
        """The coordinator, the experts in their (region, topic) groups, the orderers."""
        users, now = self.tables[User], self.now
        users.append(
            user_row(COORDINATOR_ID, COORDINATOR_TG, Role.COORDINATOR, now, name=COORDINATOR)
        )
        self.members = {g: [] for g in range(len(GROUPS))}
        contract = self.today + timedelta(days=3 * 365)
        for i in range(EXPERTS):
            uid = FIRST_EXPERT_ID + i
            region, topic = GROUPS[i % len(GROUPS)]
            self.members[i % len(GROUPS)].append(uid)
            users.append(user_row(uid, expert_tg(uid), Role.EXPERT, now, name=person_name(uid)))
            self.tables[ExpertProfile].append(
                expert_profile(
                    uid, now, contract, name=person_name(uid), topic=topic, region=region
                )
            )
        self.orderer_ids = [FIRST_ORDERER_ID + j for j in range(ORDERERS)]
        for u in self.orderer_ids:
            users.append(user_row(u, orderer_tg(u), Role.ORDERER, now, name=person_name(u)))

    def group_gig(self, group: int, starts_at: datetime, created: datetime, **changes: Any) -> Row:
        region, topic = GROUPS[group]
        gig = gig_values(
            starts_at,
            created,
            id=len(self.tables[Gig]) + 1,
            orderer_id=self.rng.choice(self.orderer_ids),
            region=region,
            topics=[topic],
            dispatch_mode="broadcast",
        )
        gig.update(changes)
        self.tables[Gig].append(gig)
        return gig

    def open_gig(self, group: int) -> None:
        """Offered in one broadcast to every eligible expert (the whole group), so a decline
        finds nobody new to ask, as after a real broadcast."""
        rng, now, out = self.rng, self.now, self.out
        an_hour_ago = now - timedelta(hours=1)
        day = self.today + timedelta(days=rng.randrange(7, 60))
        starts = datetime.combine(day, dtime(rng.randrange(9, 17)), tzinfo=HELSINKI)
        gig = self.group_gig(group, starts, now - timedelta(days=1))
        gig.update(seats=SEATS, deadline=starts - timedelta(days=3))
        gig_id = gig["id"]
        out.seats[gig_id] = SEATS
        status_msg = STATUS_MSG_BASE + gig_id
        self.tables[Outbox].append(
            sent_row(COORDINATOR_TG, f"status:{gig_id}", status_msg, an_hour_ago)
        )
        out.messages.append((COORDINATOR_TG, status_msg, f"Keikan {gig_id} tilanne", []))
        group_members = self.members[group]
        for rank, expert_id in enumerate(group_members, start=1):
            offer_id = len(self.tables[Offer]) + 1
            self.tables[Offer].append(
                offer_row(
                    gig_id,
                    expert_id,
                    an_hour_ago,
                    id=offer_id,
                    status=OfferStatus.OPEN,
                    answered_at=None,
                    expires_at=now + timedelta(hours=47),
                    rank=rank,
                    pool=len(group_members),
                )
            )
            chat, msg = expert_tg(expert_id), OFFER_MSG_BASE + offer_id
            self.tables[Outbox].append(sent_row(chat, f"offer:{offer_id}", msg, an_hour_ago))
            buttons = [
                [("Ilmoittaudun", f"of:a:{offer_id}"), ("En pääse", f"of:d:{offer_id}")],
                [("Miksi minä?", f"of:w:{offer_id}")],
            ]
            out.messages.append((chat, msg, f"Uusi keikka {gig_id}", buttons))
            out.open_offers.append((offer_id, gig_id, expert_id))

    def past_gig(self) -> None:
        """Filled, held, and the debrief sent to both experts a few hours after."""
        rng = self.rng
        group = rng.randrange(len(GROUPS))
        day = self.today - timedelta(days=rng.randrange(1, 80))
        starts = datetime.combine(day, dtime(rng.randrange(9, 17)), tzinfo=HELSINKI)
        created = starts - timedelta(days=rng.randrange(7, 30))
        gig = self.group_gig(
            group,
            starts,
            created,
            status=GigStatus.FILLED,
            seats=2,
            seats_filled=2,
            filled_at=created + timedelta(hours=3),
        )
        for rank, expert_id in enumerate(rng.sample(self.members[group], 2), start=1):
            self.seat(gig, expert_id, rank, len(self.members[group]), created)

    def seat(self, gig: Row, expert_id: int, rank: int, pool: int, created: datetime) -> None:
        """An accepted offer on a past gig, its fee, and the debrief sent and not answered."""
        gig_id, answered = gig["id"], created + timedelta(hours=1)
        offer_id = len(self.tables[Offer]) + 1
        checkin_id = len(self.tables[CheckIn]) + 1
        self.tables[Offer].append(
            offer_row(
                gig_id,
                expert_id,
                created,
                id=offer_id,
                answered_at=answered,
                expires_at=created + timedelta(hours=48),
                rank=rank,
                pool=pool,
            )
        )
        self.tables[Fee].append(fee_row(gig_id, expert_id, answered, amount_cents=gig["fee_cents"]))
        due = gig["starts_at"] + timedelta(minutes=gig["duration_min"], hours=3)
        self.tables[CheckIn].append(
            checkin_row(
                CheckInKind.DEBRIEF,
                expert_id,
                due,
                answered,
                id=checkin_id,
                gig_id=gig_id,
                offer_id=offer_id,
                status=CheckInStatus.SENT,
                sent_at=due,
            )
        )
        chat, msg = expert_tg(expert_id), CHECKIN_MSG_BASE + checkin_id
        self.tables[Outbox].append(sent_row(chat, f"checkin:{checkin_id}", msg, due))
        buttons = [[(str(n), f"ck:{n}:{checkin_id}") for n in range(1, 6)]]
        self.out.messages.append((chat, msg, f"Miten keikka {gig_id} meni?", buttons))
        self.out.checkins.append((checkin_id, expert_id))


async def seed(db: Database) -> Seeded:
    """1,000 experts in 190 (region, topic) groups, 1,000 orderers, 760 open gigs each offered
    to its whole group (4,000 open offers), and 1,500 past gigs with 3,000 sent debriefs."""
    seeding = Seeding(random.Random(SEED), datetime.now(UTC))
    seeding.people()
    for group in range(len(GROUPS)):
        for _ in range(GIGS_PER_GROUP):
            seeding.open_gig(group)
    for _ in range(PAST_GIGS):
        seeding.past_gig()
    seeding.out.rows = Counter(await insert_rows(db, list(seeding.tables.items())))
    return seeding.out


# ----- the updates --------------------------------------------------------------------------


def user_dict(uid: int, telegram_id: int) -> dict[str, Any]:
    return {
        "id": telegram_id,
        "is_bot": False,
        "first_name": person_name(uid),
        "language_code": "fi",
    }


def text_update(uid: int, telegram_id: int, text: str, date: int) -> dict[str, Any]:
    message: dict[str, Any] = {
        "message_id": 0,  # numbered when the order is known
        "date": date,
        "chat": {"id": telegram_id, "type": "private", "first_name": person_name(uid)},
        "from": user_dict(uid, telegram_id),
        "text": text,
    }
    if text.startswith("/"):
        message["entities"] = [{"type": "bot_command", "offset": 0, "length": len(text)}]
    return {"message": message}


def button_update(uid: int, telegram_id: int, data: str, message: dict[str, Any]) -> dict[str, Any]:
    return {
        "callback_query": {
            "id": "",  # numbered when the order is known
            "from": user_dict(uid, telegram_id),
            "chat_instance": str(telegram_id),
            "data": data,
            "message": message,
        }
    }


Item = tuple[str, dict[str, Any]]  # kind, update


def build_sequences(seeded: Seeded, rng: random.Random) -> list[list[Item]]:
    """Runs of updates that must keep their order: one gig's answers (declines first, then
    the accepts that fill it), one orderer's messages, and single check-in answers."""
    date = int(time.time())
    fake_messages = {
        (chat, mid): Sent(chat, mid, text, _buttons(rows))
        for chat, mid, text, rows in seeded.messages
    }
    by_gig: dict[int, list[tuple[int, int]]] = {}
    for offer_id, gig_id, expert_id in seeded.open_offers:
        by_gig.setdefault(gig_id, []).append((offer_id, expert_id))
    sequences: list[list[Item]] = []
    for gig_id, answers in by_gig.items():
        rng.shuffle(answers)
        seats = seeded.seats[gig_id]
        seq: list[Item] = []
        for n, (offer_id, expert_id) in enumerate(answers):
            accept = n >= len(answers) - seats
            tg = expert_tg(expert_id)
            msg = fake_messages[tg, OFFER_MSG_BASE + offer_id].as_api()
            data = f"of:{'a' if accept else 'd'}:{offer_id}"
            seq.append(("accept" if accept else "decline", button_update(expert_id, tg, data, msg)))
        sequences.append(seq)
    for checkin_id, expert_id in seeded.checkins:
        tg = expert_tg(expert_id)
        msg = fake_messages[tg, CHECKIN_MSG_BASE + checkin_id].as_api()
        sequences.append([("checkin", button_update(expert_id, tg, f"ck:4:{checkin_id}", msg))])
    for j in range(ORDERERS):
        uid = FIRST_ORDERER_ID + j
        tg = orderer_tg(uid)
        third = ("order_resume", "/neworder") if j % 2 else ("order_typed", "Luento")
        steps = [
            ("order_start", "/neworder"),
            ("order_org", f"Hyvinvointialue {j % 21 + 1}, osasto {uid}"),
            third,
        ]
        sequences.append([(kind, text_update(uid, tg, text, date)) for kind, text in steps])
    return sequences


def _buttons(rows: list[list[tuple[str, str]]]) -> list[list[Button]]:
    return [[Button(text, data) for text, data in row] for row in rows]


def interleave(sequences: list[list[Item]], rng: random.Random) -> tuple[list[Item], int]:
    """One stream mixing every sequence at random, with at least GAP updates between two
    updates of the same sequence, so a batch of CONCURRENCY never holds two of them.
    Returns the stream and how often the gap could not be kept (the very end)."""
    total = sum(len(s) for s in sequences)
    heap = [(rng.random() * total, rng.random(), i) for i in range(len(sequences))]
    heapq.heapify(heap)
    cursor = [0] * len(sequences)
    last = [-(10**9)] * len(sequences)
    stream: list[Item] = []
    violations = 0
    while heap:
        held = []
        pos = len(stream)
        while heap and pos - last[heap[0][2]] < GAP:
            held.append(heapq.heappop(heap))
        if heap:
            key, tie, i = heapq.heappop(heap)
        else:
            key, tie, i = held.pop(0)
            violations += 1
        for entry in held:
            heapq.heappush(heap, entry)
        stream.append(sequences[i][cursor[i]])
        cursor[i] += 1
        last[i] = pos
        if cursor[i] < len(sequences[i]):
            # Spread a person's next step over the rest of the run, like people taking their
            # time; keys only order the stream, positions do the spacing.
            heapq.heappush(heap, (key + GAP + rng.expovariate(1 / 300), tie, i))
    for n, (_, update) in enumerate(stream, start=1):
        update["update_id"] = n
        if "message" in update:
            update["message"]["message_id"] = 1_000_000 + n
        else:
            update["callback_query"]["id"] = str(n)
    return stream, violations


# ----- one run (in its own process) ---------------------------------------------------------


class LoadFake(FakeTelegram):
    """The tests' fake Bot API, counting calls by method and answer instead of keeping them
    (10,000 updates would otherwise leave some 30,000 recorded calls in memory)."""

    def __init__(self) -> None:
        super().__init__()
        self.by_method: Counter[str] = Counter()
        self.first_call: float | None = None  # perf_counter of the first call since reset

    def handle(self, method: str, params: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        if self.first_call is None:
            self.first_call = time.perf_counter()
        status, body = super().handle(method, params)
        self.by_method[method if status == 200 else f"{method} → {status}"] += 1
        self.calls.clear()
        self.callback_answers.clear()
        return status, body


class PacingMeter:
    """Times the outbox's rate limiter (which may sleep inside a handler's flush) without
    changing what it does."""

    def __init__(self, core: Core) -> None:
        self.inner = core.outbox.limiter.wait
        self.seconds = 0.0
        self.calls = 0
        self.waited = 0
        core.outbox.limiter.wait = self.wait  # type: ignore[method-assign]

    async def wait(
        self, chat_id: int | None, new_message: bool = True, urgent: bool = True
    ) -> None:
        t0 = time.perf_counter()
        await self.inner(chat_id, new_message, urgent)
        spent = time.perf_counter() - t0
        self.seconds += spent
        self.calls += 1
        self.waited += spent > 0.001


class Problems(logging.Handler):
    """Counts warnings and errors logged during the run, keeping the first few."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.count = 0
        self.first: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.count += 1
        if len(self.first) < 5:
            self.first.append(f"{record.levelname}: {record.getMessage()[:200]}")


def echo_application(tg: FakeTelegram) -> Application[Any, Any, Any, Any, Any, Any]:
    """The floor: the same framework, the same fake, and handlers that do nothing but reply."""

    async def echo(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        message = update.effective_message
        if message is not None and message.text:
            await message.reply_text(message.text)

    async def answer(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        if update.callback_query is not None:
            await update.callback_query.answer()

    request = tg.request()
    app = (
        ApplicationBuilder()
        .token(TOKEN)
        .request(request)
        .get_updates_request(request)
        .concurrent_updates(True)
        .build()
    )
    app.add_handler(MessageHandler(filters.TEXT, echo))
    app.add_handler(CallbackQueryHandler(answer))
    return app


def _status_mib(name: str) -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(f"{name}:"):
            return int(line.split()[1]) / 1024
    return math.nan


def peak_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


async def feed(
    app: Application[Any, Any, Any, Any, Any, Any],
    tg: LoadFake,
    updates: list[dict[str, Any]],
    concurrency: int,
) -> tuple[float, list[float], list[float]]:
    """Feed every update; returns the wall time, each process_update's latency (s) and, one
    at a time only, how long until its first Bot API call (what the person sees first).

    Parsing (Update.de_json) is in the wall time, as a real bot parses what it receives, but
    not in the latency, which is the handling alone.
    """
    latencies = [0.0] * len(updates)
    first_reply: list[float] = []

    async def one(n: int, update: Update) -> None:
        tg.first_call = None
        t0 = time.perf_counter()
        await app.process_update(update)
        latencies[n] = time.perf_counter() - t0
        if concurrency == 1:
            first_reply.append((tg.first_call or t0 + latencies[n]) - t0)

    start = time.perf_counter()
    for first in range(0, len(updates), concurrency):
        batch = [
            (n, Update.de_json(updates[n], app.bot))
            for n in range(first, min(first + concurrency, len(updates)))
        ]
        if concurrency == 1:
            await one(*batch[0])
        else:
            await asyncio.gather(*(one(n, u) for n, u in batch))
    return time.perf_counter() - start, latencies, first_reply


async def outbox_top(core: Core) -> int:
    async with core.db.unit_of_work() as s:
        return int(await s.scalar(select(func.max(Outbox.id))) or 0)


async def outcome(core: Core, outbox_before: int) -> dict[str, Any]:
    """What the database says happened: the check that the run did the real work."""

    async def counts(s: AsyncSession, column: Any, *where: Any) -> dict[str, int]:
        rows = await s.execute(select(column, func.count()).where(*where).group_by(column))
        return {str(k): int(v) for k, v in rows.all()}

    async with core.db.unit_of_work() as s:
        return {
            "offers": await counts(s, Offer.status),
            "debriefs_scored_4": await counts(
                s, CheckIn.status, CheckIn.kind == CheckInKind.DEBRIEF, CheckIn.score == 4
            ),
            "drafts": await counts(s, Draft.step),
            "gigs": await counts(s, Gig.status),
            "outbox_new": await counts(
                s, Outbox.kind + "/" + Outbox.status, Outbox.id > outbox_before
            ),
        }


async def run_child(scenario: Scenario, workdir: Path) -> dict[str, Any]:
    spec = json.loads((workdir / "updates.json").read_text())
    updates: list[dict[str, Any]] = spec["updates"]
    tg = LoadFake()
    for chat, mid, text, rows in spec["messages"]:
        tg.chat(chat).append(Sent(chat, mid, text, _buttons(rows), date=tg.now))
    del spec
    problems = Problems()
    logging.getLogger().addHandler(problems)
    ours = scenario.startswith("ours")
    core: Core | None = None
    if ours:
        db_url = f"sqlite+aiosqlite:///{workdir / f'{scenario}.sqlite3'}"
        app = build_application(make_settings(db_url), request=tg.request())
        core = app.bot_data["core"]
    else:
        app = echo_application(tg)
    concurrency = CONCURRENCY if scenario.endswith("conc") else 1
    result: dict[str, Any] = {"scenario": scenario}
    async with app:
        pacing: PacingMeter | None = None
        if core is not None:
            await post_init(app)
            pacing = PacingMeter(core)
        tg.by_method.clear()
        outbox_before = await outbox_top(core) if core is not None else 0
        result["rss_before_mib"] = _status_mib("VmRSS")
        wall, latencies, first_reply = await feed(app, tg, updates, concurrency)
        drained = time.perf_counter()
        if core is not None:
            # Handlers leave pushes to others to a background flush; wait until it is done.
            await core.outbox.idle()
            await core.outbox.flush()
        result["drain_s"] = time.perf_counter() - drained
        result["rss_after_mib"] = _status_mib("VmRSS")
        result["wall_s"] = wall
        result["latencies"] = latencies
        result["first_reply"] = first_reply
        result["api"] = dict(tg.by_method)
        if core is not None and pacing is not None:
            result["pacing"] = {
                "seconds": pacing.seconds,
                "calls": pacing.calls,
                "waited": pacing.waited,
            }
            result["outcome"] = await outcome(core, outbox_before)
            await core.db.dispose()
    result["peak_rss_mib"] = peak_rss_mib()
    result["hwm_mib"] = _status_mib("VmHWM")
    result["problems"] = problems.count
    result["first_problems"] = problems.first
    result["source"] = str(Path(core_module_file()).parent.parent)
    return result


def core_module_file() -> str:
    """Where the bot's code was imported from (the snapshot, in a child)."""
    import bot.core

    return bot.core.__file__ or ""


async def tracemalloc_child(workdir: Path, count: int) -> dict[str, Any]:
    """Python-heap peak (tracemalloc) over the first `count` updates of our bot, sequential.
    A separate, shorter run: tracing every allocation slows the handlers down."""
    spec = json.loads((workdir / "updates.json").read_text())
    tg = LoadFake()
    for chat, mid, text, rows in spec["messages"]:
        tg.chat(chat).append(Sent(chat, mid, text, _buttons(rows), date=tg.now))
    updates = spec["updates"][:count]
    del spec
    db_url = f"sqlite+aiosqlite:///{workdir / 'ours-trace.sqlite3'}"
    app = build_application(make_settings(db_url), request=tg.request())
    core: Core = app.bot_data["core"]
    async with app:
        await post_init(app)
        tracemalloc.start()
        base, _ = tracemalloc.get_traced_memory()
        wall, _, _ = await feed(app, tg, updates, 1)
        await core.outbox.idle()
        current, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        await core.db.dispose()
    return {
        "count": count,
        "base_mib": base / 2**20,
        "current_mib": current / 2**20,
        "peak_mib": peak / 2**20,
        "wall_s": wall,
    }


def child_main(argv: Sequence[str]) -> None:
    logging.basicConfig(level=logging.ERROR)
    warnings.filterwarnings("ignore", message=".*retry_after.*")
    workdir = Path(argv[1])
    if argv[0] == "trace":
        result = asyncio.run(tracemalloc_child(workdir, int(argv[2])))
        (workdir / "trace.json").write_text(json.dumps(result))
        return
    scenario: Scenario = next(s for s in SCENARIOS if s == argv[0])
    result = asyncio.run(run_child(scenario, workdir))
    (workdir / f"{scenario}.json").write_text(json.dumps(result))


def spawn(args: list[str], source: Path) -> None:
    """Run one child on the snapshot of the source (`python -m` imports from the cwd)."""
    done = subprocess.run(
        [*TRAMPOLINE, sys.executable, "-m", "bench.mix", "--child", *args],
        cwd=source,
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f"run {args[0]} failed:\n{done.stderr[-4000:]}")


# ----- the report ---------------------------------------------------------------------------


def pct(sorted_values: Sequence[float], p: float) -> float:
    """Nearest-rank percentile of an ascending list."""
    k = max(0, math.ceil(p / 100 * len(sorted_values)) - 1)
    return sorted_values[k]


def ms(seconds: float) -> str:
    value = seconds * 1000
    return f"{value:.1f} ms" if value < 100 else f"{value:.0f} ms"


LABELS: dict[str, str] = {
    "ours-seq": "**ours, sequential**",
    "ours-conc": f"**ours, {CONCURRENCY} at a time**",
    "echo-seq": "echo bot, sequential",
    "echo-conc": f"echo bot, {CONCURRENCY} at a time",
}


def fmt_counts(counts: dict[str, int]) -> str:
    return ", ".join(f"{k} {v:,}" for k, v in sorted(counts.items())) or "none"


def latency_cells(latencies: Sequence[float]) -> list[str]:
    lat = sorted(latencies)
    return [ms(pct(lat, 50)), ms(pct(lat, 90)), ms(pct(lat, 99)), ms(lat[-1])]


def drain_cell(r: dict[str, Any]) -> str:
    return "–" if r["scenario"].startswith("echo") else f"+{r['drain_s']:.1f} s"


def report(
    results: dict[str, dict[str, Any]],
    kinds: list[str],
    seeded: Seeded,
    seed_s: float,
    violations: int,
    trace: dict[str, Any] | None,
    load: tuple[float, float],
) -> str:
    lines = report_runs(results, kinds, seeded, seed_s, load)
    lines += report_kinds(results, kinds)
    lines += report_checks(results, violations)
    lines += report_heap(results["ours-seq"], trace)
    return "\n".join(lines) + "\n"


def rates(results: dict[str, dict[str, Any]], kinds: list[str]) -> dict[str, float]:
    """Updates per second of each run."""
    return {name: len(kinds) / r["wall_s"] for name, r in results.items()}


def report_runs(
    results: dict[str, dict[str, Any]],
    kinds: list[str],
    seeded: Seeded,
    seed_s: float,
    load: tuple[float, float],
) -> list[str]:
    """The run, the mix, the data, and one row per run."""
    n = len(kinds)
    now = datetime.now(HELSINKI)
    mix = Counter(kinds)
    rate = rates(results, kinds)
    lines = [
        SECTION,
        "",
        f"Run {now:%Y-%m-%d %H:%M} (Helsinki) on {machine()}.",
        "Command, from the project root: `.venv/bin/python -m bench.mix`. One-minute load "
        f"average {load[0]:.2f} at the start and {load[1]:.2f} at the end: the machine is "
        "shared, and every figure moves with whatever else it runs.",
        "",
        f"**{n:,} updates through `Application.process_update`** of the real Application "
        "(`build_application`, `concurrent_updates=True`, default settings, so the outbox "
        "paces its messages at 25 a second) on a SQLite file, against the in-process fake "
        "Bot API of the tests (`bot/sandbox/fakebot.py`: it keeps every chat's messages and "
        "checks edits against them). Nothing in the bot is mocked. Updates are handed to "
        "`process_update` directly, as a webhook would; the durable poller's own store and "
        "claim transactions (`bot/polling.py`) are not in these figures, the handlers' "
        "inbox check is. The mix, shuffled, with each person's "
        f"(and each gig's) own steps in order and at least {GAP} updates apart: "
        + "; ".join(f"{mix[k]:,} {KINDS[k]}" for k in KINDS if mix[k])
        + ".",
        "",
        f"**Data** (setup, not measured, {seed_s:.1f} s): {EXPERTS:,} approved experts in "
        f"{len(GROUPS)} groups of one region and one topic, {ORDERERS:,} orderers and one "
        f"coordinator; {len(seeded.seats):,} open gigs ({GIGS_PER_GROUP} per group, {SEATS} "
        f"seats each), each already broadcast to its whole group: {len(seeded.open_offers):,} "
        "open offers, so a decline finds nobody new to ask; each gig gets its declines, then "
        f"the {SEATS} accepts that fill it. {PAST_GIGS:,} filled gigs of the last 80 days with "
        f"{len(seeded.checkins):,} sent debrief check-ins, and the outbox rows of every message "
        f"so far (rows: {fmt_counts(dict(seeded.rows))}). Every run starts from its own copy "
        "of this database, in a fresh process.",
        "",
    ]
    lines += columns_note()
    for name in ("ours-seq", "ours-conc", "echo-seq", "echo-conc"):
        r = results[name]
        echo = "echo-conc" if name.endswith("conc") else "echo-seq"
        lines.append(
            f"| {LABELS[name]} | {rate[name]:,.1f} | {rate[name] / rate[echo]:.4f} "
            f"| {r['wall_s']:.1f} s | {drain_cell(r)} | "
            + " | ".join(latency_cells(r["latencies"]))
            + " "
            f"| {r['peak_rss_mib']:.1f} MiB "
            f"| {r['rss_after_mib'] - r['rss_before_mib']:+.1f} MiB |"
        )
    return lines


def columns_note() -> list[str]:
    """What the columns of the runs' table mean, and its head."""
    return [
        "*updates/s* is updates over the wall time of the whole feed (parsing each update "
        "included). Latency is one `await app.process_update(update)`: for our bot the "
        "handler, its unit of work and its replies to the person. Messages to others (the "
        "coordinator's status edits, calendar files, alerts) go through the outbox, which "
        "the handler leaves to a background flush (`OutboxSender.kick`) paced at 25 a "
        "second; *outbox drained* is how long after the last update that flush had "
        "delivered everything, and runs alongside the handlers until then. "
        f"*{CONCURRENCY} at a time* feeds batches of {CONCURRENCY} with `asyncio.gather`. "
        "*Peak RSS* is the run's `ru_maxrss`: the fake Bot API, holding every message it was "
        "sent, and the 10,000 updates as JSON are in the same process, and the echo runs "
        "import the same modules as ours (one script), so their RSS is a floor for this "
        "process, not for python-telegram-bot alone. *growth* is RSS after the feed minus "
        "before it.",
        "",
        "| run | updates/s | vs echo | wall | outbox drained | p50 | p90 | p99 | max "
        "| peak RSS | growth |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]


def report_kinds(results: dict[str, dict[str, Any]], kinds: list[str]) -> list[str]:
    """Ours against the echo bot, the first reply, and latency by kind of update."""
    mix = Counter(kinds)
    rate = rates(results, kinds)
    lines: list[str] = []
    seq, conc = results["ours-seq"], results["ours-conc"]
    lines += [
        "",
        f"*vs echo* is our updates/s as a share of the echo bot's in the same mode: ours is "
        f"{rate['echo-seq'] / rate['ours-seq']:,.0f} times slower sequentially and "
        f"{rate['echo-conc'] / rate['ours-conc']:,.0f} times slower {CONCURRENCY} at a time. "
        f"Concurrency changes our throughput by {rate['ours-conc'] / rate['ours-seq'] - 1:+.0%}: "
        "every unit of work on SQLite begins with `BEGIN IMMEDIATE`, so handlers (and the "
        "outbox flush) queue for the one write lock, and the time they wait shows in their "
        "latency.",
        "",
        "**Time to the first reply**, one update at a time: from the start of "
        "`process_update` to its first Bot API call (the button's answer or the first "
        "message: what the person sees first; our handlers reply after their commit): ours "
        + ", ".join(f"p{p} {ms(pct(sorted(seq['first_reply']), p))}" for p in (50, 90, 99))
        + "; echo bot "
        + ", ".join(
            f"p{p} {ms(pct(sorted(results['echo-seq']['first_reply']), p))}" for p in (50, 90, 99)
        )
        + ".",
        "",
        "**By kind of update** (our bot; latency of `process_update`, and the first reply):",
        "",
        "| update | count | sequential p50 | p90 | p99 | max | first reply p50 | p99 "
        f"| {CONCURRENCY} at a time p50 | p99 | share of sequential time |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    total_seq = sum(seq["latencies"])
    for kind, label in KINDS.items():
        if not mix[kind]:
            continue
        mine = [t for t, k in zip(seq["latencies"], kinds, strict=True) if k == kind]
        first = sorted(t for t, k in zip(seq["first_reply"], kinds, strict=True) if k == kind)
        theirs = sorted(t for t, k in zip(conc["latencies"], kinds, strict=True) if k == kind)
        lines.append(
            f"| {label} | {mix[kind]:,} | "
            + " | ".join(latency_cells(mine))
            + f" | {ms(pct(first, 50))} | {ms(pct(first, 99))}"
            + f" | {ms(pct(theirs, 50))} | {ms(pct(theirs, 99))} "
            f"| {sum(mine) / total_seq:.0%} |"
        )
    return lines


def report_checks(results: dict[str, dict[str, Any]], violations: int) -> list[str]:
    """What the database and the fake say after each run."""
    lines: list[str] = []
    lines += ["", "**Checks** (what the database and the fake say after each run):", ""]
    for name in ("ours-seq", "ours-conc", "echo-seq", "echo-conc"):
        r = results[name]
        parts = []
        if "outcome" in r:
            o = r["outcome"]
            parts += [
                f"offers {fmt_counts(o['offers'])}",
                f"debriefs scored 4: {fmt_counts(o['debriefs_scored_4'])}",
                f"order drafts by step: {fmt_counts(o['drafts'])}",
                f"gigs {fmt_counts(o['gigs'])}",
                f"outbox rows the run wrote: {fmt_counts(o['outbox_new'])}",
            ]
        if "pacing" in r:
            p = r["pacing"]
            parts.append(
                f"outbox rate limiter: {p['calls']:,} calls, {p['waited']:,} of them slept, "
                f"{p['seconds']:.1f} s in all (the feed and the drain took "
                f"{r['wall_s'] + r['drain_s']:.1f} s)"
            )
        parts.append(f"Bot API calls: {fmt_counts(r['api'])}")
        parts.append(f"warnings and errors logged: {r['problems']}")
        if r["first_problems"]:
            parts.append("first: " + " / ".join(f"`{p}`" for p in r["first_problems"]))
        lines.append(f"- {LABELS[name]}: " + "; ".join(parts) + ".")
    if violations:
        lines.append(
            f"- {violations} updates at the very end of the stream follow the previous step of "
            f"the same person or gig by fewer than {GAP} (nothing else was left to put between)."
        )
    return lines


def report_heap(seq: dict[str, Any], trace: dict[str, Any] | None) -> list[str]:
    """The tracemalloc run, if there was one."""
    lines: list[str] = []
    if trace is not None:
        untraced = sum(seq["latencies"][: trace["count"]])
        lines += [
            "",
            f"**Python heap** (tracemalloc): a separate sequential run of the first "
            f"{trace['count']:,} updates, because tracing every allocation is not cheap (that "
            f"run took {trace['wall_s']:.1f} s against {untraced:.1f} s of handling for the "
            f"same updates above). Tracing starts at the first update: the most it saw "
            f"allocated at once was {trace['peak_mib']:.1f} MiB, and {trace['current_mib']:.1f} "
            "MiB was still held after the outbox had drained.",
        ]
    return lines


def write_section(section: str, path: Path = DOC) -> None:
    """Replace this benchmark's section (or add it), and list its command at the top; every
    other byte of the file stays as it was. Read right before writing."""
    text = path.read_text() if path.exists() else DOC_HEADER
    pattern = re.compile(rf"^{re.escape(SECTION)}\n.*?(?=^## |\Z)", re.MULTILINE | re.DOTALL)
    found = pattern.search(text)
    if found:
        tail = text[found.end() :]
        text = text[: found.start()] + section + ("\n" if tail else "") + tail
    else:
        sep = "\n" if text.endswith("\n") else "\n\n"
        text = text + ("" if text.endswith("\n\n") else sep) + section
    if COMMAND_LINE not in text:
        head_end = text.find("\n## ")
        head = text if head_end < 0 else text[:head_end]
        items = list(re.finditer(r"^- .*`\.venv/bin/python -m bench\.[a-z_]+`.*$", head, re.M))
        if items:
            at = items[-1].end()
            text = text[:at] + "\n" + COMMAND_LINE + text[at:]
        else:
            at = head_end if head_end >= 0 else len(text)
            text = text[:at].rstrip("\n") + "\n\n" + COMMAND_LINE + "\n" + text[at:]
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


# ----- the whole run ------------------------------------------------------------------------


SOURCE_DIRS = ("bot", "handlers", "storage", "scheduler", "bench")


def snapshot_source(workdir: Path) -> Path:
    """A copy of the code every run imports, so they all measure one version of it."""
    root = Path(__file__).resolve().parent.parent
    target = workdir / "src"
    for name in SOURCE_DIRS:
        shutil.copytree(
            root / name, target / name, ignore=shutil.ignore_patterns("__pycache__", "*.pyc")
        )
    return target


def copy_db(src: Path, dst: Path) -> None:
    """A consistent copy through SQLite's backup API (no WAL left behind)."""
    source, target = sqlite3.connect(src), sqlite3.connect(dst)
    try:
        source.backup(target)
    finally:
        target.close()
        source.close()


async def prepare(workdir: Path) -> tuple[Seeded, float]:
    template = workdir / "template.sqlite3"
    db = Database(f"sqlite+aiosqlite:///{template}")
    t0 = time.perf_counter()
    await db.migrate()
    seeded = await seed(db)
    await db.dispose()
    return seeded, time.perf_counter() - t0


def main() -> None:
    load_at_start = os.getloadavg()[0]
    with tempfile.TemporaryDirectory(prefix="bench-mix-") as tmp:
        workdir = Path(tmp)
        source = snapshot_source(workdir)
        progress("seeding the database…")
        seeded, seed_s = asyncio.run(prepare(workdir))
        rng = random.Random(SEED)
        stream, violations = interleave(build_sequences(seeded, rng), rng)
        kinds = [k for k, _ in stream]
        (workdir / "updates.json").write_text(
            json.dumps({"updates": [u for _, u in stream], "messages": seeded.messages})
        )
        progress(f"{len(stream):,} updates ready ({Counter(kinds)}); seeding took {seed_s:.1f} s")
        results: dict[str, dict[str, Any]] = {}
        for scenario in SCENARIOS:
            if scenario.startswith("ours"):
                copy_db(workdir / "template.sqlite3", workdir / f"{scenario}.sqlite3")
            progress(f"run {scenario}…")
            spawn([scenario, str(workdir)], source)
            results[scenario] = json.loads((workdir / f"{scenario}.json").read_text())
            r = results[scenario]
            if not r["source"].startswith(str(source)):
                raise RuntimeError(f"run {scenario} imported the bot from {r['source']}")
            lat = sorted(r["latencies"])
            progress(
                f"  {len(lat) / r['wall_s']:.0f} updates/s, p50 {ms(pct(lat, 50))}, "
                f"p99 {ms(pct(lat, 99))}, peak RSS {r['peak_rss_mib']:.0f} MiB, "
                f"{r['problems']} problems logged"
            )
        trace: dict[str, Any] | None = None
        if TRACE_UPDATES:
            copy_db(workdir / "template.sqlite3", workdir / "ours-trace.sqlite3")
            progress(f"tracemalloc run over {TRACE_UPDATES:,} updates…")
            spawn(["trace", str(workdir), str(TRACE_UPDATES)], source)
            trace = json.loads((workdir / "trace.json").read_text())
    load = (load_at_start, os.getloadavg()[0])
    section = report(results, kinds, seeded, seed_s, violations, trace, load)
    print(section)
    if quick():
        return
    write_section(section)
    progress(f"written to {DOC}")


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--child":
        child_main(sys.argv[2:])
    else:
        if options("bench.mix", __doc__):
            use_quick_sizes()
        main()
