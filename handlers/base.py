"""What every handler shares: the typed context, one unit of work per update, replies after
commit, and the role check that runs before any handler code."""

from __future__ import annotations

import functools
import logging
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass, field
from typing import Any, TypeVar, overload

from telegram import (
    CallbackQuery,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    Message,
    Update,
)
from telegram.ext import Application, CallbackContext, ExtBot

from bot.callbacks import Button, Stale, parse_as
from bot.core import Core
from bot.errors import Refuse
from bot.parsing import InputError, parse_id, shorten, split_text
from bot.polling import mark_claimed
from bot.services.access import STRANGER, Actor
from bot.transport import InlineMarkup, Markup, Transport
from storage.db import Session
from storage.models import Role
from storage.repo import InboxRepo, queued

log = logging.getLogger(__name__)

TOAST_LIMIT = 200  # characters Telegram shows on a pressed button's answer
AnyApplication = Application[Any, Any, Any, Any, Any, Any]

A = TypeVar("A", bound=Button)
B = TypeVar("B", bound=Button)
C = TypeVar("C", bound=Button)


class StalePress(Exception):
    """The pressed button's data is not one this handler takes: answered with `err.stale`."""


class Ctx(CallbackContext[ExtBot[None], dict[Any, Any], dict[Any, Any], dict[Any, Any]]):
    """Context with the application's services."""

    def __init__(
        self,
        application: AnyApplication,
        chat_id: int | None = None,
        user_id: int | None = None,
    ) -> None:
        super().__init__(application=application, chat_id=chat_id, user_id=user_id)

    @property
    def core(self) -> Core:
        core: Core = self.bot_data["core"]
        return core


@dataclass
class Req:
    """One update being handled: who asks, the open session, and the replies to send."""

    update: Update
    ctx: Ctx
    s: Session
    actor: Actor
    _after: list[Callable[[], Awaitable[Any]]] = field(default_factory=list)
    _toast: str | None = None
    _toast_alert: bool = False

    @property
    def core(self) -> Core:
        return self.ctx.core

    @property
    def lang(self) -> str:
        return self.actor.lang

    @property
    def query(self) -> CallbackQuery | None:
        return self.update.callback_query

    @overload
    def pressed(self, a: type[A], /) -> A: ...
    @overload
    def pressed(self, a: type[A], b: type[B], /) -> A | B: ...
    @overload
    def pressed(self, a: type[A], b: type[B], c: type[C], /) -> A | B | C: ...
    @overload
    def pressed(self, *kinds: type[Button]) -> Button: ...
    def pressed(self, *kinds: type[Button]) -> Button:
        """The pressed button, read by bot.callbacks; forged or stale data ends the handler
        with the kind `err.stale` answer and no change."""
        button = parse_as(self.query.data if self.query is not None else None, *kinds)
        if isinstance(button, Stale):
            raise StalePress(button.data)
        return button

    @property
    def args(self) -> list[str]:
        return list(self.ctx.args or [])

    @property
    def text(self) -> str:
        msg = self.update.effective_message
        return (msg.text or "") if msg is not None else ""

    def t(self, key: str, **kwargs: Any) -> str:
        return self.core.texts.get(self.lang, key, **kwargs)

    def keyboard(self, rows: list[list[tuple[str, str]]]) -> InlineKeyboardMarkup:
        """Inline buttons from (already rendered label, callback data) pairs."""
        return InlineKeyboardMarkup(
            [
                [InlineKeyboardButton(label, callback_data=data) for label, data in row]
                for row in rows
            ]
        )

    @property
    def transport(self) -> Transport:
        return self.core.transport

    def reply(self, text: str, markup: Markup = None) -> None:
        """Queue a message to this chat; sent once the transaction has committed."""
        chat = self.update.effective_chat
        if chat is None:
            return
        send = self.transport.send_text
        # A long list goes out as several messages (Telegram takes 4,096 characters); the
        # buttons go with the last part.
        *first, last = split_text(text)
        for part in first:
            self._after.append(functools.partial(send, chat.id, part))
        self._after.append(functools.partial(send, chat.id, last, markup))

    def say(self, key: str, markup: Markup = None, **kwargs: Any) -> None:
        self.reply(self.t(key, **kwargs), markup)

    def file(
        self, filename: str, content: bytes, *, photo: bool = False, caption: str | None = None
    ) -> None:
        """Queue a file (or an image shown in the chat) to this person, after the replies
        queued before it."""
        self._after.append(
            functools.partial(
                self.transport.send_file,
                self.actor.telegram_id,
                content,
                filename,
                photo=photo,
                caption=caption,
            )
        )

    def _pressed(self) -> Message | None:
        query = self.query
        if query is None or not isinstance(query.message, Message):
            return None
        return query.message

    def edit(self, text: str, markup: InlineMarkup = None) -> None:
        """Replace the text of the message whose button was pressed."""
        message = self._pressed()
        if message is None:
            self.reply(text, markup)
            return
        first, *rest = split_text(text)
        if rest:
            # Too long for one message: the pressed one shows the start, the rest follows.
            self.edit(first)
            for part in rest[:-1]:
                self.reply(part)
            self.reply(rest[-1], markup)
            return
        self._after.append(
            functools.partial(
                self.transport.edit_text, message.chat_id, message.message_id, text, markup
            )
        )

    def edit_markup(self, markup: InlineMarkup) -> None:
        """Replace only the buttons of the message whose button was pressed."""
        message = self._pressed()
        if message is not None:
            self._after.append(
                functools.partial(
                    self.transport.edit_markup, message.chat_id, message.message_id, markup
                )
            )

    def toast(self, key: str, alert: bool = False, **kwargs: Any) -> None:
        """A short answer on the pressed button."""
        self._toast = shorten(self.t(key, **kwargs), TOAST_LIMIT)
        self._toast_alert = alert

    def later(self, action: Callable[[], Awaitable[Any]]) -> None:
        self._after.append(action)

    async def finish(self) -> None:
        if self.query is not None:
            await self.transport.answer(self.query.id, self._toast, self._toast_alert)
        for action in self._after:
            await action()


HandlerFn = Callable[[Req], Awaitable[None]]
UpdateFn = Callable[[Update, Ctx], Coroutine[Any, Any, None]]


def handles(*roles: str) -> Callable[[HandlerFn], UpdateFn]:
    """Run a handler in one unit of work, for the given roles only (none given: anyone).

    The role comes from the database by the sender's Telegram id: a button or a command is
    never proof of access.
    """

    def decorate(fn: HandlerFn) -> UpdateFn:
        @functools.wraps(fn)
        async def run(update: Update, context: Ctx) -> None:
            tg_user = update.effective_user
            if tg_user is None or (
                update.effective_chat and update.effective_chat.type != "private"
            ):
                return
            core = context.core
            req: Req | None = None
            try:
                async with core.db.unit_of_work() as s:
                    actor = await core.access.identify(
                        s, tg_user.id, tg_user.language_code, tg_user.full_name
                    )
                    req = Req(update, context, s, actor)
                    fresh = await _handle_fresh(fn, roles, req)
                mark_claimed(update.update_id)
            except Refuse as refusal:
                lang = req.lang if req is not None else core.texts.lang(tg_user.language_code)
                await _refused(core, update, lang, refusal)
                return
            if fresh:
                await req.finish()
                if queued(req.s):  # no flush for the many updates that push nothing to others
                    core.outbox.kick()

        return run

    return decorate


async def _handle_fresh(fn: HandlerFn, roles: tuple[str, ...], req: Req) -> bool:
    """Mark the update done and run the handler (or refuse) in the open unit of work; false,
    and nothing run, when it was handled before a crash or is a redelivery."""
    if not await InboxRepo(req.s).claim(req.update.update_id):
        return False
    if roles and req.actor.role not in roles:
        refuse(req)
    else:
        await _run(fn, req)
    return True


async def _refused(core: Core, update: Update, lang: str, refusal: Refuse) -> None:
    """A `Refuse` rolled everything back: answer the button and say why, kindly."""
    text = core.texts.get(lang, refusal.key, **refusal.args_)
    if update.callback_query is not None:
        await core.transport.answer(update.callback_query.id)
    if update.effective_chat is not None:
        await core.transport.send_text(update.effective_chat.id, text)


async def _run(fn: HandlerFn, req: Req) -> None:
    try:
        await fn(req)
    except StalePress:
        stale(req)


def stale(req: Req) -> None:
    """An old or forged button: say so kindly and change nothing."""
    req.toast("err.stale", alert=True)


def arg_id(req: Req, usage: str, index: int = 0) -> int:
    """The record number typed as argument `index` ('12' or '#12'); anything else, a missing
    number included, is answered with the command's usage message `usage`."""
    try:
        return parse_id(req.args[index])
    except (IndexError, InputError):
        raise Refuse(usage) from None


def refuse(req: Req) -> None:
    """A polite no that reveals nothing about what the command would have touched."""
    key = "common.not_registered" if req.actor.role == STRANGER else "common.not_allowed"
    if req.query is not None:
        req.toast(key, alert=True)
    else:
        req.say(key)


ANY_MEMBER = Role.ALL
