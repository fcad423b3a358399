"""The one SMS gateway interface, both directions (Twilio, Kannel, Gammu SMSD, SMS Gateway for Android, SMPP,
the log gateway).

Out: the outbox job builds an `OutgoingSms` and calls `SmsGateway.send` on the gateways of the message's
purpose in order (hotline/channels/gateways.py picks them; hotline/jobs/outbound.py fails over).

In: an adapter (a webhook, `hotline sms gammu-receive`, an SMPP bind) turns what its gateway gave it into
    - `InboundSms`        -> `hotline.channels.gateway_sink.take_inbound(sms)`   (stored, then processed)
    - `DeliveryReport`    -> `hotline.channels.gateway_sink.take_report(report)` (outbox + alert failover)
and never touches the database itself. Both are synchronous (call them from a thread in async code) and
idempotent: the same inbound id, or the same report, twice changes nothing.

A gateway that learns by looking rather than being called (Gammu's sent/error folders) also implements
`PollingGateway.poll`, which the worker's sweeper calls.

A gateway type (twilio, kannel, ...) is declared once, by its adapter package, as a `GatewayType`: its name, the
settings it reads, a builder and, optionally, a check of its settings and a webhook router. The composition root
(hotline/wiring.py) registers the types (hotline/channels/gateways.py `register`); nothing else lists them.

Ids: each gateway's own ids are stored namespaced as "<gateway name>:<id>" (hotline/features/sms/sms_intake.py
`namespaced_sid`), so two gateways' ids never collide; Twilio's keep their bare "SM..." form.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Literal, Protocol, runtime_checkable

from hotline.core.gateway_config import Findings, GatewaySpec
from hotline.core.gateway_config import Settings as GatewaySettings
from hotline.sms.encoding import SmsSize

if TYPE_CHECKING:
    from hotline.settings import Settings

# What a delivery report says, in our words; every gateway maps its own to one of these.
DeliveryStatus = Literal["accepted", "queued", "sent", "delivered", "undelivered", "failed"]
DELIVERY_STATUSES: tuple[DeliveryStatus, ...] = ("accepted", "queued", "sent", "delivered", "undelivered", "failed")


@dataclass(frozen=True)
class OutgoingSms:
    message_id: int  # the outbox row (hotline/models/messages.py OutboundMessage)
    to: str  # E.164 or an alphanumeric id, as stored
    body: str
    coding: SmsSize  # GSM-7 or UCS-2 and its parts, measured from `body` as sent (hotline/sms/encoding.py)
    purpose: str  # reply | notify | alert | escalation | ...
    validity: timedelta | None = None  # after this the gateway/SMSC should drop it rather than deliver it late
    sender: str | None = None  # our number to send from (the one the citizen texted), when known
    line: str | None = None  # the gateway's line the citizen used (Kannel smsc-id, Android SIM number)
    created_at: datetime | None = None  # when the outbox row was made (gateways that name messages by it)
    choices: Mapping[str, object] | None = None  # buttons a channel may offer (hotline/core/outbox.py Choices)
    template: tuple[str, str] | None = None  # WhatsApp: send as this approved template (name, language)
    content_sid: str | None = None  # WhatsApp through Twilio: the approved template's Content SID (HX...)


@dataclass(frozen=True)
class SendResult:
    gateway: str  # the gateway's configured name
    kind: str  # twilio | kannel | gammu | android | smpp | log
    provider_sid: str  # the gateway's own id for the message (not namespaced)
    status: DeliveryStatus = "sent"


class SendError(Exception):
    """The gateway did not take the SMS. `permanent`: sending the same again through it cannot succeed."""

    def __init__(self, message: str, *, code: str | None = None, permanent: bool = False):
        super().__init__(message)
        self.code, self.permanent = code, permanent


@dataclass(frozen=True)
class InboundSms:
    gateway: str  # configured name of the gateway it came through
    gateway_id: str  # the gateway's id for this message: the same message always has the same id
    sender: str  # as the gateway gave it (+62812..., 0812..., an alphanumeric id)
    body: str
    to: str = ""  # our number that received it
    line: str | None = None  # the gateway's line (Kannel smsc-id, Android SIM number, Gammu phone id)
    received_at: datetime | None = None
    payload: Mapping[str, object] = field(default_factory=dict)  # what came, for the record


@dataclass(frozen=True)
class DeliveryReport:
    gateway: str
    status: DeliveryStatus
    # Which message: our outbox id when the gateway hands it back in a URL we signed (then `provider_sid`, if
    # given, must be that message's), else the gateway's own id as `SendResult.provider_sid` gave it.
    message_id: int | None = None
    provider_sid: str | None = None
    error_code: str | None = None
    detail: str | None = None


class SmsGateway(Protocol):
    name: str
    kind: str

    def send(self, sms: OutgoingSms) -> SendResult:
        """Hand one SMS to the gateway. Raise SendError (permanent=True when retrying cannot help)."""
        ...

    def find_sent(self, sms: OutgoingSms, *, since: datetime, exclude: set[str]) -> SendResult | None:
        """This SMS if the gateway already took it (since `since`, with an id not in `exclude`), else None.
        Asked before sending again after an attempt whose outcome we never learned (a worker died mid-send,
        a timeout): how a retry never becomes a second SMS where the gateway can tell."""
        ...


@dataclass(frozen=True)
class FetchedMedia:
    data: bytes
    content_type: str  # what the provider says it is (the media feature sniffs the bytes itself)


class MediaFetchError(Exception):
    """A photo, voice note or document could not be fetched. `permanent`: asking again cannot help (gone, too
    big, refused); otherwise it is asked again later with back-off."""

    def __init__(self, message: str, *, permanent: bool = False):
        super().__init__(message)
        self.permanent = permanent


@runtime_checkable
class MediaSource(Protocol):
    """A gateway whose messages carry media by reference (WhatsApp's media ids, Twilio's MediaUrl)."""

    def fetch_media(self, ref: str, *, max_bytes: int) -> FetchedMedia:
        """The bytes behind `ref`, at most `max_bytes` (more: MediaFetchError, permanent). Raise MediaFetchError."""
        ...


@runtime_checkable
class PollingGateway(Protocol):
    def poll(self) -> Iterable[InboundSms | DeliveryReport]:
        """What arrived since the last poll. Safe to call from several processes (results are idempotent)."""
        ...


# What a message carried besides its text, in its InboundSms.payload (flat: the payload is stored as JSON of
# scalars): "media_count", then "media_<i>_ref" (what the gateway's MediaSource fetches), "media_<i>_type" (the
# content type the gateway claims), "media_<i>_kind" (image | audio | voice | video | document | sticker);
# "latitude" / "longitude" for a shared place. The SMS intake reads them back (features/media/).
@dataclass(frozen=True)
class InboundMedia:
    ref: str
    content_type: str
    kind: str


def extras_payload(
    media: Iterable[InboundMedia] = (), latitude: float | None = None, longitude: float | None = None
) -> dict[str, object]:
    out: dict[str, object] = {}
    items = list(media)
    if items:
        out["media_count"] = len(items)
        for i, item in enumerate(items):
            out.update({f"media_{i}_ref": item.ref, f"media_{i}_type": item.content_type, f"media_{i}_kind": item.kind})
    if latitude is not None and longitude is not None:
        out.update(latitude=latitude, longitude=longitude)
    return out


@dataclass(frozen=True)
class GatewayType:
    """One kind of SMS gateway, as its adapter package declares it (e.g. hotline/channels/kannel/__init__.py).

    `build` is called only when a gateway is built, and `router` imported only by the app, so declaring a type
    imports none of its adapter's code."""

    name: str  # the HOTLINE_GATEWAY_<NAME>_TYPE value
    build: Callable[[GatewaySpec, Settings], SmsGateway]
    keys: Mapping[str, str] = field(default_factory=dict)  # key -> what it is; empty: the type checks its own keys
    required: tuple[str, ...] = ()  # keys it cannot work without ("missing; <what it is>")
    check: Callable[[GatewaySpec, GatewaySettings], Findings] | None = None  # its own checks, beyond `required`
    # Its webhooks' FastAPI router as "module:attribute". A name, not a function: only the web layer
    # (hotline/web/app.py) imports it, as the layers in pyproject.toml want (a webhook module may use hotline.web).
    router: str | None = None
    default_route: bool = True  # False: used for a purpose only when that purpose names it (WhatsApp)
