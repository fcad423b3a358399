"""TERIMA / TIBA / SELESAI / TOLAK from a registered URC member's phone."""

from __future__ import annotations

from typing import TYPE_CHECKING

from sqlalchemy import select

from hotline.core.outbox import queue_sms
from hotline.core.wording import say, status_words, ticket_fields
from hotline.features.merging.reporters import tell_linked
from hotline.features.sms import confirmations, farm_advice
from hotline.features.tickets.tickets import TransitionError, message_team, record, transition, urc_members
from hotline.models import Agency, Member, OutboundPurpose, Ticket, TicketEvent, TicketStatus, Urc
from hotline.sms.grammar import ParsedSms

if TYPE_CHECKING:
    from hotline.features.sms.sms_sender import Sender

TARGET = {"accept": TicketStatus.ACCEPTED, "on_site": TicketStatus.ON_SITE, "done": TicketStatus.RESOLVED}
MEMBER_REPLY = {"accept": "member_accepted", "on_site": "member_on_site", "done": "member_done"}
CITIZEN_NOTICE = {"accept": "citizen_accepted", "on_site": "citizen_on_site", "done": "citizen_done"}


def handle(sender: Sender, *, members: list[Member], parsed: ParsedSms) -> tuple[str, int | None]:
    session, config = sender.session, sender.config
    if parsed.ticket_number is None:
        sender.reply("missing_number", command=parsed.command_word)
        return "missing_number", None
    ticket = session.get(Ticket, parsed.ticket_number, with_for_update=True)
    if ticket is None:
        sender.reply("ticket_unknown", number=parsed.ticket_number)
        return "ticket_unknown", None
    member = next((m for m in members if m.urc.agency_id == ticket.agency_id), None)
    if member is None:
        agency = session.get(Agency, ticket.agency_id) if ticket.agency_id else None
        sender.reply(
            "not_your_ticket",
            ticket_id=ticket.id,
            number=ticket.id,
            agency=(agency.sms_name or agency.name) if agency else "-",
        )
        return "not_your_ticket", ticket.id
    actor = f"member:{member.id}"
    command = parsed.command or ""
    if command == "decline":
        return _decline(sender, ticket, member, parsed.note)
    if command == "advice":
        return farm_advice.handle(sender, ticket=ticket, member=member, advice=parsed.note)
    try:
        transition(session, ticket=ticket, target=TARGET[command], actor=actor, note=parsed.note, member=member)
    except TransitionError:
        sender.reply(
            "bad_transition",
            ticket_id=ticket.id,
            number=ticket.id,
            command=parsed.command_word,
            status=status_words(config, ticket.status, sender.language),
        )
        return "bad_transition", ticket.id
    sender.reply(MEMBER_REPLY[command], ticket_id=ticket.id, **ticket_fields(session, config, ticket, sender.language))
    asked = command == "done" and confirmations.ask(session, config=config, ticket=ticket, inbound_id=sender.inbound_id)
    if not asked:  # the question carries the "resolved" notice itself
        _tell_reporter(sender, ticket, CITIZEN_NOTICE[command])
    # Everyone else who reported it hears the same news; only the first reporter is asked "is it fixed?".
    tell_linked(session, config=config, ticket=ticket, key=CITIZEN_NOTICE[command], inbound_id=sender.inbound_id)
    if command == "accept":
        message_team(
            session,
            config=config,
            ticket=ticket,
            urc_id=ticket.urc_id or 0,
            key="team_accepted",
            skip_phone=member.phone,
            inbound_id=sender.inbound_id,
            member=member.name,
        )
    return f"urc_{command}", ticket.id


def _tell_reporter(sender: Sender, ticket: Ticket, key: str) -> None:
    if not ticket.reporter_phone.startswith("+"):
        return  # an alphanumeric sender id cannot receive SMS
    fields = ticket_fields(sender.session, sender.config, ticket, ticket.language)
    body = say(sender.config, key, ticket.language, **fields)
    queue_sms(
        sender.session,
        to=ticket.reporter_phone,
        body=body,
        purpose=OutboundPurpose.NOTIFY,
        ticket_id=ticket.id,
        inbound_id=sender.inbound_id,
    )


def _decline(sender: Sender, ticket: Ticket, member: Member, note: str) -> tuple[str, int | None]:
    session, config = sender.session, sender.config
    if ticket.status != TicketStatus.ROUTED:
        sender.reply(
            "bad_transition",
            ticket_id=ticket.id,
            number=ticket.id,
            command="TOLAK",
            status=status_words(config, ticket.status, sender.language),
        )
        return "bad_transition", ticket.id
    record(session, ticket, "declined", actor=f"member:{member.id}", note=note, member=member.phone)
    session.flush()
    sender.reply("member_declined", ticket_id=ticket.id, **ticket_fields(session, config, ticket, sender.language))
    team = {m.phone for m in urc_members(session, ticket.urc_id)} if ticket.urc_id else set()
    events = session.scalars(select(TicketEvent).where(TicketEvent.ticket_id == ticket.id)).all()
    declined = {e.data.get("member") for e in events if e.kind == "declined"}
    already_raised = any(e.kind == "all_declined" for e in events)
    if team and team <= declined and not already_raised:
        _raise_to_command_center(sender, ticket)
    return "urc_decline", ticket.id


def _raise_to_command_center(sender: Sender, ticket: Ticket) -> None:
    session, config = sender.session, sender.config
    default = session.scalar(select(Agency).where(Agency.is_default))
    urc = session.get(Urc, ticket.urc_id) if ticket.urc_id else None
    record(session, ticket, "all_declined", agency=default.code if default else None)
    for desk in default.urcs if default else []:
        message_team(
            session,
            config=config,
            ticket=ticket,
            urc_id=desk.id,
            key="all_declined",
            purpose=OutboundPurpose.ALERT,
            inbound_id=sender.inbound_id,
            urc=urc.name if urc else "-",
        )
