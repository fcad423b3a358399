"""The ARI app: Asterisk channels in Stasis(hotline) run the IVR through the call service.

`AriApp` is the client's event handler. Each caller's channel gets an `AriCall`, which renders a turn's
media (hotline/channels/ari/media.py), waits for what the waiting action waits for, turns it into an
engine event and asks the call service (hotline/channels/ari/calls.py) for the next turn. All events of
one channel, including the app's own (timers, reconciliation, the operator answering) go through that
channel's queue in the client, so an `AriCall` is only ever touched by one task at a time.

A turn's prompts are one playback (hotline/channels/ari/media.py). Barge-in (hotline/ivr/actions.py): a key
(ChannelDtmfReceived) while it plays stops it -- DELETE /playbacks/{id} for every playback of ours that has not
finished, the running one and any queued behind it; Asterisk itself never stops a playback for a key -- and
then means what the waiting action says:

    Gather   keys. The first key stops the turn's prompts, those before the Gather included, and is the first
             of the answer. The overall timeout starts when the prompts have finished (as on Twilio), the
             inter-digit timeout after each key; the finish key, `max_digits` or a timeout ends it: Digits(...)
             or NoInput(). Keys pressed while the next turn is being computed are kept (type-ahead) for the
             next turn's Gather, whose prompts then do not play at all.
             A listening Gather (`listen`, the greeting) first sets TALK_DETECT(set) on the channel (the
             next turn that does not listen removes it); a timeout with no key is Speech() if
             ChannelTalkingStarted came during its turn, else Silence().
    Record   a key during the instruction stops it and starts the recording at once (POST .../record after
             the DELETE). RecordingFinished: Recorded(stored file URL, duration), or NoInput() when nothing
             was heard. Keys while recording are Asterisk's (terminateOn), not the IVR's.
    Enqueue  a key during the prompts before it cuts them short. The operator answering (`connect_operator`):
             QueueLeft(True), the caller and the operator in a mixing bridge; or `max_wait_seconds`
             passing: QueueLeft(False). The caller waits in a holding bridge of their own with music on hold.
    Hangup   a key cuts the goodbye short; then DELETE the channel.

Alert calls (hotline/channels/ari/alerts.py): a channel we originated for a URC voice alert enters with appArgs
`alert,<attempt>` once answered and runs the alert flow through `AlertCallPort.begin_alert`, then like any call;
one that ends before it was answered (ChannelDestroyed, no StasisStart) is `alert_not_reached` with its cause.

Type-ahead is for Gathers only: a turn that ends with anything else drops the keys kept for it.

The caller hanging up (ChannelHangupRequest, StasisEnd or ChannelDestroyed, whichever comes first) is
HangUp() once. Hanging up while recording waits for the RecordingFinished first, so the words said make it
into the report, as they do on Twilio. A recording that finishes after the call ended goes to
`recording_ready`.
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import logging
import time
import wave
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

import httpx

from hotline.channels.ari import media as m
from hotline.channels.ari.alerts import ALERT_ARG, alert_attempt
from hotline.channels.ari.calls import PROVIDER, AlertCallPort, CallPort, CallsUnavailable
from hotline.channels.ari.client import AriClient, AriError, Event
from hotline.channels.ari.takeover import OPERATOR_ARG
from hotline.clock import now
from hotline.ivr import actions as a
from hotline.ivr.turn import Turn
from hotline.spool.records import VoiceMessage, voice_record
from hotline.spool.store import current_spool

log = logging.getLogger(__name__)

# The app's own events, posted on a channel's queue: never sent by Asterisk (its types have no prefix).
TIMER = "HotlineTimer"
GONE = "HotlineGone"  # reconciliation: the channel is no longer in Asterisk
RESYNC = "HotlineResync"  # reconciliation: the channel lives; check what may have been missed
ADOPT = "HotlineAdopt"  # reconciliation: a channel in our Stasis app that we never saw start
OPERATOR_ANSWERED = "HotlineOperatorAnswered"
OPERATOR_GONE = "HotlineOperatorGone"
HANGUP_EVENTS = frozenset({"ChannelHangupRequest", "StasisEnd", "ChannelDestroyed", GONE})
KEYS = frozenset("0123456789*#")
FINISHED_RECORDINGS = 10_000
HANGUP_RETRY_SECONDS = 2.0  # a hang-up ARI refused is tried again: nobody stays on a line the IVR has left
FAILURES = (AriError, httpx.HTTPError)  # what one ARI request can end with


@dataclass(frozen=True)
class QueuedCall:
    channel_id: str
    caller: str
    queue: str
    since: float  # time.time()
    priority: str = "normal"  # Enqueue.priority


class AriApp:
    def __init__(
        self,
        *,
        calls: CallPort,
        prompts: m.PromptMedia,
        ari_url: str,
        app_name: str,
        alerts: AlertCallPort | None = None,
    ):
        self.calls_port = calls
        self.alerts = alerts  # None: alert calls are hung up (hotline/channels/ari/alerts.py)
        self.prompts = prompts
        self.ari_url = ari_url
        self.app_name = app_name
        self.client: AriClient | None = None
        self.calls: dict[str, AriCall] = {}
        self.operator_legs: dict[str, str] = {}  # operator channel -> caller channel
        self.orphan_recordings: OrderedDict[str, str] = OrderedDict()  # recording name -> call (ended)
        self.answered_alerts: OrderedDict[str, None] = OrderedDict()  # their ChannelDestroyed is no failover

    def attach(self, client: AriClient) -> None:
        self.client = client

    @property
    def ari(self) -> AriClient:
        assert self.client is not None, "AriApp.attach(client) first"
        return self.client

    async def send(self, request: m.AriRequest) -> Any:
        return await self.ari.request(request.method, request.path, request.query())

    # --- events ------------------------------------------------------------------------------------

    async def on_event(self, channel_id: str, event: Event) -> bool:
        kind = event.get("type")
        if channel_id in self.operator_legs:
            return await self._operator_leg(channel_id, event)
        call = self.calls.get(channel_id)
        if call is None:
            args = event.get("args") or []
            if kind == "StasisStart" and args and args[0] == OPERATOR_ARG:
                # Rung by the console through ARI (hotline/channels/ari/takeover.py) or by connect_operator.
                caller = args[1] if len(args) > 1 else ""
                if caller not in self.calls:  # the caller hung up while the operator's phone rang
                    await self.ari.request("DELETE", f"/channels/{channel_id}", {"reason": "normal"})
                    return True
                self.operator_legs[channel_id] = caller
                return await self._operator_leg(channel_id, event)
            if kind == "StasisStart" and args and args[0] == ALERT_ARG:
                return await self._alert_answered(channel_id, event)
            if kind == "ChannelDestroyed" and alert_attempt(channel_id) is not None:
                await self._alert_not_answered(channel_id, event)
                return True
            if kind in ("StasisStart", ADOPT):
                channel = event.get("channel") or {}
                # An alert call answered while no app was connected is adopted as what it is, not as a caller.
                attempt = alert_attempt(channel_id) if kind == ADOPT and self.alerts is not None else None
                if attempt is not None:
                    self._remember_answered(channel_id)
                call = self.calls[channel_id] = AriCall(self, channel_id, channel, alert_attempt=attempt)
                await call.start(answered=channel.get("state") == "Up", adopted=kind == ADOPT)
                return self._finish(call)
            if kind == "RecordingFinished":
                await self._late_recording(event)
            return True  # events of a call that ended: nothing to do
        await call.handle(event)
        return self._finish(call)

    async def _alert_answered(self, channel_id: str, event: Event) -> bool:
        """A member answered an alert call we originated (hotline/channels/ari/voice_gateway.py): the alert flow."""
        attempt = alert_attempt(channel_id)
        self._remember_answered(channel_id)
        if attempt is None or self.alerts is None:
            log.error("ARI: alert call %s answered, but this app runs no alert calls; hanging up", channel_id)
            await self.ari.request("DELETE", f"/channels/{channel_id}", {"reason": "normal"})
            return True
        channel = event.get("channel") or {}
        call = self.calls[channel_id] = AriCall(self, channel_id, channel, alert_attempt=attempt)
        await call.start(answered=channel.get("state") == "Up")
        return self._finish(call)

    def _remember_answered(self, channel_id: str) -> None:
        self.answered_alerts[channel_id] = None
        if len(self.answered_alerts) > FINISHED_RECORDINGS:  # as many as the recordings kept: plenty
            self.answered_alerts.popitem(last=False)

    async def _alert_not_answered(self, channel_id: str, event: Event) -> None:
        """An alert call ended before anyone answered: busy, no answer, unreachable (its hang-up cause)."""
        attempt = alert_attempt(channel_id)
        if channel_id in self.answered_alerts:  # answered: its call handled the hang-up
            del self.answered_alerts[channel_id]
            return
        if attempt is None or self.alerts is None:
            return
        cause = event.get("cause")
        await self.alerts.alert_not_reached(
            call_id=channel_id, attempt_id=attempt, cause=cause if isinstance(cause, int) else 0
        )

    def _finish(self, call: AriCall) -> bool:
        if call.gone:
            self.calls.pop(call.channel_id, None)
            if call.recording:
                self._remember_recording(call.recording, call.channel_id)
        return call.gone

    def _remember_recording(self, name: str, call_id: str) -> None:
        self.orphan_recordings[name] = call_id
        if len(self.orphan_recordings) > FINISHED_RECORDINGS:
            self.orphan_recordings.popitem(last=False)

    async def _late_recording(self, event: Event) -> None:
        recording = event.get("recording") or {}
        call_id = self.orphan_recordings.pop(recording.get("name", ""), None)
        if call_id is None:
            return
        url, seconds = await self.recording_result(recording)
        if url:
            await self.calls_port.recording_ready(call_id=call_id, url=url, seconds=seconds)

    async def recording_result(self, recording: dict[str, Any]) -> tuple[str, float | None]:
        """(URL, seconds) of a finished recording; ('', None) when it failed, nothing was said, or it is empty.
        Without a duration (an Asterisk whose beep could not be played ends the recording `done` with none; a
        recording found stored after a restart has none) the stored file tells: no file or no audio in it is
        empty, else its length is the WAV's."""
        url, seconds = recording_result(self.ari_url, recording)
        if not url or seconds is not None:
            return url, seconds
        try:
            audio = await self.ari.fetch(f"/recordings/stored/{recording['name']}/file")
        except FAILURES:
            log.error("ARI: recording %s ended empty (no duration, no file); is the beep missing?", recording)
            return "", None
        seconds = wav_seconds(audio)
        if seconds == 0:
            log.error("ARI: recording %s is empty (a file with no audio)", recording.get("name"))
            return "", None
        return url, seconds

    async def _operator_leg(self, channel_id: str, event: Event) -> bool:
        caller = self.operator_legs[channel_id]
        kind = event.get("type")
        if kind == "StasisStart":
            self.ari.post(caller, {"type": OPERATOR_ANSWERED, "operator": channel_id})
            return False
        if kind in HANGUP_EVENTS:
            del self.operator_legs[channel_id]
            self.ari.post(caller, {"type": OPERATOR_GONE, "operator": channel_id})
            return True
        return False

    async def on_connected(self, *, reconnected: bool) -> None:
        """Re-read the live channels: what vanished hung up, what lives is checked, strangers adopted."""
        channels = await self.ari.request("GET", "/channels") or []
        live = {c["id"]: c for c in channels if isinstance(c, dict) and "id" in c}
        for channel_id in list(self.calls) + list(self.operator_legs):
            self.ari.post(channel_id, {"type": GONE if channel_id not in live else RESYNC})
        for channel_id, channel in live.items():
            if channel_id in self.calls or channel_id in self.operator_legs:
                continue
            dialplan = channel.get("dialplan") or {}
            app_data = str(dialplan.get("app_data", "")).split(",")  # Stasis(hotline[,args...])
            in_our_app = dialplan.get("app_name") == "Stasis" and app_data[0] == self.app_name
            if in_our_app and OPERATOR_ARG not in app_data[1:2]:  # an operator's leg is no caller
                self.ari.post(channel_id, {"type": ADOPT, "channel": channel})
        if reconnected:
            log.info("ARI reconnected: %d live channels, %d calls of ours", len(live), len(self.calls))

    # --- the operator queue (see hotline/channels/ari/operators.py) --------------------------------

    def queued(self) -> list[QueuedCall]:
        """Most urgent first (a.QUEUE_PRIORITIES), then the longest wait."""
        return sorted(
            (
                QueuedCall(c.channel_id, c.caller, c.queue_name, c.queued_since, c.queue_priority)
                for c in self.calls.values()
                if c.phase == "queue" and c.queue_name
            ),
            key=lambda q: (a.QUEUE_PRIORITIES.index(q.priority), q.since),
        )


class AriCall:
    """One caller's channel. Phases: busy (a turn is being computed), lead (prompts playing before a Record,
    Enqueue or Hangup), gather (prompts playing or not: keys answer it), record, queue, operator (bridged
    with an operator), hangup (we hung up), idle (the call left the engine)."""

    def __init__(self, app: AriApp, channel_id: str, channel: dict[str, Any], *, alert_attempt: int | None = None):
        self.app = app
        self.channel_id = channel_id
        self.alert_attempt = alert_attempt  # a URC voice alert we placed: it runs the alert flow
        caller = channel.get("caller") or {}
        self.caller = str(caller.get("number") or "") or "anonymous"
        self.called = str((channel.get("dialplan") or {}).get("exten") or "")
        self.phase = "busy"
        self.gone = False
        self.hangup_pending = False  # the caller hung up while recording: waiting for RecordingFinished
        self.seq = 0
        self.plan: m.TurnPlan | None = None
        self.playback_id: str | None = None  # the turn's playback, whose end starts what comes next
        self.playing: list[str] = []  # our playbacks not yet finished or stopped (running, then queued)
        self.digits = ""
        self.typeahead = ""
        self.timer: asyncio.TimerHandle | None = None
        self.timer_token = 0
        self.timer_seconds = 0.0  # the pending timer's delay, for logs and tests
        self.recording: str | None = None
        self.hold_bridge: str | None = None
        self.queue_name = ""
        self.queued_since = 0.0
        self.queue_priority = "normal"
        self.operator: str | None = None
        self.mix_bridge: str | None = None
        self.turn: Turn | None = None  # the turn being played
        self.pending_operator: str | None = None  # answered before the caller reached the queue (item 1)
        self.queue_action: a.Enqueue | None = None
        self.channel_moh = False  # music on the channel itself (the holding bridge's failed)
        self.recorded_names: set[str] = set()
        self.talk_detect = False  # TALK_DETECT(set) was sent: Asterisk reports talking on the channel
        self.heard_voice = False  # talking was detected during the current listening turn

    # --- turns ---------------------------------------------------------------------------------------

    async def start(self, *, answered: bool, adopted: bool = False) -> None:
        """Answer (unless the channel is up already) while the call service runs Start. A call it knows
        (adopted after a restart or reconnect) gets its stored last turn again: the caller hears the
        question they were asked -- unless it was the recording and Asterisk has it (still recording, or
        finished while no app was there): then that recording is the answer."""
        if self.alert_attempt is not None and self.app.alerts is not None:
            begin = self.app.alerts.begin_alert(call_id=self.channel_id, attempt_id=self.alert_attempt)
        else:
            begin = self.app.calls_port.begin(call_id=self.channel_id, caller=self.caller, called=self.called)
        try:
            if answered:
                turn = await begin
            else:  # the dialplan answers (config/asterisk): a refused answer here is no reason to stop
                _, turn = await asyncio.gather(self._try(m.answer(self.channel_id), "answer"), begin)
            if adopted and await self._adopt_recording(turn):
                return
            await self.render(turn)
        except CallsUnavailable:
            await self._to_fallback()

    async def _to_fallback(self) -> None:
        """The database cannot be reached: nobody could take this call from the console, and its answers could
        not be kept. The caller goes on in the dialplan's fallback (the desk phones, else a recorded message:
        config/asterisk/extensions.conf), and the call is spooled so that it has a row once the database is back
        (hotline/spool/). A caller who hung up meanwhile is only spooled."""
        gone, self.gone, self.phase = self.gone, True, "fallback"
        self._cancel_timer()
        if self.alert_attempt is not None:  # a member answering an alert: the desk phones are not for him
            log.warning("ARI: alert call %s ended (database unavailable); its SMS and failover go on", self.channel_id)
            if not gone:
                await self._try(m.hangup(self.channel_id), "hanging up")
            return
        for request in self._cleanup():
            with contextlib.suppress(*FAILURES):
                await self._send(request)
        if not gone and not await self._try(m.continue_to_fallback(self.channel_id), "continuing to the fallback"):
            await self._try(m.hangup(self.channel_id), "hanging up")  # no dialplan to go on in
        message = VoiceMessage(
            provider=PROVIDER,
            call_id=self.channel_id,
            caller=self.caller,
            called=self.called,
            recording_url=None,
            seconds=None,
            arrived_at=now(),
            outcome="hung_up" if gone else "dialplan",
        )
        try:
            await asyncio.to_thread(lambda: current_spool().append(voice_record(message)))
        except OSError:
            log.exception("ARI: call %s went to the fallback, and the spool cannot be written", self.channel_id)
            return
        log.warning("ARI: call %s went to the dialplan's fallback (database unavailable); spooled", self.channel_id)

    async def _adopt_recording(self, turn: Turn) -> bool:
        """After a restart: the recording the call's last turn asked for, if Asterisk has it."""
        plan = m.plan_turn(turn.media, self.app.prompts) if turn.media else None
        if plan is None or not isinstance(plan.wait, a.Record):
            return False
        name = recording_name(self.channel_id, turn)
        for kind in ("live", "stored"):
            try:
                await self.app.ari.request("GET", f"/recordings/{kind}/{name}")
            except FAILURES:
                continue
            self.plan, self.phase, self.recording = plan, "record", name
            log.info("ARI: call %s adopted with its %s recording %s", self.channel_id, kind, name)
            if kind == "stored":  # it finished while no app was there: the caller said it already
                await self._recording_finished(
                    {"type": "RecordingFinished", "recording": {"name": name, "state": "done"}}
                )
            return True
        return False

    async def step(self, event: a.Event) -> None:
        self.phase = "busy"
        after_queue = isinstance(event, a.QueueLeft)
        turn = await self.app.calls_port.send(call_id=self.channel_id, event=event, after_queue=after_queue)
        await self.render(turn)

    async def render(self, turn: Turn) -> None:
        if self.gone:
            return
        self.turn = turn
        if not turn.media:
            if turn.state.outcome == "operator":
                self.phase = "operator" if self.mix_bridge else "idle"
                return
            if not turn.state.ended:  # the engine promises this never happens; if it does, a person takes over
                log.error("ARI: call %s got no media at node %s", self.channel_id, turn.state.node)
                turn = self.app.calls_port.apology(then="operator")
            else:
                turn = Turn(turn.state, (a.Hangup(),), ())
        self.plan = plan = m.plan_turn(turn.media, self.app.prompts)
        wait = plan.wait
        if self.pending_operator and not isinstance(wait, a.Enqueue):  # the caller is not going to the queue
            operator, self.pending_operator = self.pending_operator, None
            await self._try(m.hangup(operator), "releasing the operator")
        if not isinstance(wait, a.Hangup):  # the end of the call needs no talk detection turned off
            await self._listen(
                isinstance(wait, a.Gather) and wait.listen, wait.talk if isinstance(wait, a.Gather) else None
            )
        if isinstance(wait, a.Gather):
            self.phase, self.digits = "gather", ""
            while self.typeahead:
                # Take the key off first: the keys after the one that answers belong to the next Gather,
                # which starts inside `_key` (the next turn) and takes them from here.
                key, self.typeahead = self.typeahead[0], self.typeahead[1:]
                if await self._key(wait, key):
                    return
            if self.digits:  # typed ahead: the caller is answering already, the prompts would only be in the way
                self._start_timer(wait.inter_digit_timeout_seconds)
            elif not (plan.prompts and await self._play(plan.prompts)):  # keys stop it; its end starts the timeout
                self._start_timer(wait.timeout_seconds)  # no prompts, or ARI refused them: the caller can still answer
            return
        self.typeahead = ""  # keys kept for a Gather mean nothing to a Record, the queue or the goodbye
        operator_waits = self.pending_operator is not None and isinstance(wait, a.Enqueue)
        if plan.prompts and not operator_waits:
            self.phase = "lead"
            if await self._play(plan.prompts):
                return
        await self._after_prompts()

    async def _after_prompts(self) -> None:
        """The prompts before a Record, Enqueue or Hangup have played, or a key cut them short."""
        assert self.plan is not None
        wait = self.plan.wait
        if isinstance(wait, a.Record):
            self.phase = "record"
            name = recording_name(self.channel_id, self.turn)
            if name in self.recorded_names:  # the same question again within one turn's path: a name of its own
                name = f"{name}-{len(self.recorded_names)}"
            self.recorded_names.add(name)
            self.recording = name
            ours = self.app.prompts.beep_uri() is not None  # our beep ended the prompts: none from Asterisk
            if not await self._try(m.record(self.channel_id, name, wait, beep=False if ours else None)):
                self.recording = None
                await self.step(a.NoInput())  # as if nothing was said: the flow asks again or moves on
        elif isinstance(wait, a.Enqueue):
            await self._enqueue(wait)
        elif isinstance(wait, a.Hangup):
            self.phase = "hangup"
            await self._hang_up_line()
        else:
            self.phase = "idle"

    async def _listen(self, listening: bool, talk: a.TalkDetection | None = None) -> None:
        """TALK_DETECT on for a listening Gather (the greeting), with the city's threshold; off again after it."""
        self.heard_voice = False
        if listening == self.talk_detect:
            return
        try:
            await self._send(m.talk_detect(self.channel_id, talk) if listening else m.talk_detect_off(self.channel_id))
            self.talk_detect = listening
        except FAILURES:  # without it a timeout stays NoInput: never taken for a silent call
            log.warning("ARI: TALK_DETECT not changed on %s", self.channel_id, exc_info=True)

    # --- events --------------------------------------------------------------------------------------

    async def handle(self, event: Event) -> None:
        try:
            await self._handle(event)
        except CallsUnavailable:
            await self._to_fallback()

    async def _handle(self, event: Event) -> None:
        kind = event.get("type")
        if kind in HANGUP_EVENTS:
            await self._hung_up(str(kind))
        elif self.gone:
            return
        elif kind == "ChannelDtmfReceived":
            await self._dtmf(str(event.get("digit", "")))
        elif kind == "ChannelTalkingStarted":
            self.heard_voice = self.heard_voice or self.phase in ("lead", "gather")
        elif kind == "PlaybackFinished":
            await self._playback_finished(str((event.get("playback") or {}).get("id", "")))
        elif kind in ("RecordingFinished", "RecordingFailed"):
            await self._recording_finished(event)
        elif kind == TIMER:
            if event.get("token") == self.timer_token:
                await self._timer_fired()
        elif kind == OPERATOR_ANSWERED:
            await self._operator_answered(str(event["operator"]))
        elif kind == OPERATOR_GONE:
            if self.pending_operator == event.get("operator"):
                self.pending_operator = None
            if self.phase == "operator" and self.operator == event.get("operator"):
                self.phase = "hangup"
                await self._hang_up_line()  # the operator hung up: so does the call
        elif kind == RESYNC:
            await self._resync()

    async def _dtmf(self, key: str) -> None:
        if key not in KEYS:
            return
        plan = self.plan
        if self.phase == "gather" and plan is not None and isinstance(plan.wait, a.Gather):
            await self._key(plan.wait, key)
        elif self.phase == "lead":
            # Barge-in before a Record (it starts now), the queue or the goodbye (cut short).
            await self._stop_prompts()
            await self._after_prompts()
        elif self.phase == "busy":
            self.typeahead += key
        # recording (Asterisk ends it on terminateOn), queue, operator: keys mean nothing to the IVR

    async def _stop_prompts(self) -> None:
        """Stop every playback of ours that has not finished: the running one, then any queued behind it.
        Their PlaybackFinished events then belong to no turn and are ignored."""
        self.playback_id = None
        stopping, self.playing = self.playing, []
        for playback in stopping:  # 404: it had just finished; another failure: it plays on, the keys still count
            await self._try(m.stop_playback(playback), "stopping a prompt")

    async def _key(self, gather: a.Gather, key: str) -> bool:
        """One key of a Gather; True when the Gather is over (the next turn has been started)."""
        if self.playing:
            await self._stop_prompts()
        if gather.finish_on_key and key == gather.finish_on_key:
            await self._gathered()
            return True
        self.digits += key
        if len(self.digits) >= gather.max_digits:
            await self._gathered()
            return True
        self._start_timer(gather.inter_digit_timeout_seconds)
        return False

    async def _gathered(self) -> None:
        self._cancel_timer()
        digits, self.digits = self.digits, ""
        wait = self.plan.wait if self.plan is not None else None
        event: a.Event = a.Digits(digits) if digits else a.NoInput()
        if not digits and isinstance(wait, a.Gather) and wait.listen and self.talk_detect:
            event = a.Speech() if self.heard_voice else a.Silence()
        await self.step(event)

    async def _playback_finished(self, playback_id: str) -> None:
        if playback_id in self.playing:
            self.playing.remove(playback_id)
        if playback_id != self.playback_id:
            return  # a playback we stopped
        self.playback_id = None
        plan = self.plan
        if self.phase == "lead":
            await self._after_prompts()
        elif self.phase == "gather" and plan is not None and isinstance(plan.wait, a.Gather) and not self.digits:
            self._start_timer(plan.wait.timeout_seconds)

    async def _recording_finished(self, event: Event) -> None:
        recording = event.get("recording") or {}
        if recording.get("name") != self.recording:
            return
        self.recording = None
        url, seconds = await self.app.recording_result(recording)
        result: a.Event = a.Recorded(url, seconds or 0.0) if url else a.NoInput()
        if self.hangup_pending:
            await self.app.calls_port.send(call_id=self.channel_id, event=result)
            await self._hung_up("RecordingFinished")
        else:
            await self.step(result)

    async def _timer_fired(self) -> None:
        self.timer = None
        if self.phase == "gather":
            await self._gathered()
        elif self.phase == "hangup":
            await self._hang_up_line()
        elif self.phase == "queue":
            self.phase = "busy"
            event = a.QueueLeft(answered=False)
            turn = await self.app.calls_port.send(call_id=self.channel_id, event=event, after_queue=True)
            if turn.state.outcome == "operator":
                # The console took the call meanwhile: music until the operator answers, and the wait armed
                # again, so a phone that never rings through cannot leave the caller there for good.
                self.phase = "queue"
                self._start_timer(self.queue_action.max_wait_seconds if self.queue_action else 60)
                return
            await self._leave_queue()
            await self.render(turn)

    async def _hung_up(self, kind: str) -> None:
        if self.gone:
            return
        if self.recording and kind == "ChannelHangupRequest":
            self.hangup_pending = True  # Asterisk sends the recording next; keep the caller's words
            return
        self.gone = True
        self._cancel_timer()
        for request in self._cleanup():
            with contextlib.suppress(*FAILURES):  # cleaning up: what is gone is gone
                await self._send(request)
        await self.app.calls_port.send(call_id=self.channel_id, event=a.HangUp())

    def _cleanup(self) -> list[m.AriRequest]:
        requests = []
        if self.hold_bridge:
            requests.append(m.destroy_bridge(self.hold_bridge))
            self.hold_bridge = None
        if self.operator:
            requests.append(m.hangup(self.operator))
        if self.pending_operator:
            requests.append(m.hangup(self.pending_operator))
            self.pending_operator = None
        if self.mix_bridge:
            requests.append(m.destroy_bridge(self.mix_bridge))
            self.mix_bridge = None
        return requests

    async def _resync(self) -> None:
        """After a reconnect: a playback or recording that ended while the socket was down is done."""
        if self.playback_id is not None:
            try:
                await self.app.ari.request("GET", f"/playbacks/{self.playback_id}")
            except AriError as exc:
                if exc.status == 404:
                    await self._playback_finished(self.playback_id)
        if self.recording is not None:
            try:
                await self.app.ari.request("GET", f"/recordings/live/{self.recording}")
            except AriError as exc:
                if exc.status == 404:  # over: the stored file says whether anything was said, and how long
                    stored = {"name": self.recording, "state": "done"}
                    await self._recording_finished({"type": "RecordingFinished", "recording": stored})

    # --- the operator queue --------------------------------------------------------------------------

    async def _enqueue(self, action: a.Enqueue) -> None:
        """The caller waits for an operator. The wait's timer is armed first, so whatever ARI refuses below, the
        wait ends (QueueLeft) and the flow goes on; each step has its fallback: a holding bridge with music,
        else music on the channel itself (an Asterisk without chan_bridge_media answers the bridge's music
        with 500 "Allocation failed"), else a ringing tone."""
        self.phase, self.typeahead = "queue", ""
        self.queue_action = action
        self.queue_name, self.queued_since, self.queue_priority = action.queue, time.time(), action.priority
        self._start_timer(action.max_wait_seconds)
        if self.pending_operator:  # taken by the console while the caller heard please_hold: through at once
            operator, self.pending_operator = self.pending_operator, None
            await self._operator_answered(operator)
            return
        await self._hold(action)

    async def _hold(self, action: a.Enqueue) -> None:
        bridge = f"hold-{self.channel_id}"
        if await self._try(m.holding_bridge(bridge, action.queue), "holding bridge"):
            self.hold_bridge = bridge
            if await self._try(m.add_channel(bridge, self.channel_id), "joining the holding bridge"):
                if await self._try(m.bridge_moh(bridge, action.hold_music), "music on hold in the bridge"):
                    return
                await self._try(m.remove_channel(bridge, self.channel_id), "leaving the silent bridge")
            await self._try(m.destroy_bridge(bridge), "removing the holding bridge")
            self.hold_bridge = None
        if await self._try(m.channel_moh(self.channel_id, action.hold_music), "music on hold on the channel"):
            self.channel_moh = True
        elif not await self._play((m.HOLD_TONE,)):
            log.error("ARI: call %s waits for an operator in silence: no music, no tone", self.channel_id)

    async def _leave_queue(self) -> None:
        bridge, self.hold_bridge = self.hold_bridge, None
        if bridge:
            await self._try(m.remove_channel(bridge, self.channel_id), "leaving the holding bridge")
            await self._try(m.destroy_bridge(bridge), "removing the holding bridge")
        if self.channel_moh:
            self.channel_moh = False
            await self._try(m.channel_moh_off(self.channel_id), "stopping the music on hold")
        if self.playing:
            await self._stop_prompts()  # the ringing tone, or please_hold cut short

    async def _operator_answered(self, operator: str) -> None:
        wait = self.plan.wait if self.plan is not None else None
        if self.phase == "busy" or (self.phase == "lead" and isinstance(wait, a.Enqueue)):
            # The console lists a call as queued as soon as its queue turn is stored, while the caller still
            # hears please_hold: an operator who takes it then is put through, not hung up.
            self.pending_operator = operator
            if self.phase == "lead":
                await self._stop_prompts()
                await self._after_prompts()
            return
        if self.phase != "queue":  # the caller left the queue or hung up meanwhile: release the operator
            await self._try(m.hangup(operator), "releasing the operator")
            return
        self._cancel_timer()
        await self._leave_queue()
        mix = f"call-{self.channel_id}"
        bridged = (
            await self._try(m.mixing_bridge(mix), "mixing bridge")
            and await self._try(m.add_channel(mix, self.channel_id), "the caller joining the operator")
            and await self._try(m.add_channel(mix, operator), "the operator joining the caller")
        )
        if not bridged:  # the caller waits on; the operator's phone is released
            log.error("ARI: call %s could not be put through to %s; back in the queue", self.channel_id, operator)
            await self._try(m.hangup(operator), "releasing the operator")
            await self._try(m.destroy_bridge(mix), "removing the mixing bridge")
            if self.queue_action is not None:
                await self._enqueue(self.queue_action)
            return
        self.operator, self.mix_bridge = operator, mix
        await self.step(a.QueueLeft(answered=True))

    # --- small helpers -------------------------------------------------------------------------------

    async def _play(self, uris: tuple[str, ...]) -> bool:
        """Start the playback; False when ARI refused it (nothing plays: the caller must not wait for its end)."""
        self.seq += 1
        self.playback_id = playback = f"{self.channel_id}.{self.seq}"
        self.playing.append(playback)
        if await self._try(m.play(self.channel_id, playback, uris), "playing prompts"):
            return True
        self.playback_id = None
        if playback in self.playing:
            self.playing.remove(playback)
        return False

    async def _try(self, request: m.AriRequest, what: str = "") -> bool:
        """One request the call survives failing: False (and a warning) when ARI refused it or did not answer."""
        try:
            await self._send(request)
        except FAILURES as exc:
            log.warning("ARI: %s on call %s failed: %s", what or request.path, self.channel_id, exc)
            return False
        return True

    async def _hang_up_line(self) -> None:
        if not await self._try(m.hangup(self.channel_id), "hanging up"):
            self._start_timer(HANGUP_RETRY_SECONDS)  # tried again until it works or the caller hangs up

    async def _send(self, request: m.AriRequest) -> Any:
        """One request; a channel that is gone (404) is not an error: its hang-up events are on the way."""
        try:
            return await self.app.send(request)
        except AriError as exc:
            if exc.status == 404:
                log.info("ARI: %s", exc)
                return None
            raise

    def _start_timer(self, seconds: float) -> None:
        self._cancel_timer()
        self.timer_token += 1
        self.timer_seconds = seconds
        event = {"type": TIMER, "token": self.timer_token}
        self.timer = asyncio.get_running_loop().call_later(seconds, self.app.ari.post, self.channel_id, event)

    def _cancel_timer(self) -> None:
        self.timer_token += 1
        if self.timer is not None:
            self.timer.cancel()
            self.timer = None

    def expire_timer(self) -> bool:
        """Fire the pending timer now (tests: "the caller stays silent"); False when none is pending."""
        if self.timer is None:
            return False
        self.timer.cancel()
        self.timer = None
        self.app.ari.post(self.channel_id, {"type": TIMER, "token": self.timer_token})
        return True


def wav_seconds(audio: bytes) -> float | None:
    """The length of a WAV file's audio; None when it is not a WAV (another format: its length is unknown)."""
    try:
        with wave.open(io.BytesIO(audio)) as w:
            return w.getnframes() / float(w.getframerate() or 1)
    except (wave.Error, EOFError):
        return None


def recording_name(channel_id: str, turn: Turn | None) -> str:
    """The name of the recording a turn asks for: the same for the same question of the same call (so an app
    that restarts finds the recording the caller made meanwhile), different for every other question
    (the call's path grows with each answer), so nothing is ever overwritten."""
    step = len(turn.state.path) if turn is not None else 0
    return f"hotline-{channel_id}-{step}"


def recording_result(ari_url: str, recording: dict[str, Any]) -> tuple[str, float | None]:
    """(URL, seconds) of a finished recording; ('', None) when it failed or nothing was said."""
    if recording.get("state") not in ("done", None) or not recording.get("name"):
        return "", None
    duration = recording.get("duration")
    talking = recording.get("talking_duration")
    if duration == 0 or talking == 0:  # Asterisk counts talking time only with silence detection on
        return "", None
    return m.stored_recording_url(ari_url, recording["name"]), float(duration) if duration else None
