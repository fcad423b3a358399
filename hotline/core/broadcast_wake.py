"""Waking the broadcast sender: an approval (or a cancel) rings a Redis counter after commit, and the idle sender
looks at the counter, not the database, between rings (an idle sender polling the database cost every worker's
host a transaction a second, and on SQLite a write lock each: a worker's stop then waited behind it)."""

from __future__ import annotations

import logging

from redis import RedisError
from sqlalchemy.orm import Session

from hotline.db import after_commit
from hotline.settings import get_settings

log = logging.getLogger(__name__)


def _key() -> str:
    return f"hotline:broadcast-work:{get_settings().queue_name}"


def ring(session: Session) -> None:
    """After this transaction commits, tell the sender there is work (it also looks every IDLE_LOOK seconds)."""

    def rung() -> None:
        from hotline.core.queue import RedisNotConfigured, redis_connection

        try:
            redis_connection().incr(_key())
        except (RedisError, RedisNotConfigured):  # Redis away: the sender's periodic look finds the work anyway
            log.warning("could not wake the broadcast sender", exc_info=True)

    after_commit(session, rung)


def rings() -> int:
    from hotline.core.queue import redis_connection

    return int(redis_connection().get(_key()) or 0)
