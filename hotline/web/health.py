"""Liveness, readiness (database and Redis reachable) and Prometheus metrics."""

from __future__ import annotations

import logging

from fastapi import APIRouter, Response
from fastapi.concurrency import run_in_threadpool
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from sqlalchemy import text

from hotline.core.queue import redis_connection
from hotline.db import get_engine
from hotline.metrics import REGISTRY
from hotline.settings import get_settings

log = logging.getLogger(__name__)
router = APIRouter()


@router.get("/healthz")
def healthz() -> dict[str, str]:
    return {"status": "ok"}


def _check_database() -> str:
    try:
        with get_engine().connect() as conn:
            conn.execute(text("SELECT 1"))
        return "ok"
    except Exception as exc:  # broad: /readyz must answer, whatever the database does
        log.warning("readyz: the database check failed", exc_info=True)
        return f"error: {type(exc).__name__}: {exc}"[:300]


def _check_redis() -> str:
    try:
        redis_connection().ping()
        return "ok"
    except Exception as exc:  # broad: /readyz must answer, whatever Redis does
        log.warning("readyz: the Redis check failed", exc_info=True)
        return f"error: {type(exc).__name__}: {exc}"[:300]


def _smpp_links() -> dict[str, str]:
    """ "smpp <link>": "bound", or "down: <why>" (nobody holds it, the bind failed, it was lost)."""
    settings = get_settings()
    if not settings.sms_routing.of_kind("smpp"):
        return {}
    from hotline.channels.smpp import link_states

    try:
        states = link_states(settings)
    except Exception as exc:  # broad: /readyz must answer (Redis down above all: said by the redis check too)
        log.warning("readyz: the SMPP link states could not be read", exc_info=True)
        return {f"smpp {spec.name}": f"unknown: {type(exc).__name__}" for spec in settings.sms_routing.of_kind("smpp")}
    return {
        f"smpp {name}": "bound" if state.get("state") == "bound" else f"down: {state.get('reason') or 'not bound'}"
        for name, state in states.items()
    }


@router.get("/readyz")
async def readyz(response: Response) -> dict[str, str]:
    """503 when the database or Redis is unreachable. SMPP links are named with their state, and a link that is
    down does not make the API unready (it still takes SMS from every other gateway; alerts fail over);
    `spool` says how many reports wait in this host's spool for the database."""
    checks = {"database": await run_in_threadpool(_check_database), "redis": await run_in_threadpool(_check_redis)}
    if any(v != "ok" for v in checks.values()):
        response.status_code = 503
    checks.update(await run_in_threadpool(_smpp_links))
    checks["spool"] = _spool_state()
    return checks


def _spool_state() -> str:
    """ "empty", or how many reports wait in this host's spool for the database (never makes the API unready:
    the spool is what keeps it taking reports)."""
    from hotline.spool.store import current_spool

    spool = current_spool()
    pending, bad = spool.depth(), spool.bad_count()
    said = f"{pending} pending" if pending else "empty"
    return f"{said}, {bad} bad (see spool/bad/)" if bad else said


@router.get("/metrics")
def metrics() -> Response:
    return Response(generate_latest(REGISTRY), media_type=CONTENT_TYPE_LATEST)
