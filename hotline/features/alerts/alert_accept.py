"""A URC member accepting a ticket by pressing 1 in the voice alert (the alert flow's `accept_ticket` node).

It is the member's TERIMA: it goes through the same URC command service as the SMS
(hotline/features/sms/urc_commands.py), so state, timeline, the reporter's notice and the end of escalation and
failover are exactly those of `TERIMA <n>` sent by SMS; only the event's note says how it came."""

from __future__ import annotations

from sqlalchemy.orm import Session

from hotline.cityconfig import CityConfig
from hotline.cityconfig.model import LANGUAGES
from hotline.features.sms import urc_commands
from hotline.features.sms.sms_intake import members_by_phone
from hotline.features.sms.sms_sender import Sender
from hotline.ivr import actions as a
from hotline.models import Ticket
from hotline.sms.grammar import ParsedSms

VOICE_NOTE = "lewat panggilan suara (tekan 1)"  # on the 'accepted' event: how the member answered


def accept_by_phone(session: Session, *, config: CityConfig, phone: str, ticket_id: int) -> a.AcceptAnswered:
    """`phone` accepts ticket `ticket_id`: accepted (now, or by this phone before), closed (no longer waiting
    for a team), or refused (no member of the ticket's team)."""
    ticket = session.get(Ticket, ticket_id)
    if ticket is None:
        return a.AcceptAnswered("closed", "cancelled")
    members = members_by_phone(session, phone)
    if ticket.accepted_by_member_id is not None and ticket.accepted_by_member_id in {m.id for m in members}:
        return a.AcceptAnswered("accepted", ticket.status)  # a repeat (the call dropped and rang again)
    if not members:
        return a.AcceptAnswered("refused", ticket.status)
    # As if the member had texted TERIMA: replies go to their phone; there is no inbound SMS to point at.
    sender = Sender(session=session, config=config, phone=phone, inbound_id=None, language=LANGUAGES[0])
    parsed = ParsedSms(
        kind="urc_command",
        language=LANGUAGES[0],
        command="accept",
        command_word="TERIMA",
        ticket_number=ticket.id,
        note=VOICE_NOTE,
    )
    outcome, _ = urc_commands.handle(sender, members=members, parsed=parsed)
    session.refresh(ticket)
    if outcome == "urc_accept":
        return a.AcceptAnswered("accepted", ticket.status)
    if outcome == "bad_transition":
        return a.AcceptAnswered("closed", ticket.status)
    return a.AcceptAnswered("refused", ticket.status)
