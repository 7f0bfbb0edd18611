"""Step-by-step forms in chat: one question at a time, buttons where choices are fixed.

Every answer is saved to the draft at once; a wrong answer gets an explanation and the same
question again, and nothing typed before is lost.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from telegram import InlineKeyboardMarkup
from telegram.ext import BaseHandler, CallbackQueryHandler, MessageHandler, filters

from bot.callbacks import (
    FORM_STEP,
    Button,
    Consent,
    DebriefWith,
    FormChoice,
    FormDone,
    FormEdit,
    FormQuick,
    FormSkip,
    FormSummary,
    FormToggle,
    FormYesNo,
    pack,
    pattern,
)
from bot.forms import (
    CANCEL_GIG,
    CANCEL_ORDER,
    CHANGE_PLACE,
    CHANGE_TIME,
    COMPANION,
    CONTRACT,
    DEBRIEF_NOTE,
    EXPERT,
    FEE_EDIT,
    FORMS,
    GIG_MESSAGE,
    HANDPICK_REASON,
    LIMIT_EARNINGS,
    LIMIT_GIGS,
    ORDER,
    ORDERER_NOTE,
    PAUSE,
    PREP_HOURS,
    REJECT,
    SUMMARY,
    DraftState,
    Field,
    Form,
    read_choice,
    read_typed,
)
from bot.i18n import fmt_day
from bot.parsing import InputError
from bot.services.access import STRANGER
from bot.services.orders import Decision
from handlers import feedback, gigs
from handlers.base import Req, handles
from handlers.menus import menu
from storage.models import Role
from storage.repo import Drafts

FORM_ROLES = {
    ORDER.name: {Role.ORDERER},
    EXPERT.name: {Role.EXPERT},
    LIMIT_GIGS.name: {Role.EXPERT},
    LIMIT_EARNINGS.name: {Role.EXPERT},
    PAUSE.name: {Role.EXPERT},
    REJECT.name: {Role.COORDINATOR},
    CONTRACT.name: {Role.COORDINATOR},
    COMPANION.name: {Role.COORDINATOR},
    CANCEL_ORDER.name: {Role.ORDERER},
    CANCEL_GIG.name: {Role.COORDINATOR},
    CHANGE_TIME.name: {Role.ORDERER, Role.COORDINATOR},
    CHANGE_PLACE.name: {Role.ORDERER, Role.COORDINATOR},
    HANDPICK_REASON.name: {Role.COORDINATOR},
    DEBRIEF_NOTE.name: {Role.EXPERT},
    ORDERER_NOTE.name: {Role.ORDERER},
    FEE_EDIT.name: {Role.COORDINATOR},
    GIG_MESSAGE.name: {Role.COORDINATOR},
    PREP_HOURS.name: {Role.COORDINATOR},
}


# ----- drafts -----------------------------------------------------------------------------


async def load(req: Req) -> DraftState | None:
    draft = await Drafts(req.s).get(req.actor.telegram_id)
    if draft is None or draft.form not in FORMS:
        return None
    if req.actor.role not in FORM_ROLES[draft.form]:
        # The person's role changed since; the draft is not theirs to finish any more.
        await Drafts(req.s).delete(req.actor.telegram_id)
        return None
    return DraftState(FORMS[draft.form], draft.step, dict(draft.data), draft.editing)


async def save(req: Req, state: DraftState) -> None:
    await Drafts(req.s).save(
        req.actor.telegram_id,
        state.form.name,
        state.step,
        state.values,
        state.editing,
        req.core.clock.now(),
    )


async def discard(req: Req) -> bool:
    return await Drafts(req.s).delete(req.actor.telegram_id)


async def begin(
    req: Req,
    form: Form,
    values: dict[str, Any] | None = None,
    *,
    step: str | None = None,
    intro: str | None = None,
) -> None:
    """Start a form (or edit existing values from the summary) and ask the first question."""
    state = DraftState(form, "", dict(values or {}))
    state.step = step or state.first_step()
    await save(req, state)
    if intro:
        req.say(intro)
    ask(req, state)


async def resume(req: Req) -> bool:
    """Ask the pending question of a form in progress again; false if there is none."""
    state = await load(req)
    if state is None:
        return False
    req.say("form.resumed")
    ask(req, state)
    return True


# ----- rendering --------------------------------------------------------------------------


def prompt_key(state: DraftState, field: Field) -> str:
    if state.form is ORDER and field.name == "place":
        return f"form.order.place_{state.values.get('remote', 'onsite')}"
    return f"form.{state.form.name}.{field.name}"


def question_markup(req: Req, state: DraftState) -> InlineKeyboardMarkup | None:
    field = state.current
    assert field is not None
    step = field.name
    p = req.core.presenter
    rows: list[list[tuple[str, str]]] = []
    if field.kind in ("choice", "multi"):
        picked = state.selection()
        buttons = []
        for i, code in enumerate(field.options):
            label = p.label(req.lang, field.options_key, code)
            if field.kind == "multi" and code in picked:
                label = f"✅ {label}"
            kind = FormChoice if field.kind == "choice" else FormToggle
            buttons.append((label, pack(kind(step, i))))
        per_row = 3 if len(buttons) > 12 else 2
        rows = [buttons[i : i + per_row] for i in range(0, len(buttons), per_row)]
        if field.kind == "multi":
            rows.append([(req.t("btn.done"), pack(FormDone(step)))])
    elif field.kind == "yesno":
        rows = [
            [
                (req.t("common.yes"), pack(FormYesNo(step, True))),
                (req.t("common.no"), pack(FormYesNo(step, False))),
            ]
        ]
    elif field.quick:
        rows = [
            [
                (p.decimal_text(req.lang, q), pack(FormQuick(step, i)))
                for i, q in enumerate(field.quick)
            ]
        ]
    if field.skippable:
        rows.append([(req.t(field.skip_label), pack(FormSkip(step)))])
    return req.keyboard(rows) if rows else None


def prompt(req: Req, state: DraftState, field: Field) -> str:
    """The question; a form's hidden values (a gig's title) may appear in it."""
    hidden = {k: v for k, v in state.values.items() if k in state.form.hidden}
    return req.t(prompt_key(state, field), **hidden)


def ask(req: Req, state: DraftState) -> None:
    if state.step == SUMMARY:
        show_summary(req, state)
        return
    field = state.current
    assert field is not None
    text = prompt(req, state, field)
    if field.kind in ("multi",):
        text = f"{text}\n\n{req.t('form.multi_hint')}"
    req.reply(text, question_markup(req, state))


def summary_text(req: Req, state: DraftState) -> str:
    p = req.core.presenter
    shown = {
        k: v
        for k, v in state.values.items()
        if "__" not in k and k not in state.form.hidden and k != "consent_at"
    }
    body = p.profile(req.lang, shown) if state.form is EXPERT else p.gig(req.lang, shown)
    return f"{req.t(f'form.{state.form.name}.summary')}\n\n{body}"


def show_summary(req: Req, state: DraftState) -> None:
    send_key = "btn.save" if state.form is EXPERT else "btn.send"
    req.reply(
        summary_text(req, state),
        req.keyboard(
            [
                [
                    (req.t(send_key), pack(FormSummary("s"))),
                    (req.t("btn.edit"), pack(FormSummary("e"))),
                ],
                [(req.t("btn.cancel_form"), pack(FormSummary("x")))],
            ]
        ),
    )


def answered(req: Req, state: DraftState, field: Field) -> str:
    """The question with its answer, to replace a question whose button was pressed."""
    shown = req.core.presenter.value(req.lang, field.name, state.values.get(field.name))
    return f"{prompt(req, state, field)}\n\n➜ {shown}"


# ----- input ------------------------------------------------------------------------------


@handles()
async def on_text(req: Req) -> None:
    """Answer the current question with typed text, or explain what the bot can do."""
    state = await load(req) if req.actor.role != STRANGER else None
    if state is None:
        # Audience members answering a feedback link are often not registered at all.
        if await feedback.typed_answer(req):
            return
        req.say("start.stranger" if req.actor.role == STRANGER else "common.unknown_text")
        return
    field = state.current
    if field is None:
        req.say("form.use_summary_buttons")
        show_summary(req, state)
        return
    try:
        value = read_typed(field, req.text, req.core.clock.now(), req.core.settings.tz)
    except InputError as err:
        await _explain(req, state, err)
        return
    state.set_value(value)
    await _after_answer(req, state)


async def _explain(req: Req, state: DraftState, err: InputError) -> None:
    """Why that did not work, then the same question again; earlier answers stay."""
    req.say(err.key, None, **err.params)
    ask(req, state)


async def _after_answer(req: Req, state: DraftState) -> None:
    if state.step == SUMMARY and not state.form.confirm:
        await complete(req, state)
        return
    await save(req, state)
    ask(req, state)


@handles()
async def on_button(req: Req) -> None:
    """Every button of a form: choices, toggles, quick values, skip, and the summary's."""
    button = req.pressed(FormSummary, FormEdit, *FORM_STEP)
    state = await load(req)
    if state is None:
        req.toast("form.expired", alert=True)
        req.edit_markup(None)
        return
    if not isinstance(button, FORM_STEP):
        await _summary_action(req, state, button)
        return
    field = state.current
    if field is None or button.step != field.name:
        req.toast("err.stale")
        return
    try:
        done = await _answer(req, state, field, button)
    except InputError as err:
        req.toast(err.key, alert=True, **err.params)
        return
    if done:
        req.edit(answered(req, state, field))
        await _after_answer(req, state)


async def _answer(req: Req, state: DraftState, field: Field, button: Button) -> bool:
    """Apply a button to the current question; False while a multiple choice stays open."""
    match button:
        case FormChoice(index=index):
            state.set_value(read_choice(field, index))
        case FormToggle(index=index):
            state.toggle(index)
            await save(req, state)
            req.edit_markup(question_markup(req, state))
            return False
        case FormDone():
            state.finish_multi()
        case FormYesNo(yes=yes) if field.kind == "yesno":
            state.set_value(yes)
        case FormQuick(index=index) if 0 <= index < len(field.quick):
            now, tz = req.core.clock.now(), req.core.settings.tz
            state.set_value(read_typed(field, field.quick[index], now, tz))
        case FormSkip() if field.skippable:
            state.set_value(None)
        case _:
            raise InputError("err.stale")
    return True


async def _summary_action(req: Req, state: DraftState, button: Button) -> None:
    action = button.action if isinstance(button, FormSummary) else "e"
    if state.step != SUMMARY:
        req.toast("err.stale")
        return
    if action == "s":
        req.edit_markup(None)
        await complete(req, state)
    elif action == "x":
        await discard(req)
        req.edit(req.t("common.cancelled"))
        req.say("common.what_next", menu(req.core.texts, req.lang, req.actor.role))
    elif isinstance(button, FormSummary) and action == "e":
        names = [f.name for f in state.form.fields if f.applies(state.values)]
        rows = [[(req.t(f"label.{n}"), pack(FormEdit(state.form.index(n))))] for n in names]
        rows.append([(req.t("btn.back"), pack(FormSummary("b")))])
        req.edit(req.t("form.edit_which"), req.keyboard(rows))
    elif isinstance(button, FormEdit):
        try:
            field = state.form.fields[button.index]
        except IndexError:
            req.toast("err.stale")
            return
        state.edit(field.name)
        await save(req, state)
        req.edit_markup(None)
        ask(req, state)
    elif action == "b":
        req.edit(
            summary_text(req, state),
            req.keyboard(
                [
                    [
                        (
                            req.t("btn.save" if state.form is EXPERT else "btn.send"),
                            pack(FormSummary("s")),
                        ),
                        (req.t("btn.edit"), pack(FormSummary("e"))),
                    ],
                    [(req.t("btn.cancel_form"), pack(FormSummary("x")))],
                ]
            ),
        )


# ----- finishing --------------------------------------------------------------------------


async def complete(req: Req, state: DraftState) -> None:
    """Hand the finished form to its service; the draft goes only when that succeeded."""
    core = req.core
    values = {k: v for k, v in state.values.items() if "__" not in k}
    if state.form is ORDER:
        gig = await core.orders.submit(req.s, req.actor, values)
        req.say(
            "order.received",
            menu(core.texts, req.lang, req.actor.role),
            title=core.presenter.gig_title(req.lang, gig),
        )
    elif state.form is EXPERT:
        new = await core.experts.save(req.s, req.actor, values)
        req.say(
            "expert.registered" if new else "expert.profile_saved",
            menu(core.texts, req.lang, req.actor.role),
        )
    elif state.form in (LIMIT_GIGS, LIMIT_EARNINGS):
        name, value = next(iter(values.items()))
        await core.experts.set_limit(req.s, req.actor, name, value)
        if value is None:
            req.say("limits.removed")
        elif name == "max_gigs_month":
            req.say("limits.gigs_set", count=value)
        else:
            req.say("limits.earnings_set", amount=req.core.presenter.money(req.lang, value))
    elif state.form is PAUSE:
        until = date.fromisoformat(values["paused_until"])
        await core.experts.pause(req.s, req.actor, until)
        req.say("limits.paused", date=fmt_day(until))
    elif state.form is CONTRACT:
        profile = await core.experts.set_field(
            req.s, req.actor, int(values["expert_id"]), "contract_until", values["contract_until"]
        )
        req.say(
            "register.contract_set",
            name=profile.display_name,
            date=fmt_day(date.fromisoformat(values["contract_until"])),
        )
    elif state.form in (CANCEL_ORDER, CANCEL_GIG):
        gig = await gigs.authorised_gig(req, int(values["gig_id"]))
        reason = values.get("cancel_reason") or req.t("gig.no_reason")
        await core.dispatch.cancel_gig(req.s, req.actor, gig.id, reason)
        req.say("gig.cancelled_done", title=core.presenter.gig_title(req.lang, gig))
    elif state.form in (CHANGE_TIME, CHANGE_PLACE):
        gig = await gigs.authorised_gig(req, int(values["gig_id"]))
        starts = datetime.fromisoformat(values["starts_at"]) if "starts_at" in values else None
        gig = await core.dispatch.change_gig(
            req.s, req.actor, gig.id, starts_at=starts, place=values.get("place")
        )
        req.say("gig.changed_done", title=core.presenter.gig_title(req.lang, gig))
    elif state.form is HANDPICK_REASON:
        await gigs.send_handpicked(
            req, int(values["gig_id"]), list(values["picked"]), values["override_reason"]
        )
    elif state.form is FEE_EDIT:
        fee = await core.fees.edit(
            req.s,
            req.actor,
            int(values["fee_id"]),
            values["fee_type"],
            values.get("amount") or 0,
            values.get("travel") or 0,
            values.get("other") or 0,
        )
        req.say("fees.edited", id=fee.id)
    elif state.form is PREP_HOURS:
        gig = await core.dispatch.set_prep_hours(
            req.s, req.actor, int(values["gig_id"]), int(values["prep_hours"])
        )
        req.say(
            "desk.prep_set",
            hours=values["prep_hours"],
            title=core.presenter.gig_title(req.lang, gig),
        )
    elif state.form is GIG_MESSAGE:
        count = await core.dispatch.message_confirmed(
            req.s, req.actor, int(values["gig_id"]), values["message"]
        )
        req.say("desk.message_sent", count=count)
    elif state.form is ORDERER_NOTE:
        assert req.actor.user is not None
        await core.feedback.orderer_rate(
            req.s, req.actor.user, int(values["gig_id"]), "text", None, values.get("feedback_text")
        )
        req.say("feedback.orderer_thanks")
    elif state.form is DEBRIEF_NOTE:
        checkin_id = int(values["checkin_id"])
        row = await core.checkins.own(req.s, req.actor, checkin_id)
        if row is not None and values.get("note"):
            row.note = values["note"]
        req.say(
            "checkin.debrief_thanks",
            req.keyboard(
                [
                    [(req.t("btn.debrief_coordinator"), pack(DebriefWith("dc", checkin_id)))],
                    [(req.t("btn.debrief_peer"), pack(DebriefWith("dp", checkin_id)))],
                ]
            ),
            title=values.get("title", ""),
        )
    elif state.form is COMPANION:
        gig, confirmed = await core.dispatch.set_companion(
            req.s, req.actor, int(values["gig_id"]), values["companion"]
        )
        req.say(
            "coord.companion_set", title=core.presenter.gig_title(req.lang, gig), count=confirmed
        )
    elif state.form is REJECT:
        decision, gig = await core.orders.reject(
            req.s, req.actor, int(values["gig_id"]), values["reason"]
        )
        if decision is Decision.ALREADY:
            req.say(
                "coord.already_decided",
                title=core.presenter.gig_title(req.lang, gig),
                by=await core.orders.decider_name(req.s, gig),
            )
        else:
            req.say("coord.rejected_done", title=core.presenter.gig_title(req.lang, gig))
    await discard(req)


# ----- consent (the step before an expert's profile) ---------------------------------------


def consent_markup(req: Req, *, details: bool = True) -> InlineKeyboardMarkup:
    rows = [
        [(req.t("btn.consent_yes"), pack(Consent("y")))],
        [(req.t("btn.consent_no"), pack(Consent("n")))],
    ]
    if details:
        rows.append([(req.t("btn.consent_details"), pack(Consent("i")))])
    return req.keyboard(rows)


def ask_consent(req: Req) -> None:
    req.say("expert.consent", consent_markup(req))


@handles(Role.EXPERT)
async def on_consent(req: Req) -> None:
    """Agreeing starts the profile questions; nothing about experience is stored before.
    "What is stored?" opens the full list in the same message."""
    answer = req.pressed(Consent).answer
    agreed = answer == "y"
    if await req.core.experts.profile(req.s, req.actor) is not None:
        req.toast("err.stale")
        req.edit_markup(None)
        return
    if answer == "i":
        req.edit(
            f"{req.t('expert.consent')}\n\n{req.t('expert.consent_details')}",
            consent_markup(req, details=False),
        )
        return
    if not agreed:
        await discard(req)
        until = await req.core.experts.refuse_consent(req.s, req.actor)
        if until is None:
            req.edit(req.t("expert.consent_declined"))
        else:
            day = until.astimezone(req.core.settings.tz).date()
            req.edit(req.t("expert.consent_declined_link", until=fmt_day(day)))
        return
    req.edit(req.t("expert.consent_given"))
    await begin(req, EXPERT, {"consent_at": req.core.clock.now().isoformat()})


def build_handlers() -> list[BaseHandler]:
    return [
        CallbackQueryHandler(on_consent, pattern=pattern(Consent)),
        CallbackQueryHandler(on_button, pattern=pattern(FormSummary, FormEdit, *FORM_STEP)),
        MessageHandler(filters.TEXT & ~filters.COMMAND, on_text),
    ]
