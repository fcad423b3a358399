"""Turn a stored inbound SMS into work: a report, an answer, a URC command or a citizen command."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from functools import lru_cache
from typing import Any, cast

from sqlalchemy import Connection, Insert, Table, select
from sqlalchemy.orm import Session, selectinload

from hotline.channels.gateway import InboundSms
from hotline.cityconfig import CityConfig
from hotline.core.wording import category_menu, ticket_fields
from hotline.db import dialect_insert
from hotline.features.broadcasts import sms_commands as broadcast_sms
from hotline.features.media import intake as media_intake
from hotline.features.merging import reporters
from hotline.features.merging.merging import open_or_merge
from hotline.features.shield import shield_sms
from hotline.features.sms import choices, citizen_commands, confirmations, flood, urc_commands
from hotline.features.sms.sms_sender import Sender
from hotline.features.tickets import place
from hotline.features.tickets.tickets import OPEN_STATUSES, open_ticket, record, set_category
from hotline.models import InboundMessage, InboundStatus, Member, Ticket, TicketStatus, Urc, utcnow
from hotline.phone import sender_id
from hotline.settings import get_settings
from hotline.sms.grammar import ParsedSms, parse_sms

log = logging.getLogger(__name__)

CATEGORY_ASKS = 2  # after this many unclear answers the report goes to the default agency uncategorised
FOLLOW_UP_WINDOW = timedelta(minutes=60)  # uncategorised text this soon after a report adds to it
PENDING_WINDOW = timedelta(hours=24)
ASK_AGAIN_AFTER = timedelta(minutes=10)  # "what happened, and where?" goes to one number at most this often


def namespaced_sid(gateway: str, kind: str, sid: str) -> str:
    """How a gateway's own message id is stored: "<gateway>:<id>", so two gateways' ids never collide. Twilio's
    keep their bare form (globally unique "SM..." ids without a ':', and the rows of before have them)."""
    return sid if kind == "twilio" else f"{gateway}:{sid}"


def row_for_gateway_sms(sms: InboundSms, *, kind: str, region: str) -> dict[str, Any]:
    """An inbound SMS from any gateway, as a row of inbound_messages (`provider` is the gateway's name, which a
    reply goes back through)."""
    payload = {
        str(k): v if isinstance(v, (str, int, float, bool)) or v is None else str(v) for k, v in sms.payload.items()
    }
    if sms.line is not None:
        payload["hotline_line"] = sms.line
    row = inbound_row(
        provider=sms.gateway,
        provider_sid=namespaced_sid(sms.gateway, kind, sms.gateway_id),
        from_raw=sms.sender,
        from_e164=sender_id(sms.sender, region),
        to_number=sms.to,
        body=sms.body,
        payload=payload,
    )
    if sms.received_at is not None:
        row["received_at"] = sms.received_at
    return row


MAX_SMS_BODY = 1600  # Twilio's own cap (10 parts); a longer body is cut, the original kept in the payload


def inbound_row(
    *,
    provider: str,
    provider_sid: str,
    from_raw: str,
    from_e164: str,
    to_number: str,
    body: str,
    payload: dict[str, Any],
) -> dict[str, Any]:
    if len(body) > MAX_SMS_BODY:
        # Up to the 256 KiB request limit would otherwise become the ticket's text, every screen and every SMS
        # quoting it (issue 18). The payload keeps what came; the ticket's timeline says it was cut.
        payload = {**payload, "body_truncated_from": len(body)}
        if body not in payload.values():
            payload["body_original"] = body
        body = body[:MAX_SMS_BODY]
    return dict(
        provider=provider,
        provider_sid=provider_sid,
        from_raw=_storable(from_raw, FROM_RAW_LENGTH),
        from_e164=_storable(from_e164, FROM_E164_LENGTH),
        to_number=_storable(to_number, TO_NUMBER_LENGTH),
        body=_storable(body),
        payload={_storable(k): _storable(v) if isinstance(v, str) else v for k, v in payload.items()},
        status=InboundStatus.RECEIVED,
        received_at=utcnow(),
    )


FROM_RAW_LENGTH, FROM_E164_LENGTH, TO_NUMBER_LENGTH = 64, 32, 64  # the columns of inbound_messages


def _storable(text: str, limit: int | None = None) -> str:
    """PostgreSQL text (and JSON) cannot hold a NUL byte, and a sender id longer than its column would fail
    the insert: either way the report would be lost on every retry. Keep the rest of what came."""
    if "\x00" in text:
        text = text.replace("\x00", "")
    return text[:limit] if limit is not None else text


@lru_cache(maxsize=4)
def _insert_unless_known(dialect: str) -> Insert:
    # Built once per dialect: building and compiling it per webhook cost more than the insert itself.
    table = cast(Table, InboundMessage.__table__)  # typed as any FromClause; a mapped class's is a Table
    return dialect_insert(dialect, table).on_conflict_do_nothing(index_elements=["provider_sid"]).returning(table.c.id)


def insert_inbound(conn: Connection, row: dict[str, Any]) -> int | None:
    """Store the message unless its provider SID is known. Returns the new id, or None for a repeat."""
    return conn.execute(_insert_unless_known(conn.dialect.name), row).scalar()


def store_inbound_sms(session: Session, **fields: Any) -> tuple[int, bool]:
    """The same inside an ORM unit of work. Returns (id, created)."""
    new_id = insert_inbound(session.connection(), inbound_row(**fields))
    if new_id is not None:
        return new_id, True
    existing = session.scalar(select(InboundMessage.id).where(InboundMessage.provider_sid == fields["provider_sid"]))
    assert existing is not None
    return existing, False


def members_by_phone(session: Session, phone: str) -> list[Member]:
    stmt = (
        select(Member)
        .join(Urc)
        .where(Member.phone == phone, Member.active, Urc.active)
        .options(selectinload(Member.urc))
    )
    return list(session.scalars(stmt))


def _latest_ticket(session: Session, phone: str, statuses: tuple[str, ...], since_window: timedelta) -> Ticket | None:
    stmt = (
        select(Ticket)
        .where(
            Ticket.reporter_phone == phone, Ticket.status.in_(statuses), Ticket.created_at >= utcnow() - since_window
        )
        .order_by(Ticket.id.desc())
        .limit(1)
        .with_for_update()
    )
    return session.scalar(stmt)


def process_inbound(session: Session, *, inbound_id: int, config: CityConfig) -> InboundMessage | None:
    """Idempotent: a message already processed (or failed) is left as it is."""
    message = session.get(InboundMessage, inbound_id, with_for_update=True)
    if message is None or message.status != InboundStatus.RECEIVED:
        return message
    try:
        with session.begin_nested():
            outcome, ticket_id = handle_sms(session, config=config, message=message)
            role = "after" if outcome == "urc_done" else "report"  # a crew's SELESAI photo shows the work done
            media_intake.after_intake(session, config=config, message=message, ticket_id=ticket_id, role=role)
        message.status, message.outcome, message.ticket_id = InboundStatus.PROCESSED, outcome, ticket_id
        _say_if_cut(session, message)
    except Exception as exc:  # broad: whatever failed, the report is kept as a ticket for a person (never lost)
        log.exception("inbound SMS %s could not be handled; keeping it as a ticket for the command center", inbound_id)
        message.status, message.error = InboundStatus.FAILED, f"{type(exc).__name__}: {exc}"
        message.ticket_id = _rescue(session, config=config, message=message)
    message.processed_at = utcnow()
    return message


def _say_if_cut(session: Session, message: InboundMessage) -> None:
    """A body cut to MAX_SMS_BODY: its ticket's timeline says so (the original is in the message's payload)."""
    size = (message.payload or {}).get("body_truncated_from")
    ticket = session.get(Ticket, message.ticket_id) if message.ticket_id and size else None
    if ticket is not None:
        record(session, ticket, "sms_truncated", original_length=size, kept=MAX_SMS_BODY, inbound_id=message.id)


def _rescue(session: Session, *, config: CityConfig, message: InboundMessage) -> int | None:
    """No report is lost: a message we failed to understand still becomes an uncategorised ticket."""
    try:
        with session.begin_nested():
            ticket = open_ticket(
                session,
                config=config,
                channel="sms",
                reporter=message.from_e164,
                text=message.body,
                language="id",
                category=None,
            )
            record(session, ticket, "intake_error", note=message.error)
            set_category(session, config=config, ticket=ticket, category=None, actor="system")
            return ticket.id
    except Exception:  # broad: the last resort; the message stays stored as 'failed' for a person
        log.exception("rescue ticket for inbound SMS %s failed too; the message stays 'failed'", message.id)
        return None


def _subscriber_channel(message: InboundMessage) -> str:
    """Where a DAFTAR came from, so the warnings go back there: the Cloud API's WhatsApp, Twilio's, or SMS."""
    payload = message.payload or {}
    if payload.get("wamid"):
        return "whatsapp"
    return "twilio_whatsapp" if payload.get("twilio_channel") == "whatsapp" else "sms"


def handle_sms(session: Session, *, config: CityConfig, message: InboundMessage) -> tuple[str, int | None]:
    parsed = parse_sms(message.body, config.grammar, config.areas)
    merged_into = _merged_flood(session, message=message, parsed=parsed)
    if merged_into is not None:
        return "flood_merged", merged_into
    if parsed.kind != "urc_command":  # DAFTAR <desa>, and AMAN/BANTU to an early warning's check-in
        ours = broadcast_sms.handle(
            session,
            config=config,
            phone=message.from_e164,
            text=message.body,
            inbound_id=message.id,
            channel=_subscriber_channel(message),
        )
        if ours is not None:
            return ours
    sender = Sender(session, config, message.from_e164, message.id, parsed.language)
    if media_intake.only_extras(message) and parsed.kind not in ("urc_command", "citizen_command"):
        return _extras_alone(sender, message)
    if parsed.kind == "empty":
        sender.reply("empty_message")
        return "empty", None
    if parsed.kind == "urc_command":
        members = members_by_phone(session, sender.phone)
        if members:
            return urc_commands.handle(sender, members=members, parsed=parsed)
        sender.reply("not_member", command=parsed.command_word)
        return "not_member", None
    if parsed.kind == "citizen_command":
        return citizen_commands.handle(sender, parsed=parsed)
    if parsed.kind == "courtesy":
        return "courtesy", None
    return _report(sender, parsed, message)


def _extras_alone(sender: Sender, message: InboundMessage) -> tuple[str, int | None]:
    """A shared place or a photo without words: it adds to the sender's open report of the last hour, else
    they are asked what happened (the place and photo wait for the answer: hotline/features/media/intake.py)."""
    recent = _latest_ticket(sender.session, sender.phone, OPEN_STATUSES, FOLLOW_UP_WINDOW)
    if recent is None:
        return _ask_what_and_where(sender, message)
    record(sender.session, recent, "info_added", actor=sender.phone, note=message.body or None)
    sender.language = recent.language
    sender.reply("info_added", ticket_id=recent.id, number=recent.id)
    return "info_added", recent.id


def _merged_flood(session: Session, *, message: InboundMessage, parsed: ParsedSms) -> int | None:
    """The open ticket this message was merged into because its number floods us (hotline/features/sms/flood.py),
    or None when it is to be handled as usual. A ticket waiting for its category is not merged into: the
    message may be the answer."""
    if parsed.kind not in flood.MERGEABLE:
        return None
    if not flood.over_limit(session, message=message, per_minute=get_settings().sms_per_minute):
        return None
    ticket = _latest_ticket(session, message.from_e164, OPEN_STATUSES, PENDING_WINDOW)
    if ticket is None or ticket.status == TicketStatus.AWAITING_CATEGORY:
        return None
    flood.merge_into(session, ticket=ticket, message=message)
    return ticket.id


def _report(sender: Sender, parsed: ParsedSms, message: InboundMessage) -> tuple[str, int | None]:
    session, config, text = sender.session, sender.config, message.body
    waiting = _latest_ticket(session, sender.phone, (TicketStatus.AWAITING_CATEGORY,), PENDING_WINDOW)
    if parsed.kind == "menu_choice" and parsed.menu_digit == shield_sms.YES:
        # "1" to the junk-call shield's "Jika darurat, balas 1", if that is the newest open question.
        def asked() -> tuple[datetime | None, ...]:
            return (
                waiting.created_at if waiting else None,
                confirmations.open_question_at(session, phone=sender.phone),
            )

        verified = shield_sms.answer(sender, other_questions=asked)
        if verified is not None:
            return verified
    if waiting is not None:
        return _answer_category(sender, waiting, parsed, text)
    if parsed.kind == "menu_choice" and parsed.menu_digit in confirmations.ANSWERS:
        answered = confirmations.answer(sender, digit=parsed.menu_digit)
        if answered is not None:  # "1"/"2" to "is it fixed?": an answer, never a new report
            return answered
    if parsed.kind in ("report", "contentless") and parsed.category is None:
        recent = _latest_ticket(session, sender.phone, OPEN_STATUSES, FOLLOW_UP_WINDOW)
        since = utcnow() - FOLLOW_UP_WINDOW
        linked = None if recent else reporters.recent_linked_row(session, phone=sender.phone, since=since)
        if linked is not None:  # a follow-up to their report merged into someone else's ticket: their own words
            linked.text = f"{linked.text}\n{text}".strip()
            linked.location_text = _more_place(linked.location_text, parsed.location)
            linked.desa, linked.kecamatan = linked.desa or parsed.desa, linked.kecamatan or parsed.kecamatan
            ticket = session.get(Ticket, linked.ticket_id, with_for_update=True)
            assert ticket is not None
            record(session, ticket, "info_added", actor=sender.phone, note=text, reporter_id=linked.id)
            # their place never overwrites the first reporter's, but fills what the ticket lacks
            place.fill_missing(
                session,
                config=config,
                ticket=ticket,
                actor=sender.phone,
                source="sms",
                location=parsed.location,
                desa=parsed.desa,
                kecamatan=parsed.kecamatan,
                inbound_id=sender.inbound_id,
            )
            sender.language = linked.language
            sender.reply("info_added", ticket_id=ticket.id, number=ticket.id)
            return "info_added", ticket.id
        if recent is not None:
            _append_text(recent, text)
            record(session, recent, "info_added", actor=sender.phone, note=text)
            _add_place(sender, recent, parsed)
            sender.language = recent.language
            sender.reply("info_added", ticket_id=recent.id, number=recent.id)
            return "info_added", recent.id
    if parsed.kind in ("menu_choice", "contentless"):
        return _ask_what_and_where(sender, message)
    latitude, longitude, desa, kecamatan = media_intake.report_place(
        session, config=config, message=message, desa=parsed.desa, kecamatan=parsed.kecamatan
    )
    intake = open_or_merge(
        session,
        config=config,
        channel="whatsapp" if (message.payload or {}).get("wa_type") else "sms",
        reporter=sender.phone,
        text=text,
        language=parsed.language,
        category=parsed.category,
        urgent=parsed.urgent,
        location=parsed.location,
        desa=desa,
        kecamatan=kecamatan,
        latitude=latitude,
        longitude=longitude,
        inbound_id=sender.inbound_id,
    )
    ticket = intake.ticket
    if intake.repeat:  # the same person reported the same incident again
        sender.reply("info_added", ticket_id=ticket.id, number=ticket.id)
        return "info_added", ticket.id
    if intake.merged:
        fields = ticket_fields(session, config, ticket, sender.language)
        sender.reply("merged_report", ticket_id=ticket.id, reporters=ticket.reporter_count, **fields)
        return "merged", ticket.id
    if ticket.status == TicketStatus.AWAITING_CATEGORY:
        ticket.category_prompts = 1
        record(session, ticket, "category_asked", attempt=1)
        sender.reply(
            "ask_category",
            ticket_id=ticket.id,
            choices=choices.category_list(config, sender.language),
            number=ticket.id,
            menu=category_menu(config, sender.language),
        )
        return "ticket_awaiting_category", ticket.id
    sender.reply("ticket_created", ticket_id=ticket.id, **ticket_fields(session, config, ticket, sender.language))
    return "ticket_created", ticket.id


def _ask_what_and_where(sender: Sender, message: InboundMessage) -> tuple[str, None]:
    """A digit that answers no open question, or a word that says nothing, is no report: a bare "1" once
    opened a critical fire ticket and called the crew out. The sender is asked what happened and where; the
    message stays stored. Asked at most once per ASK_AGAIN_AFTER, and never past the flood limit, so a
    stream of digits costs no SMS."""
    session = sender.session
    asked = (
        select(InboundMessage.id)
        .where(
            InboundMessage.from_e164 == message.from_e164,
            InboundMessage.outcome == NO_REPORT_ASKED,
            InboundMessage.received_at > message.received_at - ASK_AGAIN_AFTER,
            InboundMessage.id != message.id,
        )
        .limit(1)
    )
    if session.scalar(asked) is not None or flood.over_limit(
        session, message=message, per_minute=get_settings().sms_per_minute
    ):
        return NO_REPORT_QUIET, None
    sender.reply("ask_what_where", choices=choices.LOCATION)
    return NO_REPORT_ASKED, None


NO_REPORT_ASKED, NO_REPORT_QUIET = "no_report_asked", "no_report_quiet"  # inbound_messages.outcome


def _append_text(ticket: Ticket, text: str) -> None:
    ticket.text = f"{ticket.text}\n{text}".strip() if ticket.text else text


def _more_place(known: str | None, said: str | None) -> str | None:
    """The place so far with what the reporter's follow-up adds to it ("Jl. Diponegoro" + "dekat masjid")."""
    if not said or (known and said.lower() in known.lower()):
        return known
    return f"{known}, {said}" if known else said


def _add_place(sender: Sender, ticket: Ticket, parsed: ParsedSms) -> None:
    """The reporter's own follow-up names the place, or more of it: the ticket (and its crew) get it. A desa
    the ticket lacks comes with its kecamatan; a desa it has is not changed by a guess from free text."""
    desa, kecamatan = ticket.desa, ticket.kecamatan
    if desa is None and parsed.kecamatan:
        desa, kecamatan = parsed.desa, parsed.kecamatan
    place.set_place(
        sender.session,
        config=sender.config,
        ticket=ticket,
        actor=sender.phone,
        source="sms",
        location=_more_place(ticket.location_text, parsed.location),
        desa=desa,
        kecamatan=kecamatan,
        inbound_id=sender.inbound_id,
    )


def _answer_category(sender: Sender, ticket: Ticket, parsed: ParsedSms, text: str) -> tuple[str, int | None]:
    session, config = sender.session, sender.config
    sender.language = ticket.language
    if parsed.kind == "report":
        _append_text(ticket, text)
        _add_place(sender, ticket, parsed)
        ticket.urgent = ticket.urgent or parsed.urgent
    if parsed.category is None and ticket.category_prompts < CATEGORY_ASKS:
        ticket.category_prompts += 1
        record(session, ticket, "category_asked", attempt=ticket.category_prompts, answer=text)
        sender.reply(
            "ask_category",
            ticket_id=ticket.id,
            choices=choices.category_list(config, sender.language),
            number=ticket.id,
            menu=category_menu(config, sender.language),
        )
        return "category_asked_again", ticket.id
    set_category(session, config=config, ticket=ticket, category=parsed.category, actor=sender.phone)
    sender.reply("ticket_created", ticket_id=ticket.id, **ticket_fields(session, config, ticket, sender.language))
    return "category_answered", ticket.id
