"""STATUS, BATAL, BERHENTI/STOP and MULAI/START from any phone."""

from __future__ import annotations

from typing import TYPE_CHECKING

from sqlalchemy import delete, select

from hotline.core.wording import ticket_fields
from hotline.features.merging import reporters, unmerge
from hotline.features.tickets import cancel_requests
from hotline.features.tickets.tickets import CLOSED_STATUSES, TransitionError, transition
from hotline.models import Member, OptOut, OutboundPurpose, Ticket, TicketStatus, Urc
from hotline.sms.grammar import ParsedSms

if TYPE_CHECKING:
    from hotline.features.sms.sms_sender import Sender


def handle(sender: Sender, *, parsed: ParsedSms) -> tuple[str, int | None]:
    command = parsed.command
    if command == "status":
        return _status(sender, parsed.ticket_number)
    if command == "cancel":
        return _cancel(sender, parsed.ticket_number, parsed.command_word or "BATAL")
    if command == "stop":
        if sender.session.get(OptOut, sender.phone) is None:
            sender.session.add(OptOut(phone=sender.phone))
        sender.reply("opted_out", purpose=OutboundPurpose.OPTOUT_ACK)
        return "opted_out", None
    sender.session.execute(delete(OptOut).where(OptOut.phone == sender.phone))
    sender.reply("opted_in")
    return "opted_in", None


def _may_see(sender: Sender, ticket: Ticket) -> bool:
    """Reporters (the first and the linked ones) see their own tickets; URC members see their agency's."""
    if reporters.is_reporter(sender.session, ticket, sender.phone):
        return True
    stmt = (
        select(Member.id)
        .join(Urc)
        .where(Member.phone == sender.phone, Member.active, Urc.agency_id == ticket.agency_id)
    )
    return sender.session.scalar(stmt.limit(1)) is not None


def _status(sender: Sender, number: int | None) -> tuple[str, int | None]:
    session = sender.session
    if number is None:
        own = session.scalar(
            select(Ticket.id).where(Ticket.reporter_phone == sender.phone).order_by(Ticket.id.desc()).limit(1)
        )
        latest = max((n for n in (own, reporters.latest_linked_ticket_id(session, sender.phone)) if n), default=None)
        ticket = session.get(Ticket, latest) if latest else None
        if ticket is None:
            sender.reply("status_none")
            return "status_none", None
    else:
        ticket = session.get(Ticket, number)
        if ticket is None or not _may_see(sender, ticket):
            sender.reply("not_found", number=number)
            return "not_found", None
    sender.reply("status", ticket_id=ticket.id, **ticket_fields(session, sender.config, ticket, sender.language))
    return "status", ticket.id


def _cancel(sender: Sender, number: int | None, word: str) -> tuple[str, int | None]:
    session, config = sender.session, sender.config
    if number is None:
        sender.reply("missing_number", command=word)
        return "missing_number", None
    ticket = session.get(Ticket, number, with_for_update=True)
    if ticket is None or not reporters.is_reporter(session, ticket, sender.phone):
        sender.reply("not_found", number=number)
        return "not_found", None
    fields = ticket_fields(session, config, ticket, sender.language)
    if ticket.status in CLOSED_STATUSES:
        sender.reply("cancel_refused", ticket_id=ticket.id, **fields)
        return "cancel_refused", ticket.id
    # Others reported it too: only this reporter's report leaves, the ticket stays open for the rest.
    if unmerge.withdraw(session, ticket=ticket, phone=sender.phone):
        sender.reply("report_withdrawn", ticket_id=ticket.id, number=ticket.id)
        return "report_withdrawn", ticket.id
    if cancel_requests.protects_crew(ticket):
        # A crew has it or may be on its way: only an operator stands it down (cancel_requests.py).
        cancel_requests.request(session, config=config, ticket=ticket, phone=sender.phone, inbound_id=sender.inbound_id)
        sender.reply("cancel_passed_on", ticket_id=ticket.id, **fields)
        return "cancel_requested", ticket.id
    try:
        transition(session, ticket=ticket, target=TicketStatus.CANCELLED, actor=sender.phone)
    except TransitionError:
        sender.reply("cancel_refused", ticket_id=ticket.id, **fields)
        return "cancel_refused", ticket.id
    sender.reply("cancelled", ticket_id=ticket.id, **ticket_fields(session, config, ticket, sender.language))
    cancel_requests.stand_down(
        session, config=config, ticket=ticket, key="team_cancelled", inbound_id=sender.inbound_id
    )
    return "cancelled", ticket.id
