"""The certificate of participation: the expert asks for one (`/certificate`), a coordinator
approves it with a button, and the expert gets the PDF."""

from __future__ import annotations

from telegram import Update
from telegram.ext import BaseHandler, CallbackQueryHandler, CommandHandler

from bot.callbacks import CertApprove, pattern
from bot.i18n import fmt_day
from bot.services.certificates import parse_period
from handlers.base import Ctx, Req, handles
from storage.models import Role


@handles(Role.EXPERT)
async def certificate(req: Req) -> None:
    """`/certificate 2026` or `/certificate 1.1.2026 31.3.2026`: ask for a certificate."""
    core = req.core
    today = core.clock.now().astimezone(core.settings.tz).date()
    if not req.args:
        req.say("certificate.usage")
        return
    since, until = parse_period(req.args, today)
    count = await core.certificates.request(req.s, req.actor, since, until)
    req.say("certificate.asked", since=fmt_day(since), until=fmt_day(until), count=count)


@handles(Role.COORDINATOR)
async def certificate_approve(req: Req) -> None:
    """Approve a certificate an expert asked for; the PDF goes to them."""
    button = req.pressed(CertApprove)
    name = await req.core.certificates.approve(req.s, req.actor, button)
    req.edit_markup(None)
    req.say("certificate.approved_done", name=name)


def build_handlers() -> list[BaseHandler[Update, Ctx, None]]:
    return [
        CommandHandler("certificate", certificate),
        CallbackQueryHandler(certificate_approve, pattern=pattern(CertApprove)),
    ]
