"""`python -m bot` runs the bot (long polling)."""

from __future__ import annotations

import argparse
import sys

from telegram import Update

from bot import logs
from bot.app import build_application
from bot.settings import SettingsError, load_settings


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bot", description=__doc__)
    parser.parse_args(argv)
    try:
        settings = load_settings()
    except SettingsError as exc:
        print(f"Configuration error:\n{exc}\nSee .env.example for every setting.", file=sys.stderr)
        return 2
    logs.setup(settings.log_level, settings.bot_token.get_secret_value())
    app = build_application(settings)
    app.run_polling(allowed_updates=Update.ALL_TYPES)
    return 0


if __name__ == "__main__":
    sys.exit(main())
