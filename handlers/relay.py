"""A relay per gig: the orderer and the confirmed experts write to each other through the bot;
coordinators read the thread on the gig card and can join (bot/services/relay.py)."""

from __future__ import annotations

from typing import Any

from telegram import Update
from telegram.ext import BaseHandler, CallbackQueryHandler

from bot.callbacks import RelayRead, RelayWrite, pack, pattern
from bot.errors import Refuse
from bot.forms import RELAY
from bot.i18n import Texts
from handlers import forms
from handlers.base import Ctx, Req, handles
from storage.models import Role


@handles(Role.ORDERER, Role.EXPERT, Role.COORDINATOR)
async def write(req: Req) -> None:
    """Ask for the message; the next text goes to the gig's other participants."""
    gig_id = req.pressed(RelayWrite).gig_id
    relay = req.core.relay
    gig, role = await relay.check(req.s, req.actor, gig_id)
    if await forms.longer_in_progress(req, RELAY):
        return
    await forms.begin(
        req,
        RELAY,
        {
            "gig_id": gig.id,
            "title": req.core.presenter.gig_title(req.lang, gig),
            "name": await relay.name_of(req.s, req.actor.id, role, gig),
            "role": req.t(f"relay.role_{role}"),
        },
    )


async def relay_done(req: Req, values: dict[str, Any]) -> None:
    """Relay the message, checking again that the writer is still a participant (nothing is
    written before that check); if not, say why and end the question, so that the next text
    is not caught by it again."""
    try:
        sent = await req.core.relay.send(req.s, req.actor, int(values["gig_id"]), values["message"])
    except Refuse as refused:
        req.say(refused.key, None, **refused.args_)
        return
    req.say("relay.sent" if sent else "relay.sent_nobody", count=sent)


@handles(Role.COORDINATOR)
async def read(req: Req) -> None:
    """The whole thread of a gig, with a button to join it while it is open."""
    gig = await req.core.relay.gig(req.s, req.pressed(RelayRead).gig_id)
    if gig is None:
        raise Refuse("err.gig_not_found")
    text = await req.core.relay.thread(req.s, req.lang, gig)
    rows = []
    if await req.core.relay.is_open(req.s, gig):
        rows.append([(req.t("btn.relay.join"), pack(RelayWrite(gig.id)))])
    req.reply(text, req.keyboard(rows) if rows else None)


def build_handlers(texts: Texts) -> list[BaseHandler[Update, Ctx, None]]:
    forms.on_complete(RELAY, relay_done)
    return [
        CallbackQueryHandler(write, pattern=pattern(RelayWrite)),
        CallbackQueryHandler(read, pattern=pattern(RelayRead)),
    ]
