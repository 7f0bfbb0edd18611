"""Expense claims: the expert claims a cost for a gig (from /myfees) and sends the receipt in
the chat; coordinators see the claims in /fees and on the gig card, look at the receipt (the
bot sends it again), approve or reject with a reason."""

from __future__ import annotations

import functools
from typing import Any

from telegram import Update
from telegram.ext import BaseHandler, CallbackQueryHandler, MessageHandler, filters

from bot.callbacks import ClaimAction, ClaimStart, pattern
from bot.forms import CLAIM, CLAIM_REJECT
from bot.services.claims import ClaimView, Receipt, claim_buttons
from handlers import forms
from handlers.base import Ctx, Req, handles
from storage.models import ClaimStatus, Role


@handles(Role.EXPERT)
async def claim_start(req: Req) -> None:
    """Start a claim for the gig of one of the expert's fees."""
    fee_id = req.pressed(ClaimStart).fee_id
    await req.core.claims.claimable(req.s, req.actor, fee_id)
    await forms.begin(req, CLAIM, {"fee_id": fee_id})


async def claim_done(req: Req, values: dict[str, Any]) -> None:
    claim = await req.core.claims.open(req.s, req.actor, int(values["fee_id"]), values)
    described = req.core.claims.describe(req.lang, claim)
    if claim.status == ClaimStatus.RECEIPT:
        req.say("claims.send_receipt", claim=described)
    else:
        req.say("claims.sent", claim=described)


def _receipt(req: Req) -> Receipt | None:
    message = req.update.effective_message
    if message is None:
        return None
    if message.photo:
        biggest = message.photo[-1]  # Telegram lists the sizes smallest first
        return Receipt(biggest.file_id, "photo", "photo.jpg", biggest.file_size, "image/jpeg")
    doc = message.document
    if doc is None:
        return None
    return Receipt(doc.file_id, "document", doc.file_name or "", doc.file_size, doc.mime_type)


@handles(Role.EXPERT)
async def receipt(req: Req) -> None:
    """A photo or PDF sent in the chat: the receipt of the claim waiting for one."""
    found = _receipt(req)
    if found is None:
        req.say("claims.receipt_unexpected")
        return
    claim = await req.core.claims.attach(req.s, req.actor, found)
    req.say("claims.sent", claim=req.core.claims.describe(req.lang, claim))


def claim_card(req: Req, view: ClaimView) -> None:
    """One claim for a coordinator: whose, which gig, what, and its buttons."""
    p = req.core.presenter
    text = req.t(
        "claims.card",
        id=view.claim.id,
        name=view.name,
        title=p.gig_title(req.lang, view.gig),
        claim=req.core.claims.describe(req.lang, view.claim),
        receipt=req.t("claims.has_receipt" if view.claim.receipt_file_id else "claims.no_receipt"),
    )
    rows = [[(req.t(key), data) for key, data in row] for row in claim_buttons(view.claim)]
    req.reply(text, req.keyboard(rows))


async def claim_cards(req: Req, gig_id: int | None = None) -> int:
    """The claims waiting for a decision (of one gig, or all), each a card; how many."""
    views = await req.core.claims.pending(req.s, gig_id)
    for view in views:
        claim_card(req, view)
    return len(views)


@handles(Role.COORDINATOR)
async def claim_action(req: Req) -> None:
    """Show the receipt, approve, or ask for the reason of a rejection."""
    button = req.pressed(ClaimAction)
    claims = req.core.claims
    if button.action == "r":
        view = await claims.get(req.s, button.claim_id)
        file_id = view.claim.receipt_file_id
        if file_id is None:
            req.toast("claims.no_receipt", alert=True)
            return
        caption = req.t("claims.receipt_caption", id=view.claim.id, name=view.name)
        send = req.transport.send_stored
        photo = view.claim.receipt_kind == "photo"
        req.later(
            functools.partial(send, req.actor.telegram_id, file_id, photo=photo, caption=caption)
        )
        return
    if button.action == "a":
        view = await claims.approve(req.s, req.actor, button.claim_id)
        req.edit(req.t("claims.approved_done", id=view.claim.id, name=view.name))
        return
    await claims.get(req.s, button.claim_id)
    await forms.begin(req, CLAIM_REJECT, {"claim_id": button.claim_id})


async def claim_reject_done(req: Req, values: dict[str, Any]) -> None:
    view = await req.core.claims.reject(req.s, req.actor, int(values["claim_id"]), values["reason"])
    req.say("claims.rejected_done", id=view.claim.id, name=view.name)


def build_handlers() -> list[BaseHandler[Update, Ctx, None]]:
    forms.on_complete(CLAIM, claim_done)
    forms.on_complete(CLAIM_REJECT, claim_reject_done)
    return [
        CallbackQueryHandler(claim_start, pattern=pattern(ClaimStart)),
        CallbackQueryHandler(claim_action, pattern=pattern(ClaimAction)),
        MessageHandler(filters.PHOTO | filters.Document.ALL, receipt),
    ]
