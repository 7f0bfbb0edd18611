"""Step-by-step forms in chat: one question at a time, buttons where choices are fixed.

Every answer is saved to the draft at once; a wrong answer gets an explanation and the same
question again, and nothing typed before is lost.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from telegram import InlineKeyboardMarkup, Update
from telegram.ext import BaseHandler, CallbackQueryHandler

from bot.callbacks import (
    FORM_STEP,
    Button,
    Consent,
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
    EXPERT,
    FORMS,
    SUMMARY,
    DraftState,
    Field,
    Form,
    read_typed,
)
from bot.parsing import InputError
from bot.services.access import STRANGER
from handlers.base import Ctx, Req, handles
from handlers.menus import menu
from storage.models import Role
from storage.repo import DraftRepo

Completion = Callable[[Req, dict[str, Any]], Awaitable[None]]
# What a feature adds to its form's summary: a text below the answers and rows of buttons
# above Send (the order's responsible-ordering checklist).
SummaryPart = Callable[[Req, DraftState], tuple[str, list[list[tuple[str, str]]]]]
_SUMMARY_PARTS: dict[str, SummaryPart] = {}

# What each form does when complete, registered by the feature that starts the form (in its
# build_handlers()), so this runner imports no feature. Registering the same function again
# (one application built after another) changes nothing.
_COMPLETIONS: dict[str, Completion] = {}


def on_complete(form: Form, done: Completion) -> None:
    """Register what happens when `form` is complete: `done(req, values)` with the answers and
    the hidden data. The draft goes only when it succeeded."""
    known = _COMPLETIONS.get(form.name)
    if known is not None and known is not done:
        raise ValueError(f"form {form.name!r} already completes with {known.__qualname__}")
    _COMPLETIONS[form.name] = done


def on_summary(form: Form, part: SummaryPart) -> None:
    """Register what `form`'s summary shows besides the answers (see SummaryPart)."""
    _SUMMARY_PARTS[form.name] = part


# ----- drafts -----------------------------------------------------------------------------


async def load(req: Req) -> DraftState | None:
    draft = await DraftRepo(req.s).get(req.actor.telegram_id)
    if draft is None or draft.form not in FORMS:
        return None
    if req.actor.role not in FORMS[draft.form].roles:
        # The person's role changed since; the draft is not theirs to finish any more.
        await DraftRepo(req.s).delete(req.actor.telegram_id)
        return None
    return DraftState(FORMS[draft.form], draft.step, dict(draft.data), draft.editing)


async def save(req: Req, state: DraftState) -> None:
    await DraftRepo(req.s).save(
        req.actor.telegram_id,
        state.form.name,
        state.step,
        state.values,
        state.editing,
        req.core.clock.now(),
    )


async def discard(req: Req) -> bool:
    return await DraftRepo(req.s).delete(req.actor.telegram_id)


async def begin(
    req: Req,
    form: Form,
    values: dict[str, Any] | None = None,
    *,
    step: str | None = None,
    intro: str | None = None,
    editing: bool = False,
) -> None:
    """Start a form (or edit existing values from the summary) and ask the first question.
    `editing`: the values are answers already; ask only what is missing, then the summary."""
    state = DraftState(form, "", dict(values or {}), editing)
    state.step = step or state.first_step()
    await save(req, state)
    if intro:
        req.say(intro)
    ask(req, state)


async def longer_in_progress(req: Req, *quick: Form) -> bool:
    """Whether a longer form (an order, a profile) is in progress, which a quick question
    (one of `quick`) must not replace: if so, say so; the person finishes it or /cancels."""
    waiting = await load(req)
    if waiting is None or waiting.form in quick or len(waiting.form.fields) == 1:
        return False
    req.say("relay.form_waiting")
    return True


async def resume(req: Req) -> bool:
    """Ask the pending question of a form in progress again; false if there is none."""
    state = await load(req)
    if state is None:
        return False
    req.say("form.resumed")
    ask(req, state)
    return True


# ----- rendering --------------------------------------------------------------------------


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
    return req.t(state.prompt_key(field), **hidden)


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
    shown = state.shown()
    shows = {"profile": p.profile, "call": p.call, "session": p.session}.get(
        state.form.summary, p.gig
    )
    body = shows(req.lang, shown)
    text = f"{req.t(f'form.{state.form.name}.summary')}\n\n{body}"
    part = _SUMMARY_PARTS.get(state.form.name)
    return f"{text}\n\n{part(req, state)[0]}" if part else text


def summary_markup(req: Req, state: DraftState) -> InlineKeyboardMarkup:
    part = _SUMMARY_PARTS.get(state.form.name)
    shortcuts = [
        (req.t(label), pack(FormEdit(state.form.index(name))))
        for label, name in state.form.shortcuts
    ]
    return req.keyboard(
        [
            *(part(req, state)[1] if part else []),
            [
                (req.t(state.form.send_label), pack(FormSummary("s"))),
                (req.t("btn.edit"), pack(FormSummary("e"))),
            ],
            *([shortcuts] if shortcuts else []),
            [(req.t("btn.cancel_form"), pack(FormSummary("x")))],
        ]
    )


def show_summary(req: Req, state: DraftState) -> None:
    req.reply(summary_text(req, state), summary_markup(req, state))


def answered(req: Req, state: DraftState, field: Field) -> str:
    """The question with its answer, to replace a question whose button was pressed."""
    shown = req.core.presenter.value(req.lang, field.name, state.values.get(field.name))
    return f"{prompt(req, state, field)}\n\n➜ {shown}"


# ----- input ------------------------------------------------------------------------------


async def answer_text(req: Req) -> bool:
    """Answer the current question with typed text; false if this person fills no form."""
    state = await load(req) if req.actor.role != STRANGER else None
    if state is None:
        return False
    field = state.current
    if field is None:
        req.say("form.use_summary_buttons")
        show_summary(req, state)
        return True
    try:
        value = read_typed(field, req.text, req.core.clock.now(), req.core.settings.tz)
    except InputError as err:
        # Why that did not work, then the same question again; earlier answers stay.
        req.say(err.key, None, **err.params)
        ask(req, state)
        return True
    state.set_value(value)
    await _after_answer(req, state)
    return True


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
        done = await _answer(req, state, button)
    except InputError as err:
        req.toast(err.key, alert=True, **err.params)
        return
    if done:
        req.edit(answered(req, state, field))
        await _after_answer(req, state)


async def _answer(req: Req, state: DraftState, button: Button) -> bool:
    """Apply a button to the current question (the rules are DraftState's); False while a
    multiple choice stays open."""
    if isinstance(button, FormToggle):
        state.toggle(button.index)
        await save(req, state)
        req.edit_markup(question_markup(req, state))
        return False
    now, tz = req.core.clock.now(), req.core.settings.tz
    match button:
        case FormChoice(index=index):
            state.press("c", str(index), now, tz)
        case FormDone():
            state.press("d", None, now, tz)
        case FormYesNo(yes=yes):
            state.press("y", "1" if yes else "0", now, tz)
        case FormQuick(index=index):
            state.press("q", str(index), now, tz)
        case FormSkip():
            state.press("k", None, now, tz)
        case _:
            raise InputError("err.stale")
    return True


async def _summary_action(req: Req, state: DraftState, button: Button) -> None:
    action = button.action if isinstance(button, FormSummary) else "e"
    if state.step != SUMMARY:
        req.toast("err.stale")
    elif action == "s":
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
        await _edit_one(req, state, button.index)
    elif action == "b":
        req.edit(summary_text(req, state), summary_markup(req, state))


async def _edit_one(req: Req, state: DraftState, index: int) -> None:
    """Ask one answer of the summary again; the others stay."""
    try:
        field = state.form.fields[index]
    except IndexError:
        req.toast("err.stale")
        return
    state.edit(field.name)
    await save(req, state)
    req.edit_markup(None)
    ask(req, state)


# ----- finishing --------------------------------------------------------------------------


class AskAgain(Exception):
    """Raised by a completion when one answer cannot be used after all (a time that turned out
    to be after the gig): say why and ask that question again, keeping the other answers."""

    def __init__(self, field: str, key: str, **params: Any) -> None:
        super().__init__(key)
        self.field, self.key, self.params = field, key, params


async def complete(req: Req, state: DraftState) -> None:
    """Hand the finished form to its feature; the draft goes only when that succeeded."""
    done = _COMPLETIONS.get(state.form.name)
    if done is None:
        raise LookupError(f"no completion registered for form {state.form.name!r}")
    try:
        await done(req, state.answers())
    except AskAgain as again:
        req.say(again.key, None, **again.params)
        state.edit(again.field)
        await save(req, state)
        ask(req, state)
        return
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
            req.edit(
                req.t("expert.consent_declined_link", until=req.core.presenter.day(req.lang, day))
            )
        return
    req.edit(req.t("expert.consent_given"))
    await begin(req, EXPERT, {"consent_at": req.core.clock.now().isoformat()})


def build_handlers() -> list[BaseHandler[Update, Ctx, None]]:
    """The form buttons. Typed answers reach `answer_text` through handlers/common.py, which
    routes free text to whichever flow is waiting for it."""
    return [
        CallbackQueryHandler(on_consent, pattern=pattern(Consent)),
        CallbackQueryHandler(on_button, pattern=pattern(FormSummary, FormEdit, *FORM_STEP)),
    ]
