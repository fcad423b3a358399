"""One database poll per server process for every open console tab (issue 19).

The first tab that opens /console/live starts one asyncio task; it reads the fingerprints twice a second (the
waiting calls, the latest ticket change) and checks every open tab's session in the same query, then hands
each tab the events it should see. A tab costs nothing while nothing changes; when the queue changes its rows
are read once and the table rendered once per language (the tab's CSRF token goes in afterwards). The task
stops when the last tab closes. Polling the database (not Redis pub/sub) still catches every writer: API,
worker, webhooks, another server process."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import weakref
from dataclasses import dataclass, field
from datetime import datetime

from anyio.to_thread import run_sync
from sqlalchemy.orm import Session

from hotline.catalog import word
from hotline.core.city import current_config
from hotline.db import unit_of_work
from hotline.features.accounts.live_sessions import live_session_keys
from hotline.features.calls.call_queue import WaitingCall, queue_stamps, waiting_calls
from hotline.features.shield.shield_report import pending_callbacks
from hotline.features.tickets.changes import event_written_at, latest_change
from hotline.features.tickets.critical_watch import CriticalTicket, became_critical
from hotline.web.console.auth import ConsoleUser
from hotline.web.console.pages import queue_view
from hotline.web.templating import templates

POLL_SECONDS = 0.5  # one poll per process, whatever the tabs: cheap enough for p99 < 1 s (issue 19)
log = logging.getLogger(__name__)
MAX_BACKLOG = 100  # events waiting for one tab
CSRF_SLOT = "HOTLINECSRFSLOT"  # rendered once per language, replaced by each tab's own token


def sse(event: str, data: str) -> str:
    lines = "".join(f"data: {line}\n" for line in data.splitlines() or [""])
    return f"event: {event}\n{lines}\n"


@dataclass(eq=False)
class Subscriber:
    user: ConsoleUser
    events: asyncio.Queue[str | None] = field(default_factory=lambda: asyncio.Queue(MAX_BACKLOG))  # None: it ends

    def send(self, event: str | None) -> None:
        """Queue `event`; a tab that stopped reading (a stalled connection) is ended instead of growing without end:
        the browser reconnects and gets the page's state afresh."""
        try:
            self.events.put_nowait(event)
        except asyncio.QueueFull:
            while not self.events.empty():
                self.events.get_nowait()
            self.events.put_nowait(None)


@dataclass(frozen=True)
class Seen:
    """What the last poll read: a change to it is what the tabs hear about."""

    queue: str
    call_ids: frozenset[int]
    tickets: str
    last_event: int
    last_event_at: datetime | None = None  # when that event was written: the same id with another time is a new row


# What a poll compares with when the database went back (other rows under the ids seen): all it holds is new.
NOTHING_SEEN = Seen("", frozenset(), "", 0)


@dataclass
class Poll:
    seen: Seen
    alive: set[str]
    queue_html: dict[str, str]  # language -> the queue table, when the queue changed
    waiting: list[WaitingCall]
    critical: list[CriticalTicket]
    went_back: bool = False  # the database holds other rows under the ids seen before (see NOTHING_SEEN)


def _read_seen(session: Session) -> Seen:
    queued = queue_stamps(session)
    latest = latest_change(session)
    ids = frozenset(call_id for call_id, _ in queued)
    stamp = f"{latest.tickets}|{latest.updated_at}|{latest.last_event}"
    return Seen(repr(queued), ids, stamp, latest.last_event, latest.last_event_at)


def _went_back(session: Session, before: Seen, seen: Seen) -> bool:
    """The database holds other rows under the ids the last poll saw (a restored backup; a test suite's emptied
    and refilled tables): the event the last poll saw newest is gone or was written at another time."""
    if not before.last_event:
        return False
    if seen.last_event <= before.last_event:
        return seen.last_event < before.last_event or seen.last_event_at != before.last_event_at
    return event_written_at(session, before.last_event) != before.last_event_at


def poll(before: Seen | None, sessions: list[tuple[int, str]], langs: set[str], announced: set[int]) -> Poll:
    """One poll for all tabs (in a worker thread): the fingerprints, the live sessions, and what changed."""
    with unit_of_work() as session:  # its own: the poller is a task of its own, no request's
        alive = live_session_keys(session, sessions)
        seen = _read_seen(session)
        # A restored backup (or a test suite's emptied tables) numbers events and calls from lower ids again:
        # compare with nothing, or ids seen before would hide the new ones.
        went_back = before is not None and _went_back(session, before, seen)
        if went_back:
            before, announced = NOTHING_SEEN, set()
        html: dict[str, str] = {}
        waiting: list[WaitingCall] = []
        critical: list[CriticalTicket] = []
        if before is not None and seen.queue != before.queue:
            waiting = waiting_calls(session)
            callbacks = pending_callbacks(session)
            template = templates.get_template("_queue.html")
            for lang in langs:
                html[lang] = template.render({**queue_view(waiting, callbacks, lang), "lang": lang, "csrf": CSRF_SLOT})
        if before is not None and seen.last_event > before.last_event:
            critical = became_critical(
                session, after_event=before.last_event, upto_event=seen.last_event, announced=announced
            )
    return Poll(seen, alive, html, waiting, critical, went_back)


def _call_notice(call: WaitingCall, lang: str) -> str:
    names = {c.code: c.name(lang) for c in current_config().categories}
    topic = names.get(call.category, call.category) if call.category else None
    body = f"{call.caller} — {topic}" if topic else call.caller
    # `line`: the caller in the page's short spoken news of the queue (calls.html #queue-news), not the whole table.
    badge = {"emergency": "queue_emergency", "silent": "queue_silent"}.get(call.priority)
    line = f"{call.caller} ({word('ui', badge, lang)})" if badge else call.caller
    return json.dumps({"id": call.call_id, "title": word("attention", "call_title", lang), "body": body, "line": line})


def _critical_notice(ticket: CriticalTicket, lang: str) -> str:
    names = {c.code: c.name(lang) for c in current_config().categories}
    topic = names.get(ticket.category, ticket.category) if ticket.category else word("attention", "no_category", lang)
    body = f"{topic} — {ticket.place}" if ticket.place else topic
    title = word("attention", "critical_title", lang).format(number=ticket.number)
    url = f"/console/tickets/{ticket.number}"
    return json.dumps({"number": ticket.number, "title": title, "body": body, "url": url})


class LiveHub:
    """The tabs open on this server process (on one event loop) and the one task that polls for them."""

    def __init__(self) -> None:
        self.subscribers: set[Subscriber] = set()
        self.task: asyncio.Task[None] | None = None
        self.seen: Seen | None = None
        self.announced: set[int] = set()  # critical tickets already announced by this process
        self.ready = asyncio.Event()  # the task has read its starting point: changes after it are heard

    def subscribe(self, user: ConsoleUser) -> Subscriber:
        subscriber = Subscriber(user)
        self.subscribers.add(subscriber)
        if self.task is None or self.task.done():
            self.seen = None  # a new task reads its own starting point: nothing from before is announced
            self.announced = set()
            self.ready = asyncio.Event()
            self.task = asyncio.get_running_loop().create_task(self._run())
        return subscriber

    async def started(self) -> None:
        """Once the poller has its starting point (at most a few polls' wait; a lost database does not block)."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self.ready.wait(), timeout=3 * POLL_SECONDS)

    def unsubscribe(self, subscriber: Subscriber) -> None:
        self.subscribers.discard(subscriber)

    async def _run(self) -> None:
        while self.subscribers:
            await self._poll_once()
            await asyncio.sleep(POLL_SECONDS)

    async def _poll_once(self) -> None:
        tabs = list(self.subscribers)
        sessions = [(s.user.principal.user_id, s.user.session.key) for s in tabs]
        langs = {s.user.lang for s in tabs if s.user.principal.can_edit_tickets}
        try:
            result = await run_sync(poll, self.seen, sessions, langs, set(self.announced))
        except Exception:  # broad: the tabs keep their stream (a lost database above all); the next poll tries again
            log.warning("console live poll failed", exc_info=True)
            return
        before, self.seen = self.seen, result.seen
        if before is None:
            self.ready.set()
            return
        if result.went_back:
            before, self.announced = NOTHING_SEEN, set()
        self.announced.update(t.number for t in result.critical)
        arrived = [w for w in result.waiting if w.call_id in result.seen.call_ids - before.call_ids]
        for tab in tabs:
            if tab.user.session.key not in result.alive:
                tab.send(None)  # the session ended on the server: so does the stream
                continue
            for event in self._events_for(tab.user, before, result, arrived):
                tab.send(event)

    @staticmethod
    def _events_for(user: ConsoleUser, before: Seen, result: Poll, arrived: list[WaitingCall]) -> list[str]:
        events = []
        principal = user.principal
        if principal.can_edit_tickets and user.lang in result.queue_html:
            events.append(sse("queue", result.queue_html[user.lang].replace(CSRF_SLOT, user.session.csrf)))
            events += [sse("call", _call_notice(call, user.lang)) for call in arrived]
        if result.seen.tickets != before.tickets:
            events.append(sse("tickets", result.seen.tickets))
        for ticket in result.critical:
            if principal.may_see_agency(ticket.agency_code) and ticket.opened_by != principal.username:
                events.append(sse("critical", _critical_notice(ticket, user.lang)))
        return events


_hubs: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, LiveHub] = weakref.WeakKeyDictionary()


def live_hub() -> LiveHub:
    """This event loop's hub (one per server process; a test that runs several servers gets one each)."""
    loop = asyncio.get_running_loop()
    hub = _hubs.get(loop)
    if hub is None:
        hub = _hubs[loop] = LiveHub()
    return hub
