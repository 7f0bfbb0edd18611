"""A preparation call before a gig: the orderer proposes it, the confirmed experts accept or
suggest another time, the orderer confirms one (bot/services/prep.py)."""

from __future__ import annotations

from typing import Any

from telegram import Update
from telegram.ext import BaseHandler, CallbackQueryHandler

from bot.callbacks import PrepAnswerButton, PrepConfirm, PrepPropose, pattern
from bot.errors import Refuse
from bot.forms import PREP_CALL, PREP_SUGGEST, RELAY
from bot.i18n import Texts
from handlers import forms
from handlers.base import Ctx, Req, handles
from storage.models import Role


@handles(Role.ORDERER)
async def propose(req: Req) -> None:
    """Ask where and when the preparation call is."""
    gig = await req.core.prep.own_gig(req.s, req.actor, req.pressed(PrepPropose).gig_id)
    if await forms.longer_in_progress(req, RELAY, PREP_CALL, PREP_SUGGEST):
        return
    title = req.core.presenter.gig_title(req.lang, gig)
    await forms.begin(req, PREP_CALL, {"gig_id": gig.id, "title": title})


async def propose_done(req: Req, values: dict[str, Any]) -> None:
    """The call is proposed to every confirmed expert; the orderer gets its calendar entry."""
    gig_id, place = int(values["gig_id"]), values["place"]
    starts_at = req.core.prep.parse_time(values["starts_at"])
    try:
        asked = await req.core.prep.propose(req.s, req.actor, gig_id, starts_at, place)
    except Refuse as refused:
        if refused.key == "relay.prep.after_gig":
            raise forms.AskAgain("starts_at", refused.key) from None
        req.say(refused.key, None, **refused.args_)
        return
    req.say("relay.prep.proposed_done", count=asked)


@handles(Role.EXPERT)
async def answer(req: Req) -> None:
    """The proposed time suits me (the calendar entry follows), or I suggest another."""
    button = req.pressed(PrepAnswerButton)
    prep = req.core.prep
    if button.answer == "y":
        gig, call = await prep.accept(req.s, req.actor, button.call_id)
        when = req.core.presenter.when(req.lang, call.starts_at)
        req.edit(req.t("relay.prep.accepted_done", when=when, place=call.place))
        return
    _call, gig = await prep.call_for_expert(req.s, req.actor, button.call_id)
    if await forms.longer_in_progress(req, RELAY, PREP_CALL, PREP_SUGGEST):
        return
    title = req.core.presenter.gig_title(req.lang, gig)
    await forms.begin(req, PREP_SUGGEST, {"call_id": button.call_id, "title": title})


async def suggest_done(req: Req, values: dict[str, Any]) -> None:
    """The other time goes to the orderer, who can confirm it."""
    starts_at = req.core.prep.parse_time(values["starts_at"])
    try:
        await req.core.prep.suggest(req.s, req.actor, int(values["call_id"]), starts_at)
    except Refuse as refused:
        if refused.key == "relay.prep.after_gig":
            raise forms.AskAgain("starts_at", refused.key) from None
        req.say(refused.key, None, **refused.args_)
        return
    req.say("relay.prep.suggested_done")


@handles(Role.ORDERER)
async def confirm(req: Req) -> None:
    """Take the time an expert suggested; everyone is told, the calendar entry moves."""
    _gig, call = await req.core.prep.confirm(req.s, req.actor, req.pressed(PrepConfirm).answer_id)
    req.edit_markup(None)
    when = req.core.presenter.when(req.lang, call.starts_at)
    req.say("relay.prep.confirmed_done", when=when)


def build_handlers(texts: Texts) -> list[BaseHandler[Update, Ctx, None]]:
    forms.on_complete(PREP_CALL, propose_done)
    forms.on_complete(PREP_SUGGEST, suggest_done)
    return [
        CallbackQueryHandler(propose, pattern=pattern(PrepPropose)),
        CallbackQueryHandler(answer, pattern=pattern(PrepAnswerButton)),
        CallbackQueryHandler(confirm, pattern=pattern(PrepConfirm)),
    ]
