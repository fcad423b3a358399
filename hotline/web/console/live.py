"""Live updates for the console: Server-Sent Events at /console/live.

Every second the stream reads two small fingerprints from the database (the calls waiting in the queue,
and the latest change to any ticket) and sends an event when one changed: `queue` carries the queue table
as HTML, `tickets` tells the page to refresh its live part. Polling the database (not Redis pub/sub)
catches every writer (API, worker, webhooks, another server) without each having to publish."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator

from anyio.to_thread import run_sync
from fastapi import APIRouter, Request
from fastapi.responses import StreamingResponse
from sqlalchemy import func, select

from hotline.db import unit_of_work
from hotline.features.accounts.accounts import user_for_session
from hotline.models import Call, Ticket, TicketEvent
from hotline.web.console.auth import ConsoleUser, UserDep
from hotline.web.console.pages import queue_context
from hotline.web.templating import templates

router = APIRouter(prefix="/console", include_in_schema=False)
POLL_SECONDS = 1.0
KEEPALIVE_SECONDS = 15.0
# The browser reconnects on its own; ending streams now and then frees server workers from idle tabs.
MAX_STREAM_SECONDS = 600.0


def fingerprints(user: ConsoleUser | None = None) -> tuple[str, str] | None:
    """The two fingerprints; None once `user`'s session has ended (logout, disabled, revoked)."""
    with unit_of_work() as session:
        if user is not None and user_for_session(session, user_id=user.principal.user_id, key=user.session.key) is None:
            return None
        queued = session.execute(
            select(Call.id, Call.updated_at).where(Call.status == "queued").order_by(Call.id)
        ).all()
        tickets = session.execute(select(func.count(Ticket.id), func.max(Ticket.updated_at))).one()
        last_event = session.scalar(select(func.max(TicketEvent.id)))
    return repr(queued), f"{tickets[0]}|{tickets[1]}|{last_event}"


def sse(event: str, data: str) -> str:
    lines = "".join(f"data: {line}\n" for line in data.splitlines() or [""])
    return f"event: {event}\n{lines}\n"


def queue_html(user: ConsoleUser) -> str:
    template = templates.get_template("_queue.html")
    return template.render({**queue_context(user), "lang": user.lang, "user": user, "csrf": user.session.csrf})


async def stream(request: Request, user: ConsoleUser) -> AsyncIterator[str]:
    started = last_sent = time.monotonic()
    first = await run_sync(fingerprints, user)
    if first is None:
        return
    queue_seen, tickets_seen = first
    yield "retry: 2000\n\n"
    while time.monotonic() - started < MAX_STREAM_SECONDS:
        await asyncio.sleep(POLL_SECONDS)
        if await request.is_disconnected():
            return
        now = await run_sync(fingerprints, user)
        if now is None:  # the session ended on the server: so does the stream (the reconnect gets a 303)
            return
        queue_now, tickets_now = now
        if queue_now != queue_seen:
            queue_seen = queue_now
            if user.principal.can_edit_tickets:
                yield sse("queue", await run_sync(queue_html, user))
                last_sent = time.monotonic()
        if tickets_now != tickets_seen:
            tickets_seen = tickets_now
            yield sse("tickets", tickets_now)
            last_sent = time.monotonic()
        if time.monotonic() - last_sent > KEEPALIVE_SECONDS:
            yield ": keepalive\n\n"
            last_sent = time.monotonic()


@router.get("/live")
async def live(request: Request, user: UserDep) -> StreamingResponse:
    headers = {"Cache-Control": "no-store", "X-Accel-Buffering": "no"}  # no proxy buffering of the stream
    return StreamingResponse(stream(request, user), media_type="text/event-stream", headers=headers)
