"""`python -m bot backup <file>`: a consistent copy of a running SQLite database."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from bot.settings import Settings


class BackupError(Exception):
    pass


def backup(settings: Settings, target: Path) -> Path:
    """Copy the live database with SQLite's online backup API (safe while the bot runs:
    the copy is a consistent snapshot, WAL included)."""
    source = settings.sqlite_path()
    if source is None:
        raise BackupError(
            "DATABASE_URL is not SQLite. For PostgreSQL use: pg_dump --format=custom "
            "--file=backup.dump <database> (restore with pg_restore --clean)."
        )
    if not source.exists():
        raise BackupError(f"no database file at {source}")
    target.parent.mkdir(parents=True, exist_ok=True)
    src = sqlite3.connect(f"file:{source}?mode=ro", uri=True)
    dst = sqlite3.connect(target)
    try:
        with dst:
            src.backup(dst)
        check = dst.execute("PRAGMA integrity_check").fetchone()
        if not check or check[0] != "ok":
            raise BackupError(f"the copy failed its integrity check: {check}")
    finally:
        dst.close()
        src.close()
    return target
