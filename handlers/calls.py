"""Calls for interest: a coordinator's call for a long-term role (/call, /calls), the invited
experts' answers, and picking from the interested after the deadline (bot/services/calls.py)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from telegram import Update
from telegram.ext import BaseHandler, CallbackQueryHandler, CommandHandler, MessageHandler, filters

from bot.callbacks import CallAnswerButton, CallManage, CallNew, CallPick, pack, pattern
from bot.forms import CALL, CALL_DEADLINE, CALL_NOTE
from bot.i18n import Texts
from bot.notify import ButtonSpec
from bot.services.calls import PICK_BUTTONS, Interested
from handlers import forms
from handlers.base import Ctx, Req, handles
from storage.models import Call, CallAnswerStatus, CallStatus, Role

PICK = "✅ "


# ----- the coordinator ------------------------------------------------------------------


@handles(Role.COORDINATOR)
async def new_call(req: Req) -> None:
    """Start the call form, one question at a time."""
    await forms.begin(req, CALL, intro="call.intro")


async def call_done(req: Req, values: dict[str, Any]) -> None:
    """Store the call and invite the eligible; tell the coordinator what happens next."""
    calls = req.core.calls
    call = await calls.create(req.s, req.actor, values)
    count = await calls.invited(req.s, call.id)
    key = "call.created" if count else "call.created_nobody"
    when = req.core.presenter.when(req.lang, call.deadline)
    req.say(key, _markup(req, calls.manage_buttons(call)), title=call.title, count=count, when=when)


@handles(Role.COORDINATOR)
async def list_calls(req: Req) -> None:
    """The latest calls, each with what is known so far, and a button to open one."""
    p = req.core.presenter
    rows = await req.core.calls.recent(req.s)
    lines, buttons = [req.t("call.list_header")], []
    for call, asked, keen in rows:
        status = req.t(f"call.status.{call.status.value}")
        when = p.when(req.lang, call.deadline)
        lines.append(
            req.t(
                "call.list_line",
                id=call.id,
                title=call.title,
                status=status,
                asked=asked,
                count=keen,
                when=when,
            )
        )
        buttons.append([(f"#{call.id} {call.title}"[:60], pack(CallManage("v", call.id)))])
    if not rows:
        lines.append(req.t("call.list_none"))
    buttons.append([(req.t("btn.call.new"), pack(CallNew()))])
    req.reply("\n".join(lines), req.keyboard(buttons))


@handles(Role.COORDINATOR)
async def new_call_button(req: Req) -> None:
    """The list's "New call" button."""
    req.pressed(CallNew)
    await forms.begin(req, CALL, intro="call.intro")


def interested_line(req: Req, r: Interested) -> str:
    """One interested expert: the rotation's place and figures, their line, and whether they
    still pass the call's rules."""
    now = req.core.clock.now()
    last = r.rotation.last
    since = req.t("ranking.days_since", days=(now - last).days) if last else req.t("ranking.never")
    line = req.t(
        "ranking.line",
        place=r.place,
        name=r.name,
        gigs=r.rotation.gigs,
        hours=req.core.presenter.num(req.lang, r.rotation.minutes / 60),
        since=since,
    )
    if not r.eligible:
        line = f"{line}\n   {req.t('call.not_eligible_now')}"
    if r.message:
        line = f"{line}\n   {req.t('call.their_line', message=r.message)}"
    return line


def pick_rows(req: Req, call: Call, ranked: list[Interested]) -> list[list[tuple[str, str]]]:
    rows = [
        [
            (
                f"{PICK if r.picked else ''}{r.place}. {r.name}"[:60],
                pack(CallPick(call.id, r.expert_id)),
            )
        ]
        for r in ranked[:PICK_BUTTONS]
    ]
    rows.append([(req.t("btn.call.confirm"), pack(CallManage("c", call.id)))])
    rows.append([(req.t("btn.call.extend"), pack(CallManage("e", call.id)))])
    return rows


async def show_call(req: Req, call: Call) -> None:
    """The call, its state, and the interested in the rotation's order with the buttons that
    fit its state: pick (closed), close or extend (open), nothing more (decided)."""
    calls = req.core.calls
    ranked = await calls.interested(req.s, call)
    asked = await calls.invited(req.s, call.id)
    head = req.t(
        "call.view_header",
        title=calls.title(req.lang, call),
        status=req.t(f"call.status.{call.status.value}"),
        asked=asked,
        count=len(ranked),
    )
    parts = [head, calls.details(req.lang, call)]
    if ranked:
        parts.append(req.t("ranking.rule"))
        parts.append("\n".join(interested_line(req, r) for r in ranked))
    if len(ranked) > PICK_BUTTONS:
        parts.append(req.t("call.too_many_buttons", count=PICK_BUTTONS))
    if call.status == CallStatus.CLOSED:
        parts.append(req.t("call.pick_hint" if ranked else "call.nobody_interested"))
        req.reply("\n\n".join(parts), req.keyboard(pick_rows(req, call, ranked)))
        return
    if call.status == CallStatus.DECIDED:
        parts.append(req.t("call.decided_note"))
    req.reply("\n\n".join(parts), _markup(req, _manage_without_view(calls.manage_buttons(call))))


def _manage_without_view(rows: list[list[ButtonSpec]]) -> list[list[ButtonSpec]]:
    return [[b for b in row if b[0] != "btn.call.view"] for row in rows]


def _markup(req: Req, rows: list[list[ButtonSpec]]) -> Any:
    return req.core.notifier.buttons(req.lang, rows)


@handles(Role.COORDINATOR)
async def manage(req: Req) -> None:
    """A coordinator's button on a call: view, close now, extend, confirm, send, back."""
    button = req.pressed(CallManage)
    calls = req.core.calls
    call = await calls.get(req.s, button.call_id)
    match button.action:
        case "v" | "b":
            await show_call(req, call)
        case "x":
            if await calls.close(req.s, req.actor, call):
                req.edit_markup(None)
                await show_call(req, call)
            else:
                req.toast("call.not_open", alert=True)
        case "e":
            await forms.begin(req, CALL_DEADLINE, {"call_id": call.id, "title": call.title})
        case "c":
            await confirm_choice(req, call)
        case "s":
            chosen, thanked = await calls.decide(req.s, req.actor, call)
            req.edit(req.t("call.decided", title=call.title, chosen=chosen, thanked=thanked))


async def confirm_choice(req: Req, call: Call) -> None:
    """Before anyone is told: who was chosen, how many get a thank-you."""
    if call.status != CallStatus.CLOSED:
        decided = call.status == CallStatus.DECIDED
        req.toast("call.already_decided" if decided else "call.still_open")
        return
    ranked = await req.core.calls.interested(req.s, call)
    chosen = [r for r in ranked if r.picked]
    names = ", ".join(r.name for r in chosen) or req.t("common.none")
    text = req.t(
        "call.confirm",
        title=call.title,
        names=names,
        chosen=len(chosen),
        seats=call.seats,
        thanked=len(ranked) - len(chosen),
    )
    rows: list[list[ButtonSpec]] = [
        [("btn.call.send", pack(CallManage("s", call.id)))],
        [("btn.call.back", pack(CallManage("b", call.id)))],
    ]
    req.edit(text, _markup(req, rows))


@handles(Role.COORDINATOR)
async def pick(req: Req) -> None:
    """Tick or untick one interested expert; only the buttons change."""
    button = req.pressed(CallPick)
    calls = req.core.calls
    call = await calls.get(req.s, button.call_id)
    await calls.toggle(req.s, call, button.user_id)
    ranked = await calls.interested(req.s, call)
    req.edit_markup(req.keyboard(pick_rows(req, call, ranked)))


async def deadline_done(req: Req, values: dict[str, Any]) -> None:
    calls = req.core.calls
    call = await calls.get(req.s, int(values["call_id"]))
    deadline = datetime.fromisoformat(values["deadline"])
    told = await calls.extend(req.s, req.actor, call, deadline)
    when = req.core.presenter.when(req.lang, deadline)
    req.say("call.extended_done", _markup(req, calls.manage_buttons(call)), when=when, count=told)


# ----- the invited expert ---------------------------------------------------------------


@handles(Role.EXPERT)
async def answer(req: Req) -> None:
    """ "I'm interested" (then an optional line, skippable) or "Not this time"."""
    button = req.pressed(CallAnswerButton)
    calls = req.core.calls
    done = await calls.answer(req.s, req.actor, button.call_id, button.interested)
    call = await calls.get(req.s, button.call_id)
    invitation = calls.invitation(req.lang, call)
    if done is None:
        req.edit(f"{invitation}\n\n{req.t('call.closed')}")
        return
    _, row = done
    buttons = _markup(req, calls.answer_buttons(call.id, row.status))
    state = await forms.load(req)
    if row.status == CallAnswerStatus.INTERESTED:
        req.edit(f"{invitation}\n\n{req.t('call.you_interested')}", buttons)
        if state is None or state.form is CALL_NOTE:  # never over a form in progress
            await forms.begin(req, CALL_NOTE, {"call_id": call.id})
        return
    if state is not None and state.form is CALL_NOTE:
        await forms.discard(req)  # the line is not wanted any more
    req.edit(f"{invitation}\n\n{req.t('call.you_declined')}", buttons)


async def note_done(req: Req, values: dict[str, Any]) -> None:
    call = await req.core.calls.note(req.s, req.actor, int(values["call_id"]), values["message"])
    when = req.core.presenter.when(req.lang, call.deadline)
    req.say("call.note_saved" if values["message"] else "call.note_skipped", when=when)


def build_handlers(texts: Texts) -> list[BaseHandler[Update, Ctx, None]]:
    forms.on_complete(CALL, call_done)
    forms.on_complete(CALL_DEADLINE, deadline_done)
    forms.on_complete(CALL_NOTE, note_done)
    return [
        CommandHandler("call", new_call),
        CommandHandler("calls", list_calls),
        MessageHandler(filters.Text(sorted(texts.all_variants("menu.calls"))), list_calls),
        CallbackQueryHandler(new_call_button, pattern=pattern(CallNew)),
        CallbackQueryHandler(pick, pattern=pattern(CallPick)),
        CallbackQueryHandler(manage, pattern=pattern(CallManage)),
        CallbackQueryHandler(answer, pattern=pattern(CallAnswerButton)),
    ]
