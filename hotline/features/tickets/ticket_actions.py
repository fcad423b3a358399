"""What operators do to tickets (console and API): open one, edit it, reassign it, add a note, send an SMS.

Each action records a timeline event (the citizen-facing history) and an audit row (who did it, from
where), in the caller's transaction. SMS leave through the outbox after the commit."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from hotline.catalog import say
from hotline.cityconfig import CityConfig
from hotline.core.outbox import is_opted_out, queue_sms
from hotline.features.accounts.accounts import Principal
from hotline.features.accounts.audit import audit
from hotline.features.escalation import escalation
from hotline.features.merging.merging import Intake, open_or_merge
from hotline.features.merging.reporters import Recipient, linked, textable
from hotline.features.tickets import cancel_requests
from hotline.features.tickets.cancel_requests import stand_down
from hotline.features.tickets.place import KEEP, Part, set_place
from hotline.features.tickets.tickets import (
    CLOSED_STATUSES,
    TransitionError,
    alert_urc,
    record,
    set_category,
    transition,
    urc_members,
)
from hotline.models import Agency, OutboundPurpose, Ticket, TicketStatus, Urc, utcnow
from hotline.phone import to_e164
from hotline.settings import get_settings

MAX_TEXT = 5000
MAX_SMS = 459  # three concatenated GSM-7 segments


class ActionError(ValueError):
    """An operator action that cannot be done as asked: a code of hotline/catalog's `error` section and its
    values. str() is the English sentence (the JSON API's); the console says it in the operator's language."""

    def __init__(self, code: str, /, **params: Any):
        self.code, self.params = code, params
        super().__init__(say("error", code, "en", params))


@dataclass(frozen=True)
class Actor:
    principal: Principal
    ip: str | None = None

    @property
    def name(self) -> str:
        return self.principal.username


def _require_editor(actor: Actor) -> None:
    if not actor.principal.can_edit_tickets:
        raise PermissionError(f"{actor.principal.role} may not change tickets")


def _category(config: CityConfig, code: str | None) -> str | None:
    if code in (None, ""):
        return None
    if config.category(code) is None:
        raise ActionError("unknown_category", code=code, choices=", ".join(c.code for c in config.categories))
    return code


def _kecamatan(config: CityConfig, name: str | None) -> str | None:
    if not name:
        return None
    known = {k.name.lower(): k.name for k in config.areas}
    if name.strip().lower() not in known:
        raise ActionError("unknown_kecamatan", name=name, choices=", ".join(sorted(known.values())))
    return known[name.strip().lower()]


def create_report(
    session: Session,
    *,
    config: CityConfig,
    actor: Actor,
    reporter: str,
    text: str,
    category: str | None,
    location: str | None = None,
    kecamatan: str | None = None,
    desa: str | None = None,
    latitude: float | None = None,
    longitude: float | None = None,
    urgent: bool = False,
    language: str = "id",
    channel: str = "web",
    merge: bool = True,
) -> Intake:
    """A report written down by an operator or another system: a new ticket (routed and alerted when it has a
    category), or, when it duplicates an open one (routing/merging.yaml), a reporter linked to that one.
    `merge=False` always opens a new ticket."""
    _require_editor(actor)
    text = (text or "").strip()
    if not text:
        raise ActionError("text_missing")
    if len(text) > MAX_TEXT:
        raise ActionError("text_too_long", limit=MAX_TEXT)
    if (latitude is None) != (longitude is None):
        raise ActionError("latlon_pair")
    number = to_e164(reporter, get_settings().default_region) if reporter.strip() else None
    kecamatan = _kecamatan(config, kecamatan)
    desa, kecamatan = _desa(config, desa, kecamatan)
    intake = open_or_merge(
        session,
        config=config,
        channel=channel,
        reporter=number or reporter.strip()[:32] or "unknown",
        text=text,
        language=language if language in ("id", "en") else "id",
        category=_category(config, category),
        urgent=urgent,
        location=(location or "").strip()[:500] or None,
        desa=desa,
        kecamatan=kecamatan,
        latitude=latitude,
        longitude=longitude,
        merge=merge,
    )
    ticket = intake.ticket
    if intake.merged:
        data = {
            "rule": intake.match.rule if intake.match else None,
            "reporter_id": getattr(intake.reporter, "id", None),
        }
        audit(
            session,
            actor=actor.name,
            action="ticket.merge",
            target_type="ticket",
            target_id=ticket.id,
            ip=actor.ip,
            **data,
        )
    else:
        audit(session, actor=actor.name, action="ticket.create", target_type="ticket", target_id=ticket.id, ip=actor.ip)
    return intake


def _desa(config: CityConfig, name: str | None, kecamatan: str | None) -> tuple[str | None, str | None]:
    """A known desa (any case), and its kecamatan; it must lie in the kecamatan when both are given."""
    if not name or not name.strip():
        return None, kecamatan
    wanted = name.strip().lower()
    for area in config.areas:
        for desa in area.desa:
            if desa.lower() == wanted:
                if kecamatan is not None and kecamatan != area.name:
                    raise ActionError("desa_elsewhere", desa=desa, kecamatan=area.name, chosen=kecamatan)
                return desa, area.name
    raise ActionError("unknown_desa", name=name)


def edit_ticket(
    session: Session,
    *,
    config: CityConfig,
    actor: Actor,
    ticket: Ticket,
    text: str | None = None,
    location: str | None = None,
    kecamatan: str | None = None,
    desa: str | None = None,
    category: str | None = None,
    status: str | None = None,
    source: str = "operator",
) -> list[str]:
    """Change what was given; returns the names of the fields that changed. A category given to a ticket
    still waiting for one routes it; a status goes through the usual transitions (resolve, cancel...). The
    place goes through hotline/features/tickets/place.py: a crew alerted already gets the new place by SMS."""
    _require_editor(actor)
    changed: dict[str, object] = {}
    if text is not None and text.strip() and text.strip() != ticket.text:
        if len(text) > MAX_TEXT:
            raise ActionError("text_too_long", limit=MAX_TEXT)
        ticket.text = changed["text"] = text.strip()
    new_place = _place_edit(config, ticket, location=location, desa=desa, kecamatan=kecamatan)
    if changed or new_place:
        ticket.updated_at = utcnow()
        changed.update(new_place)
        record(session, ticket, "edited", actor=actor.name, fields=sorted(changed))
    if new_place:
        set_place(
            session,
            config=config,
            ticket=ticket,
            actor=actor.name,
            source=source,
            location=new_place.get("location", KEEP),
            desa=new_place.get("desa", KEEP),
            kecamatan=new_place.get("kecamatan", KEEP),
        )
    new_category = _category(config, category) if category is not None else ticket.category
    if new_category != ticket.category:
        if ticket.status == TicketStatus.AWAITING_CATEGORY and new_category is not None:
            set_category(session, config=config, ticket=ticket, category=new_category, actor=actor.name)
        else:  # a routed ticket keeps its agency: reassigning is its own, deliberate action
            ticket.category = new_category
            record(session, ticket, "category_set", actor=actor.name, category=new_category)
        changed["category"] = new_category
    if status and status != ticket.status:
        crew_out = ticket.status in (TicketStatus.ROUTED, TicketStatus.ACCEPTED, TicketStatus.ON_SITE)
        try:
            transition(session, ticket=ticket, target=status, actor=actor.name)
        except (TransitionError, KeyError):
            raise ActionError("bad_transition", number=ticket.id, current=ticket.status, target=status) from None
        if status == TicketStatus.CANCELLED and crew_out:  # the crew hears it, with the place and what it was
            stand_down(session, config=config, ticket=ticket, key="team_cancelled_by_hotline")
        changed["status"] = status
    if changed:
        audit(
            session,
            actor=actor.name,
            action="ticket.edit",
            target_type="ticket",
            target_id=ticket.id,
            ip=actor.ip,
            fields=sorted(changed),
        )
    return sorted(changed)


def _place_edit(
    config: CityConfig, ticket: Ticket, *, location: str | None, desa: str | None, kecamatan: str | None
) -> dict[str, Part]:
    """The parts of the place an edit changes (None: not given). A new desa brings its own kecamatan unless
    another one was chosen with it; a new kecamatan drops a desa that does not lie in it."""
    new: dict[str, Part] = {}
    if location is not None and (location.strip() or None) != ticket.location_text:
        new["location"] = location.strip()[:500] or None
    chosen = _kecamatan(config, kecamatan) if kecamatan is not None else ticket.kecamatan
    kecamatan_changed = chosen != ticket.kecamatan
    new_desa, desa_kecamatan = ticket.desa, None
    if desa is not None and desa.strip().lower() != (ticket.desa or "").lower():  # the form sends it unchanged too
        new_desa, desa_kecamatan = _desa(config, desa, chosen if kecamatan_changed else None)
    if new_desa != ticket.desa:
        new["desa"] = new_desa
        if desa_kecamatan is not None and desa_kecamatan != ticket.kecamatan:
            new["kecamatan"] = desa_kecamatan
        elif kecamatan_changed:
            new["kecamatan"] = chosen
    elif kecamatan_changed:
        new["kecamatan"] = chosen
        area = next((k for k in config.areas if k.name == chosen), None)
        if ticket.desa is not None and (area is None or ticket.desa not in area.desa):
            new["desa"] = None
    return new


def confirm_cancel(session: Session, *, config: CityConfig, actor: Actor, ticket: Ticket) -> None:
    """The reporter's BATAL on a ticket a crew had (hotline/features/tickets/cancel_requests.py) is confirmed: the
    ticket is cancelled, the crew stood down, the reporter told."""
    _require_editor(actor)
    if not cancel_requests.is_open(ticket):
        raise ActionError("no_cancel_request", number=ticket.id)
    transition(
        session, ticket=ticket, target=TicketStatus.CANCELLED, actor=actor.name, note="reporter's BATAL confirmed"
    )
    stand_down(session, config=config, ticket=ticket, key="team_cancelled_by_hotline")
    cancel_requests.tell_reporter(session, config=config, ticket=ticket, key="cancelled")
    audit(
        session,
        actor=actor.name,
        action="ticket.cancel_confirm",
        target_type="ticket",
        target_id=ticket.id,
        ip=actor.ip,
    )


def keep_open(session: Session, *, config: CityConfig, actor: Actor, ticket: Ticket) -> None:
    """The reporter's BATAL is not followed (the operator checked: the incident is real): the ticket stays
    with its crew and the reporter is told."""
    _require_editor(actor)
    if not cancel_requests.is_open(ticket):
        raise ActionError("no_cancel_request", number=ticket.id)
    ticket.cancel_requested_at, ticket.updated_at = None, utcnow()
    record(session, ticket, "cancel_kept", actor=actor.name)
    cancel_requests.tell_reporter(session, config=config, ticket=ticket, key="cancel_kept")
    audit(
        session, actor=actor.name, action="ticket.cancel_keep", target_type="ticket", target_id=ticket.id, ip=actor.ip
    )


def reassign(
    session: Session, *, config: CityConfig, actor: Actor, ticket: Ticket, agency_code: str, urc_code: str | None = None
) -> Urc:
    """Send the ticket to another agency (and URC): it is routed afresh there, with new deadlines and an alert.
    A supervisor's (or admin's) decision."""
    if not actor.principal.can_supervise:
        raise PermissionError(f"{actor.principal.role} may not reassign tickets (a supervisor does)")
    if ticket.status in CLOSED_STATUSES:
        raise ActionError("ticket_closed", number=ticket.id, status=ticket.status)
    agency = session.scalar(select(Agency).where(Agency.code == agency_code, Agency.active))
    if agency is None:
        raise ActionError("unknown_agency", code=agency_code)
    stmt = select(Urc).where(Urc.agency_id == agency.id, Urc.active).order_by(Urc.id)
    urc = session.scalar(stmt.where(Urc.code == urc_code) if urc_code else stmt)
    if urc is None:
        raise ActionError("agency_without_urc", code=agency_code, urc=urc_code or "")
    previous = {"agency_id": ticket.agency_id, "urc_id": ticket.urc_id, "status": ticket.status}
    now = utcnow()
    ticket.agency_id, ticket.urc_id, ticket.routing_rule = agency.id, urc.id, f"reassigned by {actor.name}"[:100]
    ticket.status, ticket.routed_at, ticket.updated_at = TicketStatus.ROUTED, now, now
    ticket.accepted_at = ticket.on_site_at = ticket.accepted_by_member_id = None
    record(session, ticket, "reassigned", actor=actor.name, agency=agency.code, urc=urc.code)
    escalation.pin(session, config=config, ticket=ticket, agency=agency)
    alert_urc(session, config=config, ticket=ticket, urc=urc)
    audit(
        session,
        actor=actor.name,
        action="ticket.reassign",
        target_type="ticket",
        target_id=ticket.id,
        ip=actor.ip,
        agency=agency.code,
        urc=urc.code,
        previous=previous,
    )
    return urc


def add_note(session: Session, *, actor: Actor, ticket: Ticket, text: str) -> None:
    text = (text or "").strip()
    if not text:
        raise ActionError("note_empty")
    if len(text) > MAX_TEXT:
        raise ActionError("note_too_long", limit=MAX_TEXT)
    if actor.principal.role == "agency_staff" and not actor.principal.may_see_agency(_agency_code(session, ticket)):
        raise PermissionError("not this agency's ticket")
    record(session, ticket, "note", actor=actor.name, note=text)
    audit(session, actor=actor.name, action="ticket.note", target_type="ticket", target_id=ticket.id, ip=actor.ip)


def send_sms(session: Session, *, config: CityConfig, actor: Actor, ticket: Ticket, to: str, body: str) -> int:
    """An SMS from the command center to the reporter or to the ticket's URC; returns how many were queued."""
    _require_editor(actor)
    body = (body or "").strip()
    if not body:
        raise ActionError("sms_empty")
    if len(body) > MAX_SMS:
        raise ActionError("sms_too_long", limit=MAX_SMS)
    if to == "reporter":
        if not ticket.reporter_phone.startswith("+"):
            raise ActionError("reporter_no_sms")
        if is_opted_out(session, ticket.reporter_phone):
            raise ActionError("reporter_opted_out")
        queue_sms(session, to=ticket.reporter_phone, body=body, purpose=OutboundPurpose.OPERATOR, ticket_id=ticket.id)
        count = 1
    elif to == "reporters":  # the first reporter and every linked one (duplicate merging) who can get SMS
        everyone = [Recipient(ticket.reporter_phone, ticket.language)]
        everyone += [Recipient(r.phone, r.language) for r in linked(session, ticket.id)]
        recipients = textable(everyone, session)
        if not recipients:
            raise ActionError("no_reporter_sms")
        for recipient in recipients:
            queue_sms(session, to=recipient.phone, body=body, purpose=OutboundPurpose.OPERATOR, ticket_id=ticket.id)
        count = len(recipients)
    elif to == "urc":
        if ticket.urc_id is None:
            raise ActionError("no_urc")
        members = urc_members(session, ticket.urc_id)
        for member in members:  # the number first: a member may have several tickets open
            queue_sms(
                session,
                to=member.phone,
                body=f"No. {ticket.id}: {body}",
                purpose=OutboundPurpose.OPERATOR,
                ticket_id=ticket.id,
                member_id=member.id,
            )
        count = len(members)
    else:
        raise ActionError("bad_sms_target")
    record(session, ticket, "sms_sent", actor=actor.name, note=body, to=to, count=count)
    audit(session, actor=actor.name, action="ticket.sms", target_type="ticket", target_id=ticket.id, ip=actor.ip, to=to)
    return count


def _agency_code(session: Session, ticket: Ticket) -> str | None:
    agency = session.get(Agency, ticket.agency_id) if ticket.agency_id else None
    return agency.code if agency else None
