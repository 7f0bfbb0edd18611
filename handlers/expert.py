"""Experts: offers (accept, decline), own gigs, and the profile."""

from __future__ import annotations

from telegram.ext import BaseHandler, CallbackQueryHandler, CommandHandler, MessageHandler, filters

from bot.forms import EXPERT, SUMMARY
from bot.i18n import Texts
from bot.present import gig_values
from bot.services.dispatch import Answer
from bot.services.experts import profile_values
from handlers import forms
from handlers.base import Req, handles
from storage.models import Role
from storage.repo import Offers


def _offer_id(req: Req) -> int:
    return int((req.query.data or "0").rsplit(":", 1)[1]) if req.query else 0


@handles(Role.EXPERT)
async def accept(req: Req) -> None:
    """Take a seat if one is left; the database decides who was first."""
    result = await req.core.dispatch.accept(req.s, req.actor, _offer_id(req))
    p = req.core.presenter
    gig = result.gig
    if result.answer is Answer.NOT_FOUND or gig is None:
        req.toast("err.stale", alert=True)
        return
    title = p.gig_title(req.lang, gig)
    match result.answer:
        case Answer.ACCEPTED:
            req.edit(req.t("offer.accepted", title=title))
            req.say("offer.confirmation", title=title, details=p.gig(req.lang, gig_values(gig)))
        case Answer.ALREADY:
            req.toast("offer.already_answered")
        case Answer.FILLED:
            req.edit(req.t("offer.filled_late", title=title))
        case _:
            req.edit(req.t("offer.closed", title=title))


@handles(Role.EXPERT)
async def decline(req: Req) -> None:
    """One tap, no reason asked, and no effect on later offers."""
    result = await req.core.dispatch.decline(req.s, req.actor, _offer_id(req))
    gig = result.gig
    if result.answer is Answer.NOT_FOUND or gig is None:
        req.toast("err.stale", alert=True)
        return
    title = req.core.presenter.gig_title(req.lang, gig)
    if result.answer is Answer.DECLINED:
        req.edit(req.t("offer.declined", title=title))
    else:
        req.toast("offer.already_answered")


@handles(Role.EXPERT)
async def my_gigs(req: Req) -> None:
    """Confirmed upcoming gigs, and offers still waiting for an answer."""
    p = req.core.presenter
    gigs = await req.core.dispatch.confirmed_gigs(req.s, req.actor)
    waiting = await Offers(req.s).open_for_expert(req.actor.id)
    if not gigs and not waiting:
        req.say("expert.no_gigs")
        return
    lines = []
    if gigs:
        lines.append(req.t("expert.gigs_header"))
        lines += [f"• {p.gig_title(req.lang, g)}" for g in gigs]
    if waiting:
        lines.append(req.t("expert.offers_header"))
        lines += [f"• {p.gig_title(req.lang, g)}" for _, g in waiting]
    req.reply("\n".join(lines))


@handles(Role.EXPERT)
async def profile(req: Req) -> None:
    """Show the profile with an Edit button, or continue registration if it is missing."""
    prof = await req.core.experts.profile(req.s, req.actor)
    if prof is None:
        if not await forms.resume(req):
            forms.ask_consent(req)
        return
    text = (
        req.t("expert.profile_header")
        + "\n\n"
        + req.core.presenter.profile(req.lang, profile_values(prof))
    )
    req.reply(text, req.keyboard([[(req.t("btn.edit_profile"), "pf:e")]]))


@handles(Role.EXPERT)
async def edit_profile(req: Req) -> None:
    prof = await req.core.experts.profile(req.s, req.actor)
    if prof is None:
        req.toast("err.stale")
        return
    req.edit_markup(None)
    await forms.begin(req, EXPERT, profile_values(prof), step=SUMMARY)


def build_handlers(texts: Texts) -> list[BaseHandler]:
    return [
        CommandHandler("mygigs", my_gigs),
        CommandHandler("profile", profile),
        MessageHandler(filters.Text(sorted(texts.all_variants("menu.my_gigs"))), my_gigs),
        MessageHandler(filters.Text(sorted(texts.all_variants("menu.profile"))), profile),
        CallbackQueryHandler(accept, pattern=r"^of:a:\d{1,10}$"),
        CallbackQueryHandler(decline, pattern=r"^of:d:\d{1,10}$"),
        CallbackQueryHandler(edit_profile, pattern=r"^pf:e$"),
    ]
