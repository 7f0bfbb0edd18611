"""What runs when. Jobs carry no data and fixed ids; each reloads its state from the database."""

from __future__ import annotations

import logging
from datetime import time

from telegram.ext import Application, ContextTypes

from bot.core import Core
from storage.repo import Invites

log = logging.getLogger(__name__)

JOB_DEFAULTS = {"replace_existing": True, "coalesce": True, "misfire_grace_time": 3600}


def _core(context: ContextTypes.DEFAULT_TYPE) -> Core:
    core: Core = context.application.bot_data["core"]
    return core


async def flush_outbox(context: ContextTypes.DEFAULT_TYPE) -> None:
    """Send what has become due: messages held over quiet hours, retries after errors."""
    await _core(context).outbox.flush()


async def purge_invites(context: ContextTypes.DEFAULT_TYPE) -> None:
    """Delete invites that expired unused, so no old link can ever work."""
    core = _core(context)
    async with core.db.unit_of_work() as s:
        removed = await Invites(s).purge_expired(core.clock.now())
    if removed:
        log.info("removed %d expired invites", removed)


async def dispatch_tick(context: ContextTypes.DEFAULT_TYPE) -> None:
    """Expire offers whose time is up, send the next cascade wave, alert on deadlines."""
    core = _core(context)
    async with core.db.unit_of_work() as s:
        await core.dispatch.tick(s)
    await core.outbox.flush()


async def checkins_tick(context: ContextTypes.DEFAULT_TYPE) -> None:
    """Send the check-ins that are due (and follow up unanswered debriefs)."""
    core = _core(context)
    async with core.db.unit_of_work() as s:
        await core.checkins.tick(s)
    await core.outbox.flush()


async def feedback_tick(context: ContextTypes.DEFAULT_TYPE) -> None:
    """Open feedback rounds for gigs that ended, close expired ones (destroying their
    secrets), and alert on very low averages."""
    core = _core(context)
    async with core.db.unit_of_work() as s:
        await core.feedback.open_due(s, context.bot.username)
        await core.feedback.close_due(s)
        await core.feedback.alert_low(s)
    await core.outbox.flush()


async def digest(context: ContextTypes.DEFAULT_TYPE) -> None:
    """The coordinators' morning message."""
    core = _core(context)
    async with core.db.unit_of_work() as s:
        await core.checkins.digest(s)
    await core.outbox.flush()


async def register_daily(context: ContextTypes.DEFAULT_TYPE) -> None:
    """Each morning: end pauses that are over, remind about contracts ending soon and fees
    still unpaid, and check in with experts who have been quiet."""
    core = _core(context)
    async with core.db.unit_of_work() as s:
        ended = await core.experts.end_pauses(s)
        reminded = await core.experts.contract_reminders(s)
        await core.checkins.keep_in_touch(s)
        await core.checkins.tick(s)
        await core.fees.remind(s)
    if ended or reminded:
        log.info("pauses ended: %d, contract reminders: %d", ended, reminded)
    await core.outbox.flush()


def install(app: Application) -> None:
    core: Core = app.bot_data["core"]
    jq = app.job_queue
    if jq is None:
        raise RuntimeError("python-telegram-bot was installed without the job-queue extra")
    jq.run_repeating(
        flush_outbox,
        interval=core.settings.outbox_interval_seconds,
        first=5,
        name="outbox:flush",
        job_kwargs={"id": "outbox:flush", **JOB_DEFAULTS},
    )
    jq.run_repeating(
        dispatch_tick,
        interval=60,
        first=10,
        name="dispatch:tick",
        job_kwargs={"id": "dispatch:tick", **JOB_DEFAULTS},
    )
    jq.run_repeating(
        checkins_tick,
        interval=60,
        first=15,
        name="checkins:tick",
        job_kwargs={"id": "checkins:tick", **JOB_DEFAULTS},
    )
    jq.run_repeating(
        feedback_tick,
        interval=300,
        first=20,
        name="feedback:tick",
        job_kwargs={"id": "feedback:tick", **JOB_DEFAULTS},
    )
    jq.run_daily(
        digest,
        time=time(core.settings.digest_hour, 0, tzinfo=core.settings.tz),
        name="digest:daily",
        job_kwargs={"id": "digest:daily", **JOB_DEFAULTS},
    )
    jq.run_daily(
        register_daily,
        time=time(8, 5, tzinfo=core.settings.tz),
        name="register:daily",
        job_kwargs={"id": "register:daily", **JOB_DEFAULTS},
    )
    jq.run_daily(
        purge_invites,
        time=time(3, 30, tzinfo=core.settings.tz),
        name="invites:purge",
        job_kwargs={"id": "invites:purge", **JOB_DEFAULTS},
    )
