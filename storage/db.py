"""Engine, unit of work and migrations."""

from __future__ import annotations

import asyncio
import sqlite3
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any, cast

import aiosqlite
from alembic import command
from alembic.config import Config
from sqlalchemy import Connection, event, text
from sqlalchemy.exc import DisconnectionError
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

MIGRATIONS_DIR = Path(__file__).parent / "migrations"

# PostgreSQL advisory lock keys (64-bit), one per kind of work that must run on one instance
# at a time. Fixed numbers: every instance and every version must agree on them.
MIGRATE_LOCK = 0x4B56_0001  # "KV" 1: Alembic upgrades
LEADER_LOCK = 0x4B56_0002  # "KV" 2: the periodic jobs' leader (storage/leader.py)
# Two-int advisory locks (classid, objid): each running instance holds (INSTANCE_CLASS, its
# instance number) for as long as it lives (storage/leader.py `Presence`).
INSTANCE_CLASS = 0x4B56

# PostgreSQL: a pooled connection idle longer than this is pinged before use (`_alive_or_replaced`).
PING_AFTER_IDLE = 10.0
IDLE_SINCE = "kv:idle_since"  # the connection record's info key: when it was last given back

# How long a statement waits for a lock another process holds (a backup, a second copy).
BUSY_TIMEOUT_MS = 30_000

# PostgreSQL connections each instance keeps open (see `make_engine`), and how many more it
# may open at a peak (closed again when returned).
PG_POOL_SIZE = 24
PG_POOL_OVERFLOW = 16

# The session of one unit of work, as handlers hold it (they import nothing from sqlalchemy).
Session = AsyncSession


def make_engine(url: str) -> AsyncEngine:
    """An engine; on SQLite, WAL, foreign keys and write-serialising transactions."""
    if url.startswith("sqlite"):
        path = url.partition(":///")[2]
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        engine = create_async_engine(url, async_creator=_connector(path or ":memory:"))

        @event.listens_for(engine.sync_engine, "connect")
        def _on_connect(dbapi_connection: Any, _record: Any) -> None:
            # Let us emit BEGIN ourselves (the driver's implicit BEGIN is DEFERRED).
            dbapi_connection.isolation_level = None
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA foreign_keys=ON")
            # In WAL mode NORMAL never corrupts the database; it only risks the very last
            # commits on power loss, and saves an fsync per transaction.
            cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
            # Deleted or overwritten content (an update's payload, a forgotten profile) is
            # zeroed in the file instead of lingering in free pages (docs/operations.md).
            cursor.execute("PRAGMA secure_delete=ON")
            cursor.close()
            # SQLite's own lower() knows only A-Z; searches by name ("äänekoski") need
            # Python's, as PostgreSQL's lower() already is.
            dbapi_connection.create_function("lower", 1, _lower, deterministic=True)

        @event.listens_for(engine.sync_engine, "begin")
        def _on_begin(conn: Connection) -> None:
            # IMMEDIATE takes the write lock up front, so two updates racing for the last
            # seat queue up instead of failing with "database is locked" on upgrade. First
            # without waiting, in the loop's thread (no hop to the driver's thread while the
            # writer lane is held); only if another process holds the lock, in the driver's
            # thread, where SQLite's busy handler may wait without stalling the loop.
            driver = conn.connection.driver_connection
            if isinstance(driver, LaneConnection) and driver.begin_now():
                return
            conn.exec_driver_sql("BEGIN IMMEDIATE")

        return engine
    # Enough connections kept open for every unit of work that runs at once: the chats
    # handled concurrently (bot/polling.py `default_width`), the outbox, the jobs and the
    # HTTP side. With SQLAlchemy's default of 5 kept, the rest would be opened and closed for
    # each unit of work (an overflow connection is not kept).
    engine = create_async_engine(url, pool_size=PG_POOL_SIZE, max_overflow=PG_POOL_OVERFLOW)
    event.listen(engine.sync_engine, "checkin", _note_checkin)
    event.listen(engine.sync_engine, "checkout", _alive_or_replaced)
    return engine


def _note_checkin(_dbapi_connection: Any, record: Any) -> None:
    record.info[IDLE_SINCE] = time.monotonic()


def _alive_or_replaced(dbapi_connection: Any, record: Any, _proxy: Any) -> None:
    """SQLAlchemy's `pool_pre_ping` without its cost on a busy pool. That ping is three round
    trips on asyncpg (BEGIN, `;`, ROLLBACK) at every checkout, 3 of the 8 a `/mygigs` made.
    Here a connection the server has closed (a restart: the loop has seen the socket end) is
    dropped without any, and only one idle for `PING_AFTER_IDLE` seconds is pinged, where a
    firewall or proxy may have dropped it silently. `DisconnectionError` makes the pool
    discard the connection and hand out another (a new one if need be)."""
    driver = record.driver_connection
    if driver is None or driver.is_closed():
        raise DisconnectionError("the database closed this connection")
    idle_since = record.info.get(IDLE_SINCE)
    if idle_since is not None and time.monotonic() - idle_since > PING_AFTER_IDLE:
        try:
            dbapi_connection.ping()
        except Exception as exc:
            raise DisconnectionError("the database does not answer on this connection") from exc


class LaneConnection(aiosqlite.Connection):
    """aiosqlite's connection, except that while `inline` is set its calls run at once in the
    event loop's thread, instead of a hop to the connection's own thread and back for every
    cursor call (most of the bot's CPU per update was spent in that hand-off:
    docs/benchmarks.md). `Database.unit_of_work` sets it only inside the writer lane and only
    after BEGIN IMMEDIATE has taken SQLite's write lock: from there on no statement of the
    transaction waits for a lock (WAL: readers never block the writer), so nothing blocks.
    BEGIN IMMEDIATE itself runs in the loop's thread too when the lock is free (`begin_now`,
    which never waits); only when another process holds it does the wait happen in the
    connection's thread, where it cannot stall the loop. So a unit of work in the lane makes
    no thread hop at all: a hop while the lane is held made every other writer wait for the
    two threads to pass the interpreter between them, and made 16 chats at a time slower
    than one (docs/benchmarks.md)."""

    inline = False

    def begin_now(self) -> bool:
        """BEGIN IMMEDIATE at once in the caller's thread if SQLite's write lock is free;
        false, with nothing begun, if another connection (another process) holds it. Never
        waits: the busy handler is off for this one statement. Safe in the loop's thread:
        the connection was just checked out, so its own thread has no call in hand."""
        raw = self._connection
        if not self._running or raw is None:
            return False
        raw.execute("PRAGMA busy_timeout=0")
        try:
            raw.execute("BEGIN IMMEDIATE")
        except sqlite3.OperationalError as exc:
            if exc.sqlite_errorcode & 0xFF != sqlite3.SQLITE_BUSY:  # extended codes too
                raise
            return False
        finally:
            raw.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
        return True

    async def _execute(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        if self.inline and self._running and self._connection is not None:
            return fn(*args, **kwargs)
        return await super()._execute(fn, *args, **kwargs)  # type: ignore[no-untyped-call]


def _connector(path: str) -> Callable[[], Awaitable[LaneConnection]]:
    async def connect() -> LaneConnection:
        # check_same_thread off: the connection's thread and, inline, the loop's use it, one
        # call at a time (a connection serves one unit of work at a time).
        return cast(
            LaneConnection,
            await LaneConnection(
                lambda: sqlite3.connect(path, timeout=30, check_same_thread=False), 64
            ),
        )

    return connect


BeforeCommit = Callable[[AsyncSession], Awaitable[None]]


def _lower(value: object) -> object:
    return value.lower() if isinstance(value, str) else value


class Database:
    """Owns the engine and hands out one session per unit of work."""

    def __init__(self, url: str, *, writer_lane: bool = True) -> None:
        self.url = url
        self.engine = make_engine(url)
        self.sessions = async_sessionmaker(self.engine, expire_on_commit=False)
        self.before_commit: list[BeforeCommit] = []
        # Connections held outside the pool's care (the leader's lock, this instance's
        # presence) are closed first when the database is disposed.
        self.before_dispose: list[Callable[[], Awaitable[None]]] = []
        # SQLite has one writer at a time. Without a lane, concurrent units of work each
        # hold a pooled connection blocked in BEGIN IMMEDIATE, and SQLite's busy handler
        # wakes them by polling with growing sleeps; with it they queue in this process, in
        # order, and the lock passes on the moment a commit ends (docs/architecture.md has
        # the measurements). PostgreSQL takes row locks instead and needs no lane.
        self._lane: asyncio.Lock | None = (
            asyncio.Lock() if writer_lane and url.startswith("sqlite") else None
        )

    def on_before_commit(self, hook: BeforeCommit) -> None:
        """Run `hook` at the end of every successful unit of work, inside its transaction.

        The composition root registers work that belongs at the edge of a unit of work
        rather than at every place that causes it (dispatch's live status messages: see
        bot/services/dispatch/status.py). Storage knows nothing of what the hook does."""
        if hook not in self.before_commit:
            self.before_commit.append(hook)

    @asynccontextmanager
    async def unit_of_work(self) -> AsyncIterator[AsyncSession]:
        """One transaction: commit on success, roll back on any error. The before-commit
        hooks run only on the way to a commit."""
        if self._lane is None:
            async with self.sessions() as session, session.begin():
                yield session
                for hook in self.before_commit:
                    await hook(session)
            return
        async with self._lane:
            driver: LaneConnection | None = None
            try:
                async with self.sessions() as session, session.begin():
                    driver = await _inline_after_begin(session)
                    yield session
                    for hook in self.before_commit:
                        await hook(session)
            finally:
                if driver is not None:
                    driver.inline = False  # before the lane lets the next writer in

    async def migrate(self) -> None:
        """Bring the schema to the newest revision (a fresh file just works).

        Several instances may start at once on one PostgreSQL database: the first takes a
        transaction-level advisory lock and migrates; the others wait on the lock, then find
        the schema at head and go on (without it, the second crashed creating
        `alembic_version`). The lock ends with the transaction, so a migrator that dies
        frees it at once."""
        async with self.engine.begin() as conn:
            if conn.dialect.name == "postgresql":
                lock = text("SELECT pg_advisory_xact_lock(:key)")
                await conn.execute(lock, {"key": MIGRATE_LOCK})
            await conn.run_sync(_upgrade)

    async def dispose(self) -> None:
        for close in self.before_dispose:
            await close()
        await self.engine.dispose()


async def _inline_after_begin(session: AsyncSession) -> LaneConnection | None:
    """Begin now (BEGIN IMMEDIATE, in the driver's thread), then run the rest inline."""
    conn = await session.connection()
    raw = await conn.get_raw_connection()
    driver = raw.driver_connection
    if not isinstance(driver, LaneConnection):
        return None
    driver.inline = True
    return driver


def alembic_config(connection: Connection | None = None) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    if connection is not None:
        cfg.attributes["connection"] = connection
    return cfg


def _upgrade(connection: Connection) -> None:
    command.upgrade(alembic_config(connection), "head")
