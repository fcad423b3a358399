"""A secret shown once after a form (issue 19): a new API token, partner key or kiosk link. The POST keeps it in
Redis under a random id for this console session only, for at most SHOWN_SECONDS, and answers 303 to the page
with `?shown=<id>`; that GET takes it (read and deleted in one transaction) and shows it. A reload of the page
finds nothing and shows nothing, and re-submits nothing (POST/redirect/GET). The secret itself is never in a URL."""

from __future__ import annotations

import json
import secrets
from typing import cast

from fastapi import Request

from hotline.core.queue import redis_connection
from hotline.web.console.auth import ConsoleUser

SHOWN_SECONDS = 600
PARAM = "shown"


def _key(user: ConsoleUser, shown_id: str) -> str:
    return f"hotline:console:shown:{user.session.key}:{shown_id}"


def keep(user: ConsoleUser, path: str, values: dict[str, str]) -> str:
    """Keep `values` for one display to this session; returns the address to redirect to."""
    shown_id = secrets.token_urlsafe(16)
    redis_connection().set(_key(user, shown_id), json.dumps(values), ex=SHOWN_SECONDS)
    return f"{path}{'&' if '?' in path else '?'}{PARAM}={shown_id}"


def take(request: Request, user: ConsoleUser) -> dict[str, str]:
    """What a redirect from `keep` left for this session, once (empty: nothing, already shown, or too late)."""
    shown_id = request.query_params.get(PARAM, "")
    if not shown_id or len(shown_id) > 64:
        return {}
    pipe = redis_connection().pipeline(transaction=True)
    pipe.get(_key(user, shown_id))
    pipe.delete(_key(user, shown_id))
    raw = cast(bytes | None, pipe.execute()[0])
    if raw is None:
        return {}
    values = json.loads(raw)
    return {str(k): str(v) for k, v in values.items()} if isinstance(values, dict) else {}
