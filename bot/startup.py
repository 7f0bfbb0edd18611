"""Before the bot starts: open the database and reach the Bot API once, so that a wrong
setting is reported as one line naming it instead of a traceback."""

from __future__ import annotations

import contextlib
import socket
from urllib.parse import urlsplit

from sqlalchemy.exc import SQLAlchemyError
from telegram import Bot
from telegram.error import InvalidToken, NetworkError

from bot.settings import Settings
from storage.db import Database

DEFAULT_API = "https://api.telegram.org/bot"


class StartupError(Exception):
    """What keeps the bot from starting, in one line that names the setting."""


# The first of these that an error in the chain is, innermost first, says what went wrong.
_OS_REASONS: tuple[tuple[type[BaseException] | tuple[type[BaseException], ...], str], ...] = (
    (ConnectionRefusedError, "connection refused"),
    (socket.gaierror, "host name not found"),
    (TimeoutError, "timed out"),
    (PermissionError, "permission denied"),
    ((FileExistsError, NotADirectoryError), "a file is in the way"),
    (IsADirectoryError, "it is a folder"),
    (FileNotFoundError, "no such folder, and it cannot be made there"),
)
# asyncpg's errors, matched by name.
_DRIVER_REASONS = {
    "InvalidPasswordError": "user name or password rejected",
    "InvalidCatalogNameError": "no such database",
}


def _reason(exc: BaseException) -> str:
    """A short, secret-free reason from the innermost cause of a failure."""
    chain = _causes(exc)
    for err in reversed(chain):
        for kind, reason in _OS_REASONS:
            if isinstance(err, kind):
                return reason
    names = {type(err).__name__ for err in chain}
    for name, reason in _DRIVER_REASONS.items():
        if name in names:
            return reason
    return type(chain[-1]).__name__


def _causes(exc: BaseException) -> list[BaseException]:
    """`exc` and what caused it, outermost first."""
    chain: list[BaseException] = []
    seen: BaseException | None = exc
    while seen is not None and seen not in chain:
        chain.append(seen)
        seen = seen.__cause__ or seen.__context__
    return chain


async def check_database(settings: Settings) -> None:
    """Open the database and bring its schema up to date (the bot does the same on start)."""
    path = settings.sqlite_path()
    try:
        db = Database(settings.database_url)
    except OSError as exc:
        folder = path.parent if path is not None else "?"
        raise StartupError(
            f"DATABASE_URL: cannot create the folder {folder} for the SQLite database "
            f"({_reason(exc)}). Choose a path the bot's user may write to."
        ) from None
    try:
        await db.migrate()
    except (OSError, SQLAlchemyError, TimeoutError, ImportError) as exc:
        raise StartupError(_database_message(settings, exc)) from None
    except Exception as exc:  # asyncpg's own errors (a wrong password, no such database)
        if type(exc).__module__.startswith("asyncpg"):
            raise StartupError(_database_message(settings, exc)) from None
        raise
    finally:
        await db.dispose()


def _database_message(settings: Settings, exc: BaseException) -> str:
    path = settings.sqlite_path()
    if path is not None:
        return (
            f"DATABASE_URL: cannot open the SQLite database {path} ({_reason(exc)}). "
            "Check that the path is a file the bot's user may write to."
        )
    return (
        f"DATABASE_URL: cannot connect to the database ({_reason(exc)}). Check that PostgreSQL "
        "is running and that host, port, user, password and database name are right."
    )


async def check_telegram(settings: Settings) -> None:
    """Ask the Bot API who we are (getMe), as the bot does first thing."""
    base = settings.telegram_base_url or DEFAULT_API
    bot = Bot(settings.bot_token.get_secret_value(), base_url=base)
    host = urlsplit(base).hostname or base.split("/")[0]
    try:
        await bot.initialize()
    except InvalidToken:
        raise StartupError(
            "BOT_TOKEN: the Bot API refused the token. Copy it again from @BotFather."
        ) from None
    except NetworkError as exc:
        raise StartupError(
            f"TELEGRAM_BASE_URL: cannot reach the Telegram Bot API at {host} "
            f"({_reason(exc)}). Check that this machine may make outbound HTTPS connections "
            "(firewall, proxy) and that TELEGRAM_BASE_URL is right (unset means api.telegram.org)."
        ) from None
    finally:
        # Nothing may have been opened; the error above is the one to report.
        with contextlib.suppress(Exception):
            await bot.shutdown()


async def preflight(settings: Settings) -> None:
    await check_database(settings)
    await check_telegram(settings)
