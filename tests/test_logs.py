"""Log masking (bot/logs.py): no token and no phone number reaches the log, not even inside a
traceback or a stack."""

from __future__ import annotations

import logging

from tests.evidence import production_log
from tests.harness import TOKEN

log = logging.getLogger("bot.test_logs")


def _send_to(url: str) -> None:
    # The number in the source line is quoted by the traceback, as the message is.
    raise RuntimeError(f"POST {url} failed; the contact was 040 123 4567")


def test_tracebacks_and_stacks_are_masked_like_the_message() -> None:
    with production_log() as buffer:
        try:
            _send_to(f"https://api.telegram.org/bot{TOKEN}/sendMessage")
        except RuntimeError as err:
            log.exception("sending failed: %s", err)
            log.error("the same, as exc_info", exc_info=err, stack_info=True)
        log.warning("a stack for +358 40 765 4321", stack_info=True)
    text = buffer.getvalue()
    assert "Traceback" in text and "RuntimeError" in text and "Stack (most recent" in text
    assert text.count("[token]") >= 3 and "[phone]" in text
    for secret in (TOKEN, TOKEN.split(":")[1], "123 4567", "765 4321"):
        assert secret not in text, secret


def test_a_record_printed_by_two_handlers_is_masked_for_both() -> None:
    """The exception object leaves the record, so a second handler cannot print it raw."""
    with production_log() as first, production_log() as second:
        try:
            _send_to(f"https://api.telegram.org/bot{TOKEN}/getUpdates")
        except RuntimeError:
            log.exception("polling failed")
    for buffer in (first, second):
        assert "RuntimeError" in buffer.getvalue() and TOKEN not in buffer.getvalue()
