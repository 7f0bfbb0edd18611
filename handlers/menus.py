"""Per-role reply menus and the bot command lists registered with setMyCommands."""

from __future__ import annotations

import logging

from telegram import Bot, BotCommand, BotCommandScopeChat, KeyboardButton, ReplyKeyboardMarkup
from telegram.error import TelegramError

from bot.i18n import Texts
from bot.services.access import STRANGER
from bot.settings import TELEGRAM_LANGUAGES
from storage.models import Role

log = logging.getLogger(__name__)

COMMANDS: dict[str, tuple[str, ...]] = {
    STRANGER: ("start", "help", "language"),
    Role.ORDERER: ("neworder", "myorders", "help", "language", "cancel"),
    Role.EXPERT: (
        "mygigs",
        "profile",
        "pause",
        "resume",
        "availability",
        "opengigs",
        "myfees",
        "certificate",
        "myfeedback",
        "calendar",
        "mydata",
        "forget",
        "help",
        "language",
        "cancel",
    ),
    Role.COORDINATOR: (
        "pending",
        "gigs",
        "gig",
        "experts",
        "expert",
        "feedback",
        "fees",
        "report",
        "billing",
        "audit",
        "alerts",
        "invite",
        "companion",
        "call",
        "calls",
        "session",
        "sessions",
        "requiretraining",
        "calendar",
        "help",
        "language",
        "cancel",
    ),
}

MENUS: dict[str, tuple[tuple[str, ...], ...]] = {
    Role.ORDERER: (("menu.new_order", "menu.my_orders"), ("menu.order_again", "menu.help")),
    Role.EXPERT: (
        ("menu.my_gigs", "menu.profile"),
        ("menu.open_gigs", "menu.availability"),
        ("menu.help",),
    ),
    Role.COORDINATOR: (("menu.pending", "menu.calls"), ("menu.help",)),
}


def menu(texts: Texts, lang: str, role: str) -> ReplyKeyboardMarkup | None:
    rows = MENUS.get(role)
    if not rows:
        return None
    return ReplyKeyboardMarkup(
        [[KeyboardButton(texts.get(lang, key)) for key in row] for row in rows],
        resize_keyboard=True,
        is_persistent=True,
    )


def commands(texts: Texts, lang: str, role: str) -> list[BotCommand]:
    return [BotCommand(name, texts.get(lang, f"cmd.{name}")) for name in COMMANDS[role]]


async def set_chat_commands(bot: Bot, texts: Texts, chat_id: int, role: str, lang: str) -> None:
    """Show this person the commands of their role, in their language."""
    try:
        await bot.set_my_commands(commands(texts, lang, role), scope=BotCommandScopeChat(chat_id))
    except TelegramError as exc:  # a menu is a convenience; never fail the update over it
        log.warning("setMyCommands failed: %s", exc.__class__.__name__)


async def set_default_commands(bot: Bot, texts: Texts) -> None:
    """Strangers see start/help/language in their client's language. Plain Finnish has no
    Telegram language code, so no client asks for it: whoever chooses it in /language gets
    their role's commands in plain Finnish in their own chat's scope (`set_chat_commands`)."""
    await bot.set_my_commands(commands(texts, texts.default, STRANGER))
    for lang in TELEGRAM_LANGUAGES:
        await bot.set_my_commands(commands(texts, lang, STRANGER), language_code=lang)
