"""SARAN 12 <advice>: a field officer (PPL) answers a farm report with advice by SMS. The farmer gets it, the
timeline keeps it, and on a ticket nobody accepted yet it counts as the response (TERIMA): the PPL's job on
most reports is advice, not a visit, and the scorecard measures the time to it."""

from __future__ import annotations

import string
from typing import TYPE_CHECKING

from hotline.core.outbox import queue_sms
from hotline.core.wording import status_words
from hotline.features.tickets.tickets import record, transition
from hotline.models import Member, OutboundPurpose, Ticket, TicketStatus

if TYPE_CHECKING:
    from hotline.features.sms.sms_sender import Sender

ADVISABLE = (TicketStatus.ROUTED, TicketStatus.ACCEPTED, TicketStatus.ON_SITE)


def handle(sender: Sender, *, ticket: Ticket, member: Member, advice: str) -> tuple[str, int | None]:
    session, config = sender.session, sender.config
    rules = config.farming
    if not advice.strip() or not rules.advice_text:
        sender.reply("missing_number", command="SARAN")
        return "advice_empty", ticket.id
    if ticket.status not in ADVISABLE:
        sender.reply(
            "bad_transition",
            ticket_id=ticket.id,
            number=ticket.id,
            command="SARAN",
            status=status_words(config, ticket.status, sender.language),
        )
        return "bad_transition", ticket.id
    actor = f"member:{member.id}"
    if ticket.status == TicketStatus.ROUTED:
        transition(session, ticket=ticket, target=TicketStatus.ACCEPTED, actor=actor, note=advice, member=member)
    # a note in the timeline ("... added a note"), marked as the advice the farmer was sent
    record(session, ticket, "note", actor=actor, note=advice, member=member.phone, advice=True)
    fields = {"number": ticket.id, "name": member.name, "advice": advice}
    if ticket.reporter_phone.startswith("+"):  # an alphanumeric sender id cannot receive SMS
        body = string.Formatter().vformat(rules.advice_text, (), fields)
        queue_sms(
            session,
            to=ticket.reporter_phone,
            body=body,
            purpose=OutboundPurpose.ADVICE,
            ticket_id=ticket.id,
            inbound_id=sender.inbound_id,
        )
    body = string.Formatter().vformat(rules.advice_sent_text, (), fields)
    queue_sms(
        session,
        to=sender.phone,
        body=body,
        purpose=OutboundPurpose.REPLY,
        ticket_id=ticket.id,
        inbound_id=sender.inbound_id,
    )
    return "urc_advice", ticket.id
