"""The composition root: settings in, a ready Application out. No work at import time."""

from __future__ import annotations

import logging

from telegram.ext import ApplicationBuilder, ContextTypes
from telegram.request import BaseRequest

import handlers
import scheduler
from bot.botapi import AiohttpRequest
from bot.budget import SendBudget
from bot.clock import Clock, SystemClock
from bot.core import Core
from bot.metrics import Metrics
from bot.settings import Settings
from bot.share import BudgetShare
from bot.transport import Transport
from handlers.base import AnyApplication, Ctx
from handlers.menus import set_chat_commands, set_default_commands
from storage.db import Database
from storage.leader import Presence
from storage.repo import UserRepo

log = logging.getLogger(__name__)


def build_application(
    settings: Settings,
    *,
    clock: Clock | None = None,
    request: BaseRequest | None = None,
    db: Database | None = None,
) -> AnyApplication:
    """Wire handlers, scheduler and database; the database opens in post_init."""
    clock = clock or SystemClock()
    # Every Bot API call goes through the one send budget (replies first, then the outbox).
    budget = SendBudget(clock, settings.send_rate_per_second)
    builder = (
        ApplicationBuilder()
        .token(settings.bot_token.get_secret_value())
        .context_types(ContextTypes(context=Ctx))
        .post_init(post_init)
        .post_shutdown(post_shutdown)
        .concurrent_updates(True)
        .rate_limiter(budget)
    )
    if settings.telegram_base_url:
        builder = builder.base_url(settings.telegram_base_url)
    if settings.telegram_base_file_url:
        builder = builder.base_file_url(settings.telegram_base_file_url)
    if request is not None:
        builder = builder.request(request).get_updates_request(request)
    else:  # aiohttp, not python-telegram-bot's httpx: a fifth of the CPU a call (bot/botapi.py)
        builder = builder.request(AiohttpRequest()).get_updates_request(
            AiohttpRequest(connection_pool_size=1)
        )
    app = builder.build()
    core = Core.build(settings, clock, Transport(app.bot), budget, db)
    app.bot_data["core"] = core
    handlers.install(app, core.texts)
    scheduler.install(app)
    app.bot_data["metrics"] = Metrics(clock, budget, scheduler.leader_of(app))
    presence = Presence(core.db.engine)
    core.outbox.owner = presence.number
    app.bot_data["presence"] = presence
    app.bot_data["share"] = BudgetShare(budget, presence, clock)
    core.db.before_dispose += [scheduler.leader_of(app).resign, presence.end]
    return app


async def post_init(app: AnyApplication) -> None:
    """Migrate, register commands, and deliver anything left over from before a restart."""
    core: Core = app.bot_data["core"]
    await core.db.migrate()
    await presence_of(app).start()
    await app.bot_data["share"].start()  # several instances: wait for the others to make room
    async with core.db.unit_of_work() as s:
        coordinators = await core.access.ensure_coordinators(s)
        if not core.settings.coordinator_ids:
            known = len(await UserRepo(s).coordinators())
            log.warning(
                "COORDINATOR_IDS is empty: %s. To become coordinator, send /start to the bot "
                "(it answers with your Telegram id), put the id in COORDINATOR_IDS in .env "
                "and restart.",
                f"only the {known} coordinator(s) already in the database can approve orders"
                if known
                else "nobody can approve orders or invite people",
            )
    await set_default_commands(app.bot, core.texts)
    for coord in coordinators:
        if coord.telegram_id is not None:
            await set_chat_commands(
                app.bot, core.texts, coord.telegram_id, coord.role, coord.language
            )
    await core.outbox.flush()
    log.info("ready as @%s", app.bot.username)


def presence_of(app: AnyApplication) -> Presence:
    presence: Presence = app.bot_data["presence"]
    return presence


async def post_shutdown(app: AnyApplication) -> None:
    core: Core = app.bot_data["core"]
    await core.outbox.idle()
    await scheduler.leader_of(app).resign()
    await presence_of(app).end()
    await core.db.dispose()
