"""Operators taking calls from the queue: what the console calls on the ARI app.

    await connect_operator(app, call_channel_id="1700000000.42", endpoint="PJSIP/operator1")

rings the operator's phone (originate, into our Stasis app with appArgs `operator,<caller channel>`).
When the operator answers, the caller leaves the holding bridge and both meet in a mixing bridge; the
call service hears QueueLeft(answered=True) and the call's status becomes `with-operator`. If the operator
does not answer (`timeout_seconds`, busy, unreachable) the caller simply stays in the queue with music.
When either side hangs up, the other is hung up too.
"""

from __future__ import annotations

import uuid

from hotline.channels.ari import media as m
from hotline.channels.ari.executor import AriApp, QueuedCall
from hotline.channels.ari.takeover import OPERATOR_ARG


class NotQueued(LookupError):
    """The call is not (or no longer) waiting in the operator queue."""


async def connect_operator(app: AriApp, *, call_channel_id: str, endpoint: str, timeout_seconds: int = 30) -> str:
    """Ring `endpoint` (e.g. PJSIP/operator1) for the queued call; the operator leg's channel id."""
    call = app.calls.get(call_channel_id)
    if call is None or call.phase != "queue":
        raise NotQueued(f"call {call_channel_id} is not waiting for an operator")
    operator_id = f"op-{uuid.uuid4().hex}"
    app.operator_legs[operator_id] = call_channel_id
    request = m.originate(
        endpoint,
        app=app.app_name,
        app_args=f"{OPERATOR_ARG},{call_channel_id}",
        channel_id=operator_id,
        caller_id=call.caller if call.caller != "anonymous" else "",
        timeout=timeout_seconds,
    )
    try:
        await app.send(request)
    except Exception:
        app.operator_legs.pop(operator_id, None)
        raise
    return operator_id


def waiting_calls(app: AriApp) -> list[QueuedCall]:
    """The calls waiting for an operator, most urgent first (emergencies), then the longest wait."""
    return app.queued()
