"""Taking a waiting call out of the operator queue and putting it through to one operator.

The transport is the call's voice gateway (hotline/channels/voice.py `VoiceGateway.take_over`: Twilio updates
the live call with new TwiML, Asterisk rings the operator into the Stasis app), as
hotline/channels/voice_gateways.py builds it from settings. `take_call` is the use case the console calls."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from hotline.channels import voice_gateways
from hotline.channels.voice import TakeoverError
from hotline.cityconfig import CityConfig
from hotline.features.accounts.audit import audit
from hotline.features.calls.calls import continue_call
from hotline.features.tickets.ticket_actions import Actor
from hotline.ivr import actions as a
from hotline.models import Call, CallRecordStatus, utcnow

__all__ = ["TakeoverError", "take_call"]


def take_call(session: Session, *, config: CityConfig, actor: Actor, call_id: int, answer_at: str) -> Call:
    """Put the queued call through to the operator and mark it as theirs; two operators cannot both have it."""
    answer_at = answer_at.strip()
    if not answer_at:
        raise TakeoverError(
            "set where you answer calls (a phone number, client:NAME or sip:URI) first", code="answer_at_missing"
        )
    call = session.scalar(select(Call).where(Call.id == call_id).with_for_update())
    if call is None or call.status != CallRecordStatus.QUEUED:
        raise TakeoverError(
            "this call is no longer waiting (taken by someone else, or the caller hung up)", code="call_gone"
        )
    gateway = voice_gateways.gateway_for(call.provider)
    if gateway is None:
        raise TakeoverError(
            f"taking {call.provider} calls from the console is not available yet",
            code="takeover_unavailable",
            provider=call.provider,
        )
    # Claim the row before the slow transport call: SQLite takes its write lock only at the first write.
    call.updated_at = utcnow()
    session.flush()
    gateway.take_over(provider_call_id=call.provider_call_id, answer_at=answer_at)
    continue_call(
        session,
        provider=call.provider,
        provider_call_id=call.provider_call_id,
        event=a.QueueLeft(answered=True),
        config=config,
    )
    audit(
        session,
        actor=actor.name,
        action="call.take",
        target_type="call",
        target_id=call.id,
        ip=actor.ip,
        answer_at=answer_at,
    )
    return call
