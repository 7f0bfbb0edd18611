"""The offline driver lives in the package (the demo uses it too); tests import it here."""

from bot.sandbox.driver import HEL, TOKEN, ErrorLog, Harness, Person, at

__all__ = ["HEL", "TOKEN", "ErrorLog", "Harness", "Person", "at"]
