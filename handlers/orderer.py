"""Ordering staff: a new request through the form (or again, pre-filled from an earlier one),
and their orders' status, a series in one line."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from telegram import Update
from telegram.ext import BaseHandler, CallbackQueryHandler, CommandHandler, MessageHandler, filters

from bot.callbacks import (
    CHECK_ITEMS,
    EarlierOrders,
    GigChange,
    OrderActions,
    OrderAgain,
    OrderCheck,
    OrderResults,
    PrepPropose,
    RelayWrite,
    SeriesDates,
    pack,
    pattern,
)
from bot.forms import ORDER, SUMMARY, DraftState
from bot.i18n import Texts
from bot.parsing import split_text
from bot.present import gig_values
from bot.services.orders import CHECKLIST, checklist_text, ticked
from handlers import forms, gigs
from handlers.base import Ctx, Req, handles
from handlers.menus import menu
from storage.models import Gig, GigStatus, Role
from storage.repo import GigRepo, OfferRepo, SeriesRepo

EARLIER_SHOWN = 8  # earlier orders offered to order again
Rows = list[list[tuple[str, str]]]


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
    title = req.core.presenter.gig_title(req.lang, gig)
    line = await req.core.orders.series_line(req.s, req.lang, gig)
    req.say(
        "reorder.received_series" if line else "order.received",
        menu(req.core.texts, req.lang, req.actor.role),
        title=title,
        series=line,
    )


def again_values(gig: Gig) -> dict[str, Any]:
    """An earlier order's answers for a new one: everything but the date and time. The
    checklist comes ticked as it was (shown on the summary, where it can be unticked)."""
    values = gig_values(gig)
    for name in ("starts_at", "companion"):
        values.pop(name, None)
    values["checklist"] = gig.checklist
    values["talk_first"] = gig.talk_first
    return values


@handles(Role.ORDERER)
async def order_again(req: Req) -> None:
    """A new order pre-filled from one's own earlier order: the date and time first, then
    the usual summary, where anything can be changed before sending."""
    gig = await gigs.authorised_gig(req, req.pressed(OrderAgain).gig_id)
    req.say("reorder.again_intro", title=req.core.presenter.gig_title(req.lang, gig))
    await forms.begin(req, ORDER, again_values(gig), editing=True, step="starts_at")


@handles(Role.ORDERER)
async def earlier_orders(req: Req) -> None:
    """The menu's "Order again": the latest orders, each a button that starts a new one."""
    if not await offer_earlier(req):
        req.say("reorder.none_earlier")


async def offer_earlier(req: Req) -> bool:
    """The picker of earlier orders to order again; false if there are none."""
    found = await GigRepo(req.s).earlier_orders(req.actor.id, EARLIER_SHOWN)
    if found:
        req.say("reorder.again_pick", req.keyboard([again_row(req, gig) for gig in found]))
    return bool(found)


def again_row(req: Req, gig: Gig) -> list[tuple[str, str]]:
    p = req.core.presenter
    label = req.t("btn.reorder.order_again_item", organisation=gig.organisation[:40])
    label += " · " + p.label(req.lang, "gig_type", gig.gig_type)
    return [(label, pack(OrderAgain(gig.id)))]


@handles(Role.ORDERER)
async def my_orders(req: Req) -> None:
    """Upcoming orders with their status and the experts confirmed so far (a series in one
    line), and "order again" for earlier ones."""
    upcoming = await GigRepo(req.s).of_orderer(req.actor.id, req.core.clock.now())
    if not upcoming:
        results = await req.core.feedback.orderer_has_rounds(req.s, req.actor.id)
        req.say(
            "order.none",
            req.keyboard([[(req.t("btn.relay.results"), pack(OrderResults()))]])
            if results
            else None,
        )
        await offer_earlier(req)
        return
    lines, rows = [req.t("order.list_header")], []
    for gig in one_per_series(upcoming):
        lines.append(await order_line(req, gig))
        rows.extend(order_rows(req, gig))
        rows.extend(await talk_rows(req, gig))
    rows.append([(req.t("btn.reorder.order_again"), pack(EarlierOrders()))])
    if await req.core.feedback.orderer_has_rounds(req.s, req.actor.id):
        rows.append([(req.t("btn.relay.results"), pack(OrderResults()))])
    parts = split_text("\n\n".join(lines))
    for part in parts[:-1]:
        req.reply(part)
    req.reply(parts[-1], req.keyboard(rows))


def one_per_series(found: Sequence[Gig]) -> list[Gig]:
    """Single orders as they are; a series once, as its next date still going ahead."""
    shown: dict[int, Gig] = {}
    out: list[Gig] = []
    for gig in found:
        if gig.series_id is None:
            out.append(gig)
            continue
        known = shown.get(gig.series_id)
        if known is None:
            shown[gig.series_id] = gig
            out.append(gig)
        elif known.status not in GigStatus.UPCOMING and gig.status in GigStatus.UPCOMING:
            shown[gig.series_id] = gig
            out[out.index(known)] = gig
    return out


async def order_line(req: Req, gig: Gig) -> str:
    """One order (for a series: its next date, and the series in one line)."""
    p = req.core.presenter
    line = req.t(
        "order.list_item",
        title=p.gig_title(req.lang, gig),
        status=req.t(f"status.{gig.status}"),
        filled=gig.seats_filled,
        seats=gig.seats,
    )
    series = await req.core.orders.series_line(req.s, req.lang, gig)
    if series:
        line = req.t("series.list_item", series=series) + "\n" + line
    if gig.status in (GigStatus.OPEN, GigStatus.FILLED) and gig.seats_filled:
        names = ", ".join(await OfferRepo(req.s).accepted_names(gig.id))
        line += "\n" + req.t("order.list_names", names=names)
    return line


def order_rows(req: Req, gig: Gig) -> Rows:
    if gig.status not in GigStatus.UPCOMING:
        return []
    row = [(req.t("btn.order_actions", id=gig.id), pack(OrderActions(gig.id)))]
    if gig.series_id is not None:
        row.append((req.t("btn.reorder.series_dates"), pack(SeriesDates(gig.id))))
    return [row]


@handles(Role.ORDERER)
async def series_dates(req: Req) -> None:
    """Every upcoming date of one's own series, each with its own actions."""
    gig = await gigs.authorised_gig(req, req.pressed(SeriesDates).gig_id)
    if gig.series_id is None:
        req.toast("err.stale")
        return
    now = req.core.clock.now()
    dates = [
        g
        for g in await SeriesRepo(req.s).dates(gig.series_id, since=now)
        if g.status in GigStatus.UPCOMING
    ]
    p = req.core.presenter
    buttons = [
        (f"{p.when(req.lang, g.starts_at)} · {req.t(f'status.{g.status}')}", OrderActions(g.id))
        for g in dates
    ]
    rows = [
        [(label, pack(b)) for label, b in buttons[i : i + 2]] for i in range(0, len(buttons), 2)
    ]
    line = await req.core.orders.series_line(req.s, req.lang, gig)
    req.say("series.dates_pick", req.keyboard(rows) if rows else None, series=line)


async def talk_rows(req: Req, gig: Gig) -> Rows:
    """The gig's relay and preparation call, while they are open."""
    rows: Rows = []
    if await req.core.relay.is_open(req.s, gig):
        rows.append([(req.t("btn.relay.to_experts", id=gig.id), pack(RelayWrite(gig.id)))])
    if await req.core.prep.can_propose(req.s, gig):
        rows.append([(req.t("btn.relay.prep_propose", id=gig.id), pack(PrepPropose(gig.id)))])
    return rows


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
    """What the orderer can do with one order: move it, change the place, cancel it, or
    order the same again."""
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
                [(req.t("btn.reorder.order_again"), pack(OrderAgain(gig.id)))],
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
        MessageHandler(
            filters.Text(sorted(texts.all_variants("menu.order_again"))), earlier_orders
        ),
        CallbackQueryHandler(order_actions, pattern=pattern(OrderActions)),
        CallbackQueryHandler(order_again, pattern=pattern(OrderAgain)),
        CallbackQueryHandler(earlier_orders, pattern=pattern(EarlierOrders)),
        CallbackQueryHandler(series_dates, pattern=pattern(SeriesDates)),
        CallbackQueryHandler(order_results, pattern=pattern(OrderResults)),
        CallbackQueryHandler(order_check, pattern=pattern(OrderCheck)),
    ]
