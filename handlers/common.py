"""Start, help, language, cancel, and what happens to everything no other handler takes."""

from __future__ import annotations

import html
import logging
import traceback

from telegram import Update
from telegram.ext import BaseHandler, CallbackQueryHandler, CommandHandler, MessageHandler, filters

from bot.callbacks import Language, pack, pattern
from bot.i18n import Texts
from bot.services.access import STRANGER, Redeemed
from bot.services.feedback import TOKEN_PREFIX
from bot.settings import LANGUAGES
from handlers import feedback, forms
from handlers.base import Ctx, Req, handles, stale
from handlers.menus import menu, set_chat_commands
from storage.models import Role
from storage.repo import UserRepo

log = logging.getLogger(__name__)


@handles()
async def start(req: Req) -> None:
    """Register with an invite code, or greet someone already known."""
    code = req.args[0] if req.args else ""
    if code.startswith(TOKEN_PREFIX):
        # A feedback link works for anyone, registered or not.
        await feedback.start_answer(req, code.removeprefix(TOKEN_PREFIX))
        return
    if req.actor.role != STRANGER:
        await greet(req)
        return
    if not code:
        await say_stranger(req)
        return
    tg_user = req.update.effective_user
    assert tg_user is not None
    outcome, user = await req.core.access.redeem(req.s, req.actor, code, tg_user.full_name)
    if outcome is not Redeemed.OK or user is None:
        if not await UserRepo(req.s).coordinators():
            await say_stranger(req)
            return
        req.say("start.invalid_invite")
        return
    chat_id = req.actor.telegram_id
    bot, texts, lang, role = req.ctx.bot, req.core.texts, req.lang, user.role
    req.later(lambda: set_chat_commands(bot, texts, chat_id, role, lang))
    if user.role == Role.EXPERT:
        forms.ask_consent(req)
    else:
        req.say(f"start.welcome_{user.role}", menu(req.core.texts, req.lang, user.role))


async def say_stranger(req: Req) -> None:
    """How to get in. While nobody at all is coordinator, the person starting the bot is most
    likely the one who installed it: tell them their id and the setting to put it in."""
    if await UserRepo(req.s).coordinators():
        req.say("start.stranger")
    else:
        req.say("start.no_coordinator", id=req.actor.telegram_id)


async def greet(req: Req) -> None:
    role = req.actor.role
    if role == Role.EXPERT and await UserRepo(req.s).profile(req.actor.id) is None:
        # Registered by invite but consent or profile is still missing: continue there.
        if await forms.resume(req):
            return
        forms.ask_consent(req)
        return
    req.say(f"help.{role}", menu(req.core.texts, req.lang, role), **help_args(req))


def help_args(req: Req) -> dict[str, str]:
    """What the help texts fill in from the settings: the quiet hours, as the reader says them
    ("21–8" in Finnish, "9 pm–8 am" in English)."""
    settings = req.core.settings

    return {
        "quiet_start": req.t(f"clock.h{settings.quiet_hours_start}"),
        "quiet_end": req.t(f"clock.h{settings.quiet_hours_end}"),
    }


@handles()
async def help_command(req: Req) -> None:
    """Explain what this person can do, by role."""
    role = req.actor.role
    req.say(f"help.{role}", menu(req.core.texts, req.lang, role), **help_args(req))


@handles()
async def language(req: Req) -> None:
    """Offer the languages, each named in itself, two to a row (they fit a phone)."""
    texts = req.core.texts
    buttons = [(texts.get(code, "language.self"), pack(Language(code))) for code in LANGUAGES]
    req.say(
        "language.choose", req.keyboard([buttons[i : i + 2] for i in range(0, len(buttons), 2)])
    )


@handles()
async def language_chosen(req: Req) -> None:
    """Switch the language of every message from now on, and go on where the person was (an
    expert still registering is asked the open question again, in the new language)."""
    code = req.pressed(Language).code
    await req.core.access.set_language(req.s, req.actor, code)
    req.edit(req.t("language.changed"))
    role = req.actor.role
    if role != STRANGER:
        bot, texts, chat_id = req.ctx.bot, req.core.texts, req.actor.telegram_id
        req.later(lambda: set_chat_commands(bot, texts, chat_id, role, code))
        await greet(req)


@handles()
async def cancel(req: Req) -> None:
    """Leave the form in progress; nothing half-finished is sent."""
    if await forms.discard(req):
        req.say("common.cancelled", menu(req.core.texts, req.lang, req.actor.role))
    else:
        req.say("common.nothing_to_cancel")


@handles()
async def unknown_command(req: Req) -> None:
    """Point to /help for commands the bot does not have (or this person may not use)."""
    req.say("common.unknown_command" if req.actor.role != STRANGER else "start.stranger")


@handles()
async def free_text(req: Req) -> None:
    """Typed text answers the form in progress, or an audience member's feedback question;
    otherwise say what the bot can do."""
    if await forms.answer_text(req):
        return
    # Audience members answering a feedback link are often not registered at all.
    if await feedback.typed_answer(req):
        return
    req.say("common.unknown_text" if req.actor.role != STRANGER else "start.stranger")


@handles()
async def unknown_text(req: Req) -> None:
    req.say("common.unknown_text" if req.actor.role != STRANGER else "start.stranger")


@handles()
async def unknown_button(req: Req) -> None:
    """An old or forged button: say so and change nothing."""
    stale(req)


async def on_error(update: object, context: Ctx) -> None:
    """Log first, then tell the person something kind and true, then alert coordinators."""
    err = context.error
    log.error(
        "error while handling an update: %s",
        "".join(traceback.format_exception_only(type(err), err)).strip() if err else "?",
        exc_info=err,
    )
    core = context.core
    if isinstance(update, Update) and update.effective_chat is not None:
        lang = core.texts.lang(
            update.effective_user.language_code if update.effective_user else None
        )
        try:
            await context.bot.send_message(
                update.effective_chat.id, core.texts.get(lang, "common.error")
            )
        except Exception:
            log.warning("could not tell the user about the error")
    kind = type(err).__name__ if err else "?"
    try:
        async with core.db.unit_of_work() as s:
            coordinators = list(await UserRepo(s).coordinators())
        for coord in coordinators:
            if coord.telegram_id is not None:
                await context.bot.send_message(
                    coord.telegram_id,
                    core.texts.get(coord.language, "coord.error_alert", kind=html.escape(kind)),
                )
    except Exception:
        log.warning("could not alert coordinators about the error")


def build_handlers(texts: Texts) -> list[BaseHandler[Update, Ctx, None]]:
    return [
        CommandHandler("start", start),
        MessageHandler(filters.Text(sorted(texts.all_variants("menu.help"))), help_command),
        CommandHandler("help", help_command),
        CommandHandler("language", language),
        CommandHandler("cancel", cancel),
        CallbackQueryHandler(language_chosen, pattern=pattern(Language)),
    ]


def build_fallbacks() -> list[BaseHandler[Update, Ctx, None]]:
    return [
        MessageHandler(filters.TEXT & ~filters.COMMAND, free_text),
        MessageHandler(filters.COMMAND, unknown_command),
        MessageHandler(filters.ALL, unknown_text),
        CallbackQueryHandler(unknown_button),
    ]
