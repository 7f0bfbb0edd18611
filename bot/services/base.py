"""What most services are built with, in one place (bot/core.py builds them)."""

from __future__ import annotations

from bot.clock import Clock
from bot.notify import Notifier
from bot.present import Presenter
from bot.services.audit import Audit
from bot.settings import Settings


class Messaging:
    """A service that writes to people: the texts, the outbox's notifier and the clock."""

    def __init__(self, presenter: Presenter, notifier: Notifier, clock: Clock) -> None:
        self.p = presenter
        self.notify = notifier
        self.clock = clock


class Recording(Messaging):
    """A service that also reads the settings and writes the audit log."""

    def __init__(
        self,
        presenter: Presenter,
        notifier: Notifier,
        clock: Clock,
        settings: Settings,
        audit: Audit,
    ) -> None:
        super().__init__(presenter, notifier, clock)
        self.settings = settings
        self.audit = audit
