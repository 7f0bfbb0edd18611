"""Logging that never carries the bot token or a phone number."""

from __future__ import annotations

import logging
import re

_PHONE = re.compile(r"(?<![\w/])\+?\d[\d \-]{7,}\d(?!\w)")
_TOKEN = re.compile(r"\d{5,}:[A-Za-z0-9_-]{30,}")


class Redact(logging.Filter):
    """Masks tokens and phone-like numbers in everything a record prints: the message, the
    traceback (an exception's text and the source lines quoted) and the stack."""

    _formatter = logging.Formatter()

    def __init__(self, secrets: list[str] | None = None) -> None:
        super().__init__()
        self.secrets = [s for s in (secrets or []) if s]

    def mask(self, text: str) -> str:
        for secret in self.secrets:
            text = text.replace(secret, "[token]")
        text = _TOKEN.sub("[token]", text)
        return _PHONE.sub("[phone]", text)

    def filter(self, record: logging.LogRecord) -> bool:
        record.msg, record.args = self.mask(record.getMessage()), None
        if record.exc_info and record.exc_info[0] is not None and not record.exc_text:
            # Formatters print exc_text when it is set and only format exc_info otherwise; the
            # exception object goes, so no handler can print it unmasked.
            record.exc_text = self._formatter.formatException(record.exc_info)
        record.exc_info = None
        if record.exc_text:
            record.exc_text = self.mask(record.exc_text)
        if record.stack_info:
            record.stack_info = self.mask(record.stack_info)
        return True


def setup(level: str, token: str) -> None:
    handler = logging.StreamHandler()
    handler.setFormatter(
        logging.Formatter("%(asctime)s level=%(levelname)s logger=%(name)s msg=%(message)s")
    )
    handler.addFilter(Redact([token]))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    quiet_libraries()


# Libraries whose debug output carries people's data: the drivers log every statement with its
# parameters (an update's payload: who sent it, their name, what they typed), and the Bot API
# client logs whole updates. Even LOG_LEVEL=DEBUG keeps them at these levels. httpx also logs
# every request URL, and Bot API URLs contain the token.
LIBRARY_LEVELS = {
    "httpx": logging.WARNING,
    "httpcore": logging.WARNING,
    "aiohttp": logging.WARNING,
    "apscheduler": logging.WARNING,
    "aiosqlite": logging.INFO,
    "asyncpg": logging.INFO,
    "sqlalchemy": logging.WARNING,
    "telegram": logging.INFO,
    # The report chart's library logs font-cache work at INFO; nothing the operator needs.
    "matplotlib": logging.WARNING,
    "PIL": logging.WARNING,
}


def quiet_libraries() -> dict[str, int]:
    """Apply LIBRARY_LEVELS; returns the levels they had (for tests to restore)."""
    before = {}
    for name, level in LIBRARY_LEVELS.items():
        logger = logging.getLogger(name)
        before[name] = logger.level
        logger.setLevel(level)
    return before
