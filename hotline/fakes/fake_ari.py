"""A recording fake of Asterisk 22's ARI: REST under /ari and the events websocket, checked against the docs.

Every request is validated by hotline/fakes/ari_spec.py (path, method, parameters, allowed values) and
answered the way Asterisk answers (404 unknown resource or channel, 400 bad parameter, 401 without the
Authorization header). Every event and response body is checked against the models before it leaves,
so the fake cannot drift from the docs without a test failing.

    fake = FakeAri()
    base_url = await fake.start()              # in the running event loop (uvicorn)
    channel = await fake.dial("+6281234567890")  # StasisStart
    await fake.press(channel, "42")            # ChannelDtmfReceived, one per key
    await fake.speak(channel, 12)              # the live recording finishes with 12 s of voice
    await fake.hang_up(channel)                # ChannelHangupRequest, StasisEnd, ChannelDestroyed
    await fake.drop_websocket(replay=3)        # close the socket; on reconnect resend 3 events (duplicates)

Behaviour it simulates, as the real Asterisk 22 calls in /work/shared/asterisk-captures show it:

- Playbacks and recordings are commands on the channel, run one after another: `POST .../play` and
  `POST .../record` answer `queued`, and a second one waits until the one before has finished (a
  recording asked for while a prompt plays starts when the prompt ends, not at once).
- A playback of several media URIs sends PlaybackStarted for each URI (with `next_media_uri`) and
  PlaybackContinuing between two, then PlaybackFinished. Each URI takes time: `media_seconds(uri)` when
  given (e.g. the WAV's length), else `playback_seconds` for the whole playback split evenly over its
  URIs; None: it plays until stopped or `finish_playback` (the test says it ended).
- A key is ChannelDtmfReceived and nothing else: it does not stop a playback. `DELETE /playbacks/{id}`
  does: PlaybackFinished (state done, the URI that was playing) before the 204. Stopping a playback that
  is still queued cancels it: it never starts, and its PlaybackFinished comes when the channel gets to it.
  Hanging up ends a running playback with state failed; queued commands are dropped without an event.
- Answer, channel variables, channel music on hold and bridge add/remove are commands on the channel too,
  run in order: their HTTP answer waits until every playback and recording asked for before them has
  finished or been stopped (a TALK_DETECT(set) sent while a 10 s prompt plays is answered 10 s later).
- A media URI whose file is missing (`missing_media`) is skipped with only a warning in Asterisk's log:
  PlaybackStarted and at once PlaybackContinuing to the next URI, or PlaybackFinished `failed` if it
  was the last. Without core sounds (`core_sounds=False`) `sound:beep` is missing, and a recording with
  `beep=true` ends at once: RecordingFinished `done` with no duration and no stored file (as on a stock
  Asterisk without the core sounds package: "File beep does not exist in any format").
- `POST /channels/{id}/continue` (continueInDialplan) is a channel command too: after what is queued, the
  channel leaves the app (StasisEnd) and stays up in the dialplan; `channels[id].dialplan` says where.
- Any route can be made to fail: `fail("POST /bridges/{bridgeId}/moh", 500, "Allocation failed")`
  answers that route (as the docs name it) with the error, `times` times (None: always), after checking
  the request; e.g. an Asterisk without chan_bridge_media answers `POST /bridges/{id}/moh` so.
- Recordings run until the caller speaks, is silent or hangs up; holding and mixing bridges; originate
  into the Stasis app. The app is subscribed to an originated channel (channels.json, `app`), so it gets
  ChannelCreated (Down), ChannelStateChange (Ringing), then either ChannelStateChange (Up) and StasisStart
  with the appArgs, or ChannelDestroyed with the Q.850 cause Asterisk gives when nobody answers:
  `far_ends[endpoint]` says what the phone does: answer, busy (17 "User busy"), no_answer (19 "User
  alerting, no answer"), unreachable (20 "Subscriber absent", no ringing) or ring (until the test acts).
  Endpoints not listed answer when `operators_answer` is set, else ring. Events raised while no websocket
  is open are kept for the next one, or lost with `lose_events_while_down` (what a real Asterisk does).
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import io
import json
import math
import socket
import time
import wave
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route, WebSocketRoute
from starlette.websockets import WebSocket, WebSocketDisconnect

from hotline.fakes.ari_spec import AriSpec, Operation, SpecError, ari_spec

MEDIA_SCHEMES = ("sound:", "recording:", "number:", "digits:", "characters:", "tone:")
RECORDING_FORMATS = ("wav", "gsm", "ulaw", "alaw", "sln", "g722")
ASTERISK_ID = "52:54:00:12:34:56"
# What the far end of an originated call does, as ChannelDestroyed reports it (Asterisk's ast_cause2str texts).
UNANSWERED = {
    "busy": (17, "User busy"),
    "no_answer": (19, "User alerting, no answer"),
    "unreachable": (20, "Subscriber absent"),
}
FAR_ENDS = ("answer", "ring", *UNANSWERED)


@dataclass
class FakeRequest:
    method: str
    path: str  # below /ari
    params: dict[str, Any]
    status: int
    at: float
    operation: str = ""  # the docs' nickname
    error: str = ""


@dataclass
class FakeChannel:
    id: str
    caller: str
    exten: str
    state: str = "Ring"
    in_stasis: bool = False
    app_args: list[str] = field(default_factory=list)
    created: str = ""
    name: str = ""
    gone: bool = False
    variables: dict[str, str] = field(default_factory=dict)  # set through ARI (TALK_DETECT(set) among them)
    moh: str | None = None  # music on hold on the channel itself (POST /channels/{id}/moh)
    dialplan: tuple[str, str, int] | None = None  # where POST /channels/{id}/continue sent it (context, exten, prio)


@dataclass
class FakePlayback:
    id: str
    channel_id: str
    media: list[str]
    state: str = "queued"  # queued, playing, continuing, done, failed
    index: int = 0  # the media URI playing (or next to play)
    canceled: bool = False  # stopped while queued: it never starts
    timer: asyncio.TimerHandle | None = None  # the end of the media playing now


@dataclass
class FakeRecording:
    name: str
    channel_id: str
    format: str
    state: str = "queued"  # queued, recording, done
    duration: int = 0
    talking: int = 0
    beep: bool = False
    empty: bool = False  # ended before anything was recorded (no duration, no file)


ChannelCommand = FakePlayback | FakeRecording


@dataclass
class FakeFailure:
    status: int
    message: str
    times: int | None  # None: every time


# Channel operations that Asterisk runs on the channel's own thread, after what is queued there already.
SYNCHRONOUS = frozenset(
    {
        ("POST", "/channels/{channelId}/answer"),
        ("POST", "/channels/{channelId}/continue"),
        ("POST", "/channels/{channelId}/variable"),
        ("POST", "/channels/{channelId}/moh"),
        ("DELETE", "/channels/{channelId}/moh"),
        ("POST", "/bridges/{bridgeId}/addChannel"),
        ("POST", "/bridges/{bridgeId}/removeChannel"),
    }
)


@dataclass
class FakeBridge:
    id: str
    type: str
    name: str
    channels: list[str] = field(default_factory=list)
    created: str = ""
    moh: str | None = None


class FakeAri:
    def __init__(
        self,
        *,
        username: str = "hotline",
        password: str = "test-ari-password",
        app: str = "hotline",
        playback_seconds: float | None = 0.0,
        media_seconds: Callable[[str], float] | None = None,
        spec: AriSpec | None = None,
    ):
        self.username, self.password, self.app_name = username, password, app
        self.playback_seconds = playback_seconds
        self.media_seconds = media_seconds
        self.spec = spec or ari_spec()
        self.operators_answer = True
        self.far_ends: dict[str, str] = {}  # endpoint -> one of FAR_ENDS, for originated calls
        self.originated: list[str] = []  # channel ids of POST /channels, in order
        self.lose_events_while_down = False
        self.core_sounds = True  # False: no sound:beep, and a recording with beep=true records nothing
        self.missing_media: set[str] = set()  # media URIs whose file Asterisk does not find
        self.failures: dict[str, FakeFailure] = {}  # "METHOD /path/{template}" -> the error it answers
        self.warnings: list[str] = []  # what Asterisk would only log
        self.requests: list[FakeRequest] = []
        self.events: list[dict[str, Any]] = []  # every event raised, in order (sent or not)
        self.lost: list[dict[str, Any]] = []
        self.channels: dict[str, FakeChannel] = {}
        self.playbacks: dict[str, FakePlayback] = {}
        self.recordings: dict[str, FakeRecording] = {}
        self.stored: dict[str, FakeRecording] = {}
        self.bridges: dict[str, FakeBridge] = {}
        self.commands: dict[str, deque[ChannelCommand]] = {}  # per channel: the running one first, then queued
        self.connections = 0
        self.sent_on_socket = 0  # messages written to the current websocket
        self.on_request: Callable[[FakeRequest], None] | None = None
        self._pending: deque[str] = deque()
        self._sent: list[str] = []
        self._wake = asyncio.Event()
        self._socket_open = False
        self._generation = 0  # of the websocket that gets the events
        self._drop = asyncio.Event()
        self._replay = 0
        self._changed = asyncio.Condition()
        self._seq = 0
        self._last_ms = 0
        self._timers: set[asyncio.TimerHandle] = set()
        self._tasks: set[asyncio.Task[None]] = set()
        self._server: uvicorn.Server | None = None
        self._task: asyncio.Task[None] | None = None
        self.base_url = ""

    # --- server --------------------------------------------------------------------------------------

    async def start(self) -> str:
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        app = Starlette(
            routes=[
                WebSocketRoute("/ari/events", self._events),
                Route("/ari/{path:path}", self._rest, methods=["GET", "POST", "PUT", "DELETE"]),
            ]
        )
        config = uvicorn.Config(
            app,
            host="127.0.0.1",
            port=port,
            log_level="warning",
            access_log=False,
            ws="websockets-sansio",
            lifespan="off",
        )
        self._server = uvicorn.Server(config)
        self._task = asyncio.create_task(self._server.serve())
        while not self._server.started:
            if self._task.done():
                self._task.result()
            await asyncio.sleep(0.01)
        self.base_url = f"http://127.0.0.1:{port}"
        return self.base_url

    async def stop(self) -> None:
        for timer in self._timers:
            timer.cancel()
        if self._server is not None and self._task is not None:
            self._server.should_exit = True
            self._drop.set()
            await self._task

    def _authorized(self, header: str | None) -> bool:
        expected = base64.b64encode(f"{self.username}:{self.password}".encode()).decode()
        return header == f"Basic {expected}"

    # --- the events websocket ------------------------------------------------------------------------

    async def _events(self, ws: WebSocket) -> None:
        query = list(ws.query_params.multi_items())
        try:
            self.spec.check_request("GET", "/events", query)
        except SpecError as exc:
            self._log("GET", "/events", dict(query), exc.status, "eventWebsocket", str(exc))
            await ws.close(code=1008)
            return
        params = dict(query)
        if not self._authorized(ws.headers.get("authorization")) or params.get("app") != self.app_name:
            self._log("GET", "/events", params, 401, "eventWebsocket", "unauthorized or unknown app")
            await ws.close(code=1008)
            return
        # As Asterisk does: the app's events go to the websocket that subscribed last; an older one stays open
        # and hears nothing more (two ARI apps on one Asterisk steal each other's calls: channels/ari/lease.py).
        self._generation += 1
        generation = self._generation
        await ws.accept()
        self._log("GET", "/events", params, 101, "eventWebsocket")
        self._socket_open, self.connections = True, self.connections + 1
        self.sent_on_socket = 0
        self._drop.clear()
        if self._replay:  # the last events again: a client must not handle them twice
            self._pending.extendleft(reversed(self._sent[-self._replay :]))
            self._replay = 0
        self._wake.set()
        receiver = asyncio.create_task(self._receive_until_closed(ws))
        dropper = asyncio.create_task(self._drop.wait())
        try:
            while not receiver.done() and not dropper.done():
                if generation != self._generation:
                    await asyncio.wait({receiver, dropper}, return_when=asyncio.FIRST_COMPLETED)
                    break
                if not self._pending:
                    self._wake.clear()
                    waker = asyncio.create_task(self._wake.wait())
                    await asyncio.wait({waker, receiver, dropper}, return_when=asyncio.FIRST_COMPLETED)
                    waker.cancel()
                    continue
                message = self._pending[0]
                await ws.send_text(message)
                self._pending.popleft()
                self._sent.append(message)
                self.sent_on_socket += 1
        except (WebSocketDisconnect, RuntimeError, OSError):
            pass
        finally:
            if generation == self._generation:
                self._socket_open = False
            receiver.cancel()
            dropper.cancel()
            with contextlib.suppress(WebSocketDisconnect, RuntimeError, OSError):  # the client closed first
                await ws.close(code=1011)

    async def _receive_until_closed(self, ws: WebSocket) -> None:
        try:
            while True:
                await ws.receive_text()
        except (WebSocketDisconnect, RuntimeError, KeyError):
            return

    async def drop_websocket(self, *, replay: int = 0) -> None:
        """Close the app's websocket now; on its next connection, first resend the last `replay` events."""
        self._replay = replay
        self._drop.set()
        while self._socket_open:
            await asyncio.sleep(0.005)

    async def wait_connected(self, connections: int = 1, timeout: float = 10) -> None:
        deadline = time.monotonic() + timeout
        while not (self.connections >= connections and self._socket_open):
            if time.monotonic() > deadline:
                raise TimeoutError(f"the app did not connect ({self.connections} connections)")
            await asyncio.sleep(0.005)

    def emit(self, event_type: str, **body: Any) -> dict[str, Any]:
        event = {"type": event_type, "application": self.app_name, "timestamp": self._now(), **body}
        event["asterisk_id"] = ASTERISK_ID
        self.spec.check_event(event)  # the fake never sends what Asterisk would not
        self.events.append(event)
        if not self._socket_open and self.lose_events_while_down:
            self.lost.append(event)
            return event
        self._pending.append(json.dumps(event))
        self._wake.set()
        return event

    def pending_events(self) -> int:
        return len(self._pending)

    # --- REST ----------------------------------------------------------------------------------------

    async def _rest(self, request: Request) -> Response:
        path = "/" + request.path_params["path"]
        query = list(request.query_params.multi_items())
        if not self._authorized(request.headers.get("authorization")):
            self._log(request.method, path, dict(query), 401, "", "no or wrong Authorization header")
            return JSONResponse({"message": "Authentication required"}, status_code=401)
        body: dict[str, Any] | None = None
        raw = await request.body()
        if raw:
            try:
                body = json.loads(raw)
            except ValueError:
                body = None
            if not isinstance(body, dict):
                self._log(request.method, path, dict(query), 400, "", "body is not a JSON object")
                return JSONResponse({"message": "Request body must be a JSON object"}, status_code=400)
        try:
            op, params = self.spec.check_request(request.method, path, query, body)
        except SpecError as exc:
            self._log(request.method, path, dict(query), exc.status, "", str(exc))
            return JSONResponse({"message": str(exc)}, status_code=exc.status)
        failure = self._injected_failure(op)
        if failure is not None:
            self._log(request.method, path, params, failure.status, op.nickname, failure.message)
            return JSONResponse({"message": failure.message}, status_code=failure.status)
        if (op.method, op.path) in SYNCHRONOUS:
            await self._behind_channel_commands(params)
        try:
            status, payload = self._dispatch(op, params)
        except SpecError as exc:
            self._log(request.method, path, params, exc.status, op.nickname, str(exc))
            return JSONResponse({"message": str(exc)}, status_code=exc.status)
        if isinstance(payload, bytes):
            self._log(request.method, path, params, status, op.nickname)
            return Response(payload, status_code=status, media_type="audio/wav")
        if payload is not None:
            self._check_response(op, payload)
        self._log(request.method, path, params, status, op.nickname)
        async with self._changed:
            self._changed.notify_all()
        if payload is None:
            return Response(status_code=status)
        return JSONResponse(payload, status_code=status)

    def fail(
        self, route: str, status: int = 500, message: str = "Internal Server Error", *, times: int | None = 1
    ) -> None:
        """Answer `route` ("POST /bridges/{bridgeId}/moh", as the docs write the path) with an error."""
        method, _, path = route.partition(" ")
        if not any(r.template == path and method in r.operations for r in self.spec.routes):
            raise ValueError(f"{route!r} is not an ARI route")
        self.failures[route] = FakeFailure(status, message, times)

    def _injected_failure(self, op: Operation) -> FakeFailure | None:
        failure = self.failures.get(f"{op.method} {op.path}")
        if failure is None:
            return None
        if failure.times is not None:
            failure.times -= 1
            if failure.times <= 0:
                del self.failures[f"{op.method} {op.path}"]
        return failure

    async def _behind_channel_commands(self, params: dict[str, Any]) -> None:
        """Wait until the playbacks and recordings already queued on the channel(s) are over."""
        channel_ids = [params["channelId"]] if "channelId" in params else list(params.get("channel") or [])
        ahead = [c for channel_id in channel_ids for c in self.commands.get(channel_id, ())]
        async with self._changed:
            while any(c in self.commands.get(c.channel_id, ()) for c in ahead):
                await self._changed.wait()

    def _check_response(self, op: Operation, payload: Any) -> None:
        cls = op.response_class
        if cls.startswith("List[") and isinstance(payload, list):
            for item in payload:
                self.spec.check_model(cls[5:-1], item)
        elif cls in self.spec.models:
            self.spec.check_model(cls, payload)

    def _log(self, method: str, path: str, params: dict[str, Any], status: int, op: str, error: str = "") -> None:
        entry = FakeRequest(method, path, params, status, time.perf_counter(), op, error)
        self.requests.append(entry)
        if self.on_request is not None:
            self.on_request(entry)

    def _dispatch(self, op: Operation, p: dict[str, Any]) -> tuple[int, Any]:
        key = (op.method, op.path)
        handler = {
            ("GET", "/channels"): self._list_channels,
            ("POST", "/channels"): self._originate,
            ("GET", "/channels/{channelId}"): lambda p: (200, self._channel_json(self._channel(p["channelId"]))),
            ("DELETE", "/channels/{channelId}"): self._hangup,
            ("POST", "/channels/{channelId}/answer"): self._answer,
            ("POST", "/channels/{channelId}/variable"): self._set_variable,
            ("POST", "/channels/{channelId}/continue"): self._continue,
            ("POST", "/channels/{channelId}/play"): self._play,
            ("POST", "/channels/{channelId}/play/{playbackId}"): self._play,
            ("POST", "/channels/{channelId}/record"): self._record,
            ("POST", "/channels/{channelId}/moh"): lambda p: self._channel_moh(p, p.get("mohClass") or "default"),
            ("DELETE", "/channels/{channelId}/moh"): lambda p: self._channel_moh(p, None),
            ("GET", "/recordings/stored"): self._list_stored,
            ("GET", "/recordings/stored/{recordingName}/file"): self._stored_file,
            ("GET", "/playbacks/{playbackId}"): self._get_playback,
            ("DELETE", "/playbacks/{playbackId}"): self._stop_playback,
            ("GET", "/recordings/live/{recordingName}"): self._get_live,
            ("GET", "/recordings/stored/{recordingName}"): self._get_stored,
            ("POST", "/bridges"): self._create_bridge,
            ("POST", "/bridges/{bridgeId}"): self._create_bridge,
            ("GET", "/bridges/{bridgeId}"): lambda p: (200, self._bridge_json(self._bridge(p["bridgeId"]))),
            ("DELETE", "/bridges/{bridgeId}"): self._destroy_bridge,
            ("POST", "/bridges/{bridgeId}/addChannel"): self._add_channel,
            ("POST", "/bridges/{bridgeId}/removeChannel"): self._remove_channel,
            ("POST", "/bridges/{bridgeId}/moh"): self._bridge_moh,
            ("DELETE", "/bridges/{bridgeId}/moh"): lambda p: (204, self._bridge(p["bridgeId"]) and None),
        }.get(key)
        if handler is None:
            raise SpecError(501, f"{op.nickname} is valid ARI but not simulated by the fake")
        return handler(p)

    # channels

    def _channel(self, channel_id: str) -> FakeChannel:
        channel = self.channels.get(channel_id)
        if channel is None or channel.gone:
            raise SpecError(404, "Channel not found")
        return channel

    def _stasis(self, channel_id: str) -> FakeChannel:
        channel = self._channel(channel_id)
        if not channel.in_stasis:
            raise SpecError(409, "Channel not in Stasis application")
        return channel

    def _list_channels(self, p: dict[str, Any]) -> tuple[int, Any]:
        return 200, [self._channel_json(c) for c in self.channels.values() if not c.gone]

    def _originate(self, p: dict[str, Any]) -> tuple[int, Any]:
        endpoint = p["endpoint"]
        if "/" not in endpoint:
            raise SpecError(400, "Endpoint must be in the form tech/resource")
        if p.get("app") and (p.get("extension") or p.get("context")):
            raise SpecError(400, "'app' and 'extension'/'context' are mutually exclusive")
        channel_id = p.get("channelId") or self._new_id()
        if channel_id in self.channels:
            raise SpecError(409, "Channel with given unique ID already exists")
        args = str(p.get("appArgs") or "").split(",") if p.get("appArgs") else []
        channel = FakeChannel(channel_id, "", "", state="Down", app_args=args, created=self._now())
        channel.name = f"{endpoint}-{len(self.channels):08x}"
        channel.caller = str(p.get("callerId") or "")
        self.channels[channel_id] = channel
        self.originated.append(channel_id)
        if p.get("app") == self.app_name:  # the app is subscribed to the channel from the start
            self.emit("ChannelCreated", channel=self._channel_json(channel))
            far_end = self.far_ends.get(endpoint, "answer" if self.operators_answer else "ring")
            if far_end not in FAR_ENDS:
                raise AssertionError(f"far_ends[{endpoint!r}] = {far_end!r}: one of {FAR_ENDS}")
            self._later(0.0, self._ring_originated, channel_id, far_end)
        return 200, self._channel_json(channel)

    def _ring_originated(self, channel_id: str, far_end: str) -> None:
        channel = self.channels.get(channel_id)
        if channel is None or channel.gone:
            return
        if far_end != "unreachable":  # a phone that is off never rings
            channel.state = "Ringing"
            self.emit("ChannelStateChange", channel=self._channel_json(channel))
        if far_end == "answer":
            self.answer_originated(channel_id)
        elif far_end in UNANSWERED:
            self.end_originated(channel_id, far_end)

    def answer_originated(self, channel_id: str) -> None:
        """The originated channel's far end answers: the channel enters our Stasis app."""
        channel = self.channels.get(channel_id)
        if channel is None or channel.gone:
            return
        channel.state, channel.in_stasis = "Up", True
        self.emit("ChannelStateChange", channel=self._channel_json(channel))
        self.emit("StasisStart", args=channel.app_args, channel=self._channel_json(channel))

    def end_originated(self, channel_id: str, far_end: str) -> None:
        """The originated call ends unanswered (busy, no_answer, unreachable): ChannelDestroyed with its cause."""
        channel = self.channels.get(channel_id)
        if channel is None or channel.gone or channel.in_stasis:
            return
        cause, text = UNANSWERED[far_end]
        channel.gone = True
        self.emit("ChannelDestroyed", cause=cause, cause_txt=text, channel=self._channel_json(channel))
        self._notify()

    def _hangup(self, p: dict[str, Any]) -> tuple[int, Any]:
        channel = self._channel(p["channelId"])
        self._later(0.0, self._end_channel, channel.id, False)
        channel.state = "Up"
        return 204, None

    def _continue(self, p: dict[str, Any]) -> tuple[int, Any]:
        """continueInDialplan: the channel leaves the app (StasisEnd) and lives on in the dialplan, at the
        context/extension/priority given (`dialplan`), where the test can see it went."""
        channel = self._stasis(p["channelId"])
        channel.in_stasis = False
        channel.dialplan = (p.get("context", ""), p.get("extension", ""), int(p.get("priority", 0) or 0))
        self.emit("StasisEnd", channel=self._channel_json(channel))
        self._notify()
        return 204, None

    def _set_variable(self, p: dict[str, Any]) -> tuple[int, Any]:
        channel = self._stasis(p["channelId"])
        if p["variable"] == "TALK_DETECT(remove)":
            channel.variables.pop("TALK_DETECT(set)", None)  # Asterisk stops the talking events
        else:
            channel.variables[p["variable"]] = p.get("value", "")
        return 204, None

    def _channel_moh(self, p: dict[str, Any], music_class: str | None) -> tuple[int, Any]:
        self._stasis(p["channelId"]).moh = music_class
        return 204, None

    def _answer(self, p: dict[str, Any]) -> tuple[int, Any]:
        channel = self._stasis(p["channelId"])
        if channel.state != "Up":
            channel.state = "Up"
            self.emit("ChannelStateChange", channel=self._channel_json(channel))
        return 204, None

    def _play(self, p: dict[str, Any]) -> tuple[int, Any]:
        channel = self._stasis(p["channelId"])
        for uri in p["media"]:
            if not uri.startswith(MEDIA_SCHEMES):
                raise SpecError(400, f"media {uri!r}: not one of the URI schemes {', '.join(MEDIA_SCHEMES)}")
        playback_id = p.get("playbackId") or self._new_id()
        if playback_id in self.playbacks:
            raise SpecError(409, "A playback with this id is already playing")
        playback = FakePlayback(playback_id, channel.id, list(p["media"]))
        self.playbacks[playback_id] = playback
        answer = self._playback_json(playback)  # state queued, as Asterisk answers
        self._command(playback)
        return 201, answer

    def finish_playback(self, playback_id: str) -> None:
        """The test says the playback has played to its end: the rest of its media, then PlaybackFinished."""
        playback = self.playbacks.get(playback_id)
        if playback is None:
            return
        if playback.state == "queued":
            raise AssertionError(f"playback {playback_id} has not started: finish the one before it first")
        while playback.index + 1 < len(playback.media):
            self._next_media(playback)
        self._end_playback(playback, "done")

    def _start_media(self, playback: FakePlayback) -> None:
        playback.state = "playing"
        self.emit("PlaybackStarted", playback=self._playback_json(playback))
        uri = playback.media[playback.index]
        if self._missing(uri):
            # Asterisk: "File ... does not exist in any format", then on with the next URI (or failed).
            self.warnings.append(f"Playback failed for {uri}")
            if playback.index + 1 < len(playback.media):
                self._next_media(playback)
            else:
                self._end_playback(playback, "failed")
            return
        if self.media_seconds is not None:
            seconds: float | None = self.media_seconds(uri)
        elif self.playback_seconds is not None:
            seconds = self.playback_seconds / len(playback.media)
        else:
            seconds = None  # until stopped, or the test finishes it
        if seconds is not None:
            playback.timer = self._later(seconds, self._media_played, playback)

    def _media_played(self, playback: FakePlayback) -> None:
        playback.timer = None
        if playback.index + 1 < len(playback.media):
            self._next_media(playback)
        else:
            self._end_playback(playback, "done")

    def _next_media(self, playback: FakePlayback) -> None:
        self._cancel_media_timer(playback)
        playback.state = "continuing"
        self.emit("PlaybackContinuing", playback=self._playback_json(playback))
        playback.index += 1
        self._start_media(playback)

    def _cancel_media_timer(self, playback: FakePlayback) -> None:
        """Stopped, finished by the test or hung up before its media ended: that end will not come."""
        if playback.timer is not None:
            playback.timer.cancel()
            self._timers.discard(playback.timer)
            playback.timer = None

    def _end_playback(self, playback: FakePlayback, state: str) -> None:
        self._cancel_media_timer(playback)
        playback.state = state
        self.playbacks.pop(playback.id, None)
        self.emit("PlaybackFinished", playback=self._playback_json(playback))
        self._command_done(playback)

    def _missing(self, uri: str) -> bool:
        return uri in self.missing_media or (uri == "sound:beep" and not self.core_sounds)

    def _get_playback(self, p: dict[str, Any]) -> tuple[int, Any]:
        playback = self.playbacks.get(p["playbackId"])
        if playback is None:
            raise SpecError(404, "Playback not found")
        return 200, self._playback_json(playback)

    def _stop_playback(self, p: dict[str, Any]) -> tuple[int, Any]:
        playback = self.playbacks.get(p["playbackId"])
        if playback is None:
            raise SpecError(404, "The playback cannot be found")
        if playback.state == "queued":
            playback.canceled = True  # Asterisk: never starts; PlaybackFinished when the channel gets to it
        else:
            self._end_playback(playback, "done")  # the event goes out before the 204, as in the captures
        return 204, None

    # the channel's commands: one at a time, in order

    def _command(self, command: ChannelCommand) -> None:
        queue = self.commands.setdefault(command.channel_id, deque())
        queue.append(command)
        if len(queue) == 1:
            self._later(0.0, self._run_commands, command.channel_id)

    def _run_commands(self, channel_id: str) -> None:
        queue = self.commands.get(channel_id)
        while queue:
            command = queue[0]
            if command.state != "queued":
                return  # already running
            if isinstance(command, FakeRecording):
                command.state = "recording"
                self.emit("RecordingStarted", recording=self._recording_json(command))
                if command.beep and self._missing("sound:beep"):
                    self.warnings.append("File beep does not exist in any format")
                    command.empty = True
                    del self.recordings[command.name]
                    command.state = "done"
                    self.emit("RecordingFinished", recording=self._recording_json(command))
                    self._command_done(command)
                return
            if not command.canceled:
                self._start_media(command)
                return
            queue.popleft()
            command.state = "done"
            self.playbacks.pop(command.id, None)
            self.emit("PlaybackFinished", playback=self._playback_json(command))

    def _command_done(self, command: ChannelCommand) -> None:
        queue = self.commands.get(command.channel_id)
        if queue and queue[0] is command:
            queue.popleft()
            if queue:
                self._later(0.0, self._run_commands, command.channel_id)
        self._notify()

    def _notify(self) -> None:
        """Wake what waits on the fake's state (commands queued behind a playback, `wait_for`)."""

        async def notify() -> None:
            async with self._changed:
                self._changed.notify_all()

        task = asyncio.get_running_loop().create_task(notify())
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def _record(self, p: dict[str, Any]) -> tuple[int, Any]:
        channel = self._stasis(p["channelId"])
        if p["format"] not in RECORDING_FORMATS:
            raise SpecError(422, "The format specified is unknown on this system")
        if any(r.channel_id == channel.id for r in self.recordings.values()):
            raise SpecError(409, "A recording is already in progress on this channel")
        name = p["name"]
        if (name in self.stored and p.get("ifExists", "fail") == "fail") or name in self.recordings:
            raise SpecError(409, "A recording with the same name already exists")
        recording = FakeRecording(name, channel.id, p["format"], beep=bool(p.get("beep")))
        self.recordings[name] = recording
        answer = self._recording_json(recording)  # state queued, as Asterisk answers
        self._command(recording)
        return 201, answer

    def _get_live(self, p: dict[str, Any]) -> tuple[int, Any]:
        recording = self.recordings.get(p["recordingName"])
        if recording is None:
            raise SpecError(404, "Recording not found")
        return 200, self._recording_json(recording)

    def _stored_file(self, p: dict[str, Any]) -> tuple[int, Any]:
        """The recording's WAV: silence as long as the recording (8 kHz mono 16-bit)."""
        recording = self.stored.get(p["recordingName"])
        if recording is None:
            raise SpecError(404, "Recording not found")
        out = io.BytesIO()
        with wave.open(out, "wb") as w:
            w.setnchannels(1)
            w.setsampwidth(2)
            w.setframerate(8000)
            w.writeframes(b"\0\0" * 8000 * recording.duration)
        return 200, out.getvalue()

    def _list_stored(self, p: dict[str, Any]) -> tuple[int, Any]:
        return 200, [{"name": r.name, "format": r.format} for r in self.stored.values()]

    def _get_stored(self, p: dict[str, Any]) -> tuple[int, Any]:
        recording = self.stored.get(p["recordingName"])
        if recording is None:
            raise SpecError(404, "Recording not found")
        return 200, {"name": recording.name, "format": recording.format}

    # bridges

    def _bridge(self, bridge_id: str) -> FakeBridge:
        bridge = self.bridges.get(bridge_id)
        if bridge is None:
            raise SpecError(404, "Bridge not found")
        return bridge

    def _create_bridge(self, p: dict[str, Any]) -> tuple[int, Any]:
        bridge_id = p.get("bridgeId") or self._new_id()
        kinds = str(p.get("type") or "mixing").split(",")
        allowed = {"mixing", "holding", "dtmf_events", "proxy_media", "video_sfu", "video_single", "sdp_label"}
        if not set(kinds) <= allowed:
            raise SpecError(400, f"Invalid bridge type {p.get('type')!r}")
        if bridge_id in self.bridges:
            raise SpecError(409, "Bridge with this id already exists")
        bridge = FakeBridge(bridge_id, "holding" if "holding" in kinds else "mixing", p.get("name") or "")
        bridge.created = self._now()
        self.bridges[bridge_id] = bridge
        return 200, self._bridge_json(bridge)

    def _destroy_bridge(self, p: dict[str, Any]) -> tuple[int, Any]:
        bridge = self._bridge(p["bridgeId"])
        for channel_id in list(bridge.channels):
            self._leave_bridge(bridge, channel_id)
        del self.bridges[bridge.id]
        self.emit("BridgeDestroyed", bridge=self._bridge_json(bridge))
        return 204, None

    def _add_channel(self, p: dict[str, Any]) -> tuple[int, Any]:
        bridge = self._bridge(p["bridgeId"])
        for channel_id in p["channel"]:
            if channel_id not in self.channels or self.channels[channel_id].gone:
                raise SpecError(400, "Channel not found")
            if not self.channels[channel_id].in_stasis:
                raise SpecError(422, "Channel not in Stasis application")
            if any(channel_id in b.channels for b in self.bridges.values()):
                raise SpecError(409, "Channel is already in a bridge")  # the app must remove it first
        for channel_id in p["channel"]:
            bridge.channels.append(channel_id)
            self.emit(
                "ChannelEnteredBridge",
                bridge=self._bridge_json(bridge),
                channel=self._channel_json(self.channels[channel_id]),
            )
        return 204, None

    def _remove_channel(self, p: dict[str, Any]) -> tuple[int, Any]:
        bridge = self._bridge(p["bridgeId"])
        for channel_id in p["channel"]:
            if channel_id not in bridge.channels:
                raise SpecError(422, "Channel not in this bridge")
            self._leave_bridge(bridge, channel_id)
        return 204, None

    def _leave_bridge(self, bridge: FakeBridge, channel_id: str) -> None:
        bridge.channels.remove(channel_id)
        channel = self.channels.get(channel_id)
        if channel is not None and not channel.gone:
            self.emit("ChannelLeftBridge", bridge=self._bridge_json(bridge), channel=self._channel_json(channel))

    def _bridge_moh(self, p: dict[str, Any]) -> tuple[int, Any]:
        bridge = self._bridge(p["bridgeId"])
        bridge.moh = p.get("mohClass") or "default"
        return 204, None

    # --- the caller ----------------------------------------------------------------------------------

    async def dial(self, caller: str = "+6281234567890", exten: str = "112", *, answered: bool = False) -> str:
        """A call comes in from the trunk and reaches Stasis(hotline): StasisStart. `answered`: the dialplan
        answered it first (config/asterisk/extensions.conf does), so the channel is Up already."""
        channel = FakeChannel(self._new_id(), caller, exten, in_stasis=True, created=self._now())
        if answered:
            channel.state = "Up"
        channel.name = f"PJSIP/trunk-{len(self.channels):08x}"
        self.channels[channel.id] = channel
        self.emit("StasisStart", args=[], channel=self._channel_json(channel))
        return channel.id

    async def press(self, channel_id: str, keys: str, duration_ms: int = 120) -> None:
        channel = self._channel(channel_id)
        for key in keys:
            self.emit("ChannelDtmfReceived", digit=key, duration_ms=duration_ms, channel=self._channel_json(channel))

    async def talk(self, channel_id: str, milliseconds: int = 1200) -> bool:
        """The caller says something outside a recording. Asterisk reports it only on a channel with
        TALK_DETECT(set): ChannelTalkingStarted, then ChannelTalkingFinished. False: nothing was sent."""
        channel = self._channel(channel_id)
        if "TALK_DETECT(set)" not in channel.variables:
            return False
        self.emit("ChannelTalkingStarted", channel=self._channel_json(channel))
        self.emit("ChannelTalkingFinished", duration=milliseconds, channel=self._channel_json(channel))
        return True

    async def hiss(self, channel_id: str, dbfs: float, milliseconds: int = 3000) -> bool:
        """Steady noise on the line at `dbfs` (RMS), no words. TALK_DETECT counts it as talking when its average
        absolute sample value (about 0.8 of the RMS, for noise) exceeds the channel's talking threshold
        (`TALK_DETECT(set)=<silence ms>,<threshold>`, default 256): as on a real Asterisk 22, hiss at -37 dBFS
        is talking with the defaults, at -43 dBFS it is not. True when talking was reported."""
        channel = self._channel(channel_id)
        if "TALK_DETECT(set)" not in channel.variables:
            return False
        parts = channel.variables["TALK_DETECT(set)"].split(",")
        threshold = int(parts[1]) if len(parts) > 1 and parts[1].strip() else 256
        if 32768 * 10 ** (dbfs / 20) * math.sqrt(2 / math.pi) <= threshold:
            return False
        self.emit("ChannelTalkingStarted", channel=self._channel_json(channel))
        self.emit("ChannelTalkingFinished", duration=milliseconds, channel=self._channel_json(channel))
        return True

    async def speak(self, channel_id: str, seconds: int) -> None:
        """The caller talks for `seconds`, then the recording stops (silence detection or the finish key)."""
        self._finish_recording(channel_id, duration=seconds, talking=seconds)

    async def record_nothing(self, channel_id: str) -> None:
        """The recording ends at once with nothing in it: `done`, no duration, no file (what a beep that could
        not be played does to a recording on a real Asterisk)."""
        recording = self.live_recording(channel_id)
        if recording is None or recording.state != "recording":
            raise AssertionError(f"no recording is running on {channel_id}")
        del self.recordings[recording.name]
        recording.state, recording.empty = "done", True
        self.emit("RecordingFinished", recording=self._recording_json(recording))
        self._command_done(recording)

    async def stay_silent(self, channel_id: str, seconds: int = 5) -> None:
        """The caller says nothing: the recording stops on silence with no talking at all."""
        self._finish_recording(channel_id, duration=seconds, talking=0)

    async def hang_up(self, channel_id: str, *, talked_seconds: int = 3, recording_last: bool = False) -> None:
        """The caller hangs up. A recording that was running ends with `talked_seconds` of voice in it,
        before StasisEnd, or after ChannelDestroyed with `recording_last` (Asterisk's order varies)."""
        if self.channels.get(channel_id) is None or self.channels[channel_id].gone:
            return
        recording = self.live_recording(channel_id) if recording_last else None
        if recording is not None:
            del self.recordings[recording.name]
        self._end_channel(channel_id, True, talked_seconds)
        if recording is not None:
            self.recordings[recording.name] = recording
            self._finish_recording(channel_id, duration=max(3, talked_seconds), talking=talked_seconds)

    def live_recording(self, channel_id: str) -> FakeRecording | None:
        return next((r for r in self.recordings.values() if r.channel_id == channel_id), None)

    def _finish_recording(self, channel_id: str, *, duration: int, talking: int) -> None:
        recording = self.live_recording(channel_id)
        if recording is None:
            raise AssertionError(f"no recording is running on {channel_id}")
        if recording.state != "recording":
            raise AssertionError(f"recording {recording.name} has not started: something plays before it")
        del self.recordings[recording.name]
        recording.state, recording.duration, recording.talking = "done", duration, talking
        self.stored[recording.name] = recording
        self.emit("RecordingFinished", recording=self._recording_json(recording))
        self._command_done(recording)

    def _end_channel(self, channel_id: str, by_caller: bool, talked_seconds: int = 0) -> None:
        channel = self.channels.get(channel_id)
        if channel is None or channel.gone:
            return
        snapshot = self._channel_json(channel)
        if by_caller:
            self.emit("ChannelHangupRequest", cause=16, channel=snapshot)
        elif channel.in_stasis:  # the app hung up (DELETE): what a real Asterisk 22 sent the app
            self.emit("ChannelHangupRequest", cause=32, soft=True, channel=snapshot)
        queue = self.commands.pop(channel_id, deque())
        for command in queue:
            if isinstance(command, FakePlayback):
                if command.state in ("playing", "continuing"):
                    self._end_playback(command, "failed")  # as in the captures: the channel went away
                else:
                    self.playbacks.pop(command.id, None)  # never started: no event
            elif command.state == "queued":
                self.recordings.pop(command.name, None)  # never started: no event
        recording = self.live_recording(channel_id)
        if recording is not None and recording.state == "recording":
            self._finish_recording(channel_id, duration=max(3, talked_seconds), talking=talked_seconds)
        for bridge in self.bridges.values():
            if channel_id in bridge.channels:
                self._leave_bridge(bridge, channel_id)
        channel.gone = True
        if channel.in_stasis:
            self.emit("StasisEnd", channel=snapshot)
        if by_caller or not channel.in_stasis:  # a channel the app hung up has left it: no ChannelDestroyed
            self.emit("ChannelDestroyed", cause=16, cause_txt="Normal Clearing", channel=snapshot)
        self._notify()

    # --- waiting, for tests and the bench --------------------------------------------------------------

    async def wait_for(
        self, predicate: Callable[[FakeRequest], bool], *, start: int = 0, timeout: float = 10
    ) -> FakeRequest:
        """The first request from index `start` on that matches; waits for it."""
        deadline = time.monotonic() + timeout
        async with self._changed:
            while True:
                for request in self.requests[start:]:
                    if predicate(request):
                        return request
                left = deadline - time.monotonic()
                if left <= 0:
                    seen = [f"{r.method} {r.path} {r.status}" for r in self.requests[start:]]
                    raise TimeoutError(f"no matching request; seen since {start}: {seen}")
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._changed.wait(), left)

    def rejected(self) -> list[FakeRequest]:
        return [r for r in self.requests if r.status >= 400]

    # --- JSON ----------------------------------------------------------------------------------------

    def _channel_json(self, channel: FakeChannel) -> dict[str, Any]:
        return {
            "id": channel.id,
            "protocol_id": "",
            "name": channel.name,
            "state": channel.state,
            "caller": {"name": "", "number": channel.caller},
            "connected": {"name": "", "number": ""},
            "accountcode": "",
            "dialplan": {
                "context": "hotline-in",
                "exten": channel.exten or "s",
                "priority": 2,
                "app_name": "Stasis",
                "app_data": self.app_name,
            },
            "creationtime": channel.created,
            "language": "id",
        }

    def _playback_json(self, playback: FakePlayback) -> dict[str, Any]:
        body: dict[str, Any] = {"id": playback.id, "media_uri": playback.media[playback.index]}
        if playback.index + 1 < len(playback.media):
            body["next_media_uri"] = playback.media[playback.index + 1]
        body.update(target_uri=f"channel:{playback.channel_id}", language="id", state=playback.state)
        return body

    def _recording_json(self, recording: FakeRecording) -> dict[str, Any]:
        body: dict[str, Any] = {
            "name": recording.name,
            "format": recording.format,
            "target_uri": f"channel:{recording.channel_id}",
            "state": recording.state,
        }
        if recording.state == "done" and not recording.empty:
            body.update(
                duration=recording.duration,
                talking_duration=recording.talking,
                silence_duration=recording.duration - recording.talking,
            )
        return body

    def _bridge_json(self, bridge: FakeBridge) -> dict[str, Any]:
        return {
            "id": bridge.id,
            "technology": "holding_bridge" if bridge.type == "holding" else "simple_bridge",
            "bridge_type": bridge.type,
            "bridge_class": "stasis",
            "creator": "Stasis",
            "name": bridge.name,
            "channels": list(bridge.channels),
            "creationtime": bridge.created,
            "video_mode": "none",
        }

    # --- small helpers -------------------------------------------------------------------------------

    def _now(self) -> str:
        """Asterisk's timestamp format, strictly increasing (two events never share a millisecond)."""
        ms = max(int(time.time() * 1000), self._last_ms + 1)
        self._last_ms = ms
        stamp = datetime.fromtimestamp(ms / 1000, UTC)
        return stamp.strftime("%Y-%m-%dT%H:%M:%S.") + f"{ms % 1000:03d}+0000"

    def _new_id(self) -> str:
        self._seq += 1
        return f"{int(time.time())}.{self._seq}"

    def _later(self, seconds: float, fn: Callable[..., None], *args: Any) -> asyncio.TimerHandle:
        loop = asyncio.get_running_loop()

        def run() -> None:
            self._timers.discard(handle)
            fn(*args)

        handle = loop.call_later(seconds, run)
        self._timers.add(handle)
        return handle
