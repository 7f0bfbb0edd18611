"""Answers to check-ins: preparation, the debrief (with the expert's view of the gig), and
keeping in touch. Each button is checked against the person pressing it."""

from __future__ import annotations

from typing import Any

from telegram import Update
from telegram.ext import BaseHandler, CallbackQueryHandler

from bot.forms import DEBRIEF_NOTE, PAUSE
from bot.i18n import Texts
from handlers import forms
from handlers.base import Ctx, Req, handles
from storage.models import CheckIn, CheckInKind, Role


def _parts(req: Req) -> tuple[str, int]:
    data = (req.query.data or "") if req.query else ""
    _, action, raw = data.split(":")
    return action, int(raw)


async def _own(req: Req, cid: int, kind: str | None = None) -> CheckIn | None:
    row = await req.core.checkins.own(req.s, req.actor, cid)
    if row is None or (kind is not None and row.kind != kind):
        req.toast("err.stale", alert=True)
        return None
    return row


def rating_row(prefix: str, cid: int, skip: str) -> list[list[tuple[str, str]]]:
    return [
        [(str(n), f"ck:{prefix}{n}:{cid}") for n in range(1, 6)],
        [(skip, f"ck:{prefix}0:{cid}")],
    ]


@handles(Role.EXPERT)
async def prep(req: Req) -> None:
    """Ready / talk it through (how to be contacted) / step back (with one more tap)."""
    action, cid = _parts(req)
    row = await _own(req, cid, CheckInKind.PREP)
    if row is None:
        return
    core = req.core
    if action == "r":
        await core.checkins.answer(req.s, req.actor, row, "ready")
        req.edit(req.t("checkin.prep_ready"))
    elif action == "t":
        req.edit(
            req.t("checkin.prep_how"),
            req.keyboard(
                [
                    [(req.t("contact_way.talk_telegram"), f"ck:tw:{cid}")],
                    [(req.t("contact_way.talk_phone"), f"ck:tp:{cid}")],
                    [(req.t("contact_way.talk_meeting"), f"ck:tm:{cid}")],
                ]
            ),
        )
    elif action in ("tw", "tp", "tm"):
        way = {"tw": "talk_telegram", "tp": "talk_phone", "tm": "talk_meeting"}[action]
        await core.checkins.answer(req.s, req.actor, row, way)
        req.edit(req.t("checkin.prep_talk_sent", way=req.t(f"contact_way.{way}")))
    elif action == "s":
        req.edit(
            req.t("checkin.prep_step_back_confirm"),
            req.keyboard(
                [
                    [(req.t("btn.step_back_yes"), f"ck:sy:{cid}")],
                    [(req.t("btn.step_back_no"), f"ck:sn:{cid}")],
                ]
            ),
        )
    elif action == "sn":
        req.edit(req.t("expert.step_back_kept"))
    elif action == "sy":
        gig = await core.dispatch.step_back(req.s, req.actor, row.offer_id or 0)
        if gig is None:
            req.toast("err.stale", alert=True)
            return
        await core.checkins.answer(req.s, req.actor, row, "step_back")
        req.edit(req.t("expert.stepped_back", title=core.presenter.gig_title(req.lang, gig)))


@handles(Role.EXPERT)
async def debrief(req: Req) -> None:
    """How it went (1-5), then how the orderer treated them and how well the gig was prepared
    (both optional, seen by coordinators only), then a free line; one question at a time, each
    naming its gig. After a low score only the promise that a coordinator will be in touch."""
    action, cid = _parts(req)
    row = await _own(req, cid, CheckInKind.DEBRIEF)
    if row is None:
        return
    core = req.core
    skip = req.t("btn.skip")
    gig = await core.checkins.gig_of(req.s, row)
    title = core.presenter.gig_title(req.lang, gig) if gig is not None else ""
    if action in ("dc", "dp"):
        await core.checkins.answer(
            req.s, req.actor, row, "debrief_coordinator" if action == "dc" else "debrief_peer"
        )
        req.say("checkin.debrief_requested", title=title)
    elif action.isdigit() and 1 <= int(action) <= 5:
        low = await core.checkins.score(req.s, req.actor, row, int(action))
        if low:
            req.edit(req.t("checkin.low_score", score=action, title=title))
            return
        req.edit(req.t("checkin.debrief_scored", score=action, title=title))
        req.say("checkin.ask_orderer", req.keyboard(rating_row("o", cid, skip)), title=title)
    elif action[:1] == "o" and action[1:].isdigit():
        core.checkins.rate_gig(row, "orderer", int(action[1:]))
        req.edit(req.t("checkin.rated", title=title))
        req.say("checkin.ask_preparation", req.keyboard(rating_row("p", cid, skip)), title=title)
    elif action[:1] == "p" and action[1:].isdigit():
        core.checkins.rate_gig(row, "preparation", int(action[1:]))
        req.edit(req.t("checkin.rated", title=title))
        await forms.begin(req, DEBRIEF_NOTE, {"checkin_id": cid, "title": title})
    else:
        req.toast("err.stale")


@handles(Role.EXPERT)
async def keep(req: Req) -> None:
    """Still interested / pause / talk to the coordinator."""
    action, cid = _parts(req)
    row = await _own(req, cid, CheckInKind.KEEP_IN_TOUCH)
    if row is None:
        return
    core = req.core
    if action == "y":
        await core.checkins.answer(req.s, req.actor, row, "keep_yes")
        req.edit(req.t("checkin.keep_yes"))
    elif action == "p":
        await core.checkins.answer(req.s, req.actor, row, "keep_pause")
        req.edit_markup(None)
        await forms.begin(req, PAUSE)
    elif action == "t":
        await core.checkins.answer(req.s, req.actor, row, "keep_talk")
        req.edit(req.t("checkin.keep_talk"))


async def debrief_note_done(req: Req, values: dict[str, Any]) -> None:
    """The debrief's free line is kept; then the offer of a debrief talk."""
    cid = int(values["checkin_id"])
    await req.core.checkins.note(req.s, req.actor, cid, values.get("note"))
    req.say(
        "checkin.debrief_thanks",
        req.keyboard(
            [
                [(req.t("btn.debrief_coordinator"), f"ck:dc:{cid}")],
                [(req.t("btn.debrief_peer"), f"ck:dp:{cid}")],
            ]
        ),
        title=values.get("title", ""),
    )


def build_handlers(texts: Texts) -> list[BaseHandler[Update, Ctx, None]]:
    forms.on_complete(DEBRIEF_NOTE, debrief_note_done)
    return [
        CallbackQueryHandler(prep, pattern=r"^ck:(r|t|tw|tp|tm|s|sy|sn):\d{1,10}$"),
        CallbackQueryHandler(debrief, pattern=r"^ck:(dc|dp|[1-5]|o[0-5]|p[0-5]):\d{1,10}$"),
        CallbackQueryHandler(keep, pattern=r"^kt:[ypt]:\d{1,10}$"),
    ]
