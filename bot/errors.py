"""Domain refusals: raised to roll the unit of work back and tell the person why."""

from __future__ import annotations


class Refuse(Exception):
    """Undo this update's changes and reply with catalog message `key`."""

    def __init__(self, key: str, **args: object) -> None:
        super().__init__(key)
        self.key = key
        self.args_ = args
