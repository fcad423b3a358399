"""The broadcast sender: one loop per hotline (a Redis lease), off the RQ queue, so a 50,000-SMS warning never
stands between a URC alert and its worker. Started by each `hotline worker`'s sweeper (as the timer releaser
is); the lease lets one of them send and the others wait to take over.

Each turn: claim up to HOTLINE_BROADCAST_BATCH recipients (committed `sending`), hand each to the broadcasts
route's gateways in order (the next takes it when one refuses, as alerts fail over), then record them `sent`
(or back in line with back-off) in one transaction. Each gateway is paced to HOTLINE_BROADCAST_TPS minus what
the outbox (alerts, replies) handed it meanwhile: alerts never wait, broadcasts take what is left.

On taking the lease, recipients left `sending` by a killed sender are asked of the gateway (`find_sent`): the
ones it has are recorded sent, the rest go back in line. None skipped, none sent twice."""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field, replace
from datetime import timedelta
from typing import TYPE_CHECKING, NamedTuple

from hotline.channels.gateway import OutgoingSms, SendError, SmsGateway
from hotline.channels.gateways import build_gateway, routing
from hotline.core import broadcast_wake, gateway_pace, template_cuts
from hotline.core.queue import redis_connection
from hotline.db import unit_of_work
from hotline.features.broadcasts import sending
from hotline.features.broadcasts.sending import Claimed
from hotline.features.sms.sms_intake import namespaced_sid
from hotline.features.sms.sms_routes import WHATSAPP_PREFIX
from hotline.features.sms.whatsapp_templates import template_for, twilio_content_for
from hotline.models import OutboundPurpose
from hotline.settings import get_settings
from hotline.sms.encoding import SmsSize, measure

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

log = logging.getLogger(__name__)

LEASE_MS = 3000  # a killed sender's lease runs out this soon; the next sender resumes its work
IDLE_WAIT = 0.5  # seconds between looks at the wake counter (Redis) when there is no work
IDLE_LOOK = 15.0  # seconds between looks in the database when idle and not woken (retries whose back-off ended)
VALIDITY = timedelta(hours=6)  # a warning delivered later than this is no warning


@dataclass
class Pace:
    """A token bucket per gateway, fed at its TPS, drained by our sends and by the outbox's (read from Redis)."""

    rate: float | None  # SMS a second; None: no limit
    tokens: float = 0.0
    at: float = field(default_factory=time.monotonic)
    others_seen: int | None = None

    def allowance(self, others_now: int, batch: int) -> int:
        if self.rate is None:
            return batch
        now = time.monotonic()
        # Up to half a second of sends at once: a turn slowed by a busy machine catches up, without bursts that
        # would put a gateway's one-second window over its TPS.
        burst = max(1.0, self.rate / 2)
        self.tokens = min(burst, self.tokens + (now - self.at) * self.rate)
        self.at = now
        if self.others_seen is not None:
            self.tokens -= others_now - self.others_seen  # alerts and replies went first
        self.others_seen = others_now
        return max(0, min(batch, int(self.tokens)))

    def took(self, count: int) -> None:
        if self.rate is not None:
            self.tokens -= count

    def wait_hint(self) -> float:
        if self.rate is None:
            return 0.0
        return max(0.001, (1 - self.tokens) / self.rate)


@dataclass
class Route:
    names: list[str]
    gateways: dict[str, SmsGateway]
    paces: dict[str, Pace]
    # WhatsApp (Cloud API) gateways, tried first for subscribers on WhatsApp; the broadcasts route after them
    whatsapp: list[str] = field(default_factory=list)
    # Twilio gateways, and each one's WhatsApp sender (WHATSAPP_FROM): subscribers on WhatsApp through Twilio
    twilio: dict[str, str | None] = field(default_factory=dict)


def build_route() -> Route:
    settings = get_settings()
    sms_routing = routing(settings)
    names = list(sms_routing.routes.get("broadcasts", ()))
    whatsapp = [s.name for s in sms_routing.of_kind("whatsapp") if s.name not in names]
    twilio = {s.name: s.get("WHATSAPP_FROM") for s in sms_routing.of_kind("twilio")}
    every = names + whatsapp + [name for name in twilio if name not in names]
    gateways = {name: build_gateway(sms_routing.gateways[name], settings) for name in every}
    limits = gateway_pace.parse_tps(settings.broadcast_tps, every)
    return Route(names, gateways, {name: Pace(limits[name]) for name in every}, whatsapp, twilio)


class Step(NamedTuple):
    """A gateway, and how to send through it: as text (no template), as the Cloud API's template, or on WhatsApp
    through Twilio (the `whatsapp:` sender, and the approved template's Content SID outside the window)."""

    gateway: str
    template: tuple[str, str] | None = None
    sender: str | None = None
    content_sid: str | None = None


@dataclass(frozen=True)
class Reach:
    """What a batch's WhatsApp subscribers allow: open Cloud API windows, the `broadcast` templates, and where
    each Twilio WhatsApp subscriber last wrote."""

    windows: set[str] = field(default_factory=set)
    template: tuple[str, str] | None = None
    twilio: dict[str, sending.TwilioWhatsApp] = field(default_factory=dict)
    content_sid: str | None = None


def _text(value: object) -> str | None:
    return value.decode() if isinstance(value, bytes) else None if value is None else str(value)


class Lease:
    def __init__(self) -> None:
        self.key = f"hotline:broadcast-sender:{get_settings().queue_name}"
        self.token = f"{os.getpid()}:{time.monotonic_ns()}"

    def hold(self) -> bool:
        """Take or keep the lease; False when another sender holds it."""
        conn = redis_connection()
        if conn.set(self.key, self.token, nx=True, px=LEASE_MS):
            return True
        if _text(conn.get(self.key)) == self.token:
            conn.pexpire(self.key, LEASE_MS)
            return True
        return False

    def release(self) -> None:
        conn = redis_connection()
        if _text(conn.get(self.key)) == self.token:
            conn.delete(self.key)


class Sender:
    def __init__(self, route: Route, batch: int):
        self.route, self.batch = route, batch
        self._sizes: dict[str, SmsSize] = {}

    def _steps(self, item: Claimed, reach: Reach) -> list[Step]:
        """A WhatsApp subscriber: the WhatsApp gateways first, free text within their 24-hour window, the city's
        `broadcast` template past it (sms/whatsapp.yaml; none: straight to SMS); then the broadcasts route."""
        steps: list[Step] = []
        if item.channel == "whatsapp":
            chosen = None if item.phone in reach.windows else reach.template
            if item.phone in reach.windows or reach.template is not None:
                steps = [Step(name, chosen) for name in self.route.whatsapp]
        elif item.channel == "twilio_whatsapp":
            steps = self._twilio_steps(item, reach)
        return steps + [Step(name) for name in self.route.names]

    def _twilio_steps(self, item: Claimed, reach: Reach) -> list[Step]:
        """Back through the Twilio gateway and WhatsApp number they last wrote to (else the first Twilio gateway
        with a WHATSAPP_FROM): free text in their window, the `broadcast` Content SID past it, else nothing."""
        last = reach.twilio.get(item.phone)
        if last is not None and last.gateway in self.route.twilio:
            gateway, ours = last.gateway, last.our_number or self.route.twilio[last.gateway]
        else:
            gateway, ours = next(((n, f) for n, f in self.route.twilio.items() if f), ("", None))
        if not ours:
            return []
        sender = WHATSAPP_PREFIX + ours.removeprefix(WHATSAPP_PREFIX)
        if last is not None and last.gateway == gateway and last.window_open:
            return [Step(gateway, sender=sender)]
        return [Step(gateway, sender=sender, content_sid=reach.content_sid)] if reach.content_sid else []

    def _reach(self, session: Session, claimed: list[Claimed]) -> Reach:
        on_whatsapp = {item.phone for item in claimed if item.channel == "whatsapp"}
        on_twilio = {item.phone for item in claimed if item.channel == "twilio_whatsapp"}
        config_dir = get_settings().config_dir
        return Reach(
            windows=sending.whatsapp_windows(session, on_whatsapp, self.route.whatsapp),
            template=template_for(config_dir, "broadcast") if on_whatsapp else None,
            twilio=sending.twilio_whatsapp_of(session, on_twilio, list(self.route.twilio)),
            content_sid=twilio_content_for(config_dir, "broadcast") if on_twilio else None,
        )

    def _sms(self, item: Claimed) -> OutgoingSms:
        size = self._sizes.get(item.body)
        if size is None:
            size = self._sizes[item.body] = measure(item.body)
        return OutgoingSms(
            message_id=item.message_id,
            to=item.phone,
            body=item.body,
            coding=size,
            purpose=OutboundPurpose.BROADCAST,
            validity=VALIDITY,
            created_at=item.claimed_at,
        )

    def resume(self) -> tuple[int, int]:
        """Recipients a killed sender left `sending`: (found sent, put back in line)."""
        with unit_of_work() as session:
            left = sending.left_sending(session)
            reach = self._reach(session, left)
        found: list[tuple[int, str, str]] = []
        again: list[int] = []
        for item in left:
            sms = self._sms(item)
            result = None
            # WhatsApp cannot be asked (find_sent: None): a WhatsApp send is recorded the moment Graph takes it, so
            # at most the one in flight when the sender died is sent again. Twilio's WhatsApp can be asked.
            for step in self._steps(item, reach):
                name = step.gateway
                gateway = self.route.gateways[name]
                try:
                    asked = replace(sms, sender=step.sender, content_sid=step.content_sid)
                    result = gateway.find_sent(asked, since=item.claimed_at - timedelta(minutes=1), exclude=set())
                except SendError as exc:  # cannot tell: sending again is better than losing a warning
                    log.warning("broadcast SMS %s: could not ask %s (%s)", item.recipient_id, name, exc)
                if result is not None:
                    found.append(
                        (item.recipient_id, name, namespaced_sid(result.gateway, result.kind, result.provider_sid))
                    )
                    break
            if result is None:
                again.append(item.recipient_id)
        with unit_of_work() as session:
            sending.mark_sent(session, found)
            sending.requeue(session, again)
        if left:
            log.warning("broadcast sender resumed: %s found sent, %s back in line", len(found), len(again))
        return len(found), len(again)

    def turn(self) -> int:
        """One batch; returns how many recipients it handled (0: nothing due; -1: the pace says wait)."""
        every = self.route.names + self.route.whatsapp + [n for n in self.route.twilio if n not in self.route.names]
        if not every:
            return 0
        others = gateway_pace.sent_so_far(every)
        first = every[0]
        limit = self.route.paces[first].allowance(others[first], self.batch)
        for name in every[1:]:
            self.route.paces[name].allowance(others[name], self.batch)  # keep their buckets current
        if limit <= 0:
            return -1
        with unit_of_work() as session:
            claimed = sending.claim(session, limit=limit)
            reach = self._reach(session, claimed)
        if not claimed:
            return 0
        sent: list[tuple[int, str, str]] = []
        failed: list[tuple[Claimed, str, bool]] = []
        for item in claimed:
            sms = self._sms(item)
            errors: list[str] = []
            permanent = True
            for step in self._steps(item, reach):
                name = step.gateway
                try:
                    attempt = replace(sms, template=step.template, sender=step.sender, content_sid=step.content_sid)
                    if step.template is not None or step.content_sid is not None:  # one text to all: logged once
                        template_cuts.note(
                            f"broadcast:{item.broadcast_id}", purpose=OutboundPurpose.BROADCAST, text=sms.body
                        )
                    result = self.route.gateways[name].send(attempt)
                except SendError as exc:
                    errors.append(f"{name}: {exc}")
                    permanent = permanent and exc.permanent
                    continue
                self.route.paces[name].took(1)
                took = (item.recipient_id, name, namespaced_sid(result.gateway, result.kind, result.provider_sid))
                if name in self.route.whatsapp:  # it cannot be asked later whether it went: recorded at once
                    with unit_of_work() as session:
                        sending.mark_sent(session, [took])
                else:
                    sent.append(took)
                break
            else:
                failed.append((item, "; ".join(errors), permanent))
        with unit_of_work() as session:
            sending.mark_sent(session, sent)
            sending.mark_failed(session, failed)
        if failed:
            log.warning("broadcast: %s SMS not taken by any gateway (%s); retrying later", len(failed), failed[0][1])
        return len(claimed)

    def finish(self) -> None:
        with unit_of_work() as session:
            done = sending.finish(session)
        for broadcast_id in done:
            log.info("broadcast %s: every SMS handed to a gateway", broadcast_id)


def run_sender(stop: threading.Event, *, route: Route | None = None) -> None:
    sender = Sender(route or build_route(), get_settings().broadcast_batch)
    lease = Lease()
    holding = False
    idle_since: float | None = None  # when the last turn found nothing; None: look in the database now
    rung = -1
    try:
        while not stop.is_set():
            try:
                if not lease.hold():
                    holding = False
                    stop.wait(LEASE_MS / 3000)
                    continue
                if not holding:
                    holding, idle_since = True, None
                    sender.resume()
                if idle_since is not None:
                    now_rung = broadcast_wake.rings()
                    if now_rung == rung and time.monotonic() - idle_since < IDLE_LOOK:
                        stop.wait(IDLE_WAIT)
                        continue
                    rung, idle_since = now_rung, None
                handled = sender.turn()
                if handled == 0:
                    sender.finish()
                    idle_since = time.monotonic()
                    stop.wait(IDLE_WAIT)
                elif handled < 0:
                    stop.wait(min(IDLE_WAIT, sender.route.paces[sender.route.names[0]].wait_hint()))
            except Exception:  # broad: the sender's loop must outlive any one failed turn (database, Redis, gateway)
                log.exception("broadcast sender turn failed; trying again in 1 s")
                holding = False  # resume again: the failed turn may have left recipients `sending`
                stop.wait(1.0)
    finally:
        with contextlib.suppress(Exception):  # broad: stopping; a lease not released expires on its own
            lease.release()


def start_sender() -> subprocess.Popen[bytes]:
    """The sender in a process of its own (a GIL of its own, as the releaser), stopping with its worker."""
    # Its own entry point, so it wires itself (the composition root, hotline/wiring.py: gateway types, the timer core).
    entry = "from hotline.wiring import wire; wire(); "
    code = entry + f"from hotline.jobs.broadcast_sender import sender_main; sender_main({os.getpid()})"
    return subprocess.Popen([sys.executable, "-c", code], close_fds=False)  # close_fds: see timers.start_releaser


def sender_main(worker_pid: int | None = None) -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())

    def watch_parent() -> None:
        while worker_pid is None or os.getppid() == worker_pid:
            if stop.wait(0.5):
                return
        stop.set()

    if worker_pid is not None:
        threading.Thread(target=watch_parent, name="watch-worker", daemon=True).start()
    run_sender(stop)
    logging.shutdown()
    os._exit(0)  # stopped: no teardown of every module (a worker's stop waits for its children)
