"""The one voice gateway interface (Twilio, Asterisk): what the rest of Hotline asks of a phone network.

    place_call     ring a phone; when it is answered the call runs an IVR flow (hotline/ivr/) through the
                   call service, as an incoming call does. The URC voice alert ("tekan 1") is one.
    take_over      put a call waiting in the operator queue through to an operator (the console's "take").
    call_status    the provider's word for where a call is (Twilio's CallStatus, an ARI hang-up cause) in ours.

Adapters: hotline/channels/twilio/voice_gateway.py (REST), hotline/channels/ari/voice_gateway.py (ARI
originate into the Stasis app). hotline/channels/voice_gateways.py builds the configured ones from settings;
nothing else names an adapter. Each adapter package declares its `VoiceGatewayType` (its settings, their check,
whether it is configured, its builder) and the composition root (hotline/wiring.py) registers it. SMS has its
own interface: hotline/channels/gateway.py `SmsGateway`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from typing import TYPE_CHECKING, Any, Protocol

from hotline.core.gateway_config import Findings
from hotline.core.voice_config import VoiceSettings

if TYPE_CHECKING:
    from hotline.settings import Settings


class CallStatus(StrEnum):
    """Where an outbound call is, in our words; every adapter maps its provider's words to one of these."""

    QUEUED = "queued"  # the provider has it, not ringing yet
    RINGING = "ringing"
    ANSWERED = "answered"
    COMPLETED = "completed"  # answered, then hung up
    BUSY = "busy"
    NO_ANSWER = "no_answer"
    FAILED = "failed"  # unreachable, a bad number, refused by the network
    CANCELED = "canceled"  # we hung up before it was answered


ANSWERED = frozenset({CallStatus.ANSWERED, CallStatus.COMPLETED})
NOT_REACHED = frozenset({CallStatus.BUSY, CallStatus.NO_ANSWER, CallStatus.FAILED, CallStatus.CANCELED})
OVER = NOT_REACHED | {CallStatus.COMPLETED}


@dataclass(frozen=True)
class OutboundCall:
    """A call we place: ring `to` and, once answered, run the alert flow for alert attempt `attempt_id`."""

    attempt_id: int  # hotline/models/alerts.py AlertAttempt: the call's outcome moves the alert's failover
    to: str  # E.164


class CallError(Exception):
    """The gateway did not place the call. `permanent`: placing the same call again cannot succeed."""

    def __init__(self, message: str, *, code: str | None = None, permanent: bool = False):
        super().__init__(message)
        self.code, self.permanent = code, permanent


class TakeoverError(RuntimeError):
    """The call could not be put through (gone, taken already, transport not able); the message says which.
    `code` names the console's sentence for it (hotline/catalog, `error`); a transport's own words go in as
    `detail` of the catch-all `takeover_failed`."""

    def __init__(self, message: str, *, code: str = "takeover_failed", **params: Any):
        self.code, self.params = code, {"detail": message, **params}
        super().__init__(message)


class VoiceGateway(Protocol):
    provider: str  # the calls' provider as stored (hotline/models/calls.py Call.provider): twilio | asterisk

    def can_place_calls(self) -> bool:
        """Whether `place_call` can work as configured (credentials, a number or trunk to call from, a way back)."""
        ...

    def place_call(self, call: OutboundCall) -> str:
        """Ring `call.to`. Returns the provider's id of the call (Twilio CallSid, ARI channel id). Raise CallError."""
        ...

    def take_over(self, *, provider_call_id: str, answer_at: str) -> None:
        """Connect the waiting call to `answer_at` (+62..., client:NAME, sip:URI); raise TakeoverError if not."""
        ...

    def call_status(self, word: str) -> CallStatus | None:
        """The provider's word for a call's state in ours; None for a word that says nothing we act on."""
        ...


@dataclass(frozen=True)
class VoiceGatewayType:
    """One kind of voice gateway, as its adapter package declares it (hotline/channels/ari/__init__.py): all that
    is its own. `build` is called only when it is configured and `routers` imported only by the app, so declaring
    a type imports none of its adapter's code."""

    name: str  # the provider word stored with its calls and named by HOTLINE_VOICE_ALERTS (twilio, asterisk)
    configured: Callable[[Settings], bool]  # its settings are there (it is built only then)
    build: Callable[[Settings], VoiceGateway]
    # Its own settings (ARI_*): a model whose fields' aliases are the environment variables, read and validated with
    # the rest at start; the type reads them as `settings.voice(Model)`. None: it reads only shared ones (TWILIO_*).
    settings: type[VoiceSettings] | None = None
    # Problems with its settings ("settings: ARI_...: ..."), which `hotline config check` prints and which stop
    # `up`, `serve` and `worker`, and notes it only prints.
    check: Callable[[Settings], Findings] | None = None
    # What `hotline config check` says when it places the voice alerts ("asterisk, at PJSIP/{national}@trunk").
    describe: Callable[[Settings], str] | None = None
    # Its webhooks' FastAPI routers as "module:attribute", mounted by hotline/web/app.py (a name: only the web
    # layer imports them).
    routers: tuple[str, ...] = ()
