"""An operator reads one line naming the setting, not a traceback: every start-up and
command-line failure, run as the operator runs it (`python -m bot` in a shell)."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from tests.harness import TOKEN


def closed_port() -> int:
    """A local port nobody listens on: connecting is refused at once."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


def run_bot(cwd: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    clean = {"PATH": os.environ.get("PATH", ""), "HOME": str(cwd), **env}
    return subprocess.run(
        [sys.executable, "-m", "bot", *args],
        cwd=cwd,
        env=clean,
        capture_output=True,
        text=True,
        timeout=60,
    )


def the_line(result: subprocess.CompletedProcess[str]) -> str:
    """The operator's message: stderr without the bot's ordinary log lines."""
    assert "Traceback" not in result.stderr, result.stderr
    assert TOKEN not in result.stderr + result.stdout
    assert TOKEN.split(":")[1] not in result.stderr + result.stdout
    lines = [line for line in result.stderr.splitlines() if " level=" not in line]
    assert len(lines) == 1, result.stderr
    return lines[0]


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("this is not a url", "is not a database URL"),
        ("mysql+nodriver://user:secretpw@db/kv", "unknown database driver 'mysql+nodriver'"),
    ],
)
def test_a_malformed_database_url_is_named(tmp_path: Path, url: str, expected: str) -> None:
    result = run_bot(tmp_path, BOT_TOKEN=TOKEN, DATABASE_URL=url)
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    problem = [line for line in result.stderr.splitlines() if line.startswith("DATABASE_URL")]
    assert len(problem) == 1 and expected in problem[0], result.stderr
    assert "secretpw" not in result.stderr


def test_an_unreachable_postgresql_is_named(tmp_path: Path) -> None:
    url = f"postgresql+asyncpg://kv:secretpw@127.0.0.1:{closed_port()}/kv"
    result = run_bot(tmp_path, BOT_TOKEN=TOKEN, DATABASE_URL=url)
    assert result.returncode == 1
    line = the_line(result)
    assert line.startswith("DATABASE_URL: cannot connect to the database (connection refused)")
    assert "secretpw" not in line


def test_a_sqlite_folder_that_cannot_be_made_is_named(tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("a regular file")
    url = "sqlite+aiosqlite:///./notes.txt/data/kv.sqlite3"
    result = run_bot(tmp_path, BOT_TOKEN=TOKEN, DATABASE_URL=url)
    assert result.returncode == 1
    line = the_line(result)
    assert line.startswith("DATABASE_URL: cannot create the folder notes.txt/data"), line


def test_an_unreachable_bot_api_is_named_with_a_hint(tmp_path: Path) -> None:
    result = run_bot(
        tmp_path,
        BOT_TOKEN=TOKEN,
        DATABASE_URL="sqlite+aiosqlite:///./data/kv.sqlite3",
        TELEGRAM_BASE_URL=f"http://127.0.0.1:{closed_port()}/bot",
    )
    assert result.returncode == 1
    line = the_line(result)
    assert line.startswith("TELEGRAM_BASE_URL: cannot reach the Telegram Bot API at 127.0.0.1")
    assert "outbound HTTPS" in line


@pytest.fixture
def database(tmp_path: Path) -> str:
    result = run_bot(tmp_path, "backup", "first.sqlite3", DATABASE_URL="sqlite+aiosqlite:///x")
    assert result.returncode == 1  # no database yet: said in one line too
    assert the_line(result).startswith("Backup failed: no database file at x")
    import sqlite3

    sqlite3.connect(tmp_path / "kv.sqlite3").execute("CREATE TABLE t (x)").connection.commit()
    return "sqlite+aiosqlite:///./kv.sqlite3"


def test_a_backup_into_a_folder_is_refused_in_one_line(tmp_path: Path, database: str) -> None:
    (tmp_path / "backups").mkdir()
    result = run_bot(tmp_path, "backup", "backups", DATABASE_URL=database)
    assert result.returncode == 1
    line = the_line(result)
    assert line.startswith("Backup failed: backups is a folder; give a file name"), line


def test_a_backup_under_a_regular_file_is_refused_in_one_line(
    tmp_path: Path, database: str
) -> None:
    (tmp_path / "notes.txt").write_text("a regular file")
    result = run_bot(tmp_path, "backup", "notes.txt/kv.sqlite3", DATABASE_URL=database)
    assert result.returncode == 1
    line = the_line(result)
    assert line.startswith("Backup failed: cannot create the folder notes.txt"), line
    assert (tmp_path / "notes.txt").read_text() == "a regular file"
    ok = run_bot(tmp_path, "backup", "copies/kv.sqlite3", DATABASE_URL=database)
    assert ok.returncode == 0 and (tmp_path / "copies" / "kv.sqlite3").exists()
