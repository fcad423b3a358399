"""`hotline simulate call`: a call through the real call service and database, without a phone provider.

Each turn is one unit of work, as a webhook would be. SMS (the citizen's, the URC alerts) stay in the
outbox marked 'simulated': nothing is sent. The terminal itself is hotline/channels/console/.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field

from hotline.cityconfig import CityConfig
from hotline.core import dispatch
from hotline.db import unit_of_work
from hotline.features.calls.calls import begin_call, call_log, continue_call, find_call
from hotline.ivr import actions as a
from hotline.ivr.flow import ReadNumberNode
from hotline.ivr.turn import Turn
from hotline.models import Call, Ticket
from hotline.simulate import SimulatedSms, simulated_messages, ticket_summary

PROVIDER = "console"


@dataclass
class CallSummary:
    status: str
    outcome: str | None
    stopped_at: str | None
    path: list[str]  # 'node' entered, or 'node: input'
    ticket: dict[str, object] | None  # the ticket this call opened or added to
    recording: str | None  # its transcript: what was typed at the recording
    open_ticket: int | None  # the caller's earlier ticket, whose status was read out


@dataclass
class SimulatedCall:
    """A `CallLine` (hotline/channels/console/terminal.py) on the real services; collects the SMS it caused."""

    config: CityConfig
    caller: str
    language: str | None = None
    call_id: str = field(default_factory=lambda: f"SIM{uuid.uuid4().hex}")
    messages: list[SimulatedSms] = field(default_factory=list)

    def start(self) -> Turn:
        with unit_of_work() as session:
            dispatch.use(session, dispatch.QUIET)  # keep the rows, send nothing
            _, turn = begin_call(
                session,
                provider=PROVIDER,
                provider_call_id=self.call_id,
                caller=self.caller,
                called="console",
                config=self.config,
                language=self.language,
            )
            self.messages += simulated_messages(session)
        return turn

    def send(self, event: a.Event, *, transcript: str | None = None) -> Turn:
        with unit_of_work() as session:
            dispatch.use(session, dispatch.QUIET)  # keep the rows, send nothing
            turn = continue_call(
                session,
                provider=PROVIDER,
                provider_call_id=self.call_id,
                event=event,
                config=self.config,
                transcript=transcript,
            )
            self.messages += simulated_messages(session)
        return turn

    def summary(self) -> CallSummary:
        with unit_of_work() as session:
            call = find_call(session, provider=PROVIDER, provider_call_id=self.call_id)
            assert isinstance(call, Call)
            path = [f"{e.node}: {e.input}" if e.input else e.node for e in call_log(session, call_id=call.id)]
            ticket = session.get(Ticket, call.ticket_id) if call.ticket_id else None
            summary = None
            if ticket is not None:
                summary = {**ticket_summary(ticket), "partial": ticket.partial, "partial_node": ticket.partial_node}
            # The caller's open ticket is known from the start, but only heard where a node read it out.
            flow = self.config.ivr_flows.get(call.flow_id)
            readers = {
                n.id
                for n in (flow.nodes.values() if flow else ())
                if isinstance(n, ReadNumberNode) and n.field == "open_ticket_number"
            }
            visited = {e.node for e in call_log(session, call_id=call.id)}
            heard = call.state.get("fields", {}).get("open_ticket_number") if readers & visited else None
            return CallSummary(
                call.status,
                call.outcome,
                call.stopped_at,
                path,
                summary,
                call.recording_transcript,
                int(heard) if heard else None,
            )
