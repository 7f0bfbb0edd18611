"""Ordering staff: a new request through the form, and their orders' status."""

from __future__ import annotations

from telegram.ext import BaseHandler, CommandHandler, MessageHandler, filters

from bot.forms import ORDER
from bot.i18n import Texts
from handlers import forms
from handlers.base import Req, handles
from storage.models import GigStatus, Role
from storage.repo import Gigs, Offers


@handles(Role.ORDERER)
async def new_order(req: Req) -> None:
    """Start the request form, or continue the one already in progress."""
    if await forms.resume(req):
        return
    await forms.begin(req, ORDER, intro="order.intro")


@handles(Role.ORDERER)
async def my_orders(req: Req) -> None:
    """Upcoming orders with their status and the experts confirmed so far."""
    gigs = await Gigs(req.s).of_orderer(req.actor.id, req.core.clock.now())
    if not gigs:
        req.say("order.none")
        return
    p = req.core.presenter
    lines = [req.t("order.list_header")]
    for gig in gigs:
        line = req.t(
            "order.list_item",
            title=p.gig_title(req.lang, gig),
            status=req.t(f"status.{gig.status}"),
            filled=gig.seats_filled,
            seats=gig.seats,
        )
        if gig.status in (GigStatus.OPEN, GigStatus.FILLED) and gig.seats_filled:
            names = ", ".join(await Offers(req.s).accepted_names(gig.id))
            line += "\n" + req.t("order.list_names", names=names)
        lines.append(line)
    req.reply("\n\n".join(lines))


def build_handlers(texts: Texts) -> list[BaseHandler]:
    return [
        CommandHandler("neworder", new_order),
        CommandHandler("myorders", my_orders),
        MessageHandler(filters.Text(sorted(texts.all_variants("menu.new_order"))), new_order),
        MessageHandler(filters.Text(sorted(texts.all_variants("menu.my_orders"))), my_orders),
    ]
