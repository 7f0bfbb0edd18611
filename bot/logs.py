"""Logging that never carries the bot token or a phone number."""

from __future__ import annotations

import logging
import re

_PHONE = re.compile(r"(?<![\w/])\+?\d[\d \-]{7,}\d(?!\w)")
_TOKEN = re.compile(r"\d{5,}:[A-Za-z0-9_-]{30,}")


class Redact(logging.Filter):
    """Masks tokens and phone-like numbers in the final message of every record."""

    def __init__(self, secrets: list[str] | None = None) -> None:
        super().__init__()
        self.secrets = [s for s in (secrets or []) if s]

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        for secret in self.secrets:
            message = message.replace(secret, "[token]")
        message = _TOKEN.sub("[token]", message)
        message = _PHONE.sub("[phone]", message)
        record.msg, record.args = message, None
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
    # httpx logs every request URL, and Bot API URLs contain the token.
    logging.getLogger("httpx").setLevel(logging.WARNING)
    logging.getLogger("apscheduler").setLevel(logging.WARNING)
    # The report chart's library logs font-cache work at INFO; it says nothing the operator needs.
    logging.getLogger("matplotlib").setLevel(logging.WARNING)
    logging.getLogger("PIL").setLevel(logging.WARNING)
