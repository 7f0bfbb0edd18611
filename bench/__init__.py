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


def options(prog: str, description: str | None, argv: Sequence[str] | None = None) -> bool:
    """Parse a benchmark's command line; True for --quick. Quick mode is passed on to child
    processes through the environment, so they use the same small sizes."""
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
    args = parser.parse_args(argv)
    if args.quick:
        os.environ[QUICK_ENV] = "1"
    return bool(args.quick)


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
