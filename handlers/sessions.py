"""Supervision, peer groups and training: a coordinator announces a session (/session), lists
them (/sessions), records attendance; experts sign up or cancel with a tap; a gig type can
require a training (/requiretraining). The rules are in bot/services/sessions.py."""

from __future__ import annotations

from typing import Any

from telegram import Update
from telegram.ext import BaseHandler, CallbackQueryHandler, CommandHandler

from bot import vocab
from bot.callbacks import SessionAnswer, SessionManage, SessionMark, SessionNew, pack, pattern
from bot.errors import Refuse
from bot.forms import SESSION
from bot.i18n import Texts, fmt_day
from bot.notify import ButtonSpec
from handlers import forms
from handlers.base import Ctx, Req, handles
from storage.models import Role, SeatStatus, SessionStatus, SupportSession

MARKS = {SeatStatus.ATTENDED: "✅ ", SeatStatus.ABSENT: "❌ ", SeatStatus.SIGNED_UP: "⬜ "}


# ----- the coordinator ------------------------------------------------------------------


@handles(Role.COORDINATOR)
async def new_session(req: Req) -> None:
    """Start the session form."""
    await forms.begin(req, SESSION, intro="session.intro")


@handles(Role.COORDINATOR)
async def new_session_button(req: Req) -> None:
    """The list's "New session" button."""
    req.pressed(SessionNew)
    await forms.begin(req, SESSION, intro="session.intro")


async def session_done(req: Req, values: dict[str, Any]) -> None:
    """Announce the session to the eligible experts."""
    count = await req.core.sessions.create(req.s, req.actor, values)
    req.say("session.created", count=count)


@handles(Role.COORDINATOR)
async def list_sessions(req: Req) -> None:
    """Sessions from a week back on, each with a button to its participants."""
    sessions = req.core.sessions
    rows = await sessions.upcoming(req.s)
    lines = [req.t("session.list_header")]
    buttons = []
    for sess in rows:
        title = sessions.title(req.lang, sess)
        if sess.status == SessionStatus.CANCELLED:
            title = f"{title} ({req.t('session.cancelled_mark')})"
        lines.append(f"#{sess.id} {title}")
        buttons.append([(f"#{sess.id} {title}"[:60], pack(SessionManage("v", sess.id)))])
    if not rows:
        lines.append(req.t("session.list_none"))
    buttons.append([(req.t("btn.session.new"), pack(SessionNew()))])
    req.reply("\n".join(lines), req.keyboard(buttons))


async def participants_text(req: Req, sess: SupportSession) -> str:
    sessions = req.core.sessions
    people = await sessions.participants(req.s, sess)
    placed = [p for p in people if p.status in SeatStatus.HOLDING]
    waiting = [p for p in people if p.status == SeatStatus.WAITING]
    lines = [
        sessions.details(req.lang, sess),
        "",
        req.t("session.placed", count=len(placed), capacity=sess.capacity),
    ]
    lines += [f"{i}. {p.name}" for i, p in enumerate(placed, start=1)]
    if waiting:
        lines.append(req.t("session.waiting_list", count=len(waiting)))
        lines += [f"{i}. {p.name}" for i, p in enumerate(waiting, start=1)]
    return "\n".join(lines)


@handles(Role.COORDINATOR)
async def manage(req: Req) -> None:
    """A session's participants and waiting list; after it starts, attendance."""
    button = req.pressed(SessionManage)
    sess = await req.core.sessions.get(req.s, button.session_id)
    match button.action:
        case "a":
            await show_attendance(req, sess)
        case "c":
            rows: list[list[ButtonSpec]] = [
                [("btn.session.cancel_yes", pack(SessionManage("k", sess.id)))],
                [("btn.session.cancel_no", pack(SessionManage("v", sess.id)))],
            ]
            title = req.core.sessions.title(req.lang, sess)
            req.edit(req.t("session.cancel_ask", title=title), _markup(req, rows))
        case "k":
            told = await req.core.sessions.cancel(req.s, req.actor, sess)
            title = req.core.sessions.title(req.lang, sess)
            req.edit(req.t("session.cancelled_done", title=title, count=told))
        case _:
            await show_participants(req, sess)


def _markup(req: Req, rows: list[list[ButtonSpec]]) -> Any:
    return req.core.notifier.buttons(req.lang, rows)


async def show_participants(req: Req, sess: SupportSession) -> None:
    """Who has a place and who waits, with what can be done now."""
    rows: list[list[ButtonSpec]] = []
    if sess.status == SessionStatus.CANCELLED:
        req.reply(f"{await participants_text(req, sess)}\n\n{req.t('session.is_cancelled')}")
        return
    if sess.starts_at <= req.core.clock.now():
        rows = [[("btn.session.attendance", pack(SessionManage("a", sess.id)))]]
    else:
        rows = [[("btn.session.cancel_session", pack(SessionManage("c", sess.id)))]]
    req.reply(await participants_text(req, sess), _markup(req, rows))


async def attendance_rows(req: Req, sess: SupportSession) -> list[list[tuple[str, str]]]:
    people = await req.core.sessions.participants(req.s, sess)
    return [
        [(f"{MARKS[p.status]}{p.name}"[:60], pack(SessionMark(sess.id, p.expert_id)))]
        for p in people
        if p.status in SeatStatus.HOLDING
    ]


async def show_attendance(req: Req, sess: SupportSession) -> None:
    if sess.starts_at > req.core.clock.now():
        raise Refuse("session.not_started")
    title = req.core.sessions.title(req.lang, sess)
    rows = await attendance_rows(req, sess)
    key = "session.attendance" if rows else "session.attendance_nobody"
    req.reply(req.t(key, title=title), req.keyboard(rows))


@handles(Role.COORDINATOR)
async def mark(req: Req) -> None:
    """Tap a participant: attended ⇄ absent; only the buttons change."""
    button = req.pressed(SessionMark)
    sessions = req.core.sessions
    sess = await sessions.get(req.s, button.session_id)
    await sessions.mark(req.s, req.actor, sess, button.user_id)
    req.edit_markup(req.keyboard(await attendance_rows(req, sess)))


def _gig_type(texts: Texts, word: str) -> str | None:
    """A gig type by its code or its name in any language, case-blind."""
    word = word.casefold()
    for code in vocab.GIG_TYPES:
        if word == code or word in {v.casefold() for v in texts.all_variants(f"gig_type.{code}")}:
            return code
    return None


def _split_type(texts: Texts, args: list[str]) -> tuple[str, str]:
    """The gig type (its code, or its name of several words) and the training after it."""
    for n in range(len(args) - 1, 0, -1):
        gig_type = _gig_type(texts, " ".join(args[:n]))
        if gig_type is not None:
            return gig_type, " ".join(args[n:]).strip()[:100]
    raise Refuse("session.require_usage", types=", ".join(vocab.GIG_TYPES))


@handles(Role.COORDINATOR)
async def require_training(req: Req) -> None:
    """`/requiretraining <gig type> <training>` (or `-` to drop it); alone, the list."""
    sessions = req.core.sessions
    p = req.core.presenter
    if len(req.args) >= 2:
        gig_type, training = _split_type(req.core.texts, req.args)
        await sessions.require(req.s, req.actor, gig_type, None if training == "-" else training)
    current = await sessions.requirements(req.s)
    lines = [req.t("session.require_header")]
    lines += [
        req.t("session.require_line", type=p.label(req.lang, "gig_type", code), training=name)
        for code, name in sorted(current.items())
    ] or [req.t("session.require_none")]
    lines.append(req.t("session.require_usage", types=", ".join(vocab.GIG_TYPES)))
    req.reply("\n".join(lines))


async def attendance_line(req: Req, expert_id: int) -> str:
    """For the expert's card: the sessions they attended."""
    attended = await req.core.sessions.attended(req.s, expert_id)
    if not attended:
        return req.t("session.card_none")
    tz = req.core.settings.tz
    shown = "; ".join(
        f"{req.core.sessions.name(req.lang, sess)} {fmt_day(sess.starts_at.astimezone(tz).date())}"
        for sess in attended
    )
    return req.t("session.card", sessions=shown)


# ----- the invited expert ---------------------------------------------------------------


@handles(Role.EXPERT)
async def answer(req: Req) -> None:
    """Sign up (a place, or the waiting list) or cancel (the first waiting moves up)."""
    button = req.pressed(SessionAnswer)
    sessions = req.core.sessions
    sess, seat = await sessions.answer(req.s, req.actor, button.session_id, button.sign_up)
    invitation = f"{req.t('session.invitation')}\n\n{sessions.details(req.lang, sess)}"
    if seat.status == SeatStatus.WAITING:
        status = req.t("session.you_wait", place=await sessions.waiting_place(req.s, seat))
    elif seat.status == SeatStatus.SIGNED_UP:
        status = req.t("session.you_signed_up")
    else:
        status = req.t("session.you_cancelled")
    buttons = req.core.notifier.buttons(req.lang, sessions.answer_buttons(sess.id, seat.status))
    req.edit(f"{invitation}\n\n{status}", buttons)


def build_handlers(texts: Texts) -> list[BaseHandler[Update, Ctx, None]]:
    forms.on_complete(SESSION, session_done)
    return [
        CommandHandler("session", new_session),
        CommandHandler("sessions", list_sessions),
        CommandHandler("requiretraining", require_training),
        CallbackQueryHandler(new_session_button, pattern=pattern(SessionNew)),
        CallbackQueryHandler(mark, pattern=pattern(SessionMark)),
        CallbackQueryHandler(manage, pattern=pattern(SessionManage)),
        CallbackQueryHandler(answer, pattern=pattern(SessionAnswer)),
    ]
