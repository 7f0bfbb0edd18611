"""Evidence for promise tests: everything the bot stored and logged, as text to search.

A promise in a message ("not stored", "anonymous", "deleted") is checked by doing the thing
through the real Application and then searching *all* of this for what must not be there.
"""

from __future__ import annotations

import io
import logging
from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import text

from bot.logs import Redact, quiet_libraries
from bot.sandbox.driver import TOKEN, Harness
from storage.models import Base


async def everything(h: Harness) -> str:
    """Every value in every table (bytes decoded), one row per line, as one text to search."""
    out = []
    async with h.core.db.unit_of_work() as s:
        for table in Base.metadata.sorted_tables:
            for row in await s.execute(text(f"SELECT * FROM {table.name}")):
                values = [_text(v) for v in row]
                out.append(f"{table.name}: " + " ".join(values))
    return "\n".join(out)


def _text(value: object) -> str:
    if isinstance(value, memoryview):
        value = bytes(value)
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    return str(value)


@contextmanager
def production_log(level: int = logging.DEBUG) -> Iterator[io.StringIO]:
    """Capture the log as production writes it (same filter, same library levels), at DEBUG
    unless told otherwise."""
    buffer = io.StringIO()
    handler = logging.StreamHandler(buffer)
    handler.setFormatter(
        logging.Formatter("%(asctime)s level=%(levelname)s logger=%(name)s msg=%(message)s")
    )
    handler.addFilter(Redact([TOKEN]))
    root = logging.getLogger()
    old_level = root.level
    root.addHandler(handler)
    root.setLevel(level)
    libraries = quiet_libraries()
    try:
        yield buffer
    finally:
        root.removeHandler(handler)
        root.setLevel(old_level)
        for name, old in libraries.items():
            logging.getLogger(name).setLevel(old)


def occurrences(haystack: str, needle: str) -> list[str]:
    """The lines of a dump or log that contain `needle`."""
    return [line for line in haystack.splitlines() if needle in line]
