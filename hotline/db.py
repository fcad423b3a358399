"""Engine, sessions, one unit of work per request/job, and post-commit side effects."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from pathlib import Path
from typing import Any, TypeVar, cast

from sqlalchemy import CursorResult, Delete, Engine, Table, Update, create_engine, event, make_url
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker

from hotline.settings import get_settings

log = logging.getLogger(__name__)

POOL_SIZE = 10
# What a write raises when the database cannot be reached (down, refusing, silent, every pooled connection
# busy): the webhooks then keep the report in the local spool (hotline/spool/) instead of losing it.
DATABASE_UNAVAILABLE: tuple[type[Exception], ...] = (OperationalError, InterfaceError, PoolTimeout)
T = TypeVar("T")
_engines: dict[str, Engine] = {}
_factories: dict[str, sessionmaker[Session]] = {}
_AFTER_COMMIT = "hotline_after_commit"
_TX_STATE = "hotline_tx_state"
_database_override: ContextVar[str | None] = ContextVar("hotline_database_override", default=None)


def database_url() -> str:
    """The database units of work use: HOTLINE_DATABASE_URL (or the embedded default), unless overridden."""
    return _database_override.get() or get_settings().effective_database_url


@contextmanager
def using_database(url: str) -> Iterator[None]:
    """Units of work (and migrations) inside use `url`: `hotline simulate`'s scratch database."""
    token = _database_override.set(url)
    try:
        yield
    finally:
        _database_override.reset(token)


def make_engine(url: str) -> Engine:
    if url.startswith("sqlite"):
        path = url.split("///", 1)[-1]
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"timeout": 30, "check_same_thread": False})

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
            # WAL lets the API, the worker and `simulate` share one file without "database is locked".
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA busy_timeout=30000")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.close()

        @event.listens_for(engine, "before_cursor_execute")
        def _sqlite_for_update(_conn: Any, cursor: Any, _sql: str, _params: Any, context: Any, _many: bool) -> None:
            # SQLite drops FOR UPDATE and pysqlite begins a transaction only at the first write, so a row "locked"
            # for update was read unlocked: the console taking a call and the ARI app stepping it both read the
            # same path and wrote the same call_events seq. Taking SQLite's write lock first makes it a lock.
            compiled = getattr(context, "compiled", None)
            statement = getattr(compiled, "statement", None)
            if getattr(statement, "_for_update_arg", None) is not None and not cursor.connection.in_transaction:
                cursor.execute("BEGIN IMMEDIATE")

        return engine
    # No pre-ping: it costs a round trip on every checkout, a third of an SMS webhook's database time
    # (docs/benchmarks.md). A connection that died with its server fails once; SQLAlchemy then drops the
    # whole pool, the webhook tries again (retry_if_disconnected) and jobs come back through the sweepers.
    return create_engine(
        url, pool_size=POOL_SIZE, max_overflow=20, pool_recycle=1800, connect_args=postgres_timeouts(url)
    )


# libpq settings that bound how long a server that stops answering (a partition, a hung host) can hold a
# webhook: without them a connect waits for the OS's TCP timeout (minutes) and Twilio gives up at 15 s.
POSTGRES_TIMEOUTS: dict[str, int] = {
    "connect_timeout": 3,  # seconds for TCP + startup; libpq tries each address of the host in turn
    "keepalives": 1,
    "keepalives_idle": 30,  # an idle pooled connection to a vanished server is found dead in ~1 min
    "keepalives_interval": 10,
    "keepalives_count": 3,
    "tcp_user_timeout": 10_000,  # ms: a query sent into a partition (never acknowledged) fails after 10 s
}


def postgres_timeouts(url: str) -> dict[str, int]:
    """POSTGRES_TIMEOUTS, except what the URL sets itself (`?connect_timeout=10` wins)."""
    given = make_url(url).query
    return {key: value for key, value in POSTGRES_TIMEOUTS.items() if key not in given}


def get_engine(url: str | None = None) -> Engine:
    url = url or database_url()
    if url not in _engines:
        _engines[url] = make_engine(url)
    return _engines[url]


def get_sessionmaker(url: str | None = None) -> sessionmaker[Session]:
    url = url or database_url()
    if url not in _factories:
        _factories[url] = sessionmaker(get_engine(url), expire_on_commit=False)
    return _factories[url]


def dispose(url: str) -> None:
    """Close and forget one database's engine (before its file is removed)."""
    engine = _engines.pop(url, None)
    _factories.pop(url, None)
    if engine is not None:
        engine.dispose()


def dispose_all() -> None:
    for engine in _engines.values():
        engine.dispose()
    _engines.clear()
    _factories.clear()


@contextmanager
def unit_of_work(url: str | None = None) -> Iterator[Session]:
    """One transaction: commit on success, roll back on error; post-commit hooks run after commit."""
    session = get_sessionmaker(url)()
    try:
        yield session
        session.commit()
    except BaseException:
        session.info.pop(_AFTER_COMMIT, None)
        session.rollback()
        raise
    finally:
        callbacks = session.info.pop(_AFTER_COMMIT, [])
        session.info.pop(_TX_STATE, None)
        session.close()
    for callback in callbacks:
        try:
            callback()
        except Exception:  # broad: a failed side effect must not undo a committed report
            log.exception("post-commit hook failed; the sweeper will retry from the database")


def retry_if_disconnected(work: Callable[[], T]) -> T:
    """Run `work` (one whole transaction) again, once, if it failed on a connection that had died."""
    try:
        return work()
    except DBAPIError as exc:
        if not exc.connection_invalidated:
            raise
        log.warning("database connection was lost (%s); trying once more on a fresh one", exc.orig)
        return work()


def after_commit(session: Session, callback: Callable[[], None]) -> None:
    """Run `callback` once the unit of work has committed (never after a rollback)."""
    session.info.setdefault(_AFTER_COMMIT, []).append(callback)


def roll_back(session: Session) -> None:
    """Undo the unit of work so far, its after-commit work with it: nothing it wrote or queued is committed, and
    the session goes on in a fresh transaction. For a request that answers a domain error with a page and so
    returns normally (hotline/web/db_session.py `all_or_nothing`)."""
    session.info.pop(_AFTER_COMMIT, None)
    session.info.pop(_TX_STATE, None)
    session.rollback()


def transaction_state(session: Session) -> dict[str, Any]:
    """Scratch space that lives as long as the current unit of work."""
    return session.info.setdefault(_TX_STATE, {})


def rows_changed(session: Session, statement: Update | Delete) -> int:
    """Run an UPDATE or DELETE (without RETURNING) and say how many rows it changed. Session.execute() is
    typed to return a Result; for such a statement it is a CursorResult, which has the rowcount."""
    return cast(CursorResult[Any], session.execute(statement)).rowcount


def dialect_insert(dialect: str, table: Table | type[DeclarativeBase]) -> postgresql.Insert | sqlite.Insert:
    """The INSERT of `dialect` (PostgreSQL or SQLite), which has on_conflict_do_nothing(); the generic one has not."""
    if dialect == "postgresql":
        return postgresql.insert(table)
    if dialect == "sqlite":
        return sqlite.insert(table)
    raise ValueError(f"no INSERT ... ON CONFLICT for the {dialect} dialect")
