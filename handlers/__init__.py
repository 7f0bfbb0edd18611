"""Telegram adapters. `build_handlers()` decides the order; each module exports its own."""

from __future__ import annotations

from telegram import Update
from telegram.ext import BaseHandler

from bot.i18n import Texts
from handlers import (
    avail,
    calendar,
    calls,
    checkins,
    claims,
    common,
    coordinator,
    desk,
    expert,
    feedback,
    forms,
    gigs,
    lifecycle,
    orderer,
    papers,
    prep,
    register,
    relay,
    sessions,
)
from handlers.base import AnyApplication, Ctx


def build_handlers(texts: Texts) -> list[tuple[int, BaseHandler[Update, Ctx, None]]]:
    """Every handler with its group: commands and buttons first, free text and leftovers last."""
    ordered = [
        *common.build_handlers(texts),
        *coordinator.build_handlers(texts),
        *register.build_handlers(texts),
        *gigs.build_handlers(texts),
        *checkins.build_handlers(texts),
        *feedback.build_handlers(texts),
        *desk.build_handlers(texts),
        *orderer.build_handlers(texts),
        *expert.build_handlers(texts),
        *lifecycle.build_handlers(texts),
        *avail.build_handlers(texts),
        *calls.build_handlers(texts),
        *sessions.build_handlers(texts),
        *calendar.build_handlers(texts),
        *relay.build_handlers(texts),
        *prep.build_handlers(texts),
        *claims.build_handlers(),
        *papers.build_handlers(),
        *forms.build_handlers(),
        *common.build_fallbacks(),
    ]
    return [(0, h) for h in ordered]


def install(app: AnyApplication, texts: Texts) -> None:
    for group, handler in build_handlers(texts):
        app.add_handler(handler, group)
    app.add_error_handler(common.on_error)
