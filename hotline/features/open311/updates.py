"""What anyone may read of a ticket's progress: FixMyStreet's Open311 updates extension (servicerequestupdates).

One update per step of the timeline a citizen would want to hear of: accepted, on site, resolved, cancelled,
reopened, and another report of the same problem joined to it. `update_id` is the ticket event's id, so a client
that keeps the ids it has seen (FixMyStreet does) takes each once however its windows overlap.

`status` is in FixMyStreet's words (Open311.pm map_state reads them for every body): open, action_scheduled,
in_progress, fixed, closed; `external_status_code` is the hotline's own name of the step. The description is a
fixed sentence in the language asked, with the crew's note from their SMS (TERIMA/TIBA/SELESAI <no> <note>)
passed through the same redaction as the public request list; operators' notes stay in the console, and the
joined report's own text is not published (its reporter did not file it with this ticket). A private category
(routing/open311.yaml) is listed as requests lists it, without the crew's note: crews write where they went, and
the public view cuts a private report's address to its desa. No actor, name or number is in an update at all."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from hotline.cityconfig import CityConfig
from hotline.features.open311.public_view import reporter_details
from hotline.features.open311.redaction import redact
from hotline.models import Ticket, TicketEvent

# event kind -> FixMyStreet's state for it (merged: the state the ticket was in, found from its earlier steps)
STATES = {
    "accepted": "action_scheduled",
    "on_site": "in_progress",
    "resolved": "fixed",
    "cancelled": "closed",
    "reopened": "open",
}
KINDS = (*STATES, "merged")
SENTENCES = {
    "id": {
        "accepted": "Laporan diterima tim petugas dan akan ditangani.",
        "on_site": "Petugas sudah tiba di lokasi.",
        "resolved": "Petugas menyatakan laporan ini selesai ditangani.",
        "cancelled": "Laporan ini dibatalkan.",
        "reopened": "Pelapor menyatakan masalahnya belum beres; laporan dibuka kembali.",
        "merged": "Laporan lain tentang masalah yang sama digabungkan ke laporan ini.",
    },
    "en": {
        "accepted": "The crew has accepted the report and will handle it.",
        "on_site": "The crew has arrived on site.",
        "resolved": "The crew says the report has been dealt with.",
        "cancelled": "This report was cancelled.",
        "reopened": "The reporter says the problem is not fixed; the report is open again.",
        "merged": "Another report of the same problem was joined to this one.",
    },
}
NOTE_LABEL = {"id": "Catatan petugas", "en": "Crew's note"}


@dataclass(frozen=True)
class PublicUpdate:
    update_id: str
    service_request_id: str
    status: str
    updated_datetime: datetime
    description: str
    media_url: str | None
    external_status_code: str


def updates_statement(start: datetime, end: datetime, *, page_size: int, page: int) -> Select[TicketEvent]:
    """The window's updates, oldest first (the order they happened, as a client applies them)."""
    return (
        select(TicketEvent)
        .where(TicketEvent.kind.in_(KINDS), TicketEvent.at >= start, TicketEvent.at <= end)
        .order_by(TicketEvent.at, TicketEvent.id)
        .offset((page - 1) * page_size)
        .limit(page_size)
    )


def _states_before(session: Session, merged: list[TicketEvent]) -> dict[int, str]:
    """For each merged event: the state its ticket was in then (a merge only joins an open ticket)."""
    states: dict[int, str] = {}
    if not merged:
        return states
    steps = session.scalars(
        select(TicketEvent)
        .where(TicketEvent.ticket_id.in_({e.ticket_id for e in merged}), TicketEvent.kind.in_(tuple(STATES)))
        .order_by(TicketEvent.id)
    ).all()
    for event in merged:
        before = [s for s in steps if s.ticket_id == event.ticket_id and s.id < event.id]
        states[event.id] = STATES[before[-1].kind] if before else "open"
    return states


def public_updates(
    session: Session, *, config: CityConfig, events: list[TicketEvent], language: str = "id"
) -> list[PublicUpdate]:
    tickets = list(session.scalars(select(Ticket).where(Ticket.id.in_({e.ticket_id for e in events}))))
    details = reporter_details(session, tickets)
    private = {t.id for t in tickets if config.open311.service(t.category or "").private}
    states = _states_before(session, [e for e in events if e.kind == "merged"])
    words = SENTENCES.get(language, SENTENCES["id"])
    updates = []
    for event in events:
        known = details[event.ticket_id]
        description = words[event.kind]
        crew_note = event.kind in STATES and event.actor.startswith("member:") and (event.note or "").strip()
        if crew_note and event.ticket_id not in private:
            note = redact(event.note or "", names=known.names, numbers=known.numbers)
            description = f"{description} {NOTE_LABEL.get(language, NOTE_LABEL['id'])}: {note.strip()}"
        updates.append(
            PublicUpdate(
                update_id=str(event.id),
                service_request_id=str(event.ticket_id),
                status=STATES.get(event.kind) or states[event.id],
                updated_datetime=event.at,
                description=description,
                media_url=None,  # photos of a step are not published (the request's own photo is on requests)
                external_status_code=event.kind,
            )
        )
    return updates
