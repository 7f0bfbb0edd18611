"""One gig: the coordinator's ranking and dispatch choices, the gig card, and the changes an
orderer or coordinator can make (cancel, move, change place)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from telegram import InlineKeyboardMarkup, Message, Update
from telegram.ext import BaseHandler, CallbackQueryHandler, CommandHandler

from bot.callbacks import (
    DispatchMode,
    GigAction,
    GigChange,
    PersonAction,
    PickSend,
    PickToggle,
    Ranking,
    RelayRead,
    SeriesScope,
    pack,
    parse_as,
    pattern,
)
from bot.errors import Refuse
from bot.forms import (
    CANCEL_GIG,
    CANCEL_ORDER,
    CHANGE_PLACE,
    CHANGE_TIME,
    HANDPICK_REASON,
    PREP_HOURS,
    Form,
)
from bot.i18n import Texts
from bot.notify import next_allowed
from bot.present import gig_values
from bot.services.dispatch import Ranked
from bot.services.orders import Decision
from handlers import avail, forms
from handlers.base import Ctx, Req, arg_id, handles
from handlers.claims import claim_cards
from storage.models import Gig, GigStatus, OfferStatus, Role
from storage.repo import CheckInRepo, GigRepo

RANKING_SHOWN = 15
PICK = "✅ "


async def authorised_gig(req: Req, gig_id: int) -> Gig:
    """The gig, if this person may act on it: coordinators any, an orderer only their own.
    Anyone else learns nothing, not even that the gig exists."""
    gig = await GigRepo(req.s).get(gig_id)
    role = req.actor.role
    if gig is None or not (
        role == Role.COORDINATOR or (role == Role.ORDERER and gig.orderer_id == req.actor.id)
    ):
        raise Refuse("err.gig_not_found")
    return gig


def rank_line(req: Req, r: Ranked) -> str:
    now = req.core.clock.now()
    since = (
        req.t("ranking.days_since", days=(now - r.last_gig).days)
        if r.last_gig
        else req.t("ranking.never")
    )
    line = req.t(
        "ranking.line",
        place=r.place,
        name=r.name,
        gigs=r.gigs_90d,
        hours=req.core.presenter.num(req.lang, r.minutes_90d / 60),
        since=since,
    )
    return line + req.t("ranking_avail.interested") if r.interested else line


async def untrained_lines(req: Req, gig: Gig) -> list[str]:
    """Who is left out because the gig's type requires a training they have not attended."""
    training, names = await req.core.dispatch.untrained(req.s, gig)
    if not names:
        return []
    shown = ", ".join(names[:RANKING_SHOWN])
    if len(names) > RANKING_SHOWN:
        shown += " " + req.t("ranking.more", count=len(names) - RANKING_SHOWN)
    return [req.t("session.untrained", training=training, count=len(names), names=shown)]


@handles(Role.COORDINATOR)
async def ranking(req: Req) -> None:
    """The ranked list with the reason for each place, and the three ways to send offers."""
    gig = await authorised_gig(req, req.pressed(Ranking).gig_id)
    if gig.status not in (GigStatus.PENDING, GigStatus.OPEN):
        req.toast("gig.not_dispatchable", alert=True)
        return
    ranked = await req.core.dispatch.ranked(req.s, gig)
    p = req.core.presenter
    lines = [
        req.t("ranking.header", title=p.gig_title(req.lang, gig), count=len(ranked)),
        req.t("ranking.rule"),
    ]
    lines += [rank_line(req, r) for r in ranked[:RANKING_SHOWN]]
    if len(ranked) > RANKING_SHOWN:
        lines.append(req.t("ranking.more", count=len(ranked) - RANKING_SHOWN))
    lines += await avail.ranking_lines(req, gig, ranked)

    lines += await untrained_lines(req, gig)
    req.reply(
        "\n".join(lines),
        req.keyboard(
            [
                [(req.t("mode_btn.broadcast"), pack(DispatchMode("b", gig.id)))],
                [(cascade_label(req, gig), pack(DispatchMode("c", gig.id)))],
                [(req.t("mode_btn.handpick"), pack(DispatchMode("h", gig.id)))],
            ]
        ),
    )


def cascade_label(req: Req, gig: Gig) -> str:
    """The cascade button says how it would ask now, by how far ahead the gig is."""
    plan = req.core.dispatch.offering.plan(gig)
    if plan.size is None:
        return req.t("avail_status.mode_near", near_hours=req.core.settings.wave_near_hours)
    return req.t("mode_btn.cascade", k=plan.size, hours=plan.hours)


@handles(Role.COORDINATOR)
async def choose_mode(req: Req) -> None:
    """Approve (if still pending) and start offering in the chosen mode."""
    button = req.pressed(DispatchMode)
    mode = {"b": "broadcast", "c": "cascade", "h": "handpick"}[button.mode]
    gig = await authorised_gig(req, button.gig_id)
    if mode == "handpick":
        await show_picker(req, gig)
        return
    req.edit_markup(None)
    if gig.status == GigStatus.PENDING:
        decision, gig, sent = await req.core.orders.approve(req.s, req.actor, gig.id, mode)
        if decision is Decision.ALREADY:
            req.toast("gig.not_dispatchable", alert=True)
            return
    elif gig.status == GigStatus.OPEN:
        GigRepo(req.s).set_mode(gig, mode)
        sent = await req.core.dispatch.proceed(req.s, gig)
    else:
        req.toast("gig.not_dispatchable", alert=True)
        return
    say_sent(req, gig, sent, mode)


def say_sent(req: Req, gig: Gig, sent: int, mode: str) -> None:
    """How many offers went out; during quiet hours, when they will actually go."""
    p, now = req.core.presenter, req.core.clock.now()
    wake = next_allowed(now, req.core.settings)
    held = sent > 0 and wake > now
    req.say(
        "ranking.sent_held" if held else "ranking.sent",
        count=sent,
        mode=req.t(f"mode.{mode}"),
        title=p.gig_title(req.lang, gig),
        when=p.when(req.lang, wake),
    )


async def show_picker(req: Req, gig: Gig) -> None:
    ranked = await req.core.dispatch.ranked(req.s, gig)
    if not ranked:
        req.say("ranking.nobody")
        return
    keen = req.t("ranking_avail.interested")
    rows = [
        [
            (
                f"{r.place}. {r.name}{keen if r.interested else ''}",
                pack(PickToggle(gig.id, r.expert_id)),
            )
        ]
        for r in ranked[:RANKING_SHOWN]
    ]
    rows.append([(req.t("btn.send_picked"), pack(PickSend(gig.id)))])
    req.say("ranking.pick", req.keyboard(rows), title=req.core.presenter.gig_title(req.lang, gig))


def _picked(message: Message | None) -> list[int]:
    """The experts ticked on the picker message (the keyboard is the selection)."""
    if message is None or not isinstance(message.reply_markup, InlineKeyboardMarkup):
        return []
    out = []
    for row in message.reply_markup.inline_keyboard:
        for b in row:
            pick = parse_as(str(b.callback_data or ""), PickToggle)
            if b.text.startswith(PICK) and isinstance(pick, PickToggle):
                out.append(pick.user_id)
    return out


@handles(Role.COORDINATOR)
async def toggle_pick(req: Req) -> None:
    """Tick or untick one expert on the picker."""
    target = pack(req.pressed(PickToggle))
    message = req.query.message if req.query else None
    if not isinstance(message, Message) or not isinstance(
        message.reply_markup, InlineKeyboardMarkup
    ):
        req.toast("err.stale")
        return
    rows = []
    for row in message.reply_markup.inline_keyboard:
        new_row = []
        for b in row:
            label = b.text
            if b.callback_data == target:
                label = label.removeprefix(PICK) if label.startswith(PICK) else PICK + label
            new_row.append((label, str(b.callback_data)))
        rows.append(new_row)
    req.edit_markup(req.keyboard(rows))


@handles(Role.COORDINATOR)
async def send_picked(req: Req) -> None:
    """Offer to the ticked experts; skipping higher-ranked ones asks for a reason first."""
    gig = await authorised_gig(req, req.pressed(PickSend).gig_id)
    picked = _picked(req.query.message if req.query else None)  # type: ignore[arg-type]
    if not picked:
        req.toast("ranking.pick_someone", alert=True)
        return
    ranked = await req.core.dispatch.ranked(req.s, gig)
    places = {r.expert_id: r.place for r in ranked}
    picked = [uid for uid in picked if uid in places]
    worst = max((places[uid] for uid in picked), default=0)
    skipped = [r for r in ranked if r.place < worst and r.expert_id not in picked]
    req.edit_markup(None)
    if skipped:
        names = ", ".join(r.name for r in skipped)
        await forms.begin(req, HANDPICK_REASON, {"gig_id": gig.id, "picked": picked}, intro=None)
        req.say("ranking.skipped", names=names)
        return
    await send_handpicked(req, gig.id, picked, "")


async def send_handpicked(req: Req, gig_id: int, picked: list[int], reason: str) -> None:
    gig = await authorised_gig(req, gig_id)
    if gig.status == GigStatus.PENDING:
        decision, gig, sent = await req.core.orders.approve(
            req.s, req.actor, gig.id, "handpick", picked=picked, reason=reason
        )
        if decision is Decision.ALREADY:
            req.say("gig.not_dispatchable")
            return
    elif gig.status == GigStatus.OPEN:
        GigRepo(req.s).set_mode(gig, "handpick")
        sent = await req.core.dispatch.handpick(req.s, req.actor, gig, picked, reason)
    else:
        req.say("gig.not_dispatchable")
        return
    say_sent(req, gig, sent, "handpick")


@handles(Role.COORDINATOR)
async def gig_card(req: Req) -> None:
    """`/gig <number>`: every fact, the offers' live status, and what can be done."""
    gig = await authorised_gig(req, arg_id(req, "gig.card_usage"))
    p = req.core.presenter
    people = await req.core.dispatch.people(req.s, gig.id)
    confirmed = [(o, name) for o, name in people if o.status == OfferStatus.ACCEPTED]
    answers = await checkin_answers(req, gig)
    parts = [
        p.gig_title(req.lang, gig) + " · " + req.t(f"status.{gig.status}"),
        p.gig(req.lang, gig_values(gig)),
        await req.core.dispatch.status_text(req.s, gig, req.lang),
        req.t("desk.confirmed", names=", ".join(n for _, n in confirmed) or "–"),
    ]
    series = await req.core.orders.series_line(req.s, req.lang, gig)
    if series:
        parts.insert(1, req.t("series.list_item", series=series))
    if answers:
        parts.append(req.t("desk.checkin_answers") + "\n" + "\n".join(answers))
    rows = []
    started = gig.starts_at <= req.core.clock.now()
    if gig.status in GigStatus.UPCOMING and not started:
        if gig.status in (GigStatus.PENDING, GigStatus.OPEN):
            rows.append([(req.t("btn.ranking"), pack(Ranking(gig.id)))])
        rows.append(
            [
                (req.t("btn.change_time"), pack(GigChange("ot", gig.id))),
                (req.t("btn.change_place"), pack(GigChange("op", gig.id))),
            ]
        )
        rows.append(
            [
                (req.t("btn.cancel_gig"), pack(GigChange("gc", gig.id))),
                (req.t("btn.prep_hours"), pack(GigChange("ph", gig.id))),
            ]
        )
    for offer, name in confirmed:
        label = "btn.no_show" if started else "btn.replace"
        action = PersonAction("ns" if started else "rp", offer.id)
        rows.append([(req.t(label, name=name), pack(action))])
    if confirmed:
        rows.append([(req.t("btn.message_experts"), pack(GigAction("gm", gig.id)))])
    said = await req.core.relay.count(req.s, gig.id)
    if said or await req.core.relay.is_open(req.s, gig):
        rows.append([(req.t("btn.relay.read", count=said), pack(RelayRead(gig.id)))])
    if started and gig.status in (GigStatus.OPEN, GigStatus.FILLED):
        rows.append([(req.t("btn.mark_done"), pack(GigAction("gd", gig.id)))])
    req.reply("\n\n".join(parts), req.keyboard(rows) if rows else None)
    await claim_cards(req, gig.id)  # expense claims waiting for a decision, with receipts


async def checkin_answers(req: Req, gig: Gig) -> list[str]:
    """Each check-in answer on this gig: who, which check-in, what they said."""
    rows = await CheckInRepo(req.s).answered_on(gig.id)
    out = []
    for c, name in rows:
        said = c.answer or req.t("desk.no_answer")
        if c.score is not None:
            said = f"{c.score}/5"
        out.append(f"• {name}: {req.t(f'checkin_kind.{c.kind}')} – {said}")
    return out


@handles(Role.ORDERER, Role.COORDINATOR)
async def change(req: Req) -> None:
    """Cancel, move or change the place of a gig: each asks one question first (a date of a
    series asks first whether the later dates change too)."""
    button = req.pressed(GigChange)
    gig = await changeable(req, button.gig_id)
    if gig is None:
        return
    if button.what == "ph":
        if req.actor.role != Role.COORDINATOR:
            raise Refuse("err.gig_not_found")
        await forms.begin(req, PREP_HOURS, {"gig_id": gig.id})
        return
    if gig.series_id is not None:
        what = button.what
        req.say(
            "series.scope_ask",
            req.keyboard(
                [
                    [(req.t("btn.reorder.series_only"), pack(SeriesScope(what, "o", gig.id)))],
                    [(req.t("btn.reorder.series_later"), pack(SeriesScope(what, "l", gig.id)))],
                ]
            ),
            title=req.core.presenter.gig_title(req.lang, gig),
        )
        return
    await forms.begin(req, change_form(req, button.what), {"gig_id": gig.id})


async def changeable(req: Req, gig_id: int) -> Gig | None:
    """The gig if this person may change it and it can still change (else a toast)."""
    gig = await authorised_gig(req, gig_id)
    if gig.status not in GigStatus.UPCOMING or gig.starts_at <= req.core.clock.now():
        req.toast("gig.not_changeable", alert=True)
        return None
    return gig


def change_form(req: Req, what: str) -> Form:
    """The one question a change asks; cancelling asks a coordinator for a reason."""
    form = {"oc": CANCEL_ORDER, "gc": CANCEL_GIG, "ot": CHANGE_TIME, "op": CHANGE_PLACE}[what]
    if form is CANCEL_ORDER and req.actor.role == Role.COORDINATOR:
        form = CANCEL_GIG
    if form is CANCEL_GIG and req.actor.role == Role.ORDERER:
        form = CANCEL_ORDER
    return form


@handles(Role.ORDERER, Role.COORDINATOR)
async def series_scope(req: Req) -> None:
    """Only this date, or this and the later ones: then the change's question."""
    button = req.pressed(SeriesScope)
    gig = await changeable(req, button.gig_id)
    if gig is None:
        return
    req.edit_markup(None)
    values = {"gig_id": gig.id, "scope": button.scope}
    await forms.begin(req, change_form(req, button.what), values)


async def handpick_reason_done(req: Req, values: dict[str, Any]) -> None:
    await send_handpicked(
        req, int(values["gig_id"]), list(values["picked"]), values["override_reason"]
    )


async def cancel_done(req: Req, values: dict[str, Any]) -> None:
    """The gig is cancelled with the reason given (an orderer may give none)."""
    gig = await authorised_gig(req, int(values["gig_id"]))
    reason = values.get("cancel_reason") or req.t("gig.no_reason")
    title = req.core.presenter.gig_title(req.lang, gig)
    if values.get("scope") == "l":
        gigs = await req.core.dispatch.cancel_series(req.s, req.actor, gig.id, reason)
        req.say("series.cancelled_done", title=title, count=len(gigs))
        return
    await req.core.dispatch.cancel_gig(req.s, req.actor, gig.id, reason)
    req.say("gig.cancelled_done", title=title)


async def change_done(req: Req, values: dict[str, Any]) -> None:
    """The gig moves to the new time or place; everyone confirmed is told."""
    gig = await authorised_gig(req, int(values["gig_id"]))
    starts = datetime.fromisoformat(values["starts_at"]) if "starts_at" in values else None
    if values.get("scope") == "l":
        gigs = await req.core.dispatch.change_series(
            req.s, req.actor, gig.id, starts_at=starts, place=values.get("place")
        )
        title = req.core.presenter.gig_title(req.lang, gigs[0])
        req.say("series.changed_done", title=title, count=len(gigs))
        return
    gig = await req.core.dispatch.change_gig(
        req.s, req.actor, gig.id, starts_at=starts, place=values.get("place")
    )
    req.say("gig.changed_done", title=req.core.presenter.gig_title(req.lang, gig))


async def prep_hours_done(req: Req, values: dict[str, Any]) -> None:
    hours = int(values["prep_hours"])
    gig = await req.core.dispatch.set_prep_hours(req.s, req.actor, int(values["gig_id"]), hours)
    req.say("desk.prep_set", hours=hours, title=req.core.presenter.gig_title(req.lang, gig))


def build_handlers(texts: Texts) -> list[BaseHandler[Update, Ctx, None]]:
    forms.on_complete(HANDPICK_REASON, handpick_reason_done)
    forms.on_complete(CANCEL_ORDER, cancel_done)
    forms.on_complete(CANCEL_GIG, cancel_done)
    forms.on_complete(CHANGE_TIME, change_done)
    forms.on_complete(CHANGE_PLACE, change_done)
    forms.on_complete(PREP_HOURS, prep_hours_done)
    return [
        CommandHandler("gig", gig_card),
        CallbackQueryHandler(ranking, pattern=pattern(Ranking)),
        CallbackQueryHandler(choose_mode, pattern=pattern(DispatchMode)),
        CallbackQueryHandler(toggle_pick, pattern=pattern(PickToggle)),
        CallbackQueryHandler(send_picked, pattern=pattern(PickSend)),
        CallbackQueryHandler(change, pattern=pattern(GigChange)),
        CallbackQueryHandler(series_scope, pattern=pattern(SeriesScope)),
    ]
