"""Closing the loop: after SELESAI the reporter is asked whether it is really fixed. "1" confirms, "2" reopens
the ticket (a fresh finish deadline and chain; a resolve breach on the agency's scorecard).

No table of its own: the state is the ticket's timeline. `confirmation_asked` (or `confirmation_skipped` with
the reason) is written when the team finishes, then `confirmed` or `reopened` when the reporter answers. No
answer: nothing happens, the ticket stays resolved. Only the reporter's latest question can be answered; an
older resolved ticket still waiting simply lapses, as if unanswered.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Literal

from sqlalchemy import select
from sqlalchemy.orm import Session

from hotline.cityconfig import CityConfig
from hotline.core.outbox import is_opted_out, queue_sms
from hotline.core.wording import say, ticket_fields
from hotline.features.merging.reporters import tell_linked
from hotline.features.sms.choices import yes_no
from hotline.features.tickets.tickets import message_team, record, reopen
from hotline.models import OutboundPurpose, Ticket, TicketEvent, TicketStatus, utcnow
from hotline.phone import is_mobile

if TYPE_CHECKING:
    from hotline.features.sms.sms_sender import Sender

YES, NO = 1, 2  # the digits the question offers; filled into `confirm_ask` so the text and the code agree
ANSWERS = frozenset({YES, NO})
# Long enough to cover a weekend (finished on Friday evening, checked on Monday). After it the ticket stays
# resolved and an answer is politely refused: a "2" days later is better handled as a new report.
ANSWER_WINDOW = timedelta(hours=72)
# Until then a bare "1"/"2" from someone we asked is still read as an answer (too late, or repeated), never
# as a new report (a bare "1" would otherwise open a fire ticket: digits are the category menu).
LATE_ANSWER_WINDOW = timedelta(days=30)
ANSWER_KINDS = ("confirmed", "reopened")

AnswerState = Literal["open", "answered", "expired", "none"]


def answer_state(*, asked_at: datetime, answered: bool, ticket_status: str, now: datetime) -> AnswerState:
    """What a bare 1/2 means for the reporter's latest question. Pure.

    open      asked at most ANSWER_WINDOW ago (exactly at the window is still open), not yet answered;
    answered  already answered, or the ticket is no longer resolved (an operator moved it);
    expired   unanswered and the window has passed;
    none      asked more than LATE_ANSWER_WINDOW ago: the digit is not an answer at all."""
    age = now - asked_at
    if age > LATE_ANSWER_WINDOW:
        return "none"
    if answered or ticket_status != TicketStatus.RESOLVED:
        return "answered"
    return "expired" if age > ANSWER_WINDOW else "open"


def reason_not_to_ask(session: Session, ticket: Ticket) -> str | None:
    phone = ticket.reporter_phone
    if not phone.startswith("+"):
        return "no_phone_number"  # an alphanumeric sender id cannot receive SMS
    if ticket.channel != "sms" and not is_mobile(phone):
        return "not_mobile"  # reported by phone (or by an operator) from a landline: no SMS reaches it
    if is_opted_out(session, phone):
        return "opted_out"
    return None


def ask(session: Session, *, config: CityConfig, ticket: Ticket, inbound_id: int | None) -> bool:
    """Send the question (it carries the "resolved" notice too: one SMS, not two). False: not asked, the
    caller sends the plain notice instead."""
    reason = reason_not_to_ask(session, ticket)
    if reason is not None:
        record(session, ticket, "confirmation_skipped", reason=reason)
        return False
    fields = ticket_fields(session, config, ticket, ticket.language)
    body = say(config, "confirm_ask", ticket.language, yes=YES, no=NO, **fields)
    queue_sms(
        session,
        to=ticket.reporter_phone,
        body=body,
        purpose=OutboundPurpose.NOTIFY,
        ticket_id=ticket.id,
        inbound_id=inbound_id,
        choices=yes_no(ticket.language, YES, NO),
    )
    record(session, ticket, "confirmation_asked", window_hours=ANSWER_WINDOW.total_seconds() / 3600)
    return True


def _latest_question(session: Session, phone: str) -> TicketEvent | None:
    stmt = (
        select(TicketEvent)
        .join(Ticket, Ticket.id == TicketEvent.ticket_id)
        .where(Ticket.reporter_phone == phone, TicketEvent.kind == "confirmation_asked")
        .order_by(TicketEvent.id.desc())
        .limit(1)
    )
    return session.scalar(stmt)


def open_question_at(session: Session, *, phone: str) -> datetime | None:
    """When the reporter's latest question was asked, if a 1/2 can still answer it (state "open")."""
    question = _latest_question(session, phone)
    if question is None:
        return None
    ticket = session.get(Ticket, question.ticket_id)
    answered = session.scalar(
        select(TicketEvent.id)
        .where(
            TicketEvent.ticket_id == question.ticket_id,
            TicketEvent.kind.in_(ANSWER_KINDS),
            TicketEvent.id > question.id,
        )
        .limit(1)
    )
    status = ticket.status if ticket is not None else ""
    state = answer_state(asked_at=question.at, answered=answered is not None, ticket_status=status, now=utcnow())
    return question.at if state == "open" else None


def answer(sender: Sender, *, digit: int) -> tuple[str, int | None] | None:
    """The reporter's bare 1/2 applied to their latest question; None when it answers nothing."""
    session, config = sender.session, sender.config
    question = _latest_question(session, sender.phone)
    if question is None:
        return None
    ticket = session.get(Ticket, question.ticket_id, with_for_update=True)
    assert ticket is not None
    # Read after the lock: a second answer racing this one sees the first one's event.
    answered = session.scalar(
        select(TicketEvent.id)
        .where(TicketEvent.ticket_id == ticket.id, TicketEvent.kind.in_(ANSWER_KINDS), TicketEvent.id > question.id)
        .limit(1)
    )
    state = answer_state(asked_at=question.at, answered=answered is not None, ticket_status=ticket.status, now=utcnow())
    if state == "none":
        return None
    sender.language = ticket.language
    if state != "open":
        key = "confirm_already" if state == "answered" else "confirm_expired"
        sender.reply(key, ticket_id=ticket.id, number=ticket.id)
        return key, ticket.id
    if digit == YES:
        record(session, ticket, "confirmed", actor=sender.phone)
        sender.reply("confirm_thanks", ticket_id=ticket.id, number=ticket.id)
        return "confirmed", ticket.id
    reopen(session, config=config, ticket=ticket, actor=sender.phone)
    fields = ticket_fields(session, config, ticket, sender.language)
    sender.reply("citizen_reopened", ticket_id=ticket.id, **fields)
    # the others who reported it (duplicate merging) were told it was resolved: they hear it is not
    tell_linked(session, config=config, ticket=ticket, key="citizen_reopened", inbound_id=sender.inbound_id)
    if ticket.urc_id is not None:
        message_team(
            session,
            config=config,
            ticket=ticket,
            urc_id=ticket.urc_id,
            key="team_reopened",
            inbound_id=sender.inbound_id,
        )
    return "reopened", ticket.id
