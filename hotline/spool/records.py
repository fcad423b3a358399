"""What a spool record holds, both ways: an inbound SMS (any gateway) or a caller's voice message.

{"v": 1, "type": "sms", "kind": "twilio", "arrived_at": "...", "sms": {InboundSms fields}}
{"v": 1, "type": "voice_message", "provider": "twilio", "call_id": "CA...", "caller": "+62...",
 "called": "...", "recording_url": "https://...", "seconds": 31.0, "arrived_at": "..."}
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from hotline.channels.gateway import InboundSms

VERSION = 1


class RecordInvalid(ValueError):
    """A record that reads as JSON but is not one we wrote (a newer version, a hand edit)."""


@dataclass(frozen=True)
class VoiceMessage:
    """A caller's message recorded while the database was down (the Twilio fallback, hotline/channels/twilio/
    voice_fallback.py), or a call the Asterisk app could not start in the database (the ARI fallback)."""

    provider: str  # twilio | asterisk
    call_id: str  # CallSid / ARI channel id: the call's unique id, what makes replaying it idempotent
    caller: str
    called: str
    recording_url: str | None  # None: the call went to the fallback phone, nothing recorded
    seconds: float | None
    arrived_at: datetime
    outcome: str = "recorded"  # recorded | dialed (an operator's phone answered) | hung_up


def sms_record(sms: InboundSms, *, kind: str, arrived_at: datetime) -> dict[str, Any]:
    return {
        "v": VERSION,
        "type": "sms",
        "kind": kind,
        "arrived_at": arrived_at.isoformat(),
        "sms": {
            "gateway": sms.gateway,
            "gateway_id": sms.gateway_id,
            "sender": sms.sender,
            "body": sms.body,
            "to": sms.to,
            "line": sms.line,
            "received_at": (sms.received_at or arrived_at).isoformat(),
            "payload": {str(k): _plain(v) for k, v in sms.payload.items()},
        },
    }


def sms_of(record: dict[str, Any]) -> tuple[InboundSms, str]:
    """The SMS and its gateway's kind, as the webhook had them."""
    try:
        fields, kind = record["sms"], str(record["kind"])
        return (
            InboundSms(
                gateway=str(fields["gateway"]),
                gateway_id=str(fields["gateway_id"]),
                sender=str(fields["sender"]),
                body=str(fields["body"]),
                to=str(fields.get("to") or ""),
                line=fields.get("line"),
                received_at=datetime.fromisoformat(fields["received_at"]),
                payload=dict(fields.get("payload") or {}),
            ),
            kind,
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise RecordInvalid(f"not a spooled SMS: {type(exc).__name__}: {exc}") from None


def voice_record(message: VoiceMessage) -> dict[str, Any]:
    return {
        "v": VERSION,
        "type": "voice_message",
        "provider": message.provider,
        "call_id": message.call_id,
        "caller": message.caller,
        "called": message.called,
        "recording_url": message.recording_url,
        "seconds": message.seconds,
        "outcome": message.outcome,
        "arrived_at": message.arrived_at.isoformat(),
    }


def voice_of(record: dict[str, Any]) -> VoiceMessage:
    try:
        seconds = record.get("seconds")
        return VoiceMessage(
            provider=str(record["provider"]),
            call_id=str(record["call_id"]),
            caller=str(record["caller"]),
            called=str(record.get("called") or ""),
            recording_url=str(record["recording_url"]) if record.get("recording_url") else None,
            seconds=float(seconds) if seconds is not None else None,
            arrived_at=datetime.fromisoformat(record["arrived_at"]),
            outcome=str(record.get("outcome") or "recorded"),
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise RecordInvalid(f"not a spooled voice message: {type(exc).__name__}: {exc}") from None


def _plain(value: object) -> object:
    """JSON can hold it as it is, or as its text."""
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return str(value)
