"""Taking a waiting call out of the operator queue and putting it through to one operator.

Each transport implements `CallTakeover` and registers it under its provider name: Twilio here (a REST
update of the live call with new TwiML), Asterisk in the ARI app (bridge the channel with the operator's
endpoint) with `register_takeover("asterisk", ...)`. `take_call` is the use case the console calls."""

from __future__ import annotations

from typing import Any, Protocol

from sqlalchemy import select
from sqlalchemy.orm import Session

from hotline.cityconfig import CityConfig
from hotline.ivr import actions as a
from hotline.models import Call, utcnow
from hotline.services.audit import audit
from hotline.services.calls import continue_call
from hotline.services.ticket_actions import Actor
from hotline.settings import get_settings


class TakeoverError(RuntimeError):
    """The call could not be put through (gone, taken already, transport not able); the message says which.
    `code` names the console's sentence for it (hotline/catalog, `error`); a transport's own words go in as
    `detail` of the catch-all `takeover_failed`."""

    def __init__(self, message: str, *, code: str = "takeover_failed", **params: Any):
        self.code, self.params = code, {"detail": message, **params}
        super().__init__(message)


class CallTakeover(Protocol):
    def take(self, *, provider_call_id: str, answer_at: str) -> None:
        """Connect the waiting call to `answer_at` (+62..., client:NAME, sip:URI); raise TakeoverError if not."""


_takeovers: dict[str, CallTakeover] = {}


def register_takeover(provider: str, takeover: CallTakeover) -> None:
    _takeovers[provider] = takeover


def takeover_for(provider: str) -> CallTakeover | None:
    if provider == "twilio" and "twilio" not in _takeovers:
        settings = get_settings()
        if settings.twilio_account_sid and settings.twilio_auth_token:
            from hotline.channels.twilio.call_update import TwilioTakeover

            _takeovers["twilio"] = TwilioTakeover(
                account_sid=settings.twilio_account_sid,
                auth_token=settings.twilio_auth_token,
                api_base=settings.twilio_api_base,
            )
    return _takeovers.get(provider)


def take_call(session: Session, *, config: CityConfig, actor: Actor, call_id: int, answer_at: str) -> Call:
    """Put the queued call through to the operator and mark it as theirs; two operators cannot both have it."""
    answer_at = answer_at.strip()
    if not answer_at:
        raise TakeoverError(
            "set where you answer calls (a phone number, client:NAME or sip:URI) first", code="answer_at_missing"
        )
    call = session.scalar(select(Call).where(Call.id == call_id).with_for_update())
    if call is None or call.status != "queued":
        raise TakeoverError(
            "this call is no longer waiting (taken by someone else, or the caller hung up)", code="call_gone"
        )
    takeover = takeover_for(call.provider)
    if takeover is None:
        raise TakeoverError(
            f"taking {call.provider} calls from the console is not available yet",
            code="takeover_unavailable",
            provider=call.provider,
        )
    # Claim the row before the slow transport call: SQLite takes its write lock only at the first write.
    call.updated_at = utcnow()
    session.flush()
    takeover.take(provider_call_id=call.provider_call_id, answer_at=answer_at)
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
