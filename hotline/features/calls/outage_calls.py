"""Calls the database missed: what the fallback of a call during an outage kept (hotline/spool/), made into a
call row and, when the caller left a message, a voice ticket for the command center.

The ticket is uncategorised and routed to the default agency (as an SMS the intake could not understand), with
the recording in its timeline: a person listens and sets the category. Idempotent on the call's provider id:
replayed twice, or for a call the database had begun before it went down, it adds nothing twice.
"""

from __future__ import annotations

import logging
from typing import Any

from sqlalchemy.orm import Session

from hotline.cityconfig import CityConfig
from hotline.db import dialect_insert
from hotline.features.calls.call_tickets import attach_recording
from hotline.features.calls.calls import find_call
from hotline.features.tickets.tickets import open_ticket, record, set_category
from hotline.ivr.state import CallState
from hotline.models import Call, CallRecordStatus, Ticket
from hotline.phone import sender_id
from hotline.settings import get_settings
from hotline.spool.records import VoiceMessage

log = logging.getLogger(__name__)

OUTAGE_NODE = "outage_fallback"  # calls.stopped_at of a call only the fallback answered
# calls.outcome; "dialplan": Asterisk's fallback had the call (desk phones, then a message the dialplan records
# as hotline-fallback-...-<channel id>, the call's provider_call_id; channels/ari/fallback_messages.py keeps it).
OUTCOMES: dict[str, str | None] = {
    "recorded": "completed",
    "dialed": "operator",
    "hung_up": "hung_up",
    "dialplan": None,
}


def keep_voice_message(session: Session, *, config: CityConfig, message: VoiceMessage) -> bool:
    """The call (and its message's ticket) in the database. True when something new was written."""
    call = find_call(session, provider=message.provider, provider_call_id=message.call_id)
    created = False
    if call is None:
        created = _insert_call(session, config=config, message=message)
        call = find_call(session, provider=message.provider, provider_call_id=message.call_id)
        assert call is not None
    if message.recording_url is None:
        return created  # an operator's phone took it, or the caller hung up before the beep: the call row says so
    if call.recording_url is None:
        call.recording_url, call.recording_seconds = message.recording_url, message.seconds
    ticket = session.get(Ticket, call.ticket_id, with_for_update=True) if call.ticket_id else None
    if ticket is not None:  # a call the database had begun: its ticket gets the message
        return attach_recording(session, ticket=ticket, call=call, url=message.recording_url, seconds=message.seconds)
    flow = config.default_flow
    ticket = open_ticket(
        session,
        config=config,
        channel="voice",
        reporter=call.caller,
        text="",
        language=flow.languages[0] if flow else "id",
        category=None,
    )
    record(
        session,
        ticket,
        "outage_message",
        actor=call.caller,
        call=message.call_id,
        arrived_at=message.arrived_at.isoformat(),
    )
    attach_recording(session, ticket=ticket, call=call, url=message.recording_url, seconds=message.seconds)
    call.ticket_id = ticket.id
    set_category(session, config=config, ticket=ticket, category=None, actor="system")
    log.info("voice message of call %s (kept during an outage) is ticket %s", message.call_id, ticket.id)
    return True


def _insert_call(session: Session, *, config: CityConfig, message: VoiceMessage) -> bool:
    flow = config.default_flow
    flow_id, version = (flow.id, flow.version) if flow else ("none", "none")
    caller = sender_id(message.caller, get_settings().default_region)[:32]
    state = CallState(flow_id=flow_id, flow_version=version, phase="ended", caller=caller, node=OUTAGE_NODE)
    values: dict[str, Any] = dict(
        provider=message.provider,
        provider_call_id=message.call_id,
        caller=caller,
        called=message.called[:64],
        flow_id=flow_id,
        flow_version=version,
        state=state.to_dict(),
        last_media=[],
        status=CallRecordStatus.COMPLETED,
        outcome=OUTCOMES.get(message.outcome),
        stopped_at=OUTAGE_NODE,
        started_at=message.arrived_at,
        updated_at=message.arrived_at,
        ended_at=message.arrived_at,
    )
    stmt = (
        dialect_insert(session.connection().dialect.name, Call)
        .values(**values)
        .on_conflict_do_nothing(index_elements=["provider", "provider_call_id"])
        .returning(Call.id)
    )
    return session.execute(stmt).scalar() is not None
