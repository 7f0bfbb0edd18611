"""Benchmarks: `python -m bench.<name> [--quick]` (see docs/benchmarks.md)."""

from __future__ import annotations

import argparse
import os
from collections.abc import Sequence

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
