"""Live updates for the console: Server-Sent Events at /console/live.

One poller per server process (hotline/web/console/live_hub.py) reads two small fingerprints from the database
twice a second (the calls waiting in the queue, and the latest change to any ticket) and hands every open tab the
events for it: `queue` carries the queue table as HTML, `call` a caller who just joined the queue, `tickets` tells
the page to refresh its live part, `critical` a ticket that just became critical (for those who may see it).
Polling the database (not Redis pub/sub) catches every writer (API, worker, webhooks, another server) without
each having to publish."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator

from fastapi import APIRouter, Request
from fastapi.responses import StreamingResponse

from hotline.web.console.auth import ConsoleUser, UserDep
from hotline.web.console.live_hub import live_hub

router = APIRouter(prefix="/console", include_in_schema=False)
KEEPALIVE_SECONDS = 15.0
# The browser reconnects on its own; ending streams now and then frees server workers from idle tabs.
MAX_STREAM_SECONDS = 600.0


async def stream(request: Request, user: ConsoleUser) -> AsyncIterator[str]:
    hub = live_hub()
    tab = hub.subscribe(user)  # the session was checked just now (UserDep); the hub checks it at each poll
    try:
        await hub.started()  # so a change made once the page is told "open" is never taken for the starting point
        yield "retry: 2000\n\n"
        ends = time.monotonic() + MAX_STREAM_SECONDS
        while (left := ends - time.monotonic()) > 0:
            try:
                event = await asyncio.wait_for(tab.events.get(), timeout=min(KEEPALIVE_SECONDS, left))
            except TimeoutError:
                if await request.is_disconnected():
                    return
                yield ": keepalive\n\n"
                continue
            if event is None:  # the session ended on the server (the reconnect gets a 303)
                return
            yield event
    finally:
        hub.unsubscribe(tab)


@router.get("/live")
async def live(request: Request, user: UserDep) -> StreamingResponse:
    headers = {"Cache-Control": "no-store", "X-Accel-Buffering": "no"}  # no proxy buffering of the stream
    return StreamingResponse(stream(request, user), media_type="text/event-stream", headers=headers)
