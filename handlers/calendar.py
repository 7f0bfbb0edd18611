"""/calendar: a private calendar subscription for experts (their confirmed gigs) and
coordinators (every gig), served by the bot's HTTP side (bot/services/feeds.py, bot/web.py)."""

from __future__ import annotations

from telegram import Update
from telegram.ext import BaseHandler, CallbackQueryHandler, CommandHandler

from bot.callbacks import FeedAction, pack, pattern
from bot.i18n import Texts, fmt_day
from handlers.base import Ctx, Req, handles
from storage.models import Role

FEED_ROLES = (Role.EXPERT, Role.COORDINATOR)


def _link(req: Req, token: str) -> str:
    base = (req.core.settings.public_url or "").rstrip("/")
    return f"{base}/calendar/{token}.ics"


def _buttons(req: Req) -> list[list[tuple[str, str]]]:
    return [
        [(req.t("btn.feed_new"), pack(FeedAction("n")))],
        [(req.t("btn.feed_stop"), pack(FeedAction("x")))],
    ]


def _intro_key(req: Req) -> str:
    return "feed.intro_coordinator" if req.actor.role == Role.COORDINATOR else "feed.intro"


@handles(*FEED_ROLES)
async def calendar(req: Req) -> None:
    """Give a link when there is none; otherwise say since when there is one (its secret is
    not stored, so it cannot be shown again) and offer a new one or stopping it."""
    if not req.core.settings.public_url:
        req.say("feed.unavailable")
        return
    assert req.actor.user is not None
    since = await req.core.feeds.since(req.s, req.actor.user)
    if since is not None:
        day = fmt_day(since.astimezone(req.core.settings.tz).date())
        req.say("feed.exists", req.keyboard(_buttons(req)), since=day)
        return
    token = await req.core.feeds.issue(req.s, req.actor.user)
    req.say(_intro_key(req), req.keyboard(_buttons(req)[1:]), url=_link(req, token))


@handles(*FEED_ROLES)
async def feed_action(req: Req) -> None:
    action = req.pressed(FeedAction)
    assert req.actor.user is not None
    if not req.core.settings.public_url:
        req.edit(req.t("feed.unavailable"))
        return
    if action.action == "x":
        stopped = await req.core.feeds.revoke(req.s, req.actor.user)
        req.edit(req.t("feed.stopped" if stopped else "feed.none"))
        return
    token = await req.core.feeds.issue(req.s, req.actor.user)
    req.edit(req.t("feed.renewed") + "\n\n" + req.t(_intro_key(req), url=_link(req, token)))


def build_handlers(texts: Texts) -> list[BaseHandler[Update, Ctx, None]]:
    return [
        CommandHandler("calendar", calendar),
        CallbackQueryHandler(feed_action, pattern=pattern(FeedAction)),
    ]
