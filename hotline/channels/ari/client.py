"""A thin asyncio ARI client: REST on httpx, events on a websocket, one ordered queue per channel.

    client = AriClient(url, username, password, app, handler)
    await client.run(stop)              # connects, reconnects, dispatches until `stop` is set
    await client.request("POST", f"/channels/{id}/answer")

Why its own client: no maintained Python ARI client survives a dropped websocket (docs/asterisk.md).

- Credentials go in the Authorization header, never in the URL (no `api_key=`).
- The events websocket is /ari/events?app=<app>&subscribeAll=false: only our Stasis channels.
- A dropped websocket is reopened with jittered exponential backoff (`Backoff`, 0.5 s doubling to a 3 s
  cap). After every reconnect `handler.on_connected(reconnected=True)` runs before any new event is read:
  the app re-reads the live channels (GET /channels) and reconciles what it missed while the socket was down.
- Events of one channel are handled in order, one at a time, by that channel's own task; different
  channels run concurrently. Playback and recording events belong to the channel in their `target_uri`.
- An event is handled at most once: a key of (type, timestamp, channel, what it is about) is remembered
  for the last `DEDUPE_WINDOW` events, so a replayed or duplicated event is dropped.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import logging
import random
from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Protocol
from urllib.parse import urlencode, urlsplit, urlunsplit

import httpx
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidHandshake, InvalidStatus

log = logging.getLogger(__name__)

DEDUPE_WINDOW = 50_000
Event = dict[str, Any]


class AriError(Exception):
    """ARI answered with an error status (404: the channel is gone, 409/412/422: wrong state, ...)."""

    def __init__(self, status: int, method: str, path: str, message: str):
        self.status, self.method, self.path = status, method, path
        super().__init__(f"{method} {path}: {status} {message}")


class EventHandler(Protocol):
    async def on_event(self, channel_id: str, event: Event) -> bool:
        """Handle one event of `channel_id`; True when the channel is finished (its queue may close)."""
        ...

    async def on_connected(self, *, reconnected: bool) -> None:
        """The websocket is open; after a reconnect, reconcile what was missed."""
        ...


@dataclass
class Backoff:
    """Exponential backoff with "equal jitter": half the delay fixed, half random, capped."""

    base: float = 0.5
    # A few seconds at most: while the app is away the dialplan can only fall back (extensions.conf), and a
    # 45 s Asterisk outage grew a 30 s cap to 21-23 s of waiting after Asterisk was back (issue 17).
    cap: float = 3.0
    attempt: int = 0

    def next_delay(self) -> float:
        delay = min(self.cap, self.base * 2**self.attempt)
        self.attempt += 1
        return delay / 2 + random.uniform(0, delay / 2)

    def reset(self) -> None:
        self.attempt = 0


def basic_auth(username: str, password: str) -> str:
    token = base64.b64encode(f"{username}:{password}".encode()).decode("ascii")
    return f"Basic {token}"


def event_channel(event: Event) -> str | None:
    """The channel an event belongs to: its `channel`, or the channel a playback/recording targets."""
    channel = event.get("channel")
    if isinstance(channel, dict) and isinstance(channel.get("id"), str):
        return channel["id"]
    for key in ("playback", "recording"):
        target = (event.get(key) or {}).get("target_uri", "")
        if isinstance(target, str) and target.startswith("channel:"):
            return target.removeprefix("channel:")
    return None


def event_key(event: Event, channel_id: str | None) -> tuple[str, ...]:
    """What makes an event itself: two events with the same key are one event delivered twice."""
    about = (
        event.get("digit")
        or (event.get("playback") or {}).get("id")
        or (event.get("recording") or {}).get("name")
        or (event.get("bridge") or {}).get("id")
        or ""
    )
    return (str(event.get("type")), str(event.get("timestamp")), channel_id or "", str(about))


class AriClient:
    def __init__(
        self,
        url: str,
        username: str,
        password: str,
        app: str,
        handler: EventHandler,
        *,
        backoff: Backoff | None = None,
        http: httpx.AsyncClient | None = None,
    ):
        self.base = url.rstrip("/") + "/ari"
        self.app = app
        self.handler = handler
        self.backoff = backoff or Backoff()
        self._auth = basic_auth(username, password)
        self.http = http or httpx.AsyncClient(
            headers={"Authorization": self._auth},
            timeout=httpx.Timeout(10.0),
            limits=httpx.Limits(max_connections=64, max_keepalive_connections=64),
        )
        self._queues: dict[str, asyncio.Queue[Event]] = {}
        self._workers: dict[str, asyncio.Task[None]] = {}
        self._seen: OrderedDict[tuple[str, ...], None] = OrderedDict()
        self.connected = asyncio.Event()
        self.connections = 0  # how many times the websocket opened
        self.duplicates = 0  # events dropped because they had been handled already
        self.inflight = 0  # events queued or being handled
        self.received = 0  # messages read from the current websocket
        self._socket: ClientConnection | None = None

    # --- REST ----------------------------------------------------------------------------------------

    async def request(self, method: str, path: str, params: Mapping[str, str | int | bool] | None = None) -> Any:
        """One ARI call. Booleans become true/false, lists must be comma separated by the caller."""
        # Encoded here to the same URL httpx makes of `params=`, at half its CPU (~90 us less per request).
        query = urlencode({k: _text(v) for k, v in (params or {}).items()})
        response = await self.http.request(method, f"{self.base}{path}?{query}" if query else self.base + path)
        if response.status_code >= 400:
            try:
                message = response.json().get("message", response.text)
            except ValueError:
                message = response.text
            raise AriError(response.status_code, method, path, message)
        if response.status_code == 204 or not response.content:
            return None
        return response.json()

    async def fetch(self, path: str) -> bytes:
        """The raw body of a GET (a stored recording's file); AriError on an error status."""
        response = await self.http.get(self.base + path)
        if response.status_code >= 400:
            raise AriError(response.status_code, "GET", path, response.text[:200])
        return response.content

    # --- events --------------------------------------------------------------------------------------

    def events_url(self) -> str:
        parts = urlsplit(self.base)
        scheme = {"http": "ws", "https": "wss"}.get(parts.scheme, parts.scheme)
        query = urlencode({"app": self.app, "subscribeAll": "false"})
        return urlunsplit((scheme, parts.netloc, parts.path + "/events", query, ""))

    async def run(self, stop: asyncio.Event) -> None:
        """Keep the events websocket open until `stop` is set, reconnecting with backoff."""
        while not stop.is_set():
            try:
                async with connect(
                    self.events_url(),
                    additional_headers={"Authorization": self._auth},
                    open_timeout=10,
                    ping_interval=20,
                    ping_timeout=20,
                    max_size=2**22,
                    # Events are small and travel a LAN: deflating them only costs CPU at both ends.
                    compression=None,
                ) as socket:
                    self._socket = socket
                    self.received = 0
                    self.backoff.reset()
                    self.connections += 1
                    await self.handler.on_connected(reconnected=self.connections > 1)
                    self.connected.set()
                    await self._read(socket, stop)
            except (OSError, ConnectionClosed, InvalidHandshake, TimeoutError, httpx.HTTPError, AriError) as exc:
                if isinstance(exc, InvalidStatus) and exc.response.status_code == 401:
                    log.error("ARI refused the credentials (401); check ARI_USERNAME / ARI_PASSWORD")
                log.warning("ARI events websocket: %s: %s", type(exc).__name__, exc)
            finally:
                self._socket = None
                self.connected.clear()
            if stop.is_set():
                break
            delay = self.backoff.next_delay()
            log.info("ARI: reconnecting in %.2f s", delay)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), delay)

    async def _read(self, socket: ClientConnection, stop: asyncio.Event) -> None:
        async def close_on_stop() -> None:
            await stop.wait()
            await socket.close()  # ends the loop below

        closer = asyncio.create_task(close_on_stop())
        try:
            async for message in socket:  # ends on a clean close, raises ConnectionClosedError on a drop
                self.feed(message)
        finally:
            closer.cancel()

    def feed(self, raw: str | bytes) -> None:
        """One websocket message: parse, drop duplicates, queue it on its channel."""
        self.received += 1
        try:
            event = json.loads(raw)
        except ValueError:
            log.warning("ARI: not JSON, ignored: %.200r", raw)
            return
        if not isinstance(event, dict):
            return
        channel_id = event_channel(event)
        if channel_id is None:
            return  # bridge, endpoint, application events: the calls do not need them
        key = event_key(event, channel_id)
        if key in self._seen:
            self.duplicates += 1
            return
        self._seen[key] = None
        if len(self._seen) > DEDUPE_WINDOW:
            self._seen.popitem(last=False)
        self.post(channel_id, event)

    def post(self, channel_id: str, event: Event) -> None:
        """Queue an event (from Asterisk, or the app's own: a timer, a reconciliation) on a channel."""
        queue = self._queues.get(channel_id)
        if queue is None:
            queue = self._queues[channel_id] = asyncio.Queue()
            self._workers[channel_id] = asyncio.create_task(self._work(channel_id, queue))
        self.inflight += 1
        queue.put_nowait(event)

    async def _work(self, channel_id: str, queue: asyncio.Queue[Event]) -> None:
        finished = False
        while not (finished and queue.empty()):
            event = await queue.get()
            try:
                finished = await self.handler.on_event(channel_id, event) or finished
            except Exception:  # broad: one broken event must not stop the channel's queue
                log.exception("ARI: handling %s on %s failed", event.get("type"), channel_id)
            finally:
                self.inflight -= 1
        del self._queues[channel_id]
        del self._workers[channel_id]

    async def drain(self) -> None:
        """Wait until every channel's queue is handled (tests, shutdown)."""
        while self._workers:
            await asyncio.gather(*list(self._workers.values()), return_exceptions=True)

    async def close(self) -> None:
        for task in list(self._workers.values()):
            task.cancel()
        await asyncio.gather(*list(self._workers.values()), return_exceptions=True)
        await self.http.aclose()


def _text(value: str | int | bool) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)
