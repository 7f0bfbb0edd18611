"""Ordering staff: a new request through the form, and their orders' status."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from telegram import Update
from telegram.ext import BaseHandler, CallbackQueryHandler, CommandHandler, MessageHandler, filters

from bot.callbacks import (
    CHECK_ITEMS,
    GigChange,
    OrderActions,
    OrderCheck,
    OrderResults,
    PrepPropose,
    RelayWrite,
    pack,
    pattern,
)
from bot.forms import ORDER, SUMMARY, DraftState
from bot.i18n import Texts
from bot.services.orders import CHECKLIST, checklist_text, ticked
from handlers import forms, gigs
from handlers.base import Ctx, Req, handles
from handlers.menus import menu
from storage.models import Gig, GigStatus, Role
from storage.repo import GigRepo, OfferRepo


@handles(Role.ORDERER)
async def new_order(req: Req) -> None:
    """Start the request form, or continue the one already in progress."""
    if await forms.resume(req):
        return
    if await req.core.orders.first_order(req.s, req.actor.id):
        # Before the first order: what a responsible order takes, so nothing surprises later.
        req.reply(req.t("relay.check_first") + "\n\n" + _checklist(req, 0, False))
    await forms.begin(req, ORDER, intro="order.intro")


def _checklist(req: Req, mask: int, talk: bool) -> str:
    return checklist_text(req.core.presenter, req.lang, mask, talk)


def checklist_part(req: Req, state: DraftState) -> tuple[str, list[list[tuple[str, str]]]]:
    """The order summary's checklist: the items with their ticks, a toggle button for each,
    and "not yet, let's talk"."""
    mask, talk = int(state.values.get("checklist") or 0), bool(state.values.get("talk_first"))
    rows = []
    for i, item in enumerate(CHECKLIST):
        mark = "✅" if ticked(mask, i) else "⬜"
        rows.append(
            [(f"{mark} {req.t(f'btn.relay.check_{item}')}", pack(OrderCheck(CHECK_ITEMS[i])))]
        )
    mark = "✅" if talk else "⬜"
    rows.append([(f"{mark} {req.t('btn.relay.check_talk')}", pack(OrderCheck("t")))])
    return _checklist(req, mask, talk), rows


@handles(Role.ORDERER)
async def order_check(req: Req) -> None:
    """Tick or untick one item of the checklist on the order's summary."""
    item = req.pressed(OrderCheck).item
    state = await forms.load(req)
    if state is None or state.form is not ORDER or state.step != SUMMARY:
        req.toast("err.stale")
        req.edit_markup(None)
        return
    if item == "t":
        state.values["talk_first"] = not state.values.get("talk_first")
    else:
        state.values["checklist"] = int(state.values.get("checklist") or 0) ^ (1 << int(item))
    await forms.save(req, state)
    req.edit(forms.summary_text(req, state), forms.summary_markup(req, state))


async def order_done(req: Req, values: dict[str, Any]) -> None:
    """The request form is complete: it goes to the coordinators."""
    gig = await req.core.orders.submit(req.s, req.actor, values)
    req.say(
        "order.received",
        menu(req.core.texts, req.lang, req.actor.role),
        title=req.core.presenter.gig_title(req.lang, gig),
    )


@handles(Role.ORDERER)
async def my_orders(req: Req) -> None:
    """Upcoming orders with their status and the experts confirmed so far; a button to the
    audience feedback of past gigs."""
    gigs = await GigRepo(req.s).of_orderer(req.actor.id, req.core.clock.now())
    rows = []
    for g in gigs:
        if g.status in GigStatus.UPCOMING:
            rows.append([(req.t("btn.order_actions", id=g.id), pack(OrderActions(g.id)))])
        if await req.core.relay.is_open(req.s, g):
            rows.append([(req.t("btn.relay.to_experts", id=g.id), pack(RelayWrite(g.id)))])
        if await req.core.prep.can_propose(req.s, g):
            rows.append([(req.t("btn.relay.prep_propose", id=g.id), pack(PrepPropose(g.id)))])
    if await req.core.feedback.orderer_has_rounds(req.s, req.actor.id):
        rows.append([(req.t("btn.relay.results"), pack(OrderResults()))])
    text = await _order_list(req, gigs) if gigs else req.t("order.none")
    req.reply(text, req.keyboard(rows) if rows else None)


async def _order_list(req: Req, gigs: Sequence[Gig]) -> str:
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
            names = ", ".join(await OfferRepo(req.s).accepted_names(gig.id))
            line += "\n" + req.t("order.list_names", names=names)
        lines.append(line)
    return "\n\n".join(lines)


@handles(Role.ORDERER)
async def order_results(req: Req) -> None:
    """The audience feedback of the orderer's own gigs, released by the same rule as for
    everyone (never fewer than K answers)."""
    req.pressed(OrderResults)
    core = req.core
    released = await core.feedback.for_orderer(req.s, req.actor.id)
    req.reply(await core.feedback.render_all(req.s, req.lang, req.t("relay.fb_header"), released))


@handles(Role.ORDERER)
async def order_actions(req: Req) -> None:
    """What the orderer can do with one order: move it, change the place, cancel it."""
    gig_id = req.pressed(OrderActions).gig_id
    gig = await gigs.authorised_gig(req, gig_id)
    req.say(
        "order.actions",
        req.keyboard(
            [
                [
                    (req.t("btn.change_time"), pack(GigChange("ot", gig.id))),
                    (req.t("btn.change_place"), pack(GigChange("op", gig.id))),
                ],
                [(req.t("btn.cancel_order"), pack(GigChange("oc", gig.id)))],
            ]
        ),
        title=req.core.presenter.gig_title(req.lang, gig),
    )


def build_handlers(texts: Texts) -> list[BaseHandler[Update, Ctx, None]]:
    forms.on_complete(ORDER, order_done)
    forms.on_summary(ORDER, checklist_part)
    return [
        CommandHandler("neworder", new_order),
        CommandHandler("myorders", my_orders),
        MessageHandler(filters.Text(sorted(texts.all_variants("menu.new_order"))), new_order),
        MessageHandler(filters.Text(sorted(texts.all_variants("menu.my_orders"))), my_orders),
        CallbackQueryHandler(order_actions, pattern=pattern(OrderActions)),
        CallbackQueryHandler(order_results, pattern=pattern(OrderResults)),
        CallbackQueryHandler(order_check, pattern=pattern(OrderCheck)),
    ]
