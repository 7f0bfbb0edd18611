"""Every benchmark explains itself: `--help` answers at once and names --quick."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
MODULES = sorted(
    p.stem for p in (ROOT / "bench").glob("*.py") if p.stem not in ("__init__", "seed")
)  # seed.py is what the benchmarks share, not one of them


def bench(module: str, *args: str) -> subprocess.CompletedProcess[str]:
    """`python -m bench.<module> <args>` from the project root, its output captured."""
    return subprocess.run(
        [sys.executable, "-m", f"bench.{module}", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_the_benchmarks_are_found() -> None:
    assert {"checkins", "dispatch", "load", "report"} <= set(MODULES)


@pytest.mark.parametrize("module", MODULES)
def test_help_answers_quickly(module: str) -> None:
    started = time.monotonic()
    done = bench(module, "--help")
    assert done.returncode == 0, done.stderr
    assert f"python -m bench.{module}" in done.stdout
    assert "--quick" in done.stdout
    assert time.monotonic() - started < 30  # imports only: nothing is seeded or measured


@pytest.mark.parametrize("module", MODULES)
def test_an_unknown_option_is_refused(module: str) -> None:
    done = bench(module, "--no-such-option")
    assert done.returncode == 2 and "unrecognized arguments" in done.stderr


@pytest.mark.parametrize("module", ["dispatch", "load"])
def test_the_postgres_option_is_documented_and_checked(module: str) -> None:
    shown = bench(module, "--help")
    assert "--postgres URL" in shown.stdout and "dropped" in shown.stdout
    refused = bench(module, "--postgres", "sqlite:///x.db")
    assert refused.returncode == 2 and "postgresql+asyncpg://" in refused.stderr
