"""One leader for the periodic work when several instances share one PostgreSQL database.

The leader is the instance holding a session-level advisory lock (`LEADER_LOCK`) on a
connection of its own, kept open for as long as it leads. PostgreSQL releases the lock the
moment that session ends: at once when the process dies (its socket is closed by the
kernel), and after TCP keepalive (`KEEPALIVE_*`, about 25 s) when its machine vanishes. Every
other instance tries to take the lock before each job run and at least every
`LEADER_POLL_SECONDS`, so a new leader runs the jobs at most one poll after the lock is free.

Before every job run the leader checks its session is still alive (one `SELECT` on that
connection). A job therefore starts only on an instance that holds the lock at that
moment; a job already running when its instance loses the connection (not the process) may
overlap the new leader's first run of that job — the jobs' work is row-level idempotent
(each check-in, wave and round is marked in the transaction that does it), so that overlap
repeats nothing. docs/operations.md has the fail-over timings.

On SQLite there is one process by design (one writer; a second copy polling is refused by
Telegram with 409 Conflict), so that process always leads.
"""

from __future__ import annotations

import logging
import secrets

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from storage.db import INSTANCE_CLASS, LEADER_LOCK

log = logging.getLogger(__name__)

# Server-side TCP keepalive for the leader's session: a vanished machine's lock is freed
# after about idle + interval × count seconds.
KEEPALIVE_IDLE = 10
KEEPALIVE_INTERVAL = 5
KEEPALIVE_COUNT = 3


async def _own_connection(engine: AsyncEngine) -> AsyncConnection:
    """A connection of its own, outside any transaction, with server-side TCP keepalive so a
    vanished machine's session (and its locks) ends within about 25 s."""
    conn = await engine.connect()
    try:
        conn = await conn.execution_options(isolation_level="AUTOCOMMIT")
        for name, value in (
            ("tcp_keepalives_idle", KEEPALIVE_IDLE),
            ("tcp_keepalives_interval", KEEPALIVE_INTERVAL),
            ("tcp_keepalives_count", KEEPALIVE_COUNT),
        ):
            await conn.execute(text(f"SET {name} = {int(value)}"))
    except Exception:
        await conn.close()
        raise
    return conn


async def _discard(conn: AsyncConnection) -> None:
    """Close a connection for good (its session, and so its locks, end), even a broken one."""
    try:
        await conn.invalidate()
    except Exception:
        log.debug("invalidating a connection failed", exc_info=True)
    try:
        await conn.close()
    except Exception:
        log.debug("closing a connection failed", exc_info=True)


class Presence:
    """This instance's number, and on PostgreSQL a lock held for as long as it lives, so
    another instance can tell whether the one that marked an outbox row `sending` is still
    there (bot/outbox.py recovers only the rows of instances that are gone)."""

    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine
        self.number = secrets.randbelow(2**31 - 1) + 1
        self.shared = engine.dialect.name == "postgresql"
        self._conn: AsyncConnection | None = None

    async def start(self) -> None:
        if not self.shared or self._conn is not None:
            return
        conn = await _own_connection(self.engine)
        await conn.execute(
            text("SELECT pg_advisory_lock(:c, :n)"), {"c": INSTANCE_CLASS, "n": self.number}
        )
        self._conn = conn

    async def count(self) -> int:
        """How many instances live on this database now (their presence locks are held),
        this one included; 1 on SQLite. Read on this instance's own connection."""
        if self._conn is None:
            return 1
        live = await self._conn.scalar(
            text(
                "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND granted "
                "AND objsubid = 2 AND classid::bigint = :cls AND database = "
                "(SELECT oid FROM pg_database WHERE datname = current_database())"
            ),
            {"cls": INSTANCE_CLASS},
        )
        return max(1, int(live or 0))

    async def end(self) -> None:
        """Let go (at shutdown): this instance's rows in flight become recoverable."""
        conn, self._conn = self._conn, None
        if conn is not None:
            await _discard(conn)


class Leader:
    """Whether this instance runs the periodic jobs now."""

    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine
        self.shared = engine.dialect.name == "postgresql"
        self._conn: AsyncConnection | None = None

    @property
    def leading(self) -> bool:
        """The last known state (for /metrics and /healthz); `check()` refreshes it."""
        return not self.shared or self._conn is not None

    async def check(self) -> bool:
        """True when this instance leads: it still holds the lock, or has just taken it."""
        if not self.shared:
            return True
        if self._conn is not None:
            try:
                await self._conn.execute(text("SELECT 1"))
                return True
            except Exception:
                log.warning("lost the connection that held the leadership; trying to take it again")
                await self._drop()
        return await self._try_take()

    async def _try_take(self) -> bool:
        try:
            conn = await _own_connection(self.engine)
        except Exception:
            log.warning("cannot reach the database to take the leadership", exc_info=True)
            return False
        try:
            got = await conn.scalar(text("SELECT pg_try_advisory_lock(:k)"), {"k": LEADER_LOCK})
        except Exception:
            await conn.close()
            log.warning("taking the leadership failed", exc_info=True)
            return False
        if not got:
            await conn.close()
            return False
        self._conn = conn
        log.info("this instance now runs the periodic jobs (leader)")
        return True

    async def _drop(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            await _discard(conn)

    async def resign(self) -> None:
        """Give the lead up (at shutdown), so another instance takes over at its next poll."""
        conn, self._conn = self._conn, None
        if conn is None:
            return
        try:
            await conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": LEADER_LOCK})
        finally:
            await conn.close()
        log.info("this instance no longer runs the periodic jobs")
