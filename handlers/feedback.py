"""Feedback: the audience's answers through a link (anonymous unless the coordinator chose
named before the link went out), the orderer's rating, and the results for coordinators and
experts, released by the rule in bot/services/feedback.py."""

from __future__ import annotations

from typing import Any

from telegram import Update
from telegram.ext import BaseHandler, CallbackQueryHandler, CommandHandler

from bot.callbacks import FeedbackNamed, FeedbackRate, FeedbackSkip, OrdererRating, pack, pattern
from bot.forms import ORDERER_NOTE
from bot.i18n import Texts
from bot.parsing import InputError, clean_text
from bot.services.feedback import Released, Summary
from handlers import forms
from handlers.base import Ctx, Req, arg_id, handles
from storage.models import Gig, Role
from storage.repo import GigRepo


def usefulness_keyboard(req: Req, token: str) -> list[list[tuple[str, str]]]:
    return [[(str(n), pack(FeedbackRate(n, token))) for n in range(1, 6)]]


async def start_answer(req: Req, token: str) -> None:
    """Someone opened a feedback link: ask the first question (no registration)."""
    core = req.core
    rnd = await core.feedback.round_by_token(req.s, token)
    if rnd is None:
        req.say("feedback.closed")
        return
    gig = await GigRepo(req.s).get(rnd.gig_id)
    assert gig is not None
    earlier = await core.feedback.existing(req.s, rnd, req.actor.telegram_id)
    intro = "feedback.intro_named" if not rnd.anonymous else "feedback.intro"
    text = req.t(
        intro,
        type=core.presenter.label(req.lang, "gig_type", gig.gig_type),
        organisation=gig.organisation,
        until=core.presenter.when(req.lang, rnd.closes_at),
    )
    if earlier is not None:
        text += "\n\n" + req.t("feedback.again")
    req.reply(
        text + "\n\n" + req.t("feedback.q_useful"), req.keyboard(usefulness_keyboard(req, token))
    )


@handles()
async def rate(req: Req) -> None:
    """The usefulness score (1-5); then the two optional free-text questions."""
    button = req.pressed(FeedbackRate)
    token, stars = button.token, button.stars
    rnd = await req.core.feedback.round_by_token(req.s, token)
    if rnd is None:
        req.toast("feedback.closed", alert=True)
        return
    tg_user = req.update.effective_user
    await req.core.feedback.rate(
        req.s, rnd, req.actor.telegram_id, stars, tg_user.first_name if tg_user else ""
    )
    req.edit(req.t("feedback.q_useful") + f"\n\n➜ {stars}/5")
    req.say("feedback.q_stayed", req.keyboard([[(req.t("btn.skip"), pack(FeedbackSkip(token)))]]))


@handles()
async def skip(req: Req) -> None:
    token = req.pressed(FeedbackSkip).token
    rnd = await req.core.feedback.round_by_token(req.s, token)
    row = await req.core.feedback.existing(req.s, rnd, req.actor.telegram_id) if rnd else None
    if row is None or row.step not in ("stayed", "better"):
        req.toast("err.stale")
        return
    req.edit_markup(None)
    step = await req.core.feedback.write(req.s, row, None)
    assert rnd is not None
    ask_next(req, step, token, rnd.anonymous)


def ask_next(req: Req, step: str, token: str, anonymous: bool) -> None:
    if step == "better":
        req.say(
            "feedback.q_better", req.keyboard([[(req.t("btn.skip"), pack(FeedbackSkip(token)))]])
        )
    else:
        req.say("feedback.thanks" if anonymous else "feedback.thanks_named")


async def typed_answer(req: Req) -> bool:
    """Route free text to an audience answer in progress; false if there is none."""
    found = await req.core.feedback.in_progress(req.s, req.actor.telegram_id)
    if found is None:
        return False
    rnd, row = found
    try:
        text = clean_text(req.text, 1000)
    except InputError as err:
        req.say(err.key, None, **err.params)
        return True
    step = await req.core.feedback.write(req.s, row, text)
    ask_next(req, step, rnd.token, rnd.anonymous)
    return True


def render(req: Req, summary: Summary) -> str:
    """One gig's (or a pool's) results, or why they are not shown yet."""
    return req.core.feedback.render(req.lang, summary)


async def render_all(req: Req, header: str, released: Released) -> str:
    """Every gig released on its own, the whole pooled batches, and what still waits."""
    return await req.core.feedback.render_all(req.s, req.lang, header, released)


@handles(Role.COORDINATOR)
async def coordinator_feedback(req: Req) -> None:
    """`/feedback <gig>`: one gig; `/feedback`: every gig released so far."""
    core = req.core
    p = core.presenter
    if req.args:
        gig = await GigRepo(req.s).get(arg_id(req, "feedback.usage"))
        if gig is None:
            req.say("err.gig_not_found")
            return
        summary = await core.feedback.for_gig(req.s, gig.id)
        parts = [
            req.t("feedback.gig_header", title=p.gig_title(req.lang, gig)),
            req.t("feedback.mode_named" if gig.feedback_named else "feedback.mode_anonymous"),
            render(req, summary),
        ]
        parts.append(await orderer_and_experts(req, gig))
        rows = []
        if not summary.exists:
            # Named or anonymous is decided before the link goes out, never after.
            flip = "btn.feedback_anonymous" if gig.feedback_named else "btn.feedback_named"
            rows.append([(req.t(flip), pack(FeedbackNamed(gig.id, not gig.feedback_named)))])
        req.reply("\n\n".join(x for x in parts if x), req.keyboard(rows) if rows else None)
        return
    released = await core.feedback.released(req.s, None)
    header = req.t("feedback.all_header", rounds=await core.feedback.round_count(req.s))
    req.reply(await render_all(req, header, released))


async def orderer_and_experts(req: Req, gig: Gig) -> str:
    """The orderer's (named) rating and the experts' view of the gig, for coordinators."""
    views = await req.core.feedback.gig_views(req.s, gig.id)
    lines = []
    of = views.orderer
    if of is not None:
        lines.append(
            req.t(
                "feedback.orderer_line",
                gig=of.gig_rating or "–",
                coop=of.cooperation_rating or "–",
                text=of.text or "–",
            )
        )
    if views.count:
        p = req.core.presenter
        lines.append(
            req.t(
                "feedback.experts_line",
                treated=p.num(req.lang, views.treated) if views.treated is not None else "–",
                prepared=p.num(req.lang, views.prepared) if views.prepared is not None else "–",
                count=views.count,
            )
        )
    return "\n".join(lines)


async def orderer_note_done(req: Req, values: dict[str, Any]) -> None:
    """The orderer's free line (or none) after the two ratings."""
    assert req.actor.user is not None
    await req.core.feedback.orderer_rate(
        req.s, req.actor.user, int(values["gig_id"]), "text", None, values.get("feedback_text")
    )
    req.say("feedback.orderer_thanks")


@handles(Role.COORDINATOR)
async def make_named(req: Req) -> None:
    """Before the link is sent, a gig's feedback can be named (or anonymous again)."""
    button = req.pressed(FeedbackNamed)
    named = button.named
    await req.core.feedback.set_named(req.s, button.gig_id, named)
    req.edit_markup(None)
    req.say("feedback.named_set" if named else "feedback.anonymous_set")


@handles(Role.EXPERT)
async def my_feedback(req: Req) -> None:
    """An expert's own feedback: gigs released on their own, whole pooled batches."""
    core = req.core
    gig_ids = await core.feedback.expert_gig_ids(req.s, req.actor.id)
    released = await core.feedback.released(req.s, gig_ids)
    req.reply(await render_all(req, req.t("feedback.mine_header"), released))


@handles(Role.ORDERER)
async def orderer_rating(req: Req) -> None:
    """The orderer rates the gig, then the cooperation, then may add a line."""
    button = req.pressed(OrdererRating)
    gig_id, value = button.gig_id, button.stars
    assert req.actor.user is not None
    if button.about == "g":
        await req.core.feedback.orderer_rate(req.s, req.actor.user, gig_id, "gig", value)
        req.edit(req.t("feedback.orderer_ask_done", value=value))
        req.say(
            "feedback.orderer_coop",
            req.keyboard([[(str(n), pack(OrdererRating("c", n, gig_id))) for n in range(1, 6)]]),
        )
    else:
        await req.core.feedback.orderer_rate(req.s, req.actor.user, gig_id, "coop", value)
        req.edit(req.t("feedback.orderer_ask_done", value=value))
        await forms.begin(req, ORDERER_NOTE, {"gig_id": gig_id})


def build_handlers(texts: Texts) -> list[BaseHandler[Update, Ctx, None]]:
    forms.on_complete(ORDERER_NOTE, orderer_note_done)
    return [
        CommandHandler("feedback", coordinator_feedback),
        CommandHandler("myfeedback", my_feedback),
        CallbackQueryHandler(rate, pattern=pattern(FeedbackRate)),
        CallbackQueryHandler(skip, pattern=pattern(FeedbackSkip)),
        CallbackQueryHandler(make_named, pattern=pattern(FeedbackNamed)),
        CallbackQueryHandler(orderer_rating, pattern=pattern(OrdererRating)),
    ]
