"""One bot instance for tests that run several as separate processes:
`python -m bot.sandbox.instance` is `python -m bot` (settings from the environment, webhook
mode when WEBHOOK_URL is set) with the periodic ticks every `SANDBOX_TICK_SECONDS` (default
1) instead of every minute or five, so a fail-over shows within seconds of real time. The
outbox's and the leader's intervals come from the settings as usual."""

from __future__ import annotations

import asyncio
import dataclasses
import os
import sys

import scheduler
from bot import logs
from bot.__main__ import run_durable
from bot.app import build_application
from bot.settings import SettingsError, load_settings

FAST = frozenset(
    {"dispatch:tick", "checkins:tick", "calls:tick", "sessions:tick", "feedback:tick", "relay:tick"}
)


def main() -> int:
    try:
        settings = load_settings()
    except SettingsError as exc:
        print(exc, file=sys.stderr)
        return 2
    logs.setup(settings.log_level, settings.bot_token.get_secret_value())
    tick = int(os.environ.get("SANDBOX_TICK_SECONDS", "1"))
    scheduler.JOBS = tuple(
        dataclasses.replace(spec, when=scheduler.Every(tick, first=tick))
        if spec.id in FAST
        else spec
        for spec in scheduler.JOBS
    )
    return asyncio.run(run_durable(build_application(settings)))


if __name__ == "__main__":
    sys.exit(main())
