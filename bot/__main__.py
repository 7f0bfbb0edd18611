"""`python -m bot` runs the bot (long polling, or a webhook when WEBHOOK_URL is set);
`python -m bot backup <file>` copies the SQLite database while the bot runs."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
import logging
import os
import signal
import sys
from pathlib import Path

from telegram import Update

from bot import logs
from bot.app import build_application, post_init, post_shutdown
from bot.backup import BackupError, backup
from bot.polling import DurablePoller, PollingFailed
from bot.settings import Settings, SettingsError, load_settings
from bot.startup import StartupError, preflight
from bot.web import WebServer
from handlers.base import AnyApplication

log = logging.getLogger(__name__)


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if args.command == "demo":
        from bot import demo

        return demo.main(args.lang, args.out, args.transcripts)
    try:
        # A backup needs only the database: it must work without the bot's token too.
        placeholder = (
            {"bot_token": "100000:" + "x" * 35}
            if (args.command == "backup" and not os.environ.get("BOT_TOKEN"))
            else {}
        )
        settings = load_settings(**placeholder)
    except SettingsError as exc:
        print(f"Configuration error:\n{exc}\nSee .env.example for every setting.", file=sys.stderr)
        return 2
    if args.command == "backup":
        return _backup(settings, args.file)
    return _run(settings)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m bot", description=__doc__)
    sub = parser.add_subparsers(dest="command")
    backup_cmd = sub.add_parser("backup", help="copy the SQLite database (safe while running)")
    backup_cmd.add_argument("file", type=Path)
    demo_cmd = sub.add_parser("demo", help="play one day offline, without Telegram or a token")
    demo_cmd.add_argument("--lang", choices=("fi", "sv", "en"), default="fi")
    demo_cmd.add_argument("--out", type=Path, default=Path("demo-output"))
    demo_cmd.add_argument(
        "--transcripts",
        type=Path,
        default=None,
        help="also write each role's messages as Markdown into this folder",
    )
    return parser


def _backup(settings: Settings, file: Path) -> int:
    """Copy the database to `file`; the exit code."""
    try:
        target = backup(settings, file)
    except BackupError as exc:
        print(f"Backup failed: {exc}", file=sys.stderr)
        return 1
    print(f"Backup written to {target}")
    return 0


def _run(settings: Settings) -> int:
    """Check what the bot needs, then serve (webhook or durable polling); the exit code."""
    logs.setup(settings.log_level, settings.bot_token.get_secret_value())
    try:
        asyncio.run(preflight(settings))
    except StartupError as exc:
        print(exc, file=sys.stderr)
        return 1
    app = build_application(settings)
    return asyncio.run(run_durable(app))


async def run_durable(app: AnyApplication) -> int:
    """Run until SIGINT/SIGTERM, by durable polling (bot/polling.py) or by a durable webhook
    when WEBHOOK_URL is set (bot/web.py); the exit code."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    core = app.bot_data["core"]
    if core.settings.webhook_url:
        return await serve_webhook(app, stop)
    return await serve(app, stop)


YOUNG_GC_THRESHOLD = 10_000


def settled() -> None:
    """Start-up is done: what exists now (modules, the application, compiled statements) lives
    as long as the process, so the garbage collector's full passes leave it out from now on;
    otherwise one pass over it, about 0.1-0.2 s, may fall in the middle of any update (a
    ranking of thousands of experts allocates enough to start one). The youngest generation
    is collected every 10,000 new objects instead of 700: a ranking's 30,000 objects all live
    on, and each young pass would walk them again; the cyclic garbage an update leaves is
    small, so waiting longer costs little memory."""
    gc.freeze()
    gc.set_threshold(YOUNG_GC_THRESHOLD, *gc.get_threshold()[1:])


async def serve_webhook(app: AnyApplication, stop: asyncio.Event) -> int:
    """Take Telegram's webhook until `stop` is set: every update stored before its 200 and
    handled from the store; what an earlier run stored and did not handle goes first."""
    settings = app.bot_data["core"].settings
    async with app:
        await post_init(app)
        settled()
        await app.start()
        web = WebServer(app, webhook_path=settings.webhook_path)
        await web.start(settings.webhook_listen, settings.webhook_port)
        await app.bot.set_webhook(
            settings.webhook_url,
            secret_token=settings.webhook_secret.get_secret_value()
            if settings.webhook_secret
            else None,
            allowed_updates=Update.ALL_TYPES,
        )
        log.info("taking updates by webhook on port %d", web.port)
        await web.recover()
        await stop.wait()
        await web.stop()
        await app.stop()
        try:
            await post_shutdown(app)
        except Exception:
            log.exception("shutting down failed")
            return 1
    return 0


async def serve(app: AnyApplication, stop: asyncio.Event) -> int:
    """Poll until `stop` is set (0) or polling fails for good (1: the supervisor restarts us)."""
    code = 0
    async with app:
        await post_init(app)
        settled()
        await app.start()
        settings = app.bot_data["core"].settings
        web = WebServer(app) if settings.http_port else None
        if web is not None:  # /healthz, /metrics and calendar feeds beside polling
            await web.start(settings.http_listen, settings.http_port)
        poller = asyncio.create_task(DurablePoller(app).run(stop))
        stopping = asyncio.create_task(stop.wait())
        await asyncio.wait({poller, stopping}, return_when=asyncio.FIRST_COMPLETED)
        stopping.cancel()
        if poller.done():
            exc = poller.exception()
            if exc is not None:
                log.critical(
                    "polling stopped (%s); exiting with an error",
                    type(exc).__name__,
                    exc_info=None if isinstance(exc, PollingFailed) else exc,
                )
                code = 1
            elif not stop.is_set():
                log.critical("polling stopped unexpectedly; exiting with an error")
                code = 1
        else:
            poller.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await poller
        if web is not None:
            await web.stop()
        await app.stop()
        try:
            await post_shutdown(app)
        except Exception:
            log.exception("shutting down failed")
            code = 1
    return code


if __name__ == "__main__":
    sys.exit(main())
