"""An expert's second thoughts: undo an answer, ask once for more time, hand a confirmed seat
to a colleague. Every button is checked against the person pressing it (their own offer)."""

from __future__ import annotations

from telegram import InlineKeyboardMarkup, Update
from telegram.ext import BaseHandler, CallbackQueryHandler

from bot.callbacks import OfferDetails, OfferMoreTime, OfferUndo, SwapAsk, SwapTo, pack, pattern
from bot.i18n import Texts
from bot.services.dispatch import MoreTime, Swap, Undo, offer_tag
from bot.services.dispatch.lifecycle import SWAP_PAGE
from handlers.base import Ctx, Req, handles
from storage.models import Offer, OfferStatus, Role


def undo_rows(req: Req, offer: Offer) -> list[list[tuple[str, str]]]:
    """The undo button for an answer just given, while the setting allows undoing."""
    if req.core.settings.undo_minutes <= 0:
        return []
    label = req.t("btn.lifecycle.undo", minutes=req.core.settings.undo_minutes)
    return [[(label, pack(OfferUndo(offer.id)))]]


def undo_markup(req: Req, offer: Offer) -> InlineKeyboardMarkup | None:
    rows = undo_rows(req, offer)
    return req.keyboard(rows) if rows else None


def details_markup(req: Req, offer: Offer) -> InlineKeyboardMarkup:
    return req.keyboard([[(req.t("btn.details"), pack(OfferDetails(offer.id)))]])


def _rows(req: Req, rows: list[list[tuple[str, str]]]) -> InlineKeyboardMarkup:
    return req.keyboard([[(req.t(key), data) for key, data in row] for row in rows])


@handles(Role.EXPERT)
async def undo(req: Req) -> None:
    """Take back an accept or a decline for a short while; after it, "too late"."""
    done = await req.core.dispatch.undo(req.s, req.actor, req.pressed(OfferUndo).offer_id)
    gig, offer = done.gig, done.offer
    if done.result is Undo.NOT_FOUND or gig is None or offer is None:
        req.toast("err.stale", alert=True)
        return
    title = req.core.presenter.gig_title(req.lang, gig)
    match done.result:
        case Undo.ACCEPT_UNDONE:
            # The confirmation (pressed) and the offer message above both say so.
            text = req.t("lifecycle.undo_accept_undone", title=title)
            req.edit(text)
            if req.actor.user is not None:
                await req.core.notifier.edit_text(req.s, req.actor.user, offer_tag(offer.id), text)
        case Undo.DECLINE_UNDONE:
            text, rows = await req.core.dispatch.lifecycle.offer_view(req.s, offer, gig, req.lang)
            req.edit(text, _rows(req, rows))
            req.toast("lifecycle.undo_decline_undone")
        case Undo.NO_SEAT:
            req.toast("lifecycle.undo_no_seat", alert=True)
            req.edit_markup(None)
        case _:
            req.toast("lifecycle.undo_too_late", alert=True)
            accepted = offer.status == OfferStatus.ACCEPTED
            req.edit_markup(details_markup(req, offer) if accepted else None)


@handles(Role.EXPERT)
async def more_time(req: Req) -> None:
    """Once per offer: keep it open longer (never past the offers' latest moment)."""
    done = await req.core.dispatch.more_time(req.s, req.actor, req.pressed(OfferMoreTime).offer_id)
    gig, offer = done.gig, done.offer
    if done.result is MoreTime.NOT_FOUND or gig is None or offer is None:
        req.toast("err.stale", alert=True)
        return
    if done.result is MoreTime.CLOSED:
        req.toast("lifecycle.more_time_closed", alert=True)
        req.edit_markup(None)
        return
    text, rows = await req.core.dispatch.lifecycle.offer_view(req.s, offer, gig, req.lang)
    req.edit(text, _rows(req, rows))
    assert offer.expires_at is not None
    until = req.core.presenter.when(req.lang, offer.expires_at)
    key: dict[object, str] = {
        MoreTime.EXTENDED: "lifecycle.more_time_extended",
        MoreTime.ALREADY: "lifecycle.more_time_already",
    }
    req.toast(key.get(done.result, "lifecycle.more_time_no_room"), alert=True, until=until)


@handles(Role.EXPERT)
async def swap_ask(req: Req) -> None:
    """Hand my seat to a colleague: a page of eligible colleagues' chosen names."""
    button = req.pressed(SwapAsk)
    seat, found = await req.core.dispatch.swap_colleagues(req.s, req.actor, button.offer_id)
    if seat.result is Swap.NOT_FOUND or seat.gig is None:
        req.toast("err.stale", alert=True)
        return
    if seat.result is not Swap.ASKED:
        req.toast("lifecycle.swap_closed", alert=True)
        return
    title = req.core.presenter.gig_title(req.lang, seat.gig)
    if not found:
        req.say("lifecycle.swap_nobody", title=title)
        return
    page = min(button.page, (len(found) - 1) // SWAP_PAGE)
    shown = found[page * SWAP_PAGE : (page + 1) * SWAP_PAGE]
    rows = [[(r.name, pack(SwapTo(button.offer_id, r.expert_id)))] for r in shown]
    nav = []
    if page > 0:
        nav.append(("◀", pack(SwapAsk(button.offer_id, page - 1, True))))
    if (page + 1) * SWAP_PAGE < len(found):
        nav.append(("▶", pack(SwapAsk(button.offer_id, page + 1, True))))
    if nav:
        rows.append(nav)
    text = req.t("lifecycle.swap_choose", title=title, count=len(found))
    if button.turn:
        req.edit(text, req.keyboard(rows))
    else:
        req.reply(text, req.keyboard(rows))


@handles(Role.EXPERT)
async def swap_to(req: Req) -> None:
    """Ask the chosen colleague; my seat stays mine until they accept."""
    button = req.pressed(SwapTo)
    done = await req.core.dispatch.ask_swap(req.s, req.actor, button.offer_id, button.user_id)
    if done.result is Swap.NOT_FOUND or done.gig is None:
        req.toast("err.stale", alert=True)
        return
    title = req.core.presenter.gig_title(req.lang, done.gig)
    keys: dict[object, str] = {
        Swap.ASKED: "lifecycle.swap_asked",
        Swap.PENDING: "lifecycle.swap_pending",
        Swap.NOT_ELIGIBLE: "lifecycle.swap_not_eligible",
    }
    req.edit(req.t(keys.get(done.result, "lifecycle.swap_closed"), title=title, name=done.name))


def build_handlers(texts: Texts) -> list[BaseHandler[Update, Ctx, None]]:
    return [
        CallbackQueryHandler(undo, pattern=pattern(OfferUndo)),
        CallbackQueryHandler(more_time, pattern=pattern(OfferMoreTime)),
        CallbackQueryHandler(swap_ask, pattern=pattern(SwapAsk)),
        CallbackQueryHandler(swap_to, pattern=pattern(SwapTo)),
    ]
