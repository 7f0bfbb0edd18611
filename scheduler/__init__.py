"""What runs when. Jobs carry no data and fixed ids; each reloads its state from the database.

`JOBS` is the whole schedule: one row per job (id, what, when). `install()` walks it. The
morning's register work is a list of unrelated daily tasks, each in its own unit of work, so
one that fails is logged and alerted at once and the others still do theirs.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass
from datetime import time
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession
from telegram.ext import Application, ContextTypes

from bot.core import Core
from bot.services.retention import purge_expired
from bot.settings import Settings
from bot.share import PERIOD, BudgetShare
from storage.leader import Leader
from storage.repo import InviteRepo

log = logging.getLogger(__name__)

# How often the leader looks for updates a gone instance stored and did not handle: they are
# handled between one and two periods after it died.
SWEEP_SECONDS = 30

JOB_DEFAULTS = {"replace_existing": True, "coalesce": True, "misfire_grace_time": 3600}

Context = ContextTypes.DEFAULT_TYPE


def _core(context: Context) -> Core:
    core: Core = context.application.bot_data["core"]
    return core


async def flush_outbox(context: Context) -> None:
    """Send what has become due: messages held over quiet hours, retries after errors, and
    (several instances on PostgreSQL) what a gone instance left in flight."""
    outbox = _core(context).outbox
    await outbox.flush(sweep=outbox.shared)


async def share_budget(context: Context) -> None:
    """Count the live instances and keep this one's part of the send budget (bot/share.py)."""
    share: BudgetShare = context.application.bot_data["share"]
    await share.step()


async def sweep_inbox(context: Context) -> None:
    """Webhook mode: handle updates an instance stored and did not live to handle (the
    leader's job; bot/web.py `WebServer.sweep`). Polling has no such rows: one instance."""
    web = context.application.bot_data.get("webhook")
    if web is not None:
        await web.sweep()


async def poll_leader(context: Context) -> None:
    """Nothing but the leader's own guard (see `led`): keeps trying to take the lead, so a
    standby notices a dead leader within LEADER_POLL_SECONDS and its status is current."""


async def purge_invites(context: Context) -> None:
    """Delete invites that expired unused, so no old link can ever work."""
    core = _core(context)
    async with core.db.unit_of_work() as s:
        removed = await InviteRepo(s).purge_expired(core.clock.now())
    if removed:
        log.info("removed %d expired invites", removed)


async def dispatch_tick(context: Context) -> None:
    """Expire offers whose time is up, send the next cascade wave, alert on deadlines."""
    core = _core(context)
    async with core.db.unit_of_work() as s:
        await core.dispatch.tick(s)
    await core.outbox.flush()


async def checkins_tick(context: Context) -> None:
    """Send the check-ins that are due, in short transactions (and follow up unanswered
    debriefs)."""
    core = _core(context)
    await core.checkins.tick_in_batches(core.db.unit_of_work)
    await core.outbox.flush()


async def calls_tick(context: Context) -> None:
    """Close the calls for interest whose deadline has passed and tell their coordinator."""
    core = _core(context)
    async with core.db.unit_of_work() as s:
        await core.calls.close_due(s)
    await core.outbox.flush()


async def sessions_tick(context: Context) -> None:
    """Remind those signed up for a support session; ask for attendance after one."""
    core = _core(context)
    async with core.db.unit_of_work() as s:
        await core.sessions.tick(s)
    await core.outbox.flush()


async def feedback_tick(context: Context) -> None:
    """Open feedback rounds for gigs that ended, close expired ones (destroying their
    secrets), alert on very low averages, and send orderers their released results."""
    core = _core(context)
    async with core.db.unit_of_work() as s:
        await core.feedback.open_due(s, context.bot.username)
        await core.feedback.close_due(s)
        await core.feedback.alert_low(s)
        await core.feedback.tell_orderers(s)
    await core.outbox.flush()


async def relay_tick(context: Context) -> None:
    """Withdraw the preparation calls whose gig was cancelled, or moved to before the call."""
    core = _core(context)
    async with core.db.unit_of_work() as s:
        await core.prep.withdraw_cancelled(s)
    await core.outbox.flush()


async def digest(context: Context) -> None:
    """The coordinators' morning message."""
    core = _core(context)
    async with core.db.unit_of_work() as s:
        await core.checkins.digest(s)
    await core.outbox.flush()


# ---- the morning's register work: unrelated tasks, one unit of work each -------------------

Task = Callable[[Core, AsyncSession], Awaitable[int | None]]


@dataclass(frozen=True)
class DailyTask:
    name: str
    run: Task
    done: str = ""  # logged with the count when the task did something


REGISTER_DAILY: tuple[DailyTask, ...] = (
    DailyTask("pauses", lambda core, s: core.experts.end_pauses(s), "pauses ended: %d"),
    DailyTask(
        "contracts", lambda core, s: core.experts.contract_reminders(s), "contract reminders: %d"
    ),
    DailyTask("keep_in_touch", lambda core, s: core.checkins.keep_in_touch(s)),
    # The keep-in-touch check-ins just scheduled go out now, not at the next tick.
    DailyTask("checkins", lambda core, s: core.checkins.tick(s)),
    DailyTask("fees", lambda core, s: core.fees.remind(s)),
    # Availability periods that have ended say nothing any more (data minimisation).
    DailyTask("availability", lambda core, s: core.availability.drop_past(s)),
    DailyTask("relay", lambda core, s: core.relay.purge(s), "relay messages deleted: %d"),
    # Money records past the Accounting Act's keeping time (bot/services/retention.py).
    DailyTask(
        "retention",
        lambda core, s: purge_expired(s, core.clock.now(), core.settings.tz),
        "money records past their keeping time deleted: %d",
    ),
)


async def run_tasks(context: Context, tasks: tuple[DailyTask, ...]) -> None:
    """Run each task in its own unit of work. A failure rolls back only that task, goes to
    the one error handler at once (logged with its traceback, coordinators alerted), and
    the next task still runs."""
    core = _core(context)
    for task in tasks:
        try:
            async with core.db.unit_of_work() as s:
                result = await task.run(core, s)
        except Exception as exc:
            log.warning("daily task %r failed; the other tasks still run", task.name)
            await context.application.process_error(None, exc, job=context.job)
            continue
        if task.done and result:
            log.info(task.done, result)
    await core.outbox.flush()


async def register_daily(context: Context) -> None:
    """Each morning: end pauses that are over, remind about contracts ending soon and fees
    still unpaid, and check in with experts who have been quiet."""
    await run_tasks(context, REGISTER_DAILY)


# ---- the schedule ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Every:
    """Repeat every `seconds`, the first run `first` seconds after start."""

    seconds: int
    first: int


@dataclass(frozen=True)
class DailyAt:
    """Once a day at this wall-clock time in the centre's time zone (follows DST)."""

    hour: int
    minute: int = 0


When = Every | DailyAt
JobCallback = Callable[[Context], Coroutine[Any, Any, None]]


@dataclass(frozen=True)
class JobSpec:
    id: str
    what: JobCallback
    when: When | Callable[[Settings], When]  # a callable when the settings decide
    # Every instance runs it (its own outbox), not only the leader (storage/leader.py).
    everywhere: bool = False

    def schedule(self, settings: Settings) -> When:
        return self.when if isinstance(self.when, Every | DailyAt) else self.when(settings)


JOBS: tuple[JobSpec, ...] = (
    JobSpec(
        "outbox:flush",
        flush_outbox,
        lambda st: Every(st.outbox_interval_seconds, first=5),
        everywhere=True,
    ),
    JobSpec("budget:share", share_budget, Every(int(PERIOD), first=1), everywhere=True),
    JobSpec("leader:poll", poll_leader, lambda st: Every(st.leader_poll_seconds, first=1)),
    JobSpec("inbox:sweep", sweep_inbox, Every(SWEEP_SECONDS, first=SWEEP_SECONDS)),
    JobSpec("dispatch:tick", dispatch_tick, Every(60, first=10)),
    JobSpec("checkins:tick", checkins_tick, Every(60, first=15)),
    JobSpec("calls:tick", calls_tick, Every(60, first=25)),
    JobSpec("sessions:tick", sessions_tick, Every(60, first=30)),
    JobSpec("feedback:tick", feedback_tick, Every(300, first=20)),
    JobSpec("relay:tick", relay_tick, Every(300, first=25)),
    JobSpec("digest:daily", digest, lambda st: DailyAt(st.digest_hour)),
    JobSpec("register:daily", register_daily, DailyAt(8, 5)),
    JobSpec("invites:purge", purge_invites, DailyAt(3, 30)),
)


def leader_of(app: Application[Any, Any, Any, Any, Any, Any]) -> Leader:
    leader: Leader = app.bot_data["leader"]
    return leader


def led(spec: JobSpec) -> JobCallback:
    """The job's callback, run only on the instance that leads (unless it runs everywhere)."""
    if spec.everywhere:
        return spec.what

    async def run(context: Context) -> None:
        if await leader_of(context.application).check():
            await spec.what(context)
        else:
            log.debug("job %s skipped: another instance leads", spec.id)

    return run


def install(app: Application[Any, Any, Any, Any, Any, Any]) -> None:
    """Put every job of `JOBS` on the application's job queue, each guarded by the leader."""
    core: Core = app.bot_data["core"]
    jq = app.job_queue
    if jq is None:
        raise RuntimeError("python-telegram-bot was installed without the job-queue extra")
    app.bot_data["leader"] = Leader(core.db.engine)
    for spec in JOBS:
        kwargs: dict[str, Any] = {"id": spec.id, **JOB_DEFAULTS}
        when = spec.schedule(core.settings)
        if isinstance(when, Every):
            jq.run_repeating(
                led(spec), interval=when.seconds, first=when.first, name=spec.id, job_kwargs=kwargs
            )
        else:
            at = time(when.hour, when.minute, tzinfo=core.settings.tz)
            jq.run_daily(led(spec), time=at, name=spec.id, job_kwargs=kwargs)
