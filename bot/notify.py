"""Pushes to people, written to the outbox inside the caller's transaction.

Nothing here talks to Telegram: the outbox sender does that after commit, so a message never
reports a change that was rolled back.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, time, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from bot.callbacks import AlertTag, Claim, pack
from bot.clock import Clock
from bot.messages import Keyboard, Kind, OutMessage, to_row
from bot.parsing import TEXT_LIMIT, shorten, split_text
from bot.present import Presenter
from bot.settings import Settings
from storage.models import Alert, Outbox, Role, User
from storage.repo import OutboxRepo, UserRepo

ButtonSpec = tuple[str, str]  # (catalog key, callback data)
HTML = "HTML"
CAPTION_MAX = 1024  # Telegram's limit for the caption of an image or a file


def next_allowed(moment: datetime, settings: Settings) -> datetime:
    """The first moment at or after `moment` outside quiet hours (local time, DST-safe)."""
    tz = settings.tz
    local = moment.astimezone(tz)
    start, end = settings.quiet_hours_start, settings.quiet_hours_end
    if start == end:
        return moment
    hour = local.hour
    quiet = (start <= hour or hour < end) if start > end else (start <= hour < end)
    if not quiet:
        return moment
    day = local.date()
    if start > end and hour >= start:
        day = day + timedelta(days=1)
    wake = datetime.combine(day, time(end), tzinfo=tz)
    return wake.astimezone(moment.tzinfo)


class Notifier:
    def __init__(self, presenter: Presenter, settings: Settings, clock: Clock) -> None:
        self.p = presenter
        self.settings = settings
        self.clock = clock

    def label(self, lang: str, key: str) -> str:
        """A button label: a catalog key, or literal text after "=" (digits of a scale)."""
        return key[1:] if key.startswith("=") else self.p.t(lang, key)

    def buttons(self, lang: str, rows: list[list[ButtonSpec]] | None) -> Keyboard | None:
        """The keyboard for (catalog key, callback data) pairs, labelled in `lang`."""
        if not rows:
            return None
        return Keyboard.of([(self.label(lang, key), data) for key, data in row] for row in rows)

    def row(
        self,
        user: User,
        text: str,
        *,
        buttons: Keyboard | None = None,
        tag: str | None = None,
        quiet: bool = False,
        kind: Kind = Kind.SEND,
        file: bytes | None = None,
        filename: str | None = None,
        caption: str | None = None,
        parse_mode: str | None = None,
    ) -> Outbox | None:
        """An outbox row for one message, file or edit (None for someone erased); the caller
        adds it. `quiet` holds pushes to experts until quiet hours end."""
        if user.telegram_id is None:
            return None
        message = OutMessage(
            chat_id=user.telegram_id,
            text=text,
            keyboard=buttons,
            parse_mode=parse_mode,
            kind=kind,
            file=file,
            filename=filename,
            caption=caption,
        )
        now = self.clock.now()
        not_before = next_allowed(now, self.settings) if quiet and user.role == Role.EXPERT else now
        return to_row(message, tag=tag, not_before=not_before, now=now)

    async def _add(self, s: AsyncSession, row: Outbox | None) -> None:
        if row is not None:
            await OutboxRepo(s).add(row)

    async def push_text(
        self,
        s: AsyncSession,
        user: User,
        text: str,
        *,
        buttons: Keyboard | None = None,
        tag: str | None = None,
        quiet: bool = False,
        parse_mode: str | None = None,
    ) -> None:
        """Queue a message; `quiet` pushes to experts wait for the end of quiet hours.

        A text longer than Telegram takes goes as several messages; the last one carries the
        buttons and the tag (a later edit replaces that one)."""
        *first, last = split_text(text)
        for part in first:
            await self._add(s, self.row(user, part, quiet=quiet, parse_mode=parse_mode))
        await self._add(
            s,
            self.row(user, last, buttons=buttons, tag=tag, quiet=quiet, parse_mode=parse_mode),
        )

    async def push(
        self,
        s: AsyncSession,
        user: User,
        key: str,
        *,
        buttons: list[list[ButtonSpec]] | None = None,
        tag: str | None = None,
        quiet: bool = False,
        **args: Any,
    ) -> None:
        await self.push_text(
            s,
            user,
            self.p.t(user.language, key, **args),
            buttons=self.buttons(user.language, buttons),
            tag=tag,
            quiet=quiet,
        )

    async def push_document(
        self,
        s: AsyncSession,
        user: User,
        filename: str,
        content: str | bytes,
        *,
        quiet: bool = False,
        caption: str | None = None,
    ) -> None:
        """Queue a file (a calendar entry, a PDF) to follow the messages queued before it."""
        data = content.encode() if isinstance(content, str) else content
        row = self.row(
            user,
            "",
            quiet=quiet,
            kind=Kind.DOCUMENT,
            file=data,
            filename=filename,
            caption=caption[:CAPTION_MAX] if caption else None,
        )
        await self._add(s, row)

    async def push_photo(
        self, s: AsyncSession, user: User, png: bytes, *, filename: str, caption: str
    ) -> None:
        """Queue an image (a QR code) with the caption that explains it; stored base64 until
        sent, then forgotten."""
        row = self.row(
            user, "", kind=Kind.PHOTO, file=png, filename=filename, caption=caption[:CAPTION_MAX]
        )
        await self._add(s, row)

    async def edit_text(
        self,
        s: AsyncSession,
        user: User,
        tag: str,
        text: str,
        buttons: Keyboard | None = None,
        *,
        parse_mode: str | None = None,
    ) -> None:
        """Replace the message sent under `tag`; if it has not gone out yet, it never will."""
        text = shorten(text, TEXT_LIMIT)  # one message can only become one message
        await self._add(
            s,
            self.row(user, text, buttons=buttons, tag=tag, kind=Kind.EDIT, parse_mode=parse_mode),
        )

    async def alert(
        self,
        s: AsyncSession,
        category: str,
        key: str,
        *,
        claimable: bool = False,
        buttons: list[list[ButtonSpec]] | None = None,
        tag: str | None = None,
        per_lang: Callable[[str], dict[str, Any]] | None = None,
        exclude: int | None = None,
        about: int | None = None,
        **args: Any,
    ) -> Alert | None:
        """An alert to every coordinator who wants this category, each in their language.

        A claimable alert carries "I'll take it": the first coordinator to press it is shown
        to the others (see bot.services.alerts). `about` is the user the alert names, so that
        their erasure removes it. Alerts are Telegram HTML, so a person's name can be a link
        (an `Html` value); everything else is escaped.
        """
        coords = [
            c
            for c in await UserRepo(s).coordinators()
            if category not in (c.alert_mutes or []) and c.id != exclude
        ]
        if not coords:
            return None
        texts = {}
        for coord in coords:
            lang = coord.language
            if lang not in texts:
                texts[lang] = self.p.html(lang, key, **args, **(per_lang(lang) if per_lang else {}))
        alert = None
        rows = list(buttons or [])
        if claimable:
            alert = Alert(
                category=category,
                texts=texts,
                created_at=self.clock.now(),
                buttons=[[list(b) for b in row] for row in rows],
                subject_id=about,
            )
            s.add(alert)
            await s.flush()
            rows = [*rows, [("btn.claim", pack(Claim(alert.id)))]]
            tag = pack(AlertTag(alert.id))
        for coord in coords:
            await self.push_text(
                s,
                coord,
                texts[coord.language],
                buttons=self.buttons(coord.language, rows),
                tag=tag,
                parse_mode=HTML,
            )
        return alert

    async def coordinators(
        self,
        s: AsyncSession,
        key: str,
        *,
        buttons: list[list[ButtonSpec]] | None = None,
        tag: str | None = None,
        exclude: int | None = None,
        **args: Any,
    ) -> None:
        """The same alert to every coordinator, each in their own language."""
        for coord in await UserRepo(s).coordinators():
            if coord.id == exclude:
                continue
            await self.push(s, coord, key, buttons=buttons, tag=tag, **args)

    async def edit_coordinators(self, s: AsyncSession, tag: str, key: str, **args: Any) -> None:
        for coord in await UserRepo(s).coordinators():
            await self.edit_text(s, coord, tag, self.p.t(coord.language, key, **args))
