"""Benchmarks: `python -m bench.<name> [--quick]` (see docs/benchmarks.md)."""

from __future__ import annotations

import argparse
import os
import platform
import sqlite3
import sys
from collections.abc import Sequence
from contextlib import suppress
from pathlib import Path

QUICK_ENV = "BENCH_QUICK"
POSTGRES_ENV = "BENCH_POSTGRES_URL"


def options(
    prog: str,
    description: str | None,
    argv: Sequence[str] | None = None,
    *,
    postgres: bool = False,
) -> bool:
    """Parse a benchmark's command line; True for --quick. Quick mode (and, for a benchmark
    that also runs on PostgreSQL, `--postgres URL`) is passed on to child processes through
    the environment, so they use the same sizes and database."""
    parser = argparse.ArgumentParser(
        prog=f"python -m {prog}",
        description=(description or "").strip().splitlines()[0] if description else None,
        epilog="Run from the project root. The full run rewrites its section of "
        "docs/benchmarks.md; --quick only prints.",
    )
    parser.add_argument(
        "--quick",
        action="store_true",
        help="small sizes that finish in about a minute; prints the figures and leaves "
        "docs/benchmarks.md alone (for trying a change, not for the record)",
    )
    if postgres:
        parser.add_argument(
            "--postgres",
            metavar="URL",
            default=os.environ.get(POSTGRES_ENV),
            help="also run on this PostgreSQL database (postgresql+asyncpg://…); everything "
            f"in it is dropped first, so give an empty one. Default: ${POSTGRES_ENV}",
        )
    args = parser.parse_args(argv)
    if args.quick:
        os.environ[QUICK_ENV] = "1"
    if postgres and args.postgres:
        if not args.postgres.startswith("postgresql"):
            parser.error(f"--postgres wants a postgresql+asyncpg:// URL, not {args.postgres!r}")
        os.environ[POSTGRES_ENV] = args.postgres
    return bool(args.quick)


def postgres_url() -> str | None:
    """The PostgreSQL database a benchmark also runs on (`--postgres`), if any."""
    return os.environ.get(POSTGRES_ENV) or None


def quick() -> bool:
    """Whether this process (or the benchmark that started it) runs in --quick mode."""
    return os.environ.get(QUICK_ENV) == "1"


def progress(message: str) -> None:
    """Progress goes to stderr so stdout stays a clean Markdown report."""
    print(message, file=sys.stderr, flush=True)


def machine() -> str:
    """The machine a run was on, for the report."""
    cpu = platform.processor() or platform.machine()
    with suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.partition(":")[2].strip()
                break
    return (
        f"{cpu}, {os.cpu_count()} CPUs, {platform.system()} {platform.release()}, "
        f"Python {platform.python_version()}, SQLite {sqlite3.sqlite_version}"
    )
