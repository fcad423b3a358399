"""Phone calls, whatever the transport: start one, feed it the caller's events, keep its state and path.

A transport (Twilio webhooks, the ARI app, the terminal) translates what happened into an event of
hotline/ivr/actions.py, calls `begin_call` / `continue_call` inside one unit of work per turn, and
renders `Turn.media`. It never touches the database itself. Tickets, SMS and URC alerts happen in the
same transaction (hotline/features/calls/call_tickets.py); SMS leave through the outbox after commit.

Both are idempotent where providers repeat themselves: the call is unique per (provider, provider
call id), a repeated `begin_call` answers with the stored last turn without stepping again, and events
after the call ended change nothing and return no media.
"""

from __future__ import annotations

import logging
from dataclasses import replace
from typing import Any

from sqlalchemy import bindparam, insert, select
from sqlalchemy import event as sa_event
from sqlalchemy.orm import Session

from hotline.cityconfig import CityConfig
from hotline.db import dialect_insert
from hotline.features.calls.call_flows import default_flow, registry
from hotline.features.calls.call_tickets import CallTickets, attach_recording
from hotline.features.farming import farm_reports
from hotline.features.shield import shield
from hotline.features.tickets.tickets import CLOSED_STATUSES
from hotline.ivr import actions as a
from hotline.ivr.engine import start
from hotline.ivr.flow import Flow
from hotline.ivr.media_json import media_from_json, media_to_json
from hotline.ivr.state import CallState
from hotline.ivr.turn import Turn, run_turn
from hotline.models import Call, CallEvent, CallRecordStatus, Ticket, utcnow
from hotline.phone import to_e164
from hotline.settings import get_settings

log = logging.getLogger(__name__)
PROVIDERS = ("twilio", "asterisk", "console")


class UnknownCall(LookupError):
    """An event for a call that was never begun (or belongs to another provider)."""

    def __init__(self, provider: str, provider_call_id: str):
        self.provider, self.provider_call_id = provider, provider_call_id
        super().__init__(f"no {provider} call {provider_call_id!r}")


def begin_call(
    session: Session,
    *,
    provider: str,
    provider_call_id: str,
    caller: str,
    called: str,
    config: CityConfig,
    language: str | None = None,
) -> tuple[Call, Turn]:
    """A call came in: pin the default flow, tell it about the caller's open ticket, run `Start`.

    `caller` may be written any way (0812..., 62812..., +62812...) or be no number at all
    ('anonymous'). `language` starts the call in another of the flow's languages than its first
    (e.g. a number the city publishes for English speakers). A repeat for a known call returns the
    stored call and its last turn, stepping nothing."""
    if provider not in PROVIDERS:
        raise ValueError(f"unknown call provider {provider!r}; one of {', '.join(PROVIDERS)}")
    known = find_call(session, provider=provider, provider_call_id=provider_call_id)
    if known is not None:
        return known, replay(known)
    flow = default_flow(config)
    state = start(flow)
    if language is not None:
        if language not in flow.languages:
            raise ValueError(f"flow {flow.id} speaks {', '.join(flow.languages)}, not {language!r}")
        state = replace(state, language=language)
    number = to_e164(caller, get_settings().default_region)
    row_id = _insert_unless_known(
        session,
        provider=provider,
        provider_call_id=provider_call_id,
        # A raw id (a SIP URI, 'client:alice') is no number we can text: cut to fit the column.
        caller=number or (caller or "").strip()[:32] or "unknown",
        called=(called or "")[:64],
        flow_id=flow.id,
        flow_version=flow.version,
        state=state.to_dict(),
        last_media=[],
        status=call_status(state),
    )
    if row_id is None:  # the same webhook, twice at once: the other one made the call
        known = find_call(session, provider=provider, provider_call_id=provider_call_id)
        assert known is not None
        return known, replay(known)
    call = session.get(Call, row_id)
    assert call is not None
    # Withheld numbers share one "caller": never read them someone else's ticket.
    ticket = latest_open_ticket(session, phone=number) if number else None
    opened = a.OpenTicket(ticket.id, ticket.status, ticket.category) if ticket else None
    screened = shield.screen_call(
        session, config=config, phone=number, call_id=call.id, open_ticket=ticket.id if ticket else None
    )
    start_event = a.Start(
        caller=call.caller,
        open_ticket=opened,
        called=call.called,
        call_id=provider_call_id,
        screening=screened.screening,
        verify_by=screened.verify_by,
        recent_silent_calls=screened.recent_silent_calls,
        # a registered farmer's flow may offer the farm report first (its desa comes from the registry)
        farmer=bool(number and config.farming.enabled and farm_reports.farmer_by_phone(session, number)),
    )
    return call, _run(session, call, flow, state, start_event, config=config, transcripts={})


def begin_outbound_call(
    session: Session,
    *,
    provider: str,
    provider_call_id: str,
    to: str,
    flow: Flow,
    about: a.OpenTicket,
    config: CityConfig,
) -> tuple[Call, Turn]:
    """A call we placed was answered: run `flow` (e.g. the URC voice alert) for the person at `to` (E.164),
    about ticket `about` (the flow reads it as the open ticket). The row's caller is the person called; no
    screening (they did not call us). A repeat returns the stored call and its last turn, as `begin_call`."""
    if provider not in PROVIDERS:
        raise ValueError(f"unknown call provider {provider!r}; one of {', '.join(PROVIDERS)}")
    known = find_call(session, provider=provider, provider_call_id=provider_call_id)
    if known is not None:
        return known, replay(known)
    state = start(flow)
    row_id = _insert_unless_known(
        session,
        provider=provider,
        provider_call_id=provider_call_id,
        caller=to[:32],
        called="",
        flow_id=flow.id,
        flow_version=flow.version,
        state=state.to_dict(),
        last_media=[],
        status=call_status(state),
    )
    if row_id is None:
        known = find_call(session, provider=provider, provider_call_id=provider_call_id)
        assert known is not None
        return known, replay(known)
    call = session.get(Call, row_id)
    assert call is not None
    event = a.Start(caller=to, open_ticket=about, call_id=provider_call_id)
    return call, _run(session, call, flow, state, event, config=config, transcripts={})


def continue_call(
    session: Session,
    *,
    provider: str,
    provider_call_id: str,
    event: a.Event,
    config: CityConfig,
    transcript: str | None = None,
    turn: int | None = None,
) -> Turn:
    """Feed the call one event (digits, silence, a recording, the queue's answer, a hang-up).

    `turn`: the turn number the event answers (`turn_number` of the turn that asked for it), when the
    transport knows it. An event for a turn the call has already left (a provider's duplicate or late
    webhook) steps nothing and gets the last turn again (`replay`).

    `transcript`: the words of a `Recorded` event when the transport knows them (the terminal); they
    become the ticket's text. Raises `UnknownCall` for a call never begun, and the engine's `EngineError`
    for an event that does not fit where the call is (digits while it is queued). After the call ended:
    nothing changes (except that a hang-up after an operator took the call completes it) and the turn
    has no media."""
    call = find_call(session, provider=provider, provider_call_id=provider_call_id)
    if call is None:
        raise UnknownCall(provider, provider_call_id)
    state = CallState.from_dict(call.state)
    if state.ended:
        if isinstance(event, a.HangUp) and call.status == CallRecordStatus.WITH_OPERATOR:
            call.status, call.ended_at = CallRecordStatus.COMPLETED, utcnow()
        return Turn(state, (), ())
    if turn is not None and turn != turn_number(state):
        log.info(
            "call %s: event %s for turn %s, the call is at turn %s: replayed", call.id, event, turn, turn_number(state)
        )
        return replay(call)
    flow = registry(config).pinned(state)
    transcripts = {}
    if call.recording_url and call.recording_transcript:
        transcripts[call.recording_url] = call.recording_transcript
    if isinstance(event, a.Recorded) and transcript:
        transcripts[event.recording_url] = transcript
    return _run(session, call, flow, state, event, config=config, transcripts=transcripts)


def recording_ready(
    session: Session, *, provider: str, provider_call_id: str, recording_url: str, seconds: float | None
) -> bool:
    """The provider says a recording of the call is final (Twilio's recording status callback).

    The engine normally has it already (the Record action brought it, and the ticket with it). This is the
    safety net for when it has not: the caller hung up before the action arrived, or the action was lost.
    A call without a recording keeps this one, and the call's ticket gets it unless it has it already.
    Idempotent. True when something changed; raises `UnknownCall`."""
    call = find_call(session, provider=provider, provider_call_id=provider_call_id)
    if call is None:
        raise UnknownCall(provider, provider_call_id)
    changed = False
    if call.recording_url is None:
        call.recording_url, call.recording_seconds = recording_url, seconds
        changed = True
    if call.recording_url == recording_url and call.ticket_id is not None:
        ticket = session.get(Ticket, call.ticket_id, with_for_update=True)
        if ticket is not None:
            changed = attach_recording(session, ticket=ticket, call=call, url=recording_url, seconds=seconds) or changed
    return changed


def _insert_unless_known(session: Session, **values: Any) -> int | None:
    """Insert the call unless its provider id is known (a concurrent twin). The new id, or None."""
    now = utcnow()
    stmt = (
        dialect_insert(session.connection().dialect.name, Call)
        .values(**values, started_at=now, updated_at=now)
        .on_conflict_do_nothing(index_elements=["provider", "provider_call_id"])
        .returning(Call.id)
    )
    return session.execute(stmt).scalar()


# Built once: every turn runs it, and a statement object keeps its SQL cache key (building one costs more).
_FIND_CALL = (
    select(Call)
    .where(Call.provider == bindparam("provider"), Call.provider_call_id == bindparam("provider_call_id"))
    .with_for_update()
)


def find_call(session: Session, *, provider: str, provider_call_id: str) -> Call | None:
    """The call, locked for this transaction: a provider's webhooks for one call are handled one at a time."""
    return session.scalar(_FIND_CALL, {"provider": provider, "provider_call_id": provider_call_id})


def call_log(session: Session, *, call_id: int) -> list[CallEvent]:
    """The path the call took, in order: each node entered, and what the caller did at it."""
    return list(session.scalars(select(CallEvent).where(CallEvent.call_id == call_id).order_by(CallEvent.seq)))


def latest_open_ticket(session: Session, *, phone: str) -> Ticket | None:
    stmt = (
        select(Ticket)
        .where(Ticket.reporter_phone == phone, Ticket.status.not_in(CLOSED_STATUSES))
        .order_by(Ticket.id.desc())
        .limit(1)
    )
    return session.scalar(stmt)


def call_status(state: CallState) -> CallRecordStatus:
    """ringing | in-progress | queued (waiting for an operator) | with-operator | completed."""
    if state.phase == "new":
        return CallRecordStatus.RINGING
    if state.phase == "queue":
        return CallRecordStatus.QUEUED
    if state.phase == "ended":
        return CallRecordStatus.WITH_OPERATOR if state.outcome == "operator" else CallRecordStatus.COMPLETED
    return CallRecordStatus.IN_PROGRESS


def turn_number(state: CallState) -> int:
    """Which turn the call is at: every event the engine takes adds at least one step to the path."""
    return len(state.path)


def replay(call: Call) -> Turn:
    """The call's last turn again (its media only: nothing new was asked of the services)."""
    return Turn(CallState.from_dict(call.state), media_from_json(call.last_media), ())


def _run(
    session: Session,
    call: Call,
    flow: Flow,
    state: CallState,
    event: a.Event,
    *,
    config: CityConfig,
    transcripts: dict[str, str],
) -> Turn:
    services = CallTickets(session, config=config, flow=flow, call=call, transcripts=transcripts)
    turn = run_turn(flow, state, event, _TurnServices(services, session, call))
    _save(session, call, before=state, turn=turn, transcripts=transcripts)
    return turn


class _TurnServices:
    """The turn's `CallServices`; before the first service action, two things only those turns need.

    The call row is written first: SQLite (pysqlite) opens the transaction only at the first write, and a
    savepoint taken before it (call_tickets.py takes them) would commit on release, surviving a rollback of the
    turn. And what the services load or add is kept alive until the turn ends: the session's identity map holds
    objects weakly, so the ticket the turn opened (and its agency) would be read again by `send_sms`."""

    def __init__(self, services: CallTickets, session: Session, call: Call) -> None:
        self._services, self._session, self._call = services, session, call
        self._kept: list[object] | None = None

    def __getattr__(self, name: str) -> Any:
        if self._kept is None:
            kept: list[object] = []
            self._kept = kept
            sa_event.listen(self._session, "loaded_as_persistent", lambda _session, obj: kept.append(obj))
            sa_event.listen(self._session, "pending_to_persistent", lambda _session, obj: kept.append(obj))
            self._call.updated_at = utcnow()
            self._session.flush()
        return getattr(self._services, name)


def _save(session: Session, call: Call, *, before: CallState, turn: Turn, transcripts: dict[str, str]) -> None:
    after = turn.state
    steps = [
        {"call_id": call.id, "seq": seq, "at": utcnow(), "node": step.node, "input": step.input}
        for seq, step in enumerate(after.path[len(before.path) :], start=len(before.path))
    ]
    if steps:  # one executemany, no ids read back: nothing in the turn needs them
        session.execute(insert(CallEvent).execution_options(render_nulls=True), steps)
    call.state = after.to_dict()
    call.flow_version = after.flow_version  # moves only when the registry lost the pinned version
    call.last_media = media_to_json(turn.media)
    call.status = call_status(after)
    if call.status == CallRecordStatus.QUEUED:
        queued = next((m for m in reversed(turn.media) if isinstance(m, a.Enqueue)), None)
        if queued is not None:
            call.queue_priority = queued.priority
        # The first time counts: a caller back from giving the place (or from a full wait) keeps their turn.
        call.queued_at = call.queued_at or utcnow()
    call.outcome, call.stopped_at = after.outcome, after.outcome_node
    if call.status == CallRecordStatus.COMPLETED and call.ended_at is None:
        call.ended_at = utcnow()
    call.ticket_id = after.ticket_number or call.ticket_id
    url = after.fields.get("recording_url")
    if url and url != call.recording_url:
        seconds = after.fields.get("recording_seconds")
        call.recording_url, call.recording_seconds = url, float(seconds) if seconds else None
        call.recording_transcript = transcripts.get(url)
