"""Coordinator commands: invites, pending orders, approve and reject."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from telegram import Update
from telegram.ext import BaseHandler, CallbackQueryHandler, CommandHandler, MessageHandler, filters

from bot.callbacks import Approval, Invite, Ranking, pack, pattern
from bot.forms import REJECT
from bot.i18n import Texts
from bot.notify import next_allowed
from bot.services.orders import Decision
from handlers import forms
from handlers.base import Ctx, Req, handles
from storage.models import Gig, GigStatus, Role
from storage.repo import GigRepo

ROLE_WORDS = {
    "expert": Role.EXPERT,
    "asiantuntija": Role.EXPERT,
    "kokemusasiantuntija": Role.EXPERT,
    "expert_sv": Role.EXPERT,
    "sakkunnig": Role.EXPERT,
    "orderer": Role.ORDERER,
    "tilaaja": Role.ORDERER,
    "bestallare": Role.ORDERER,
    "beställare": Role.ORDERER,
    "coordinator": Role.COORDINATOR,
    "koordinaattori": Role.COORDINATOR,
    "koordinator": Role.COORDINATOR,
}


@handles(Role.COORDINATOR)
async def invite(req: Req) -> None:
    """Create a one-time invite link for an expert, an orderer or a coordinator."""
    role = ROLE_WORDS.get(req.args[0].lower()) if req.args else None
    if role is None:
        req.say(
            "invite.choose_role",
            req.keyboard(
                [
                    [
                        (req.t("invite.role_expert"), pack(Invite(Role.EXPERT))),
                        (req.t("invite.role_orderer"), pack(Invite(Role.ORDERER))),
                    ],
                    [(req.t("invite.role_coordinator"), pack(Invite(Role.COORDINATOR)))],
                ]
            ),
        )
        return
    await _create(req, role)


@handles(Role.COORDINATOR)
async def invite_button(req: Req) -> None:
    role = req.pressed(Invite).role
    req.edit_markup(None)
    await _create(req, role)


async def _create(req: Req, role: str) -> None:
    inv = await req.core.access.create_invite(req.s, req.actor, role)
    await req.core.audit.record(req.s, req.actor, f"invite_{role}", "invite", 0)
    link = f"https://t.me/{req.ctx.bot.username}?start={inv.code}"
    req.say(
        "invite.created",
        role=req.t(f"invite.role_{role}"),
        link=link,
        expires=req.core.presenter.when(req.lang, inv.expires_at),
    )


def first_dates(gigs: Sequence[Gig]) -> list[Gig]:
    """A series is approved once, on its first date: its later dates are in its line."""
    seen: set[int] = set()
    out = []
    for gig in gigs:
        if gig.series_id is not None:
            if gig.series_id in seen:
                continue
            seen.add(gig.series_id)
        out.append(gig)
    return out


@handles(Role.COORDINATOR)
async def pending(req: Req) -> None:
    """List orders waiting for a decision, each with Approve / Reject."""
    gigs = await GigRepo(req.s).pending()
    if not gigs:
        req.say("coord.no_pending")
        return
    p = req.core.presenter
    gigs = first_dates(gigs)
    for gig in gigs[:20]:
        details = req.core.orders.approval_details(req.lang, gig)
        series = await req.core.orders.series_line(req.s, req.lang, gig)
        if series:
            details = req.t("series.list_item", series=series) + "\n" + details
        req.reply(
            req.t("coord.new_order", title=p.gig_title(req.lang, gig), details=details),
            req.keyboard(
                [
                    [
                        (req.t("btn.approve"), pack(Approval(True, gig.id))),
                        (req.t("btn.reject"), pack(Approval(False, gig.id))),
                    ],
                    [(req.t("btn.ranking"), pack(Ranking(gig.id)))],
                ]
            ),
        )
    if len(gigs) > 20:
        req.say("coord.more_pending", count=len(gigs) - 20)


@handles(Role.COORDINATOR)
async def decide(req: Req) -> None:
    """Approve sends offers at once; reject asks for the reason the orderer will read."""
    button = req.pressed(Approval)
    gig_id = button.gig_id
    p = req.core.presenter
    gig = await GigRepo(req.s).get(gig_id)
    if gig is None:
        req.toast("err.stale", alert=True)
        return
    if gig.status != GigStatus.PENDING:
        req.toast(
            "coord.already_decided",
            alert=True,
            title=p.gig_title(req.lang, gig),
            by=await req.core.orders.decider_name(req.s, gig),
        )
        req.edit_markup(None)
        return
    if button.approve:
        decision, gig, offered = await req.core.orders.approve(req.s, req.actor, gig_id)
        if decision is Decision.DONE:
            now = req.core.clock.now()
            wake = next_allowed(now, req.core.settings)
            req.toast(
                "coord.approved_toast_held" if offered and wake > now else "coord.approved_toast",
                count=offered,
                when=p.when(req.lang, wake),
            )
        return
    req.edit_markup(None)
    await forms.begin(req, REJECT, {"gig_id": gig_id})


async def reject_done(req: Req, values: dict[str, Any]) -> None:
    """The reason is written: the order is rejected, unless someone decided it meanwhile."""
    core = req.core
    decision, gig = await core.orders.reject(
        req.s, req.actor, int(values["gig_id"]), values["reason"]
    )
    title = core.presenter.gig_title(req.lang, gig)
    if decision is Decision.ALREADY:
        req.say("coord.already_decided", title=title, by=await core.orders.decider_name(req.s, gig))
    else:
        req.say("coord.rejected_done", title=title)


def build_handlers(texts: Texts) -> list[BaseHandler[Update, Ctx, None]]:
    forms.on_complete(REJECT, reject_done)
    return [
        CommandHandler("invite", invite),
        CommandHandler("pending", pending),
        MessageHandler(filters.Text(sorted(texts.all_variants("menu.pending"))), pending),
        CallbackQueryHandler(invite_button, pattern=pattern(Invite)),
        CallbackQueryHandler(decide, pattern=pattern(Approval)),
    ]
