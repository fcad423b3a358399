"""The voice-call alert, as a URC member hears it: the ticket's number, category and place, Indonesian then
English, and "tekan 1 untuk menerima". Pressing 1 is the member's TERIMA: it goes through the same URC
command service as the SMS (hotline/services/urc_commands.py), so state, timeline, the reporter's notice and
the end of escalation and failover are exactly those of `TERIMA <n>` sent by SMS."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session

from hotline.cityconfig import CityConfig
from hotline.cityconfig.model import LANGUAGES
from hotline.models import Agency, AlertAttempt, AlertDelivery, Ticket
from hotline.services import failover, urc_commands
from hotline.services.sms_intake import Sender, members_by_phone
from hotline.services.wording import say, status_words, ticket_fields
from hotline.sms.grammar import ParsedSms

ROUNDS = 2  # the alert is said this many times before the call says goodbye
VOICE_NOTE = "lewat panggilan suara (tekan 1)"  # on the 'accepted' event: how the member answered


class UnknownAlertCall(LookupError):
    """A webhook for an alert call we have no record of (a forged id, or the row was removed)."""


@dataclass(frozen=True)
class AlertCallTurn:
    texts: tuple[tuple[str, str], ...]  # (language, text), Indonesian first
    gather: bool  # wait for a key after the texts; False: hang up after them


def answered(session: Session, *, config: CityConfig, attempt_id: int, call_sid: str) -> AlertCallTurn:
    """The member picked up: the alert (an answered call counts as delivered), or why nothing is needed."""
    attempt, _, ticket = _load(session, attempt_id, call_sid)
    failover.on_call_status(session, attempt_id=attempt.id, call_sid=call_sid, status="in-progress")
    if ticket.status != "routed":
        return _closed(session, config, ticket)
    return AlertCallTurn(_texts(session, config, ticket, "voice_alert"), gather=True)


def pressed(
    session: Session, *, config: CityConfig, attempt_id: int, call_sid: str, digits: str, round_: int
) -> AlertCallTurn:
    """A key (or none) after the alert: 1 accepts; anything else hears the alert again, then goodbye."""
    _, delivery, ticket = _load(session, attempt_id, call_sid)
    if digits.startswith("1"):
        return _accept(session, config, delivery, ticket)
    if ticket.status != "routed":
        return _closed(session, config, ticket)
    if round_ < ROUNDS:
        return AlertCallTurn(_texts(session, config, ticket, "voice_alert"), gather=True)
    return AlertCallTurn(_texts(session, config, ticket, "voice_alert_goodbye"), gather=False)


def _accept(session: Session, config: CityConfig, delivery: AlertDelivery, ticket: Ticket) -> AlertCallTurn:
    members = members_by_phone(session, delivery.phone)
    if ticket.accepted_by_member_id is not None and ticket.accepted_by_member_id in {m.id for m in members}:
        return AlertCallTurn(_texts(session, config, ticket, "voice_alert_accepted"), gather=False)  # a repeat
    if not members:
        return _refused(session, config, ticket)
    # As if the member had texted TERIMA: replies go to their phone; there is no inbound SMS to point at.
    sender = Sender(
        session=session,
        config=config,
        phone=delivery.phone,
        inbound_id=None,
        language=LANGUAGES[0],
    )
    parsed = ParsedSms(
        kind="urc_command",
        language=LANGUAGES[0],
        command="accept",
        command_word="TERIMA",
        ticket_number=ticket.id,
        note=VOICE_NOTE,
    )
    outcome, _ = urc_commands.handle(sender, members=members, parsed=parsed)
    if outcome == "urc_accept":
        return AlertCallTurn(_texts(session, config, ticket, "voice_alert_accepted"), gather=False)
    if outcome == "bad_transition":
        return _closed(session, config, ticket)
    return _refused(session, config, ticket)


def _closed(session: Session, config: CityConfig, ticket: Ticket) -> AlertCallTurn:
    spoken = []
    for lang in LANGUAGES:
        status = status_words(config, ticket.status, lang)
        spoken.append((lang, say(config, "voice_alert_closed", lang, number=ticket.id, status=status)))
    return AlertCallTurn(tuple(spoken), gather=False)


def _refused(session: Session, config: CityConfig, ticket: Ticket) -> AlertCallTurn:
    agency = session.get(Agency, ticket.agency_id) if ticket.agency_id else None
    name = (agency.sms_name or agency.name) if agency else "-"
    texts = tuple((lang, say(config, "voice_alert_refused", lang, number=ticket.id, agency=name)) for lang in LANGUAGES)
    return AlertCallTurn(texts, gather=False)


def _texts(session: Session, config: CityConfig, ticket: Ticket, key: str) -> tuple[tuple[str, str], ...]:
    spoken: list[tuple[str, str]] = []
    for lang in LANGUAGES:
        fields: dict[str, Any] = ticket_fields(session, config, ticket, lang)
        spoken.append((lang, say(config, key, lang, **fields)))
    return tuple(spoken)


def _load(session: Session, attempt_id: int, call_sid: str) -> tuple[AlertAttempt, AlertDelivery, Ticket]:
    attempt = session.get(AlertAttempt, attempt_id)
    # A call we placed carries its attempt's id; once the CallSid is known, only that call may use it.
    if attempt is None or attempt.channel != "voice" or (attempt.call_sid and attempt.call_sid != call_sid):
        raise UnknownAlertCall(attempt_id)
    delivery = session.get(AlertDelivery, attempt.delivery_id)
    ticket = session.get(Ticket, delivery.ticket_id) if delivery else None
    if delivery is None or ticket is None:
        raise UnknownAlertCall(attempt_id)
    return attempt, delivery, ticket
