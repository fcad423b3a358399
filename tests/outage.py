"""The database made unreachable for this process (its app server, replayer and ARI app): HOTLINE_DATABASE_URL
names a PostgreSQL port where nothing listens, so every connection is really refused (no mock). Redis likewise
(`redis_unreachable`)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager

from hotline.db import dispose
from hotline.settings import get_settings
from hotline.spool.store import current_spool
from tests.fault_processes import free_port, wait_for


@contextmanager
def database_unreachable(**settings: str) -> Iterator[None]:
    real = os.environ["HOTLINE_DATABASE_URL"]
    dead = f"postgresql+psycopg://postgres@127.0.0.1:{free_port()}/gone"
    os.environ.update(HOTLINE_DATABASE_URL=dead, **settings)
    get_settings.cache_clear()
    try:
        yield
    finally:
        os.environ["HOTLINE_DATABASE_URL"] = real
        for name in settings:
            del os.environ[name]
        get_settings.cache_clear()
        dispose(dead)


@contextmanager
def redis_unreachable() -> Iterator[None]:
    """HOTLINE_REDIS_URL names a port where nothing listens, for this process: every command is refused."""
    real = os.environ["HOTLINE_REDIS_URL"]
    os.environ["HOTLINE_REDIS_URL"] = f"redis://127.0.0.1:{free_port()}/0"
    get_settings.cache_clear()
    try:
        yield
    finally:
        os.environ["HOTLINE_REDIS_URL"] = real
        get_settings.cache_clear()


def empty_spool() -> None:
    spool = current_spool()
    for path in [*spool.pending(), *(spool.bad_dir.iterdir() if spool.bad_dir.exists() else [])]:
        path.unlink()


def replayed() -> None:
    """Until the spool is empty (the app server's replayer, or `replay()` by the test)."""
    wait_for(lambda: current_spool().depth() == 0, 20, lambda: f"spool not replayed: {current_spool().pending()}")
