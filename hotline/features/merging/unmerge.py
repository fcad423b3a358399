"""Taking a report back out of a merged ticket: an operator splits a wrong merge, or a reporter sends BATAL
for a ticket others reported too (only their report leaves; the ticket stays open for the rest).

The ticket's priority is not lowered by either: the team may already be on its way at that priority, and
an operator who disagrees reassigns or edits the ticket."""

from __future__ import annotations

from sqlalchemy.orm import Session

from hotline.cityconfig import CityConfig
from hotline.core.outbox import queue_sms
from hotline.core.wording import say, ticket_fields
from hotline.features.accounts.audit import audit
from hotline.features.merging.merging import count_reporters
from hotline.features.merging.reporters import Recipient, linked, linked_row, textable
from hotline.features.tickets.ticket_actions import ActionError, Actor
from hotline.features.tickets.tickets import OPEN_STATUSES, open_ticket, record, route_ticket
from hotline.models import (
    Call,
    InboundMessage,
    OutboundPurpose,
    ReporterStatus,
    Ticket,
    TicketReporter,
    TicketStatus,
    utcnow,
)


def split_reporter(session: Session, *, config: CityConfig, actor: Actor, ticket: Ticket, reporter_id: int) -> Ticket:
    """Turn a linked report into its own ticket, routed and alerted like any new report; its reporter is told
    the new number. Timeline events on both tickets, and an audit row."""
    if not actor.principal.can_supervise:
        raise PermissionError(f"{actor.principal.role} may not split reports (a supervisor does)")
    row = session.get(TicketReporter, reporter_id, with_for_update=True)
    if row is None or row.ticket_id != ticket.id:
        raise ActionError("no_linked_reporter", number=ticket.id, reporter=reporter_id)
    if row.status != ReporterStatus.LINKED:
        raise ActionError("reporter_already", reporter=reporter_id, number=ticket.id, status=row.status)
    new = open_ticket(
        session,
        config=config,
        channel=row.channel,
        reporter=row.phone,
        text=row.text or f"(laporan dipisah dari #{ticket.id})",  # a call without words: never the others' words
        language=row.language,
        category=ticket.category,
        urgent=row.urgent,
        location=row.location_text,
        desa=row.desa,
        kecamatan=row.kecamatan,
        latitude=row.latitude,
        longitude=row.longitude,
    )
    if new.status == TicketStatus.AWAITING_CATEGORY:  # the ticket had no category: the command center sorts it
        route_ticket(session, config=config, ticket=new)
    now = utcnow()
    row.status, row.ended_at, row.split_into_ticket_id = ReporterStatus.SPLIT, now, new.id
    ticket.reporter_count, ticket.updated_at = count_reporters(session, ticket.id), now
    # The report's SMS and call now belong to the new ticket's history.
    if row.inbound_id is not None and (message := session.get(InboundMessage, row.inbound_id)) is not None:
        message.ticket_id = new.id
    if row.call_id is not None and (call := session.get(Call, row.call_id)) is not None and call.ticket_id == ticket.id:
        call.ticket_id = new.id
    record(
        session,
        ticket,
        "reporter_split",
        actor=actor.name,
        reporter_id=row.id,
        phone=row.phone,
        new_ticket=new.id,
        reporters=ticket.reporter_count,
    )
    record(session, new, "split_from", actor=actor.name, from_ticket=ticket.id, reporter_id=row.id, rule=row.rule)
    for recipient in textable([Recipient(row.phone, row.language)], session):
        fields = ticket_fields(session, config, new, recipient.language)
        body = say(config, "report_split", recipient.language, **fields)
        queue_sms(session, to=recipient.phone, body=body, purpose=OutboundPurpose.REPLY, ticket_id=new.id)
    audit(
        session,
        actor=actor.name,
        action="ticket.split",
        target_type="ticket",
        target_id=ticket.id,
        ip=actor.ip,
        reporter_id=row.id,
        new_ticket=new.id,
    )
    return new


def withdraw(session: Session, *, ticket: Ticket, phone: str) -> bool:
    """The reporter `phone` cancels their own report of a ticket others reported too. False when they are its
    only reporter (the caller cancels the whole ticket then). The first reporter withdrawing hands the ticket
    to the earliest linked one, who gets the updates from then on."""
    if ticket.status not in OPEN_STATUSES or ticket.reporter_count <= 1:
        return False
    now = utcnow()
    row = linked_row(session, ticket_id=ticket.id, phone=phone)
    promoted: TicketReporter | None = None
    if row is not None:
        row.status, row.ended_at = ReporterStatus.WITHDRAWN, now
    elif ticket.reporter_phone == phone:
        rows = [r for r in linked(session, ticket.id) if r.phone != phone]
        if not rows:
            return False
        promoted = rows[0]
        promoted.status, promoted.ended_at = ReporterStatus.PRIMARY, now
        ticket.reporter_phone, ticket.language = promoted.phone, promoted.language
    else:
        return False
    session.flush()
    ticket.reporter_count, ticket.updated_at = count_reporters(session, ticket.id), now
    record(
        session,
        ticket,
        "reporter_withdrawn",
        actor=phone,
        phone=phone,
        promoted=promoted.phone if promoted else None,
        reporters=ticket.reporter_count,
    )
    return True
