"""Experts: offers (accept, decline), own gigs, the profile and own limits, and data rights."""

from __future__ import annotations

import json
from datetime import date
from typing import Any

from telegram import Update
from telegram.ext import BaseHandler, CallbackQueryHandler, CommandHandler, MessageHandler, filters

from bot.callbacks import (
    ForgetAnswer,
    OfferAccept,
    OfferAcceptAnyway,
    OfferDecline,
    OfferDeclineAnyway,
    OfferDetails,
    OfferTag,
    OfferWhy,
    ProfileAction,
    Reconfirm,
    RelayWrite,
    StepBack,
    StepBackAsk,
    SwapAsk,
    pack,
    pattern,
)
from bot.forms import EXPERT, LIMIT_EARNINGS, LIMIT_GIGS, PAUSE, SUMMARY
from bot.i18n import Texts
from bot.parsing import InputError, parse_date
from bot.present import gig_values
from bot.services.dispatch import Answer, AnswerResult
from bot.services.experts import profile_values
from handlers import forms
from handlers.base import Ctx, Req, handles
from handlers.lifecycle import undo_markup, undo_rows
from handlers.menus import menu
from storage.models import ExpertStatus, Role


async def _retire_offer(req: Req, offer_id: int, text: str) -> None:
    """An answer given on the earnings-limit warning: the offer message above it loses its
    buttons and says what happened, like every answered offer."""
    if req.actor.user is not None:
        await req.core.notifier.edit_text(req.s, req.actor.user, pack(OfferTag(offer_id)), text)


def series_outcome(req: Req, result: AnswerResult) -> str:
    """A whole series accepted: the other dates taken, and any not taken and why; "" for a
    single gig."""
    lines = [""]
    for key, gigs in (
        ("series.taken", result.taken),
        ("series.missed", result.missed),
        ("series.clashed", result.clashed),
    ):
        if gigs:
            dates = ", ".join(req.core.presenter.when(req.lang, g.starts_at) for g in gigs)
            lines.append(req.t(key, count=len(gigs), dates=dates))
    return "\n\n".join(lines) if len(lines) > 1 else ""


async def _accept(req: Req, offer_id: int, despite_limit: bool) -> None:
    result = await req.core.dispatch.accept(req.s, req.actor, offer_id, despite_limit=despite_limit)
    p = req.core.presenter
    gig = result.gig
    if result.answer is Answer.NOT_FOUND or gig is None or result.offer is None:
        req.toast("err.stale", alert=True)
        return
    title = p.gig_title(req.lang, gig)
    outcome = ""
    match result.answer:
        case Answer.OVER_LIMIT:
            oid = result.offer.id
            local = gig.starts_at.astimezone(req.core.settings.tz)
            req.say(
                "offer.over_limit",
                req.keyboard(
                    [
                        [(req.t("btn.accept_anyway"), pack(OfferAcceptAnyway(oid)))],
                        [(req.t("btn.decline"), pack(OfferDeclineAnyway(oid)))],
                    ]
                ),
                title=title,
                earned=req.core.presenter.money(req.lang, result.earned),
                limit=req.core.presenter.money(req.lang, result.limit),
                fee=req.core.presenter.money(req.lang, gig.fee_cents or 0),
                month=req.t(f"month_in.m{local.month}"),
                year=local.year,
            )
            return
        case Answer.ACCEPTED if result.offer.awaiting_companion:
            outcome = req.t("offer.accepted_youth", title=title)
        case Answer.ACCEPTED:
            outcome = req.t("offer.accepted", title=title)
            details = [(req.t("btn.details"), pack(OfferDetails(result.offer.id)))]
            req.say(
                "offer.confirmation",
                req.keyboard([details, *undo_rows(req, result.offer)]),
                title=title,
                details=p.confirmed_brief(req.lang, gig_values(gig)),
            )
        case Answer.ALREADY:
            # A second copy of the offer (sent again after a restart) is retired when pressed.
            req.toast("offer.already_answered")
            req.edit_markup(None)
        case Answer.FILLED:
            outcome = req.t("offer.filled_late", title=title)
        case Answer.EXPIRED:
            outcome = req.t("offer.expired", title=title)
        case _:
            outcome = req.t("offer.closed", title=title)
    outcome += series_outcome(req, result)
    if outcome:
        req.edit(outcome)
        if despite_limit:
            await _retire_offer(req, result.offer.id, outcome)


@handles(Role.EXPERT)
async def accept(req: Req) -> None:
    """Take a seat if one is left; the database decides who was first."""
    await _accept(req, req.pressed(OfferAccept).offer_id, despite_limit=False)


@handles(Role.EXPERT)
async def accept_despite_limit(req: Req) -> None:
    """Accept after the earnings-limit warning: the expert's own informed choice."""
    await _accept(req, req.pressed(OfferAcceptAnyway).offer_id, despite_limit=True)


@handles(Role.EXPERT)
async def decline(req: Req) -> None:
    """One tap, no reason asked, and no effect on later offers."""
    button = req.pressed(OfferDecline, OfferDeclineAnyway)
    result = await req.core.dispatch.decline(req.s, req.actor, button.offer_id)
    gig = result.gig
    if result.answer is Answer.NOT_FOUND or gig is None:
        req.toast("err.stale", alert=True)
        return
    title = req.core.presenter.gig_title(req.lang, gig)
    if result.answer is Answer.DECLINED and result.offer is not None:
        req.edit(req.t("offer.declined", title=title), undo_markup(req, result.offer))
        if isinstance(button, OfferDeclineAnyway):
            await _retire_offer(req, button.offer_id, req.t("offer.declined", title=title))
    else:
        req.toast("offer.already_answered")
        req.edit_markup(None)


@handles(Role.EXPERT)
async def my_gigs(req: Req) -> None:
    """Confirmed upcoming gigs (each can be stepped back from), and offers still open."""
    p = req.core.presenter
    confirmed, waiting = await req.core.dispatch.my_gigs(req.s, req.actor)
    if not confirmed and not waiting:
        req.say("expert.no_gigs")
        return
    lines = []
    if confirmed:
        lines.append(req.t("expert.gigs_header"))
        lines += [f"• {p.gig_title(req.lang, g)}" for _, g in confirmed]
    if waiting:
        lines.append(req.t("expert.offers_header"))
        lines += [f"• {p.gig_title(req.lang, g)}" for _, g in waiting]
    rows = []
    for o, g in confirmed:
        rows.append([(req.t("btn.step_back", id=g.id), pack(StepBackAsk(o.id)))])
        rows.append([(req.t("btn.lifecycle.swap", id=g.id), pack(SwapAsk(o.id, 0)))])
        if req.core.relay.open_while_confirmed(g):
            rows.append([(req.t("btn.relay.to_orderer", id=g.id), pack(RelayWrite(g.id)))])
    req.reply("\n".join(lines), req.keyboard(rows) if rows else None)


@handles(Role.EXPERT)
async def step_back_ask(req: Req) -> None:
    """Stepping back needs no reason; one more tap to be sure."""
    oid = req.pressed(StepBackAsk).offer_id
    req.say(
        "expert.step_back_confirm",
        req.keyboard(
            [
                [(req.t("btn.step_back_yes"), pack(StepBack(True, oid)))],
                [(req.t("btn.step_back_no"), pack(StepBack(False, oid)))],
            ]
        ),
    )


@handles(Role.EXPERT)
async def step_back(req: Req) -> None:
    button = req.pressed(StepBack)
    if not button.sure:
        req.edit(req.t("expert.step_back_kept"))
        return
    gig = await req.core.dispatch.step_back(req.s, req.actor, button.offer_id)
    if gig is None:
        req.toast("err.stale", alert=True)
        return
    req.edit(req.t("expert.stepped_back", title=req.core.presenter.gig_title(req.lang, gig)))


@handles(Role.EXPERT)
async def reconfirm(req: Req) -> None:
    """After a time change: still coming, or step back (never a no-show)."""
    button = req.pressed(Reconfirm)
    coming = button.coming
    done, gig = await req.core.dispatch.reconfirm(req.s, req.actor, button.offer_id, coming)
    if not done or gig is None:
        req.toast("err.stale", alert=True)
        return
    title = req.core.presenter.gig_title(req.lang, gig)
    req.edit(req.t("expert.reconfirmed" if coming else "expert.stepped_back", title=title))


@handles(Role.EXPERT)
async def details(req: Req) -> None:
    """All the facts of the gig behind an offer or a confirmation."""
    text = await req.core.dispatch.details(req.s, req.actor, req.pressed(OfferDetails).offer_id)
    if text is None:
        req.toast("err.stale", alert=True)
        return
    req.reply(text)


@handles(Role.EXPERT)
async def why(req: Req) -> None:
    """Why this offer came to me: the topics that matched and my place in the rotation."""
    text = await req.core.dispatch.why(req.s, req.actor, req.pressed(OfferWhy).offer_id)
    if text is None:
        req.toast("err.stale", alert=True)
        return
    req.reply(text)


@handles(Role.EXPERT)
async def profile(req: Req) -> None:
    """Show the profile, own limits and status, with buttons to change each."""
    prof = await req.core.experts.profile(req.s, req.actor)
    if prof is None:
        if not await forms.resume(req):
            forms.ask_consent(req)
        return
    gigs, earned = await req.core.experts.month_so_far(req.s, req.actor.id)
    no_limit = req.t("limits.none")
    lines = [
        req.t("expert.profile_header"),
        "",
        req.core.presenter.profile(req.lang, profile_values(prof)),
        "",
        req.t("limits.header"),
        req.t(
            "limits.gigs_line",
            count=gigs,
            limit=prof.max_gigs_month if prof.max_gigs_month is not None else no_limit,
        ),
        req.t(
            "limits.earnings_line",
            amount=req.core.presenter.money(req.lang, earned),
            limit=req.core.presenter.money(req.lang, prof.max_earnings_cents)
            if prof.max_earnings_cents is not None
            else no_limit,
        ),
    ]
    if prof.paused_until is not None:
        lines.append(
            req.t("limits.paused_line", date=req.core.presenter.day(req.lang, prof.paused_until))
        )
    if prof.status == ExpertStatus.PENDING:
        lines += ["", req.t("expert.awaiting_approval")]
    pause_button = (
        ("btn.resume", pack(ProfileAction("r")))
        if prof.paused_until is not None
        else ("btn.pause", pack(ProfileAction("p")))
    )
    req.reply(
        "\n".join(lines),
        req.keyboard(
            [
                [(req.t("btn.edit_profile"), pack(ProfileAction("e")))],
                [
                    (req.t("btn.limit_gigs"), pack(ProfileAction("g"))),
                    (req.t("btn.limit_earnings"), pack(ProfileAction("m"))),
                ],
                [(req.t(pause_button[0]), pause_button[1])],
            ]
        ),
    )


@handles(Role.EXPERT)
async def profile_button(req: Req) -> None:
    """Edit the profile, set a limit, pause or resume."""
    action = req.pressed(ProfileAction).action
    prof = await req.core.experts.profile(req.s, req.actor)
    if prof is None:
        req.toast("err.stale")
        return
    req.edit_markup(None)
    if action == "e":
        await forms.begin(req, EXPERT, profile_values(prof), step=SUMMARY)
    elif action == "g":
        await forms.begin(req, LIMIT_GIGS)
    elif action == "m":
        await forms.begin(req, LIMIT_EARNINGS)
    elif action == "p":
        await forms.begin(req, PAUSE)
    elif action == "r":
        await _resume(req)


@handles(Role.EXPERT)
async def pause(req: Req) -> None:
    """`/pause 31.12.2026` pauses offers in one step; without a date, asks for one."""
    if not req.args:
        await forms.begin(req, PAUSE)
        return
    try:
        until = parse_date(" ".join(req.args), req.core.clock.now(), req.core.settings.tz)
    except InputError as err:
        req.say(err.key, None, **err.params)
        await forms.begin(req, PAUSE)
        return
    await req.core.experts.pause(req.s, req.actor, until)
    req.say("limits.paused", date=req.core.presenter.day(req.lang, until))


@handles(Role.EXPERT)
async def resume(req: Req) -> None:
    """End a pause now."""
    await _resume(req)


async def profile_done(req: Req, values: dict[str, Any]) -> None:
    """The profile form is complete: a new expert is registered, or the profile saved."""
    new = await req.core.experts.save(req.s, req.actor, values)
    req.say(
        "expert.registered" if new else "expert.profile_saved",
        menu(req.core.texts, req.lang, req.actor.role),
    )


async def limit_done(req: Req, values: dict[str, Any]) -> None:
    """A limit (gigs a month, earnings a month) is set, or removed by its skip button."""
    name, value = next(iter(values.items()))
    await req.core.experts.set_limit(req.s, req.actor, name, value)
    if value is None:
        req.say("limits.removed")
    elif name == "max_gigs_month":
        req.say("limits.gigs_set", count=value)
    else:
        req.say("limits.earnings_set", amount=req.core.presenter.money(req.lang, value))


async def pause_done(req: Req, values: dict[str, Any]) -> None:
    until = date.fromisoformat(values["paused_until"])
    await req.core.experts.pause(req.s, req.actor, until)
    req.say("limits.paused", date=req.core.presenter.day(req.lang, until))


async def _resume(req: Req) -> None:
    was_paused = await req.core.experts.resume(req.s, req.actor)
    req.say("limits.resumed" if was_paused else "limits.not_paused")


@handles(Role.EXPERT)
async def my_data(req: Req) -> None:
    """Send everything stored about this expert as a JSON file, with a readable summary."""
    data = await req.core.experts.export(req.s, req.actor)
    prof = data["profile"]
    summary = req.t(
        "data.summary",
        offers=len(data["offers"]),
        profile=req.core.presenter.profile(req.lang, prof) if prof else "–",
    )
    payload = json.dumps(data, ensure_ascii=False, indent=2).encode()
    req.reply(summary)
    req.file("omat-tiedot.json", payload, caption=req.t("data.file_caption"))


@handles(Role.EXPERT)
async def forget(req: Req) -> None:
    """Ask once more before erasing: what goes, what cannot be undone, fees still owed, and a
    break from offers as the gentler choice."""
    text = req.t("data.forget_confirm")
    count, cents = await req.core.experts.owed(req.s, req.actor)
    if count:
        text += "\n\n" + req.t(
            "data.forget_owed", count=count, amount=req.core.presenter.money(req.lang, cents)
        )
    rows = [[(req.t("btn.forget_yes"), pack(ForgetAnswer(True)))]]
    if await req.core.experts.profile(req.s, req.actor) is not None:
        rows.append([(req.t("btn.forget_pause"), pack(ProfileAction("p")))])
    rows.append([(req.t("btn.forget_no"), pack(ForgetAnswer(False)))])
    req.reply(text, req.keyboard(rows))


@handles(Role.EXPERT)
async def forget_answer(req: Req) -> None:
    if not req.pressed(ForgetAnswer).sure:
        req.edit(req.t("data.forget_kept"))
        return
    done = await req.core.experts.forget(req.s, req.actor)
    count = len(done.handed_back)
    if done.owed:
        amount = req.core.presenter.money(req.lang, done.owed_cents)
        req.edit(req.t("data.forgotten_owed", count=count, owed=done.owed, amount=amount))
    else:
        req.edit(req.t("data.forgotten", count=count))
    # The handed-back gigs leave the person's calendar too. Sent straight after the reply,
    # not through the outbox, so that no stored row keeps their chat id.
    for filename, ics in done.calendar:
        req.file(filename, ics.encode())


def build_handlers(texts: Texts) -> list[BaseHandler[Update, Ctx, None]]:
    forms.on_complete(EXPERT, profile_done)
    forms.on_complete(LIMIT_GIGS, limit_done)
    forms.on_complete(LIMIT_EARNINGS, limit_done)
    forms.on_complete(PAUSE, pause_done)
    return [
        CommandHandler("mygigs", my_gigs),
        CommandHandler("profile", profile),
        CommandHandler("pause", pause),
        CommandHandler("resume", resume),
        CommandHandler("mydata", my_data),
        CommandHandler("forget", forget),
        MessageHandler(filters.Text(sorted(texts.all_variants("menu.my_gigs"))), my_gigs),
        MessageHandler(filters.Text(sorted(texts.all_variants("menu.profile"))), profile),
        CallbackQueryHandler(accept, pattern=pattern(OfferAccept)),
        CallbackQueryHandler(accept_despite_limit, pattern=pattern(OfferAcceptAnyway)),
        CallbackQueryHandler(decline, pattern=pattern(OfferDecline, OfferDeclineAnyway)),
        CallbackQueryHandler(why, pattern=pattern(OfferWhy)),
        CallbackQueryHandler(details, pattern=pattern(OfferDetails)),
        CallbackQueryHandler(step_back_ask, pattern=pattern(StepBackAsk)),
        CallbackQueryHandler(step_back, pattern=pattern(StepBack)),
        CallbackQueryHandler(reconfirm, pattern=pattern(Reconfirm)),
        CallbackQueryHandler(profile_button, pattern=pattern(ProfileAction)),
        CallbackQueryHandler(forget_answer, pattern=pattern(ForgetAnswer)),
    ]
