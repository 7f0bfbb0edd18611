"""`python -m bot backup <file>`: a consistent copy of a running SQLite database."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from bot.settings import Settings


class BackupError(Exception):
    pass


def _why(exc: OSError) -> str:
    if isinstance(exc, (FileExistsError, NotADirectoryError)):
        return "a file of that name is in the way"
    if isinstance(exc, PermissionError):
        return "permission denied"
    return exc.strerror or type(exc).__name__


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
    if target.is_dir():
        raise BackupError(
            f"{target} is a folder; give a file name, for example {target / 'backup.sqlite3'}"
        )
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise BackupError(
            f"cannot create the folder {target.parent} ({_why(exc)}); choose another path"
        ) from None
    src = sqlite3.connect(f"file:{source}?mode=ro", uri=True)
    try:
        dst = sqlite3.connect(target)
    except sqlite3.Error as exc:
        src.close()
        raise BackupError(f"cannot write {target} ({exc}); choose another path") from None
    try:
        with dst:
            src.backup(dst)
        check = dst.execute("PRAGMA integrity_check").fetchone()
        if not check or check[0] != "ok":
            raise BackupError(f"the copy failed its integrity check: {check}")
    except sqlite3.Error as exc:
        # e.g. the target is some other file ("file is not a database") or the disk is full
        raise BackupError(f"cannot write {target} ({exc}); choose another path") from None
    finally:
        dst.close()
        src.close()
    return target
