"""The ticket side of a call: the real `CallServices` (hotline/ivr/turn.py) that the engine's service actions
go to. Tickets are opened and routed exactly like SMS reports (hotline/features/tickets/tickets.py), so the URC
alert, the pinned deadlines and the escalation chain are the same; SMS leave through the outbox.

A report the caller did not finish is kept as a *partial* ticket: `Ticket.partial` is set,
`Ticket.partial_node` names the node where the caller stopped, and a `partial` event in the timeline
says where and why (hung_up, operator, flow_ended). When the caller later finishes the report in the
same call, the mark is cleared (`partial_cleared`). A recording becomes a `recording` event (url, seconds).

A finished report that duplicates an open ticket (routing/merging.yaml, hotline/features/merging/merging.py) joins it
as a linked reporter: the call points at that ticket, the caller hears and gets its number, and what the call
adds later goes to their own reporter row, never over the first reporter's place. A partial report is never
merged: the caller has not confirmed what or where, and the operator calls back from its own ticket.
"""

from __future__ import annotations

import logging

from sqlalchemy import select
from sqlalchemy.orm import Session

from hotline.cityconfig import CityConfig
from hotline.core.outbox import queue_sms
from hotline.core.wording import place as crew_place
from hotline.core.wording import say, ticket_fields
from hotline.features.alerts.alert_accept import accept_by_phone
from hotline.features.merging.merging import open_or_merge
from hotline.features.shield import shield
from hotline.features.tickets.place import set_place
from hotline.features.tickets.tickets import most_urgent, record, route_ticket, set_category
from hotline.ivr import actions as a
from hotline.ivr.flow import Flow
from hotline.models import Call, OutboundPurpose, Ticket, TicketEvent, TicketReporter, TicketStatus, Urc, utcnow
from hotline.router import RouteFacts, initial_priority, route

log = logging.getLogger(__name__)

CHANNEL = "voice"


def place(details: a.TicketDetails) -> str | None:
    """'Punten, Kec. Bumiaji': the place as crews read it (a kecamatan alone is still a place)."""
    return crew_place(None, details.desa, details.kecamatan)


class CallTickets:
    """`CallServices` for one turn of one call, inside the turn's unit of work.

    `transcripts` maps a recording url to the words said in it, when the transport knows them (the
    terminal: typed text); they become the ticket's text."""

    def __init__(
        self, session: Session, *, config: CityConfig, flow: Flow, call: Call, transcripts: dict[str, str]
    ) -> None:
        self.session, self.config, self.flow, self.call = session, config, flow, call
        self.transcripts = transcripts

    # --- CallServices --------------------------------------------------------------------------

    def create_ticket(self, action: a.CreateTicket) -> int:
        # A savepoint: if opening fails the engine apologises and goes on, and so must the transaction.
        with self.session.begin_nested():
            ticket = self._open(action)
        return ticket.id

    def update_ticket(self, action: a.UpdateTicket) -> None:
        try:
            with self.session.begin_nested():
                self._update(action)
        except Exception:  # broad: the caller is mid-call; an operator can still read the call's path
            log.exception("call %s: could not update ticket #%s", self.call.provider_call_id, action.number)

    def send_sms(self, action: a.SendSms) -> None:
        if not action.to.startswith("+"):
            log.info("call %s: caller %r has no phone number to text", self.call.provider_call_id, action.to)
            return
        try:
            with self.session.begin_nested():
                ticket = self.session.get(Ticket, action.ticket_number)
                if ticket is None:
                    raise LookupError(f"no ticket #{action.ticket_number}")
                fields = ticket_fields(self.session, self.config, ticket, action.language)
                body = say(self.config, action.template, action.language, **fields)
                queue_sms(self.session, to=action.to, body=body, purpose=OutboundPurpose.REPLY, ticket_id=ticket.id)
        except Exception:  # broad: the caller is mid-call; a reply SMS not queued must not end the call
            log.exception("call %s: SMS %s not queued", self.call.provider_call_id, action.template)

    def screen_call(self, action: a.ScreenCall) -> None:
        phone = action.caller if action.caller.startswith("+") else None
        try:
            with self.session.begin_nested():
                shield.record_silent(
                    self.session, config=self.config, phone=phone, call_id=self.call.id, decision=action.decision
                )
        except Exception:  # broad: the caller hears the goodbye either way; the call's path still says "silence"
            log.exception("call %s: screening %s not logged", self.call.provider_call_id, action.decision)

    def accept_ticket(self, action: a.AcceptTicket) -> a.AcceptAnswered:
        # No savepoint: accepting is the call's one purpose; a failure fails the turn (the transport apologises).
        return accept_by_phone(self.session, config=self.config, phone=action.phone, ticket_id=action.number)

    # --- the work ------------------------------------------------------------------------------

    def _open(self, action: a.CreateTicket) -> Ticket:
        details = action.details
        intake = open_or_merge(
            self.session,
            config=self.config,
            channel=CHANNEL,
            reporter=action.caller,
            text=self._transcript(details) or "",
            language=details.language,
            category=details.category,
            urgent=details.category in self.flow.emergency_categories or action.priority == "critical",
            priority=action.priority,
            location=place(details),
            desa=details.desa,
            kecamatan=details.kecamatan,
            call_id=self.call.id,
            # A caller who hung up (or left for the operator) has not confirmed what or where: their report
            # stays its own partial ticket for the operator to call back, never merged on a guess.
            merge=not action.partial,
            # The caller is waiting on the line for the number: deadlines and the URC alert follow in a job.
            activate=False,
        )
        ticket = intake.ticket
        self.call.ticket_id = ticket.id
        self._note_screening(ticket)
        if intake.merged:  # the caller hears (and gets by SMS) the number of the ticket they joined
            if details.recording_url:
                self._attach_recording(ticket, details)
            return ticket
        if ticket.status == TicketStatus.AWAITING_CATEGORY:
            # An SMS reporter is asked for the category by SMS; a caller cannot be: the command center sorts it.
            route_ticket(self.session, config=self.config, ticket=ticket, activate=False)
        if details.recording_url:
            self._attach_recording(ticket, details)
        if action.partial:
            self._mark_partial(ticket, action.stopped_at, action.reason)
        return ticket

    def _update(self, action: a.UpdateTicket) -> None:
        ticket = self.session.get(Ticket, action.number, with_for_update=True)
        if ticket is None:
            raise LookupError(f"no ticket #{action.number}")
        details = action.details
        merged = self.session.scalar(
            select(TicketReporter).where(TicketReporter.ticket_id == ticket.id, TicketReporter.call_id == self.call.id)
        )
        if merged is not None:  # this call's report joined another's ticket: what it adds is its own
            self._update_merged(ticket, merged, details)
            return
        added: dict[str, str] = {
            name: getattr(details, name)
            for name in ("kecamatan", "desa")
            if getattr(details, name) and getattr(details, name) != getattr(ticket, name)
        }
        if added:  # through the place service: a crew alerted already hears the place at once
            set_place(
                self.session,
                config=self.config,
                ticket=ticket,
                actor=ticket.reporter_phone,
                source="call",
                location=place(details),
                desa=details.desa or ticket.desa,
                kecamatan=details.kecamatan or ticket.kecamatan,
            )
        if details.category and ticket.category is None:
            self._learn_category(ticket, details.category)
            added["category"] = details.category
        if added:
            record(self.session, ticket, "info_added", actor=ticket.reporter_phone, channel=CHANNEL, **added)
        if details.recording_url and details.recording_url not in self._recordings(ticket):
            self._attach_recording(ticket, details)
            transcript = self._transcript(details)
            if transcript:
                ticket.text = f"{ticket.text}\n{transcript}".strip()
        if action.partial:
            if not ticket.partial or ticket.partial_node != action.stopped_at:
                self._mark_partial(ticket, action.stopped_at, reason=None)
        elif ticket.partial:
            ticket.partial, ticket.partial_node = False, None
            record(self.session, ticket, "partial_cleared", actor=ticket.reporter_phone)
        ticket.updated_at = utcnow()

    def _learn_category(self, ticket: Ticket, category: str) -> None:
        """The caller said what happened after the ticket was opened. Waiting for it: routed now. An emergency
        opened before the category (routed to the command center by the default rule): routed afresh to the
        team the category is for (new deadlines, an alert), unless someone already took it."""
        if ticket.status == TicketStatus.AWAITING_CATEGORY:
            actor = ticket.reporter_phone
            set_category(self.session, config=self.config, ticket=ticket, category=category, actor=actor)
            return
        ticket.category = category
        starting = initial_priority(self.config.category(category), ticket.urgent)
        ticket.priority = most_urgent(starting, ticket.priority)  # never less urgent than the emergency key made it
        record(self.session, ticket, "category_set", actor=ticket.reporter_phone, category=category)
        if ticket.status != TicketStatus.ROUTED or ticket.accepted_at is not None:
            return
        facts = RouteFacts(ticket.category, ticket.priority, ticket.kecamatan)
        decision = route(self.config.rules, self.config.agencies, facts)
        urc = self.session.scalar(select(Urc).where(Urc.code == decision.urc))
        if urc is not None and urc.id != ticket.urc_id:
            route_ticket(self.session, config=self.config, ticket=ticket, activate=True)

    def _update_merged(self, ticket: Ticket, row: TicketReporter, details: a.TicketDetails) -> None:
        """Never change the ticket's place from a merged call: the place was the first reporter's."""
        row.desa, row.kecamatan = details.desa or row.desa, details.kecamatan or row.kecamatan
        row.location_text = place(details) or row.location_text
        if details.recording_url and details.recording_url not in self._recordings(ticket):
            self._attach_recording(ticket, details)
            transcript = self._transcript(details)
            if transcript:
                row.text = f"{row.text}\n{transcript}".strip()
        record(self.session, ticket, "info_added", actor=row.phone, channel=CHANNEL, reporter_id=row.id)
        ticket.updated_at = utcnow()

    def _note_screening(self, ticket: Ticket) -> None:
        """The operator reading the ticket sees that its caller was held back by the junk-call shield."""
        held = shield.screening_of_call(self.session, call_id=self.call.id)
        if held is not None:
            record(self.session, ticket, "caller_screened", decision=held.decision, reason=held.reason)

    def _mark_partial(self, ticket: Ticket, node: str | None, reason: str | None) -> None:
        ticket.partial, ticket.partial_node = True, node
        record(
            self.session,
            ticket,
            "partial",
            note=f"call ended at node {node}",
            node=node,
            reason=reason,
            call=self.call.provider_call_id,
        )

    def _attach_recording(self, ticket: Ticket, details: a.TicketDetails) -> None:
        assert details.recording_url is not None
        _record_recording(self.session, ticket, self.call, details.recording_url, details.recording_seconds)

    def _recordings(self, ticket: Ticket) -> set[str]:
        return recordings(self.session, ticket)

    def _transcript(self, details: a.TicketDetails) -> str | None:
        return self.transcripts.get(details.recording_url) if details.recording_url else None


def recordings(session: Session, ticket: Ticket) -> set[str]:
    """The recording urls already attached to the ticket."""
    stmt = select(TicketEvent.data).where(TicketEvent.ticket_id == ticket.id, TicketEvent.kind == "recording")
    return {data.get("url") for data in session.scalars(stmt)}


def attach_recording(session: Session, *, ticket: Ticket, call: Call, url: str, seconds: float | None) -> bool:
    """Attach a recording of `call` to the ticket unless it is there already. True when it was added."""
    if url in recordings(session, ticket):
        return False
    _record_recording(session, ticket, call, url, seconds)
    ticket.updated_at = utcnow()
    return True


def _record_recording(session: Session, ticket: Ticket, call: Call, url: str, seconds: float | None) -> None:
    record(
        session,
        ticket,
        "recording",
        actor=ticket.reporter_phone,
        url=url,
        seconds=seconds,
        call=call.provider_call_id,
    )
