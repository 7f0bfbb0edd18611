"""Answers to check-ins: preparation, the debrief (with the expert's view of the gig), and
keeping in touch. Each button is checked against the person pressing it."""

from __future__ import annotations

from typing import Any, Literal

from telegram import Update
from telegram.ext import BaseHandler, CallbackQueryHandler

from bot.callbacks import (
    Coming,
    DebriefRating,
    DebriefScore,
    DebriefWith,
    KeepInTouch,
    Prep,
    pack,
    pattern,
)
from bot.forms import DEBRIEF_NOTE, PAUSE
from bot.i18n import Texts
from handlers import forms
from handlers.base import Ctx, Req, handles
from storage.models import CheckIn, CheckInKind, CheckInStatus, Role


async def _own(req: Req, cid: int, kind: str | None = None) -> CheckIn | None:
    row = await req.core.checkins.own(req.s, req.actor, cid)
    if row is None or (kind is not None and row.kind != kind):
        req.toast("err.stale", alert=True)
        return None
    return row


def rating_row(about: Literal["o", "p"], cid: int, skip: str) -> list[list[tuple[str, str]]]:
    return [
        [(str(n), pack(DebriefRating(about, n, cid))) for n in range(1, 6)],
        [(skip, pack(DebriefRating(about, 0, cid)))],
    ]


@handles(Role.EXPERT)
async def prep(req: Req) -> None:
    """Ready / talk it through (how to be contacted) / step back (with one more tap)."""
    button = req.pressed(Prep)
    action, cid = button.action, button.checkin_id
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
                    [(req.t("contact_way.talk_telegram"), pack(Prep("tw", cid)))],
                    [(req.t("contact_way.talk_phone"), pack(Prep("tp", cid)))],
                    [(req.t("contact_way.talk_meeting"), pack(Prep("tm", cid)))],
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
                    [(req.t("btn.step_back_yes"), pack(Prep("sy", cid)))],
                    [(req.t("btn.step_back_no"), pack(Prep("sn", cid)))],
                ]
            ),
        )
    elif action == "c":
        await core.checkins.answer(req.s, req.actor, row, "content_talk")
        req.edit(req.t("lifecycle.content_talk_sent"))
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
async def coming(req: Req) -> None:
    """ "Still coming?": yes, or "I can't make it", which gives the seat back through the one
    place (a step back, never a no-show)."""
    button = req.pressed(Coming)
    row = await _own(req, button.checkin_id, CheckInKind.COMING)
    if row is None:
        return
    core = req.core
    gig = await core.checkins.gig_of(req.s, row)
    if row.status != CheckInStatus.SENT or gig is None:
        req.toast("err.stale", alert=True)  # answered already, or the seat is no longer theirs
        req.edit_markup(None)
        return
    title = core.presenter.gig_title(req.lang, gig)
    if button.coming:
        await core.checkins.answer(req.s, req.actor, row, "coming_yes")
        req.edit(req.t("lifecycle.coming_yes", title=title))
        return
    if await core.dispatch.step_back(req.s, req.actor, row.offer_id or 0) is None:
        req.toast("err.stale", alert=True)
        req.edit_markup(None)
        return
    await core.checkins.answer(req.s, req.actor, row, "coming_cant")
    req.edit(req.t("lifecycle.coming_cant", title=title))


@handles(Role.EXPERT)
async def debrief(req: Req) -> None:
    """How it went (1-5), then how the orderer treated them and how well the gig was prepared
    (both optional, seen by coordinators only), then a free line; one question at a time, each
    naming its gig. After a low score only the promise that a coordinator will be in touch."""
    button = req.pressed(DebriefWith, DebriefScore, DebriefRating)
    cid = button.checkin_id
    row = await _own(req, cid, CheckInKind.DEBRIEF)
    if row is None:
        return
    core = req.core
    skip = req.t("btn.skip")
    gig = await core.checkins.gig_of(req.s, row)
    title = core.presenter.gig_title(req.lang, gig) if gig is not None else ""
    match button:
        case DebriefWith(who=who):
            await core.checkins.answer(
                req.s, req.actor, row, "debrief_coordinator" if who == "dc" else "debrief_peer"
            )
            req.say("checkin.debrief_requested", title=title)
        case DebriefScore(score=score):
            low = await core.checkins.score(req.s, req.actor, row, score)
            if low:
                req.edit(req.t("checkin.low_score", score=score, title=title))
                return
            req.edit(req.t("checkin.debrief_scored", score=score, title=title))
            req.say("checkin.ask_orderer", req.keyboard(rating_row("o", cid, skip)), title=title)
        case DebriefRating(about="o", stars=stars):
            core.checkins.rate_gig(row, "orderer", stars)
            req.edit(req.t("checkin.rated", title=title))
            rows = rating_row("p", cid, skip)
            req.say("checkin.ask_preparation", req.keyboard(rows), title=title)
        case DebriefRating(stars=stars):
            core.checkins.rate_gig(row, "preparation", stars)
            req.edit(req.t("checkin.rated", title=title))
            await forms.begin(req, DEBRIEF_NOTE, {"checkin_id": cid, "title": title})


@handles(Role.EXPERT)
async def keep(req: Req) -> None:
    """Still interested / pause / talk to the coordinator."""
    button = req.pressed(KeepInTouch)
    action, cid = button.answer, button.checkin_id
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
                [(req.t("btn.debrief_coordinator"), pack(DebriefWith("dc", cid)))],
                [(req.t("btn.debrief_peer"), pack(DebriefWith("dp", cid)))],
            ]
        ),
        title=values.get("title", ""),
    )


def build_handlers(texts: Texts) -> list[BaseHandler[Update, Ctx, None]]:
    forms.on_complete(DEBRIEF_NOTE, debrief_note_done)
    return [
        CallbackQueryHandler(prep, pattern=pattern(Prep)),
        CallbackQueryHandler(debrief, pattern=pattern(DebriefWith, DebriefScore, DebriefRating)),
        CallbackQueryHandler(keep, pattern=pattern(KeepInTouch)),
        CallbackQueryHandler(coming, pattern=pattern(Coming)),
    ]
